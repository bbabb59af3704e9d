/* leasing-target.h — the process a container instance is served through:
 * its main process, into whose mount namespace its files are injected and
 * to which its on_rotate signal goes (see leasing-target.c for how it is
 * told from the processes a caller may put in its way). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct attest_context;
struct peer;

struct target {
        int pidfd;      /* -1: none */
        pid_t pid;
        uint64_t start; /* start time (clock ticks after boot): with pid, which process */
};

#define TARGET_NONE ((struct target) { .pidfd = -1 })

/* The main process of the container whose cgroup (relative to the cgroup2
 * root) p called from.  -ESRCH when there is none to be found. */
int target_find(const struct attest_context *ctx, const struct peer *p, const char *cgroup, struct target *ret);
/* The oldest process of cgroup in the host's pid namespace (a service
 * whose manager cannot be asked: see service-main.c), or -ESRCH. */
int target_oldest(const struct attest_context *ctx, const char *cgroup, struct target *ret);
/* pid, when it is a process of the host's pid namespace in cgroup or
 * below it (a service's main process as its manager names it, checked
 * against the kernel's facts), else -ESRCH. */
int target_open_in(const struct attest_context *ctx, pid_t pid, const char *cgroup, struct target *ret);
/* The process pid that started at start again (after a restart), or
 * -ESRCH. */
int target_reopen(pid_t pid, uint64_t start, struct target *ret);
/* The process pidfd holds, as pid, taken as the target: the OCI hook's
 * container init, which becomes the container's main process when it
 * execs.  -ESRCH when it is gone. */
int target_adopt(pid_t pid, int pidfd, struct target *ret);
bool target_alive(const struct target *t);
void target_close(struct target *t);

/* Where the process pid (held by pidfd) may have files injected, and as
 * whom: its mount namespace, with the file-system identity of the
 * namespace's owner (0:0 for the host's user namespace).  A namespace
 * owned by another user namespace is taken only when in_userns_ok and it
 * is the process's own user namespace, whose root must be mapped; else
 * -EPERM.  The host's mount namespace comes back too: never inject
 * there. */
struct target_where {
        int mnt_fd; /* the caller closes it */
        uint64_t mnt_ns;
        uid_t uid;
        gid_t gid;
};
int target_authority(const struct attest_context *ctx, pid_t pid, int pidfd, bool in_userns_ok,
                     struct target_where *ret);

/* An fd of mount namespace ns, from the main process t or, failing that,
 * any process of cgroup (after a crash the first is not always in it), or
 * -1. */
int target_mnt_ns_fd(const struct attest_context *ctx, const struct target *t, const char *cgroup, uint64_t ns);
