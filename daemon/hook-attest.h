/* hook-attest.h — which container is about to start, from an OCI
 * runtime's createRuntime hook request (../shared/notes/oci-hook.md).
 *
 * The hook's state JSON (id, pid, bundle) is only a pointer: everything is
 * checked against the kernel.  A pidfd pins the pid; its cgroup is exactly
 * a container's, anchored as the attestation table reads it, and names the
 * state's id; its mount namespace is neither the host's nor ours; it is
 * runc's init that has not exec'd yet (comm, and alone in its cgroup); the
 * bundle's config.json is root's and not writable by anyone else, and its
 * root.path is the init's cwd; the pidfd still holds the same live
 * process after every read.  The kernel's cgroup id, not the state's,
 * names the container. */
#pragma once

#include <stddef.h>

#include "attest.h"

struct hook_container {
        /* The runtime's init: pinned, classified, with the host uid and gid
         * the container's process will run as (config.json's process.user,
         * mapped through its user namespace) and the bundle's annotations. */
        struct peer *peer;
        int root_fd;      /* its rootfs (the init's cwd), before pivot_root */
        char *root_path;  /* the same, by the bundle's root.path */
};

/* Checks a hook's state JSON of len bytes.  0 with *ret filled, else
 * -errno with why (a sentence for the hook to print, naming what did not
 * hold, never a value) in why_buf: -EBADMSG for a state that is not what a
 * runtime sends, -ESRCH for a process that is gone, -EPERM for a check
 * that failed. */
int hook_attest(const struct attest_context *ctx, const char *state, size_t len, struct hook_container *ret,
                char *why_buf, size_t why_len);
void hook_container_done(struct hook_container *c);
