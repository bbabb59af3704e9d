/* http.c — libmicrohttpd glue (see http.h).
 *
 * Two MHD daemons, one per socket, each with its own epoll fd that the main
 * loop watches.  Per connection we keep the attested peer; per request the
 * body (a secbuf: values arrive here) and the start time.  URLs are never
 * percent-decoded: no valid name needs an escape, and decoding would let
 * "%00" or "%2F" smuggle a NUL or a slash into a name. */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "api.h"
#include "http.h"
#include "secretd/cleanup.h"
#include "secretd/log.h"

#define HTTP_POOL_SIZE (32 * 1024) /* per connection: headers must fit */

struct http {
        struct server *s;
        struct MHD_Daemon *d[2];
};

struct conn {
        struct server *s;
        struct peer *peer; /* NULL: attestation failed, the peer gets nothing */
};

struct req_ctx {
        struct secbuf *body;
        size_t used;
        bool has_body;
        bool chunked;
        bool too_large;
        uint64_t start_usec;
};

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static size_t http_unescape_none(void *cls, struct MHD_Connection *c, char *s) {
        (void) cls, (void) c;
        return strlen(s);
}

/* A refused connection has no attested peer; what SO_PEERCRED said at
 * connect() still tells the audit who it was. */
static void audit_refused(struct server *s, int fd, int r) {
        static char unattested[] = "unattested";
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        struct peer who = { .pidfd = -1, .identity = unattested };
        char reason[128];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                who.pid = cred.pid;
                who.uid = cred.uid;
                who.gid = cred.gid;
        }
        if (r == -ESRCH)
                snprintf(reason, sizeof(reason), "peer exited before it was attested");
        else if (r == -EPERM)
                snprintf(reason, sizeof(reason), "the peer changed its credentials between connect() and "
                                                 "attestation (setuid exec)");
        else
                snprintf(reason, sizeof(reason), "attestation failed: %s", strerror(-r));
        audit_record(s->audit, &(struct audit_event) {
                .action = "connect", .allowed = false, .peer = &who, .reason = reason,
        });
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
        struct server *s = cls;
        const union MHD_ConnectionInfo *info;
        struct conn *cn;
        int r;

        if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
                cn = *socket_context;
                if (cn) {
                        peer_free(cn->peer);
                        free(cn);
                        s->connections--;
                }
                *socket_context = NULL;
                return;
        }
        cn = calloc(1, sizeof(*cn));
        if (!cn)
                return; /* no context: the handler refuses the connection */
        cn->s = s;
        *socket_context = cn;
        s->connections++;
        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
                return;
        /* Attest now, before a single request byte is read. */
        r = attest_peer(&s->attest, info->connect_fd, &cn->peer);
        if (r < 0) {
                s->metrics.refused_connections++;
                audit_refused(s, info->connect_fd, r);
                /* Nothing will be read from it: the peer sees the connection close. */
                (void) shutdown(info->connect_fd, SHUT_RDWR);
        }
}

static void request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                              enum MHD_RequestTerminationCode toe) {
        struct req_ctx *ctx = *req_cls;

        (void) cls, (void) c, (void) toe;
        if (ctx) {
                secbuf_free(ctx->body);
                free(ctx);
        }
        *req_cls = NULL;
}

static void secbuf_free_cb(void *p) {
        secbuf_free(p);
}

/* Turns a reply into an MHD response; ownership of its body moves along. */
static struct MHD_Response *reply_to_response(struct reply *rep) {
        struct MHD_Response *resp = NULL;
        const char *type = "application/json";
        char *text;

        if (rep->value) {
                resp = MHD_create_response_from_buffer_with_free_callback_cls(rep->value->len, rep->value->data,
                                                                              secbuf_free_cb, rep->value);
                if (resp) {
                        char v[32];

                        rep->value = NULL;
                        snprintf(v, sizeof(v), "%" PRIu64, rep->version);
                        MHD_add_response_header(resp, SECRET_VERSION_HEADER, v);
                }
                type = "application/octet-stream";
        } else if (rep->text) {
                resp = MHD_create_response_from_buffer(strlen(rep->text), rep->text, MHD_RESPMEM_MUST_FREE);
                if (resp)
                        rep->text = NULL;
                type = "text/plain; version=0.0.4";
        } else {
                text = rep->json ? json_dumps(rep->json, JSON_COMPACT) : strdup("{}");
                if (text) {
                        size_t n = strlen(text);
                        char *nl = realloc(text, n + 2);

                        if (nl) {
                                text = nl;
                                memcpy(text + n, "\n", 2);
                                n++;
                        }
                        resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
                        if (!resp)
                                free(text);
                }
        }
        if (!resp)
                return NULL;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (rep->allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
        if (rep->close)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return resp;
}

static enum MHD_Result send_reply(struct server *s, struct MHD_Connection *c, struct req_ctx *ctx,
                                  struct reply *rep) {
        struct MHD_Response *resp = reply_to_response(rep);
        enum MHD_Result ret;

