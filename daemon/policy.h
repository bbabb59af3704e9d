/* policy.h — which workload a caller is, and what it is granted (DESIGN
 * section 4).
 *
 * The config's "workloads" array parsed into plain structs: each workload
 * names how to recognise its callers (match keys, all of which must hold),
 * the secrets it is granted and how they are written, its lease times, and
 * what happens on injection and rotation.  Workloads are tried in order and
 * the first match wins; no match, or a caller the cgroup classifier could
 * not place, means no secrets.  Pure data and pure functions: never logs;
 * the only file system access is policy_match()'s stat of an `exe` path. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "config-parse.h"

#define POLICY_NAME_MAX 64
#define POLICY_WORKLOADS_MAX 4096
#define POLICY_GRANTS_MAX 1024 /* per workload */
#define POLICY_DEFAULT_MODE 0400
#define POLICY_DEFAULT_INJECT "/run/secrets"
/* The bounds of every lease time: defaults.ttl and defaults.max_ttl, a
 * workload's ttl and max_ttl, the "ttl" of a lease or renew request. */
#define POLICY_TTL_MIN_USEC USEC(1)
#define POLICY_TTL_MAX_USEC USEC(366 * 86400)

struct peer;

struct grant {
        char *name;     /* secret name */
        char *file;     /* file name in the workload's directory; defaults to name */
        mode_t mode;    /* default 0400 */
        bool has_uid, has_gid;
        uid_t uid;      /* owner override; else the caller's uid */
        gid_t gid;      /* group override; else the caller's gid */
};

/* A NULL string or a zero count means the key was not given. */
struct workload_match {
        bool has_runtime;
        enum runtime runtime;
        char *id;       /* container id: exact, prefix, or glob (fnmatch) when it has *?[ */
        char *unit;     /* systemd unit: exact or glob */
        char *cgroup;   /* glob on the full cgroup path, FNM_PATHNAME */
        uid_t *uids;
        size_t n_uids;
        gid_t *gids;    /* the primary gid or any supplementary group */
        size_t n_gids;
        char *exe;      /* glob on the peer's executable path, FNM_PATHNAME */
        json_t *annotations; /* {key: glob}: OCI annotations every one of
                              * which the container's bundle has, matching;
                              * only the OCI hook's peers have any */
        /* From the runtime's records (runtime-records.h): globs, but an
         * image id is exact; every label given must hold (a glob each). */
        char *image, *image_id, *name;
        json_t *labels;
        char *namespace, *pod, *container;
};

struct workload {
        char *name;
        struct workload_match match;
        struct grant *grants;
        size_t n_grants;
        uint64_t ttl_usec, max_ttl_usec;
        char *inject;         /* NULL: no injection */
        int on_rotate_signal; /* 0: none */
};

struct policy {
        struct workload *workloads;
        size_t n_workloads;
};

/* Parses the config's "workloads" array; NULL means no workloads and gives
 * an empty policy.  Every error is appended to errs (which may be NULL) as
 * "SOURCE: workloads[i].key.path: reason", all of them, and then the result
 * is -EINVAL (-ENOMEM when memory ran out) with *ret untouched.  Workloads without ttl/max_ttl get the
 * defaults given; an inherited ttl longer than the workload's own max_ttl
 * is shortened to it.  On success *ret is a new policy, never NULL. */
int policy_parse(json_t *workloads, const char *source, uint64_t default_ttl_usec, uint64_t default_max_ttl_usec,
                 struct policy **ret, struct config_errors *errs);
struct policy *policy_free(struct policy *p);
void policy_freep(struct policy **p);

/* The first workload whose every match key holds for peer; NULL when none
 * does, when p or peer is NULL, and always for a peer whose runtime is
 * RUNTIME_UNKNOWN (deny by default).  Container ids match only container
 * peers (docker, podman, kubernetes, crio); units only systemd ones.  An
 * `exe` glob matches a peer in the host's mount namespace whose executable
 * path it matches and whose executable is the file found at that path here
 * (stat: same device and inode); never a peer outside that namespace. */
const struct workload *policy_match(const struct policy *p, const struct peer *peer);

/* The workload called name, or NULL (also when p or name is NULL). */
const struct workload *policy_workload(const struct policy *p, const char *name);

/* The grant for secret in w, or NULL (also when w is NULL). */
const struct grant *workload_grant(const struct workload *w, const char *secret);

/* "SIGHUP" for SIGHUP, for messages; NULL for a signal config cannot name. */
const char *policy_signal_name(int sig);
