/* hook-attest.c — a container about to start, checked against the
 * kernel (see hook-attest.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "hook-attest.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"
#include "secretd/protocol.h"

/* A bundle's config.json: Docker's and Podman's are a few KiB; a
 * thousand mounts and a long environment stay well under this. */
#define CONFIG_JSON_MAX (4 * 1024 * 1024)
#define ANNOTATIONS_MAX 256
#define CONTAINER_ID_MAX 128
/* The comm of runc's init before it execs the container's process
 * (runc's libcontainer/nsenter sets it).  Other runtimes are not taken
 * until their init has been looked at. */
#define RUNC_INIT_COMM "runc:[2:INIT]"

#define _cleanup_json_ _cleanup_(json_decrefp)

struct hook_state {
        const char *id;
        pid_t pid;
        const char *bundle;
};

/* The claims of a bundle's config.json that we use. */
struct bundle_facts {
        char root[PATH_MAX];  /* root.path, absolute */
        unsigned long uid, gid; /* process.user, inside the container */
        json_t *annotations;  /* borrowed from the parsed config */
};

static int map_id(pid_t pid, const char *map, unsigned long id, unsigned long *ret);
static int refuse(int r, char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(int r, char *buf, size_t len, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        return r;
}

static bool id_valid(const char *id) {
        size_t n = strlen(id);

        return n > 0 && n <= CONTAINER_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int state_parse(json_t *o, struct hook_state *ret, char *why, size_t wl) {
        json_t *pid = json_object_get(o, "pid"), *status = json_object_get(o, "status");

        if (!json_is_object(o))
                return refuse(-EBADMSG, why, wl, "the state is not a JSON object");
        ret->id = json_string_value(json_object_get(o, "id"));
        ret->bundle = json_string_value(json_object_get(o, "bundle"));
        if (!ret->id || !id_valid(ret->id))
                return refuse(-EBADMSG, why, wl, "the state's \"id\" is missing or not a container id");
        if (!json_is_integer(pid) || json_integer_value(pid) < 2 || json_integer_value(pid) > INT_MAX)
                return refuse(-EBADMSG, why, wl, "the state's \"pid\" is missing or not a process's (2 or more)");
        if (!ret->bundle || ret->bundle[0] != '/' || strlen(ret->bundle) >= PATH_MAX - 64)
                return refuse(-EBADMSG, why, wl, "the state's \"bundle\" is missing or not an absolute path");
        /* createRuntime runs while the container is "creating" */
        if (status && (!json_is_string(status) || strcmp(json_string_value(status), "creating") != 0))
                return refuse(-EPERM, why, wl, "the state's status is not \"creating\": not a createRuntime hook");
        ret->pid = (pid_t) json_integer_value(pid);
        return 0;
}

/* Opens the bundle's config.json, refusing one anyone but root could have
 * written (then its root.path would be anyone's choice).  The directory
 * may be the container's root's (owner: Podman gives a --uidmap
 * container's bundle to the host uid its root maps to). */
static int config_open(const char *bundle, uid_t owner, char *why, size_t wl) {
        _cleanup_close_ int bfd = -1;
        int fd;
        struct stat st;

        bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0)
                return refuse(-errno, why, wl, "the bundle directory cannot be opened: %s", strerror(errno));
        if (fstat(bfd, &st) < 0 || (st.st_uid != 0 && st.st_uid != owner) || (st.st_mode & 022))
                return refuse(-EPERM, why, wl, "the bundle directory is not root's alone (nor the container root's)");
        fd = openat(bfd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return refuse(-errno, why, wl, "the bundle's config.json cannot be opened: %s", strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) ||
            st.st_size > CONFIG_JSON_MAX) {
                safe_close(fd);
                return refuse(-EPERM, why, wl, "the bundle's config.json is not a file root alone may write");
        }
        return fd;
}

static int user_id(json_t *user, const char *key, unsigned long *ret) {
        json_t *v = json_object_get(user, key);

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX - 1)
                return -EBADMSG;
        *ret = (unsigned long) json_integer_value(v);
        return 0;
}

static int bundle_parse(json_t *cfg, const char *bundle, struct bundle_facts *ret, char *why, size_t wl) {
        json_t *user = json_object_get(json_object_get(cfg, "process"), "user");
        const char *root = json_string_value(json_object_get(json_object_get(cfg, "root"), "path"));
        const char *key;
        json_t *v;
        int n;

        if (!root || !root[0])
                return refuse(-EBADMSG, why, wl, "the bundle's config.json has no root.path");
        n = root[0] == '/' ? snprintf(ret->root, sizeof(ret->root), "%s", root)
                           : snprintf(ret->root, sizeof(ret->root), "%s/%s", bundle, root);
        if (n < 0 || (size_t) n >= sizeof(ret->root))
                return refuse(-EBADMSG, why, wl, "the bundle's root.path is too long");
        if (user_id(user, "uid", &ret->uid) < 0 || user_id(user, "gid", &ret->gid) < 0)
                return refuse(-EBADMSG, why, wl, "the bundle's process.user is not a uid and gid");
        ret->annotations = json_object_get(cfg, "annotations");
        if (ret->annotations && (!json_is_object(ret->annotations) || json_object_size(ret->annotations) > ANNOTATIONS_MAX))
                return refuse(-EBADMSG, why, wl, "the bundle's annotations are not an object of at most %d", ANNOTATIONS_MAX);
        json_object_foreach(ret->annotations, key, v)
                if (!json_is_string(v))
                        return refuse(-EBADMSG, why, wl, "the bundle's annotation '%.64s' is not a string", key);
        return 0;
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t len) {
        char path[64];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, what);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = read(fd, buf, len - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return (int) n;
}

