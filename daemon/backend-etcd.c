/* backend-etcd.c — sealed blobs in etcd, shared by every host of a fleet
 * (see backend.h; etcd_backend_open() there).
 *
 * Over etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn,
 * /v3/kv/deleterange; keys and values base64, 64-bit numbers as strings)
 * with libcurl: no gRPC library.  A blob is the value of "<prefix><name>",
 * exactly the bytes the directory backend keeps, so etcd never holds a
 * plaintext byte.  The revision is the key's mod_revision, and a put is a
 * transaction that compares it: two hosts that read the same version can
 * never both write the next one.
 *
 * Endpoints are tried in order from the one that answered last; a
 * connection that fails or an etcd that answers with an error (no leader
 * during an election) moves on to the next.  When none answers the backend
 * is cut off: writes fail with -EHOSTUNREACH, and a get is answered from
 * the blob this host last saw of that key (sealed, as etcd holds it), so
 * leases of secrets it has seen are still served and renewed.
 *
 * The same memory serves gets while the watch of the prefix is live
 * (etcd-watch.c tells the loop, which tells us through backend_watching()
 * and backend_heard()): an entry read or written while it was, and of
 * which no newer revision has been heard, is current up to the few
 * milliseconds an event takes to arrive, so a lease needs no round trip.
 *
 * The calls are synchronous and bounded (ETCD_CONNECT_MS, ETCD_CALL_MS per
 * endpoint).  Never logs; reports through return values. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "secretd/cleanup.h"

/* What a blob in etcd may be: more than etcd takes in one request by
 * default (--max-request-bytes, 1.5 MiB), so that anything it accepts
 * fits, and no more, so that a hostile blob costs little. */
#define ETCD_BLOB_MAX (7u << 18) /* 1.75 MiB */
#define ETCD_CONNECT_MS 500L
#define ETCD_CALL_MS 2000L
/* a listing of every key of the prefix, or one blob in base64 */
#define ETCD_REPLY_MAX(max_blob) ((max_blob) / 3 * 4 + (16u << 20))

struct cached {
        char *key;
        uint8_t *blob;
        size_t len;
        uint64_t rev;
        bool fresh; /* read or written while the watch was live, and no newer revision heard of since */
};

struct backend_etcd {
        struct backend base;
        CURL *curl;
        char **endpoints;
        size_t n_endpoints, current;
        char *prefix;
        size_t max_blob;
        struct cached *cache; /* what this host last saw of each key, sorted by key */
        size_t n_cache, cap_cache;
        bool watched; /* the watch of the prefix is live: fresh entries are current */
        bool cut_off;
        int64_t cut_off_usec; /* CLOCK_REALTIME, since when */
};

struct reply_buf {
        char *data;
        size_t len, max;
};

static struct backend_etcd *to_etcd(struct backend *b) {
        return (struct backend_etcd *) b;
}

static int64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t reply_write(char *p, size_t size, size_t n, void *userdata) {
        struct reply_buf *rb = userdata;
        size_t k = size * n;
        char *d;

        if (rb->len + k > rb->max)
                return 0; /* fails the transfer: larger than anything we store */
        d = realloc(rb->data, rb->len + k + 1);
        if (!d)
                return 0;
        memcpy(d + rb->len, p, k);
        rb->data = d;
        rb->len += k;
        rb->data[rb->len] = '\0';
        return k;
}

/* One POST of body to endpoint's api; the reply's JSON in *ret.  -EIO for
 * an answer that is no JSON object or an etcd error; -EHOSTUNREACH when
 * the endpoint cannot be reached. */
static int call_one(struct backend_etcd *e, const char *endpoint, const char *api, const char *body, json_t **ret) {
        struct reply_buf rb = { .max = ETCD_REPLY_MAX(e->max_blob) };
        char url[1024];
        long code = 0;
        CURLcode cr;
        json_t *j;

        snprintf(url, sizeof(url), "%s%s", endpoint, api);
        curl_easy_setopt(e->curl, CURLOPT_URL, url);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, reply_write);
        curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &rb);
        cr = curl_easy_perform(e->curl);
        if (cr == CURLE_OK)
                curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &code);
        j = cr == CURLE_OK && code == 200 && rb.data ? json_loads(rb.data, 0, NULL) : NULL;
        free(rb.data);
        if (cr != CURLE_OK && cr != CURLE_WRITE_ERROR)
                return -EHOSTUNREACH;
        if (!json_is_object(j) || json_object_get(j, "error")) {
                json_decref(j);
                return code == 200 ? -EIO : -EHOSTUNREACH; /* 503 during an election: the next one */
        }
        *ret = j;
        return 0;
}

