/* bench-leases.c — scenarios 2 to 5: steady-state leases from 1, 8 and 64
 * containers on persistent connections, a new container's first lease
 * (injection included), a lease on a new connection each time, and
 * admin reads. */

#include "bench.h"

/* --- scenario 2: steady-state leases ------------------------------------- */

struct shared *shm;

/* In a container: a persistent connection leasing "db" in a closed loop,
 * one run per 'g' on cmd_fd, one byte on done_fd after each. */
static void steady_worker(int idx, int cmd_fd, int done_fd) {
        static char req[1024];
        size_t req_len = lease_request(req, sizeof(req), true);
        struct hconn *c = hconn_open(P.workload);
        char cmd;

        for (int i = 0; i < 20; i++) /* first lease, injection: not measured */
                if (http_exchange(c, req, req_len, NULL, NULL) != 201)
                        _exit(92);
        if (write(done_fd, "r", 1) != 1)
                _exit(93);
        while (read(cmd_fd, &cmd, 1) == 1 && cmd == 'g') {
                struct slot *s = &shm->slots[idx];
                int64_t deadline = shm->deadline_ns, t0, t1;

                s->n = s->errors = s->kept = 0;
                do {
                        t0 = now_ns();
                        if (http_exchange(c, req, req_len, NULL, NULL) != 201)
                                s->errors++;
                        t1 = now_ns();
                        if (s->kept < SAMPLES_MAX)
                                s->lat_ns[s->kept++] = (uint32_t) (t1 - t0);
                        s->n++;
                } while (t1 < deadline);
                s->end_ns = t1;
                if (write(done_fd, "d", 1) != 1)
                        _exit(94);
        }
        _exit(0);
}

static void read_bytes(int fd, size_t n, const char *what) {
        char buf[256];

        while (n > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (poll(&pfd, 1, 60000) <= 0)
                        die("%s: no answer within 60 s", what);
                k = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
                if (k <= 0)
                        die("%s: a worker failed", what);
                n -= (size_t) k;
        }
}

void steady(struct container *cts, double floor_us, double *ret_p50_1) {
        static const unsigned levels[] = { 1, 8, 64 };
        double rps_1 = 0;

        for (size_t l = 0; l < ELEMENTSOF(levels); l++) {
                unsigned n = levels[l];
                pid_t pids[STEADY_CLIENTS_MAX];
                int cmd[STEADY_CLIENTS_MAX], done[2];
                struct series lat = {}, rps = {};
                struct summary sl, sr;
                char what[48], key[48];
                uint64_t n_total = 0;
                double cpu0, cpu;
                struct row *r;

                if (pipe2(done, O_CLOEXEC) < 0)
                        die("pipe: %m");
                for (unsigned i = 0; i < n; i++) {
                        int p[2];

                        if (pipe2(p, O_CLOEXEC) < 0)
                                die("pipe: %m");
                        pids[i] = fork_child();
                        if (pids[i] == 0) {
                                /* only the parent may hold write ends: EOF ends the workers */
                                close(p[1]);
                                for (unsigned k = 0; k < i; k++)
                                        close(cmd[k]);
                                close(done[0]);
                                container_enter(&cts[i], true);
                                steady_worker((int) i, p[0], done[1]);
                        }
                        close(p[0]);
                        cmd[i] = p[1];
                }
                read_bytes(done[0], n, "lease warm-up");
                cpu0 = daemon_cpu_us();
                for (int rep = 0; rep < REPEATS; rep++) {
                        int64_t start = now_ns(), end = 0;
                        uint64_t total = 0, errors = 0;

                        shm->deadline_ns = start + (int64_t) (STEADY_SECONDS * 1e9);
                        for (unsigned i = 0; i < n; i++)
                                if (write(cmd[i], "g", 1) != 1)
                                        die("worker: %m");
                        read_bytes(done[0], n, "steady leases");
                        for (unsigned i = 0; i < n; i++) {
                                const struct slot *s = &shm->slots[i];

                                for (uint32_t k = 0; k < s->kept; k++)
                                        series_add(&lat, s->lat_ns[k] / 1e3);
                                total += s->n;
                                errors += s->errors;
                                end = s->end_ns > end ? s->end_ns : end;
                        }
                        if (errors)
                                die("%" PRIu64 " of %" PRIu64 " leases failed with %u clients", errors, total, n);
                        series_repeat(&lat);
                        series_add(&rps, (double) total / ((double) (end - start) / 1e9));
                        series_repeat(&rps);
                        n_total += total;
                }
                cpu = (daemon_cpu_us() - cpu0) / (double) n_total;
                for (unsigned i = 0; i < n; i++)
                        close(cmd[i]); /* EOF: the workers exit */
                for (unsigned i = 0; i < n; i++)
                        reap(pids[i]);
                close(done[0]);
                close(done[1]);
                sl = series_summary(&lat);
                sr = series_summary(&rps);
                snprintf(what, sizeof(what), "lease, persistent, %u client%s", n, n > 1 ? "s" : "");
                r = row_add(what, &sl);
                snprintf(r->rate, sizeof(r->rate), "%.0f/s", sr.p50);
                snprintf(key, sizeof(key), "lease_rps_%u", n);
                put(key, sr.p50);
                snprintf(key, sizeof(key), "lease_rps_%u_spread_pct", n);
                put(key, sr.spread);
                snprintf(key, sizeof(key), "lease_cpu_us_%u", n);
                put(key, cpu);
                printf("  %u client%s: daemon CPU %.1f us per lease\n", n, n > 1 ? "s" : "", cpu);
                if (n == 1) {
                        fmt_time(r->limit, sizeof(r->limit), floor_us);
                        row_target(r, sl.p50 / floor_us, "p50 <= 3x floor", sl.p50 <= 3 * floor_us);
                        put("lease_p50_us", sl.p50);
                        put("lease_p99_us", sl.p99);
                        put("lease_spread_pct", sl.spread);
                        put("lease_p50_over_floor", sl.p50 / floor_us);
                        rps_1 = sr.p50;
                        *ret_p50_1 = sl.p50;
                } else {
                        snprintf(key, sizeof(key), "lease_p50_us_%u", n);
                        put(key, sl.p50);
                        snprintf(key, sizeof(key), "lease_p99_us_%u", n);
                        put(key, sl.p99);
                        snprintf(r->limit, sizeof(r->limit), "%.0f/s", rps_1);
                        if (n == 64) {
                                row_target(r, sr.p50 / rps_1, "rps >= 0.9x 1", sr.p50 >= 0.9 * rps_1);
                                put("lease_rps_64_over_1", sr.p50 / rps_1);
                        } else
                                snprintf(r->ratio, sizeof(r->ratio), "%.2fx", sr.p50 / rps_1);
                }
                series_free(&lat);
                series_free(&rps);
                daemon_alive("steady leases");
        }
}

