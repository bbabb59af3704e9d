/* etcd-watch.c — a watch of the store's prefix in etcd (see etcd-watch.h).
 *
 * etcd's JSON gateway streams a watch as one JSON object per line on a
 * POST /v3/watch that never ends.  That wait is the one thing here that
 * must not sit in the event loop, so it runs in a thread of its own with
 * its own libcurl handle, and passes each event to the loop as one
 * fixed-size record through a pipe (a write of at most PIPE_BUF bytes is
 * whole).  The thread sees keys, revisions and sealed blobs (which it
 * drops), never plaintext, and shares no memory with the loop but the two
 * flags below.
 *
 * Resuming: after each event the next revision to ask for is known; a
 * stream that breaks is created again from it, on the next endpoint after
 * a back-off (100 ms, doubling to 2 s).  When etcd has compacted past that
 * revision it cancels the watch with compact_revision: the watch starts
 * again from now and a RESYNC tells the loop to compare everything.  The
 * first watch ends in a RESYNC too, since changes made before it existed
 * were not seen. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd-watch.h"
#include "secretd/cleanup.h"

#define WATCH_LINE_MAX (16u << 20) /* one message: a few blobs in base64 */
#define WATCH_CONNECT_MS 500L
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct etcd_watch {
        pthread_t thread;
        bool started;
        int pipe_r, pipe_w;
        atomic_bool stop, connected;
        char **endpoints;
        size_t n_endpoints;
        char *prefix, *ca, *cert, *key;
        /* the thread's alone */
        uint64_t next_rev;  /* 0: from now */
        bool resync_owed;
        bool compacted;       /* this stream was canceled: end it */
        bool after_compaction; /* the resync owed is for a compaction */
        char *line;
        size_t line_len;
};

/* Hands ev to the loop; waits while the pipe is full, unless stopping. */
static void emit(struct etcd_watch *w, const struct etcd_event *ev) {
        while (!atomic_load(&w->stop)) {
                struct pollfd p = { .fd = w->pipe_w, .events = POLLOUT };

                if (write(w->pipe_w, ev, sizeof(*ev)) == (ssize_t) sizeof(*ev))
                        return;
                if (errno != EAGAIN && errno != EINTR)
                        return;
                (void) poll(&p, 1, 100);
        }
}

static void emit_resync(struct etcd_watch *w, const char *why) {
        struct etcd_event ev = { .type = ETCD_EVENT_RESYNC };

        snprintf(ev.why, sizeof(ev.why), "%s", why);
        emit(w, &ev);
}

static uint64_t num(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v))
                return (uint64_t) json_integer_value(v);
        return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10) : 0;
}

/* One event of a message: a key under the prefix, a valid name. */
static void on_event(struct etcd_watch *w, json_t *e) {
        json_t *kv = json_object_get(e, "kv");
        const char *k64 = json_string_value(json_object_get(kv, "key"));
        const char *type = json_string_value(json_object_get(e, "type"));
        struct etcd_event ev = { .type = type && strcmp(type, "DELETE") == 0 ? ETCD_EVENT_DELETE : ETCD_EVENT_PUT };
        char key[SECRET_NAME_MAX + 256];
        size_t np = strlen(w->prefix), len;

        ev.rev = num(kv, "mod_revision");
        if (ev.rev >= w->next_rev)
                w->next_rev = ev.rev + 1;
        if (!k64 || sodium_base642bin((unsigned char *) key, sizeof(key) - 1, k64, strlen(k64), NULL, &len, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) < 0)
                return;
        key[len] = '\0';
        if (len <= np || memcmp(key, w->prefix, np) != 0 || strlen(key) != len || len - np > SECRET_NAME_MAX)
                return;
        memcpy(ev.name, key + np, len - np + 1);
        emit(w, &ev);
}

