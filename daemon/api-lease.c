/* api-lease.c — the lease routes (DESIGN §7): a request's caller placed
 * in its workload once, handed to leasing (leasing.h), and what it answers
 * rendered as JSON and statuses.  Leasing decides and audits; this file
 * only asks and words the answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api-internal.h"
#include "lease.h"
#include "leasing.h"
#include "policy.h"
#include "runtime-records.h"
#include "secretd/cleanup.h"
#include "secretd/parse.h"

/* A caller in a mount namespace of its own (a container) sees neither the
 * host's secrets_root nor, without inject, anything at all: the lease is
 * made (the host path is real) but useless to it, so it is told.  A
 * service's namespace (PrivateTmp=) is a copy that receives the host's new
 * mounts, so a unit does see its host_path. */
static json_t *lease_warnings(json_t *out, const struct peer *p, const struct workload *w) {
        if (out && !w->inject && !p->same_mnt_ns && runtime_info(p->cls.runtime)->scope != RUNTIME_SCOPE_UNIT)
                api_warning(out, "this caller is in a mount namespace of its own and workload '%s' has no "
                            "\"inject\": its host_path is not visible here; add \"inject\": \"/run/secrets\" "
                            "to the workload", w->name);
        return out;
}

/* The caller as leasing sees it: placed by the policy in force once per
 * request, here, and handed down. */
static struct leasing_caller lease_caller(struct server *s, const struct request *req) {
        return (struct leasing_caller) {
                .peer = req->peer,
                .workload = policy_match(s->config->policy, req->peer),
                .admin = attest_peer_admin(&s->attest, req->peer),
        };
}

/* w: the lease's workload, for the path inside the container; NULL in a
 * listing. */
static json_t *lease_json(const struct leasing *l, const struct lease *ls, const struct workload *w) {
        /* the hook mounts a workload without "inject" at the default */
        const char *at = w && w->inject ? w->inject : w && ls->until_exit ? POLICY_DEFAULT_INJECT : NULL;
        char host[4096], inside[4096], mode[8];

        leasing_host_path(l, ls, host, sizeof(host));
        snprintf(inside, sizeof(inside), "%s/%s", at ? at : "", ls->file);
        snprintf(mode, sizeof(mode), "%04o", (unsigned) ls->mode);
        /* a lease until its container exits has no time to expire at:
         * "expires" is null and "until" says what ends it */
        return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s*,s:s,s:o,s:o,s:s,s:s,s:i,s:i}", "id", ls->id, "secret",
                         ls->secret, "workload", ls->workload, "version", (json_int_t) ls->version, "host_path", host,
                         "path", at ? inside : NULL, "instance", ls->instance, "granted",
                         time_json(ls->granted_usec), "expires",
                         ls->until_exit ? json_null() : time_json(ls->expires_usec), "until",
                         ls->until_exit ? "exit" : "expiry", "mode", mode, "uid", (int) ls->uid, "gid", (int) ls->gid);
}

/* A TTL the workload's max_ttl shortened (counted from a lease's first
 * grant, so a renewal can be shortened below max_ttl): said in the reply,
 * not silently. */
static void warn_capped(json_t *reply, const struct lease_set *set) {
        const struct workload *w = set->workload;
        int64_t got = INT64_MAX;
        char a[32], m[32], g[32];

        for (size_t i = 0; i < set->n; i++)
                if (set->v[i]->expires_usec - set->now_usec < got)
                        got = set->v[i]->expires_usec - set->now_usec;
        if (got < 0 || (uint64_t) got >= set->ttl_usec)
                return;
        format_duration(set->ttl_usec, a, sizeof(a));
        format_duration(w->max_ttl_usec, m, sizeof(m));
        /* whole seconds, rounded up: "30m", not "1799476784us" */
        format_duration(((uint64_t) got + 999999) / 1000000 * 1000000, g, sizeof(g));
        api_warning(reply, "ttl %s was capped at max_ttl %s of workload '%s' (counted from the lease's first "
                    "grant): it now ends in %s", a, m, w->name, g);
}

