/* bench-watch.c — scenario 11: 100 admins' watches parked on one secret,
 * woken by its rotation.  The figure is what a waiter waits after the
 * rotation is done: from the rotate call's answer (every lease already
 * holds the new version then) to each waiter's answer, read here. */

#include "bench.h"

#define WATCHERS 100
#define WATCH_ROUNDS 4 /* rotations per repeat */
#define WATCH_ANSWER_MAX 4096

/* The daemon's count of parked watches (GET /v1/status). */
static long watchers_parked(struct hconn *admin) {
        static char req[512];
        size_t n = build_request(req, sizeof(req), "GET", "/v1/status", NULL, NULL, 0, true);
        const char *body, *at;
        size_t len;

        if (http_exchange(admin, req, n, &body, &len) != 200)
                die("GET /v1/status failed");
        at = memmem(body, len, "\"watchers\":", 11);
        return at ? strtol(at + 11, NULL, 10) : -1;
}

/* WATCHERS connections, each with a watch of "w" past version after. */
static void park(int *fds, uint64_t after, struct hconn *admin) {
        char path[128], req[512];
        size_t n;

        snprintf(path, sizeof(path), "/v1/secrets/w/watch?after=%" PRIu64 "&timeout=60s", after);
        n = build_request(req, sizeof(req), "GET", path, NULL, NULL, 0, false);
        for (unsigned i = 0; i < WATCHERS; i++) {
                fds[i] = unix_connect(P.admin);
                if (fds[i] < 0 || !write_all(fds[i], req, n))
                        die("watcher %u: cannot ask: %m", i);
        }
        for (int tries = 0; watchers_parked(admin) != WATCHERS; tries++) {
                if (tries == 500)
                        die("%u watches did not park in 5 s", WATCHERS);
                usleep(10000);
        }
}

/* Reads every watcher's answer, each sample the time from t0 to it. */
static void collect(int *fds, int64_t t0, struct series *s) {
        static char buf[WATCHERS][WATCH_ANSWER_MAX];
        size_t have[WATCHERS] = {};
        struct pollfd pfd[WATCHERS];
        unsigned left = WATCHERS;

        for (unsigned i = 0; i < WATCHERS; i++)
                pfd[i] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
        while (left > 0) {
                if (poll(pfd, WATCHERS, 5000) <= 0)
                        die("%u watchers had no answer 5 s after the rotation", left);
                for (unsigned i = 0; i < WATCHERS; i++) {
                        ssize_t r;

                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
                                continue;
                        r = read(pfd[i].fd, buf[i] + have[i], WATCH_ANSWER_MAX - 1 - have[i]);
                        if (r <= 0)
                                die("watcher %u: no answer (%zd)", i, r);
                        have[i] += (size_t) r;
                        buf[i][have[i]] = '\0';
                        if (!strstr(buf[i], "\r\n\r\n") || !strchr(buf[i], '}'))
                                continue;
                        if (!strstr(buf[i], "\"changed\":true"))
                                die("watcher %u: %s", i, buf[i]);
                        series_add(s, (double) (now_ns() - t0) / 1e3);
                        close(pfd[i].fd);
                        pfd[i].fd = -1;
                        left--;
                }
        }
}

void watch_wake(struct hconn *admin) {
        struct series s = {};
        struct summary sum;
        uint8_t value[VALUE_SIZE];
        uint64_t version = 1;
        int fds[WATCHERS];
        struct row *r;

        randombytes_buf(value, sizeof(value));
        call(admin, "PUT", "/v1/secrets/w", "application/octet-stream", value, sizeof(value), 201);
        for (int rep = 0; rep < REPEATS; rep++) {
                for (int round = 0; round < WATCH_ROUNDS; round++) {
                        int64_t t0;

                        park(fds, version, admin);
                        randombytes_buf(value, sizeof(value));
                        call(admin, "POST", "/v1/secrets/w/rotate", "application/octet-stream", value,
                             sizeof(value), 200);
                        t0 = now_ns();
                        version++;
                        collect(fds, t0, &s);
                }
                series_repeat(&s);
        }
        sum = series_summary(&s);
        r = row_add("watch: 100 waiters, from the rotate", &sum);
        row_target(r, sum.p99 / 5000.0, "p99 <= 5 ms", sum.p99 <= 5000.0);
        put("watch_p50_ms", sum.p50 / 1e3);
        put("watch_p99_ms", sum.p99 / 1e3);
        put("watch_spread_pct", sum.spread);
        call(admin, "DELETE", "/v1/secrets/w", NULL, NULL, 0, 200);
        series_free(&s);
}
