/* runc-wrapper.c — secretd-runc, the runtime Docker is given so that its
 * containers get secretd's OCI hook: Docker has no hooks directory.  On
 * `create` (and `run`) it adds secretd-oci-hook to the bundle's
 * config.json as a createRuntime hook, then it is runc with the same
 * arguments; every other command goes to runc untouched.  The way
 * nvidia-container-runtime and oci-add-hooks work.
 *
 *   dockerd --add-runtime secretd=/usr/libexec/secretd/secretd-runc
 *   docker run --runtime secretd IMAGE
 *
 * Environment: SECRETD_RUNC, the real runc (default /usr/sbin/runc, else
 * /usr/bin/runc); SECRETD_OCI_HOOK, the hook (default secretd-oci-hook
 * beside this program); SECRETD_CONFIG, handed to the hook as --config
 * (Docker passes its own environment on to its runtimes).  A bundle that
 * cannot be edited stops the container: it must not start without its
 * hook. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "secretd-runc"
/* The hook's own deadline is 8 s; the runtime's is this. */
#define HOOK_TIMEOUT_SEC 10

static const char usage[] =
        "usage: secretd-runc [RUNC OPTIONS] COMMAND [ARGS...]\n"
        "\n"
        "runc, with secretd's OCI hook added to each container it creates: register it\n"
        "with Docker (\"runtimes\": {\"secretd\": {\"path\": \"/usr/libexec/secretd/secretd-runc\"}}\n"
        "in /etc/docker/daemon.json, or dockerd --add-runtime secretd=PATH) and run\n"
        "docker run --runtime secretd IMAGE.\n"
        "\n"
        "Environment: SECRETD_RUNC (the real runc), SECRETD_OCI_HOOK (the hook),\n"
        "SECRETD_CONFIG (secretd's configuration, passed to the hook).\n";

/* runc's global options that take a value (as of runc 1.1). */
static bool global_takes_value(const char *opt) {
        static const char *const with_value[] = { "--root", "--log", "--log-format", "--criu", "--rootless", NULL };

        if (strchr(opt, '='))
                return false;
        for (size_t i = 0; with_value[i]; i++)
                if (strcmp(opt, with_value[i]) == 0)
                        return true;
        return false;
}

/* The command's index in argv, or argc when there is none. */
static int command_index(int argc, char **argv) {
        int i = 1;

        while (i < argc && argv[i][0] == '-')
                i += global_takes_value(argv[i]) ? 2 : 1;
        return i < argc ? i : argc;
}

/* The bundle a create or run names (default: the current directory). */
static const char *bundle_of(int argc, char **argv, int cmd) {
        for (int i = cmd + 1; i < argc; i++) {
                const char *a = argv[i];

                if ((strcmp(a, "--bundle") == 0 || strcmp(a, "-b") == 0) && i + 1 < argc)
                        return argv[i + 1];
                if (strncmp(a, "--bundle=", 9) == 0)
                        return a + 9;
                if (strncmp(a, "-b=", 3) == 0)
                        return a + 3;
        }
        return ".";
}

static json_t *hook_entry(const char *hook) {
        const char *config = getenv("SECRETD_CONFIG");
        json_t *args = json_pack("[s]", "secretd-oci-hook");

        if (args && config && config[0] &&
            (json_array_append_new(args, json_string("--config")) < 0 || json_array_append_new(args, json_string(config)) < 0))
                args = (json_decref(args), NULL);
        return json_pack("{s:s,s:o,s:i}", "path", hook, "args", args, "timeout", HOOK_TIMEOUT_SEC);
}

/* Appends our createRuntime hook unless it is there: 1 added, 0 already
 * there, -errno. */
static int add_hook(json_t *cfg, const char *hook) {
        json_t *hooks = json_object_get(cfg, "hooks"), *stage, *h;
        size_t i;

        if (!json_is_object(cfg))
                return -EINVAL;
        if (!hooks && json_object_set_new(cfg, "hooks", hooks = json_object()) < 0)
                return -ENOMEM;
        if (!json_is_object(hooks))
                return -EINVAL;
        stage = json_object_get(hooks, "createRuntime");
        if (!stage && json_object_set_new(hooks, "createRuntime", stage = json_array()) < 0)
                return -ENOMEM;
        if (!json_is_array(stage))
                return -EINVAL;
        json_array_foreach(stage, i, h)
                if (json_is_string(json_object_get(h, "path")) &&
                    strcmp(json_string_value(json_object_get(h, "path")), hook) == 0)
                        return 0;
        return json_array_append_new(stage, hook_entry(hook)) < 0 ? -ENOMEM : 1;
}

