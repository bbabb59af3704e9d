/* api-watch.c — GET /v1/secrets/{name}/watch?after=N&timeout=D: answers
 * as soon as the secret's version is no longer N (at once when it already
 * is not), or at the timeout with "changed": false.  An admin may watch
 * any secret; any other caller the secrets its workload is granted (the
 * policy in force), and only the version is ever told, never a value.
 *
 * GET /v1/leases/watch?after=TOKEN&timeout=D: the same for all of the
 * caller's own leases at once.  TOKEN (16 hex digits) stands for the
 * versions its files hold, secret by secret; the answer comes as soon as
 * a rotation put a new version into any of them (or a delete took one),
 * with the new token and every lease's version.
 * The wait itself is http.c's (a parked connection, watch.h): this route
 * judges and answers, and asks for a wait with rep->wait. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "audit.h"
#include "lease.h"
#include "leasing.h"
#include "policy.h"
#include "secretd/cleanup.h"
#include "secretd/parse.h"
#include "store.h"
#include "watch.h"

static bool watch_allowed(struct server *s, const struct request *req, const char *name) {
        const struct workload *w;

        if (attest_peer_admin(&s->attest, req->peer))
                return true;
        w = policy_match(s->config->policy, req->peer);
        if (workload_grant(w, name))
                return true;
        audit_record(s->audit, &(struct audit_event) {
                .action = "watch", .allowed = false, .peer = req->peer, .secret = name,
                .workload = w ? w->name : NULL, .status = 403, .reason = w ? "not granted" : "no workload",
        });
        return false;
}

void route_watch(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const char *after_s = query_get(req, "after"), *timeout_s = query_get(req, "timeout");
        uint64_t after = 0, timeout = WATCH_TIMEOUT_DEFAULT_USEC, version;
        struct store_meta m;
        int r;

        if (after_s && parse_u64(after_s, INT64_MAX, &after) < 0)
                return api_error(rep, API_ERR_INVALID_VERSION, "after must be a version number (0 or more)");
        if (timeout_s && (parse_duration_usec(timeout_s, &timeout) < 0 || timeout > WATCH_TIMEOUT_MAX_USEC))
                return api_error(rep, API_ERR_BAD_REQUEST, "timeout must be a duration from 0 to 1h");
        /* judged before the store is asked: a workload learns nothing, not
         * even whether it exists, of a secret it is not granted */
        if (!watch_allowed(s, req, name))
                return api_error(rep, API_ERR_FORBIDDEN, "secret '%s' is not granted to you ('%s')", name,
                                 req->peer->identity);
        r = store_meta(s->store, name, &m);
        if (r < 0)
                return store_error(s, rep, r, name);
        version = m.versions[0].version;
        if (version == after && timeout > 0 && !req->wait_over) {
                *rep = (struct reply) { .route = rep->route, .wait = true, .wait_usec = timeout };
                snprintf(rep->wait_secret, sizeof(rep->wait_secret), "%s", name);
                return;
        }
        reply_json(rep, 200, json_pack("{s:s,s:I,s:b}", "name", name, "version", (json_int_t) version, "changed",
                                       version != after));
}

#define LEASES_TOKEN_BYTES 8
#define LEASES_WATCHED_MAX 1024

struct own_leases {
        const struct lease *v[LEASES_WATCHED_MAX];
        size_t n;
        bool truncated;
};

static void own_lease(void *userdata, const struct lease *ls) {
        struct own_leases *o = userdata;

        if (o->n < LEASES_WATCHED_MAX)
                o->v[o->n++] = ls;
        else
                o->truncated = true;
}

static int by_secret(const void *a, const void *b) {
        return strcmp((*(const struct lease *const *) a)->secret, (*(const struct lease *const *) b)->secret);
}

/* The token of o's (sorted) secrets and versions, in hex. */
static void leases_token(const struct own_leases *o, char hex[static 2 * LEASES_TOKEN_BYTES + 1]) {
        crypto_generichash_state st;
        uint8_t h[LEASES_TOKEN_BYTES];

        crypto_generichash_init(&st, NULL, 0, sizeof(h));
        for (size_t i = 0; i < o->n; i++) {
                char v[24];

                crypto_generichash_update(&st, (const uint8_t *) o->v[i]->secret, strlen(o->v[i]->secret) + 1);
                snprintf(v, sizeof(v), "%" PRIu64, o->v[i]->version);
                crypto_generichash_update(&st, (const uint8_t *) v, strlen(v) + 1);
        }
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_bin2hex(hex, 2 * LEASES_TOKEN_BYTES + 1, h, sizeof(h));
}

static json_t *own_leases_json(const struct own_leases *o) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < o->n; i++)
                json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "secret", o->v[i]->secret, "id", o->v[i]->id,
                                                     "version", (json_int_t) o->v[i]->version));
        return arr;
}

void route_leases_watch(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const char *after = query_get(req, "after"), *timeout_s = query_get(req, "timeout");
        const struct leasing_caller c = {
                .peer = req->peer, .workload = policy_match(s->config->policy, req->peer),
                .admin = attest_peer_admin(&s->attest, req->peer),
        };
        uint64_t timeout = WATCH_TIMEOUT_DEFAULT_USEC;
        char token[2 * LEASES_TOKEN_BYTES + 1];
        _cleanup_free_ struct own_leases *o = calloc(1, sizeof(*o));

        (void) name;
        if (after && (strlen(after) != 2 * LEASES_TOKEN_BYTES || strspn(after, "0123456789abcdef") != strlen(after)))
                return api_error(rep, API_ERR_BAD_REQUEST, "after must be a token from an earlier answer (16 hex digits)");
        if (timeout_s && (parse_duration_usec(timeout_s, &timeout) < 0 || timeout > WATCH_TIMEOUT_MAX_USEC))
                return api_error(rep, API_ERR_BAD_REQUEST, "timeout must be a duration from 0 to 1h");
        if (!o)
                return api_error(rep, API_ERR_UNAVAILABLE, "cannot wait now; try again");
        leasing_list_own(s->leasing, &c, own_lease, o);
        if (o->n == 0)
                return api_error(rep, API_ERR_NOT_FOUND, "you ('%s') hold no leases to watch; lease first",
                                 req->peer->identity);
        qsort(o->v, o->n, sizeof(o->v[0]), by_secret);
        leases_token(o, token);
        if (after && strcmp(token, after) == 0 && timeout > 0 && !req->wait_over) {
                *rep = (struct reply) { .route = rep->route, .wait = true, .wait_usec = timeout };
                snprintf(rep->wait_secret, sizeof(rep->wait_secret), "%s", WATCH_KEY_LEASES);
                return;
        }
        reply_json(rep, 200, json_pack("{s:s,s:b,s:o}", "token", token, "changed", !after || strcmp(token, after) != 0,
                                       "leases", own_leases_json(o)));
}
