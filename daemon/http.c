/* http.c — libmicrohttpd glue (see http.h).
 *
 * Two MHD daemons, one per socket, each with its own epoll fd that the main
 * loop watches.  Per connection we keep the attested peer and where it is
 * in its life (waiting for a request line, receiving a request, being
 * answered); per request the body (a secbuf: values arrive here) and the
 * start time.  URLs are never percent-decoded: no valid name needs an
 * escape, and decoding would let "%00" or "%2F" smuggle a NUL or a slash
 * into a name.
 *
 * What a peer can make us hold is bounded before it is held:
 *  - time and connections (http-conns.c): every connection waiting for
 *    or sending a request has a deadline, and one identity holds at most
 *    limits.max_connections_per_peer of them (admins are not counted);
 *    the rest are closed unread.
 *  - memory: the route and the caller's right to it are judged on the
 *    request line and headers (api_route_admit) before a body byte is
 *    stored; a body grows as it arrives, up to what the route takes, and
 *    all bodies together stay within a budget (one for admins, one for
 *    everyone else, so that no caller can starve an admin's PUT).
 *  - framing: headers are judged against RFC 9112 (http-framing.c), and
 *    Transfer-Encoding is refused (411): every body here has a
 *    Content-Length.
 *  - waiting: a watch request (api-watch.c) is parked, its connection
 *    suspended in MHD and its request in watch.h's table (bounded by
 *    limits.max_watchers and limits.max_watchers_per_peer), until the
 *    secret changes, its timeout passes, or its peer hangs up (seen on
 *    an epoll set of our own: MHD does not poll a suspended socket).  A
 *    parked request holds no thread and no body; it is answered by
 *    handing it to api.c once more. */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "api.h"
#include "http-conns.h"
#include "http-framing.h"
#include "http.h"
#include "secretd/cleanup.h"
#include "secretd/log.h"
#include "secretd/secret-set.h"
#include "watch.h"

#define HTTP_POOL_SIZE (32 * 1024) /* per connection: headers must fit */
#define JSON_BODIES_BUDGET (8 * API_JSON_BODY_MAX) /* all non-admin bodies together */

struct http {
        struct server *s;
        struct MHD_Daemon *d[_HTTP_LISTENER_MAX];
        struct conns conns;
        size_t body_bytes[2]; /* charged: [0] everyone else's bodies, [1] admins' */
        struct watch *watch;  /* parked requests */
        int gone_epfd;        /* their sockets, for the peer hanging up */
};

struct req_ctx {
        struct http *h;
        struct secbuf *body;
        size_t used;
        size_t announced;  /* Content-Length */
        size_t charged;    /* what this body holds of h->body_bytes[admin] */
        bool admin;
        bool begun;        /* the first handler call is done */
        bool has_body;
        bool over_budget;
        bool too_large;    /* over the route's limit: read, dropped, then 413 */
        uint64_t start_usec;
        /* a watch: parked (waiter set) until woken, then answered */
        struct MHD_Connection *c;
        int fd;
        struct watch_waiter *waiter;
        uint64_t wait_deadline_usec; /* 0 before its first park */
        bool woken;
        bool wait_over;    /* woken by time or the stop: answer now */
        bool gone;         /* its peer hung up while it was parked */
};

static size_t http_unescape_none(void *cls, struct MHD_Connection *c, char *s) {
        (void) cls, (void) c;
        return strlen(s);
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
        struct http *h = cls;
        const union MHD_ConnectionInfo *fd, *d;

        if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
                if (*socket_context)
                        conn_close(*socket_context);
                *socket_context = NULL;
                return;
        }
        fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        d = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
        /* no context: the handler refuses the connection */
        *socket_context = fd ? conn_open(&h->conns, fd->connect_fd, d && d->daemon == h->d[HTTP_HOOK]) : NULL;
}

