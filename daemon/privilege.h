/* privilege.h — the process-wide hardening steps main() runs in order. */
#pragma once

/* umask 077; fds 0-2 open (on /dev/null if they were closed), so a file we
 * open can never become someone's stdout. */
int privilege_sanitize_fds(void);
/* Not dumpable (no core, no ptrace by peers of our uid), RLIMIT_CORE 0. */
int privilege_no_dumps(void);
/* PR_SET_NO_NEW_PRIVS; when root, keep only the capabilities the daemon
 * needs, in the bounding set too.  Returns -errno. */
int privilege_drop(void);