        metrics_request(&s->metrics, rep->route ? rep->route : "other", rep->status,
                        ctx ? mono_usec() - ctx->start_usec : 0);
        if (!resp) {
                reply_done(rep);
                return MHD_NO; /* out of memory: drop the connection */
        }
        ret = MHD_queue_response(c, rep->status, resp);
        MHD_destroy_response(resp);
        reply_done(rep);
        return ret;
}

static enum MHD_Result send_error(struct server *s, struct MHD_Connection *c, struct req_ctx *ctx,
                                  enum api_error code, const char *msg) {
        /* a refused request's unread rest cannot be trusted: close after */
        struct reply rep = { .route = "refused", .close = true };

        api_error(&rep, code, "%s", msg);
        return send_reply(s, c, ctx, &rep);
}

struct query_collect {
        struct request *req;
        bool overflow;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct query_collect *qc = cls;

        (void) kind;
        if (qc->req->n_query == API_QUERY_MAX) {
                qc->overflow = true;
                return MHD_NO;
        }
        qc->req->query_keys[qc->req->n_query] = key;
        qc->req->query_values[qc->req->n_query] = value;
        qc->req->n_query++;
        return MHD_YES;
}

struct framing {
        unsigned content_length;
        unsigned transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct framing *f = cls;

        (void) kind, (void) value;
        if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                f->content_length++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
                f->transfer_encoding++;
        return MHD_YES;
}

/* Where a request says twice how long its body is, we and whatever is in
 * front of us may each believe another one, and the rest of the body would
 * be read as the next request (RFC 9112 section 6.3: reject and close). */
static bool framing_ambiguous(struct MHD_Connection *c) {
        struct framing f = {};

        MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
        return f.content_length > 1 || f.transfer_encoding > 1 || (f.content_length && f.transfer_encoding);
}

/* First call for a request: check the peer and the announced body size. */
static enum MHD_Result request_begin(struct server *s, struct MHD_Connection *c, struct conn *cn,
                                     void **req_cls) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        uint64_t limit = s->config->max_value_size;
        struct req_ctx *ctx;
        int r;

        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return MHD_NO;
        ctx->start_usec = mono_usec();
        *req_cls = ctx;
        if (!cn || !cn->peer)
                return send_error(s, c, ctx, API_ERR_FORBIDDEN, "the caller could not be attested");
        /* The pidfd tells whether the process we attested still lives: a
         * socket handed on by an exited client gets nothing; nor does one
         * whose process has since become another program or uid. */
        r = attest_peer_recheck(cn->peer);
        if (r < 0) {
                const char *why = r == -ESRCH ? "the attested process has exited"
                                : r == -EPERM ? "the attested process changed its credentials or program since it "
                                                "connected"
                                              : "the caller could not be re-checked";

                audit_record(s->audit, &(struct audit_event) {
                        .action = "request", .allowed = false, .peer = cn->peer, .status = 403, .reason = why,
                });
                return send_error(s, c, ctx, API_ERR_FORBIDDEN, why);
        }
        if (framing_ambiguous(c))
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST,
                                  "give the body's length once: one Content-Length or Transfer-Encoding: chunked");
        if (cl) {
                char *end;
                unsigned long long n;

                errno = 0;
                n = strtoull(cl, &end, 10);
                if (errno || *end || end == cl || cl[0] == '-')
                        return send_error(s, c, ctx, API_ERR_BAD_REQUEST, "bad Content-Length");
                if (n > limit)
                        return send_error(s, c, ctx, API_ERR_TOO_LARGE, "request body is over the size limit");
                ctx->body = secbuf_new((size_t) n);
                if (!ctx->body)
                        return MHD_NO;
                ctx->has_body = true;
        } else if (te) {
                /* chunked: grow within the limit as data arrives */
                ctx->chunked = true;
                ctx->has_body = true;
        }
        return MHD_YES;
}

