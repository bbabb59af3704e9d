/* cmd-lease.c — `secretctl lease [NAME...] [--ttl D] [--keep]`: ask for the
 * caller's granted secrets as files.
 *
 * With --keep it is an agent in one flag: it stays in the foreground,
 * renews at two thirds of the lease's life, leases again whatever the
 * daemon no longer knows (expired while the daemon was down, revoked by an
 * admin), waits out a daemon restart, and revokes its leases on SIGTERM or
 * SIGINT so the files go when the agent goes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secretctl.h"

struct keeper {
        json_t *request; /* the body of the original POST /v1/leases */
        json_t *renew;   /* {"ttl": ...} or {} */
        json_t *leases;  /* the live leases, as the daemon last described them */
        sigset_t stop;   /* SIGTERM, SIGINT: blocked, awaited with sigtimedwait */
};

static int64_t parse_utc(const char *s) {
        struct tm tm = {};
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        return end && *end == '\0' ? (int64_t) timegm(&tm) : -1;
}

/* Two thirds of the shortest lease's life, at least one second. */
static unsigned renew_period(json_t *leases) {
        int64_t shortest = INT64_MAX;
        json_t *l;
        size_t i;

        json_array_foreach(leases, i, l) {
                int64_t g = parse_utc(json_str(l, "granted")), e = parse_utc(json_str(l, "expires"));

                if (g >= 0 && e > g && e - g < shortest)
                        shortest = e - g;
        }
        if (shortest == INT64_MAX)
                return 60;
        return shortest * 2 / 3 >= 1 ? (unsigned) (shortest * 2 / 3) : 1;
}

/* Sleeps, but a stop signal ends the sleep: returns true when one came. */
static bool sleep_or_stop(struct keeper *k, unsigned seconds) {
        struct timespec ts = { .tv_sec = seconds };
        int sig;

        do
                sig = sigtimedwait(&k->stop, NULL, &ts);
        while (sig < 0 && errno == EINTR);
        return sig > 0;
}

static int lease_request(struct ctl *c, json_t *body, json_t **ret_leases) {
        _cleanup_json_ json_t *j = NULL;
        int x = ctl_json(c, "POST", "/v1/leases", body, &j);

        if (x != EXIT_OK)
                return x;
        *ret_leases = json_incref(json_object_get(j, "leases"));
        return *ret_leases ? EXIT_OK : EXIT_ERROR;
}

/* Leases again the secrets whose leases the daemon no longer has. */
static int lease_again(struct ctl *c, struct keeper *k, json_t *lost_names) {
        _cleanup_json_ json_t *body = json_deep_copy(k->request), *fresh = NULL;
        json_t *l;
        size_t i;
        int x;

        json_object_set(body, "secrets", lost_names);
        x = lease_request(c, body, &fresh);
        if (x != EXIT_OK)
                return x;
        json_array_foreach(fresh, i, l)
                json_array_append(k->leases, l);
        fprintf(stderr, "secretctl: lease: leased %zu secret%s again\n", json_array_size(fresh),
                json_array_size(fresh) == 1 ? "" : "s");
        return EXIT_OK;
}

/* One round: renew every lease; a lease the daemon lost is leased anew.
 * Returns EXIT_UNREACHABLE while the daemon is away (the caller retries). */
static int renew_all(struct ctl *c, struct keeper *k) {
        _cleanup_json_ json_t *kept = json_array(), *lost = json_array();
        json_t *l;
        size_t i;

        json_array_foreach(k->leases, i, l) {
                json_t *fresh = NULL;
                char path[128];
                int x;

                snprintf(path, sizeof(path), "/v1/leases/%s/renew", json_str(l, "id"));
                x = ctl_json(c, "POST", path, k->renew, &fresh);
                if (x == EXIT_NOT_FOUND)
                        json_array_append_new(lost, json_string(json_str(l, "secret")));
                else if (x != EXIT_OK)
                        return x;
                else
                        json_array_append_new(kept, fresh);
        }
        json_decref(k->leases);
        k->leases = json_incref(kept);
        return json_array_size(lost) ? lease_again(c, k, lost) : EXIT_OK;
}

