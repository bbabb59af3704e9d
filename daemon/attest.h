/* attest.h — who is calling: the kernel's facts about a connected peer.
 *
 * A peer is attested once, when its connection is accepted and before any
 * request byte is read, from SO_PEERCRED, SO_PEERGROUPS, a pidfd, the
 * peer's /proc entries and the cgroup tree.  Nothing the peer says about
 * itself is believed. */
#pragma once

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
        int pidfd;     /* kept for the life of the connection */

        char *cgroup;  /* path below the cgroup2 root, "/..." */
        char *exe;     /* /proc/<pid>/exe target, NULL when unreadable */
        uint64_t mnt_ns, pid_ns;
        bool same_mnt_ns, same_pid_ns; /* as the daemon's */

        struct cgroup_class cls;  /* runtime, container id or unit, pod uid */
        uid_t delegated_owner;    /* when cls.runtime == RUNTIME_ROOTLESS */
        char *identity;           /* "docker:<id>", "systemd:backup.service",
                                   * "kubernetes:<pod>/<id>", "host:uid1000",
                                   * "rootless:uid1000", "unknown" */
        bool admin;               /* host process whose uid/group is admin */
};

struct attest_context {
        int cgroup2_fd;           /* the cgroup2 root, opened at start-up */
        uint64_t self_mnt_ns, self_pid_ns;
        const uid_t *admin_uids;
        size_t n_admin_uids;
        const gid_t *admin_gids;  /* admin.groups resolved to gids */
        size_t n_admin_gids;
};

/* Opens the cgroup2 root found in /proc/self/mountinfo and reads our own
 * namespaces. */
int attest_context_init(struct attest_context *ctx);
void attest_context_done(struct attest_context *ctx);

/* Attests the peer of a connected AF_UNIX socket.  -ESRCH when the peer
 * exited (or its pid was reused) while being examined, -EPERM when its
 * effective ids are no longer those of connect() (a setuid exec in
 * between): the caller refuses the connection.  ret is malloc'd. */
int attest_peer(const struct attest_context *ctx, int fd, struct peer **ret);

/* Whether the still-open pidfd's process is alive. */
bool attest_peer_alive(const struct peer *p);

/* Before each request: the attested process still lives (-ESRCH if not),
 * and runs with the effective uid and gid it connected with and the program
 * it was attested running (-EPERM if not: a setuid exec, or an exec into
 * another program, since).  The identity stays the connect-time one; a peer
 * that changed gets no service.  Other -errno when /proc cannot be read. */
int attest_peer_recheck(const struct peer *p);

struct peer *peer_free(struct peer *p);
void peer_freep(struct peer **p);
