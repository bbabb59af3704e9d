/* leasing.h — leases end to end: grant, renew, revoke, expire, and the
 * rotation fan-out.  Ties the lease table to the store (values), the
 * instance directories (materialize.c) and the audit stream.
 *
 * Leases are recorded under runtime_dir (lease-record.c) and survive a
 * restart or a crash. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"
#include "config.h"
#include "policy.h"

struct server;
struct leasing;

/* Prepares secrets_root (0755) and runtime_dir/leases (0700). */
int leasing_open(const struct config *c, struct leasing **ret);
struct leasing_recovery {
        unsigned kept, expired, dropped;
};
/* After a restart or crash: reloads the lease records, keeps the live
 * leases with their deadlines (their files get the current version),
 * removes expired ones, orphaned directories and the leases of workloads
 * that ended meanwhile.  Needs the store and attestation ready. */
int leasing_recover(struct server *s, struct leasing_recovery *ret);
/* Closes without revoking: files, mounts and records stay for the next
 * start. */
struct leasing *leasing_close(struct leasing *l);
int leasing_timer_fd(const struct leasing *l);
/* inotify on the cgroups of workloads with leases: readable when one may
 * have ended; then leasing_watch_events(). */
int leasing_watch_fd(const struct leasing *l);
void leasing_watch_events(struct server *s);
/* Revokes the leases of every workload whose cgroup is empty or gone. */
void leasing_sweep(struct server *s);
bool leasing_privileged(const struct leasing *l);
size_t leasing_count(const struct leasing *l);
size_t leasing_count_secret(const struct leasing *l, const char *secret);

/* Materializes the named grants (all of w's when n == 0) for peer, in the
 * instance of the peer's own scope.  -EACCES: a name is not granted;
 * -ENOENT: a granted secret does not exist (*ret_bad names it, borrowed);
 * -EBUSY with *ret_bad NULL: that instance holds leases of another
 * workload.  Nothing new is left behind on failure. */
int leasing_grant(struct server *s, const struct peer *p, const struct workload *w, const char *const *names,
                  size_t n, uint64_t ttl_usec, json_t **ret, const char **ret_bad);
/* The caller's leases, or all when admin. */
json_t *leasing_list(struct server *s, const struct peer *p);
/* -ENOENT unknown id, -EACCES not the caller's (its scope and workload;
 * admins may touch any) or, for renew, no longer granted as it was. */
int leasing_renew(struct server *s, const struct peer *p, const char *id, uint64_t ttl_usec, json_t **ret);
int leasing_revoke(struct server *s, const struct peer *p, const char *id);
/* After a new version is stored: every live file of secret gets it before
 * this returns; then on_rotate signals go out.  ret_updated counts files. */
int leasing_rotate(struct server *s, const char *secret, size_t *ret_updated);
/* The secret was deleted: every lease of it goes. */
size_t leasing_revoke_secret(struct server *s, const char *secret);
/* The policy in force changed (s->config->policy; old is the one before,
 * NULL at start-up): every lease whose workload is gone, whose grant of
 * its secret is gone or writes another file, mode or owner, or whose
 * instance's inject path changed, ends; so does every lease of an
 * instance one of whose leasing callers the policy no longer places in its
 * workload.  Each is audited as a revoke, reason "policy changed".
 * Returns how many ended. */
size_t leasing_policy_changed(struct server *s, const struct policy *old);
/* Timer fired: expire what is due, re-arm for the next deadline. */
void leasing_expire(struct server *s);