static void request_data(struct server *s, struct req_ctx *ctx, const char *data, size_t n) {
        uint64_t limit = s->config->max_value_size;

        if (ctx->too_large)
                return;
        if (!ctx->body || ctx->used + n > ctx->body->len) {
                struct secbuf *grown;
                size_t want;

                if (!ctx->chunked || ctx->used + n > limit) {
                        ctx->too_large = true;
                        return;
                }
                want = ctx->used + n;
                want = want < 4096 ? 4096 : want * 2;
                if (want > limit)
                        want = limit;
                grown = secbuf_new(want);
                if (!grown) {
                        ctx->too_large = true;
                        return;
                }
                if (ctx->body && ctx->used)
                        memcpy(grown->data, ctx->body->data, ctx->used);
                secbuf_free(ctx->body);
                ctx->body = grown;
        }
        memcpy(ctx->body->data + ctx->used, data, n);
        ctx->used += n;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls) {
        struct server *s = cls;
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct conn *cn = info ? info->socket_context : NULL;
        struct req_ctx *ctx = *req_cls;
        struct query_collect qc;
        struct request req;
        struct reply rep;

        (void) version;
        if (!ctx)
                return request_begin(s, c, cn, req_cls);
        if (*upload_data_size > 0) {
                request_data(s, ctx, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (ctx->too_large)
                return send_error(s, c, ctx, API_ERR_TOO_LARGE, "request body is over the size limit");
        if (ctx->body)
                secbuf_truncate(ctx->body, ctx->used);
        else if (ctx->has_body)
                ctx->body = secbuf_new(0);
        req = (struct request) {
                .method = method,
                .path = url,
                .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                .body = ctx->body,
                .peer = cn->peer,
        };
        qc = (struct query_collect) { .req = &req };
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &qc);
        if (qc.overflow)
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST, "too many query parameters");
        api_handle(s, &req, &rep);
        return send_reply(s, c, ctx, &rep);
}

static struct MHD_Daemon *http_daemon(struct server *s, int fd) {
        const struct config *cfg = s->config;
        unsigned timeout_s = (unsigned) ((cfg->idle_timeout_usec + 999999) / 1000000);

        return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, s,
                                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s,
                                MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned) cfg->max_connections,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_POOL_SIZE,
                                MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_none, NULL,
                                MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
                                MHD_OPTION_END);
}

int http_start(struct server *s, int admin_fd, int workload_fd, struct http **ret) {
        struct http *h;
        int fds[2] = { admin_fd, workload_fd };

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->s = s;
        for (size_t i = 0; i < 2; i++) {
                if (fds[i] < 0)
                        continue;
                h->d[i] = http_daemon(s, fds[i]);
                if (!h->d[i]) {
                        for (size_t j = i; j < 2; j++)
                                safe_close(fds[j]);
                        http_stop(h);
                        return -EIO;
                }
        }
        *ret = h;
        return 0;
}

size_t http_epoll_fds(const struct http *h, int fds[static 2]) {
        size_t n = 0;

        for (size_t i = 0; i < 2; i++) {
                const union MHD_DaemonInfo *info;

                if (!h->d[i])
                        continue;
                info = MHD_get_daemon_info(h->d[i], MHD_DAEMON_INFO_EPOLL_FD);
                if (info)
                        fds[n++] = info->epoll_fd;
        }
        return n;
}

int http_timeout_ms(const struct http *h) {
        int best = -1;

        for (size_t i = 0; i < 2; i++) {
                MHD_UNSIGNED_LONG_LONG t;

                if (h->d[i] && MHD_get_timeout(h->d[i], &t) == MHD_YES) {
                        int ms = t > 60000 ? 60000 : (int) t;
                        if (best < 0 || ms < best)
                                best = ms;
                }
        }
        return best;
}

void http_run(struct http *h) {
        for (size_t i = 0; i < 2; i++)
                if (h->d[i])
                        MHD_run(h->d[i]);
}

struct http *http_stop(struct http *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < 2; i++)
                if (h->d[i])
                        MHD_stop_daemon(h->d[i]); /* closes the listening fd too */
        free(h);
        return NULL;
}
