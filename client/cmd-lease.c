/* cmd-lease.c — `secretctl lease [NAME...] [--ttl D] [--keep [-- CMD...]]`:
 * ask for the caller's granted secrets as files.
 *
 * With --keep it is an agent in one flag (agent.c): it stays in the
 * foreground and keeps the files in place, and with a command it starts
 * that command once they are. */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "ttl", required_argument, NULL, 't' },
                { "keep", no_argument, NULL, 'k' },
                {},
        };
        _cleanup_json_ json_t *body = json_object(), *renew = json_object(), *names = json_array(), *j = NULL;
        bool keep_going = false;
        struct keep_options ko = {};
        sigset_t old_mask;
        json_t *leases;
        uint64_t ttl;
        int opt, x;

        x = command_after_dashes(c, &argc, argv, &ko.argv);
        if (x != EXIT_OK)
                return x;
        while ((opt = getopt_long(argc, argv, "t:k", options, NULL)) >= 0) {
                if (opt == 'k') {
                        keep_going = true;
                } else if (opt == 't') {
                        x = duration_arg(c, optarg, &ttl);
                        if (x != EXIT_OK)
                                return x;
                        json_object_set_new(body, "ttl", json_integer((json_int_t) ttl));
                        json_object_set_new(renew, "ttl", json_integer((json_int_t) ttl));
                } else {
                        return usage_error(c, "unknown option");
                }
        }
        if (ko.argv && !keep_going)
                return usage_error(c, "a command after '--' needs --keep");
        for (int i = optind; i < argc; i++) {
                if (!secret_name_valid(argv[i]))
                        return usage_error(c, "'%s' is not a valid secret name", argv[i]);
                json_array_append_new(names, json_string(argv[i]));
        }
        if (json_array_size(names))
                json_object_set(body, "secrets", names);

        if (keep_going) {
                agent_block_signals(&old_mask);
                /* each warning once, not at every renewal */
                c->warned = json_object();
        }
        x = ctl_json(c, "POST", API_ROUTE_LEASES, body, &j);
        if (x != EXIT_OK)
                return x;
        leases = json_object_get(j, "leases");
        if (!json_is_array(leases)) {
                fprintf(stderr, "secretctl: lease: secretd's reply has no leases\n");
                return EXIT_ERROR;
        }
        /* with a command, stdout is the command's */
        if (ko.argv)
                x = EXIT_OK;
        else if (c->json)
                print_json(j);
        else
                x = print_leases(leases, false);
        fflush(stdout);
        if (keep_going && x == EXIT_OK) {
                ko.request = body;
                ko.renew = renew;
                x = agent_run(c, &ko, leases, &old_mask);
        }
        return x;
}

const struct command cmd_lease = {
        .name = "lease",
        .args = "[NAME...] [--ttl D] [--keep [-- CMD [ARG...]]]",
        .summary = "Lease secrets as files (all granted ones when no NAME is given)",
        .help = "Options:\n"
                "  -t, --ttl D  how long the lease lives (90s, 15m, 1h, 7d); default: the\n"
                "               workload's ttl, capped by its max_ttl\n"
                "  -k, --keep   stay in the foreground: renew each lease at two thirds of its\n"
                "               remaining life, lease again after a daemon restart, and revoke\n"
                "               the leases on SIGTERM or SIGINT; at max_ttl, stop and exit 1\n"
                "  -- CMD       with --keep: once the files are in place, run CMD, pass it every\n"
                "               signal (SIGHUP, SIGTERM...), and when it exits revoke the leases\n"
                "               and exit with its status\n"
                "\n"
                "The files appear under the workload's inject path (/run/secrets by default)\n"
                "inside the caller's container, or under the host's secrets root.\n",
        .run = run,
};
