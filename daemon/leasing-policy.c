/* leasing-policy.c — every right granted judged against the policy in
 * force (see leasing_policy_changed() in leasing.h).
 *
 * A lease is a right the policy gave: a workload, a grant of one secret to
 * it, and the file, mode and owner that grant wrote.  When the policy
 * changes, a lease that the new policy would not give in the same form
 * ends; so do all the leases of an instance whose leasing callers (their
 * facts, kept here from grant time) the new policy places elsewhere.  An
 * instance is bound to the one workload its leases belong to.  Never logs;
 * the ends are audited (reason "policy changed"). */
#include <stdlib.h>
#include <string.h>

#include "leasing-internal.h"
#include "secretd/cleanup.h"
#include "policy.h"

/* Distinct callers' facts kept per instance.  The processes of one
 * container rarely differ in more than uid, exe and sub-cgroup; past this
 * the instance stops remembering and is judged as if a caller no longer
 * matched (its leases end on the next reload, and it leases again). */
#define INSTANCE_FACTS_MAX 16

const char *instance_workload(const struct instance *in) {
        return in->n_leases > 0 ? in->leases[0]->workload : NULL;
}

void instance_remember(struct instance *in, const struct peer *p) {
        struct peer **grown, *copy;

        for (size_t i = 0; i < in->n_facts; i++)
                if (attest_peer_same_facts(in->facts[i], p))
                        return;
        if (in->facts_lost)
                return;
        if (in->n_facts == INSTANCE_FACTS_MAX) {
                in->facts_lost = true;
                return;
        }
        grown = reallocarray(in->facts, in->n_facts + 1, sizeof(*grown));
        if (grown)
                in->facts = grown;
        copy = grown ? attest_peer_facts_copy(p) : NULL;
        if (!copy) {
                in->facts_lost = true; /* fail closed: judged as not matching */
                return;
        }
        in->facts[in->n_facts++] = copy;
}

void instance_forget(struct instance *in) {
        for (size_t i = 0; i < in->n_facts; i++)
                peer_free(in->facts[i]);
        free(in->facts);
        in->facts = NULL;
        in->n_facts = 0;
        in->facts_lost = false;
}

/* Whether g (NULL: none) writes ls's file as it was written. */
static bool grant_as_written(const struct grant *g, const struct lease *ls) {
        return g && strcmp(g->file, ls->file) == 0 && g->mode == ls->mode && (!g->has_uid || g->uid == ls->uid) &&
               (!g->has_gid || g->gid == ls->gid);
}

bool lease_in_force(const struct policy *pol, const struct lease *ls) {
        return grant_as_written(workload_grant(policy_workload(pol, ls->workload), ls->secret), ls);
}

static bool str_same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether the grant of ls's secret reads the same in old as in w: an owner
 * override taken away changes whose file it is even when lease_in_force()
 * cannot tell. */
static bool grant_unchanged(const struct policy *old, const struct workload *w, const struct lease *ls) {
        const struct grant *o = workload_grant(policy_workload(old, ls->workload), ls->secret);
        const struct grant *g = workload_grant(w, ls->secret);

        if (!o || !g)
                return !o; /* nothing to compare with: lease_in_force() judged it */
        return strcmp(o->file, g->file) == 0 && o->mode == g->mode && o->has_uid == g->has_uid &&
               (!o->has_uid || o->uid == g->uid) && o->has_gid == g->has_gid && (!o->has_gid || o->gid == g->gid);
}

/* Whether every caller that leased into in is still placed in w. */
static bool callers_still_match(const struct instance *in, const struct policy *pol, const struct workload *w) {
        if (in->facts_lost)
                return false;
        for (size_t i = 0; i < in->n_facts; i++) {
                const struct workload *m = policy_match(pol, in->facts[i]);

                if (!m || strcmp(m->name, w->name) != 0)
                        return false;
        }
        return true;
}

/* Ends what pol no longer grants of in; the last lease takes in with it. */
static void instance_judge(struct leasing *l, struct instance *in, const struct policy *old,
                           const struct policy *pol) {
        /* a copy: the lease that holds the name may be the first to go */
        _cleanup_free_ char *name = in->n_leases > 0 ? strdup(instance_workload(in)) : NULL;
        const struct workload *w = policy_workload(pol, name), *was = policy_workload(old, name);
        bool all = !w || !callers_still_match(in, pol, w) || (was && !str_same(was->inject, w->inject));

        if (in->n_leases > 0 && !name)
                all = true; /* out of memory: fail closed */
        /* backwards: a drop moves the last lease into the dropped one's place */
        for (size_t j = in->n_leases; j-- > 0;) {
                struct lease *ls = in->leases[j];
                bool last = in->n_leases == 1;

                if (!all && strcmp(ls->workload, name) == 0 && grant_as_written(workload_grant(w, ls->secret), ls) &&
                    grant_unchanged(old, w, ls)) {
                        ls->on_rotate_signal = w->on_rotate_signal;
                        continue;
                }
                lease_drop(l, ls, NULL, "revoke", "policy changed");
                if (last)
                        return;
        }
}

size_t leasing_policy_changed(struct leasing *l, const struct policy *old, const struct policy *now) {
        size_t before = l->table.n;

        l->policy = now;
        /* backwards: a released instance's place goes to the last one,
         * already judged */
        for (size_t i = l->n_inst; i-- > 0;)
                if (i < l->n_inst)
                        instance_judge(l, l->inst[i], old, now);
        leasing_rearm(l);
        return before - l->table.n;
}
