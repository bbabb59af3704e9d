/* lease-record.h — leases written down, so they outlive the daemon.
 *
 * One small JSON file per lease, "<id>.json", in runtime_dir/leases (a
 * tmpfs, like the files the leases describe: both end with the boot).
 * Written by temp file + rename, so a crash leaves the old or the new
 * record.  Records hold names, owners and deadlines, never a value. */
#pragma once

#include <stdint.h>

#include "lease.h"

struct lease_where {
        const char *cgroup;      /* the workload's cgroup, or NULL */
        uint64_t injected_ns;    /* mount namespace the directory is in, or 0 */
        const char *inject_path; /* where, or NULL */
        pid_t main_pid;          /* a container's main process, or 0 */
        uint64_t main_start;     /* its start time: the same pid later is another */
};

int lease_record_save(int dfd, const struct lease *l, const struct lease_where *w);
int lease_record_remove(int dfd, const char *id);

/* Called for each valid record; takes ownership of l.  The strings in w
 * live until the callback returns. */
typedef void (*lease_record_fn)(void *userdata, struct lease *l, const struct lease_where *w);
/* Reads every record; a damaged one is removed and counted in
 * *ret_damaged. */
int lease_record_load_all(int dfd, lease_record_fn fn, void *userdata, unsigned *ret_damaged);
