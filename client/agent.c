/* agent.c — what `secretctl lease --keep [-- CMD...]` does after the first
 * lease: keep every file in place for as long as the agent runs.
 *
 * Each lease is renewed at two thirds of its *remaining* life, measured
 * from the daemon's latest reply (never from the first grant), so a renewal
 * always lands well before the lease's current expiry.  A lease the daemon
 * no longer knows (it expired while the daemon was down, an admin revoked
 * it) is leased anew; while the daemon is away the agent retries every
 * second.
 *
 * max_ttl bounds the agent as it bounds any lease: once a lease's expiry is
 * as far as max_ttl lets it go (its first grant plus the workload's max_ttl
 * as whoami gives it, or a reply's "max_expires", or a renewal that no
 * longer moves it), the agent says so on stderr, keeps the lease until
 * just before its end (final_stop_ms()), and then stops (its command
 * first, then the leases are revoked) and exits 1.  It does not lease again
 * after the end: that would make max_ttl a gap instead of a bound.
 *
 * With a command, the agent starts it only once the files are in place,
 * passes on every signal it gets (SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2, SIGWINCH: on_rotate reaches the agent when it is the
 * container's main process), reaps orphans like an init, and when the
 * command exits revokes the leases and exits with its status.
 *
 * It never reads a file's content; values never pass through it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/parse.h"

/* Retry period while the daemon is away; the least time between two
 * looks at the clock (a lease of 1 s is renewed about every 0.6 s). */
#define RETRY_MS 1000
#define MIN_SLEEP_MS 50

struct held {
        json_t *lease;       /* as the daemon last described it */
        int64_t expires_ms;  /* its "expires" (whole seconds), in ms */
        int64_t replied_ms;  /* when that description came */
        int64_t expires_since_ms; /* when expires_ms was first reported */
        int64_t renew_at_ms; /* two thirds of the way to expires_ms */
        bool final;          /* at max_ttl: renewing no longer extends it */
        int64_t stop_ms;     /* when final: the agent stops then, a little
                              * before expires_ms (see final_stop_ms()) */
};

struct agent {
        struct ctl *c;
        const struct keep_options *opt;
        struct held *held;
        size_t n_held;
        sigset_t waited; /* the forwarded signals and SIGCHLD, all blocked */
        int64_t max_ttl_ms; /* the workload's max_ttl (whoami), or 0 */
        pid_t child;     /* the command while it runs, else 0 */
        int child_exit;  /* its exit code once it ended */
};

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH };

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t parse_utc_ms(const char *s) {
        struct tm tm = {};
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        return end && *end == '\0' ? (int64_t) timegm(&tm) * 1000 : -1;
}

static void noop(int sig) {
        (void) sig;
}

void agent_block_signals(sigset_t *ret_old) {
        struct sigaction sa = { .sa_handler = noop, .sa_flags = SA_RESTART };
        sigset_t set;

        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&set, forwarded[i]);
        sigaddset(&set, SIGCHLD);
        /* blocked first, so none is lost before the loop awaits it; a
         * handler of our own (never SIG_IGN) so that the kernel queues
         * them even when the agent is pid 1 of a container, and so that
         * exec gives the command the default dispositions back */
        sigprocmask(SIG_BLOCK, &set, ret_old);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaction(forwarded[i], &sa, NULL);
        sigaction(SIGCHLD, &sa, NULL);
}

/* Whether a lease's expiry is as far as max_ttl lets it go: the reply
 * says so ("max_expires"), or it is the first grant plus the workload's
 * max_ttl (whoami's), or a renewal left it where it has been for a second
 * or more (the reply has whole seconds: a shorter wait proves nothing). */
static bool at_max_ttl(const struct agent *a, const struct held *h, json_t *lease, int64_t expires, int64_t now,
                       bool renewal) {
        int64_t max = parse_utc_ms(json_str(lease, "max_expires")), granted = parse_utc_ms(json_str(lease, "granted"));

        if (max >= 0)
                return expires >= max;
        if (a->max_ttl_ms > 0 && granted >= 0 && expires >= granted + a->max_ttl_ms)
                return true;
        return renewal && expires == h->expires_ms && now - h->expires_since_ms >= 1000;
}

