/* service-main.h — a systemd service's main process, the one its
 * on_rotate signal goes to (see service-main.c for where it comes from). */
#pragma once

#include "leasing-target.h"

struct attest_context;

enum service_main_source {
        SERVICE_MAIN_SYSTEMD, /* the unit's MainPID, as its manager says */
        SERVICE_MAIN_OLDEST,  /* no manager answered: the cgroup's oldest */
};

/* The main process of unit ("backup.service"), whose cgroup (relative to
 * the cgroup2 root) is cgroup, and where the answer came from; -ESRCH when
 * it has none. */
int service_main_find(const struct attest_context *ctx, const char *unit, const char *cgroup, struct target *ret,
                      enum service_main_source *ret_source);
