/* service.c — sd_notify glue (see service.h). */
#include <stdbool.h>
#include <systemd/sd-daemon.h>

#include "service.h"

void service_ready(const char *status) {
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
}

void service_status(const char *status) {
        (void) sd_notifyf(false, "STATUS=%s", status);
}

void service_stopping(void) {
        (void) sd_notify(false, "STOPPING=1");
}

uint64_t service_watchdog_interval_usec(void) {
        uint64_t usec = 0;

        if (sd_watchdog_enabled(false, &usec) <= 0)
                return 0;
        /* Ping twice per period so one slow iteration is not fatal. */
        return usec / 2;
}

void service_watchdog_ping(void) {
        (void) sd_notify(false, "WATCHDOG=1");
}
