/* api-status.c — the daemon and the caller as they are: GET /v1/health,
 * /v1/whoami (the caller's attested facts, its workload and grants),
 * /v1/status (counts and the store's reach) and /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-internal.h"
#include "backend.h"
#include "policy.h"
#include "secretd/cleanup.h"
#include "secretd/parse.h"
#include "store.h"
#include "watch.h"

void route_health(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        (void) s, (void) req, (void) name;
        reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *grants_json(const struct workload *w) {
        json_t *a = json_array();
        char mode[8];

        for (size_t i = 0; a && w && i < w->n_grants; i++) {
                const struct grant *g = &w->grants[i];
                json_t *o;

                snprintf(mode, sizeof(mode), "%04o", (unsigned) g->mode);
                o = json_pack("{s:s,s:s,s:s}", "name", g->name, "file", g->file, "mode", mode);
                if (o && g->has_uid)
                        json_object_set_new(o, "uid", json_integer(g->uid));
                if (o && g->has_gid)
                        json_object_set_new(o, "gid", json_integer(g->gid));
                json_array_append_new(a, o);
        }
        return a;
}

/* Paths from /proc (the exe, the cgroup) are bytes and JSON strings are
 * UTF-8, and any user can name a binary or a delegated cgroup with any
 * bytes.  Such a path is shown with every byte outside printable ASCII as
 * \xNN: the reply stays JSON and still says which path it was.  NULL for
 * NULL (the key is then left out). */
static json_t *json_path(const char *s) {
        _cleanup_free_ char *e = NULL;
        json_t *j;
        size_t k = 0;

        if (!s)
                return NULL;
        j = json_string(s);
        if (j)
                return j;
        e = malloc(strlen(s) * 4 + 1);
        if (!e)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c >= 0x20 && *c < 0x7f)
                        e[k++] = (char) *c;
                else
                        k += (size_t) snprintf(e + k, 5, "\\x%02x", *c);
        }
        e[k] = '\0';
        return json_string(e);
}

void route_whoami(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        const struct peer *p = req->peer;
        const struct workload *w = policy_match(s->config->policy, p);
        json_t *groups = json_array(), *o;

        (void) name;
        for (size_t i = 0; groups && i < p->n_groups; i++)
                json_array_append_new(groups, json_integer(p->groups[i]));
        o = json_pack("{s:s,s:s,s:b,s:i,s:i,s:i,s:o,s:o,s:o*,s:b,s:b,s:b,s:s*}", "identity", p->identity, "runtime",
                      runtime_to_string(p->cls.runtime), "admin", attest_peer_admin(&s->attest, p), "pid",
                      (int) p->pid, "uid", (int) p->uid, "gid", (int) p->gid, "groups", groups, "cgroup",
                      json_path(p->cgroup), "exe", json_path(p->exe), "same_pid_namespace", p->same_pid_ns,
                      "same_mount_namespace", p->same_mnt_ns, "same_user_namespace", p->same_user_ns, "reason",
                      p->unknown_reason);
        if (!o)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
        if (p->cls.id[0])
                json_object_set_new(o, runtime_info(p->cls.runtime)->scope == RUNTIME_SCOPE_UNIT ? "unit" : "id",
                                    json_string(p->cls.id));
        if (p->cls.pod_uid[0])
                json_object_set_new(o, "pod_uid", json_string(p->cls.pod_uid));
        /* what the runtime recorded, for writing a policy: never a secret */
        json_object_set_new(o, "selectors", p->selectors ? json_deep_copy(p->selectors) : json_object());
        if (w) {
                char ttl[32], max_ttl[32];

                format_duration(w->ttl_usec, ttl, sizeof(ttl));
                format_duration(w->max_ttl_usec, max_ttl, sizeof(max_ttl));
                json_object_set_new(o, "workload", json_pack("{s:s,s:o,s:s,s:s,s:s*}", "name", w->name, "grants",
                                                             grants_json(w), "ttl", ttl, "max_ttl", max_ttl,
                                                             "inject", w->inject));
        } else {
                json_object_set_new(o, "workload", json_null());
        }
        reply_json(rep, 200, o);
}

static double uptime_s(const struct server *s) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ((int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - s->started_usec) / 1e6;
}

/* Whether the store answered its last call, and since when not. */
static bool backend_state(struct server *s, int64_t *ret_since_usec) {
        *ret_since_usec = 0;
        return backend_reachable(store_backend(s->store), ret_since_usec);
}

void route_status(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        int64_t since;
        size_t n = 0;
        bool reachable;

        (void) req, (void) name;
        (void) store_count(s->store, &n);
        reachable = backend_state(s, &since);
        reply_json(rep, 200, json_pack("{s:s,s:i,s:f,s:I,s:i,s:I,s:I,s:s,s:s,s:b,s:o}", "version", SECRETD_VERSION,
                                       "pid", (int) getpid(), "uptime_s", uptime_s(s), "secrets", (json_int_t) n,
                                       "connections", (int) s->connections, "watchers",
                                       (json_int_t) (s->watch ? watch_count(s->watch) : 0), "workloads",
                                       (json_int_t) (s->config->policy ? s->config->policy->n_workloads : 0),
                                       "state_dir", s->config->state_dir, "backend",
                                       store_backend(s->store)->kind, "backend_reachable", reachable,
                                       "backend_cut_off_since", reachable ? json_null() : time_json(since)));
}

void route_metrics(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        struct metrics_gauges g = { .connections = s->connections, .uptime_s = uptime_s(s) };
        struct timespec now;
        int64_t since;

        (void) req, (void) name;
        (void) store_count(s->store, &g.secrets);
        g.backend_reachable = backend_state(s, &since);
        clock_gettime(CLOCK_REALTIME, &now);
        if (!g.backend_reachable)
                g.backend_cut_off_s = (double) ((int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000 - since) / 1e6;
        if (metrics_render(&s->metrics, &g, &rep->text) < 0)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
        rep->status = 200;
}
