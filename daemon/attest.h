/* attest.h — who is calling: the kernel's facts about a connected peer.
 *
 * A peer is attested once, when its connection is accepted and before any
 * request byte is read, from SO_PEERCRED, SO_PEERGROUPS, a pidfd, the
 * peer's /proc entries and the cgroup tree.  Nothing the peer says about
 * itself is believed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

struct peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary groups (SO_PEERGROUPS) */
        size_t n_groups;
        int pidfd;     /* kept for the life of the connection; -1 in a copy */

        char *cgroup;  /* path below the cgroup2 root, "/..." */
        char *exe;     /* /proc/<pid>/exe target, NULL when unreadable or
                        * deleted */
        bool has_exe_id;
        dev_t exe_dev; /* the file the kernel executes (fstat through */
        ino_t exe_ino; /* /proc/<pid>/exe), whatever its path says */
        uint64_t mnt_ns, pid_ns, user_ns;
        /* In the host's namespaces (attest_context): never "the same as the
         * daemon's", which under ProtectSystem= has a mount namespace of
         * its own.  The injection code relies on same_mnt_ns meaning "the
         * host's view: never inject here". */
        bool same_mnt_ns, same_pid_ns, same_user_ns;

        struct cgroup_class cls;  /* runtime, container id or unit, pod uid;
                                   * for rootless, the id its cgroup name gave */
        uid_t delegated_owner;    /* when cls.runtime == RUNTIME_ROOTLESS */
        char *identity;           /* "docker:<id>", "systemd:backup.service",
                                   * "kubernetes:<pod>/<id>", "host:uid1000",
                                   * "rootless:uid1000", "unknown" */
        const char *unknown_reason; /* static; why RUNTIME_UNKNOWN, else NULL */
        bool admin_capable;       /* a host process in the host's pid, mount
                                   * and user namespaces: admin when its uid
                                   * or a group is listed (attest_peer_admin) */
        json_t *annotations;      /* a container the OCI hook attested: its
                                   * bundle's annotations (an object of
                                   * strings); NULL for every socket peer */
        json_t *selectors;        /* a container's name, image, labels, pod
                                   * from its runtime's records, or
                                   * {"unavailable": why}; NULL when it has
                                   * none (runtime-records.h) */
};

struct attest_context {
        int cgroup2_fd;           /* the cgroup2 root, opened at start-up */
        /* "The host": the namespaces of PID 1 of our pid namespace when we
         * may read them, else our own. */
        uint64_t host_mnt_ns, host_pid_ns, host_user_ns;
        bool host_from_pid1;
        const uid_t *admin_uids;  /* the lists in force: a reload replaces them */
        size_t n_admin_uids;
        const gid_t *admin_gids;  /* admin.groups resolved to gids */
        size_t n_admin_gids;
};

/* Opens the cgroup2 root found in /proc/self/mountinfo and reads the
 * host's namespaces. */
int attest_context_init(struct attest_context *ctx);
void attest_context_done(struct attest_context *ctx);

/* Attests the peer of a connected AF_UNIX socket.  -ESRCH when the peer
 * exited (or its pid was reused) while being examined, -EPERM when its
 * effective ids are no longer those of connect() (a setuid exec in
 * between): the caller refuses the connection.  ret is malloc'd. */
int attest_peer(const struct attest_context *ctx, int fd, struct peer **ret);

/* A peer for the process pidfd holds (pid its number, as the caller
 * opened it), that will run as uid:gid: the OCI hook's container init,
 * which is still root until it execs the container's process.  Its
 * cgroup, namespaces and class are read as attest_peer() reads them; it
 * has no exe (runc's, meaningless) and is never admin.  -ESRCH when the
 * process is gone or is not pid's. */
int attest_process(const struct attest_context *ctx, int pidfd, pid_t pid, uid_t uid, gid_t gid, struct peer **ret);
/* Whether p is admin under the admin lists in force now: decided per
 * request, so a reload that takes a uid off the list takes admin away from
 * its open connections too. */
bool attest_peer_admin(const struct attest_context *ctx, const struct peer *p);

/* A copy of p's facts (ids, groups, cgroup, class, exe, namespaces,
 * identity) without its pid or pidfd: what policy_match() judges, kept to
 * judge again after a reload.  NULL when out of memory. */
struct peer *attest_peer_facts_copy(const struct peer *p);
/* Whether a and b have the same facts (pid and pidfd aside). */
bool attest_peer_same_facts(const struct peer *a, const struct peer *b);

/* Whether the still-open pidfd's process is alive. */
bool attest_peer_alive(const struct peer *p);

/* Before each request: the attested process still lives (-ESRCH if not),
 * and runs with the effective uid and gid it connected with and the program
 * it was attested running, by path and by device and inode (-EPERM if
 * not: a setuid exec, or an exec into another program, since).  The identity stays the connect-time one; a peer
 * that changed gets no service.  Other -errno when /proc cannot be read. */
int attest_peer_recheck(const struct peer *p);

struct peer *peer_free(struct peer *p);
void peer_freep(struct peer **p);
