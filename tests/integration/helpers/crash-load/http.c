/* http.c — the crash-load helper's client side: one HTTP/1.1 request per
 * fresh connection on the daemon's Unix sockets, a lease request made from
 * inside a container's cgroup by a forked child, and the two JSON field
 * readers the checks use on the daemon's compact replies.  A request that
 * gets no complete reply returns -1 (the outcome is unknown); it never
 * retries and never judges a status: the callers do. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash-load.h"

/* One request on a fresh connection.  -1 when there is no complete reply
 * (the daemon is gone): the outcome is unknown. */
int http(const char *sock, const char *method, const char *path, const char *ctype, const void *body,
         size_t blen, struct resp *r) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static char buf[RESP_MAX + 1];
        char head[1024], *p, *eoh;
        size_t got = 0;
        ssize_t n;
        long clen = -1;
        int fd, hl;

        memset(r, 0, sizeof(*r));
        r->version = -1;
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                fail("socket: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        hl = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: secretd\r\nConnection: close\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", blen);
        if (send(fd, head, (size_t) hl, MSG_NOSIGNAL) != hl ||
            (blen > 0 && send(fd, body, blen, MSG_NOSIGNAL) != (ssize_t) blen)) {
                close(fd);
                return -1;
        }
        while (got < RESP_MAX && (n = read(fd, buf + got, RESP_MAX - got)) > 0)
                got += (size_t) n;
        close(fd);
        buf[got] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
        if (got < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0 || !eoh)
                return -1;
        r->status = atoi(buf + 9);
        *eoh = '\0';
        for (p = strstr(buf, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
                if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                        clen = atol(p + 17);
                else if (strncasecmp(p + 2, "X-Secret-Version:", 17) == 0)
                        r->version = atol(p + 19);
        }
        r->body = eoh + 4;
        r->len = got - (size_t) (r->body - buf);
        if (clen < 0 || (size_t) clen != r->len)
                return -1; /* cut short: not an acknowledgement */
        return r->status;
}

/* A lease request from inside container c: a child joins its cgroup and
 * asks; the reply comes back through a pipe. */
int lease_from(int c, const char *json, struct resp *r) {
        static char out[RESP_MAX + 1];
        size_t got = 0;
        int p[2], status, st;
        ssize_t n;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                fail("pipe: %m");
        pid = fork();
        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                char path[4200];
                int fd;

                close(p[0]);
                snprintf(path, sizeof(path), "%s/cgroup.procs", ct[c].cgroup);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(3);
                close(fd);
                st = http(workload_sock, "POST", "/v1/leases", "application/json", json, strlen(json), r);
                if (write(p[1], &st, sizeof(st)) != sizeof(st) ||
                    (st > 0 && write(p[1], r->body, r->len) != (ssize_t) r->len))
                        _exit(4);
                _exit(0);
        }
        close(p[1]);
        while (got < RESP_MAX && (n = read(p[0], out + got, RESP_MAX - got)) > 0)
                got += (size_t) n;
        close(p[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail("lease child for container %d failed (status %d)", c, status);
        if (got < sizeof(int))
                fail("lease child said nothing");
        memcpy(&st, out, sizeof(int));
        out[got] = '\0';
        memset(r, 0, sizeof(*r));
        r->status = st;
        r->body = out + sizeof(int);
        r->len = got - sizeof(int);
        return st;
}

/* --- tiny JSON field access (the daemon answers compact JSON) ------------ */

/* The string value of "key" in [p, end), copied into buf; false if absent. */
bool jstr(const char *p, const char *end, const char *key, char *buf, size_t len) {
        char pat[64];
        const char *s, *e;

        snprintf(pat, sizeof(pat), "\"%s\":\"", key);
        s = strstr(p, pat);
        if (!s || s >= end)
                return false;
        s += strlen(pat);
        e = strchr(s, '"');
        if (!e || e >= end || (size_t) (e - s) >= len)
                return false;
        memcpy(buf, s, (size_t) (e - s));
        buf[e - s] = '\0';
        return true;
}

long jint(const char *p, const char *end, const char *key) {
        char pat[64];
        const char *s;

        snprintf(pat, sizeof(pat), "\"%s\":", key);
        s = strstr(p, pat);
        if (!s || s >= end)
                return -1;
        return atol(s + strlen(pat));
}