/* --- scenario 3: a new container's first lease ---------------------------- */

struct first_result {
        int64_t ns;
        int status;
        bool injected;
};

static void first_worker(int ready_fd, int cmd_fd, struct first_result *res, const uint8_t *value) {
        static char req[1024];
        size_t req_len = lease_request(req, sizeof(req), false), got = 0;
        struct hconn *c = xcalloc(1, sizeof(*c));
        uint8_t seen[VALUE_SIZE];
        char cmd;
        int64_t t0;
        int fd;

        if (write(ready_fd, "r", 1) != 1 || read(cmd_fd, &cmd, 1) != 1)
                _exit(95);
        t0 = now_ns();
        c->fd = unix_connect(P.workload);
        res->status = c->fd < 0 ? -1 : http_exchange(c, req, req_len, NULL, NULL);
        close(c->fd);
        res->ns = now_ns() - t0;
        /* not timed: the file is there, in our own namespace */
        fd = open("/run/secrets/db", O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && got < sizeof(seen)) {
                ssize_t n = read(fd, seen + got, sizeof(seen) - got);

                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        res->injected = got == sizeof(seen) && memcmp(seen, value, sizeof(seen)) == 0;
        if (write(ready_fd, "d", 1) != 1)
                _exit(96);
        for (;;)
                pause(); /* the container lives until the parent ends it */
}

/* What dockerd writes for a container, root's and 0600, in the data root
 * the bench's config names. */
static void docker_record(const struct container *ct) {
        char path[512], text[1024];
        int n;

        snprintf(path, sizeof(path), "%s/records", G.tmp);
        (void) mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/records/containers", G.tmp);
        (void) mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/records/containers/%s", G.tmp, ct->id);
        if (mkdir(path, 0700) < 0)
                die("mkdir %s: %m", path);
        n = snprintf(text, sizeof(text),
                     "{\"ID\":\"%s\",\"Name\":\"/bench-%.12s\",\"Image\":\"sha256:%s\",\"Config\":{\"Image\":"
                     "\"bench/app:1\",\"Env\":[\"PATH=/bin\"],\"Labels\":{\"app\":\"bench\",\"tier\":\"front\"}}}",
                     ct->id, ct->id, ct->id);
        snprintf(path, sizeof(path), "%s/records/containers/%s/config.v2.json", G.tmp, ct->id);
        write_file(path, text, (size_t) n, 0600);
}

void first_lease(const uint8_t *db_value, bool labelled, double *ret_p50_us) {
        double plain_p50_us = *ret_p50_us;
        struct container *cts = xcalloc(FIRST_LEASE_CONTAINERS, sizeof(*cts));
        pid_t *pids = xcalloc(FIRST_LEASE_CONTAINERS, sizeof(pid_t));
        struct first_result *res = (struct first_result *) (void *) shm->slots[0].lat_ns;
        struct series s = {};
        struct summary sum;
        struct row *r;
        unsigned failed = 0;

        for (unsigned i = 0; i < FIRST_LEASE_CONTAINERS; i++) {
                int ready[2], cmd[2];

                container_new(&cts[i]);
                if (labelled)
                        docker_record(&cts[i]);
                if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(cmd, O_CLOEXEC) < 0)
                        die("pipe: %m");
                pids[i] = fork_child();
                if (pids[i] == 0) {
                        close(ready[0]);
                        close(cmd[1]);
                        container_enter(&cts[i], true);
                        first_worker(ready[1], cmd[0], &res[i], db_value);
                }
                close(ready[1]);
                close(cmd[0]);
                read_bytes(ready[0], 1, "container set-up");
                if (write(cmd[1], "g", 1) != 1)
                        die("first lease: %m");
                read_bytes(ready[0], 1, "first lease");
                close(ready[0]);
                close(cmd[1]);
                if (res[i].status != 201 || !res[i].injected)
                        failed++;
                series_add(&s, (double) res[i].ns / 1e3);
                if ((i + 1) % (FIRST_LEASE_CONTAINERS / REPEATS) == 0)
                        series_repeat(&s);
        }
        if (failed)
                die("%u of %d first leases failed or were not injected", failed, FIRST_LEASE_CONTAINERS);
        daemon_alive("first leases");
        for (unsigned i = 0; i < FIRST_LEASE_CONTAINERS; i++)
                container_end(&cts[i], &pids[i], 1);
        wait_instances_gone("docker-");
        sum = series_summary(&s);
        *ret_p50_us = sum.p50;
        if (labelled) {
                /* the record's read, parse and match: against the same
                 * first lease without one, in this run */
                r = row_add("first lease, by labels and image", &sum);
                snprintf(r->limit, sizeof(r->limit), "%.2f ms", plain_p50_us / 1e3);
                row_target(r, sum.p50 / plain_p50_us, "<= 1.10x without", sum.p50 <= 1.10 * plain_p50_us);
                put("first_lease_selectors_p50_ms", sum.p50 / 1e3);
                put("first_lease_selectors_ratio", sum.p50 / plain_p50_us);
        } else {
                r = row_add("first lease, new container", &sum);
                snprintf(r->limit, sizeof(r->limit), "5 ms");
                row_target(r, sum.p50 / 5000.0, "p50 <= 5 ms", sum.p50 <= 5000.0);
                put("first_lease_p50_ms", sum.p50 / 1e3);
                put("first_lease_p99_ms", sum.p99 / 1e3);
                put("first_lease_spread_pct", sum.spread);
        }
        series_free(&s);
        free(cts);
        free(pids);
}

