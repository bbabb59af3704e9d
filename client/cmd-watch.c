/* cmd-watch.c — `secretctl watch [NAME] [--after N] [--timeout D] [--once]
 * [-- CMD...]`: waits for the secret NAME to change (the daemon's long
 * poll, GET /v1/secrets/NAME/watch), or without NAME for any of the
 * caller's own leased secrets (GET /v1/leases/watch), and prints each new
 * version, or runs CMD once per change.  Only versions pass: the value
 * never reaches this program, so it can be in no argv or environment; CMD
 * reads the file. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "secretctl.h"

/* One long poll asks for at most this long: the daemon's cap is an hour,
 * but a shorter poll notices a dead daemon sooner. */
#define POLL_MAX_SEC 300
/* The reply may come this much after the poll's own timeout. */
#define REPLY_SLACK_SEC 10

struct watch_options {
        const char *name;
        uint64_t after;
        bool have_after;
        uint64_t timeout_sec; /* 0: for ever */
        bool once;
        char **cmd;
};

static uint64_t now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

/* Runs CMD with SECRETD_WATCH_NAME and SECRETD_WATCH_VERSION set (names
 * and numbers, never a value) and waits for it. */
static void run_command(const struct ctl *c, const struct watch_options *o, const char *name, uint64_t version) {
        char v[24];
        int status;
        pid_t pid;

        snprintf(v, sizeof(v), "%" PRIu64, version);
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "secretctl: %s: cannot start %s: %s\n", c->command, o->cmd[0], strerror(errno));
                return;
        }
        if (pid == 0) {
                ctl_restore_limits();
                if (setenv("SECRETD_WATCH_NAME", name, 1) < 0 || setenv("SECRETD_WATCH_VERSION", v, 1) < 0)
                        _exit(126);
                execvp(o->cmd[0], o->cmd);
                fprintf(stderr, "secretctl: %s: cannot run %s: %s\n", c->command, o->cmd[0], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "secretctl: %s: %s failed (%s %d) for version %" PRIu64 "\n", c->command, o->cmd[0],
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), version);
}

/* One poll: EXIT_OK with *ret_version and *ret_changed, or the failure's
 * exit code (printed). */
static int poll_once(struct ctl *c, const char *name, uint64_t after, uint64_t wait_sec, uint64_t *ret_version,
                     bool *ret_changed) {
        _cleanup_json_ json_t *j = NULL;
        char path[256], query[64];
        int x;

        snprintf(query, sizeof(query), "after=%" PRIu64 "&timeout=%" PRIu64, after, wait_sec);
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET_WATCH, name, query);
        c->timeout_sec = (int) (wait_sec + REPLY_SLACK_SEC);
        x = ctl_json(c, "GET", path, NULL, &j);
        if (x != EXIT_OK)
                return x;
        *ret_version = (uint64_t) json_int(j, "version");
        *ret_changed = json_is_true(json_object_get(j, "changed"));
        return EXIT_OK;
}

static void announce(const struct ctl *c, const struct watch_options *o, const char *name, uint64_t version) {
        if (c->json)
                printf("{\"name\":\"%s\",\"version\":%" PRIu64 ",\"changed\":true}\n", name, version);
        else if (!o->cmd)
                printf("%s version %" PRIu64 "\n", name, version);
        fflush(stdout);
        if (o->cmd)
                run_command(c, o, name, version);
}

static int watch_loop(struct ctl *c, const struct watch_options *o) {
        uint64_t end = o->timeout_sec ? now_sec() + o->timeout_sec : 0, cur = o->after, version;
        bool changed;
        int x;

        /* without --after, the version now is where changes count from */
        if (!o->have_after && (x = poll_once(c, o->name, 0, 0, &cur, &changed)) != EXIT_OK)
                return x;
        for (;;) {
                uint64_t left = end ? (now_sec() < end ? end - now_sec() : 0) : POLL_MAX_SEC;

                if (end && left == 0) {
                        fprintf(stderr, "secretctl: %s: %s stayed at version %" PRIu64 " for %" PRIu64 "s\n",
                                c->command, o->name, cur, o->timeout_sec);
                        return EXIT_ERROR;
                }
                x = poll_once(c, o->name, cur, left < POLL_MAX_SEC ? left : POLL_MAX_SEC, &version, &changed);
                if (x != EXIT_OK)
                        return x;
                if (!changed)
                        continue;
                cur = version;
                announce(c, o, o->name, version);
                if (o->once)
                        return EXIT_OK;
        }
}

