/* lease.c — the lease table (see lease.h).  A flat array: lookup by id and
 * the next deadline are linear scans (a few microseconds at ten thousand
 * leases); what is asked per instance is kept per instance, in
 * leasing-instance.c.  The table is behind these functions so a heap can
 * replace it. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

struct lease *lease_new_with_id(const char *id, const char *secret, const char *file, const char *instance,
                               const char *workload) {
        struct lease *l;

        if (!lease_id_valid(id))
                return NULL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        memcpy(l->id, id, sizeof(l->id));
        l->secret = strdup(secret);
        l->file = strdup(file);
        l->instance = strdup(instance);
        l->workload = strdup(workload);
        if (!l->secret || !l->file || !l->instance || !l->workload)
                return lease_free(l);
        return l;
}

struct lease *lease_new(const char *secret, const char *file, const char *instance, const char *workload) {
        uint8_t raw[LEASE_ID_LEN / 2];
        char id[LEASE_ID_LEN + 1];

        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
        return lease_new_with_id(id, secret, file, instance, workload);
}

struct lease *lease_free(struct lease *l) {
        if (!l)
                return NULL;
        free(l->secret);
        free(l->file);
        free(l->instance);
        free(l->workload);
        free(l);
        return NULL;
}

int lease_table_add(struct lease_table *t, struct lease *l) {
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                struct lease **v = reallocarray(t->v, cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                t->v = v;
                t->cap = cap;
        }
        t->v[t->n++] = l;
        return 0;
}

struct lease *lease_table_find(const struct lease_table *t, const char *id) {
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->v[i]->id, id) == 0)
                        return t->v[i];
        return NULL;
}

void lease_table_remove(struct lease_table *t, struct lease *l) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i] == l) {
                        t->v[i] = t->v[--t->n];
                        break;
                }
        lease_free(l);
}

int64_t lease_table_next_deadline(const struct lease_table *t) {
        int64_t best = INT64_MAX;

        for (size_t i = 0; i < t->n; i++)
                if (t->v[i]->expires_usec < best)
                        best = t->v[i]->expires_usec;
        return best;
}

struct lease *lease_table_first_expired(const struct lease_table *t, int64_t now) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i]->expires_usec <= now)
                        return t->v[i];
        return NULL;
}

void lease_table_clear(struct lease_table *t) {
        for (size_t i = 0; i < t->n; i++)
                lease_free(t->v[i]);
        free(t->v);
        *t = (struct lease_table) {};
}

int64_t lease_extend(struct lease *l, int64_t now, uint64_t ttl_usec) {
        int64_t want = ttl_usec > (uint64_t) (INT64_MAX - now) ? INT64_MAX : now + (int64_t) ttl_usec;

        if (l->until_exit)
                return l->expires_usec;
        l->expires_usec = want < l->max_expires_usec ? want : l->max_expires_usec;
        return l->expires_usec;
}
