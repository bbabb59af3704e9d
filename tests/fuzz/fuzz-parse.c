/* fuzz-parse.c — durations and sizes (parse.h), as the config file, the
 * API's "ttl" and secretctl hand them over: the input, NUL-terminated at
 * its first NUL.  Beyond not crashing: a duration is within its ten-year
 * bound and survives format_duration() and back unchanged; a size is a
 * whole multiple of its unit; and the input's first 8 bytes, as a
 * timestamp, format without trouble. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secretd/parse.h"

#define DURATION_MAX (10ULL * 366 * 24 * 3600 * 1000000ULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_duration(const char *s) {
        char buf[64];
        uint64_t v, again;
        int r = parse_duration_usec(s, &v);

        if (r < 0) {
                if (r != -EINVAL && r != -ERANGE)
                        abort();
                return;
        }
        if (v > DURATION_MAX || v % 1000 != 0)
                abort();
        format_duration(v, buf, sizeof(buf));
        if (v > 0 && (parse_duration_usec(buf, &again) < 0 || again != v))
                abort();
}

static void check_size(const char *s) {
        uint64_t v;
        int r = parse_size(s, &v);

        if (r < 0) {
                if (r != -EINVAL && r != -ERANGE)
                        abort();
                return;
        }
        if (strpbrk(s, "Kk") && v % 1024 != 0)
                abort();
        if (strchr(s, 'M') && v % (1024 * 1024) != 0)
                abort();
        if (strchr(s, 'G') && v % (1024 * 1024 * 1024) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[64], *text;
        int64_t t = 0;

        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        check_duration(text);
        check_size(text);
        free(text);

        memcpy(&t, data, size < sizeof(t) ? size : sizeof(t));
        format_time_utc(t, buf, sizeof(buf));
        if (!memchr(buf, '\0', sizeof(buf)))
                abort();
        return 0;
}
