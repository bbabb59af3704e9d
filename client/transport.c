/* transport.c — HTTP/1.1 to secretd over its Unix socket, by hand.
 *
 * The client needs one thing of HTTP: a request with a Content-Length body
 * and a reply the daemon frames with Content-Length (libmicrohttpd does for
 * every reply it builds from a buffer, which is all of secretd's).  Doing
 * that here instead of with libcurl leaves the client linking libsodium,
 * jansson and libc only, so it builds as one static binary for containers
 * (Makefile: secretctl-static).
 *
 * One connection per run is kept open across requests (`lease --keep`
 * renews on it for hours); a request on a kept connection that the daemon
 * closed meanwhile is sent once more on a new one, before any byte of an
 * answer.  Every byte read lands in guarded memory, the header block too,
 * because `get` brings a secret's value; request bodies are sent straight
 * from the caller's buffer.  The socket is O_CLOEXEC: a command the agent
 * starts does not inherit it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/protocol.h"

/* Far above any value the daemon accepts: bounds a confused peer. */
#define REPLY_MAX (64u * 1024 * 1024)
#define HEADER_MAX 16384
/* A daemon that takes this long to answer one request is stuck. */
#define REPLY_TIMEOUT_SEC 60

struct head {
        long status;
        uint64_t version;
        size_t length;
        bool has_length, chunked, close;
};

int ctl_open(struct ctl *c) {
        c->fd = -1;
        return 0;
}

void ctl_close(struct ctl *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        json_decref(c->warned);
        c->warned = NULL;
}

void reply_done(struct reply *r) {
        r->body = secbuf_free(r->body);
        r->status = 0;
        r->version = 0;
}

/* What every message begins with: "secretctl", or another program's own
 * prefix (the OCI hook's names the container). */
static const char *ctl_prog(const struct ctl *c) {
        return c->prog ? c->prog : "secretctl";
}

static const char *socket_origin(const struct ctl *c) {
        return c->socket_from_env ? " (from $SECRETD_SOCKET)" : "";
}

static int connect_daemon(struct ctl *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = c->timeout_sec ? c->timeout_sec : REPLY_TIMEOUT_SEC };
        _cleanup_close_ int fd = -1;

        if (strlen(c->socket) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "%s: the socket path %s%s is too long\n", ctl_prog(c), c->socket, socket_origin(c));
                return EXIT_ERROR;
        }
        strcpy(sa.sun_path, c->socket);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        /* a daemon whose backlog is full blocks connect() and send() too */
        if (fd >= 0 && c->timeout_sec)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "%s: cannot reach secretd at %s%s: %s\n", ctl_prog(c), c->socket, socket_origin(c),
                        strerror(errno));
                return EXIT_UNREACHABLE;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        c->fd = TAKE_FD(fd);
        return EXIT_OK;
}

static int send_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

/* >0 bytes, 0 at the end of the stream, or -errno (-ETIMEDOUT). */
static ssize_t recv_some(int fd, void *p, size_t n) {
        ssize_t k;

        do
                k = recv(fd, p, n, 0);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        return k;
}

static bool field_is(const char *line, size_t n, const char *name, const char **ret_value) {
        size_t k = strlen(name);

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return false;
        *ret_value = line + k + 1;
        while (**ret_value == ' ' || **ret_value == '\t')
                (*ret_value)++;
        return true;
}

/* The status line and the fields that matter; s is NUL-terminated. */
static int parse_head(const char *s, struct head *ret) {
        const char *line = s, *v;
        struct head h = {};
        char *end;

        if (strncmp(s, "HTTP/1.", 7) != 0 || !strchr("01", s[7]) || s[8] != ' ')
                return -EBADMSG;
        h.close = s[7] == '0';
        h.status = strtol(s + 9, &end, 10);
        if (end != s + 12 || h.status < 100 || h.status > 599)
                return -EBADMSG;
        while ((line = strstr(line, "\r\n")) && line[2] != '\r') {
                size_t n;

                line += 2;
                n = strcspn(line, "\r");
                if (field_is(line, n, "Content-Length", &v)) {
                        errno = 0;
                        h.length = strtoull(v, &end, 10);
                        if (errno || end == v || (*end != '\r' && *end != ' '))
                                return -EBADMSG;
                        h.has_length = true;
                } else if (field_is(line, n, "Transfer-Encoding", &v)) {
                        h.chunked = strncasecmp(v, "identity", 8) != 0;
                } else if (field_is(line, n, "Connection", &v)) {
                        h.close = h.close || strncasecmp(v, "close", 5) == 0;
                } else if (field_is(line, n, SECRET_VERSION_HEADER, &v)) {
                        h.version = strtoull(v, NULL, 10);
                }
        }
        *ret = h;
        return 0;
}