static struct conn *conn_of(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

/* MHD has the request line: from here the rest of the request has
 * limits.request_timeout.  What this returns becomes the request's
 * context (NULL: the handler makes one). */
static void *request_line(void *cls, const char *uri, struct MHD_Connection *c) {
        struct http *h = cls;
        struct conn *cn = conn_of(c);
        struct req_ctx *ctx;

        (void) uri;
        if (cn && cn->phase == PHASE_WAITING)
                conn_enter(cn, PHASE_RECEIVING);
        ctx = calloc(1, sizeof(*ctx));
        if (ctx)
                *ctx = (struct req_ctx) { .h = h, .start_usec = mono_usec() };
        return ctx;
}

static void body_uncharge(struct req_ctx *ctx) {
        ctx->h->body_bytes[ctx->admin] -= ctx->charged;
        ctx->charged = 0;
}

/* Takes a parked request out of the table and off the hang-up set. */
static void request_unpark(struct req_ctx *ctx) {
        if (ctx->waiter) {
                watch_remove(ctx->h->watch, ctx->waiter);
                ctx->waiter = NULL;
        }
        if (ctx->c)
                (void) epoll_ctl(ctx->h->gone_epfd, EPOLL_CTL_DEL, ctx->fd, NULL);
        ctx->c = NULL;
}

/* watch.h's wake function: the request is answered on MHD's next run. */
static void request_wake(void *cookie, enum watch_end why) {
        struct req_ctx *ctx = cookie;
        struct MHD_Connection *c = ctx->c;

        ctx->waiter = NULL; /* already out of the table */
        request_unpark(ctx);
        ctx->woken = true;
        ctx->wait_over = why != WATCH_CHANGED;
        MHD_resume_connection(c);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                              enum MHD_RequestTerminationCode toe) {
        struct req_ctx *ctx = *req_cls;
        struct conn *cn = conn_of(c);

        (void) cls, (void) toe;
        if (ctx) {
                request_unpark(ctx);
                body_uncharge(ctx);
                secbuf_free(ctx->body);
                free(ctx);
        }
        *req_cls = NULL;
        /* answered: the next request line has limits.idle_timeout */
        if (cn && !cn->shut)
                conn_enter(cn, PHASE_WAITING);
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
                type = rep->value_is_set ? SET_CONTENT_TYPE : "application/octet-stream";
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
        struct conn *cn = conn_of(c);
        enum MHD_Result ret;

        /* the request is in (or refused): no deadline while it is answered */
        if (cn && !cn->shut)
                conn_enter(cn, PHASE_ANSWERING);
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

static size_t admin_bodies_budget(uint64_t max_value_size) {
        uint64_t v = 4 * max_value_size;

        return v < 1024 * 1024 ? 1024 * 1024 : (size_t) v;
}

/* How far past a route's limit a body is still read (and dropped) before
 * its 413; see request_admit(). */
#define TOO_LARGE_DRAIN_MAX (1024 * 1024)

static size_t body_budget(const struct http *h, bool admin) {
        return admin ? admin_bodies_budget(h->s->config->max_value_size) : JSON_BODIES_BUDGET;
}

/* What a body buffer of cap bytes costs: sodium_malloc() rounds to pages
 * and adds one for its canary (the guard pages are never resident). */
static size_t body_cost(size_t cap) {
        return (cap + 4095) / 4096 * 4096 + 4096;
}

uint64_t http_locked_max(const struct config *c) {
        /* a value reply stays in its secbuf until MHD has sent it all, and
         * an admin may read on either socket: two listeners, each with up
         * to max_connections connections */
        uint64_t replies = 2 * c->max_connections * (uint64_t) body_cost(c->max_value_size);

        return replies + admin_bodies_budget(c->max_value_size) + JSON_BODIES_BUDGET;
}

/* Judges an announced body (Content-Length > 0) before a byte of it is
 * stored: the route must exist, this peer may call it, and it takes a
 * body this large; and there is room in the budget for it to begin. */
static enum MHD_Result request_admit(struct server *s, struct MHD_Connection *c, struct req_ctx *ctx,
                                     const char *url, const char *method, const struct conn *cn) {
        const struct peer *peer = cn->peer;
        struct reply rep = {};
        size_t max_body;

        if (!api_route_admit(s, &(struct request) { .method = method, .path = url, .peer = peer, .hook_socket = cn->hook },
                             &rep, &max_body)) {
                rep.close = true; /* the body is never read */
                return send_reply(s, c, ctx, &rep);
        }
        if (max_body == 0)
                return send_error(s, c, ctx, API_ERR_TOO_LARGE, "this endpoint takes no request body");
        if (ctx->announced > max_body) {
                /* A reply queued now closes the connection with the unread
                 * body in our receive buffer, and close() then sends a reset
                 * that can overtake the 413 at a client still sending: a body
                 * a little over the limit is read and dropped first, so the
                 * client reads the answer.  One far over it is cut off, and
                 * one not sent yet (Expect: 100-continue) is refused before. */
                if (ctx->announced - max_body > TOO_LARGE_DRAIN_MAX ||
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT))
                        return send_error(s, c, ctx, API_ERR_TOO_LARGE, "request body is over the size limit");
                ctx->too_large = true;
                return MHD_YES;
        }
        ctx->admin = attest_peer_admin(&s->attest, peer);
        if (ctx->h->body_bytes[ctx->admin] + body_cost(1) > body_budget(ctx->h, ctx->admin))
                return send_error(s, c, ctx, API_ERR_UNAVAILABLE, "too many request bodies in flight; try again");
        return MHD_YES;
}

/* First call for a request: check the peer, the framing and the route
 * before a byte of the body is read. */
static enum MHD_Result request_begin(struct server *s, struct MHD_Connection *c, struct conn *cn,
                                     struct req_ctx *ctx, const char *url, const char *method,
                                     const char *version) {
        struct http_framing w;
        const char *why;
        int r;

        ctx->begun = true;
        if (!cn || !cn->peer)
                return send_error(s, c, ctx, API_ERR_FORBIDDEN, "the caller could not be attested");
        /* The pidfd tells whether the process we attested still lives: a
         * socket handed on by an exited client gets nothing; nor does one
         * whose process has since become another program or uid. */
        r = attest_peer_recheck(cn->peer);
        if (r < 0) {
                why = r == -ESRCH ? "the attested process has exited"
                    : r == -EPERM ? "the attested process changed its credentials or program since it connected"
                                  : "the caller could not be re-checked";
                audit_record(s->audit, &(struct audit_event) {
                        .action = "request", .allowed = false, .peer = cn->peer, .status = 403, .reason = why,
                });
                return send_error(s, c, ctx, API_ERR_FORBIDDEN, why);
        }
        why = http_framing_check(c, url, method, version, &w);
        if (why)
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST, why);
        /* Chunked framing (chunk sizes, extensions, trailers, its bare-LF
         * lines) is refused as a whole: every body here has a length
         * known up front, and RFC 9112 section 6.3 lets a server ask for it. */
        if (w.content_length > 1 || (w.content_length && w.transfer_encoding))
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST, "give the body's length once, in one "
                                  "Content-Length");
        if (w.transfer_encoding > 0) {
                struct reply rep = { .route = "refused", .close = true };

                api_error(&rep, API_ERR_BAD_REQUEST, "send the body with a Content-Length; Transfer-Encoding is "
                          "not accepted");
                rep.status = MHD_HTTP_LENGTH_REQUIRED;
                return send_reply(s, c, ctx, &rep);
        }
        if (http_content_length(c, &ctx->announced, &ctx->has_body) < 0)
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST, "bad Content-Length");
        /* A reply queued now closes the connection (MHD 0.9.75 reads
         * nothing after an early reply): without a body to keep out,
         * api_handle judges the request as it always has. */
        if (ctx->announced == 0)
                return MHD_YES;
        return request_admit(s, c, ctx, url, method, cn);
}

