/* watch.h — long-poll waiters: who waits for which secret to change, and
 * until when.
 *
 * Pure bookkeeping, like lease.h: no sockets, no clock reads, no logging.
 * http.c parks a request here (and its connection in MHD) and is told,
 * through the wake function, when the secret changed or the wait ran out;
 * api.c says when a secret changed.  A waiter is one small fixed-size
 * record; the table is bounded in total and per identity by the limits
 * the caller passes, so idle waiters hold neither a thread nor more
 * memory than their count allows. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretd/protocol.h" /* SECRET_NAME_MAX */

/* The key lease watchers wait under (api-watch.c): no secret's name (a
 * secret name has no '/'); woken by any secret's change, each judges
 * whether its own leases changed. */
#define WATCH_KEY_LEASES "/leases"

enum watch_end {
        WATCH_CHANGED,   /* the secret changed (or is gone): answer now */
        WATCH_TIMED_OUT, /* its deadline passed: answer "no change" */
        WATCH_STOPPING,  /* the daemon stops: answer "no change" */
};

/* cookie is the caller's, given to watch_add(); the waiter is already out
 * of the table when this runs. */
typedef void (*watch_wake_fn)(void *cookie, enum watch_end why);

struct watch;
struct watch_waiter;

int watch_new(watch_wake_fn wake, struct watch **ret);
/* Frees the table; waiters still in it are not woken (watch_stop() first). */
struct watch *watch_free(struct watch *w);

struct watch_limits {
        uint64_t total;     /* waiters in all */
        uint64_t per_peer;  /* waiters of one identity (when it is counted) */
};
/* Parks cookie until secret changes or deadline_usec passes.  identity
 * NULL: counted in the total only (admins).  -EBUSY when the total is
 * reached, -EMFILE when this identity's share is, -EINVAL for a name
 * longer than a secret's, -ENOMEM. */
int watch_add(struct watch *w, const char *secret, const char *identity, const struct watch_limits *lim,
              uint64_t deadline_usec, void *cookie, struct watch_waiter **ret);
/* Takes wt out without waking it (its connection went away). */
void watch_remove(struct watch *w, struct watch_waiter *wt);
/* Wakes (WATCH_CHANGED) every waiter of secret; returns how many. */
size_t watch_changed(struct watch *w, const char *secret);
/* Wakes (WATCH_TIMED_OUT) every waiter whose deadline is at or before now. */
size_t watch_expire(struct watch *w, uint64_t now_usec);
/* Wakes (WATCH_STOPPING) every waiter. */
size_t watch_stop(struct watch *w);
/* Microseconds from now to the earliest deadline (0 when one has passed);
 * UINT64_MAX when nobody waits. */
uint64_t watch_next_usec(const struct watch *w, uint64_t now_usec);
size_t watch_count(const struct watch *w);