/* Reads the body after the header block (whose tail, already read, is in
 * hdr from off to used) into guarded memory. */
static int read_body(int fd, const struct head *h, const struct secbuf *hdr, size_t off, size_t used,
                     struct secbuf **ret) {
        _cleanup_(secbuf_freep) struct secbuf *b = NULL;
        size_t want = h->has_length ? h->length : REPLY_MAX, got = used - off, cap;

        if (h->chunked)
                return -ENOTSUP;
        if (h->status == 204 || h->status == 304 || h->status < 200)
                want = 0;
        if (want > REPLY_MAX)
                return -EFBIG;
        cap = h->has_length || want == 0 ? want : 4096;
        b = secbuf_new(cap);
        if (!b)
                return -ENOMEM;
        got = got < want ? got : want;
        memcpy(b->data, hdr->data + off, got);
        while (got < want) {
                ssize_t k;

                if (got == cap) { /* no length: read to the end, doubling */
                        struct secbuf *n = cap >= REPLY_MAX ? NULL : secbuf_new(cap * 2);

                        if (!n)
                                return cap >= REPLY_MAX ? -EFBIG : -ENOMEM;
                        memcpy(n->data, b->data, got);
                        secbuf_free(b);
                        b = n;
                        cap *= 2;
                }
                k = recv_some(fd, b->data + got, cap - got);
                if (k < 0)
                        return (int) k;
                if (k == 0) {
                        if (h->has_length)
                                return -EPROTO;
                        break;
                }
                got += (size_t) k;
        }
        secbuf_truncate(b, got);
        *ret = TAKE_PTR(b);
        return 0;
}

/* One request and its reply on c->fd.  *ret_answered: some byte of a
 * reply came (then the request is never sent again). */
static int exchange(struct ctl *c, const char *method, const char *path, const void *body, size_t len,
                    const char *content_type, struct reply *ret, bool *ret_answered) {
        _cleanup_(secbuf_freep) struct secbuf *hdr = secbuf_new(HEADER_MAX + 1);
        char req[1024], *end = NULL;
        struct head h;
        size_t used = 0;
        int n, r;

        *ret_answered = false;
        if (!hdr)
                return -ENOMEM;
        n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: secretd\r\nUser-Agent: secretctl/%s\r\n", method,
                     path, SECRETD_VERSION);
        if (strcmp(method, "GET") != 0 || body)
                n += snprintf(req + n, sizeof(req) - (size_t) n, "Content-Length: %zu\r\n", body ? len : 0);
        if (content_type)
                n += snprintf(req + n, sizeof(req) - (size_t) n, "Content-Type: %s\r\n", content_type);
        n += snprintf(req + n, sizeof(req) - (size_t) n, "\r\n");
        if (n >= (int) sizeof(req))
                return -ENAMETOOLONG;
        r = send_all(c->fd, req, (size_t) n);
        if (r == 0 && body && len)
                r = send_all(c->fd, body, len);
        if (r < 0)
                return r;
        while (!end) {
                ssize_t k;

                if (used == HEADER_MAX)
                        return -EBADMSG;
                k = recv_some(c->fd, hdr->data + used, HEADER_MAX - used);
                if (k <= 0)
                        return k < 0 ? (int) k : used ? -EPROTO : -ECONNRESET;
                *ret_answered = true;
                used += (size_t) k;
                hdr->data[used] = '\0';
                end = memmem(hdr->data, used, "\r\n\r\n", 4);
        }
        r = parse_head((const char *) hdr->data, &h);
        if (r < 0)
                return r;
        r = read_body(c->fd, &h, hdr, (size_t) ((uint8_t *) end + 4 - hdr->data), used, &ret->body);
        if (r < 0)
                return r;
        ret->status = h.status;
        ret->version = h.version;
        if (h.close || !h.has_length) {
                close(c->fd);
                c->fd = -1;
        }
        return 0;
}

