/* service-main.c — a systemd service's main process (see service-main.h).
 *
 * A service's cgroup holds its main process beside whatever that started
 * or left running: a `secretctl lease --keep` agent, helpers, an
 * ExecStartPre= that did not exit.  Only the service manager knows which
 * one is the service, so where systemd answers on the system bus its
 * MainPID is asked for, and taken when the kernel agrees that the process
 * lives in the unit's cgroup (a MainPID read just before it exits or
 * restarts names a pid that may be reused).  The call is bounded by
 * MANAGER_TIMEOUT_USEC: a rotation never waits longer than that for a
 * stalled bus.
 *
 * Where no manager answers (systemd is not pid 1: a container, a CI
 * machine, another init), or it names no process of the cgroup (a oneshot
 * between runs), the oldest process of the cgroup is taken: the first one
 * a manager starts, which outlives the helpers it starts later. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "service-main.h"

#define MANAGER_TIMEOUT_USEC (250 * 1000)

/* The unit's MainPID as systemd says, or a negative errno when no
 * manager answered (no bus, no systemd on it, no such unit). */
static int manager_main_pid(const char *unit, pid_t *ret) {
        sd_bus *bus = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        char *path = NULL;
        uint32_t pid = 0;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, MANAGER_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path,
                                                "org.freedesktop.systemd1.Service", "MainPID", &err, 'u', &pid);
        sd_bus_error_free(&err);
        free(path);
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return r;
        *ret = (pid_t) pid;
        return 0;
}

int service_main_find(const struct attest_context *ctx, const char *unit, const char *cgroup, struct target *ret,
                      enum service_main_source *ret_source) {
        pid_t pid;

        if (manager_main_pid(unit, &pid) == 0 && target_open_in(ctx, pid, cgroup, ret) == 0) {
                *ret_source = SERVICE_MAIN_SYSTEMD;
                return 0;
        }
        *ret_source = SERVICE_MAIN_OLDEST;
        return target_oldest(ctx, cgroup, ret);
}
