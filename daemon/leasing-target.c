/* leasing-target.c — a container instance's main process (see
 * leasing-target.h).
 *
 * Any process of a container may lease, including one that made
 * namespaces of its own (unshare -Urm, unshare -Urpf) to put a mount point
 * or a pid 1 of its choosing in the daemon's way.  None of those is the
 * container's main process, the one the runtime started:
 *  - a container with a pid namespace of its own has the one directly
 *    below the host's on the caller's chain of pid namespaces, and its main
 *    process is pid 1 there (a nested namespace's pid 1 is further down);
 *  - one without has its main process first: the oldest process of its
 *    cgroup in the host's pid namespace.
 * A pidfd is opened before a process's facts are read and found alive
 * after, so the facts are those of the process held, never of a pid
 * reused in between. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attest.h"
#include "cgroup.h"
#include "leasing-target.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

/* A container's cgroup is read to its end only up to this many processes:
 * bounded work per lease, whatever a workload forks. */
#define PROCS_SCANNED_MAX 65536
/* The kernel nests pid namespaces at most 32 deep. */
#define PID_NS_DEPTH_MAX 32
/* /proc/<pid>/cgroup of a hybrid host: a dozen hierarchies of paths */
#define PROC_CGROUP_TEXT_MAX (64 * 1024)

struct proc_facts {
        uint64_t start;
        uint64_t pid_ns;
        long inner_pid; /* its pid in its own pid namespace (NSpid's last) */
};

static bool pidfd_alive(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return pidfd >= 0 && poll(&pfd, 1, 0) == 0; /* readable once it exits */
}

static int ns_inode(pid_t pid, const char *ns, uint64_t *ret) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns);
        if (stat(path, &st) < 0)
                return -errno;
        *ret = (uint64_t) st.st_ino;
        return 0;
}

/* Field 22 of /proc/<pid>/stat, counted after the command's closing
 * parenthesis (a command may hold spaces and parentheses). */
static int read_start(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024], *p, *tok, *save = NULL;
        _cleanup_close_ int fd = -1;
        ssize_t n;
        int field = 3;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        for (tok = strtok_r(p + 1, " ", &save); tok && field < 22; field++)
                tok = strtok_r(NULL, " ", &save);
        if (!tok)
                return -EIO;
        *ret = strtoull(tok, NULL, 10);
        return 0;
}

static int read_inner_pid(pid_t pid, long *ret) {
        char path[64], line[512];
        FILE *f;
        int r = -EIO;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "NSpid:", 6) == 0) {
                        char *last = strrchr(line, '\t');

                        if (last) {
                                *ret = strtol(last + 1, NULL, 10);
                                r = 0;
                        }
                        break;
                }
        fclose(f);
        return r;
}

/* A pidfd to pid and its facts, read while the pidfd held it. */
static int open_checked(pid_t pid, struct target *ret, struct proc_facts *ret_facts) {
        struct proc_facts f = {};
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        if (pidfd < 0)
                return -errno;
        if (read_start(pid, &f.start) < 0 || ns_inode(pid, "pid", &f.pid_ns) < 0 ||
            read_inner_pid(pid, &f.inner_pid) < 0 || !pidfd_alive(pidfd)) {
                safe_close(pidfd);
                return -ESRCH;
        }
        *ret = (struct target) { .pidfd = pidfd, .pid = pid, .start = f.start };
        *ret_facts = f;
        return 0;
}

/* The pid namespace directly below the host's on p's chain: the
 * container's, however deep below it p made its own. */
static int container_pid_ns(const struct attest_context *ctx, const struct peer *p, uint64_t *ret) {
        char path[64];
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int) p->pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (!attest_peer_alive(p)) {
                safe_close(fd);
                return -ESRCH;
        }
        for (int depth = 0; depth < PID_NS_DEPTH_MAX; depth++) {
                struct stat st, pst;
                int parent = ioctl(fd, NS_GET_PARENT);

                if (parent < 0 || fstat(fd, &st) < 0 || fstat(parent, &pst) < 0) {
                        safe_close(parent);
                        break; /* not below ours at all */
                }
                safe_close(fd);
                fd = parent;
                if ((uint64_t) pst.st_ino == ctx->host_pid_ns) {
                        safe_close(fd);
                        *ret = (uint64_t) st.st_ino;
                        return 0;
                }
        }
        safe_close(fd);
        return -EPERM;
}

/* The cgroup's cgroup.procs (cgroup relative to the cgroup2 root). */
static FILE *procs_open(const struct attest_context *ctx, const char *cgroup) {
        char path[4300];
        FILE *f;
        int fd;

        if (!cgroup || cgroup[0] != '/')
                return NULL;
        snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup + 1);
        fd = openat(ctx->cgroup2_fd, path, O_RDONLY | O_CLOEXEC);
        f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (!f)
                safe_close(fd);
        return f;
}

static bool older(const struct target *a, const struct target *b) {
        return b->pidfd < 0 || a->start < b->start || (a->start == b->start && a->pid < b->pid);
}

/* The main process among cgroup's: pid 1 of pid namespace want, or when
 * want is 0 the oldest in the host's pid namespace. */
static int main_of_cgroup(const struct attest_context *ctx, const char *cgroup, uint64_t want, struct target *ret) {
        struct target best = TARGET_NONE;
        FILE *procs;
        int pid;

        procs = procs_open(ctx, cgroup);
        if (!procs)
                return -ESRCH;
        for (int n = 0; n < PROCS_SCANNED_MAX && fscanf(procs, "%d", &pid) == 1; n++) {
                struct target t;
                struct proc_facts f;
                bool main;

                if (open_checked(pid, &t, &f) < 0)
                        continue;
                main = want ? f.pid_ns == want && f.inner_pid == 1 : f.pid_ns == ctx->host_pid_ns && older(&t, &best);
                if (!main) {
                        target_close(&t);
                        continue;
                }
                target_close(&best);
                best = t;
                if (want)
                        break;
        }
        fclose(procs);
        if (best.pidfd < 0)
                return -ESRCH;
        *ret = best;
        return 0;
}

