/* bench-http.c — the bench's own small HTTP/1.1 client on a Unix socket,
 * with keep-alive: connect, build a request, one exchange (status, body),
 * a call that must succeed, and the lease request every lease scenario
 * sends. */

#include "bench.h"

/* --- HTTP/1.1 on a Unix socket, keep-alive ------------------------------- */

int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

size_t build_request(char *buf, size_t len, const char *method, const char *path, const char *type,
                     const void *body, size_t body_len, bool keep_alive) {
        char type_line[128] = "";
        int n;

        if (type)
                snprintf(type_line, sizeof(type_line), "Content-Type: %s\r\n", type);
        n = snprintf(buf, len, "%s %s HTTP/1.1\r\nHost: secretd\r\n%s%sContent-Length: %zu\r\n\r\n", method, path,
                     keep_alive ? "" : "Connection: close\r\n", type_line, body_len);
        if (n < 0 || (size_t) n + body_len >= len)
                die("request too large");
        memcpy(buf + n, body, body_len);
        return (size_t) n + body_len;
}

bool write_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                p += n;
                len -= (size_t) n;
        }
        return true;
}

/* Sends one prepared request and reads its response; the status, or -1
 * when the connection broke.  The body stays in c->buf until the next
 * call. */
int http_exchange(struct hconn *c, const char *req, size_t req_len, const char **ret_body,
                  size_t *ret_len) {
        size_t header_len = 0, total = 0, content_length = 0;
        int status;

        if (!write_all(c->fd, req, req_len))
                return -1;
        for (;;) {
                ssize_t n;

                if (header_len == 0) {
                        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);

                        if (end) {
                                header_len = (size_t) (end - c->buf) + 4;
                                for (char *l = c->buf; l < end;) {
                                        char *nl = memmem(l, (size_t) (end - l), "\r\n", 2);

                                        if (!nl)
                                                nl = end;
                                        if (strncasecmp(l, "Content-Length:", 15) == 0)
                                                content_length = strtoul(l + 15, NULL, 10);
                                        l = nl + 2;
                                }
                                total = header_len + content_length;
                                if (total > HBUF)
                                        return -1;
                        }
                }
                if (header_len && c->have >= total)
                        break;
                n = read(c->fd, c->buf + c->have, HBUF - c->have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                c->have += (size_t) n;
        }
        if (c->have < 12 || strncmp(c->buf, "HTTP/1.1 ", 9) != 0)
                return -1;
        status = atoi(c->buf + 9);
        if (ret_body) {
                *ret_body = c->buf + header_len;
                *ret_len = content_length;
        }
        /* no pipelining: whatever follows is garbage */
        c->have = 0;
        return status;
}

struct hconn *hconn_open(const char *path) {
        struct hconn *c = xcalloc(1, sizeof(*c));

        c->fd = unix_connect(path);
        if (c->fd < 0)
                die("connect %s: %s", path, strerror(-c->fd));
        return c;
}

void hconn_close(struct hconn *c) {
        if (c) {
                close(c->fd);
                free(c);
        }
}

/* One call that must succeed with want; dies otherwise. */
void call(struct hconn *c, const char *method, const char *path, const char *type, const void *body,
          size_t len, int want) {
        static char req[HBUF];
        const char *rbody;
        size_t rlen, n = build_request(req, sizeof(req), method, path, type, body, len, true);
        int status = http_exchange(c, req, n, &rbody, &rlen);

        if (status != want)
                die("%s %s: status %d, expected %d: %.*s", method, path, status, want, (int) (rlen > 300 ? 300 : rlen),
                    status > 0 ? rbody : "");
}

static const char LEASE_BODY[] = "{\"secrets\":[\"db\"]}";

size_t lease_request(char *buf, size_t len, bool keep_alive) {
        return build_request(buf, len, "POST", "/v1/leases", "application/json", LEASE_BODY, strlen(LEASE_BODY),
                             keep_alive);
}
