/* bench-floor.c — scenario 1, the machine's own limit for a lease, in
 * its parts: a request/response round trip on a Unix socket at a real
 * lease's sizes, opening a connection, and the temp-file write + rename
 * every lease and rotation does. */

#include "bench.h"

/* --- scenario 1: the limit's parts --------------------------------------- */

/* Echoes fixed-size messages: reads req_len bytes, answers resp_len. */
static void echo_server(int lfd, size_t req_len, size_t resp_len) {
        char *in = xcalloc(1, req_len), *out = xcalloc(1, resp_len);
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        memset(out, 'x', resp_len);
        for (;;) {
                size_t got = 0;

                while (got < req_len) {
                        ssize_t n = read(fd, in + got, req_len - got);

                        if (n <= 0)
                                _exit(0);
                        got += (size_t) n;
                }
                if (!write_all(fd, out, resp_len))
                        _exit(0);
        }
}

double floor_rtt(size_t req_len, size_t resp_len) {
        char path[128], *req = xcalloc(1, req_len), *resp = xcalloc(1, resp_len);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct series s = {};
        struct summary sum;
        int lfd, fd;
        pid_t pid;

        snprintf(path, sizeof(path), "%s/echo.sock", G.rt);
        if (strlen(path) >= sizeof(sa.sun_path))
                die("%s: path too long", path);
        strcpy(sa.sun_path, path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
                die("echo socket: %m");
        pid = fork_child();
        if (pid == 0)
                echo_server(lfd, req_len, resp_len);
        close(lfd);
        fd = unix_connect(path);
        if (fd < 0)
                die("connect echo: %s", strerror(-fd));
        memset(req, 'r', req_len);
        for (int rep = 0; rep < REPEATS; rep++) {
                for (int i = 0; i < 4000; i++) {
                        int64_t t0 = now_ns();
                        size_t got = 0;

                        if (!write_all(fd, req, req_len))
                                die("echo write: %m");
                        while (got < resp_len) {
                                ssize_t n = read(fd, resp + got, resp_len - got);

                                if (n <= 0)
                                        die("echo read: %m");
                                got += (size_t) n;
                        }
                        series_add(&s, (double) (now_ns() - t0) / 1e3);
                }
                series_repeat(&s);
        }
        close(fd);
        kill(pid, SIGKILL);
        reap(pid);
        unlink(path);
        sum = series_summary(&s);
        row_add("limit: Unix socket round trip", &sum);
        put("floor_rtt_us", sum.p50);
        series_free(&s);
        free(req);
        free(resp);
        return sum.p50;
}

double floor_open(void) {
        uint8_t key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
        uint8_t plain[VALUE_SIZE], boxed[VALUE_SIZE + crypto_secretbox_MACBYTES];
        struct series s = {};
        struct summary sum;

        crypto_secretbox_keygen(key);
        randombytes_buf(nonce, sizeof(nonce));
        randombytes_buf(plain, sizeof(plain));
        crypto_secretbox_easy(boxed, plain, sizeof(plain), nonce, key);
        for (int rep = 0; rep < REPEATS; rep++) {
                for (int i = 0; i < 2000; i++) {
                        int64_t t0 = now_ns();

                        /* batches of 16: one open is near the clock's resolution */
                        for (int k = 0; k < 16; k++)
                                if (crypto_secretbox_open_easy(plain, boxed, sizeof(boxed), nonce, key) != 0)
                                        die("secretbox_open failed");
                        series_add(&s, (double) (now_ns() - t0) / 16e3);
                }
                series_repeat(&s);
        }
        sum = series_summary(&s);
        row_add("limit: secretbox_open, 64 B", &sum);
        put("floor_open_us", sum.p50);
        series_free(&s);
        return sum.p50;
}

/* One temp-file write + rename in dfd, as every lease and rotation does. */
void write_rename(int dfd, const uint8_t *value) {
        int fd = openat(dfd, ".tmp-bench", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, value, VALUE_SIZE) != VALUE_SIZE)
                die("tmpfs write: %m");
        close(fd);
        if (renameat(dfd, ".tmp-bench", dfd, "value") < 0)
                die("tmpfs rename: %m");
}

double floor_write(void) {
        char path[128];
        uint8_t value[VALUE_SIZE];
        struct series s = {};
        struct summary sum;
        int dfd;

        snprintf(path, sizeof(path), "%s/floor", G.rt);
        if (mkdir(path, 0700) < 0 || (dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                die("%s: %m", path);
        randombytes_buf(value, sizeof(value));
        for (int rep = 0; rep < REPEATS; rep++) {
                for (int i = 0; i < 2000; i++) {
                        int64_t t0 = now_ns();

                        write_rename(dfd, value);
                        series_add(&s, (double) (now_ns() - t0) / 1e3);
                }
                series_repeat(&s);
        }
        close(dfd);
        sum = series_summary(&s);
        row_add("limit: tmpfs temp write + rename", &sum);
        put("floor_write_rename_us", sum.p50);
        series_free(&s);
        return sum.p50;
}
