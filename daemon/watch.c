/* watch.c — the long-poll waiters (see watch.h).
 *
 * An array of pointers, unordered: a waiter is found by scanning, which
 * for the few hundred waiters the limits allow costs less than any index
 * would save, and a rotation (the only thing that looks them up by name)
 * is rare next to the lease path.  Removal swaps the last one into the
 * hole, so every waiter knows its slot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

#define IDENTITY_MAX 256 /* attest.c's identities are shorter */

struct watch_waiter {
        char secret[SECRET_NAME_MAX + 1];
        char identity[IDENTITY_MAX]; /* "" when not counted per peer */
        uint64_t deadline_usec;
        void *cookie;
        size_t slot;
        struct watch_waiter *next; /* while being woken */
};

struct watch {
        watch_wake_fn wake;
        struct watch_waiter **v;
        size_t n, cap;
};

int watch_new(watch_wake_fn wake, struct watch **ret) {
        struct watch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->wake = wake;
        *ret = w;
        return 0;
}

struct watch *watch_free(struct watch *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n; i++)
                free(w->v[i]);
        free(w->v);
        free(w);
        return NULL;
}

static size_t count_identity(const struct watch *w, const char *identity) {
        size_t n = 0;

        for (size_t i = 0; i < w->n; i++)
                n += strcmp(w->v[i]->identity, identity) == 0;
        return n;
}

int watch_add(struct watch *w, const char *secret, const char *identity, const struct watch_limits *lim,
              uint64_t deadline_usec, void *cookie, struct watch_waiter **ret) {
        struct watch_waiter *wt;

        if (strlen(secret) > SECRET_NAME_MAX || (identity && (!identity[0] || strlen(identity) >= IDENTITY_MAX)))
                return -EINVAL;
        if (w->n >= lim->total)
                return -EBUSY;
        if (identity && count_identity(w, identity) >= lim->per_peer)
                return -EMFILE;
        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 16;
                struct watch_waiter **v = reallocarray(w->v, cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                w->v = v;
                w->cap = cap;
        }
        wt = calloc(1, sizeof(*wt));
        if (!wt)
                return -ENOMEM;
        strcpy(wt->secret, secret);
        strcpy(wt->identity, identity ? identity : "");
        wt->deadline_usec = deadline_usec;
        wt->cookie = cookie;
        wt->slot = w->n;
        w->v[w->n++] = wt;
        *ret = wt;
        return 0;
}

void watch_remove(struct watch *w, struct watch_waiter *wt) {
        size_t slot;

        if (!wt)
                return;
        slot = wt->slot;
        w->v[slot] = w->v[--w->n];
        w->v[slot]->slot = slot;
        free(wt);
}

/* Wakes every waiter pick() chooses: first all of them out of the table,
 * then their wake calls, so that a woken request that waits again (and is
 * added at the end) is never part of this round. */
static size_t wake_where(struct watch *w, bool (*pick)(const struct watch_waiter *wt, const void *arg),
                         const void *arg, enum watch_end why) {
        struct watch_waiter *picked = NULL;
        size_t woken = 0;

        for (size_t i = 0; i < w->n;) {
                struct watch_waiter *wt = w->v[i];

                if (!pick(wt, arg)) {
                        i++;
                        continue;
                }
                /* the last one moves into slot i and is looked at next */
                w->v[i] = w->v[--w->n];
                w->v[i]->slot = i;
                wt->next = picked;
                picked = wt;
        }
        while (picked) {
                struct watch_waiter *wt = picked;
                void *cookie = wt->cookie;

                picked = wt->next;
                free(wt);
                woken++;
                w->wake(cookie, why);
        }
        return woken;
}

static bool pick_secret(const struct watch_waiter *wt, const void *arg) {
        return strcmp(wt->secret, arg) == 0;
}

static bool pick_expired(const struct watch_waiter *wt, const void *arg) {
        return wt->deadline_usec <= *(const uint64_t *) arg;
}

static bool pick_all(const struct watch_waiter *wt, const void *arg) {
        (void) wt, (void) arg;
        return true;
}

size_t watch_changed(struct watch *w, const char *secret) {
        return w ? wake_where(w, pick_secret, secret, WATCH_CHANGED) : 0;
}

size_t watch_expire(struct watch *w, uint64_t now_usec) {
        return wake_where(w, pick_expired, &now_usec, WATCH_TIMED_OUT);
}

size_t watch_stop(struct watch *w) {
        return wake_where(w, pick_all, NULL, WATCH_STOPPING);
}

uint64_t watch_next_usec(const struct watch *w, uint64_t now_usec) {
        uint64_t best = UINT64_MAX;

        for (size_t i = 0; i < w->n; i++) {
                uint64_t d = w->v[i]->deadline_usec;
                uint64_t left = d <= now_usec ? 0 : d - now_usec;

                if (left < best)
                        best = left;
        }
        return best;
}

size_t watch_count(const struct watch *w) {
        return w->n;
}
