/* attest.c — peer credentials, pidfd, /proc and cgroup facts → identity.
 *
 * Order matters (DESIGN section 3): credentials and the pidfd first (both
 * fixed at connect()), then /proc/<pid>, then a check through the pidfd
 * that the process we read about is still the one that connected.  A peer
 * that exited in between is refused (-ESRCH): its pid may already belong to
 * someone else.  Never logs; main/api decide what to say. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attest.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define PROC_CGROUP_MAX (64 * 1024)

/* PIDFD_GET_INFO (Linux 6.13, linux/pidfd.h): a process's credentials
 * through its pidfd in one ioctl.  Debian 12's headers predate it; the
 * first published layout (64 bytes) is all we ask for. */
#ifndef PIDFD_GET_INFO
struct pidfd_info {
        uint64_t mask;
        uint64_t cgroupid;
        uint32_t pid, tgid, ppid;
        uint32_t ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
        uint32_t spare0[1];
};
#define PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidfd_info)
#define PIDFD_INFO_CREDS (1UL << 1)
#endif

static int ns_inode_at(int dfd, const char *path, uint64_t *ret) {
        struct stat st;

        if (fstatat(dfd, path, &st, 0) < 0)
                return -errno;
        *ret = (uint64_t) st.st_ino;
        return 0;
}

/* The mount, pid and user namespaces of the process directory dfd. */
static int ns_inodes_at(int dfd, uint64_t *ret_mnt, uint64_t *ret_pid, uint64_t *ret_user) {
        uint64_t mnt, pid, user;
        int r;

        r = ns_inode_at(dfd, "ns/mnt", &mnt);
        if (r >= 0)
                r = ns_inode_at(dfd, "ns/pid", &pid);
        if (r >= 0)
                r = ns_inode_at(dfd, "ns/user", &user);
        if (r < 0)
                return r;
        *ret_mnt = mnt;
        *ret_pid = pid;
        *ret_user = user;
        return 0;
}

/* The host is PID 1's namespaces: under the shipped unit our own mount
 * namespace is a private one (ProtectSystem=), and comparing with it would
 * call every host process a stranger.  Reading PID 1's takes root with
 * CAP_SYS_PTRACE; without it (a sandbox, an unprivileged run) our own
 * namespaces are the best knowledge there is.  Our pid namespace is the
 * one /proc shows, PID 1 included. */
static int host_namespaces(struct attest_context *ctx) {
        _cleanup_close_ int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int pid1 = open("/proc/1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t mnt, pid, user;
        int r;

        if (self < 0)
                return -errno;
        r = ns_inodes_at(self, &ctx->host_mnt_ns, &ctx->host_pid_ns, &ctx->host_user_ns);
        if (r < 0)
                return r;
        ctx->host_from_pid1 = false;
        if (pid1 >= 0 && ns_inodes_at(pid1, &mnt, &pid, &user) >= 0) {
                ctx->host_mnt_ns = mnt;
                ctx->host_user_ns = user;
                ctx->host_from_pid1 = true;
        }
        return 0;
}

int attest_context_init(struct attest_context *ctx) {
        _cleanup_free_ char *mountinfo = NULL, *mnt = NULL;
        int r;

        ctx->cgroup2_fd = -1; /* admin lists are the caller's, set apart */
        r = read_text_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 20, &mountinfo);
        if (r < 0)
                return r;
        r = cgroup2_mount_from_mountinfo(mountinfo, &mnt);
        if (r < 0)
                return r;
        ctx->cgroup2_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ctx->cgroup2_fd < 0)
                return -errno;
        r = host_namespaces(ctx);
        if (r < 0) {
                ctx->cgroup2_fd = safe_close(ctx->cgroup2_fd);
                return r;
        }
        return 0;
}

void attest_context_done(struct attest_context *ctx) {
        ctx->cgroup2_fd = safe_close(ctx->cgroup2_fd);
}

