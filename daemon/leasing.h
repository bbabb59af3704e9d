/* leasing.h — leases end to end: grant, renew, revoke, expire, and the
 * rotation fan-out.  Ties the lease table to the store (values), the
 * instance directories (materialize.c) and the audit stream.
 *
 * Leases are recorded under runtime_dir (lease-record.c) and survive a
 * restart or a crash.
 *
 * It reaches only what leasing_open() was given, and its callers come as
 * plain structs: an attested caller already placed in its workload, a
 * request; it answers with leases and reasons.  It renders nothing (api.c
 * makes the JSON and the statuses) and watches cgroups through
 * exit-watch.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"
#include "audit.h"
#include "lease.h"
#include "policy.h"
#include "store.h"

struct leasing;

/* What leasing uses, given once: it reaches nothing else. */
struct leasing_deps {
        struct store *store;          /* values; outlives the leasing */
        struct audit *audit;          /* decisions and life-cycle events */
        const struct attest_context *attest; /* the cgroup2 root and the host's namespaces, read at each use */
        const struct policy *policy;  /* in force at start; then leasing_policy_changed() */
        const char *secrets_root;     /* instance directories */
        const char *runtime_dir;      /* lease records, in its "leases" */
        uint64_t tmpfs_size;          /* of each instance's tmpfs */
};

/* Who asks, attested and placed by the caller (the workload is matched
 * once, there, and handed down).  peer gives the scope (instance), the
 * processes to inject into and signal, and the audit's "who"; a caller
 * that is no local process has a peer (never NULL: its identity is what
 * is audited) without pid, pidfd or cgroup, and so no scope: it can still
 * list, renew and revoke when admin. */
struct leasing_caller {
        const struct peer *peer;
        const struct workload *workload; /* NULL: the policy places it nowhere */
        bool admin;                      /* may see, renew and revoke every lease */
};

/* A lease request: the named grants (all of the workload's when none). */
struct lease_request {
        const char *const *secrets;
        size_t n_secrets;
        uint64_t ttl_usec;            /* 0: the workload's ttl */
};

/* The leases one grant or renewal made or extended: borrowed, valid until
 * the next leasing call.  now_usec is when; ttl_usec is what was asked
 * (the workload's ttl when nothing was), so a caller can tell one that
 * the workload's max_ttl capped. */
struct lease_set {
        const struct lease *v[POLICY_GRANTS_MAX];
        size_t n;
        const struct workload *workload; /* whose leases they are */
        int64_t now_usec;
        uint64_t ttl_usec;
};

/* Why no lease was made.  The first three are refusals (decisions,
 * audited); the rest are failures, with the -errno saying how. */
enum lease_refusal {
        LEASE_OK,
        LEASE_REFUSED_NO_WORKLOAD,    /* the policy places the caller in no workload */
        LEASE_REFUSED_NOT_GRANTED,    /* .secret (NULL: the caller has no scope) is not granted */
        LEASE_REFUSED_OTHER_WORKLOAD, /* the caller's scope holds leases of another workload */
        LEASE_FAILED_INJECT,          /* the workload's inject path could not be mounted */
        LEASE_FAILED,                 /* materializing .secret (NULL: the instance) failed */
        _LEASE_REFUSAL_MAX,
};

struct lease_error {
        enum lease_refusal reason;
        const char *secret;           /* borrowed from the request or the policy, or NULL */
};

/* Prepares secrets_root (0711, "containers" 0700) and runtime_dir/leases
 * (0700). */
int leasing_open(const struct leasing_deps *deps, struct leasing **ret);
struct leasing_recovery {
        unsigned kept, expired, dropped;
};
/* After a restart or crash: reloads the lease records, keeps the live
 * leases with their deadlines (their files get the current version),
 * removes expired ones, orphaned directories and the leases of workloads
 * that ended meanwhile. */
int leasing_recover(struct leasing *l, struct leasing_recovery *ret);
/* Closes without revoking: files, mounts and records stay for the next
 * start. */
