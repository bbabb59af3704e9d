/* materialize.c — per-instance tmpfs and secret files (see materialize.h).
 *
 * Plaintext passes through here once, from the caller's secbuf straight
 * into the tmpfs file; nothing is kept. */
#include <errno.h>
#include <linux/openat2.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "materialize-internal.h"
#include "secretd/cleanup.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* Files per instance directory: grants are few; this bounds inode use. */
#define MDIR_INODES "256"


bool mdir_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 200 || name[0] == '.' || strchr(name, '/'))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) name[i] < 0x21 || (unsigned char) name[i] > 0x7e)
                        return false;
        return true;
}

/* Whether the kernel takes tmpfs's "noswap" (Linux 6.4+, and only in the
 * initial user namespace): -1 not known yet, then 1 or 0.  Learnt from the
 * first fsconfig that tries it; one thread, so a static will do. */
static int noswap_known = -1;

/* Asks for noswap on fs unless the kernel refused it before; a refusal
 * (EINVAL) is remembered and is no error: the tmpfs is made without. */
static int set_noswap(int fs) {
        if (noswap_known == 0)
                return 0;
        if (fsconfig(fs, FSCONFIG_SET_FLAG, "noswap", NULL, 0) < 0) {
                if (errno != EINVAL)
                        return -errno;
                noswap_known = 0;
                return 0;
        }
        noswap_known = 1;
        return 0;
}

int mdir_noswap_supported(void) {
        _cleanup_close_ int fs = -1;
        int r;

        if (noswap_known >= 0)
                return noswap_known;
        /* a context never created: nothing is mounted */
        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        r = set_noswap(fs);
        return r < 0 ? r : noswap_known;
}

static int make_tmpfs(uint64_t size, int *ret_mnt) {
        _cleanup_close_ int fs = -1;
        char sz[32];
        int mnt, r;

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        snprintf(sz, sizeof(sz), "%llu", (unsigned long long) size);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", MDIR_INODES, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0)
                return -errno;
        r = set_noswap(fs);
        if (r < 0)
                return r;
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return -errno;
        *ret_mnt = mnt;
        return 0;
}

/* Removes whatever a write cut short (a crash) left in a temp directory. */
static void clear_temps(int tmp_dfd) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        /* a fresh open: a dup would share (and move) the directory offset */
        int fd = openat(tmp_dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        (void) unlinkat(tmp_dfd, de->d_name, 0);
}

/* The directory's MDIR_TEMP_DIR, made when missing and emptied.  Temp
 * files live there, not beside the live names: a watcher of the instance
 * directory then sees nothing of a write but the one IN_MOVED_TO of the
 * rename (inotify is not recursive), so `inotifywait -e close_write,moved_to`
 * reloads once per change.  0700, and it must be ours: nobody else may
 * place a file that a rename would then publish. */
static int open_temp_dir(int dfd) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (mkdirat(dfd, MDIR_TEMP_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dfd, MDIR_TEMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
                return -EEXIST;
        clear_temps(fd);
        return TAKE_FD(fd);
}

/* After a restart the instance directory may already be our tmpfs. */
static int adopt(int root_fd, const char *name, bool privileged, int *ret_dfd) {
        _cleanup_close_ int dfd = -1;
        struct statfs sfs;
        struct stat st, parent;

        dfd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fstat(dfd, &st) < 0 || fstat(root_fd, &parent) < 0 || fstatfs(dfd, &sfs) < 0)
                return -errno;
        if (st.st_uid != 0 && privileged)
                return -EEXIST;
        /* privileged: must be a mount of its own (another device) and tmpfs */
        if (privileged && (st.st_dev == parent.st_dev || sfs.f_type != TMPFS_MAGIC))
                return -EEXIST;
        *ret_dfd = TAKE_FD(dfd);
        return 0;
}

/* A crash between our mkdir and the mount on it leaves a plain directory
 * that adopt() refuses, and every later lease of that instance would fail.
 * Only root creates under secrets_root, and rmdir takes only an empty
 * directory that is no mount point: such a leftover goes, and we start
 * over. */
static bool remove_half_made(int root_fd, const char *name) {
        struct stat st, parent;

        if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || fstat(root_fd, &parent) < 0)
                return false;
        return S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_dev == parent.st_dev &&
               unlinkat(root_fd, name, AT_REMOVEDIR) == 0;
}

