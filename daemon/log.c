/* log.c — stderr / journald-stream diagnostics.  Owns nothing but the
 * program name and level; never formats a secret (callers' contract). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secretd/log.h"

static const char *log_program = "secretd";
static enum log_level log_max_level = LOG_LEVEL_INFO;
static bool log_to_journal_stream;

void log_setup(const char *program) {
        const char *slash = strrchr(program, '/');

        log_program = slash ? slash + 1 : program;
        /* journald's stdout/stderr stream understands "<N>" level prefixes. */
        log_to_journal_stream = getenv("JOURNAL_STREAM") != NULL;
        if (getenv("SECRETD_DEBUG"))
                log_max_level = LOG_LEVEL_DEBUG;
}

void log_set_level(enum log_level level) {
        log_max_level = level;
}

int log_internal(enum log_level level, int error, const char *fmt, ...) {
        static const char *const names[_LOG_LEVEL_MAX] = { "error", "warning", "info", "debug" };
        static const int syslog_prio[_LOG_LEVEL_MAX] = { 3, 4, 6, 7 };
        int saved = errno;
        va_list ap;

        if (level <= log_max_level) {
                char line[2048];

                if (error != 0)
                        errno = abs(error);
                va_start(ap, fmt);
                vsnprintf(line, sizeof(line), fmt, ap);
                va_end(ap);
                if (log_to_journal_stream)
                        fprintf(stderr, "<%d>%s\n", syslog_prio[level], line);
                else if (level == LOG_LEVEL_INFO)
                        fprintf(stderr, "%s: %s\n", log_program, line);
                else
                        fprintf(stderr, "%s: %s: %s\n", log_program, names[level], line);
        }
        errno = saved;
        return error == 0 ? 0 : -abs(error);
}
