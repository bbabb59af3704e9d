/* parse.c — durations and sizes (see parse.h).  Pure functions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "secretd/parse.h"

#define USEC_PER_SEC 1000000ULL
#define DURATION_MAX (10ULL * 366 * 24 * 3600 * USEC_PER_SEC)

/* Reads the leading decimal digits; -EINVAL if none, -ERANGE on overflow. */
static int parse_digits(const char **s, uint64_t *ret) {
        const char *p = *s;
        uint64_t v = 0;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *s = p;
        *ret = v;
        return 0;
}

int parse_duration_usec(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "ms", 1000ULL },
                { "s", USEC_PER_SEC },
                { "", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(s, units[i].unit) != 0)
                        continue;
                if (v > DURATION_MAX / units[i].usec)
                        return -ERANGE;
                *ret_usec = v * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const char *const suffixes[] = { "", "B", "iB" };
        uint64_t v, mul = 1;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        switch (*s) {
        case 'K': case 'k': mul = 1ULL << 10; s++; break;
        case 'M': mul = 1ULL << 20; s++; break;
        case 'G': mul = 1ULL << 30; s++; break;
        }
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                if (strcmp(s, suffixes[i]) != 0)
                        continue;
                /* "iB" only after a unit: "12iB" is not a size. */
                if (i == 2 && mul == 1)
                        return -EINVAL;
                if (v > UINT64_MAX / mul)
                        return -ERANGE;
                *ret_bytes = v * mul;
                return 0;
        }
        return -EINVAL;
}

void format_duration(uint64_t usec, char *buf, size_t len) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC }, { "m", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },         { "ms", 1000 },
        };

        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (usec >= units[i].usec && usec % units[i].usec == 0) {
                        snprintf(buf, len, "%llu%s", (unsigned long long) (usec / units[i].usec), units[i].unit);
                        return;
                }
        snprintf(buf, len, "%lluus", (unsigned long long) usec);
}

void format_time_utc(int64_t usec, char *buf, size_t len) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, len, "invalid");
}