/* --- scenario 4: connect + attest + lease + close -------------------------- */

static void conn_worker(int cmd_fd, int done_fd) {
        static char req[1024];
        size_t req_len = lease_request(req, sizeof(req), false);
        struct hconn *c = xcalloc(1, sizeof(*c));
        char cmd;

        while (read(cmd_fd, &cmd, 1) == 1 && cmd == 'g') {
                struct slot *s = &shm->slots[0];
                int64_t deadline = shm->deadline_ns, t0, t1;

                s->n = s->errors = s->kept = 0;
                do {
                        t0 = now_ns();
                        c->fd = unix_connect(P.workload);
                        c->have = 0;
                        if (c->fd < 0 || http_exchange(c, req, req_len, NULL, NULL) != 201)
                                s->errors++;
                        close(c->fd);
                        t1 = now_ns();
                        if (s->kept < SAMPLES_MAX)
                                s->lat_ns[s->kept++] = (uint32_t) (t1 - t0);
                        s->n++;
                } while (t1 < deadline);
                s->end_ns = t1;
                if (write(done_fd, "d", 1) != 1)
                        _exit(94);
        }
        _exit(0);
}

void conn_lease(struct container *ct) {
        struct series lat = {}, rps = {};
        struct summary sl, sr;
        int cmd[2], done[2];
        struct row *r;
        pid_t pid;

        if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
                die("pipe: %m");
        pid = fork_child();
        if (pid == 0) {
                close(cmd[1]);
                close(done[0]);
                container_enter(ct, true);
                conn_worker(cmd[0], done[1]);
        }
        close(cmd[0]);
        /* one untimed round: the first lease injects */
        shm->deadline_ns = 0;
        if (write(cmd[1], "g", 1) != 1)
                die("conn worker: %m");
        read_bytes(done[0], 1, "connection lease warm-up");
        for (int rep = 0; rep < REPEATS; rep++) {
                int64_t start = now_ns();
                const struct slot *s = &shm->slots[0];

                shm->deadline_ns = start + (int64_t) (STEADY_SECONDS * 1e9);
                if (write(cmd[1], "g", 1) != 1)
                        die("conn worker: %m");
                read_bytes(done[0], 1, "connection leases");
                if (s->errors)
                        die("%u of %u new-connection leases failed", s->errors, s->n);
                for (uint32_t k = 0; k < s->kept; k++)
                        series_add(&lat, s->lat_ns[k] / 1e3);
                series_repeat(&lat);
                series_add(&rps, (double) s->n / ((double) (s->end_ns - start) / 1e9));
                series_repeat(&rps);
        }
        close(cmd[1]);
        reap(pid);
        close(done[0]);
        close(done[1]);
        sl = series_summary(&lat);
        sr = series_summary(&rps);
        r = row_add("lease, new connection each", &sl);
        snprintf(r->rate, sizeof(r->rate), "%.0f/s", sr.p50);
        put("conn_lease_p50_us", sl.p50);
        put("conn_lease_p99_us", sl.p99);
        put("conn_lease_spread_pct", sl.spread);
        put("conn_lease_rps", sr.p50);
        series_free(&lat);
        series_free(&rps);
        daemon_alive("connection leases");
}