/* Stores n more body bytes, growing the buffer geometrically up to the
 * announced length, within the body budget; past it the rest is dropped
 * and the request answered 503. */
static void request_data(struct req_ctx *ctx, const char *data, size_t n) {
        struct http *h = ctx->h;

        if (ctx->too_large)
                return;
        /* MHD frames the body by its Content-Length: more cannot come, and
         * would be dropped like a body over the budget */
        if (ctx->over_budget || n > ctx->announced - ctx->used) {
                ctx->over_budget = true;
                return;
        }
        if (!ctx->body || ctx->used + n > ctx->body->len) {
                size_t want = ctx->body ? ctx->body->len * 2 : 4096 - 64, cost;
                struct secbuf *grown;

                if (want < ctx->used + n)
                        want = ctx->used + n;
                if (want > ctx->announced)
                        want = ctx->announced;
                cost = body_cost(want);
                if (h->body_bytes[ctx->admin] - ctx->charged + cost > body_budget(h, ctx->admin) ||
                    !(grown = secbuf_new(want))) {
                        ctx->over_budget = true;
                        body_uncharge(ctx);
                        ctx->body = secbuf_free(ctx->body);
                        return;
                }
                if (ctx->used)
                        memcpy(grown->data, ctx->body->data, ctx->used);
                secbuf_free(ctx->body);
                ctx->body = grown;
                h->body_bytes[ctx->admin] += cost - ctx->charged;
                ctx->charged = cost;
        }
        memcpy(ctx->body->data + ctx->used, data, n);
        ctx->used += n;
}

