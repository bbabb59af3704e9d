/* bench-rotation.c — scenario 6: rotating a secret leased by 1,000
 * containers (11,000 leases) and waiting for every instance to hold the
 * new value, beside the bare writes and the durable store write a
 * rotation must do; and rotating a set of two files in the same 1,000
 * containers beside as many bare generation swaps (a directory of two new
 * files, a symlink renamed over the old one, the old directory removed:
 * what Kubernetes' atomic writer does). */

#include "bench.h"

/* --- scenario 6: rotation fan-out ------------------------------------------ */

/* In a container (host mount namespace): leases rot and c1..c9, then
 * lives until quit_fd closes. */
static void rotate_worker(int done_fd, int quit_fd) {
        static const char body[] = "{\"secrets\":[\"rot\",\"c1\",\"c2\",\"c3\",\"c4\",\"c5\",\"c6\",\"c7\",\"c8\",\"c9\",\"pair\"]}";
        static char req[1024];
        size_t req_len = build_request(req, sizeof(req), "POST", "/v1/leases", "application/json", body,
                                       strlen(body), false);
        struct hconn *c = xcalloc(1, sizeof(*c));
        char x;

        const char *rbody = "";
        size_t rlen = 0;
        int status;

        c->fd = unix_connect(P.workload);
        status = c->fd < 0 ? -1 : http_exchange(c, req, req_len, &rbody, &rlen);
        if (status != 201) {
                fprintf(stderr, "bench: lease in container %d: status %d: %.*s\n", (int) getpid(), status,
                        (int) (status > 0 && rlen < 300 ? rlen : 0), rbody);
                _exit(write(done_fd, "f", 1) == 1 ? 97 : 98);
        }
        close(c->fd);
        if (write(done_fd, "d", 1) != 1)
                _exit(98);
        while (read(quit_fd, &x, 1) > 0)
                ;
        _exit(0);
}

static int open_dir_at(int dfd, const char *name) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                die("open %s: %m", name);
        return fd;
}

static bool file_is(const char *path, const uint8_t *value) {
        uint8_t buf[VALUE_SIZE + 1];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

        if (fd >= 0)
                close(fd);
        return n == VALUE_SIZE && memcmp(buf, value, VALUE_SIZE) == 0;
}

/* What a rotation must also do before it answers: store the new version
 * durably (temp file, fsync, rename, fsync of the directory) on the state
 * directory's disk. */