/* --- scenario 5: admin read ------------------------------------------------ */

void admin_get(double rtt_us, double open_us) {
        static char req[1024];
        size_t req_len = build_request(req, sizeof(req), "GET", "/v1/secrets/db", NULL, "", 0, true);
        struct hconn *c = hconn_open(P.admin);
        struct series lat = {}, rps = {};
        struct summary sl, sr;
        struct row *r;

        uint64_t n_total = 0;
        double cpu0;

        for (int i = 0; i < 20; i++)
                if (http_exchange(c, req, req_len, NULL, NULL) != 200)
                        die("GET /v1/secrets/db failed");
        cpu0 = daemon_cpu_us();
        for (int rep = 0; rep < REPEATS; rep++) {
                int64_t start = now_ns(), deadline = start + (int64_t) (STEADY_SECONDS * 1e9), t1;
                unsigned n = 0;

                do {
                        int64_t t0 = now_ns();

                        if (http_exchange(c, req, req_len, NULL, NULL) != 200)
                                die("GET /v1/secrets/db failed");
                        t1 = now_ns();
                        series_add(&lat, (double) (t1 - t0) / 1e3);
                        n++;
                } while (t1 < deadline);
                series_repeat(&lat);
                series_add(&rps, n / ((double) (t1 - start) / 1e9));
                series_repeat(&rps);
                n_total += n;
        }
        put("admin_get_cpu_us", (daemon_cpu_us() - cpu0) / (double) n_total);
        printf("  daemon CPU %.1f us per read\n", (daemon_cpu_us() - cpu0) / (double) n_total);
        hconn_close(c);
        sl = series_summary(&lat);
        sr = series_summary(&rps);
        r = row_add("admin GET /v1/secrets/{name}", &sl);
        snprintf(r->rate, sizeof(r->rate), "%.0f/s", sr.p50);
        fmt_time(r->limit, sizeof(r->limit), rtt_us + open_us);
        snprintf(r->ratio, sizeof(r->ratio), "%.2fx", sl.p50 / (rtt_us + open_us));
        put("admin_get_p50_us", sl.p50);
        put("admin_get_p99_us", sl.p99);
        put("admin_get_spread_pct", sl.spread);
        put("admin_get_rps", sr.p50);
        series_free(&lat);
        series_free(&rps);
        daemon_alive("admin reads");
}