int target_find(const struct attest_context *ctx, const struct peer *p, const char *cgroup, struct target *ret) {
        uint64_t want = 0; /* the container's pid namespace; 0: it has none */
        int r;

        if (!p->same_pid_ns && (r = container_pid_ns(ctx, p, &want)) < 0)
                return r;
        return main_of_cgroup(ctx, cgroup, want, ret);
}

int target_oldest(const struct attest_context *ctx, const char *cgroup, struct target *ret) {
        return main_of_cgroup(ctx, cgroup, 0, ret);
}

/* Whether pid's cgroup2 path is cgroup or below it. */
static bool in_cgroup(pid_t pid, const char *cgroup) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        char file[64];
        size_t n = strlen(cgroup);

        snprintf(file, sizeof(file), "/proc/%d/cgroup", (int) pid);
        if (read_text_at(AT_FDCWD, file, PROC_CGROUP_TEXT_MAX, &text) < 0 || cgroup_path_from_proc(text, &path) < 0)
                return false;
        return strncmp(path, cgroup, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int target_open_in(const struct attest_context *ctx, pid_t pid, const char *cgroup, struct target *ret) {
        struct target t;
        struct proc_facts f;

        if (pid <= 0 || !cgroup || open_checked(pid, &t, &f) < 0)
                return -ESRCH;
        if (f.pid_ns != ctx->host_pid_ns || !in_cgroup(pid, cgroup) || !target_alive(&t)) {
                target_close(&t);
                return -ESRCH;
        }
        *ret = t;
        return 0;
}

int target_reopen(pid_t pid, uint64_t start, struct target *ret) {
        struct target t;
        struct proc_facts f;

        if (pid <= 0 || open_checked(pid, &t, &f) < 0)
                return -ESRCH;
        if (t.start != start) {
                target_close(&t);
                return -ESRCH;
        }
        *ret = t;
        return 0;
}

int target_adopt(pid_t pid, int pidfd, struct target *ret) {
        struct target t = { .pid = pid };

        t.pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        if (t.pidfd < 0)
                return -errno;
        if (read_start(pid, &t.start) < 0 || !pidfd_alive(t.pidfd)) {
                target_close(&t);
                return -ESRCH;
        }
        *ret = t;
        return 0;
}

bool target_alive(const struct target *t) {
        return pidfd_alive(t->pidfd);
}

void target_close(struct target *t) {
        safe_close(t->pidfd);
        *t = TARGET_NONE;
}

/* The host uid that is root in pid's user namespace ("0 200000 65536" →
 * 200000), or (uid_t) -1 when root is not mapped. */
static uid_t mapped_root(pid_t pid, const char *file) {
        char path[64];
        unsigned long inside, outside, count;
        uid_t ret = (uid_t) -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        f = fopen(path, "re");
        if (!f)
                return ret;
        while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
                if (inside == 0 && count > 0) {
                        ret = (uid_t) outside;
                        break;
                }
        fclose(f);
        return ret;
}

int target_authority(const struct attest_context *ctx, pid_t pid, int pidfd, bool in_userns_ok,
                     struct target_where *ret) {
        _cleanup_close_ int mnt_fd = -1, owner_fd = -1;
        char path[64];
        struct stat mnt, owner;
        uint64_t own_userns;
        uid_t uid = 0;
        gid_t gid = 0;

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        mnt_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (mnt_fd < 0 || fstat(mnt_fd, &mnt) < 0)
                return -ESRCH;
        owner_fd = ioctl(mnt_fd, NS_GET_USERNS);
        if (owner_fd < 0 || fstat(owner_fd, &owner) < 0)
                return -EPERM;
        if ((uint64_t) owner.st_ino != ctx->host_user_ns) {
                if (!in_userns_ok || ns_inode(pid, "user", &own_userns) < 0 || own_userns != (uint64_t) owner.st_ino)
                        return -EPERM;
                uid = mapped_root(pid, "uid_map");
                gid = (gid_t) mapped_root(pid, "gid_map");
                if (uid == (uid_t) -1 || gid == (gid_t) -1)
                        return -EPERM;
        }
        /* what was read is pid's, if it is still the process held */
        if (!pidfd_alive(pidfd))
                return -ESRCH;
        *ret = (struct target_where) { .mnt_fd = TAKE_FD(mnt_fd), .mnt_ns = (uint64_t) mnt.st_ino, .uid = uid, .gid = gid };
        return 0;
}

static int open_mnt_ns(pid_t pid, uint64_t ns) {
        char path[64];
        struct stat st;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t) st.st_ino != ns))
                fd = safe_close(fd);
        return fd;
}

int target_mnt_ns_fd(const struct attest_context *ctx, const struct target *t, const char *cgroup, uint64_t ns) {
        FILE *procs;
        int pid, fd = -1;

        if (!ns)
                return -1;
        /* the namespace itself is what counts: a reused pid's is another */
        if (target_alive(t) && (fd = open_mnt_ns(t->pid, ns)) >= 0)
                return fd;
        procs = procs_open(ctx, cgroup);
        if (!procs)
                return -1;
        for (int n = 0; fd < 0 && n < PROCS_SCANNED_MAX && fscanf(procs, "%d", &pid) == 1; n++)
                fd = open_mnt_ns(pid, ns);
        fclose(procs);
        return fd;
}
