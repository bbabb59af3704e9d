/* cmd-renew.c — `secretctl renew ID [--ttl D]`: extend a lease (the
 * workload's max_ttl still caps it). */
#include <getopt.h>
#include <inttypes.h>

#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "ttl", required_argument, NULL, 't' },
                {},
        };
        _cleanup_json_ json_t *body = json_object(), *j = NULL, *one = NULL;
        char path[128];
        uint64_t ttl;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "t:", options, NULL)) >= 0) {
                if (opt != 't')
                        return usage_error(c, "unknown option");
                x = duration_arg(c, optarg, &ttl);
                if (x != EXIT_OK)
                        return x;
                json_object_set_new(body, "ttl", json_integer((json_int_t) ttl));
        }
        if (argc - optind != 1)
                return usage_error(c, "expects one lease ID");
        if (!lease_id_valid(argv[optind]))
                return usage_error(c, "'%s' is not a lease id", argv[optind]);
        (void) api_path(path, sizeof(path), API_ROUTE_LEASE_RENEW, argv[optind], NULL);
        x = ctl_json(c, "POST", path, body, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json) {
                print_json(j);
                return EXIT_OK;
        }
        one = json_pack("[O]", j);
        return print_leases(one, false);
}

const struct command cmd_renew = {
        .name = "renew",
        .args = "ID [--ttl D]",
        .summary = "Extend the lease ID",
        .help = "Options:\n"
                "  -t, --ttl D  the new time to live from now (90s, 15m, 1h, 7d); default: the\n"
                "               workload's ttl, capped by its max_ttl\n",
        .run = run,
};
