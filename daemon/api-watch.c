/* api-watch.c — GET /v1/secrets/{name}/watch?after=N&timeout=D: answers
 * as soon as the secret's version is no longer N (at once when it already
 * is not), or at the timeout with "changed": false.  An admin may watch
 * any secret; any other caller the secrets its workload is granted (the
 * policy in force), and only the version is ever told, never a value.
 * The wait itself is http.c's (a parked connection, watch.h): this route
 * judges and answers, and asks for a wait with rep->wait. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api-internal.h"
#include "audit.h"
#include "policy.h"
#include "secretd/parse.h"
#include "store.h"

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
