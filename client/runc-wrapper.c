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
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runc-spec.h"
#include "secretd/cleanup.h"

#define PROG "secretd-runc"

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

/* Whether path is this very program (a SECRETD_RUNC pointing back here
 * would exec itself forever). */
static bool is_self(const char *path) {
        struct stat a, b;

        return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* $SECRETD_RUNC, else the first runc of the usual two that is not this
 * program (it may be installed as one of them). */
static const char *real_runc(void) {
        static const char *const usual[] = { "/usr/sbin/runc", "/usr/bin/runc" };
        const char *env = getenv("SECRETD_RUNC");

        if (env && env[0])
                return env;
        for (size_t i = 0; i < 2; i++)
                if (access(usual[i], X_OK) == 0 && !is_self(usual[i]))
                        return usual[i];
        return usual[1];
}

/* Adds the hook to the bundle a create or run names: 0, or 1 with the
 * reason on stderr (the container is then not created). */
static int prepare_bundle(const char *bundle) {
        char hook[PATH_MAX];
        int r = hook_path(hook, sizeof(hook));

        if (r >= 0 && access(hook, X_OK) < 0) {
                fprintf(stderr, PROG ": secretd's hook %s: %s; the container is not created\n", hook,
                        strerror(errno));
                return 1;
        }
        if (r >= 0)
                r = runc_bundle_add_hook(bundle, hook, getenv("SECRETD_CONFIG"));
        if (r < 0) {
                fprintf(stderr, PROG ": cannot add secretd's hook to %s/config.json: %s; the container "
                        "is not created\n", bundle, r == -EBADMSG ? "not valid JSON" :
                        r == -EINVAL ? "its hooks are not what OCI says" : strerror(-r));
                return 1;
        }
        return 0;
}

/* Whether any argument could be runc's create or run command. */
static bool mentions_create(int argc, char **argv) {
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "create") == 0 || strcmp(argv[i], "run") == 0)
                        return true;
        return false;
}

int main(int argc, char **argv) {
        _cleanup_free_ char *runc = NULL;
        const char *bad = NULL;
        struct runc_call call;

        if (argc == 2 && strcmp(argv[1], "--help") == 0) {
                fputs(usage, stdout);
                return 0;
        }
        if (runc_call_parse(argc, argv, &call, &bad) < 0) {
                /* Only a call that might be a create must be stopped: a
                 * delete or kill always reaches runc, which judges it. */
                if (mentions_create(argc, argv)) {
                        fprintf(stderr, PROG ": %s is not an option of runc 1.1 that it knows: cannot tell the "
                                "command; nothing run\n", bad);
                        return 1;
                }
                call.creates = false;
        }
        if (call.creates && prepare_bundle(call.bundle) != 0)
                return 1;
        runc = strdup(real_runc());
        if (!runc)
                return 127;
        if (is_self(runc)) {
                fprintf(stderr, PROG ": %s is this wrapper, not runc: set SECRETD_RUNC to the real one\n", runc);
                return 127;
        }
        argv[0] = runc;
        execv(runc, argv);
        fprintf(stderr, PROG ": cannot run %s: %s\n", runc, strerror(errno));
        return 127;
}
