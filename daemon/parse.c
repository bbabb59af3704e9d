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

struct unit {
        const char *suffix;
        uint64_t factor;
};

/* Digits, then exactly one of the suffixes; the product at most max. */
static int parse_with_unit(const char *s, const struct unit *units, size_t n_units, uint64_t max, uint64_t *ret) {
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++) {
                if (strcmp(s, units[i].suffix) != 0)
                        continue;
                if (v > max / units[i].factor)
                        return -ERANGE;
                *ret = v * units[i].factor;
                return 0;
        }
        return -EINVAL;
}

int parse_duration_usec(const char *s, uint64_t *ret_usec) {
        static const struct unit units[] = {
                { "ms", 1000ULL },
                { "s", USEC_PER_SEC },
                { "", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };

        return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), DURATION_MAX, ret_usec);
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        /* "iB" only after a unit: "12iB" is not a size */
        static const struct unit units[] = {
                { "", 1 },           { "B", 1 },
                { "K", 1ULL << 10 }, { "KB", 1ULL << 10 }, { "KiB", 1ULL << 10 },
                { "k", 1ULL << 10 }, { "kB", 1ULL << 10 }, { "kiB", 1ULL << 10 },
                { "M", 1ULL << 20 }, { "MB", 1ULL << 20 }, { "MiB", 1ULL << 20 },
                { "G", 1ULL << 30 }, { "GB", 1ULL << 30 }, { "GiB", 1ULL << 30 },
        };

        return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), UINT64_MAX, ret_bytes);
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