/* When the agent stops for a lease at its max_ttl: before the daemon takes
 * the files away, by a third of what is left (at most STOP_AHEAD_MS), so
 * the command has that long to exit on SIGTERM and never runs without its
 * files. */
#define STOP_AHEAD_MS 2000

static int64_t final_stop_ms(int64_t expires, int64_t now) {
        int64_t ahead = expires > now ? (expires - now) / 3 : 0;

        return expires - (ahead < STOP_AHEAD_MS ? ahead : STOP_AHEAD_MS);
}

/* Takes a reference to lease, the daemon's latest word on it. */
static void held_update(const struct agent *a, struct held *h, json_t *lease, int64_t now, bool renewal) {
        int64_t expires = parse_utc_ms(json_str(lease, "expires"));

        if (expires < 0)
                expires = now + RETRY_MS; /* unreadable: look again soon */
        if (!h->final && at_max_ttl(a, h, lease, expires, now, renewal)) {
                h->final = true;
                h->stop_ms = final_stop_ms(expires, now);
                fprintf(stderr,
                        "secretctl: lease: the lease of '%s' is at its max_ttl and ends at %s; "
                        "the agent stops just before\n",
                        json_str(lease, "secret"), json_str(lease, "expires"));
        }
        if (!renewal || expires != h->expires_ms)
                h->expires_since_ms = now;
        json_decref(h->lease);
        h->lease = json_incref(lease);
        h->expires_ms = expires;
        h->replied_ms = now;
        h->renew_at_ms = now + (expires > now ? (expires - now) * 2 / 3 : 0);
}

