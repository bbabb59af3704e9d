/* materialize-set.c — a set's parts as one directory that changes in one
 * rename (see mdir_write_set() in materialize.h).
 *
 * A set leased as FILE is a symlink FILE -> .sets/FILE.<16 hex>, a
 * generation directory holding one file per part.  A new version is a
 * new generation, filled and given its owner and mode while nothing
 * points at it; then a symlink to it, made in the temp directory, is
 * renamed over FILE, and the old generation is removed.  A reader that
 * opens FILE/part sees a whole generation; one that holds the directory
 * open (cd FILE) across a rotation finds its parts gone (ENOENT) rather
 * than parts of the next one.  A watcher of the instance directory sees
 * one IN_MOVED_TO FILE per change: generations are made in .sets, and
 * inotify is not recursive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "materialize-internal.h"
#include "secretd/cleanup.h"
#include "secretd/secret-set.h"

#define GEN_HEX 16
#define LINK_MAX_LEN (sizeof(MDIR_SETS_DIR) + 256 + 1 + GEN_HEX + 1)

/* r-x wherever the parts' mode gives r: whoever may read a part may
 * reach it. */
static mode_t dir_mode(mode_t mode) {
        return (mode & 0444) | ((mode & 0444) >> 2);
}

/* .sets, made (0711, the daemon's) on the first set. */
static int sets_dir(struct mdir *m) {
        struct stat st;
        int fd;

        if (m->sets_dfd >= 0)
                return m->sets_dfd;
        m->no_sets = false;
        if (mkdirat(m->dfd, MDIR_SETS_DIR, 0711) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(m->dfd, MDIR_SETS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* our umask took the x bits: 0711 exactly, and ours, or nothing */
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || ((st.st_mode & 07777) != 0711 && fchmod(fd, 0711) < 0)) {
                safe_close(fd);
                return -EEXIST;
        }
        m->sets_dfd = fd;
        return fd;
}

/* Whether gen is a generation of file: "file." and 16 hex digits. */
static bool gen_of(const char *gen, const char *file) {
        size_t n = strlen(file);

        if (strncmp(gen, file, n) != 0 || gen[n] != '.' || strlen(gen + n + 1) != GEN_HEX)
                return false;
        return strspn(gen + n + 1, "0123456789abcdef") == GEN_HEX;
}

static void gen_remove(int sets_dfd, const char *gen) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd = openat(sets_dfd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        d = fd >= 0 ? fdopendir(fd) : NULL;
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        (void) unlinkat(sets_dfd, gen, AT_REMOVEDIR);
}

/* Removes generation gen, guessing that it holds the parts of s (a new
 * version mostly has the old one's parts): one unlink per part and the
 * rmdir, without reading the directory, unless that guess was wrong. */
static void gen_remove_like(int sets_dfd, const char *gen, const struct secret_set *s) {
        char path[LINK_MAX_LEN + SECRET_NAME_MAX + 2];

        for (size_t i = 0; i < s->n; i++) {
                snprintf(path, sizeof(path), "%s/%s", gen, s->parts[i].name);
                (void) unlinkat(sets_dfd, path, 0);
        }
        if (unlinkat(sets_dfd, gen, AT_REMOVEDIR) < 0 && errno != ENOENT)
                gen_remove(sets_dfd, gen);
}

/* Removes every generation of file but keep (NULL: all of them). */
static void gens_remove(struct mdir *m, const char *file, const char *keep) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        /* no set ever here (the common case): one flag, no system call */
        if (m->sets_dfd < 0 && (m->no_sets || faccessat(m->dfd, MDIR_SETS_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0)) {
                m->no_sets = true;
                return;
        }
        if (sets_dir(m) < 0)
                return;
        fd = openat(m->sets_dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        while (d && (de = readdir(d)))
                if (gen_of(de->d_name, file) && !(keep && strcmp(de->d_name, keep) == 0))
                        gen_remove(m->sets_dfd, de->d_name);
}

static int gen_fill(int gfd, const struct secret_set *s, uid_t uid, gid_t gid, mode_t mode) {
        for (size_t i = 0; i < s->n; i++) {
                int fd = openat(gfd, s->parts[i].name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                mode & 0777);
                int r;

                if (fd < 0)
                        return -errno;
                r = mdir_fill(fd, s->parts[i].data, s->parts[i].len, uid, gid, mode);
                if (close(fd) < 0 && r >= 0 && errno != EINTR)
                        r = -errno;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A generation name's 16 hex digits: a counter from a random start, so
 * that a name is never used twice by one daemon nor likely by the next
 * (a leftover is skipped), without a getrandom() per instance. */
static uint64_t gen_next(void) {
        static uint64_t next;

        if (next == 0)
                randombytes_buf(&next, sizeof(next));
        return ++next;
}

/* A new generation of file holding s: its name in gen. */
static int gen_make(struct mdir *m, const char *file, const struct secret_set *s, uid_t uid, gid_t gid, mode_t mode,
                    char gen[static 256 + GEN_HEX + 2]) {
        _cleanup_close_ int gfd = -1;
        int sets = sets_dir(m), r = -EEXIST;

        if (sets < 0)
                return sets;
        for (int tries = 0; tries < 16 && r == -EEXIST; tries++) {
                snprintf(gen, 256 + GEN_HEX + 2, "%s.%016" PRIx64, file, gen_next());
                r = mkdirat(sets, gen, 0700) < 0 ? -errno : 0;
        }
        if (r < 0)
                return r;
        gfd = openat(sets, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = gfd < 0 ? -errno : gen_fill(gfd, s, uid, gid, mode);
        /* the directory's owner and mode last, while nothing points at it */
        if (r >= 0)
                r = mdir_own(gfd, uid, gid);
        if (r >= 0 && fchmod(gfd, dir_mode(mode)) < 0)
                r = -errno;
        if (r < 0)
                gen_remove(sets, gen);
        return r;
}

/* The generation file's link points at now, into gen; false when file is
 * no set's link. */
static bool gen_linked(struct mdir *m, const char *file, char gen[static LINK_MAX_LEN]) {
        char target[LINK_MAX_LEN];
        ssize_t n = readlinkat(m->dfd, file, target, sizeof(target) - 1);

        if (n < 0)
                return false;
        target[n] = '\0';
        if (strncmp(target, MDIR_SETS_DIR "/", sizeof(MDIR_SETS_DIR)) != 0 ||
            !gen_of(target + sizeof(MDIR_SETS_DIR), file))
                return false;
        memcpy(gen, target + sizeof(MDIR_SETS_DIR), (size_t) n - sizeof(MDIR_SETS_DIR) + 1);
        return true;
}

int mdir_write_set(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                   mode_t mode) {
        char gen[256 + GEN_HEX + 2], old[LINK_MAX_LEN], target[LINK_MAX_LEN], tmp[32];
        struct secret_set s;
        const char *why;
        bool had_old;
        int r;

        if (!mdir_name_valid(file) || strlen(file) > 200)
                return -EINVAL;
        r = set_parse(data, len, &s, &why);
        if (r < 0)
                return r;
        r = gen_make(m, file, &s, uid, gid, mode, gen);
        if (r < 0)
                return r;
        /* the one being replaced, read rather than looked for in .sets: a
         * readdir of every generation per instance was a third of a set
         * rotation (what a crash leaves, mdir_sets_prune() finds) */
        had_old = gen_linked(m, file, old);
        snprintf(target, sizeof(target), "%s/%s", MDIR_SETS_DIR, gen);
        r = mdir_symlink_temp(m, target, tmp);
        /* the one switch: every part of the set changes with this rename */
        if (r >= 0 && renameat(m->tmp_dfd, tmp, m->dfd, file) < 0) {
                r = -errno;
                (void) unlinkat(m->tmp_dfd, tmp, 0);
        }
        if (r < 0) {
                gen_remove(m->sets_dfd, gen);
                return r;
        }
        if (had_old && strcmp(old, gen) != 0)
                gen_remove_like(m->sets_dfd, old, &s);
        return 0;
}

/* The generation file points at, opened; -errno when file is no set's link. */
static int gen_open(struct mdir *m, const char *file) {
        char gen[LINK_MAX_LEN];
        int fd;

        if (!gen_linked(m, file, gen) || sets_dir(m) < 0)
                return -EINVAL;
        fd = openat(m->sets_dfd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static size_t entries(int gfd) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd = openat(gfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        d = fd >= 0 ? fdopendir(fd) : NULL;
        while (d && (de = readdir(d)))
                n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        return n;
}

bool mdir_set_current(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                      mode_t mode) {
        _cleanup_close_ int gfd = -1;
        struct secret_set s;
        const char *why;
        struct stat st;

        if (!mdir_name_valid(file) || set_parse(data, len, &s, &why) < 0)
                return false;
        gfd = gen_open(m, file);
        if (gfd < 0 || fstat(gfd, &st) < 0 || st.st_uid != uid || st.st_gid != gid ||
            (st.st_mode & 07777) != dir_mode(mode) || entries(gfd) != s.n)
                return false;
        for (size_t i = 0; i < s.n; i++)
                if (!mdir_file_current_at(gfd, s.parts[i].name, s.parts[i].data, s.parts[i].len, uid, gid, mode))
                        return false;
        return true;
}

void mdir_set_forget(struct mdir *m, const char *file) {
        gens_remove(m, file, NULL);
}

/* The generations, to read through, when .sets exists (NULL otherwise);
 * a fresh open: the cached fd's offset stays where it is. */
static DIR *sets_read(struct mdir *m) {
        int fd;
        DIR *d;

        if (faccessat(m->dfd, MDIR_SETS_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0 || sets_dir(m) < 0)
                return NULL;
        fd = openat(m->sets_dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                safe_close(fd);
        return d;
}

void mdir_sets_clear(struct mdir *m) {
        _cleanup_closedir_ DIR *d = sets_read(m);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        gen_remove(m->sets_dfd, de->d_name);
        (void) unlinkat(m->dfd, MDIR_SETS_DIR, AT_REMOVEDIR);
}

void mdir_sets_prune(struct mdir *m) {
        _cleanup_closedir_ DIR *d = sets_read(m);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char file[256], want[LINK_MAX_LEN], link[LINK_MAX_LEN];
                const char *dot = strrchr(de->d_name, '.');
                ssize_t n;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (dot && (size_t) (dot - de->d_name) < sizeof(file)) {
                        memcpy(file, de->d_name, (size_t) (dot - de->d_name));
                        file[dot - de->d_name] = '\0';
                } else
                        file[0] = '\0';
                snprintf(want, sizeof(want), "%s/%s", MDIR_SETS_DIR, de->d_name);
                n = file[0] && gen_of(de->d_name, file) ? readlinkat(m->dfd, file, link, sizeof(link) - 1) : -1;
                if (n >= 0)
                        link[n] = '\0';
                if (n < 0 || strcmp(link, want) != 0)
                        gen_remove(m->sets_dfd, de->d_name);
        }
}
