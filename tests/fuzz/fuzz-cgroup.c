/* fuzz-cgroup.c — the cgroup text parsers: the input, NUL-terminated, as a
 * cgroup path, as /proc/<pid>/cgroup and as mountinfo.  Beyond not
 * crashing, checks what attest.c relies on: a match ends on a component
 * boundary, a container has its id, and the matched prefix on its own
 * classifies the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_classify(const char *path) {
        struct cgroup_class cls, again;
        char *prefix;

        if (cgroup_classify(path, &cls) != 0 || !runtime_to_string(cls.runtime))
                abort();
        if (runtime_from_string(runtime_to_string(cls.runtime)) != (int) cls.runtime)
                abort();
        if (cls.runtime == RUNTIME_ROOTLESS)
                abort();
        if (cls.match_len == 0) {
                if (cls.id[0] != '\0' || cls.pod_uid[0] != '\0')
                        abort();
                if (cls.runtime != RUNTIME_HOST && cls.runtime != RUNTIME_UNKNOWN)
                        abort();
                return;
        }
        if (cls.match_len > strlen(path) || (path[cls.match_len] != '\0' && path[cls.match_len] != '/'))
                abort();
        if (cls.id[0] == '\0' || (cls.runtime == RUNTIME_KUBERNETES) != (cls.pod_uid[0] != '\0'))
                abort();
        if (cls.runtime != RUNTIME_SYSTEMD && strlen(cls.id) != CONTAINER_ID_LEN)
                abort();
        prefix = strndup(path, cls.match_len);
        if (!prefix)
                abort();
        if (cgroup_classify(prefix, &again) != 0 || memcmp(&cls, &again, sizeof(cls)) != 0)
                abort();
        free(prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, *out = NULL;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        check_classify(text);
        if (cgroup_path_from_proc(text, &out) == 0) {
                check_classify(out);
                free(out);
                out = NULL;
        }
        if (cgroup2_mount_from_mountinfo(text, &out) == 0) {
                if (out[0] != '/')
                        abort();
                free(out);
        }
        free(text);
        return 0;
}