static int revoke_all(struct ctl *c, struct keeper *k) {
        json_t *l;
        size_t i;
        int worst = EXIT_OK;

        json_array_foreach(k->leases, i, l) {
                _cleanup_json_ json_t *j = NULL;
                char path[128];
                int x;

                snprintf(path, sizeof(path), "/v1/leases/%s", json_str(l, "id"));
                x = ctl_json(c, "DELETE", path, NULL, &j);
                if (x != EXIT_OK && x != EXIT_NOT_FOUND)
                        worst = x;
        }
        fprintf(stderr, "secretctl: lease: stopped; %zu lease%s revoked\n", json_array_size(k->leases),
                json_array_size(k->leases) == 1 ? "" : "s");
        return worst;
}

static int keep(struct ctl *c, struct keeper *k) {
        unsigned period = renew_period(k->leases);

        fprintf(stderr, "secretctl: lease: keeping %zu lease%s, renewing every %u s; SIGTERM or Ctrl-C revokes them\n",
                json_array_size(k->leases), json_array_size(k->leases) == 1 ? "" : "s", period);
        for (;;) {
                int x;

                if (sleep_or_stop(k, period))
                        return revoke_all(c, k);
                x = renew_all(c, k);
                /* a daemon restart: try again every second until it is back */
                while (x == EXIT_UNREACHABLE) {
                        if (sleep_or_stop(k, 1))
                                return revoke_all(c, k);
                        x = renew_all(c, k);
                }
                if (x != EXIT_OK)
                        return x;
                period = renew_period(k->leases);
        }
}

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "ttl", required_argument, NULL, 't' },
                { "keep", no_argument, NULL, 'k' },
                {},
        };
        _cleanup_json_ json_t *body = json_object(), *renew = json_object(), *names = json_array();
        struct keeper k = {};
        bool keep_going = false;
        uint64_t ttl;
        int opt, x;

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
        for (int i = optind; i < argc; i++) {
                if (!secret_name_valid(argv[i]))
                        return usage_error(c, "'%s' is not a valid secret name", argv[i]);
                json_array_append_new(names, json_string(argv[i]));
        }
        if (json_array_size(names))
                json_object_set(body, "secrets", names);

        /* block the stop signals before the first lease, so none is lost */
        sigemptyset(&k.stop);
        sigaddset(&k.stop, SIGTERM);
        sigaddset(&k.stop, SIGINT);
        if (keep_going) {
                sigprocmask(SIG_BLOCK, &k.stop, NULL);
                /* an agent beside the application must not die of the
                 * signals meant for it (on_rotate: SIGHUP, SIGUSR1…) */
                signal(SIGHUP, SIG_IGN);
                signal(SIGUSR1, SIG_IGN);
                signal(SIGUSR2, SIG_IGN);
        }

        x = lease_request(c, body, &k.leases);
        if (x != EXIT_OK)
                return x;
        if (c->json) {
                _cleanup_json_ json_t *j = json_pack("{s:O}", "leases", k.leases);

                print_json(j);
        } else {
                x = print_leases(k.leases);
        }
        fflush(stdout);
        if (keep_going && x == EXIT_OK) {
                k.request = body;
                k.renew = renew;
                x = keep(c, &k);
        }
        json_decref(k.leases);
        return x;
}

const struct command cmd_lease = {
        .name = "lease",
        .args = "[NAME...] [--ttl D] [--keep]",
        .summary = "Lease secrets as files (all granted ones when no NAME is given)",
        .help = "Options:\n"
                "  -t, --ttl D  how long the lease lives (90s, 15m, 1h, 7d); default: the\n"
                "               workload's ttl, capped by its max_ttl\n"
                "  -k, --keep   stay in the foreground: renew at two thirds of the ttl, lease\n"
                "               again after a daemon restart, and revoke the leases on SIGTERM\n"
                "               or SIGINT\n"
                "\n"
                "The files appear under the workload's inject path (/run/secrets by default)\n"
                "inside the caller's container, or under the host's secrets root.\n",
        .run = run,
};
