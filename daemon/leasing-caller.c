/* leasing-caller.c — what a caller may do with the leases it holds: list
 * them, renew one, revoke one (see leasing.h).  A caller touches the leases
 * of its own scope and workload; an admin any.  Part of leasing: it works
 * on the lease table and the instances through leasing-internal.h. */
#include <errno.h>
#include <string.h>

#include "lease-record.h"
#include "lease.h"
#include "leasing.h"
#include "leasing-internal.h"

struct toucher {
        bool admin;
        bool placed; /* has a scope and a workload */
        char iname[256];
        const char *workload;
};

static void toucher_of(const struct leasing_caller *c, struct toucher *ret) {
        *ret = (struct toucher) { .admin = c->admin };
        ret->placed = c->workload && c->peer && instance_name(c->peer, ret->iname, sizeof(ret->iname)) >= 0;
        ret->workload = c->workload ? c->workload->name : NULL;
}

static bool may_touch(const struct toucher *t, const struct lease *ls) {
        if (t->admin)
                return true;
        return t->placed && strcmp(t->iname, ls->instance) == 0 && strcmp(t->workload, ls->workload) == 0;
}

void leasing_list(struct leasing *l, const struct leasing_caller *c, lease_fn fn, void *userdata) {
        struct toucher t;

        toucher_of(c, &t);
        for (size_t i = 0; i < l->table.n; i++)
                if (may_touch(&t, l->table.v[i]))
                        fn(userdata, l->table.v[i]);
}

void leasing_list_own(struct leasing *l, const struct leasing_caller *c, lease_fn fn, void *userdata) {
        struct toucher t;
        struct instance *in;

        toucher_of(c, &t);
        t.admin = false;
        /* its instance's leases alone: a watcher's view is recomputed at
         * every rotation, so never a walk of the whole table */
        in = t.placed ? instance_find(l, t.iname) : NULL;
        for (size_t i = 0; in && i < in->n_leases; i++)
                if (may_touch(&t, in->leases[i]))
                        fn(userdata, in->leases[i]);
}

int leasing_renew(struct leasing *l, const struct leasing_caller *c, const char *id, uint64_t ttl_usec,
                  struct lease_set *ret) {
        struct lease *ls = lease_table_find(&l->table, id);
        const struct workload *w;
        struct store_version v;
        struct toucher t;
        int64_t old_expires, now;
        int r;

        if (!ls)
                return -ENOENT;
        toucher_of(c, &t);
        if (!may_touch(&t, ls))
                return -EACCES;
        /* what the policy no longer grants is not renewed, by anyone (a
         * reload ends such leases; this holds whatever the order) */
        if (!lease_in_force(l->policy, ls))
                return -EACCES;
        w = policy_workload(l->policy, ls->workload);
        if (ttl_usec == 0)
                ttl_usec = w->ttl_usec;
        r = lease_file_put(l, ls->owner, ls->secret, ls->file, ls->uid, ls->gid, ls->mode, ls->version, &v);
        if (r < 0)
                return r;
        ls->version = v.version;
        old_expires = ls->expires_usec;
        now = leasing_now_usec();
        lease_extend(ls, now, ttl_usec);
        r = lease_save_record(l, ls);
        if (r < 0) {
                ls->expires_usec = old_expires;
                return r;
        }
        audit_lease(l, "renew", c->peer, ls, NULL);
        leasing_deadline_moved(l, old_expires, ls->expires_usec);
        *ret = (struct lease_set) { .v = { ls }, .n = 1, .workload = w, .now_usec = now, .ttl_usec = ttl_usec };
        return 0;
}

int leasing_revoke(struct leasing *l, const struct leasing_caller *c, const char *id) {
        struct lease *ls = lease_table_find(&l->table, id);
        struct toucher t;

        if (!ls)
                return -ENOENT;
        toucher_of(c, &t);
        if (!may_touch(&t, ls))
                return -EACCES;
        lease_drop(l, ls, c->peer, "revoke", NULL);
        leasing_rearm(l);
        return 0;
}