static int held_add(struct agent *a, json_t *lease, int64_t now) {
        struct held *n = realloc(a->held, (a->n_held + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        a->held = n;
        a->held[a->n_held] = (struct held) {};
        held_update(a, &a->held[a->n_held++], lease, now, false);
        return 0;
}

static void held_free(struct agent *a) {
        for (size_t i = 0; i < a->n_held; i++)
                json_decref(a->held[i].lease);
        free(a->held);
        a->held = NULL;
        a->n_held = 0;
}

/* The earliest moment something is due: a renewal, or a final lease's end. */
static int64_t next_due(const struct agent *a) {
        int64_t next = INT64_MAX;

        for (size_t i = 0; i < a->n_held; i++) {
                int64_t t = a->held[i].final ? a->held[i].stop_ms : a->held[i].renew_at_ms;

                if (t < next)
                        next = t;
        }
        return next;
}

/* Leases again the secrets whose leases the daemon no longer has; each
 * replaces its old entry (at index lost[i]). */
static int lease_again(struct agent *a, const size_t *lost, size_t n_lost, int64_t now) {
        _cleanup_json_ json_t *body = json_deep_copy(a->opt->request), *names = json_array(), *j = NULL;
        json_t *fresh, *l;
        size_t i;
        int x;

        for (i = 0; i < n_lost; i++) {
                json_array_append_new(names, json_string(json_str(a->held[lost[i]].lease, "secret")));
                /* one the daemon does not give back is asked for again later */
                a->held[lost[i]].renew_at_ms = now + RETRY_MS;
        }
        json_object_set(body, "secrets", names);
        x = ctl_json(a->c, "POST", API_ROUTE_LEASES, body, &j);
        if (x != EXIT_OK)
                return x;
        fresh = json_object_get(j, "leases");
        json_array_foreach(fresh, i, l)
                for (size_t k = 0; k < n_lost; k++)
                        if (strcmp(json_str(l, "secret") ?: "", json_str(a->held[lost[k]].lease, "secret") ?: "") == 0)
                                held_update(a, &a->held[lost[k]], l, now, false);
        fprintf(stderr, "secretctl: lease: leased %zu secret%s again\n", json_array_size(fresh),
                json_array_size(fresh) == 1 ? "" : "s");
        return EXIT_OK;
}

/* Renews every lease that is due; one the daemon lost is leased anew.
 * Returns EXIT_UNREACHABLE while the daemon is away (the caller retries). */
static int renew_due(struct agent *a, int64_t now) {
        _cleanup_free_ size_t *lost = calloc(a->n_held ?: 1, sizeof(size_t));
        size_t n_lost = 0;

        if (!lost)
                return EXIT_ERROR;
        for (size_t i = 0; i < a->n_held; i++) {
                _cleanup_json_ json_t *fresh = NULL;
                struct held *h = &a->held[i];
                char path[128];
                int x;

                if (h->final || h->renew_at_ms > now)
                        continue;
                (void) api_path(path, sizeof(path), API_ROUTE_LEASE_RENEW, json_str(h->lease, "id") ?: "", NULL);
                x = ctl_json(a->c, "POST", path, a->opt->renew, &fresh);
                if (x == EXIT_NOT_FOUND)
                        lost[n_lost++] = i;
                else if (x != EXIT_OK)
                        return x;
                else
                        held_update(a, h, fresh, now_ms(), true);
        }
        return n_lost ? lease_again(a, lost, n_lost, now_ms()) : EXIT_OK;
}

static int revoke_all(struct agent *a) {
        int worst = EXIT_OK;

        for (size_t i = 0; i < a->n_held; i++) {
                _cleanup_json_ json_t *j = NULL;
                char path[128];
                int x;

                (void) api_path(path, sizeof(path), API_ROUTE_LEASE, json_str(a->held[i].lease, "id") ?: "", NULL);
                x = ctl_json(a->c, "DELETE", path, NULL, &j);
                if (x != EXIT_OK && x != EXIT_NOT_FOUND)
                        worst = x;
        }
        fprintf(stderr, "secretctl: lease: stopped; %zu lease%s revoked\n", a->n_held, a->n_held == 1 ? "" : "s");
        return worst;
}

/* Reaps every child that ended (the agent may be a container's pid 1 and
 * inherit orphans); true when the command was one of them. */
static bool reap(struct agent *a) {
        bool ended = false;
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                if (pid != a->child)
                        continue;
                a->child = 0;
                ended = true;
                a->child_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                if (WIFSIGNALED(status))
                        fprintf(stderr, "secretctl: lease: %s was killed by signal %d\n", a->opt->argv[0],
                                WTERMSIG(status));
        }
        return ended;
}

/* Waits up to ms for one of the awaited signals: the signal, or 0. */
static int wait_signal(struct agent *a, int64_t ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        int sig;

        do
                sig = sigtimedwait(&a->waited, NULL, &ts);
        while (sig < 0 && errno == EINTR);
        return sig > 0 ? sig : 0;
}

/* The end of the agent: the command is asked to stop (SIGTERM, and every
 * signal the agent gets meanwhile is passed on) and awaited while the files
 * are still there, then the leases go. */
static int stop(struct agent *a, int x) {
        int r;

        if (a->child > 0) {
                kill(a->child, SIGTERM);
                while (a->child > 0) {
                        int sig = wait_signal(a, 1000);

                        if (sig > 0 && sig != SIGCHLD && a->child > 0)
                                kill(a->child, sig);
                        reap(a);
                }
        }
        r = revoke_all(a);
        return x != EXIT_OK ? x : r;
}

static int start_child(struct agent *a, const sigset_t *old_mask) {
        pid_t pid = fork();

        if (pid < 0) {
                fprintf(stderr, "secretctl: lease: cannot start %s: %s\n", a->opt->argv[0], strerror(errno));
                return EXIT_ERROR;
        }
        if (pid == 0) {
                ctl_restore_limits();
                sigprocmask(SIG_SETMASK, old_mask, NULL);
                /* said here, not by the agent after fork(): the command's
                 * own output, on the same stream in a container's log,
                 * always comes after it */
                fprintf(stderr, "secretctl: lease: started %s (pid %d)\n", a->opt->argv[0], (int) getpid());
                execvp(a->opt->argv[0], a->opt->argv);
                fprintf(stderr, "secretctl: lease: cannot run %s: %s\n", a->opt->argv[0], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        a->child = pid;
        return EXIT_OK;
}

/* One signal while the agent runs: passed to the command, or (without one)
 * SIGTERM and SIGINT stop the agent and the rest are ignored.  Returns -1
 * to go on, else the agent's exit code. */
static int on_signal(struct agent *a, int sig) {
        if (sig == SIGCHLD) {
                if (!reap(a))
                        return -1;
                (void) stop(a, EXIT_OK); /* the command's status is what counts */
                return a->child_exit;
        }
        if (a->opt->argv) {
                if (a->child > 0)
                        kill(a->child, sig);
                return -1;
        }
        return sig == SIGTERM || sig == SIGINT ? stop(a, EXIT_OK) : -1;
}

static int loop(struct agent *a) {
        int64_t retry_at = 0;

        for (;;) {
                int64_t now = now_ms(), due = retry_at ? retry_at : next_due(a), wait = due - now;
                int sig, x;

                if (due != INT64_MAX && wait > 0 && wait < MIN_SLEEP_MS)
                        wait = MIN_SLEEP_MS;
                sig = wait > 0 ? wait_signal(a, due == INT64_MAX ? 3600 * 1000 : wait) : 0;
                if (sig > 0) {
                        x = on_signal(a, sig);
                        if (x >= 0)
                                return x;
                        continue;
                }
                now = now_ms();
                for (size_t i = 0; i < a->n_held; i++)
                        if (a->held[i].final && a->held[i].stop_ms <= now) {
                                _cleanup_free_ char *secret = strdup(json_str(a->held[i].lease, "secret"));

                                x = stop(a, EXIT_ERROR);
                                fprintf(stderr, "secretctl: lease: the lease of '%s' ended at its max_ttl\n",
                                        secret ?: "?");
                                return x;
                        }
                if (now < due)
                        continue;
                x = renew_due(a, now);
                retry_at = x == EXIT_UNREACHABLE ? now_ms() + RETRY_MS : 0;
                if (x != EXIT_OK && x != EXIT_UNREACHABLE)
                        return stop(a, x);
        }
}

/* The workload's max_ttl as whoami says it; 0 when it cannot be had. */
static int64_t workload_max_ttl_ms(struct ctl *c) {
        _cleanup_json_ json_t *me = NULL;
        uint64_t usec;

        if (ctl_json(c, "GET", API_ROUTE_WHOAMI, NULL, &me) != EXIT_OK ||
            parse_duration_usec(json_str(json_object_get(me, "workload"), "max_ttl") ?: "", &usec) < 0)
                return 0;
        return (int64_t) (usec / 1000);
}

int agent_run(struct ctl *c, const struct keep_options *opt, json_t *leases, const sigset_t *old_mask) {
        struct agent a = { .c = c, .opt = opt, .max_ttl_ms = workload_max_ttl_ms(c) };
        int64_t now = now_ms();
        json_t *l;
        size_t i;
        int x;

        sigemptyset(&a.waited);
        for (i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&a.waited, forwarded[i]);
        sigaddset(&a.waited, SIGCHLD);
        json_array_foreach(leases, i, l)
                if (held_add(&a, l, now) < 0) {
                        held_free(&a);
                        fprintf(stderr, "secretctl: out of memory\n");
                        return EXIT_ERROR;
                }
        fprintf(stderr, "secretctl: lease: keeping %zu lease%s, each renewed at two thirds of its remaining life; %s\n",
                a.n_held, a.n_held == 1 ? "" : "s",
                opt->argv ? "signals go to the command" : "SIGTERM or Ctrl-C revokes them");
        x = opt->argv ? start_child(&a, old_mask) : EXIT_OK;
        x = x == EXIT_OK ? loop(&a) : stop(&a, x);
        held_free(&a);
        return x;
}