int mdir_open(int root_fd, const char *name, uint64_t tmpfs_size, bool privileged, struct mdir **ret) {
        _cleanup_close_ int dfd = -1, mnt = -1;
        struct mdir *m;
        bool made;
        int r;

        if (!mdir_name_valid(name))
                return -EINVAL;
        r = mkdirat(root_fd, name, 0755) < 0 ? -errno : 0;
        if (r == -EEXIST && privileged && remove_half_made(root_fd, name))
                r = mkdirat(root_fd, name, 0755) < 0 ? -errno : 0;
        made = r >= 0;
        if (r < 0) {
                if (r != -EEXIST)
                        return r;
                r = adopt(root_fd, name, privileged, &dfd);
                if (r < 0)
                        return r;
        } else {
                /* our umask is 077: the directory must be traversable */
                if (fchmodat(root_fd, name, 0755, 0) < 0)
                        r = -errno;
                else if (privileged) {
                        r = make_tmpfs(tmpfs_size, &mnt);
                        if (r >= 0 && move_mount(mnt, "", root_fd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                                r = -errno;
                } else
                        r = 0;
                if (r >= 0) {
                        dfd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0)
                                r = -errno;
                }
                if (r < 0) {
                        (void) unlinkat(root_fd, name, AT_REMOVEDIR);
                        return r;
                }
        }
        m = calloc(1, sizeof(*m));
        if (!m || !(m->name = strdup(name))) {
                free(m);
                return -ENOMEM;
        }
        m->root_fd = root_fd;
        m->dfd = TAKE_FD(dfd);
        m->mnt_fd = TAKE_FD(mnt);
        m->sets_dfd = -1;
        m->tmp_dfd = open_temp_dir(m->dfd);
        if (m->tmp_dfd < 0) {
                r = m->tmp_dfd;
                /* one we just made goes again; an adopted one stays as it was */
                if (made)
                        (void) mdir_destroy(m);
                else
                        mdir_close(m);
                return r;
        }
        *ret = m;
        return 0;
}

/* A temp file of our own in m: the directory is writable by root alone, so
 * the name need not be unpredictable, only unused (O_EXCL; a leftover from
 * a crash is skipped).  A counter saves the two getrandom calls per file
 * that a rotation to a thousand containers paid a thousand times. */
static int open_temp(struct mdir *m, mode_t mode, char name[static 32]) {
        static uint64_t counter;

        for (int tries = 0; tries < 64; tries++) {
                int fd;

                snprintf(name, 32, ".tmp-%" PRIx64, ++counter);
                fd = openat(m->tmp_dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd >= 0 || errno != EEXIST)
                        return fd < 0 ? -errno : fd;
        }
        return -EEXIST;
}

int mdir_symlink_temp(struct mdir *m, const char *target, char name[static 32]) {
        static uint64_t counter;

        /* the temp directory is ours alone: a name is taken only by a
         * link a failed switch left, and then the next one is tried */
        for (int tries = 0; tries < 64; tries++) {
                snprintf(name, 32, ".link-%" PRIx64, ++counter);
                if (symlinkat(target, m->tmp_dfd, name) == 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* Who creates our files and what the umask takes from them: read once
 * (the daemon settles both at start, before any file is written) rather
 * than three system calls per file, a rotation's largest cost after the
 * writes themselves. */
static struct {
        bool known;
        uid_t uid;
        gid_t gid;
        mode_t umask;
} creator;

static void creator_init(void) {
        if (creator.known)
                return;
        creator.uid = geteuid();
        creator.gid = getegid();
        creator.umask = umask(0077);
        umask(creator.umask);
        creator.known = true;
}

int mdir_fill(int fd, const uint8_t *data, size_t len, uid_t uid, gid_t gid, mode_t mode) {
        size_t off = 0;
        int r;

        while (off < len) {
                ssize_t w = write(fd, data + off, len - off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                off += (size_t) w;
        }
        /* owner and mode before the name appears: never readable by others.
         * A new file already has every mode bit the umask did not take. */
        r = mdir_own(fd, uid, gid);
        if (r >= 0 && ((mode & creator.umask) || (mode & ~(mode_t) 0777)) && fchmod(fd, mode) < 0)
                r = -errno;
        return r;
}

int mdir_own(int fd, uid_t uid, gid_t gid) {
        /* a new file or directory is already ours (no setgid bit above) */
        creator_init();
        if ((uid != creator.uid || gid != creator.gid) && fchown(fd, uid, gid) < 0 &&
            !(errno == EPERM && creator.uid != 0))
                return -errno;
        return 0;
}

int mdir_write(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid, mode_t mode) {
        _cleanup_close_ int fd = -1;
        char tmp[32];
        int r;

        if (!mdir_name_valid(file))
                return -EINVAL;
        /* created with its mode, less what the umask takes; never wider */
        fd = open_temp(m, mode & 0777, tmp);
        if (fd < 0)
                return fd;
        r = mdir_fill(fd, data, len, uid, gid, mode);
        /* closed before the rename: even a watcher of the temp directory
         * sees no event after the file is live */
        if (close(TAKE_FD(fd)) < 0 && r >= 0 && errno != EINTR)
                r = -errno;
        if (r >= 0 && renameat(m->tmp_dfd, tmp, m->dfd, file) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(m->tmp_dfd, tmp, 0);
        if (r >= 0)
                mdir_set_forget(m, file); /* it may have been a set's link */
        return r;
}

/* A scratch buffer in guarded, locked memory: what a file holds is a
 * secret too, and passes through here only to be compared. */
#define COMPARE_CHUNK 4096

static bool same_content(int fd, const uint8_t *data, size_t len) {
        static uint8_t *scratch;
        size_t off = 0;

        if (!scratch && !(scratch = sodium_malloc(COMPARE_CHUNK)))
                return false;
        while (off < len) {
                size_t want = len - off < COMPARE_CHUNK ? len - off : COMPARE_CHUNK;
                ssize_t n = pread(fd, scratch, want, (off_t) off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || sodium_memcmp(scratch, data + off, (size_t) n) != 0)
                        break;
                off += (size_t) n;
        }
        sodium_memzero(scratch, COMPARE_CHUNK);
        return off == len;
}

bool mdir_file_current(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                       mode_t mode) {
        return mdir_name_valid(file) && mdir_file_current_at(m->dfd, file, data, len, uid, gid, mode);
}

bool mdir_file_current_at(int dfd, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                          mode_t mode) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t) st.st_size == len &&
               st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode && same_content(fd, data, len);
}

int mdir_remove(struct mdir *m, const char *file) {
        if (!mdir_name_valid(file))
                return -EINVAL;
        if (unlinkat(m->dfd, file, 0) < 0)
                return -errno;
        /* a set: its link went first, so all of its parts went at once */
        mdir_set_forget(m, file);
        return 0;
}

/* In the child: the rootfs at root, if it is root_fd's directory. */
static int open_root(const char *root, int root_fd) {
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS };
        struct stat a, b;
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, root, &how, sizeof(how));

        if (fd < 0)
                return -errno;
        if (fstat(fd, &a) < 0 || fstat(root_fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
                safe_close(fd);
                return -ESTALE;
        }
        return fd;
}

/* In the child: walks path from "/" (or from root) one component at a
 * time, never following a symlink, creating what is missing; returns the
 * last directory's fd.  It runs with the file-system identity of the
 * mount namespace's owner (see mdir_where), so it creates nothing that
 * owner could not.  No malloc: the child shares our memory (see
 * in_mount_ns). */
static int make_mount_point(const char *root, int root_fd, const char *path) {
        char copy[PATH_MAX], *save = NULL;
        int dfd, nfd;

        if (strlen(path) >= sizeof(copy))
                return -ENAMETOOLONG;
        strcpy(copy, path);
        dfd = root ? open_root(root, root_fd) : open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (mkdirat(dfd, c, 0755) < 0 && errno != EEXIST) {
                        int r = -errno;

                        safe_close(dfd);
                        return r;
                }
                nfd = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                safe_close(dfd);
                if (nfd < 0)
                        return -errno;
                dfd = nfd;
        }
        return dfd;
}

/* The child's stack: it runs one short job and never calls malloc. */
#define CHILD_STACK_SIZE (64 * 1024)
/* How long a job may take, and how long a killed child may take to go: a
 * mount point on a FUSE file system that never answers, or a hung NFS
 * server, blocks the walk forever; the daemon serves everyone else. */
#define CHILD_DEADLINE_MSEC 2000
#define CHILD_KILL_WAIT_MSEC 1000
/* Children that did not go within CHILD_KILL_WAIT_MSEC, reaped later. */
#define CHILDREN_ABANDONED_MAX 16

struct ns_child {
        int ns_fd; /* a pidfd or a namespace fd */
        uid_t uid;
        gid_t gid;
        int (*job)(void *);
        void *arg;
};

/* Joins the mount namespace, then takes the owner's file-system identity:
 * no supplementary groups (root's would grant what the owner lacks), and
 * fsuid/fsgid, which also drops the file-system capabilities.  Raw system
 * calls: glibc's setgroups() would signal "all threads" of a process this
 * child is not a thread of. */
static int ns_child_main(void *arg) {
        const struct ns_child *c = arg;
        int r = 0;

        /* directories made on the way (a missing /run) must be traversable
         * by the container's users; the daemon's own umask is 077 (the
         * child has its own file-system context: no CLONE_FS) */
        umask(0022);
        if (setns(c->ns_fd, CLONE_NEWNS) < 0)
                r = -errno;
        else if (c->uid != 0 || c->gid != 0) {
                if (syscall(SYS_setgroups, 0, NULL) < 0)
                        r = -errno;
                else {
                        (void) syscall(SYS_setfsgid, c->gid);
                        (void) syscall(SYS_setfsuid, c->uid);
                        if ((gid_t) syscall(SYS_setfsgid, -1) != c->gid || (uid_t) syscall(SYS_setfsuid, -1) != c->uid)
                                r = -EPERM;
                }
        }
        if (r >= 0)
                r = c->job(c->arg);
        _exit(r < 0 ? (-r & 0xff) : 0);
}

static struct {
        int pidfd[CHILDREN_ABANDONED_MAX];
        size_t n;
} abandoned;

static void reap_abandoned(void) {
        for (size_t i = 0; i < abandoned.n;) {
                siginfo_t si = {};

                if (waitid(P_PIDFD, (id_t) abandoned.pidfd[i], &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0) {
                        i++;
                        continue;
                }
                safe_close(abandoned.pidfd[i]);
                abandoned.pidfd[i] = abandoned.pidfd[--abandoned.n];
        }
}

/* Whether the child behind pidfd exited within msec.  Its errno is ours
 * (it shares our memory, thread-local storage included), so the wait
 * trusts only return values and its own clock. */
static bool wait_exit(int pidfd, int msec) {
        struct timespec start, now;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
                int64_t spent;

                if (poll(&pfd, 1, msec) > 0)
                        return true;
                clock_gettime(CLOCK_MONOTONIC, &now);
                spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                if (spent >= msec)
                        return false;
        }
}

/* Runs job(arg) in a child inside a mount namespace with c's identity;
 * its result (0 or an errno) comes back as the exit status, -ETIMEDOUT
 * when it did not finish in time (then it is killed).  The child shares
 * our memory (CLONE_VM, as posix_spawn does): a fork() copied the page
 * tables of the whole daemon and left every page copy-on-write behind it,
 * most of a first lease's cost.  It does not share our filesystem context
 * (no CLONE_FS), which setns(CLONE_NEWNS) requires, so our own root and
 * namespace stay ours.  A killed child never runs our code again; one the
 * kernel has not let go of yet keeps its stack, and is reaped later. */
static int in_mount_ns(struct ns_child *c) {
        static uint8_t *stack;
        siginfo_t si = {};
        int pidfd = -1;
        pid_t child;

        reap_abandoned();
        if (abandoned.n == CHILDREN_ABANDONED_MAX)
                return -EAGAIN;
        if (!stack && !(stack = malloc(CHILD_STACK_SIZE)))
                return -ENOMEM;
        /* the stack grows down: hand over its top, aligned */
        child = clone(ns_child_main, (void *) (((uintptr_t) (stack + CHILD_STACK_SIZE)) & ~(uintptr_t) 15),
                      CLONE_VM | CLONE_PIDFD | SIGCHLD, c, &pidfd);
        if (child < 0)
                return -errno;
        if (!wait_exit(pidfd, CHILD_DEADLINE_MSEC)) {
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                if (!wait_exit(pidfd, CHILD_KILL_WAIT_MSEC)) {
                        stack = NULL; /* still the child's */
                        abandoned.pidfd[abandoned.n++] = pidfd;
                        return -ETIMEDOUT;
                }
                (void) waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED);
                safe_close(pidfd);
                return -ETIMEDOUT;
        }
        if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0) {
                int r = -errno;

                safe_close(pidfd);
                return r;
        }
        safe_close(pidfd);
        if (si.si_code != CLD_EXITED)
                return -EIO;
        return si.si_status ? -si.si_status : 0;
}

