/* fuzz-records.c — the runtime record parsers (Docker's config.v2.json,
 * Podman's containers.json and libpod's bbolt database), the first byte
 * choosing which (modulo 3: '0' docker, '1' podman, '2' libpod), for the one
 * container id below.  Beyond not crashing, checks what policy-match.c
 * relies on: a believed record gives only printable strings and an object
 * of string labels, and one that is refused gives a reason and nothing. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime-records.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(json_t *v) {
        const char *s = json_string_value(v);

        if (!s || strlen(s) != json_string_length(v))
                abort();
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        abort();
}

static void check_selectors(json_t *sel, bool podman) {
        const char *key;
        json_t *v, *lv;

        if (!json_is_object(sel) || json_object_get(sel, "unavailable"))
                abort();
        json_object_foreach(sel, key, v) {
                if (strcmp(key, "labels") != 0) {
                        check_string(v);
                        continue;
                }
                if (!json_is_object(v))
                        abort();
                json_object_foreach(v, key, lv)
                        if (!json_is_string(lv))
                                abort();
        }
        v = json_object_get(sel, "image_id");
        if (podman && v && strncmp(json_string_value(v), "sha256:", 7) != 0)
                abort(); /* its bare digest is always given the prefix */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *sel = NULL;
        const char *why = NULL;
        int r;

        if (size < 1)
                return 0;
        if (data[0] % 3 == 2)
                r = records_parse_libpod(data + 1, size - 1, ID, &sel, &why);
        else if (data[0] % 3 == 1)
                r = records_parse_podman((const char *) data + 1, size - 1, ID, &sel, &why);
        else
                r = records_parse_docker((const char *) data + 1, size - 1, ID, &sel, &why);
        if (r == 0)
                check_selectors(sel, data[0] % 3 != 0);
        else if (r != -EBADMSG || sel || !why)
                abort();
        json_decref(sel);
        return 0;
}