/* Parks a watch request (rep->wait): its connection suspended, until
 * request_wake().  Refused with 429 past the watcher limits. */
static enum MHD_Result request_park(struct server *s, struct MHD_Connection *c, struct conn *cn,
                                    struct req_ctx *ctx, struct reply *rep) {
        struct http *h = ctx->h;
        const struct watch_limits lim = { s->config->max_watchers, s->config->max_watchers_per_peer };
        bool admin = attest_peer_admin(&s->attest, cn->peer);
        struct epoll_event ev = { .events = EPOLLRDHUP, .data.ptr = ctx };
        int r;

        /* a request woken and parked again keeps its first deadline */
        if (!ctx->wait_deadline_usec)
                ctx->wait_deadline_usec = mono_usec() + rep->wait_usec;
        r = watch_add(h->watch, rep->wait_secret, admin ? NULL : cn->peer->identity, &lim, ctx->wait_deadline_usec,
                      ctx, &ctx->waiter);
        if (r == -EBUSY || r == -EMFILE) {
                char why[128];

                snprintf(why, sizeof(why), "too many watchers (limits.%s is %" PRIu64 "); try again later",
                         r == -EBUSY ? "max_watchers" : "max_watchers_per_peer",
                         r == -EBUSY ? lim.total : lim.per_peer);
                audit_record(s->audit, &(struct audit_event) {
                        .action = "watch", .allowed = false, .peer = cn->peer, .secret = rep->wait_secret,
                        .status = 429, .reason = why,
                });
                reply_done(rep);
                return send_error(s, c, ctx, API_ERR_TOO_MANY_REQUESTS, why);
        }
        reply_done(rep);
        if (r < 0)
                return send_error(s, c, ctx, API_ERR_UNAVAILABLE, "cannot wait now; try again");
        if (epoll_ctl(h->gone_epfd, EPOLL_CTL_ADD, cn->fd, &ev) < 0) {
                request_unpark(ctx);
                return send_error(s, c, ctx, API_ERR_UNAVAILABLE, "cannot wait now; try again");
        }
        ctx->c = c;
        ctx->fd = cn->fd;
        /* off the request deadline: the watch has its own */
        if (!cn->shut)
                conn_enter(cn, PHASE_ANSWERING);
        MHD_suspend_connection(c);
        return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls) {
        struct http *h = cls;
        struct server *s = h->s;
        struct conn *cn = conn_of(c);
        struct req_ctx *ctx = *req_cls;
        struct query_collect qc;
        struct request req;
        struct reply rep;

        if (!ctx) {
                ctx = calloc(1, sizeof(*ctx));
                if (!ctx)
                        return MHD_NO;
                *ctx = (struct req_ctx) { .h = h, .start_usec = mono_usec() };
                *req_cls = ctx;
        }
        if (!ctx->begun)
                return request_begin(s, c, cn, ctx, url, method, version);
        if (ctx->gone)
                return MHD_NO; /* nobody to answer: MHD closes the connection */
        if (*upload_data_size > 0) {
                request_data(ctx, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (ctx->too_large)
                return send_error(s, c, ctx, API_ERR_TOO_LARGE, "request body is over the size limit");
        if (ctx->over_budget)
                return send_error(s, c, ctx, API_ERR_UNAVAILABLE, "too many request bodies in flight; try again");
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
                .hook_socket = cn->hook,
                .wait_over = ctx->wait_over,
        };
        ctx->woken = false;
        qc = (struct query_collect) { .req = &req };
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &qc);
        if (qc.overflow)
                return send_error(s, c, ctx, API_ERR_BAD_REQUEST, "too many query parameters");
        api_handle(s, &req, &rep);
        if (rep.wait)
                return request_park(s, c, cn, ctx, &rep);
        return send_reply(s, c, ctx, &rep);
}

static struct MHD_Daemon *http_daemon(struct http *h, int fd) {
        const struct config *cfg = h->s->config;
        unsigned timeout_s = (unsigned) ((cfg->idle_timeout_usec + 999999) / 1000000);