/* The host id that id inside pid's user namespace is ("0 200000 65536":
 * 1000 is 201000), or -ENOENT when it is not mapped. */
static int map_id(pid_t pid, const char *map, unsigned long id, unsigned long *ret) {
        char text[4096], *line, *save = NULL;
        int r = read_proc(pid, map, text, sizeof(text));

        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long inside, outside, count;

                if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && id >= inside &&
                    id - inside < count) {
                        *ret = outside + (id - inside);
                        return 0;
                }
        }
        return -ENOENT;
}

static bool pidfd_live(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 && poll(&pfd, 1, 0) == 0;
}

/* The init is runc's, not started: its comm, and its cgroup holds it
 * alone (a running container's real pid fails both). */
static int check_not_started(const struct attest_context *ctx, const struct peer *p, char *why, size_t wl) {
        char comm[64], procs[64], path[PATH_MAX], want[32];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        int r;

        r = read_proc(p->pid, "comm", comm, sizeof(comm));
        if (r < 0)
                return refuse(r, why, wl, "pid %d cannot be read: %s", (int) p->pid, strerror(-r));
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, RUNC_INIT_COMM) != 0)
                return refuse(-EPERM, why, wl, "pid %d is not runc's container init (comm '%.16s')", (int) p->pid, comm);
        snprintf(path, sizeof(path), "%s/cgroup.procs", p->cgroup + 1);
        fd = openat(ctx->cgroup2_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return refuse(-errno, why, wl, "the container's cgroup cannot be read: %s", strerror(errno));
        n = read(fd, procs, sizeof(procs) - 1);
        if (n < 0)
                return refuse(-errno, why, wl, "the container's cgroup cannot be read: %s", strerror(errno));
        procs[n] = '\0';
        snprintf(want, sizeof(want), "%d\n", (int) p->pid);
        if (strcmp(procs, want) != 0)
                return refuse(-EPERM, why, wl, "the container's cgroup holds other processes: it has started");
        return 0;
}

/* The cgroup is exactly a container's (not a host's, not a delegated
 * subtree's, not below the container's own) and names the state's id. */
static int check_cgroup(const struct peer *p, const char *id, char *why, size_t wl) {
        const struct runtime_info *rt = runtime_info(p->cls.runtime);

        if (rt->scope != RUNTIME_SCOPE_CONTAINER && rt->scope != RUNTIME_SCOPE_POD)
                return refuse(-EPERM, why, wl, "pid %d is in cgroup '%.200s', not a root container runtime's",
                              (int) p->pid, p->cgroup);
        if (p->cls.match_len != strlen(p->cgroup))
                return refuse(-EPERM, why, wl, "pid %d is below its container's cgroup, not in it", (int) p->pid);
        if (strcmp(p->cls.id, id) != 0)
                return refuse(-EPERM, why, wl, "pid %d is in container %.12s, not %.12s", (int) p->pid, p->cls.id, id);
        return 0;
}

static int check_namespaces(const struct attest_context *ctx, const struct peer *p, char *why, size_t wl) {
        struct stat st;

        if (stat("/proc/self/ns/mnt", &st) < 0)
                return refuse(-errno, why, wl, "our own mount namespace cannot be read");
        if (p->same_mnt_ns || p->mnt_ns == (uint64_t) st.st_ino || p->mnt_ns == ctx->host_mnt_ns)
                return refuse(-EPERM, why, wl, "pid %d is in the host's mount namespace, not a container's", (int) p->pid);
        return 0;
}

/* root.path is where runc chdir'd its init (a kernel fact); the rootfs is
 * then opened through that very link, so the walk to the mount point
 * starts in the container's tree, never at the host's "/". */
static int open_root(pid_t pid, const char *root, char *why, size_t wl) {
        char path[64], cwd[PATH_MAX];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/cwd", (int) pid);
        n = readlink(path, cwd, sizeof(cwd) - 1);
        if (n < 0)
                return refuse(errno == ENOENT ? -ESRCH : -errno, why, wl, "pid %d's cwd cannot be read", (int) pid);
        cwd[n] = '\0';
        if (strcmp(cwd, root) != 0)
                return refuse(-EPERM, why, wl, "pid %d's cwd is not the bundle's root.path: it is not this bundle's init",
                              (int) pid);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return refuse(-errno, why, wl, "pid %d's rootfs cannot be opened: %s", (int) pid, strerror(errno));
        return fd;
}

/* config.json whole, in one read: jansson's json_loadfd reads a byte at a
 * time (10,000 system calls for Docker's, most of a hook's cost). */
