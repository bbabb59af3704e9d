/* fuzz-server.h — a daemon's state for harnesses that drive the routes or
 * lease recovery: a config under a temp directory (tmpfs when there is
 * one), a store sealed with a fixed test key, and the leasing module.
 *
 * Leasing runs unprivileged, with plain directories: as root it would
 * mount a tmpfs per instance, and a fuzzer must not leave mounts behind
 * when it stops at a crash.  leasing_open() decides by the effective uid,
 * so it is called with the effective uid of nobody; we are root again
 * right after, so artifacts can be written.  No cgroup2 root is opened:
 * every cgroup looks empty, which only makes more leases end. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "keys.h"
#include "leasing.h"
#include "server.h"
#include "store.h"

#define FUZZ_MAX_VALUE 4096

static char fuzz_dir[64];

static int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        (void) (flag == FTW_DP ? rmdir(path) : unlink(path));
        return 0;
}

/* The temp directory goes when the fuzzer stops (not after a crash: then
 * it is evidence). */
static void fuzz_rm_dir(void) {
        if (fuzz_dir[0])
                (void) nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_put_secret(struct server *s, const char *name, const char *value) {
        int r = store_create(s->store, name, STORE_VALUE, (const uint8_t *) value, strlen(value), NULL);

        if (r < 0 && r != -EEXIST)
                abort();
}

static inline int fuzz_open_leasing(struct server *s) {
        uid_t euid = geteuid();
        int r;

        if (euid == 0 && seteuid(65534) < 0)
                abort();
        r = server_open_leasing(s);
        if (euid == 0 && seteuid(0) < 0)
                abort();
        return r;
}

/* dir gets the temp directory; workloads is the policy's JSON array. */
static inline void fuzz_server_init(struct server *s, char dir[static 64], const char *workloads) {
        static const uint8_t test_key[KEYS_MASTER_SIZE] = "secretd fuzz test key, not used";
        struct config_errors errs = {};
        char *text, path[128];
        struct backend *b;
        int fd;

        snprintf(dir, 64, "%s/fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir) || chmod(dir, 0755) < 0 || keys_global_init() < 0)
                abort();
        snprintf(fuzz_dir, sizeof(fuzz_dir), "%s", dir);
        atexit(fuzz_rm_dir);
        if (asprintf(&text,
                     "{\"admin_socket\":\"%1$s/admin.sock\",\"workload_socket\":\"%1$s/workload.sock\","
                     "\"runtime_dir\":\"%1$s/run\",\"state_dir\":\"%1$s/state\",\"secrets_root\":\"%1$s/secrets\","
                     "\"master_key\":\"%1$s/master.key\",\"audit_log\":\"\","
                     "\"limits\":{\"max_value_size\":%2$d},\"workloads\":%3$s}",
                     dir, FUZZ_MAX_VALUE, workloads) < 0 ||
            config_load_string(text, "fuzz", &s->config, &errs) < 0) {
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                abort();
        }
        free(text);

        fd = open(s->config->master_key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
        if (fd < 0 || write(fd, test_key, sizeof(test_key)) != (ssize_t) sizeof(test_key) || close(fd) < 0)
                abort();
        if (keys_load_file(s->config->master_key, &s->keys) < 0 ||
            backend_dir_open(s->config->state_dir, STORE_BLOB_MAX, &b) < 0 ||
            store_open(b, s->keys, FUZZ_MAX_VALUE, &s->store) < 0)
                abort();

        /* made here, traversable, so that nobody can open them in leasing_open() */
        snprintf(path, sizeof(path), "%s/leases", s->config->runtime_dir);
        if (mkdir(s->config->secrets_root, 0755) < 0 || mkdir(s->config->runtime_dir, 0755) < 0 ||
            mkdir(path, 0755) < 0 || chmod(s->config->secrets_root, 0755) < 0 ||
            chmod(s->config->runtime_dir, 0755) < 0 || chmod(path, 0755) < 0)
                abort();
        snprintf(path, sizeof(path), "%s/containers", s->config->secrets_root);
        if (mkdir(path, 0755) < 0 || chmod(path, 0755) < 0)
                abort();
        if (fuzz_open_leasing(s) < 0)
                abort();
        s->attest.cgroup2_fd = -1;
}