/* POSTs req to the endpoints in turn, from the one that answered last. */
static int call(struct backend_etcd *e, const char *api, json_t *req, json_t **ret) {
        _cleanup_free_ char *body = json_dumps(req, JSON_COMPACT);
        int r = -EHOSTUNREACH;

        json_decref(req);
        if (!body)
                return -ENOMEM;
        for (size_t k = 0; k < e->n_endpoints; k++) {
                size_t i = (e->current + k) % e->n_endpoints;

                r = call_one(e, e->endpoints[i], api, body, ret);
                if (r != -EHOSTUNREACH) {
                        e->current = i;
                        break;
                }
        }
        if (r == -EHOSTUNREACH && !e->cut_off) {
                e->cut_off = true;
                e->cut_off_usec = realtime_usec();
        } else if (r != -EHOSTUNREACH)
                e->cut_off = false;
        return r;
}

static json_t *b64_json(const uint8_t *p, size_t n) {
        size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        _cleanup_free_ char *s = malloc(len);

        if (!s)
                return NULL;
        sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
        return json_string(s);
}

static json_t *key_json(struct backend_etcd *e, const char *key) {
        size_t np = strlen(e->prefix), nk = strlen(key);
        _cleanup_free_ char *full = malloc(np + nk + 1);

        if (!full)
                return NULL;
        memcpy(full, e->prefix, np);
        memcpy(full + np, key, nk + 1);
        return b64_json((const uint8_t *) full, np + nk);
}

/* The base64 string v, decoded (malloc'd, one spare byte); -EBADMSG. */
static int b64_decode(json_t *v, size_t max, uint8_t **ret, size_t *ret_len) {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0, len;
        uint8_t *out;

        if (!s)
                return -EBADMSG;
        if (n / 4 * 3 > max + 3)
                return -EFBIG;
        out = malloc(n / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        if (sodium_base642bin(out, n / 4 * 3 + 3, s, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) < 0 ||
            len > max) {
                free(out);
                return len > max ? -EFBIG : -EBADMSG;
        }
        *ret = out;
        *ret_len = len;
        return 0;
}

/* A 64-bit number of the gateway: a decimal string (or, leniently, an
 * integer); 0 when absent, as proto3 leaves zeros out. */
static uint64_t num(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v))
                return (uint64_t) json_integer_value(v);
        return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10) : 0;
}

static int cached_cmp(const void *key, const void *c) {
        return strcmp(key, ((const struct cached *) c)->key);
}

static struct cached *cache_find(struct backend_etcd *e, const char *key) {
        return e->n_cache ? bsearch(key, e->cache, e->n_cache, sizeof(*e->cache), cached_cmp) : NULL;
}

static void cache_drop(struct backend_etcd *e, const char *key) {
        struct cached *c = cache_find(e, key);

        if (!c)
                return;
        free(c->key);
        free(c->blob);
        memmove(c, c + 1, (size_t) (e->cache + --e->n_cache - c) * sizeof(*c));
}

/* A new entry for key, in its place; NULL without memory. */
static struct cached *cache_insert(struct backend_etcd *e, const char *key) {
        size_t lo = 0, hi = e->n_cache;
        char *k;

