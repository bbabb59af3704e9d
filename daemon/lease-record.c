/* lease-record.c — lease records on the runtime tmpfs (see lease-record.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease-record.h"
#include "secretd/cleanup.h"

#define RECORD_MAX 16384

static uint64_t temp_counter;

int lease_record_save(int dfd, const struct lease *l, const struct lease_where *w) {
        _cleanup_free_ char *text = NULL;
        char name[LEASE_ID_LEN + 8], tmp[40];
        _cleanup_close_ int fd = -1;
        json_t *o;
        ssize_t n;
        size_t len;
        int r = 0;

        o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s*,s:I,s:s*,s:I,s:I,s:b}", "id", l->id,
                      "secret", l->secret, "file", l->file, "instance", l->instance, "workload", l->workload, "uid",
                      (json_int_t) l->uid, "gid", (json_int_t) l->gid, "mode", (json_int_t) l->mode, "version",
                      (json_int_t) l->version, "granted_usec", (json_int_t) l->granted_usec, "expires_usec",
                      (json_int_t) l->expires_usec, "max_expires_usec", (json_int_t) l->max_expires_usec,
                      "on_rotate", (json_int_t) l->on_rotate_signal, "cgroup", w->cgroup, "injected_ns",
                      (json_int_t) w->injected_ns, "inject_path", w->inject_path, "main_pid",
                      (json_int_t) w->main_pid, "main_start", (json_int_t) w->main_start, "until_exit", l->until_exit);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        snprintf(name, sizeof(name), "%s.json", l->id);
        /* runtime_dir/leases is ours alone (0700): the temp name need only
         * be unused, not unpredictable; a counter costs no system call */
        for (int tries = 0; tries < 64; tries++) {
                snprintf(tmp, sizeof(tmp), ".tmp-%" PRIx64, ++temp_counter);
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0 || errno != EEXIST)
                        break;
        }
        if (fd < 0)
                return -errno;
        n = write(fd, text, len);
        if (n != (ssize_t) len)
                r = n < 0 ? -errno : -EIO;
        if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dfd, tmp, 0);
        return r;
}

int lease_record_remove(int dfd, const char *id) {
        char name[LEASE_ID_LEN + 8];

        if (!lease_id_valid(id))
                return -EINVAL;
        snprintf(name, sizeof(name), "%s.json", id);
        return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

static int64_t get_int(json_t *o, const char *key, bool *ok) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v)) {
                *ok = false;
                return 0;
        }
        return json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key, bool *ok, bool optional) {
        json_t *v = json_object_get(o, key);

        if (!v && optional)
                return NULL;
        if (!json_is_string(v)) {
                *ok = false;
                return NULL;
        }
        return json_string_value(v);
}

/* Parses one record; NULL when anything is missing or malformed. */
static struct lease *record_parse(json_t *o, const char *file_id, struct lease_where *w) {
        bool ok = true;
        const char *id = get_str(o, "id", &ok, false), *secret = get_str(o, "secret", &ok, false),
                   *file = get_str(o, "file", &ok, false), *instance = get_str(o, "instance", &ok, false),
                   *workload = get_str(o, "workload", &ok, false);
        struct lease *l;

        w->cgroup = get_str(o, "cgroup", &ok, true);
        w->inject_path = get_str(o, "inject_path", &ok, true);
        w->injected_ns = (uint64_t) get_int(o, "injected_ns", &ok);
        /* records older than these fields have none: no main process known */
        if (json_object_get(o, "main_pid")) {
                w->main_pid = (pid_t) get_int(o, "main_pid", &ok);
                w->main_start = (uint64_t) get_int(o, "main_start", &ok);
        }
        if (!ok || strcmp(id, file_id) != 0 || !lease_id_valid(id) || strchr(instance, '/') || strchr(file, '/') ||
            instance[0] == '.' || file[0] == '.')
                return NULL;
        l = lease_new_with_id(id, secret, file, instance, workload);
        if (!l)
                return NULL;
        l->uid = (uid_t) get_int(o, "uid", &ok);
        l->gid = (gid_t) get_int(o, "gid", &ok);
        l->mode = (mode_t) get_int(o, "mode", &ok) & 0777;
        l->version = (uint64_t) get_int(o, "version", &ok);
        l->granted_usec = get_int(o, "granted_usec", &ok);
        l->expires_usec = get_int(o, "expires_usec", &ok);
        l->max_expires_usec = get_int(o, "max_expires_usec", &ok);
        l->on_rotate_signal = (int) get_int(o, "on_rotate", &ok);
        /* records older than the hook have none: a lease with a deadline */
        l->until_exit = json_is_true(json_object_get(o, "until_exit"));
        if (l->until_exit && (l->expires_usec != INT64_MAX || l->max_expires_usec != INT64_MAX))
                ok = false;
        if (!ok)
                return lease_free(l);
        return l;
}

int lease_record_load_all(int dfd, lease_record_fn fn, void *userdata, unsigned *ret_damaged) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned damaged = 0;
        int fd = dup(dfd);

        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        /* a dup shares the offset: a second load would start at the end */
        rewinddir(d);
        while ((de = readdir(d))) {
                char buf[RECORD_MAX + 1], id[LEASE_ID_LEN + 1];
                size_t len = strlen(de->d_name);
                struct lease_where w = {};
                struct lease *l = NULL;
                json_t *o = NULL;
                ssize_t n = -1;
                int rfd;

                if (strncmp(de->d_name, ".tmp-", 5) == 0) {
                        (void) unlinkat(dfd, de->d_name, 0);
                        continue;
                }
                if (len != LEASE_ID_LEN + 5 || strcmp(de->d_name + LEASE_ID_LEN, ".json") != 0)
                        continue;
                memcpy(id, de->d_name, LEASE_ID_LEN);
                id[LEASE_ID_LEN] = '\0';
                rfd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (rfd >= 0) {
                        n = read(rfd, buf, RECORD_MAX);
                        safe_close(rfd);
                }
                if (n > 0 && n < RECORD_MAX) {
                        o = json_loadb(buf, (size_t) n, JSON_REJECT_DUPLICATES, NULL);
                        if (json_is_object(o))
                                l = record_parse(o, id, &w);
                }
                if (l)
                        fn(userdata, l, &w);
                else {
                        damaged++;
                        (void) unlinkat(dfd, de->d_name, 0);
                }
                json_decref(o);
        }
        *ret_damaged = damaged;
        return 0;
}