static int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (int tries = 0; tries < 4; tries++) {
                _cleanup_free_ gid_t *g = malloc(len ? len : sizeof(gid_t));

                if (!g)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
                        *ret_n = len / sizeof(gid_t);
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                if (errno != ERANGE)
                        return -errno;
                /* the kernel told us the size it needs in len */
        }
        return -ERANGE;
}

static int peer_pidfd(int fd, pid_t pid) {
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);

        /* SO_PEERPIDFD pins the process as of connect(); pidfd_open(pid)
         * after the fact is the fallback on kernels before 6.5. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0)
                return pidfd;
        /* Only a kernel without the option may fall back.  Kernels 6.5 to
         * 6.15 answer EINVAL (ESRCH later) for a peer that has exited, and
         * pidfd_open(pid) would then open whoever has its pid now. */
        if (errno == ESRCH || errno == EINVAL || errno == ENODATA)
                return -ESRCH;
        if (errno != ENOPROTOOPT)
                return -errno;
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        return pidfd < 0 ? -errno : pidfd;
}

bool attest_peer_alive(const struct peer *p) {
        struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

        /* A pidfd turns readable when its process exits. */
        return p->pidfd >= 0 && poll(&pfd, 1, 0) == 0;
}

/* The effective uid and gid from /proc/<pid>/status, the ids SO_PEERCRED
 * recorded at connect(). */
static int proc_effective_ids(int procfd, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *text = NULL;
        unsigned ru, eu, rg, eg;
        const char *u, *g;
        int r;

        r = read_text_at(procfd, "status", 16 * 1024, &text);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        u = strstr(text, "\nUid:");
        g = strstr(text, "\nGid:");
        if (!u || !g || sscanf(u, "\nUid: %u %u", &ru, &eu) != 2 || sscanf(g, "\nGid: %u %u", &rg, &eg) != 2)
                return -EBADMSG;
        *ret_uid = eu;
        *ret_gid = eg;
        return 0;
}

/* The peer's executable, NULL when unreadable.  A replaced binary reads
 * "/usr/bin/x (deleted)": that is not /usr/bin/x any more, so it matches
 * no exe rule (ret_deleted says so; the path is still returned). */
static int proc_exe(int procfd, char **ret, bool *ret_deleted) {
        char exe[4096];
        ssize_t n;

        *ret = NULL;
        *ret_deleted = false;
        n = readlinkat(procfd, "exe", exe, sizeof(exe) - 1);
        if (n > 10 && memcmp(exe + n - 10, " (deleted)", 10) == 0) {
                n -= 10;
                *ret_deleted = true;
        }
        if (n <= 0)
                return 0;
        exe[n] = '\0';
        *ret = strdup(exe);
        return *ret ? 0 : -ENOMEM;
}

static int proc_open(pid_t pid) {
        char path[64];
        int fd;

        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        return fd;
}

/* What /proc says, read through one directory fd so every file comes from
 * the same process entry. */
static int peer_read_proc(const struct attest_context *ctx, struct peer *p, bool check_ids) {
        _cleanup_free_ char *text = NULL, *exe = NULL;
        _cleanup_close_ int procfd = -1;
        struct stat st;
        bool deleted;
        uid_t euid;
        gid_t egid;
        int r;

        procfd = proc_open(p->pid);
        if (procfd < 0)
                return procfd;
        /* A setuid exec between connect() and now: what /proc shows is a
         * program the credentials SO_PEERCRED recorded never ran. */
        r = proc_effective_ids(procfd, &euid, &egid);
        if (r < 0)
                return r;
        if (check_ids && (euid != p->uid || egid != p->gid))
                return -EPERM;
        r = read_text_at(procfd, "cgroup", PROC_CGROUP_MAX, &text);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        r = cgroup_path_from_proc(text, &p->cgroup);
        if (r < 0)
                return r;
        r = ns_inodes_at(procfd, &p->mnt_ns, &p->pid_ns, &p->user_ns);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        p->same_mnt_ns = p->mnt_ns == ctx->host_mnt_ns;
        p->same_pid_ns = p->pid_ns == ctx->host_pid_ns;
        p->same_user_ns = p->user_ns == ctx->host_user_ns;
        r = proc_exe(procfd, &exe, &deleted);
        if (r < 0)
                return r;
        /* the file itself, through the kernel's link: a path only says
         * where something was found in the peer's own mount namespace */
        if (exe && fstatat(procfd, "exe", &st, 0) == 0) {
                p->has_exe_id = true;
                p->exe_dev = st.st_dev;
                p->exe_ino = st.st_ino;
        }
        if (!deleted)
                p->exe = TAKE_PTR(exe);
        return 0;
}

