/* transport.c — HTTP/1.1 to secretd over its Unix socket, with libcurl.
 *
 * One easy handle per run keeps the connection open across requests
 * (`lease --keep` renews on it for hours).  Reply bodies land in guarded
 * memory because `get` brings a secret's value; request bodies are sent
 * straight from the caller's guarded buffer (CURLOPT_POSTFIELDS does not
 * copy). */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secretctl.h"
#include "secretd/protocol.h"

/* Far above any value the daemon accepts: bounds a confused peer. */
#define REPLY_MAX (64u * 1024 * 1024)

struct sink {
        struct secbuf *buf; /* ->len is the capacity */
        size_t used;
        bool overflow;
        uint64_t version;
};

int ctl_open(struct ctl *c) {
        if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
                return -ENOMEM;
        c->curl = curl_easy_init();
        return c->curl ? 0 : -ENOMEM;
}

void ctl_close(struct ctl *c) {
        if (c->curl)
                curl_easy_cleanup(c->curl);
        c->curl = NULL;
        curl_global_cleanup();
}

void reply_done(struct reply *r) {
        r->body = secbuf_free(r->body);
        r->status = 0;
        r->version = 0;
}

/* Grows by doubling into a fresh guarded buffer; the old one is wiped. */
static int sink_reserve(struct sink *s, size_t more) {
        struct secbuf *n;
        size_t cap = s->buf ? s->buf->len : 0, want;

        if (more > REPLY_MAX - s->used)
                return -EFBIG;
        want = s->used + more;
        if (want <= cap)
                return 0;
        cap = cap ? cap : 4096;
        while (cap < want)
                cap *= 2;
        n = secbuf_new(cap);
        if (!n)
                return -ENOMEM;
        if (s->used)
                memcpy(n->data, s->buf->data, s->used);
        secbuf_free(s->buf);
        s->buf = n;
        return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        struct sink *s = userdata;
        size_t n = size * nmemb;

        if (sink_reserve(s, n) < 0) {
                s->overflow = true;
                return 0; /* aborts the transfer */
        }
        memcpy(s->buf->data + s->used, data, n);
        s->used += n;
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct sink *s = userdata;
        size_t n = size * nmemb, k = strlen(SECRET_VERSION_HEADER);

        if (n > k + 1 && strncasecmp(data, SECRET_VERSION_HEADER, k) == 0 && data[k] == ':')
                s->version = strtoull(data + k + 1, NULL, 10);
        return n;
}

static int transport_error(const struct ctl *c, CURLcode code) {
        long os_errno = 0;

        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
                fprintf(stderr, "secretctl: cannot reach secretd at %s: %s\n", c->socket,
                        os_errno ? strerror((int) os_errno) : curl_easy_strerror(code));
                return EXIT_UNREACHABLE;
        }
        if (code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR) {
                fprintf(stderr, "secretctl: secretd at %s closed the connection: %s\n", c->socket,
                        os_errno ? strerror((int) os_errno) : curl_easy_strerror(code));
                return EXIT_UNREACHABLE;
        }
        fprintf(stderr, "secretctl: %s: request to %s failed: %s\n", c->command, c->socket,
                curl_easy_strerror(code));
        return EXIT_ERROR;
}

int ctl_call(struct ctl *c, const char *method, const char *path, const void *body, size_t len,
             const char *content_type, struct reply *ret) {
        struct sink s = {};
        struct curl_slist *headers = NULL;
        char url[512], ctype[128];
        CURL *h = c->curl;
        CURLcode code;

        if (snprintf(url, sizeof(url), "http://secretd%s", path) >= (int) sizeof(url)) {
                fprintf(stderr, "secretctl: %s: request path too long\n", c->command);
                return EXIT_USAGE;
        }
        /* No "Expect: 100-continue" round trip before a body. */
        headers = curl_slist_append(headers, "Expect:");
        if (content_type) {
                snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
                headers = curl_slist_append(headers, ctype);
        }
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "secretctl/" SECRETD_VERSION);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
        if (body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        } else if (strcmp(method, "GET") != 0) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
        }
        code = curl_easy_perform(h);
        curl_slist_free_all(headers);
        if (code != CURLE_OK) {
                secbuf_free(s.buf);
                if (s.overflow) {
                        fprintf(stderr, "secretctl: %s: reply larger than %u bytes\n", c->command, REPLY_MAX);
                        return EXIT_ERROR;
                }
                return transport_error(c, code);
        }
        if (!s.buf)
                s.buf = secbuf_new(0);
        if (!s.buf) {
                fprintf(stderr, "secretctl: out of memory\n");
                return EXIT_ERROR;
        }
        secbuf_truncate(s.buf, s.used);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
        ret->version = s.version;
        ret->body = s.buf;
        return EXIT_OK;
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
                fprintf(stderr, "secretctl: %s: %s\n", c->command, msg);
        else
                fprintf(stderr, "secretctl: %s: secretd answered HTTP %ld\n", c->command, r->status);
        return exit_code_for_status(r->status);
}

int ctl_json(struct ctl *c, const char *method, const char *path, json_t *body, json_t **ret_json) {
        _cleanup_free_ char *text = NULL;
        struct reply r = {};
        json_t *j;
        int x;

        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text) {
                        fprintf(stderr, "secretctl: out of memory\n");
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
                fprintf(stderr, "secretctl: %s: secretd's reply is not JSON\n", c->command);
                return EXIT_ERROR;
        }
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