/* One poll of the caller's leases: EXIT_OK with the answer in *ret. */
static int poll_leases(struct ctl *c, const char *after, uint64_t wait_sec, json_t **ret) {
        char path[256], query[96];

        if (after)
                snprintf(query, sizeof(query), "after=%s&timeout=%" PRIu64, after, wait_sec);
        else
                snprintf(query, sizeof(query), "timeout=0");
        snprintf(path, sizeof(path), "%s?%s", API_ROUTE_LEASES_WATCH, query);
        c->timeout_sec = (int) (wait_sec + REPLY_SLACK_SEC);
        return ctl_json(c, "GET", path, NULL, ret);
}

/* The version of secret in an answer's "leases", or 0. */
static uint64_t version_in(json_t *leases, const char *secret) {
        size_t i;
        json_t *ls;

        json_array_foreach(leases, i, ls) {
                const char *s = json_string_value(json_object_get(ls, "secret"));

                if (s && strcmp(s, secret) == 0)
                        return (uint64_t) json_int(ls, "version");
        }
        return 0;
}

/* Announces each secret of now whose version is not the one in before. */
static void announce_leases(const struct ctl *c, const struct watch_options *o, json_t *before, json_t *now) {
        json_t *leases = json_object_get(now, "leases"), *ls;
        size_t i;

        json_array_foreach(leases, i, ls) {
                const char *s = json_string_value(json_object_get(ls, "secret"));
                uint64_t v = (uint64_t) json_int(ls, "version");

                if (s && version_in(json_object_get(before, "leases"), s) != v)
                        announce(c, o, s, v);
        }
}

static int watch_leases(struct ctl *c, const struct watch_options *o) {
        uint64_t end = o->timeout_sec ? now_sec() + o->timeout_sec : 0;
        _cleanup_json_ json_t *cur = NULL;
        int x;

        /* the versions now are where changes count from */
        x = poll_leases(c, NULL, 0, &cur);
        if (x != EXIT_OK)
                return x;
        for (;;) {
                uint64_t left = end ? (now_sec() < end ? end - now_sec() : 0) : POLL_MAX_SEC;
                json_t *next = NULL;

                if (end && left == 0) {
                        fprintf(stderr, "secretctl: %s: no leased secret changed for %" PRIu64 "s\n", c->command,
                                o->timeout_sec);
                        return EXIT_ERROR;
                }
                x = poll_leases(c, json_string_value(json_object_get(cur, "token")),
                                left < POLL_MAX_SEC ? left : POLL_MAX_SEC, &next);
                if (x != EXIT_OK)
                        return x;
                if (!json_is_true(json_object_get(next, "changed"))) {
                        json_decref(next);
                        continue;
                }
                announce_leases(c, o, cur, next);
                json_decref(cur);
                cur = next;
                if (o->once)
                        return EXIT_OK;
        }
}

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "after", required_argument, NULL, 'a' },
                { "timeout", required_argument, NULL, 't' },
                { "once", no_argument, NULL, '1' },
                {},
        };
        struct watch_options o = {};
        int opt, x;

        x = command_after_dashes(c, &argc, argv, &o.cmd);
        if (x != EXIT_OK)
                return x;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (opt == 'a')
                        x = count_arg(c, "--after", optarg, 0, INT64_MAX, &o.after), o.have_after = true;
                else if (opt == 't')
                        x = duration_arg(c, optarg, &o.timeout_sec);
                else if (opt == '1')
                        o.once = true;
                else
                        return usage_error(c, "unknown option");
                if (x != EXIT_OK)
                        return x;
        }
        if (argc == optind) {
                if (o.have_after)
                        return usage_error(c, "--after counts versions of one secret: give its NAME");
                return watch_leases(c, &o);
        }
        x = name_operand(c, argc, argv, false, &o.name);
        if (x != EXIT_OK)
                return x;
        return watch_loop(c, &o);
}

const struct command cmd_watch = {
        .name = "watch",
        .args = "[NAME] [--after N] [--timeout D] [--once] [-- CMD...]",
        .summary = "Wait for NAME (or any secret you lease) to change; print each new version, or run CMD after each",
        .help = "Options:\n"
                "  --after N    count changes of NAME from version N, so that one made before the\n"
                "               command started is seen at once (default: the version now)\n"
                "  --timeout D  give up after D (\"90s\", \"15m\"): exit 1 when nothing changed\n"
                "  --once       exit 0 after the first change\n"
                "  -- CMD...    run CMD after each change, with SECRETD_WATCH_NAME and\n"
                "               SECRETD_WATCH_VERSION set; never the value, which CMD reads from its file\n"
                "\n"
                "A change is reported once the new version is in every live lease's file; a\n"
                "rotation to the current value is no change.  A deleted secret ends the watch\n"
                "with exit 4.  An admin may watch any secret, a workload the secrets its policy\n"
                "grants it.  Without NAME the watch is of the caller's own leases, all at once:\n"
                "each secret that got a new version is reported (exit 4 when it holds none).\n",
        .run = run,
};