struct leasing *leasing_close(struct leasing *l);
int leasing_timer_fd(const struct leasing *l);
/* inotify on the cgroups of workloads with leases (exit-watch.c):
 * readable when one may have ended; then leasing_watch_events(). */
int leasing_watch_fd(const struct leasing *l);
void leasing_watch_events(struct leasing *l);
/* Revokes the leases of every workload whose cgroup is empty or gone. */
void leasing_sweep(struct leasing *l);
bool leasing_privileged(const struct leasing *l);
size_t leasing_count(const struct leasing *l);
size_t leasing_count_secret(const struct leasing *l, const char *secret);
/* Where a lease's file is on the host. */
void leasing_host_path(const struct leasing *l, const struct lease *ls, char *buf, size_t len);

/* Materializes the requested grants for the caller, in the instance of
 * its own scope, and audits the decision (granted or refused).  On
 * failure *ret_err says why; nothing new is left behind. */
int leasing_grant(struct leasing *l, const struct leasing_caller *c, const struct lease_request *req,
                  struct lease_set *ret, struct lease_error *ret_err);
/* For a container about to start, attested by the OCI hook (c->peer: the
 * runtime's init, which becomes its main process; c->workload: its
 * workload): every grant of the workload, materialized and mounted
 * read-only at the workload's inject path (POLICY_DEFAULT_INJECT when it
 * names none) below root, its rootfs before pivot_root.  A mount point
 * that already holds anything is refused (LEASE_FAILED_INJECT, -EEXIST),
 * not covered.  The leases live until the container exits (until_exit);
 * what a previous run of the same container left is dropped first.
 * Audited as leasing_grant() is. */
struct container_root {
        const char *path; /* in the container's mount namespace */
        int fd;           /* the same directory, opened through its init's cwd */
};
int leasing_grant_container(struct leasing *l, const struct leasing_caller *c, const struct container_root *root,
                            struct lease_set *ret, struct lease_error *ret_err);
/* Calls fn for each of the caller's leases (its scope's, of its
 * workload), or for all when admin. */
typedef void (*lease_fn)(void *userdata, const struct lease *ls);
void leasing_list(struct leasing *l, const struct leasing_caller *c, lease_fn fn, void *userdata);
/* The same for the caller's own leases (its scope's, of its workload),
 * admin or not. */
void leasing_list_own(struct leasing *l, const struct leasing_caller *c, lease_fn fn, void *userdata);
/* -ENOENT unknown id, -EACCES not the caller's (its scope and workload;
 * admins may touch any) or, for renew, no longer granted as it was.
 * ttl_usec 0: the workload's.  *ret holds the one lease renewed. */
int leasing_renew(struct leasing *l, const struct leasing_caller *c, const char *id, uint64_t ttl_usec,
                  struct lease_set *ret);
int leasing_revoke(struct leasing *l, const struct leasing_caller *c, const char *id);
/* After a new version of secret is stored (by anyone): every live file of
 * it gets it before this returns; then on_rotate signals go out.
 * ret_updated counts files. */
int leasing_rotate(struct leasing *l, const char *secret, size_t *ret_updated);
/* The secret was deleted: every lease of it goes. */
size_t leasing_revoke_secret(struct leasing *l, const char *secret);
/* The policy in force is now `now` (old is the one before, NULL at
 * start-up; it must still be valid): every lease whose workload is gone,
 * whose grant of its secret is gone or writes another file, mode or
 * owner, or whose instance's inject path changed, ends; so does every
 * lease of an instance one of whose leasing callers the policy no longer
 * places in its workload.  Each is audited as a revoke, reason "policy
 * changed".  Returns how many ended. */
size_t leasing_policy_changed(struct leasing *l, const struct policy *old, const struct policy *now);
/* Timer fired: expire what is due, re-arm for the next deadline. */
void leasing_expire(struct leasing *l);