/* The body of a lease request: {"secrets": [names], "ttl": …}; names
 * borrow from *ret_body, which the caller frees. */
static int lease_request_parse(const struct request *req, struct reply *rep, const char *names[static POLICY_GRANTS_MAX],
                               struct lease_request *ret, json_t **ret_body) {
        static const char *const keys[] = { "secrets", "ttl", NULL };
        json_t *body, *list, *e;
        size_t i, n = 0;

        body = *ret_body = json_body(req, rep);
        if (!body)
                return -EINVAL;
        list = json_object_get(body, "secrets");
        if (body_keys_only(body, keys, rep) < 0 || body_ttl(body, rep, &ret->ttl_usec) < 0)
                return -EINVAL;
        if (list && (!json_is_array(list) || json_array_size(list) > POLICY_GRANTS_MAX)) {
                api_error(rep, API_ERR_BAD_REQUEST, "secrets must be an array of names");
                return -EINVAL;
        }
        json_array_foreach(list, i, e) {
                if (!json_is_string(e) || !store_name_valid(json_string_value(e))) {
                        api_error(rep, API_ERR_INVALID_NAME, "secrets[%zu] is not a valid secret name", i);
                        return -EINVAL;
                }
                names[n++] = json_string_value(e);
        }
        ret->secrets = names;
        ret->n_secrets = n;
        return 0;
}

/* The reply to a lease that was not made (leasing audited the refusal). */
static void lease_refused(struct reply *rep, const struct leasing_caller *c, int r, const struct lease_error *err) {
        const struct workload *w = c->workload;
        const char *bad = err->secret ? err->secret : "?";

        if (err->reason == LEASE_REFUSED_NO_WORKLOAD)
                api_error(rep, API_ERR_FORBIDDEN, "no workload in the policy matches '%s'%s%s", c->peer->identity,
                          records_unavailable(c->peer) ? "; its runtime record was not believed: " : "",
                          records_unavailable(c->peer) ?: "");
        else if (err->reason == LEASE_REFUSED_OTHER_WORKLOAD)
                /* the same scope under another workload: kept apart */
                api_error(rep, API_ERR_CONFLICT, "'%s' holds leases of another workload; this caller matches "
                          "workload '%s' (revoke those leases first)", c->peer->identity, w->name);
        else if (err->reason == LEASE_FAILED_INJECT && r == -EPERM)
                api_error(rep, API_ERR_FORBIDDEN, "secrets are injected only into the container's own mount "
                          "namespace or, for a host process, one of the host's user namespace; not at '%s' here",
                          w->inject);
        else if (err->reason == LEASE_FAILED_INJECT && r == -ESRCH)
                api_error(rep, API_ERR_UNAVAILABLE, "cannot find the container's main process to mount the "
                          "secrets at '%s' in its namespace", w->inject);
        else if (err->reason == LEASE_FAILED_INJECT && r == -ETIMEDOUT)
                api_error(rep, API_ERR_UNAVAILABLE, "making the mount point '%s' inside the container did not "
                          "finish in time (a mount that does not answer?); nothing was mounted", w->inject);
        else if (err->reason == LEASE_FAILED_INJECT)
                api_error(rep, API_ERR_UNAVAILABLE, "cannot mount the secrets at '%s' inside the container: %s; "
                          "give it a writable parent (e.g. --tmpfs /run) or an image that has '%s'",
                          w->inject, strerror(-r), w->inject);
        else if (err->reason == LEASE_REFUSED_NOT_GRANTED)
                api_error(rep, API_ERR_FORBIDDEN, "secret '%s' is not granted to workload '%s'", bad, w->name);
        else if (r == -ENOENT)
                api_error(rep, API_ERR_NOT_FOUND, "secret '%s' does not exist", bad);
        else if (r == -ENOSPC)
                api_error(rep, API_ERR_UNAVAILABLE, "the workload's secrets tmpfs (or the lease records' "
                          "runtime directory) is full; nothing was changed");
        else
                api_error(rep, API_ERR_INTERNAL, "cannot materialize '%s': %s", bad, strerror(-r));
}