/* config.json replaced whole (temp file, fsync, rename): runc never reads
 * half of it. */
static int write_config(const char *bundle, json_t *cfg, mode_t mode) {
        char tmp[PATH_MAX], path[PATH_MAX];
        int fd, r = 0;

        if (snprintf(tmp, sizeof(tmp), "%s/.config.json.secretd-XXXXXX", bundle) >= (int) sizeof(tmp) ||
            snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode & 07777) < 0 || json_dumpfd(cfg, fd, JSON_COMPACT) < 0 || fsync(fd) < 0)
                r = errno ? -errno : -EIO;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int edit_bundle(const char *bundle, const char *hook) {
        char path[PATH_MAX];
        json_error_t err;
        struct stat st;
        json_t *cfg;
        int r;

        if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        if (stat(path, &st) < 0)
                return -errno;
        cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (!cfg)
                return -EBADMSG;
        r = add_hook(cfg, hook);
        if (r > 0)
                r = write_config(bundle, cfg, st.st_mode);
        json_decref(cfg);
        return r < 0 ? r : 0;
}

/* The hook beside this program, unless the environment names one. */
static int hook_path(char *buf, size_t len) {
        const char *env = getenv("SECRETD_OCI_HOOK");
        char self[PATH_MAX];
        ssize_t n;
        char *slash;

        if (env && env[0])
                return snprintf(buf, len, "%s", env) < (int) len ? 0 : -ENAMETOOLONG;
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return -errno;
        self[n] = '\0';
        slash = strrchr(self, '/');
        *slash = '\0';
        return snprintf(buf, len, "%s/secretd-oci-hook", self) < (int) len ? 0 : -ENAMETOOLONG;
}

static const char *real_runc(void) {
        const char *env = getenv("SECRETD_RUNC");

        if (env && env[0])
                return env;
        return access("/usr/sbin/runc", X_OK) == 0 ? "/usr/sbin/runc" : "/usr/bin/runc";
}

/* Whether path is this very program (a SECRETD_RUNC pointing back here
 * would exec itself forever). */
static bool is_self(const char *path) {
        struct stat a, b;

        return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int main(int argc, char **argv) {
        char *runc;
        int cmd = command_index(argc, argv);
        char hook[PATH_MAX];
        int r;

        if (argc == 2 && strcmp(argv[1], "--help") == 0) {
                fputs(usage, stdout);
                return 0;
        }
        if (cmd < argc && (strcmp(argv[cmd], "create") == 0 || strcmp(argv[cmd], "run") == 0)) {
                const char *bundle = bundle_of(argc, argv, cmd);

                r = hook_path(hook, sizeof(hook));
                if (r >= 0 && access(hook, X_OK) < 0) {
                        fprintf(stderr, PROG ": secretd's hook %s: %s; the container is not created\n", hook,
                                strerror(errno));
                        return 1;
                }
                if (r >= 0)
                        r = edit_bundle(bundle, hook);
                if (r < 0) {
                        fprintf(stderr, PROG ": cannot add secretd's hook to %s/config.json: %s; the container "
                                "is not created\n", bundle, r == -EBADMSG ? "not valid JSON" : strerror(-r));
                        return 1;
                }
        }
        if (is_self(real_runc())) {
                fprintf(stderr, PROG ": %s is this wrapper, not runc: set SECRETD_RUNC to the real one\n", real_runc());
                return 127;
        }
        runc = strdup(real_runc()); /* argv[0] is not const: execv's contract */
        if (!runc)
                return 127;
        argv[0] = runc;
        execv(runc, argv);
        fprintf(stderr, PROG ": cannot run %s: %s\n", runc, strerror(errno));
        free(runc);
        return 127;
}