/* The effective ids through the pidfd: no /proc file to open and format
 * (reading /proc/<pid>/status was a tenth of a lease's CPU).  -EOPNOTSUPP
 * on kernels before 6.13. */
static int pidfd_effective_ids(int pidfd, uid_t *ret_uid, gid_t *ret_gid) {
        struct pidfd_info info = { .mask = PIDFD_INFO_CREDS };

        if (ioctl(pidfd, PIDFD_GET_INFO, &info) < 0)
                return errno == ENOTTY || errno == EINVAL ? -EOPNOTSUPP : -errno;
        *ret_uid = info.euid;
        *ret_gid = info.egid;
        return 0;
}

static int recheck_ids(const struct peer *p, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_close_ int procfd = -1;
        int r = pidfd_effective_ids(p->pidfd, ret_uid, ret_gid);

        if (r != -EOPNOTSUPP)
                return r;
        procfd = proc_open(p->pid);
        return procfd < 0 ? procfd : proc_effective_ids(procfd, ret_uid, ret_gid);
}

/* Whether the executable is still the one attested: the same file (one
 * stat through the link) at the same path (one readlink), no directory to
 * open. */
static int recheck_exe(const struct peer *p) {
        char path[64], exe[4096];
        size_t len;
        struct stat st;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/exe", (int) p->pid);
        if (p->has_exe_id) {
                if (stat(path, &st) < 0)
                        return errno == ENOENT ? -ESRCH : -EPERM;
                if (st.st_dev != p->exe_dev || st.st_ino != p->exe_ino)
                        return -EPERM;
        }
        if (!p->exe)
                return 0;
        len = strlen(p->exe);
        n = readlink(path, exe, sizeof(exe));
        if (n < 0) /* gone, or no longer ours to read: not the program attested */
                return errno == ENOENT ? -ESRCH : -EPERM;
        /* an upgraded binary (" (deleted)") is still the same program */
        if ((size_t) n != len && !((size_t) n == len + 10 && memcmp(exe + len, " (deleted)", 10) == 0))
                return -EPERM;
        return memcmp(exe, p->exe, len) == 0 ? 0 : -EPERM;
}

int attest_peer_recheck(const struct peer *p) {
        uid_t euid;
        gid_t egid;
        int r;

        /* a process already reaped fails these reads (ESRCH); one that
         * exited but is not reaped yet is caught by the check after them */
        r = recheck_ids(p, &euid, &egid);
        if (r >= 0 && (p->exe || p->has_exe_id))
                r = recheck_exe(p);
        /* read first, then ask the pidfd: what we read was our process's */
        if (!attest_peer_alive(p))
                return -ESRCH;
        if (r < 0)
                return r;
        return euid == p->uid && egid == p->gid ? 0 : -EPERM;
}

static bool id_listed(unsigned id, const unsigned *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == id)
                        return true;
        return false;
}

/* Root inside a container is never admin: only processes in the host's
 * pid, mount and user namespaces that no container pattern claims.  (A
 * container that shares the host's pid namespace, podman --pid=host, still
 * has a mount namespace of its own; one that shares all three is the host
 * in all but name, and its cgroup must still not be a container's.) */
static bool peer_admin_capable(const struct peer *p) {
        if (!p->same_pid_ns || !p->same_mnt_ns || !p->same_user_ns)
                return false;
        return runtime_info(p->cls.runtime)->host_process;
}

