/* api.c — routes, access control, JSON replies and errors (DESIGN §7).
 *
 * The route table is the API: method, path template, who may call it, the
 * audit action, the handler, and the query parameters it accepts.  Every
 * request is judged by the caller's attested identity, never by the socket
 * it came through.  No reply and no audit record ever carries a value.
 * The lease routes are in api-lease.c. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "api-internal.h"
#include "secretd/secret-set.h"
#include "lease.h"
#include "leasing.h"
#include "policy.h"
#include "secretd/parse.h"
#include "secretd/cleanup.h"
#include "watch.h"

#define GENERATE_MAX 4096

enum access { ACCESS_ANYONE, ACCESS_ADMIN, ACCESS_HOOK, _ACCESS_MAX };

struct route;
typedef void (*route_fn)(struct server *s, const struct request *req, const char *name, struct reply *rep);

struct route {
        const char *method;
        const char *pattern; /* "{name}" captures one path segment */
        enum access access;
        const char *action;  /* audited as this; NULL: not a decision */
        route_fn handler;
        const char *query[3]; /* accepted query parameters */
};

static const struct {
        unsigned status;
        const char *code;
} api_errors[_API_ERR_MAX] = {
        [API_ERR_BAD_REQUEST] = { 400, "bad_request" },
        [API_ERR_INVALID_NAME] = { 400, "invalid_name" },
        [API_ERR_INVALID_VERSION] = { 400, "invalid_version" },
        [API_ERR_INVALID_JSON] = { 400, "invalid_json" },
        [API_ERR_CONFIG_INVALID] = { 400, "config_invalid" },
        [API_ERR_FORBIDDEN] = { 403, "forbidden" },
        [API_ERR_NOT_FOUND] = { 404, "not_found" },
        [API_ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed" },
        [API_ERR_CONFLICT] = { 409, "conflict" },
        [API_ERR_TOO_LARGE] = { 413, "too_large" },
        [API_ERR_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type" },
        [API_ERR_TOO_MANY_REQUESTS] = { 429, "too_many_requests" },
        [API_ERR_INTERNAL] = { 500, "internal" },
        [API_ERR_SECRET_DAMAGED] = { 500, "secret_damaged" },
        [API_ERR_UNAVAILABLE] = { 503, "unavailable" },
};

unsigned api_error_status(enum api_error code) {
        return api_errors[code].status;
}

const char *api_error_code(enum api_error code) {
        return api_errors[code].code;
}

void api_error(struct reply *rep, enum api_error code, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        json_decref(rep->json);
        rep->json = json_pack("{s:{s:s,s:s}}", "error", "code", api_errors[code].code, "message",
                              msg ? msg : "out of memory");
        rep->status = api_errors[code].status;
}

void reply_done(struct reply *rep) {
        json_decref(rep->json);
        secbuf_free(rep->value);
        free(rep->text);
        *rep = (struct reply) {};
}

void reply_json(struct reply *rep, unsigned status, json_t *j) {
        if (!j) {
                api_error(rep, API_ERR_INTERNAL, "out of memory");
                return;
        }
        json_decref(rep->json);
        rep->json = j;
        rep->status = status;
}

const char *query_get(const struct request *req, const char *key) {
        for (size_t i = 0; i < req->n_query; i++)
                if (strcmp(req->query_keys[i], key) == 0)
                        return req->query_values[i] ? req->query_values[i] : "";
        return NULL;
}

int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s || strlen(s) > 20)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (max - (uint64_t) (*s - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* Something the caller should know though the request succeeded: one line
 * in the reply's top-level "warnings" array (secretctl prints them).  Names
 * and durations only, never a value. */
void api_warning(json_t *reply, const char *fmt, ...) {
        json_t *arr = reply ? json_object_get(reply, "warnings") : NULL;
        char msg[512];
        va_list ap;

        if (!reply)
                return;
        if (!arr) {
                arr = json_array();
                if (!arr || json_object_set_new(reply, "warnings", arr) < 0)
                        return;
        }
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_array_append_new(arr, json_string(msg));
}

json_t *time_json(int64_t usec) {
        char buf[32];

        format_time_utc(usec, buf, sizeof(buf));
        return json_string(buf);
}

/* Maps a store error to its reply.  Names are quoted; values never seen. */
void store_error(struct server *s, struct reply *rep, int r, const char *name) {
        switch (r) {
        case -ENOENT:
                api_error(rep, API_ERR_NOT_FOUND, "secret '%s' does not exist", name);
                break;
        case -EEXIST:
                api_error(rep, API_ERR_CONFLICT, "secret '%s' already exists (rotate it instead)", name);
                break;
        case -EFBIG:
                api_error(rep, API_ERR_TOO_LARGE, "value is larger than the limit of %" PRIu64 " bytes",
                          s->config->max_value_size);
                break;
        case -EINVAL:
                api_error(rep, API_ERR_INVALID_NAME, "invalid secret name (allowed: " SECRET_NAME_GRAMMAR ")");
                break;
        case -EBADMSG:
                api_error(rep, API_ERR_SECRET_DAMAGED, "secret '%s' cannot be opened: its file is damaged", name);
                break;
        case -EMEDIUMTYPE:
                api_error(rep, API_ERR_CONFLICT, "secret '%s' is of the other kind: a set is rotated with a set "
                          "(Content-Type " SET_CONTENT_TYPE "), a value with a value", name);
                break;
        case -EOVERFLOW:
                api_error(rep, API_ERR_CONFLICT, "secret '%s' is at the last version number; delete and create it "
                          "again", name);
                break;
        case -ENOSPC:
        case -EDQUOT:
                api_error(rep, API_ERR_UNAVAILABLE, "the state directory is full; nothing was changed");
                break;
        case -EHOSTUNREACH:
                api_error(rep, API_ERR_UNAVAILABLE, "the store (%s) cannot be reached; nothing was changed, try "
                          "again", store_backend(s->store)->kind);
                break;
        case -ESTALE:
                api_error(rep, API_ERR_CONFLICT, "secret '%s' kept changing on other hosts while this one wrote; "
                          "nothing was changed, try again", name);
                break;
        default:
                api_error(rep, API_ERR_INTERNAL, "store error: %s", strerror(-r));
                break;
        }
}

static json_t *versions_json(const struct store_version *v, unsigned n) {
        json_t *a = json_array();

        for (unsigned i = 0; a && i < n; i++)
                json_array_append_new(a, json_pack("{s:I,s:o,s:I}", "version", (json_int_t) v[i].version, "created",
                                                   time_json(v[i].created_usec), "size", (json_int_t) v[i].size));
        return a;
}

static bool body_is_value(const struct request *req, struct reply *rep) {
        /* Values are raw bytes.  A form or multipart upload would hand us an
         * encoding of the value rather than the value. */
        if (req->content_type && (strncasecmp(req->content_type, "multipart/", 10) == 0 ||
                                  strncasecmp(req->content_type, "application/json", 16) == 0)) {
                api_error(rep, API_ERR_UNSUPPORTED_MEDIA_TYPE,
                          "values are raw bytes: send them as application/octet-stream");
                return false;
        }
        if (!req->body) {
                api_error(rep, API_ERR_BAD_REQUEST, "the request has no body; send the value as the body");
                return false;
        }
        return true;
}

/* An empty prompt or an empty file is nearly always a mistake: an empty
 * value is stored only when the caller says so.  What would refuse the
 * request anyway is said first: a name that exists for a create (409), one
 * that does not for a rotation (404). */
static bool empty_allowed(struct server *s, const struct request *req, struct reply *rep, const char *name,
                          bool create) {
        const char *allow = query_get(req, "allow_empty");
        struct store_meta m;
        int r;

        if (req->body->len > 0 || (allow && (!*allow || strcmp(allow, "1") == 0)))
                return true;
        r = store_meta(s->store, name, &m);
        if (create && r >= 0)
                r = -EEXIST;
        if ((create && r == -EEXIST) || (!create && r == -ENOENT)) {
                store_error(s, rep, r, name);
                return false;
        }
        api_error(rep, API_ERR_BAD_REQUEST, "the value is empty; to store an empty secret, ask for it with "
                  "?allow_empty=1 (secretctl: --allow-empty)");
        return false;
}

static void route_list(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        _cleanup_free_ struct store_meta *list = NULL;
        json_t *a;
        size_t n;
        int r;

        (void) req, (void) name;
        r = store_list(s->store, &list, &n);
        if (r < 0)
                return store_error(s, rep, r, "");
        a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                json_t *o = json_pack("{s:s}", "name", list[i].name);

                if (o && list[i].error < 0) {
                        json_object_set_new(o, "error", json_string(list[i].error == -EBADMSG ? "damaged"
                                                                                            : strerror(-list[i].error)));
                } else if (o) {
                        json_object_set_new(o, "version", json_integer((json_int_t) list[i].versions[0].version));
                        json_object_set_new(o, "size", json_integer(list[i].versions[0].size));
                        json_object_set_new(o, "updated", time_json(list[i].versions[0].created_usec));
                }
                json_array_append_new(a, o);
        }
        reply_json(rep, 200, a ? json_pack("{s:o}", "secrets", a) : NULL);
}

static void route_create(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        _cleanup_(secbuf_freep) struct secbuf *set = NULL;
        const struct secbuf *value;
        enum store_kind kind;
        struct store_version v;
        int r;

        if (!body_is_value(req, rep) || !body_value(req, rep, &kind, &set) ||
            (kind == STORE_VALUE && !empty_allowed(s, req, rep, name, true)))
                return;
        value = set ? set : req->body;
        r = store_create(s->store, name, kind, value->data, value->len, &v);
        if (r < 0)
                return store_error(s, rep, r, name);
        reply_json(rep, 201, json_pack("{s:s,s:I,s:I,s:o,s:b}", "name", name, "version", (json_int_t) v.version,
                                       "size", (json_int_t) v.size, "created", time_json(v.created_usec), "set",
                                       kind == STORE_SET));
}

static void route_read(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const char *vs = query_get(req, "version"), *part = query_get(req, "part");
        struct store_version v;
        uint64_t version = 0;
        int r;

        if (vs && (parse_u64(vs, INT64_MAX, &version) < 0 || version == 0))
                return api_error(rep, API_ERR_INVALID_VERSION, "version must be a positive integer");
        r = store_read(s->store, name, version, &rep->value, &v);
        if (r == -ENOENT && version)
                return api_error(rep, API_ERR_NOT_FOUND, "secret '%s' has no version %" PRIu64 " (the current "
                                                         "and the previous one are kept)", name, version);
        if (r < 0)
                return store_error(s, rep, r, name);
        rep->version = v.version;
        rep->status = 200;
        if (part && v.kind != STORE_SET) {
                rep->value = secbuf_free(rep->value);
                return api_error(rep, API_ERR_BAD_REQUEST, "secret '%s' is not a set: it has no parts", name);
        }
        if (part)
                return reply_set_part(rep, name, part);
        rep->value_is_set = v.kind == STORE_SET;
}

static void route_meta(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        struct store_meta m;
        json_t *j;
        int r;

        (void) req;
        r = store_meta(s->store, name, &m);
        if (r < 0)
                return store_error(s, rep, r, name);
        j = json_pack("{s:s,s:I,s:o,s:i,s:b}", "name", m.name, "version", (json_int_t) m.versions[0].version,
                      "versions", versions_json(m.versions, m.n_versions), "leases",
                      (int) leasing_count_secret(s->leasing, name), "set", m.versions[0].kind == STORE_SET);
        /* a set's part names and sizes (never their bytes) */
        if (j && m.versions[0].kind == STORE_SET && store_read(s->store, name, 0, &value, NULL) == 0)
                json_object_set_new(j, "parts", set_parts_json(value));
        reply_json(rep, 200, j);
}

/* ?generate=N&encoding=base64|hex|raw: N random bytes, encoded. */
static int generate_value(const struct request *req, struct reply *rep, struct secbuf **ret) {
        const char *enc = query_get(req, "encoding");
        _cleanup_(secbuf_freep) struct secbuf *raw = NULL, *out = NULL;
        uint64_t n;

        if (parse_u64(query_get(req, "generate"), GENERATE_MAX, &n) < 0 || n == 0)
                return api_error(rep, API_ERR_BAD_REQUEST, "generate must be a byte count from 1 to %d",
                                 GENERATE_MAX), -EINVAL;
        if (req->body && req->body->len > 0)
                return api_error(rep, API_ERR_BAD_REQUEST, "give either a body or ?generate, not both"), -EINVAL;
        raw = secbuf_new(n);
        if (!raw)
                return api_error(rep, API_ERR_INTERNAL, "out of memory"), -ENOMEM;
        randombytes_buf(raw->data, n);
        if (!enc || strcmp(enc, "base64") == 0) {
                out = secbuf_new(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
                if (out) {
                        sodium_bin2base64((char *) out->data, out->len, raw->data, n, sodium_base64_VARIANT_ORIGINAL);
                        secbuf_truncate(out, out->len - 1); /* no NUL in the value */
                }
        } else if (strcmp(enc, "hex") == 0) {
                out = secbuf_new(n * 2 + 1);
                if (out) {
                        sodium_bin2hex((char *) out->data, out->len, raw->data, n);
                        secbuf_truncate(out, n * 2);
                }
        } else if (strcmp(enc, "raw") == 0) {
                out = TAKE_PTR(raw);
        } else {
                return api_error(rep, API_ERR_BAD_REQUEST, "encoding must be base64, hex or raw"), -EINVAL;
        }
        if (!out)
                return api_error(rep, API_ERR_INTERNAL, "out of memory"), -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

static void route_rotate(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        _cleanup_(secbuf_freep) struct secbuf *generated = NULL;
        const struct secbuf *value;
        struct store_version v;
        int r;

        enum store_kind kind = STORE_VALUE;

        if (query_get(req, "generate")) {
                if (generate_value(req, rep, &generated) < 0)
                        return;
                value = generated;
        } else {
                if (query_get(req, "encoding"))
                        return api_error(rep, API_ERR_BAD_REQUEST, "encoding is only meaningful with generate");
                if (!body_is_value(req, rep) || !body_value(req, rep, &kind, &generated) ||
                    (kind == STORE_VALUE && !empty_allowed(s, req, rep, name, false)))
                        return;
                value = generated ? generated : req->body;
        }
        size_t updated = 0;
        bool unchanged = false;

        r = store_rotate(s->store, name, kind, value->data, value->len, &v, &unchanged);
        if (r < 0)
                return store_error(s, rep, r, name);
        /* the same value: no version, no file, no signal (a watcher's reload
         * would be for nothing) */
        if (unchanged)
                return reply_json(rep, 200, json_pack("{s:s,s:I,s:I,s:o,s:b,s:I}", "name", name, "version",
                                                      (json_int_t) v.version, "size", (json_int_t) v.size,
                                                      "created", time_json(v.created_usec), "unchanged", 1,
                                                      "leases_updated", (json_int_t) 0));
        /* The new version is stored; now every live file, before we answer. */
        r = leasing_rotate(s->leasing, name, &updated);
        /* the files are in place (or as many as could be): waiters now */
        (void) watch_changed(s->watch, name);
        (void) watch_changed(s->watch, WATCH_KEY_LEASES);
        if (r < 0)
                return api_error(rep, API_ERR_INTERNAL, "version %" PRIu64 " stored, but %zu of the leased files "
                                 "could not be updated: %s", v.version,
                                 leasing_count_secret(s->leasing, name) - updated, strerror(-r));
        reply_json(rep, 200, json_pack("{s:s,s:I,s:I,s:o,s:b,s:I}", "name", name, "version", (json_int_t) v.version,
                                       "size", (json_int_t) v.size, "created", time_json(v.created_usec),
                                       "unchanged", 0, "leases_updated", (json_int_t) updated));
}

static void route_delete(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        int r;

        (void) req;
        r = store_delete(s->store, name);
        if (r < 0)
                return store_error(s, rep, r, name);
        (void) watch_changed(s->watch, name); /* each answered 404 */
        reply_json(rep, 200, json_pack("{s:s,s:I}", "deleted", name, "leases_revoked",
                                       (json_int_t) leasing_revoke_secret(s->leasing, name)));
        (void) watch_changed(s->watch, WATCH_KEY_LEASES); /* after the revocations */
}

static void route_reload(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        _cleanup_free_ char *reasons = NULL;
        int r;

        (void) req, (void) name;
        r = s->reload(s, &reasons);
        if (r < 0)
                return api_error(rep, API_ERR_CONFIG_INVALID, "configuration not reloaded, the old one stays: %s",
                                 reasons ? reasons : strerror(-r));
        reply_json(rep, 200, json_pack("{s:b,s:I}", "reloaded", 1, "workloads",
                                       (json_int_t) (s->config->policy ? s->config->policy->n_workloads : 0)));
}

/* A JSON object body, or {} when there is none.  Lease bodies are small
 * and never hold values. */
json_t *json_body(const struct request *req, struct reply *rep) {
        json_error_t err;
        json_t *j;

        if (req->content_type && strncasecmp(req->content_type, "multipart/", 10) == 0) {
                api_error(rep, API_ERR_UNSUPPORTED_MEDIA_TYPE, "send a JSON object (application/json)");
                return NULL;
        }
        if (!req->body || req->body->len == 0)
                return json_object();
        j = json_loadb((const char *) req->body->data, req->body->len, JSON_REJECT_DUPLICATES, &err);
        if (!j) {
                api_error(rep, API_ERR_INVALID_JSON, "request body is not JSON: %s at line %d column %d", err.text,
                          err.line, err.column);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                api_error(rep, API_ERR_INVALID_JSON, "request body must be a JSON object");
                return NULL;
        }
        return j;
}

/* "ttl": "15m" or seconds; 0 when absent. */
int body_ttl(json_t *body, struct reply *rep, uint64_t *ret) {
        json_t *t = json_object_get(body, "ttl");

        *ret = 0;
        if (!t)
                return 0;
        if (json_is_integer(t) && json_integer_value(t) >= (json_int_t) (POLICY_TTL_MIN_USEC / USEC(1)) &&
            json_integer_value(t) <= (json_int_t) (POLICY_TTL_MAX_USEC / USEC(1))) {
                *ret = USEC(json_integer_value(t));
                return 0;
        }
        if (json_is_string(t) && parse_duration_usec(json_string_value(t), ret) >= 0 && *ret >= POLICY_TTL_MIN_USEC)
                return 0;
        api_error(rep, API_ERR_BAD_REQUEST, "ttl must be a duration such as \"15m\" (at least 1s)");
        return -EINVAL;
}

int body_keys_only(json_t *body, const char *const *allowed, struct reply *rep) {
        const char *key;
        json_t *v;

        json_object_foreach(body, key, v) {
                bool ok = false;

                for (size_t i = 0; allowed[i]; i++)
                        ok = ok || strcmp(allowed[i], key) == 0;
                if (!ok) {
                        api_error(rep, API_ERR_BAD_REQUEST, "unknown key in request body");
                        return -EINVAL;
                }
        }
        return 0;
}

static const struct route routes[] = {
        { "GET", API_ROUTE_HEALTH, ACCESS_ANYONE, NULL, route_health, {} },
        { "GET", API_ROUTE_WHOAMI, ACCESS_ANYONE, NULL, route_whoami, {} },
        { "GET", API_ROUTE_SECRETS, ACCESS_ADMIN, "list", route_list, {} },
        { "PUT", API_ROUTE_SECRET, ACCESS_ADMIN, "create", route_create, { "allow_empty" } },
        { "GET", API_ROUTE_SECRET, ACCESS_ADMIN, "read", route_read, { "version", "part" } },
        { "DELETE", API_ROUTE_SECRET, ACCESS_ADMIN, "delete", route_delete, {} },
        { "GET", API_ROUTE_SECRET_META, ACCESS_ADMIN, "meta", route_meta, {} },
        { "POST", API_ROUTE_SECRET_ROTATE, ACCESS_ADMIN, "rotate", route_rotate,
          { "generate", "encoding", "allow_empty" } },
        /* an admin any secret, a workload its grants: judged by the route */
        { "GET", API_ROUTE_SECRET_WATCH, ACCESS_ANYONE, NULL, route_watch, { "after", "timeout" } },
        /* the caller's own leases, whoever it is */
        { "GET", API_ROUTE_LEASES_WATCH, ACCESS_ANYONE, NULL, route_leases_watch, { "after", "timeout" } },
        { "POST", API_ROUTE_RELOAD, ACCESS_ADMIN, "reload", route_reload, {} },
        { "GET", API_ROUTE_STATUS, ACCESS_ADMIN, NULL, route_status, {} },
        { "GET", API_ROUTE_METRICS, ACCESS_ADMIN, NULL, route_metrics, {} },
        /* lease routes judge ownership themselves: owner or admin */
        { "POST", API_ROUTE_LEASES, ACCESS_ANYONE, NULL, route_lease, {} },
        { "GET", API_ROUTE_LEASES, ACCESS_ANYONE, NULL, route_leases, {} },
        { "POST", API_ROUTE_LEASE_RENEW, ACCESS_ANYONE, NULL, route_renew, {} },
        { "DELETE", API_ROUTE_LEASE, ACCESS_ANYONE, NULL, route_revoke, {} },
        /* the hook's socket serves this alone, and it is served nowhere
         * else; its handler judges the caller (uid 0 of our user ns) */
        { "POST", API_ROUTE_HOOK_CREATE_RUNTIME, ACCESS_HOOK, NULL, route_hook_create_runtime, {} },
};

static bool route_on_socket(const struct route *rt, const struct request *req) {
        return (rt->access == ACCESS_HOOK) == req->hook_socket;
}

/* Matches path against a template segment by segment; the "{name}" or
 * "{id}" segment is copied to name (at most STORE_NAME_MAX + 1 bytes kept, so an
 * overlong one still fails validation). */
static bool route_matches(const char *pattern, const char *path, char name[static STORE_NAME_MAX + 2]) {
        name[0] = '\0';
        while (*pattern && *path) {
                if (*pattern == '{') {
                        size_t n = strcspn(path, "/");

                        if (n == 0)
                                return false;
                        snprintf(name, STORE_NAME_MAX + 2, "%.*s", (int) n, path);
                        pattern = strchr(pattern, '}') + 1;
                        path += n;
                        continue;
                }
                if (*pattern != *path)
                        return false;
                pattern++;
                path++;
        }
        return *pattern == '\0' && *path == '\0';
}

static bool query_allowed(const struct route *rt, const struct request *req, struct reply *rep) {
        for (size_t i = 0; i < req->n_query; i++) {
                bool ok = false;

                for (size_t j = 0; j < ELEMENTSOF(rt->query) && rt->query[j]; j++)
                        ok = ok || strcmp(rt->query[j], req->query_keys[i]) == 0;
                if (!ok) {
                        api_error(rep, API_ERR_BAD_REQUEST, "unknown query parameter");
                        return false;
                }
        }
        return true;
}

static void audit_route(struct server *s, const struct request *req, const struct route *rt, const char *name,
                        const struct reply *rep, bool allowed) {
        const struct workload *w = policy_match(s->config->policy, req->peer);
        json_t *err = rep->json ? json_object_get(rep->json, "error") : NULL;

        /* a rotation to the current value is not one, and says so */
        bool unchanged = rep->json && json_is_true(json_object_get(rep->json, "unchanged"));

        audit_record(s->audit, &(struct audit_event) {
                .action = unchanged ? "rotate-unchanged" : rt->action ? rt->action : "access",
                .allowed = allowed,
                .peer = req->peer,
                .secret = name && name[0] ? name : NULL,
                .workload = w ? w->name : NULL,
                .status = (int) rep->status,
                .reason = err ? json_string_value(json_object_get(err, "code")) : NULL,
        });
}

void api_handle(struct server *s, const struct request *req, struct reply *rep) {
        char name[STORE_NAME_MAX + 2];
        char allow[64] = "";
        const struct route *rt = NULL;

        *rep = (struct reply) { .route = "other" };
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (!route_on_socket(&routes[i], req) || !route_matches(routes[i].pattern, req->path, name))
                        continue;
                if (strcmp(routes[i].method, req->method) == 0) {
                        rt = &routes[i];
                        break;
                }
                snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", allow[0] ? ", " : "",
                         routes[i].method);
        }
        if (!rt && allow[0]) {
                static char allow_kept[64];

                /* the reply outlives this frame; one thread, so static is safe */
                snprintf(allow_kept, sizeof(allow_kept), "%s", allow);
                rep->allow = allow_kept;
                return api_error(rep, API_ERR_METHOD_NOT_ALLOWED, "method not allowed here (allowed: %s)", allow);
        }
        if (!rt)
                return api_error(rep, API_ERR_NOT_FOUND, "no such endpoint");
        rep->route = rt->pattern;
        /* against the admin lists in force now, not those of connect() */
        if (rt->access == ACCESS_ADMIN && !attest_peer_admin(&s->attest, req->peer)) {
                api_error(rep, API_ERR_FORBIDDEN, "admin only; you are '%s'", req->peer->identity);
                audit_route(s, req, rt, name, rep, false);
                return;
        }
        if (!query_allowed(rt, req, rep))
                return;
        if (strstr(rt->pattern, "{name}") && !store_name_valid(name))
                return api_error(rep, API_ERR_INVALID_NAME,
                                 "invalid secret name (allowed: " SECRET_NAME_GRAMMAR ")");
        if (strstr(rt->pattern, "{id}") && !lease_id_valid(name))
                return api_error(rep, API_ERR_BAD_REQUEST, "invalid lease id (32 lowercase hex digits)");
        rt->handler(s, req, name, rep);
        if (rt->action)
                audit_route(s, req, rt, name, rep, true);
}

_Static_assert(API_JSON_BODY_MAX >= POLICY_GRANTS_MAX * (STORE_NAME_MAX + 3) + 1024,
               "a lease body naming every grant must fit");

/* Judged from the request line and the peer alone, before http.c stores a
 * byte of the body (the same table, the same admin predicate and the same
 * replies and audit as api_handle, which judges again when the body is
 * in).  Values go to the create and rotate routes; the lease routes take
 * a small JSON object; every other route takes no body at all. */
bool api_route_admit(struct server *s, const struct request *req, struct reply *rep, size_t *ret_max_body) {
        char name[STORE_NAME_MAX + 2];
        const struct route *rt = NULL;

        for (size_t i = 0; !rt && i < ELEMENTSOF(routes); i++)
                if (route_on_socket(&routes[i], req) && route_matches(routes[i].pattern, req->path, name) &&
                    strcmp(routes[i].method, req->method) == 0)
                        rt = &routes[i];
        if (!rt) {
                /* no handler runs: api_handle words the 404, or the 405
                 * with its Allow header */
                api_handle(s, req, rep);
                return false;
        }
        if (rt->access == ACCESS_ADMIN && !attest_peer_admin(&s->attest, req->peer)) {
                *rep = (struct reply) { .route = rt->pattern };
                api_error(rep, API_ERR_FORBIDDEN, "admin only; you are '%s'", req->peer->identity);
                audit_route(s, req, rt, name, rep, false);
                return false;
        }
        if (rt->handler == route_create || rt->handler == route_rotate)
                *ret_max_body = (size_t) s->config->max_value_size;
        else if (rt->handler == route_lease || rt->handler == route_renew)
                *ret_max_body = API_JSON_BODY_MAX;
        else if (rt->handler == route_hook_create_runtime)
                *ret_max_body = HOOK_STATE_MAX;
        else
                *ret_max_body = 0;
        return true;
}