static double durable_write(void) {
        struct series s = {};
        struct summary sum;
        uint8_t blob[VALUE_SIZE + 56];
        int dfd = open(P.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                die("%s: %m", P.state);
        randombytes_buf(blob, sizeof(blob));
        for (int rep = 0; rep < REPEATS; rep++) {
                int64_t t0 = now_ns();
                int fd = openat(dfd, ".bench-tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                if (fd < 0 || write(fd, blob, sizeof(blob)) != sizeof(blob) || fsync(fd) < 0)
                        die("durable write: %m");
                close(fd);
                if (renameat(dfd, ".bench-tmp", dfd, ".bench-durable") < 0 || fsync(dfd) < 0)
                        die("durable rename: %m");
                series_add(&s, (double) (now_ns() - t0) / 1e3);
                series_repeat(&s);
        }
        (void) unlinkat(dfd, ".bench-durable", 0);
        close(dfd);
        sum = series_summary(&s);
        row_add("limit: durable write, state disk", &sum);
        put("durable_write_ms", sum.p50 / 1e3);
        series_free(&s);
        return sum.p50;
}

size_t set_body(char *buf, size_t len, const uint8_t *crt, const uint8_t *key) {
        int n = snprintf(buf, len, "tls.crt %d\n", VALUE_SIZE);
        size_t off = (size_t) n;

        if (off + 2 * (VALUE_SIZE + 16) > len)
                die("set body buffer too small");
        memcpy(buf + off, crt, VALUE_SIZE);
        off += VALUE_SIZE;
        off += (size_t) snprintf(buf + off, len - off, "\ntls.key %d\n", VALUE_SIZE);
        memcpy(buf + off, key, VALUE_SIZE);
        off += VALUE_SIZE;
        buf[off++] = '\n';
        return off;
}

static void write_at(int dfd, const char *name, const uint8_t *value) {
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);

        if (fd < 0 || write(fd, value, VALUE_SIZE) != VALUE_SIZE)
                die("tmpfs write %s: %m", name);
        close(fd);
}

/* One bare generation swap in dfd: generation gen (of two files) made,
 * linked as "pair" by a rename, generation gen - 1 removed. */
static void bare_swap(int dfd, unsigned gen, const uint8_t *value) {
        char name[32], old[32];
        int gfd;

        snprintf(name, sizeof(name), "g%u", gen);
        if (mkdirat(dfd, name, 0700) < 0 || (gfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                die("mkdir %s: %m", name);
        write_at(gfd, "tls.crt", value);
        write_at(gfd, "tls.key", value);
        close(gfd);
        if (symlinkat(name, dfd, ".link") < 0 || renameat(dfd, ".link", dfd, "pair") < 0)
                die("link %s: %m", name);
        snprintf(old, sizeof(old), "g%u", gen - 1);
        if ((gfd = openat(dfd, old, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
                (void) unlinkat(gfd, "tls.crt", 0);
                (void) unlinkat(gfd, "tls.key", 0);
                close(gfd);
                (void) unlinkat(dfd, old, AT_REMOVEDIR);
        }
}

/* The set's rounds, as the single secret's: bare swaps and set rotations
 * alternate, ROTATE_SAMPLES of each per repeat. */
static void set_rotation(struct container *cts, unsigned n_cts, const int *dirs, struct hconn *admin) {
        static char req[4096], set[2 * (VALUE_SIZE + 32)];
        struct series rot = {}, bare = {};
        struct summary sr, sb;
        uint8_t crt[VALUE_SIZE], key[VALUE_SIZE];
        char path[512], want[48];
        struct row *r;

        for (int n = 0; n < REPEATS * ROTATE_SAMPLES; n++) {
                const char *body;
                size_t req_len, blen;
                int64_t t1;
                int status;

                randombytes_buf(crt, sizeof(crt));
                randombytes_buf(key, sizeof(key));
                t1 = now_ns();
                for (unsigned i = 0; i < n_cts; i++)
                        bare_swap(dirs[i], (unsigned) n + 1, crt);
                series_add(&bare, (double) (now_ns() - t1) / 1e3);
                req_len = build_request(req, sizeof(req), "POST", "/v1/secrets/pair/rotate",
                                        "application/x-secretd-set", set, set_body(set, sizeof(set), crt, key), true);
                t1 = now_ns();
                status = http_exchange(admin, req, req_len, &body, &blen);
                series_add(&rot, (double) (now_ns() - t1) / 1e3);
                if ((n + 1) % ROTATE_SAMPLES == 0) {
                        series_repeat(&bare);
                        series_repeat(&rot);
                }
                snprintf(want, sizeof(want), "\"leases_updated\":%u", n_cts);
                if (status != 200 || !memmem(body, blen, want, strlen(want)))
                        die("set rotate: status %d: %.*s", status, (int) (blen > 300 ? 300 : blen),
                            status > 0 ? body : "");
                /* not timed: every instance holds the new pair */
                for (unsigned i = 0; i < n_cts; i++) {
                        snprintf(path, sizeof(path), "%s/containers/docker-%s/pair/tls.key", P.secrets, cts[i].id);
                        if (!file_is(path, key))
                                die("%s does not hold the rotated set", path);
                }
        }
        sb = series_summary(&bare);
        sr = series_summary(&rot);
        snprintf(want, sizeof(want), "limit: %u bare generation swaps", n_cts);
        row_add(want, &sb);
        snprintf(want, sizeof(want), "set rotate (2 files), %u instances", n_cts);
        r = row_add(want, &sr);
        fmt_time(r->limit, sizeof(r->limit), sb.p50);
        row_target(r, sr.p50 / sb.p50, "<= 1.5x bare", sr.p50 <= 1.5 * sb.p50);
        put("set_rotate_1000_ms", sr.p50 / 1e3);
        put("set_rotate_1000_p99_ms", sr.p99 / 1e3);
        put("bare_swaps_1000_ms", sb.p50 / 1e3);
        put("set_rotate_over_bare", sr.p50 / sb.p50);
        series_free(&rot);
        series_free(&bare);
}

void rotation(struct container *cts, unsigned n_cts, int *ret_quit_fd, pid_t *workers) {
        struct series rot = {}, bare = {}, rot_cpu = {};
        double cpu0, durable;
        struct summary sr, sb;
        char path[512];
        struct hconn *admin;
        int done[2], quit[2], bare_root;
        uint8_t value[VALUE_SIZE];
        int *dirs = xcalloc(n_cts, sizeof(int));
        struct row *r;
        char key[48];
        int64_t t0;

        if (pipe2(done, O_CLOEXEC) < 0 || pipe2(quit, O_CLOEXEC) < 0)
                die("pipe: %m");
        t0 = now_ns();
        for (unsigned i = 0; i < n_cts; i++) {
                container_new(&cts[i]);
                workers[i] = fork_child();
                if (workers[i] == 0) {
                        close(quit[1]);
                        container_enter(&cts[i], false);
                        rotate_worker(done[1], quit[0]);
                }
                {
                        struct pollfd pfd = { .fd = done[0], .events = POLLIN };
                        char x = 0;

                        if (poll(&pfd, 1, 60000) <= 0 || read(done[0], &x, 1) != 1 || x != 'd')
                                die("container %u of %u could not lease its 10 secrets", i + 1, n_cts);
                }
        }
        close(quit[0]);
        close(done[0]);
        close(done[1]);
        *ret_quit_fd = quit[1];
        printf("  %u containers with %u leases each set up in %.1f s\n", n_cts, ROTATE_GRANTS,
               (double) (now_ns() - t0) / 1e9);
        daemon_alive("leasing for the rotation");

        /* the limit: as many temp-file writes + renames, one per directory */
        snprintf(path, sizeof(path), "%s/bare", G.rt);
        if (mkdir(path, 0700) < 0)
                die("mkdir %s: %m", path);
        bare_root = open_dir_at(AT_FDCWD, path);
        for (unsigned i = 0; i < n_cts; i++) {
                snprintf(path, sizeof(path), "%u", i);
                if (mkdirat(bare_root, path, 0700) < 0)
                        die("mkdir: %m");
                dirs[i] = open_dir_at(bare_root, path);
        }
        admin = hconn_open(P.admin);
        /* bare writes and rotations alternate, ROTATE_SAMPLES of each per
         * repeat: five single samples let one hiccup of the host decide
         * the median (spreads of 40-60% were common) */
        for (int n = 0; n < REPEATS * ROTATE_SAMPLES; n++) {
                static char req[1024];
                const char *body;
                size_t req_len, blen;
                int64_t t1;
                int status;

                randombytes_buf(value, sizeof(value));
                t1 = now_ns();
                for (unsigned i = 0; i < n_cts; i++)
                        write_rename(dirs[i], value);
                series_add(&bare, (double) (now_ns() - t1) / 1e3);

                req_len = build_request(req, sizeof(req), "POST", "/v1/secrets/rot/rotate", "application/octet-stream",
                                        value, sizeof(value), true);
                cpu0 = daemon_cpu_us();
                t1 = now_ns();
                status = http_exchange(admin, req, req_len, &body, &blen);
                series_add(&rot, (double) (now_ns() - t1) / 1e3);
                series_add(&rot_cpu, daemon_cpu_us() - cpu0);
                if ((n + 1) % ROTATE_SAMPLES == 0) {
                        series_repeat(&bare);
                        series_repeat(&rot_cpu);
                        series_repeat(&rot);
                }
                snprintf(key, sizeof(key), "\"leases_updated\":%u", n_cts);
                if (status != 200 || !memmem(body, blen, key, strlen(key)))
                        die("rotate: status %d: %.*s", status, (int) (blen > 300 ? 300 : blen), status > 0 ? body : "");
                /* not timed: every file holds the new value */
                for (unsigned i = 0; i < n_cts; i++) {
                        snprintf(path, sizeof(path), "%s/containers/docker-%s/rot", P.secrets, cts[i].id);
                        if (!file_is(path, value))
                                die("%s does not hold the rotated value", path);
                }
        }
        set_rotation(cts, n_cts, dirs, admin);
        hconn_close(admin);
        for (unsigned i = 0; i < n_cts; i++)
                close(dirs[i]);
        close(bare_root);
        free(dirs);
        sb = series_summary(&bare);
        sr = series_summary(&rot);
        durable = durable_write();
        snprintf(key, sizeof(key), "limit: %u bare writes + renames", n_cts);
        row_add(key, &sb);
        snprintf(key, sizeof(key), "rotate, %u leased instances", n_cts);
        r = row_add(key, &sr);
        fmt_time(r->limit, sizeof(r->limit), sb.p50);
        row_target(r, sr.p50 / sb.p50, "<= 2x bare", sr.p50 <= 2 * sb.p50);
        put("rotate_1000_ms", sr.p50 / 1e3);
        put("rotate_1000_p99_ms", sr.p99 / 1e3);
        put("rotate_spread_pct", sr.spread);
        put("bare_writes_1000_ms", sb.p50 / 1e3);
        put("bare_writes_spread_pct", sb.spread);
        put("rotate_over_bare", sr.p50 / sb.p50);
        put("rotate_over_bare_plus_durable", sr.p50 / (sb.p50 + durable));
        printf("  rotate / (bare writes + one durable store write) = %.2f\n", sr.p50 / (sb.p50 + durable));
        put("rotate_cpu_ms", series_summary(&rot_cpu).p50 / 1e3);
        printf("  daemon CPU %.1f ms per rotate\n", series_summary(&rot_cpu).p50 / 1e3);
        series_free(&rot_cpu);
        put("rotate_instances", n_cts);
        series_free(&rot);
        series_free(&bare);
}