bool attest_peer_admin(const struct attest_context *ctx, const struct peer *p) {
        if (!p->admin_capable)
                return false;
        if (id_listed(p->uid, ctx->admin_uids, ctx->n_admin_uids))
                return true;
        if (id_listed(p->gid, ctx->admin_gids, ctx->n_admin_gids))
                return true;
        for (size_t i = 0; i < p->n_groups; i++)
                if (id_listed(p->groups[i], ctx->admin_gids, ctx->n_admin_gids))
                        return true;
        return false;
}

/* The identity as its runtime's row spells it ("docker:<id>", …). */
static int peer_spell_identity(struct peer *p) {
        const struct runtime_info *rt = runtime_info(p->cls.runtime);

        switch (rt->scope) {
        case RUNTIME_SCOPE_HOST_USER:
                return asprintf(&p->identity, "%s:uid%u", rt->name, (unsigned) p->uid);
        case RUNTIME_SCOPE_DELEGATED:
                return asprintf(&p->identity, "%s:uid%u", rt->name, (unsigned) p->delegated_owner);
        case RUNTIME_SCOPE_POD:
                return asprintf(&p->identity, "%s:%s/%s", rt->name, p->cls.pod_uid, p->cls.id);
        case RUNTIME_SCOPE_UNIT:
        case RUNTIME_SCOPE_CONTAINER:
                return asprintf(&p->identity, "%s:%s", rt->name, p->cls.id);
        default:
                return asprintf(&p->identity, "%s", rt->name);
        }
}

static int peer_classify(const struct attest_context *ctx, struct peer *p) {
        uid_t owner;
        int r;

        r = cgroup_classify(p->cgroup, &p->cls);
        if (r < 0)
                return r;
        if (p->cls.match_len > 0) {
                /* A name in a subtree a user may write proves nothing. */
                r = cgroup_find_delegated_owner(ctx->cgroup2_fd, p->cgroup, p->cls.match_len, &owner);
                if (r == -ENOENT)
                        return -ESRCH; /* the cgroup went away: so did the caller */
                if (r < 0)
                        return r;
                /* The id stays: it names the container among its owner's
                 * (instances are per container), and only its owner could
                 * have chosen it, so it fools no one else. */
                if (r > 0) {
                        p->cls.runtime = RUNTIME_ROOTLESS;
                        p->cls.pod_uid[0] = '\0';
                        p->delegated_owner = owner;
                }
        }
        if (p->cls.runtime == RUNTIME_UNKNOWN)
                p->unknown_reason = "its cgroup path is malformed (\"..\", control characters, too long)";
        /* No container pattern, yet not the host either: an nspawn or LXC
         * container, or a host user's `unshare -Urm`.  It is nobody we
         * know.  (Services keep their unit with a mount namespace of their
         * own, PrivateTmp=; delegated subtrees stay their owner's.) */
        else if (p->cls.runtime == RUNTIME_HOST && !p->same_mnt_ns) {
                p->cls.runtime = RUNTIME_UNKNOWN;
                p->unknown_reason = "a host cgroup, but outside the host's mount namespace";
        } else if (p->cls.runtime == RUNTIME_HOST && !p->same_user_ns) {
                p->cls.runtime = RUNTIME_UNKNOWN;
                p->unknown_reason = "a host cgroup, but outside the host's user namespace";
        }
        r = peer_spell_identity(p);
        if (r < 0) {
                p->identity = NULL;
                return -ENOMEM;
        }
        p->admin_capable = peer_admin_capable(p);
        return 0;
}