struct inject_job {
        int clone_fd;
        const char *root;
        int root_fd;
        bool only_empty;
        const char *path;
};

/* Whether the directory dfd holds nothing but "." and "..", and is no
 * mount of its own: raw getdents64 into a stack buffer (no malloc here). */
static int mount_point_empty(int dfd) {
        char buf[512];
        struct statx sx;
        long n;

        if (statx(dfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) < 0)
                return -errno;
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT && sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
                return -EEXIST;
        while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0)
                for (long off = 0; off < n;) {
                        const struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; }
                                *d = (const void *) (buf + off);

                        if (strcmp(d->name, ".") != 0 && strcmp(d->name, "..") != 0)
                                return -EEXIST;
                        off += d->reclen;
                }
        return n < 0 ? -errno : 0;
}

static int inject_job(void *arg) {
        struct inject_job *j = arg;
        int dfd = make_mount_point(j->root, j->root_fd, j->path), r;

        if (dfd < 0)
                return dfd;
        if (j->only_empty && (r = mount_point_empty(dfd)) < 0)
                return r;
        if (move_mount(j->clone_fd, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

int mdir_inject(struct mdir *m, const struct mdir_where *where, const char *path) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        };
        _cleanup_close_ int clone_fd = -1;
        struct inject_job j = {
                .path = path, .root = where->root, .root_fd = where->root_fd, .only_empty = where->only_empty,
        };

        if (m->mnt_fd < 0)
                return -EOPNOTSUPP;
        if (!path || path[0] != '/' || strstr(path, "/.") || strstr(path, "//"))
                return -EINVAL;
        clone_fd = open_tree(m->mnt_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (clone_fd < 0)
                return -errno;
        if (mount_setattr(clone_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        j.clone_fd = clone_fd;
        return in_mount_ns(&(struct ns_child) {
                .ns_fd = where->ns_fd, .uid = where->uid, .gid = where->gid, .job = inject_job, .arg = &j,
        });
}

struct eject_job {
        const char *path;
        dev_t dev;
};

/* Only our clone goes: whatever the container put at path is its own. */
static int eject_job(void *arg) {
        const struct eject_job *j = arg;
        struct stat st;

        if (lstat(j->path, &st) < 0)
                return -errno;
        if (st.st_dev != j->dev)
                return -ENOENT;
        return umount2(j->path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
}

void mdir_eject(struct mdir *m, int ns_fd, const char *path) {
        struct eject_job j = { .path = path };
        struct stat st;

        if (fstat(m->dfd, &st) < 0)
                return;
        j.dev = st.st_dev;
        (void) in_mount_ns(&(struct ns_child) { .ns_fd = ns_fd, .job = eject_job, .arg = &j });
}

int mdir_fd(const struct mdir *m) {
        return m->dfd;
}

bool mdir_is_mount(const struct mdir *m) {
        return m->mnt_fd >= 0;
}

struct mdir *mdir_close(struct mdir *m) {
        if (!m)
                return NULL;
        safe_close(m->dfd);
        safe_close(m->tmp_dfd);
        safe_close(m->sets_dfd);
        safe_close(m->mnt_fd);
        free(m->name);
        free(m);
        return NULL;
}

/* Unmounting by path is safe only while the path still is our mount: a
 * directory replaced under us is left alone. */
static int unmount_if_ours(struct mdir *m) {
        char path[64];
        struct stat ours, there;

        if (fstat(m->dfd, &ours) < 0)
                return -errno;
        if (fstatat(m->root_fd, m->name, &there, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (ours.st_dev != there.st_dev || ours.st_ino != there.st_ino)
                return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", m->dfd);
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

int mdir_destroy(struct mdir *m) {
        struct statfs sfs;
        struct stat st, parent;
        int r = 0;

        /* a plain directory (unprivileged): empty it first */
        if (fstat(m->dfd, &st) == 0 && fstat(m->root_fd, &parent) == 0 && fstatfs(m->dfd, &sfs) == 0 &&
            st.st_dev != parent.st_dev)
                r = unmount_if_ours(m);
        else {
                _cleanup_closedir_ DIR *d = NULL;
                int fd = dup(m->dfd);
                struct dirent *de;

                d = fd >= 0 ? fdopendir(fd) : NULL;
                while (d && (de = readdir(d)))
                        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                                (void) unlinkat(m->dfd, de->d_name, 0);
                mdir_sets_clear(m);
                if (m->tmp_dfd >= 0)
                        clear_temps(m->tmp_dfd);
                (void) unlinkat(m->dfd, MDIR_TEMP_DIR, AT_REMOVEDIR);
        }
        if (r >= 0 && unlinkat(m->root_fd, m->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        mdir_close(m);
        return r;
}