        return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handle, h,
                                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                MHD_OPTION_NOTIFY_CONNECTION, conn_notify, h,
                                MHD_OPTION_NOTIFY_COMPLETED, request_completed, h,
                                MHD_OPTION_URI_LOG_CALLBACK, request_line, h,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned) cfg->max_connections,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_POOL_SIZE,
                                MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_none, NULL,
                                MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
                                MHD_OPTION_END);
}

int http_start(struct server *s, const int fds[static _HTTP_LISTENER_MAX], struct http **ret) {
        struct http *h;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->s = s;
        conns_init(&h->conns, s);
        h->gone_epfd = epoll_create1(EPOLL_CLOEXEC);
        if (h->gone_epfd < 0 || watch_new(request_wake, &h->watch) < 0) {
                for (size_t j = 0; j < _HTTP_LISTENER_MAX; j++)
                        safe_close(fds[j]);
                http_stop(h);
                return -ENOMEM;
        }
        s->watch = h->watch;
        for (size_t i = 0; i < _HTTP_LISTENER_MAX; i++) {
                if (fds[i] < 0)
                        continue;
                h->d[i] = http_daemon(h, fds[i]);
                if (!h->d[i]) {
                        for (size_t j = i; j < _HTTP_LISTENER_MAX; j++)
                                safe_close(fds[j]);
                        http_stop(h);
                        return -EIO;
                }
        }
        *ret = h;
        return 0;
}

size_t http_epoll_fds(const struct http *h, int fds[static HTTP_EPOLL_FDS_MAX]) {
        size_t n = 0;

        fds[n++] = h->gone_epfd;
        for (size_t i = 0; i < _HTTP_LISTENER_MAX; i++) {
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
        int best = conns_next_ms(&h->conns), audit_ms = audit_next_flush_ms(h->s->audit);

        uint64_t watch_usec = watch_next_usec(h->watch, mono_usec());

        if (audit_ms >= 0 && (best < 0 || audit_ms < best))
                best = audit_ms;
        if (watch_usec != UINT64_MAX) {
                int ms = watch_usec > 60000000 ? 60000 : (int) ((watch_usec + 999) / 1000);

                if (best < 0 || ms < best)
                        best = ms;
        }
        for (size_t i = 0; i < _HTTP_LISTENER_MAX; i++) {
                MHD_UNSIGNED_LONG_LONG t;

                if (h->d[i] && MHD_get_timeout(h->d[i], &t) == MHD_YES) {
                        int ms = t > 60000 ? 60000 : (int) t;
                        if (best < 0 || ms < best)
                                best = ms;
                }
        }
        return best;
}

/* Peers that hung up on a parked request: woken to be closed unanswered,
 * now and not at the watch's timeout. */
static void gone_sweep(struct http *h) {
        struct epoll_event ev[64];
        int n;

        while ((n = epoll_wait(h->gone_epfd, ev, (int) ELEMENTSOF(ev), 0)) > 0)
                for (int i = 0; i < n; i++) {
                        struct req_ctx *ctx = ev[i].data.ptr;

                        watch_remove(h->watch, ctx->waiter);
                        ctx->gone = true;
                        request_wake(ctx, WATCH_TIMED_OUT);
                }
}

void http_run(struct http *h) {
        gone_sweep(h);
        watch_expire(h->watch, mono_usec());
        for (size_t i = 0; i < _HTTP_LISTENER_MAX; i++)
                if (h->d[i])
                        MHD_run(h->d[i]);
        /* a connection shut down here is closed by MHD's next run: its
         * socket is readable (EOF) from now on */
        conns_sweep(&h->conns);
        conns_trim(&h->conns);
        audit_flush(h->s->audit, 0);
}

struct http *http_stop(struct http *h) {
        if (!h)
                return NULL;
        /* every parked request resumed first: MHD refuses to stop with a
         * connection still suspended */
        if (h->watch)
                (void) watch_stop(h->watch);
        for (size_t i = 0; i < _HTTP_LISTENER_MAX; i++)
                if (h->d[i])
                        MHD_stop_daemon(h->d[i]); /* closes the listening fd too */
        h->s->watch = NULL;
        h->watch = watch_free(h->watch);
        safe_close(h->gone_epfd);
        conns_done(&h->conns);
        free(h);
        return NULL;
}