int attest_peer(const struct attest_context *ctx, int fd, struct peer **ret) {
        _cleanup_(peer_freep) struct peer *p = NULL;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->pidfd = -1;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.pid <= 0)
                return -ESRCH; /* peer from another pid namespace we cannot see */
        p->pid = cred.pid;
        p->uid = cred.uid;
        p->gid = cred.gid;
        p->pidfd = peer_pidfd(fd, cred.pid);
        if (p->pidfd < 0)
                return p->pidfd;
        r = peer_groups(fd, &p->groups, &p->n_groups);
        if (r < 0)
                return r;
        r = peer_read_proc(ctx, p, true);
        /* Everything above is about the process as long as it still lives;
         * if it does not, whatever /proc said was someone else's. */
        if (!attest_peer_alive(p))
                return -ESRCH;
        if (r < 0)
                return r;
        r = peer_classify(ctx, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int attest_process(const struct attest_context *ctx, int pidfd, pid_t pid, uid_t uid, gid_t gid, struct peer **ret) {
        _cleanup_(peer_freep) struct peer *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->pid = pid;
        p->uid = uid;
        p->gid = gid;
        p->pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        if (p->pidfd < 0)
                return -errno;
        r = peer_read_proc(ctx, p, false);
        if (!attest_peer_alive(p))
                return -ESRCH;
        if (r < 0)
                return r;
        free(p->exe);
        p->exe = NULL;
        p->has_exe_id = false;
        r = peer_classify(ctx, p);
        if (r < 0)
                return r;
        p->admin_capable = false;
        *ret = TAKE_PTR(p);
        return 0;
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret ? 0 : -ENOMEM;
}

struct peer *attest_peer_facts_copy(const struct peer *p) {
        _cleanup_(peer_freep) struct peer *c = malloc(sizeof(*c));

        if (!c)
                return NULL;
        *c = *p;
        c->pid = 0;
        c->pidfd = -1;
        c->groups = NULL;
        c->cgroup = c->exe = c->identity = NULL;
        c->annotations = json_incref(p->annotations);
        c->selectors = json_incref(p->selectors);
        if (p->n_groups > 0) {
                c->groups = calloc(p->n_groups, sizeof(gid_t));
                if (!c->groups)
                        return NULL;
                memcpy(c->groups, p->groups, p->n_groups * sizeof(gid_t));
        }
        if (strdup_or_null(p->cgroup, &c->cgroup) < 0 || strdup_or_null(p->exe, &c->exe) < 0 ||
            strdup_or_null(p->identity, &c->identity) < 0)
                return NULL;
        return TAKE_PTR(c);
}

static bool str_same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool json_same(const json_t *a, const json_t *b) {
        return a == b || (a && b && json_equal(a, b));
}

bool attest_peer_same_facts(const struct peer *a, const struct peer *b) {
        return a->uid == b->uid && a->gid == b->gid && a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, a->n_groups * sizeof(gid_t)) == 0) &&
               str_same(a->cgroup, b->cgroup) && str_same(a->exe, b->exe) && a->has_exe_id == b->has_exe_id &&
               a->exe_dev == b->exe_dev && a->exe_ino == b->exe_ino && a->mnt_ns == b->mnt_ns &&
               a->pid_ns == b->pid_ns && a->user_ns == b->user_ns && a->same_mnt_ns == b->same_mnt_ns &&
               a->same_pid_ns == b->same_pid_ns && a->same_user_ns == b->same_user_ns &&
               a->cls.runtime == b->cls.runtime && strcmp(a->cls.id, b->cls.id) == 0 &&
               strcmp(a->cls.pod_uid, b->cls.pod_uid) == 0 && a->cls.match_len == b->cls.match_len &&
               a->delegated_owner == b->delegated_owner &&
               json_same(a->annotations, b->annotations) && json_same(a->selectors, b->selectors) &&
               a->admin_capable == b->admin_capable;
}

struct peer *peer_free(struct peer *p) {
        if (!p)
                return NULL;
        safe_close(p->pidfd);
        free(p->groups);
        free(p->cgroup);
        free(p->exe);
        free(p->identity);
        json_decref(p->annotations);
        json_decref(p->selectors);
        free(p);
        return NULL;
}

void peer_freep(struct peer **p) {
        peer_free(*p);
}