static int transport_error(const struct ctl *c, int r) {
        switch (r) {
        case -ETIMEDOUT:
                fprintf(stderr, "%s: secretd at %s%s did not answer in %d s\n", ctl_prog(c), c->socket,
                        socket_origin(c), c->timeout_sec ? c->timeout_sec : REPLY_TIMEOUT_SEC);
                return EXIT_UNREACHABLE;
        case -EPIPE:
        case -ECONNRESET:
        case -EPROTO:
                fprintf(stderr, "%s: secretd at %s%s closed the connection: %s\n", ctl_prog(c), c->socket,
                        socket_origin(c), r == -EPROTO ? "reply cut short" : strerror(-r));
                return EXIT_UNREACHABLE;
        case -EFBIG:
                fprintf(stderr, "%s: %s: reply larger than %u bytes\n", ctl_prog(c), c->command, REPLY_MAX);
                return EXIT_ERROR;
        case -EBADMSG:
        case -ENOTSUP:
                fprintf(stderr, "%s: %s: secretd's reply is not HTTP/1.1 as expected%s\n", ctl_prog(c), c->command,
                        r == -ENOTSUP ? " (chunked)" : "");
                return EXIT_ERROR;
        case -ENAMETOOLONG:
                fprintf(stderr, "%s: %s: request path too long\n", ctl_prog(c), c->command);
                return EXIT_USAGE;
        default:
                fprintf(stderr, "%s: %s: request to %s failed: %s\n", ctl_prog(c), c->command, c->socket, strerror(-r));
                return EXIT_ERROR;
        }
}

int ctl_call(struct ctl *c, const char *method, const char *path, const void *body, size_t len,
             const char *content_type, struct reply *ret) {
        for (int attempt = 0;; attempt++) {
                bool reused = c->fd >= 0, answered;
                int r, x;

                if (!reused) {
                        x = connect_daemon(c);
                        if (x != EXIT_OK)
                                return x;
                }
                r = exchange(c, method, path, body, len, content_type, ret, &answered);
                if (r == 0)
                        return EXIT_OK;
                close(c->fd);
                c->fd = -1;
                /* the daemon closed a kept connection while it was idle */
                if (reused && !answered && attempt == 0 && (r == -EPIPE || r == -ECONNRESET))
                        continue;
                return transport_error(c, r);
        }
}

int exit_code_for_status(long status) {
        if (status >= 200 && status < 300)
                return EXIT_OK;
        switch (status) {
        case 401:
        case 403:
                return EXIT_DENIED;
        case 404:
                return EXIT_NOT_FOUND;
        case 409:
                return EXIT_CONFLICT;
        default:
                return EXIT_ERROR;
        }
}

/* Error bodies never hold a value (the daemon's rule), so they may be
 * printed; anything else is summarised by its status. */
int reply_failed(const struct ctl *c, const struct reply *r) {
        _cleanup_json_ json_t *j = NULL;
        const char *msg = NULL;

        if (r->body)
                j = json_loadb((const char *) r->body->data, r->body->len, 0, NULL);
        if (j)
                msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (msg)
                fprintf(stderr, "%s: %s: %s\n", ctl_prog(c), c->command, msg);
        else
                fprintf(stderr, "%s: %s: secretd answered HTTP %ld\n", ctl_prog(c), c->command, r->status);
        return exit_code_for_status(r->status);
}

/* The reply's "warnings": each on stderr, once per run when c->warned
 * keeps count (the agent renews for hours). */
static void print_warnings(struct ctl *c, json_t *j) {
        json_t *w;
        size_t i;

        json_array_foreach(json_object_get(j, "warnings"), i, w) {
                const char *text = json_string_value(w);

                if (!text || (c->warned && json_object_get(c->warned, text)))
                        continue;
                fprintf(stderr, "%s: warning: %s\n", ctl_prog(c), text);
                if (c->warned)
                        json_object_set_new(c->warned, text, json_true());
        }
}

int ctl_json(struct ctl *c, const char *method, const char *path, json_t *body, json_t **ret_json) {
        _cleanup_free_ char *text = NULL;
        struct reply r = {};
        json_t *j;
        int x;

        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text) {
                        fprintf(stderr, "%s: out of memory\n", ctl_prog(c));
                        return EXIT_ERROR;
                }
        }
        x = ctl_call(c, method, path, text, text ? strlen(text) : 0, text ? "application/json" : NULL, &r);
        if (x != EXIT_OK)
                return x;
        if (r.status < 200 || r.status >= 300) {
                x = reply_failed(c, &r);
                reply_done(&r);
                return x;
        }
        j = json_loadb((const char *) r.body->data, r.body->len, 0, NULL);
        reply_done(&r);
        if (!j) {
                fprintf(stderr, "%s: %s: secretd's reply is not JSON\n", ctl_prog(c), c->command);
                return EXIT_ERROR;
        }
        print_warnings(c, j);
        *ret_json = j;
        return EXIT_OK;
}

int ctl_show(struct ctl *c, const char *method, const char *path, int (*print)(json_t *j)) {
        _cleanup_json_ json_t *j = NULL;
        int x = ctl_json(c, method, path, NULL, &j);

        if (x != EXIT_OK)
                return x;
        if (c->json) {
                print_json(j);
                return EXIT_OK;
        }
        return print(j);
}