/* One message of the stream. */
static void on_message(struct etcd_watch *w, const char *text) {
        _cleanup_(json_decrefp) json_t *j = json_loads(text, 0, NULL);
        json_t *res = json_object_get(j, "result"), *events, *e;
        size_t i;

        if (!res)
                return;
        if (json_is_true(json_object_get(res, "created"))) {
                atomic_store(&w->connected, true);
                emit(w, &(struct etcd_event) { .type = ETCD_EVENT_LIVE });
                if (w->next_rev == 0)
                        w->next_rev = num(json_object_get(res, "header"), "revision") + 1;
                if (w->resync_owed) {
                        w->resync_owed = false;
                        emit_resync(w, w->after_compaction ? "etcd compacted past the last revision seen"
                                                           : "the watch started");
                        w->after_compaction = false;
                }
        }
        if (json_is_true(json_object_get(res, "canceled")) && num(res, "compact_revision") > 0) {
                w->compacted = w->resync_owed = w->after_compaction = true;
                w->next_rev = 0;
                return;
        }
        events = json_object_get(res, "events");
        json_array_foreach(events, i, e)
                on_event(w, e);
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        struct etcd_watch *w = userdata;
        size_t k = size * n;
        char *nl, *buf;

        if (w->line_len + k > WATCH_LINE_MAX || w->compacted)
                return 0; /* ends the stream: resumed, or restarted */
        buf = realloc(w->line, w->line_len + k + 1);
        if (!buf)
                return 0;
        w->line = buf;
        memcpy(w->line + w->line_len, p, k);
        w->line_len += k;
        w->line[w->line_len] = '\0';
        while ((nl = memchr(w->line, '\n', w->line_len))) {
                size_t used = (size_t) (nl - w->line) + 1;

                *nl = '\0';
                on_message(w, w->line);
                memmove(w->line, w->line + used, w->line_len - used + 1);
                w->line_len -= used;
        }
        return k;
}

/* libcurl asks about once a second, idle or not: a way out of a wait,
 * when stopping or when etcd canceled the watch (compacted) and left the
 * stream open. */
static int on_progress(void *userdata, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
        struct etcd_watch *w = userdata;

        (void) a, (void) b, (void) c, (void) d;
        return atomic_load(&w->stop) || w->compacted ? 1 : 0;
}

static char *b64(const char *s, size_t n) {
        size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *out = malloc(len);

        if (out)
                sodium_bin2base64(out, len, (const unsigned char *) s, n, sodium_base64_VARIANT_ORIGINAL);
        return out;
}

/* The create request: the prefix's range, from next_rev when known. */
static char *create_request(struct etcd_watch *w) {
        size_t n = strlen(w->prefix);
        _cleanup_free_ char *end = strdup(w->prefix), *k = NULL, *e = NULL;
        _cleanup_(json_decrefp) json_t *req = NULL;
        char rev[24];

        if (!end)
                return NULL;
        end[n - 1]++; /* the prefix ends in '/' */
        k = b64(w->prefix, n);
        e = b64(end, n);
        snprintf(rev, sizeof(rev), "%llu", (unsigned long long) w->next_rev);
        req = k && e ? json_pack("{s:{s:s,s:s,s:s}}", "create_request", "key", k, "range_end", e, "start_revision",
                                 rev)
                     : NULL;
        return req ? json_dumps(req, JSON_COMPACT) : NULL;
}

/* Three keepalive probes a second apart after 2 s of silence: a member
 * that vanished without a word is given up in about 5 s, the longest the
 * loop goes on believing its memory of the store current. */
static int on_socket(void *userdata, curl_socket_t fd, curlsocktype purpose) {
        int cnt = 3;

        (void) userdata, (void) purpose;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        return CURL_SOCKOPT_OK;
}

static void setup(CURL *c, struct etcd_watch *w, struct curl_slist *headers) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, WATCH_CONNECT_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
        /* a member that vanishes without a FIN: noticed by TCP keepalive */
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L);
        curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_socket);
        if (w->ca)
                curl_easy_setopt(c, CURLOPT_CAINFO, w->ca);
        if (w->cert)
                curl_easy_setopt(c, CURLOPT_SSLCERT, w->cert);
        if (w->key)
                curl_easy_setopt(c, CURLOPT_SSLKEY, w->key);
}