        if (e->n_cache == e->cap_cache) {
                size_t cap = e->cap_cache ? 2 * e->cap_cache : 16;
                struct cached *v = realloc(e->cache, cap * sizeof(*v));

                if (!v)
                        return NULL;
                e->cache = v;
                e->cap_cache = cap;
        }
        k = strdup(key);
        if (!k)
                return NULL;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (strcmp(e->cache[mid].key, key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        memmove(&e->cache[lo + 1], &e->cache[lo], (e->n_cache - lo) * sizeof(*e->cache));
        e->cache[lo] = (struct cached) { .key = k };
        e->n_cache++;
        return &e->cache[lo];
}

/* Remembers key's blob at rev (a copy), fresh while the watch is live;
 * no memory is no harm: it is then read from etcd again. */
static void cache_put(struct backend_etcd *e, const char *key, const uint8_t *blob, size_t len, uint64_t rev) {
        struct cached *c = cache_find(e, key);
        uint8_t *copy = malloc(len ? len : 1);

        if (!copy)
                return;
        memcpy(copy, blob, len);
        if (!c && !(c = cache_insert(e, key))) {
                free(copy);
                return;
        }
        free(c->blob);
        *c = (struct cached) { .key = c->key, .blob = copy, .len = len, .rev = rev, .fresh = e->watched };
}

static int cached_get(struct backend_etcd *e, const char *key, uint8_t **ret_blob, size_t *ret_len, uint64_t *ret_rev) {
        struct cached *c = cache_find(e, key);
        uint8_t *copy;

        if (!c)
                return -EHOSTUNREACH;
        copy = malloc(c->len ? c->len : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, c->blob, c->len);
        *ret_blob = copy;
        *ret_len = c->len;
        *ret_rev = c->rev;
        return 0;
}

static int etcd_get(struct backend *b, const char *key, uint8_t **ret_blob, size_t *ret_len, uint64_t *ret_rev) {
        struct backend_etcd *e = to_etcd(b);
        _cleanup_(json_decrefp) json_t *rep = NULL;
        json_t *kv;
        uint8_t *blob;
        size_t len;
        int r;

        /* served from memory while the watch would have told us of any
         * newer revision: a lease waits for no round trip */
        if (e->watched) {
                struct cached *c = cache_find(e, key);

                if (c && c->fresh)
                        return cached_get(e, key, ret_blob, ret_len, ret_rev);
        }
        r = call(e, "/v3/kv/range", json_pack("{s:o}", "key", key_json(e, key)), &rep);
        if (r == -EHOSTUNREACH)
                return cached_get(e, key, ret_blob, ret_len, ret_rev);
        if (r < 0)
                return r;
        kv = json_array_get(json_object_get(rep, "kvs"), 0);
        if (!kv) {
                cache_drop(e, key);
                return -ENOENT;
        }
        r = b64_decode(json_object_get(kv, "value"), e->max_blob, &blob, &len);
        if (r < 0)
                return r;
        *ret_rev = num(kv, "mod_revision");
        cache_put(e, key, blob, len, *ret_rev);
        *ret_blob = blob;
        *ret_len = len;
        return 0;
}

static int etcd_put(struct backend *b, const char *key, const uint8_t *blob, size_t len, uint64_t expected_rev,
                    uint64_t *ret_rev) {
        struct backend_etcd *e = to_etcd(b);
        _cleanup_(json_decrefp) json_t *rep = NULL;
        char rev[24];
        uint64_t now;
        int r;

        if (len > e->max_blob)
                return -EFBIG;
        snprintf(rev, sizeof(rev), "%llu", (unsigned long long) expected_rev);
        /* mod_revision 0 is etcd's word for "no such key" */
        r = call(e, "/v3/kv/txn",
                 json_pack("{s:[{s:o,s:s,s:s,s:s}],s:[{s:{s:o,s:o}}]}", "compare", "key", key_json(e, key), "target",
                           "MOD", "result", "EQUAL", "mod_revision", rev, "success", "request_put", "key",
                           key_json(e, key), "value", b64_json(blob, len)),
                 &rep);
        if (r < 0)
                return r;
        if (!json_is_true(json_object_get(rep, "succeeded"))) {
                struct cached *c = cache_find(e, key);

                /* another host wrote first: read it from etcd next, not
                 * from memory (its event may still be on its way) */
                if (c)
                        c->fresh = false;
                return expected_rev == 0 ? -EEXIST : -ESTALE;
        }
        now = num(json_object_get(rep, "header"), "revision");
        cache_put(e, key, blob, len, now);
        if (ret_rev)
                *ret_rev = now;
        return 0;
}

static int etcd_remove(struct backend *b, const char *key) {
        struct backend_etcd *e = to_etcd(b);
        _cleanup_(json_decrefp) json_t *rep = NULL;
        int r;

        r = call(e, "/v3/kv/deleterange", json_pack("{s:o}", "key", key_json(e, key)), &rep);
        if (r < 0)
                return r;
        cache_drop(e, key);
        return num(rep, "deleted") > 0 ? 0 : -ENOENT;
}

/* The key just past every key that starts with the prefix. */
static json_t *range_end_json(struct backend_etcd *e) {
        size_t n = strlen(e->prefix);
        _cleanup_free_ uint8_t *end = malloc(n);

        if (!end)
                return NULL;
        memcpy(end, e->prefix, n);
        end[n - 1]++; /* the prefix ends in '/', never 0xff */
        return b64_json(end, n);
}

static int etcd_list(struct backend *b, char ***ret_keys, size_t *ret_n) {
        struct backend_etcd *e = to_etcd(b);
        _cleanup_(json_decrefp) json_t *rep = NULL;
        size_t np = strlen(e->prefix), i, n = 0;
        json_t *kvs, *kv;
        char **keys;
        int r;

        r = call(e, "/v3/kv/range",
                 json_pack("{s:o,s:o,s:b}", "key", key_json(e, ""), "range_end", range_end_json(e), "keys_only", 1),
                 &rep);
        if (r < 0)
                return r;
        kvs = json_object_get(rep, "kvs");
        keys = calloc(json_array_size(kvs) + 1, sizeof(char *));
        if (!keys)
                return -ENOMEM;
        json_array_foreach(kvs, i, kv) {
                uint8_t *k;
                size_t len;

                if (b64_decode(json_object_get(kv, "key"), 4096, &k, &len) < 0)
                        continue;
                k[len] = '\0';
                /* ours, without a NUL inside */
                if (len > np && memcmp(k, e->prefix, np) == 0 && strlen((char *) k) == len)
                        keys[n] = strdup((char *) k + np);
                free(k);
                if (len > np && keys[n])
                        n++;
        }
        *ret_keys = keys;
        *ret_n = n;
        return 0;
}

static void etcd_heard(struct backend *b, const char *key, uint64_t rev) {
        struct cached *c = cache_find(to_etcd(b), key);

        if (c && c->rev < rev)
                c->fresh = false;
}

static void etcd_watching(struct backend *b, bool live) {
        struct backend_etcd *e = to_etcd(b);

        /* what was read before the watch was (again) in place may have
         * changed unheard */
        for (size_t i = 0; live && !e->watched && i < e->n_cache; i++)
                e->cache[i].fresh = false;
        e->watched = live;
}

static bool etcd_reachable(struct backend *b, int64_t *ret_since_usec) {
        struct backend_etcd *e = to_etcd(b);

        if (e->cut_off && ret_since_usec)
                *ret_since_usec = e->cut_off_usec;
        return !e->cut_off;
}

static void etcd_free(struct backend *b) {
        struct backend_etcd *e = to_etcd(b);

        for (size_t i = 0; i < e->n_cache; i++) {
                free(e->cache[i].key);
                free(e->cache[i].blob);
        }
        free(e->cache);
        for (size_t i = 0; i < e->n_endpoints; i++)
                free(e->endpoints[i]);
        free(e->endpoints);
        free(e->prefix);
        if (e->curl)
                curl_easy_cleanup(e->curl);
        free(e);
}

static const struct backend_ops etcd_ops = {
        .get = etcd_get,
        .put = etcd_put,
        .remove = etcd_remove,
        .list = etcd_list,
        .reachable = etcd_reachable,
        .heard = etcd_heard,
        .watching = etcd_watching,
        .free = etcd_free,
};

/* The handle's fixed options: POST of JSON, bounded, never through a
 * proxy from the environment, http(s) only, TLS files when given. */
static int curl_setup(CURL *c, const struct etcd_options *o) {
        static struct curl_slist *headers;

        if (!headers)
                headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!headers)
                return -ENOMEM;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_MS);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ETCD_CALL_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (o->ca)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
        if (o->cert)
                curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
        if (o->key)
                curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
        return 0;
}

int backend_etcd_open(const struct etcd_options *o, size_t max_blob, struct backend **ret) {
        struct backend_etcd *e;
        size_t np;

        if (!o->prefix || (np = strlen(o->prefix)) == 0 || o->prefix[np - 1] != '/' || o->n_endpoints == 0)
                return -EINVAL;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->base = (struct backend) { .ops = &etcd_ops, .kind = "etcd" };
        e->max_blob = max_blob < ETCD_BLOB_MAX ? max_blob : ETCD_BLOB_MAX;
        e->prefix = strdup(o->prefix);
        e->endpoints = calloc(o->n_endpoints, sizeof(char *));
        e->curl = curl_easy_init();
        if (!e->prefix || !e->endpoints || !e->curl || curl_setup(e->curl, o) < 0) {
                etcd_free(&e->base);
                return -ENOMEM;
        }
        for (; e->n_endpoints < o->n_endpoints; e->n_endpoints++)
                if (!(e->endpoints[e->n_endpoints] = strdup(o->endpoints[e->n_endpoints]))) {
                        etcd_free(&e->base);
                        return -ENOMEM;
                }
        *ret = &e->base;
        return 0;
}