static json_t *load_config(int fd, json_error_t *err) {
        _cleanup_free_ char *text = NULL;
        struct stat st;

        *err = (json_error_t) { .line = 0 };
        if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > CONFIG_JSON_MAX)
                return NULL;
        text = malloc((size_t) st.st_size);
        if (!text || read_full(fd, text, (size_t) st.st_size) < 0)
                return NULL;
        return json_loadb(text, (size_t) st.st_size, JSON_REJECT_DUPLICATES, err);
}

/* The bundle's claims, read and parsed: json owns what facts borrows. */
static int bundle_read(const struct hook_state *s, json_t **ret_cfg, struct bundle_facts *ret, char *why, size_t wl) {
        _cleanup_close_ int fd = -1;
        unsigned long root = 0;
        json_error_t err;
        json_t *cfg;
        int r;

        r = map_id(s->pid, "uid_map", 0, &root);
        if (r == -ESRCH)
                return refuse(r, why, wl, "pid %d: %s", (int) s->pid, strerror(-r));
        fd = config_open(s->bundle, r < 0 ? 0 : (uid_t) root, why, wl);
        if (fd < 0)
                return fd;
        cfg = load_config(fd, &err);
        if (!cfg)
                return refuse(-EBADMSG, why, wl, "the bundle's config.json is not JSON (line %d)", err.line);
        r = bundle_parse(cfg, s->bundle, ret, why, wl);
        if (r < 0) {
                json_decref(cfg);
                return r;
        }
        *ret_cfg = cfg;
        return 0;
}

/* The peer: the init pinned by pidfd, with the host ids of the process
 * the container will run and the bundle's annotations. */
static int init_peer(const struct attest_context *ctx, const struct hook_state *s, int pidfd,
                     const struct bundle_facts *b, struct peer **ret, char *why, size_t wl) {
        unsigned long uid, gid;
        int r;

        if (map_id(s->pid, "uid_map", b->uid, &uid) < 0 || map_id(s->pid, "gid_map", b->gid, &gid) < 0)
                return refuse(-EPERM, why, wl, "the container's user %lu:%lu is not mapped to the host", b->uid, b->gid);
        r = attest_process(ctx, pidfd, s->pid, (uid_t) uid, (gid_t) gid, ret);
        if (r < 0)
                return refuse(r, why, wl, "pid %d cannot be attested: %s", (int) s->pid, strerror(-r));
        (*ret)->annotations = json_incref(b->annotations);
        return 0;
}

static int hook_check(const struct attest_context *ctx, const struct hook_state *s, int pidfd,
                      struct hook_container *ret, char *why, size_t wl) {
        _cleanup_(peer_freep) struct peer *p = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_close_ int root_fd = -1;
        struct bundle_facts b = {};
        int r;

        r = bundle_read(s, &cfg, &b, why, wl);
        if (r < 0)
                return r;
        r = init_peer(ctx, s, pidfd, &b, &p, why, wl);
        if (r < 0)
                return r;
        if ((r = check_cgroup(p, s->id, why, wl)) < 0 || (r = check_namespaces(ctx, p, why, wl)) < 0 ||
            (r = check_not_started(ctx, p, why, wl)) < 0)
                return r;
        root_fd = open_root(s->pid, b.root, why, wl);
        if (root_fd < 0)
                return root_fd;
        /* every /proc read above was of the process the pidfd holds */
        if (!pidfd_live(pidfd))
                return refuse(-ESRCH, why, wl, "pid %d exited while it was checked", (int) s->pid);
        *ret = (struct hook_container) { .peer = TAKE_PTR(p), .root_fd = TAKE_FD(root_fd),
                                         .root_path = strdup(b.root) };
        if (!ret->root_path) {
                hook_container_done(ret);
                return refuse(-ENOMEM, why, wl, "out of memory");
        }
        return 0;
}

int hook_attest(const struct attest_context *ctx, const char *state, size_t len, struct hook_container *ret,
                char *why, size_t wl) {
        _cleanup_json_ json_t *o = NULL;
        _cleanup_close_ int pidfd = -1;
        struct hook_state s = {};
        json_error_t err;
        int r;

        if (len > HOOK_STATE_MAX)
                return refuse(-EBADMSG, why, wl, "the state is over %d bytes", HOOK_STATE_MAX);
        o = json_loadb(state, len, JSON_REJECT_DUPLICATES, &err);
        if (!o)
                return refuse(-EBADMSG, why, wl, "the state is not JSON (line %d, column %d)", err.line, err.column);
        r = state_parse(o, &s, why, wl);
        if (r < 0)
                return r;
        pidfd = (int) syscall(SYS_pidfd_open, s.pid, 0);
        if (pidfd < 0)
                return refuse(errno == ESRCH ? -ESRCH : -errno, why, wl, "pid %d: %s", (int) s.pid, strerror(errno));
        return hook_check(ctx, &s, pidfd, ret, why, wl);
}

void hook_container_done(struct hook_container *c) {
        c->peer = peer_free(c->peer);
        free(c->root_path);
        c->root_path = NULL;
        safe_close(c->root_fd);
        c->root_fd = -1;
}