static void nap(struct etcd_watch *w, unsigned ms) {
        for (unsigned t = 0; t < ms && !atomic_load(&w->stop); t += 50)
                usleep(50 * 1000);
}

static void *watch_thread(void *arg) {
        struct etcd_watch *w = arg;
        struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
        CURL *c = curl_easy_init();
        unsigned backoff = BACKOFF_MIN_MS;
        char url[1024];

        if (!c || !headers)
                goto out;
        setup(c, w, headers);
        for (size_t ep = 0; !atomic_load(&w->stop); ep = (ep + 1) % w->n_endpoints) {
                _cleanup_free_ char *body = create_request(w);

                if (!body)
                        break;
                snprintf(url, sizeof(url), "%s/v3/watch", w->endpoints[ep]);
                curl_easy_setopt(c, CURLOPT_URL, url);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                w->line_len = 0;
                w->compacted = false;
                (void) curl_easy_perform(c);
                /* a stream that was up resumes at once; one that never came up waits */
                if (atomic_exchange(&w->connected, false)) {
                        emit(w, &(struct etcd_event) { .type = ETCD_EVENT_LOST });
                        backoff = BACKOFF_MIN_MS;
                } else
                        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                nap(w, backoff);
        }
out:
        if (c)
                curl_easy_cleanup(c);
        curl_slist_free_all(headers);
        return NULL;
}

static void watch_free(struct etcd_watch *w) {
        for (size_t i = 0; i < w->n_endpoints; i++)
                free(w->endpoints[i]);
        free(w->endpoints);
        free(w->prefix);
        free(w->ca);
        free(w->cert);
        free(w->key);
        free(w->line);
        safe_close(w->pipe_r);
        safe_close(w->pipe_w);
        free(w);
}

static char *dup_opt(const char *s, bool *ok) {
        char *d = s ? strdup(s) : NULL;

        if (s && !d)
                *ok = false;
        return d;
}

int etcd_watch_start(const struct etcd_options *o, struct etcd_watch **ret) {
        struct etcd_watch *w = calloc(1, sizeof(*w));
        int fds[2];
        sigset_t all, old;
        bool ok = true;
        int r;

        if (!w)
                return -ENOMEM;
        w->pipe_r = w->pipe_w = -1;
        w->resync_owed = true;
        w->prefix = dup_opt(o->prefix, &ok);
        w->ca = dup_opt(o->ca, &ok);
        w->cert = dup_opt(o->cert, &ok);
        w->key = dup_opt(o->key, &ok);
        w->endpoints = calloc(o->n_endpoints, sizeof(char *));
        for (; ok && w->endpoints && w->n_endpoints < o->n_endpoints; w->n_endpoints++)
                w->endpoints[w->n_endpoints] = dup_opt(o->endpoints[w->n_endpoints], &ok);
        if (!ok || !w->endpoints || !w->prefix || o->n_endpoints == 0) {
                watch_free(w);
                return -ENOMEM;
        }
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                watch_free(w);
                return r;
        }
        w->pipe_r = fds[0];
        w->pipe_w = fds[1];
        /* the loop's signalfd takes every signal: the thread none */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&w->thread, NULL, watch_thread, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                watch_free(w);
                return r;
        }
        w->started = true;
        *ret = w;
        return 0;
}

int etcd_watch_fd(const struct etcd_watch *w) {
        return w->pipe_r;
}

int etcd_watch_next(struct etcd_watch *w, struct etcd_event *ret) {
        return read(w->pipe_r, ret, sizeof(*ret)) == (ssize_t) sizeof(*ret) ? 1 : 0;
}

void etcd_watch_stop(struct etcd_watch *w) {
        if (!w)
                return;
        atomic_store(&w->stop, true);
        if (w->started)
                pthread_join(w->thread, NULL);
        watch_free(w);
}
