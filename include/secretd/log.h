/* log.h — diagnostics for daemon and client (not the audit stream).
 *
 * Messages go to stderr, prefixed with the program name and level.  Under
 * systemd (JOURNAL_STREAM set) the prefix becomes a syslog priority marker
 * so journald files each line at the right level.  A log line never carries
 * a secret value: callers pass names in single quotes, never contents. */
#pragma once

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG, _LOG_LEVEL_MAX };

void log_setup(const char *program);
void log_set_level(enum log_level level);

/* Each returns -abs(error) when error != 0, else 0, so a caller can write
 * `return log_error_errno(r, "...: %m")`. errno is set from error for %m. */
int log_internal(enum log_level level, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_error(...) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...) log_internal(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warn_errno(e, ...) log_internal(LOG_LEVEL_WARN, (e), __VA_ARGS__)
