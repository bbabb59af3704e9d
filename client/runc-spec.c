/* runc-spec.c — runc's argv and the bundle's config.json, for secretd-runc
 * (see runc-spec.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runc-spec.h"
#include "secretd/cleanup.h"

/* runc (urfave/cli) takes "-name" and "--name", and "NAME=VALUE" glued:
 * the option's name without its dashes and value, in buf. */
static const char *option_name(const char *arg, char *buf, size_t len, bool *ret_glued) {
        size_t n;

        arg += arg[1] == '-' ? 2 : 1;
        n = strcspn(arg, "=");
        *ret_glued = arg[n] == '=';
        if (n >= len)
                n = len - 1;
        memcpy(buf, arg, n);
        buf[n] = '\0';
        return buf;
}

static bool listed(const char *name, const char *const *list) {
        for (size_t i = 0; list[i]; i++)
                if (strcmp(name, list[i]) == 0)
                        return true;
        return false;
}

/* runc 1.1's global options: 0 a flag, 1 takes a value, -1 unknown. */
static int global_option(const char *name) {
        static const char *const with_value[] = { "root", "log", "log-format", "criu", "rootless", NULL };
        static const char *const flags[] = { "debug", "systemd-cgroup", "help", "h", "version", "v", NULL };

        return listed(name, with_value) ? 1 : listed(name, flags) ? 0 : -1;
}

/* The bundle in create's or run's options, which end at the first
 * operand (the container id) or "--". */
static const char *bundle_of(int argc, char *const *argv, int cmd) {
        static const char *const with_value[] = { "console-socket", "pid-file", "preserve-fds", NULL };
        const char *bundle = ".";

        for (int i = cmd + 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
                char name[32];
                bool glued;

                if (strcmp(argv[i], "--") == 0)
                        break;
                option_name(argv[i], name, sizeof(name), &glued);
                if (strcmp(name, "bundle") == 0 || strcmp(name, "b") == 0) {
                        if (glued)
                                bundle = strchr(argv[i], '=') + 1;
                        else if (i + 1 < argc)
                                bundle = argv[++i];
                } else if (!glued && listed(name, with_value)) {
                        i++;
                }
        }
        return bundle;
}

int runc_call_parse(int argc, char *const *argv, struct runc_call *ret, const char **ret_bad) {
        struct runc_call c = { .bundle = "." };
        int i = 1;

        while (i < argc && argv[i][0] == '-' && argv[i][1]) {
                char name[32];
                bool glued;
                int k;

                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                k = global_option(option_name(argv[i], name, sizeof(name), &glued));
                if (k < 0) {
                        *ret_bad = argv[i];
                        return -EINVAL;
                }
                i += k == 1 && !glued ? 2 : 1;
        }
        c.command = i < argc ? i : argc;
        c.creates = i < argc && (strcmp(argv[i], "create") == 0 || strcmp(argv[i], "run") == 0);
        if (c.creates)
                c.bundle = bundle_of(argc, argv, i);
        *ret = c;
        return 0;
}

json_t *runc_hook_entry(const char *hook, const char *config) {
        json_t *args = config && config[0] ? json_pack("[sss]", "secretd-oci-hook", "--config", config)
                                           : json_pack("[s]", "secretd-oci-hook");

        return args ? json_pack("{s:s,s:o,s:i}", "path", hook, "args", args, "timeout", RUNC_HOOK_TIMEOUT_SEC) : NULL;
}

/* obj[key], made an empty container of the given kind when absent. */
static json_t *member(json_t *obj, const char *key, json_t *(*make)(void)) {
        json_t *m = json_object_get(obj, key);

        if (!m && (m = make()) && json_object_set_new(obj, key, m) < 0)
                return NULL;
        return m;
}

int runc_spec_add_hook(json_t *spec, const char *hook, const char *config) {
        json_t *hooks, *stage, *h, *entry;
        size_t i;

        if (!json_is_object(spec))
                return -EINVAL;
        hooks = member(spec, "hooks", json_object);
        if (!hooks)
                return -ENOMEM;
        if (!json_is_object(hooks))
                return -EINVAL;
        stage = member(hooks, "createRuntime", json_array);
        if (!stage)
                return -ENOMEM;
        if (!json_is_array(stage))
                return -EINVAL;
        json_array_foreach(stage, i, h) {
                const char *p = json_string_value(json_object_get(h, "path"));

                if (p && strcmp(p, hook) == 0)
                        return 0;
        }
        entry = runc_hook_entry(hook, config);
        return entry && json_array_append_new(stage, entry) == 0 ? 1 : -ENOMEM;
}

/* spec replaces dir/config.json whole: runc never reads half of it, and
 * the file keeps its mode and owner (secretd checks the owner). */
static int replace_config(const char *dir, json_t *spec, const struct stat *st) {
        char tmp[PATH_MAX], path[PATH_MAX];
        _cleanup_close_ int fd = -1, dfd = -1;
        int r = 0;

        if (snprintf(tmp, sizeof(tmp), "%s/.config.json.secretd-XXXXXX", dir) >= (int) sizeof(tmp) ||
            snprintf(path, sizeof(path), "%s/config.json", dir) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, st->st_mode & 07777) < 0 || fchown(fd, st->st_uid, st->st_gid) < 0)
                r = -errno;
        else if (json_dumpfd(spec, fd, JSON_COMPACT) < 0)
                r = -EIO;
        else if (fsync(fd) < 0 || rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

int runc_bundle_add_hook(const char *bundle, const char *hook, const char *config) {
        char path[PATH_MAX];
        struct stat st;
        json_t *spec;
        int r;

        if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        spec = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
        if (!spec)
                return access(path, R_OK) < 0 ? -errno : -EBADMSG;
        r = runc_spec_add_hook(spec, hook, config);
        if (r > 0)
                r = replace_config(bundle, spec, &st);
        json_decref(spec);
        return r < 0 ? r : 0;
}
