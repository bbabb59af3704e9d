/* privilege.h — the process-wide hardening steps main() runs in order. */
#pragma once

#include <stdint.h>

/* umask 077; fds 0-2 open (on /dev/null if they were closed), so a file we
 * open can never become someone's stdout. */
int privilege_sanitize_fds(void);
/* Not dumpable (no core, no ptrace by peers of our uid), RLIMIT_CORE 0. */
int privilege_no_dumps(void);
/* PR_SET_NO_NEW_PRIVS; when root, keep only the capabilities the daemon
 * needs, in the bounding set too.  Returns -errno. */
int privilege_drop(void);
/* Raises the RLIMIT_MEMLOCK soft limit to the hard one and locks (then
 * unlocks) one page, to see that locking works at all: sodium_malloc()
 * mlocks silently and, past the limit, silently leaves memory unlocked.
 * Returns 0 when the limit covers want bytes, 1 when it is below; either
 * way *ret_limit is the limit in bytes (UINT64_MAX: unlimited, or
 * CAP_IPC_LOCK makes it moot).  -errno when not even one page can be
 * locked (-EPERM, -ENOMEM, -EAGAIN) or the limit cannot be raised. */
int privilege_memlock(uint64_t want, uint64_t *ret_limit);