json_t *leases_json(const struct leasing *l, const struct lease_set *set) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < set->n; i++)
                json_array_append_new(arr, lease_json(l, set->v[i], set->workload));
        return json_pack("{s:o}", "leases", arr);
}

void route_lease(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const struct leasing_caller c = lease_caller(s, req);
        const char *names[POLICY_GRANTS_MAX];
        struct lease_request lr = {};
        _cleanup_free_ struct lease_set *got = malloc(sizeof(*got));
        struct lease_error err;
        json_t *body = NULL, *out;
        int r;

        (void) name;
        if (!got)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
        /* a caller placed nowhere is refused before its body is read */
        if (c.workload && lease_request_parse(req, rep, names, &lr, &body) < 0) {
                json_decref(body);
                return;
        }
        r = leasing_grant(s->leasing, &c, &lr, got, &err);
        if (r < 0) {
                lease_refused(rep, &c, r, &err);
        } else {
                out = leases_json(s->leasing, got);
                warn_capped(out, got);
                reply_json(rep, 201, lease_warnings(out, req->peer, c.workload));
        }
        json_decref(body);
}

struct listing {
        const struct leasing *leasing;
        json_t *arr;
};

static void lease_listed(void *userdata, const struct lease *ls) {
        struct listing *li = userdata;

        json_array_append_new(li->arr, lease_json(li->leasing, ls, NULL));
}

void route_leases(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const struct leasing_caller c = lease_caller(s, req);
        json_t *arr = json_array();

        (void) name;
        if (arr)
                leasing_list(s->leasing, &c, lease_listed, &(struct listing) { s->leasing, arr });
        reply_json(rep, 200, json_pack("{s:o}", "leases", arr));
}

static void lease_error(struct reply *rep, int r, const char *id) {
        if (r == -ENOENT)
                api_error(rep, API_ERR_NOT_FOUND, "lease '%s' does not exist (or has expired)", id);
        else if (r == -EACCES)
                api_error(rep, API_ERR_FORBIDDEN, "lease '%s' belongs to another workload", id);
        else if (r == -ENOSPC)
                api_error(rep, API_ERR_UNAVAILABLE, "lease '%s' not renewed: the runtime directory is full", id);
        else
                api_error(rep, API_ERR_INTERNAL, "lease '%s': %s", id, strerror(-r));
}

void route_renew(struct server *s, const struct request *req, const char *id, struct reply *rep) {
        static const char *const keys[] = { "ttl", NULL };
        const struct leasing_caller c = lease_caller(s, req);
        _cleanup_free_ struct lease_set *got = malloc(sizeof(*got));
        json_t *body = got ? json_body(req, rep) : NULL, *out;
        uint64_t ttl;
        int r;

        if (!got)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
        if (!body)
                return;
        if (body_keys_only(body, keys, rep) >= 0 && body_ttl(body, rep, &ttl) >= 0) {
                r = leasing_renew(s->leasing, &c, id, ttl, got);
                if (r < 0) {
                        lease_error(rep, r, id);
                } else {
                        out = lease_json(s->leasing, got->v[0], got->workload);
                        warn_capped(out, got);
                        reply_json(rep, 200, out);
                }
        }
        json_decref(body);
}

void route_revoke(struct server *s, const struct request *req, const char *id, struct reply *rep) {
        const struct leasing_caller c = lease_caller(s, req);
        int r = leasing_revoke(s->leasing, &c, id);

        if (r < 0)
                return lease_error(rep, r, id);
        reply_json(rep, 200, json_pack("{s:s}", "revoked", id));
}
