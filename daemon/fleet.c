/* fleet.c — what other hosts did to the shared store, done here too (see
 * fleet.h): a new version of a secret goes into this host's live leases of
 * it, with the same atomic writes and on_rotate as a rotation made here,
 * and wakes its watchers; a delete revokes them.  The events come from
 * etcd-watch.c; this host's own writes come back the same way and find
 * every lease already at their version (leasing_rotate() skips those), so
 * they cost one read and change nothing.  The store's memory of the blobs
 * is told first of every change and of whether the watch is live
 * (backend_heard(), backend_watching()), so that it serves reads only
 * while they are current. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fleet.h"
#include "lease.h"
#include "leasing.h"
#include "secretd/log.h"
#include "server.h"
#include "store.h"
#include "watch.h"

static void woken(struct server *s, const char *name) {
        if (!s->watch)
                return;
        (void) watch_changed(s->watch, name);
        (void) watch_changed(s->watch, WATCH_KEY_LEASES);
}

static void fleet_deleted(struct server *s, const char *name) {
        size_t n = leasing_revoke_secret(s->leasing, name);

        woken(s, name);
        if (n)
                log_info("secret '%s' was deleted on another host: %zu leases revoked", name, n);
}

static void fleet_changed(struct server *s, const char *name) {
        size_t n = 0;
        int r;

        r = leasing_rotate(s->leasing, name, &n);
        if (r == -ENOENT) /* gone again since: its delete follows, or came first */
                return fleet_deleted(s, name);
        woken(s, name);
        if (r < 0)
                log_warn_errno(r, "secret '%s' changed on another host, but %zu of its leased files could not be "
                                  "updated: %m", name, leasing_count_secret(s->leasing, name) - n);
        else if (n)
                log_info("secret '%s' changed on another host: %zu leased files updated", name, n);
}

struct names {
        char **v;
        size_t n, cap;
        bool oom;
};

static void collect(void *userdata, const struct lease *ls) {
        struct names *nm = userdata;

        if (nm->n == nm->cap) {
                size_t cap = nm->cap ? 2 * nm->cap : 64;
                char **v = realloc(nm->v, cap * sizeof(char *));

                if (!v) {
                        nm->oom = true;
                        return;
                }
                nm->v = v;
                nm->cap = cap;
        }
        nm->v[nm->n++] = ls->secret; /* the lease's: valid while nothing changes the table */
}

static int by_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every secret this host leases, once, against the store. */
static void fleet_resync(struct server *s, const char *why) {
        const struct leasing_caller all = { .admin = true };
        struct names nm = {};
        char **copies;
        size_t n = 0;

        leasing_list(s->leasing, &all, collect, &nm);
        if (nm.n)
                qsort(nm.v, nm.n, sizeof(char *), by_name);
        /* copied: a revocation while we go frees the leases' names */
        copies = calloc(nm.n ? nm.n : 1, sizeof(char *));
        for (size_t i = 0; copies && i < nm.n; i++)
                if ((i == 0 || strcmp(nm.v[i], nm.v[i - 1]) != 0) && (copies[n] = strdup(nm.v[i])))
                        n++;
        free(nm.v);
        log_info("store watch: %s; comparing the %zu secrets leased here with the store", why, n);
        if (!copies || nm.oom)
                log_warn("store watch: out of memory; some leased secrets were not compared");
        for (size_t i = 0; i < n; i++) {
                fleet_changed(s, copies[i]);
                free(copies[i]);
        }
        free(copies);
}

void fleet_apply(struct server *s, const struct etcd_event *ev) {
        struct backend *b = store_backend(s->store);

        switch (ev->type) {
        case ETCD_EVENT_PUT:
        case ETCD_EVENT_DELETE:
                /* first: what the store keeps in memory of it is stale */
                backend_heard(b, ev->name, ev->rev);
                if (!store_name_valid(ev->name))
                        break;
                if (ev->type == ETCD_EVENT_PUT)
                        fleet_changed(s, ev->name);
                else
                        fleet_deleted(s, ev->name);
                break;
        case ETCD_EVENT_RESYNC:
                fleet_resync(s, ev->why);
                break;
        case ETCD_EVENT_LIVE:
                backend_watching(b, true);
                break;
        case ETCD_EVENT_LOST:
                log_info("store watch: the stream from etcd broke; reading from etcd until it is back");
                backend_watching(b, false);
                break;
        }
}
