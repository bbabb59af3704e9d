/* service.h — life as a systemd service: readiness, status, stopping and
 * watchdog pings through sd_notify.  Harmless without systemd. */
#pragma once

#include <stdint.h>

void service_ready(const char *status);
void service_status(const char *status);
void service_stopping(void);
/* Interval at which to ping the watchdog (half of WATCHDOG_USEC), 0 when
 * systemd does not watch us. */
uint64_t service_watchdog_interval_usec(void);
void service_watchdog_ping(void);
