/* backend-dir.c — sealed blobs as files in one local directory.
 *
 * Layout: "<key>.sealed" per blob, each file = 8-byte magic, 8-byte
 * little-endian revision, then the blob.  ".lock" holds the exclusive lock
 * of the running daemon; ".tmp-*" are writes in flight, swept at open.
 * Every write is temp file, fsync, rename, fsync of the directory, so after
 * a crash a key holds its old or its new blob, never a torn one.  All access
 * is relative to the opened directory, with O_NOFOLLOW.  Never logs. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

#define DIR_MAGIC "SDBLOB01"
#define DIR_HEADER_SIZE 16
#define DIR_SUFFIX ".sealed"
#define DIR_KEY_MAX 200

struct backend_dir {
        struct backend base;
        int dfd;
        int lock_fd;
        size_t max_blob;
};

static struct backend_dir *to_dir(struct backend *b) {
        return (struct backend_dir *) b;
}

/* Keys become file names, so they may not carry a '/' or name our own
 * bookkeeping files. */
static int key_to_file(const char *key, char ret[static DIR_KEY_MAX + sizeof(DIR_SUFFIX)]) {
        size_t n = strlen(key);

        if (n == 0 || n > DIR_KEY_MAX || strchr(key, '/') || strncmp(key, ".tmp-", 5) == 0 ||
            strcmp(key, ".lock") == 0 || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
                return -EINVAL;
        memcpy(ret, key, n);
        memcpy(ret + n, DIR_SUFFIX, sizeof(DIR_SUFFIX));
        return 0;
}

/* Revision of the file for key: 0 when absent, -EBADMSG when its header is
 * damaged. */
static int dir_read_rev(struct backend_dir *d, const char *file, uint64_t *ret_rev) {
        _cleanup_close_ int fd = -1;
        uint8_t hdr[DIR_HEADER_SIZE];
        uint64_t rev;
        int r;

        fd = openat(d->dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret_rev = 0;
                        return 0;
                }
                return -errno;
        }
        r = read_full(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        if (memcmp(hdr, DIR_MAGIC, 8) != 0)
                return -EBADMSG;
        memcpy(&rev, hdr + 8, 8);
        *ret_rev = le64toh(rev);
        return 0;
}

static int dir_get(struct backend *b, const char *key, uint8_t **ret_blob, size_t *ret_len, uint64_t *ret_rev) {
        struct backend_dir *d = to_dir(b);
        char file[DIR_KEY_MAX + sizeof(DIR_SUFFIX)];
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        uint64_t rev;
        size_t len;
        int r;

        r = key_to_file(key, file);
        if (r < 0)
                return r;
        fd = openat(d->dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size < DIR_HEADER_SIZE)
                return -EBADMSG;
        if ((uint64_t) st.st_size - DIR_HEADER_SIZE > d->max_blob)
                return -EFBIG;
        len = (size_t) st.st_size;
        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        r = read_full(fd, buf, len);
        if (r < 0)
                return r;
        if (memcmp(buf, DIR_MAGIC, 8) != 0)
                return -EBADMSG;
        memcpy(&rev, buf + 8, 8);
        rev = le64toh(rev);
        if (rev == 0)
                return -EBADMSG;
        memmove(buf, buf + DIR_HEADER_SIZE, len - DIR_HEADER_SIZE);
        *ret_blob = TAKE_PTR(buf);
        *ret_len = len - DIR_HEADER_SIZE;
        *ret_rev = rev;
        return 0;
}

/* Writes header + blob to a fresh temp file and fsyncs it; ret_tmp gets its
 * name.  The caller renames or unlinks it. */
static int dir_write_temp(struct backend_dir *d, uint64_t rev, const uint8_t *blob, size_t len,
                          char ret_tmp[static 32]) {
        _cleanup_close_ int fd = -1;
        uint8_t hdr[DIR_HEADER_SIZE];
        uint64_t le = htole64(rev);
        int r;

        snprintf(ret_tmp, 32, ".tmp-%08x%08x", randombytes_random(), randombytes_random());
        fd = openat(d->dfd, ret_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        memcpy(hdr, DIR_MAGIC, 8);
        memcpy(hdr + 8, &le, 8);
        r = write_full(fd, hdr, sizeof(hdr));
        if (r >= 0)
                r = write_full(fd, blob, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(d->dfd, ret_tmp, 0);
        return r;
}

static int dir_put(struct backend *b, const char *key, const uint8_t *blob, size_t len, uint64_t expected_rev,
                   uint64_t *ret_rev) {
        struct backend_dir *d = to_dir(b);
        char file[DIR_KEY_MAX + sizeof(DIR_SUFFIX)], tmp[32];
        uint64_t cur = 0;
        int r;

        r = key_to_file(key, file);
        if (r < 0)
                return r;
        if (len > d->max_blob)
                return -EFBIG;
        /* The directory lock makes us the only writer, so read-compare-rename
         * is a real compare-and-swap. */
        r = dir_read_rev(d, file, &cur);
        if (r < 0)
                return r;
        if (cur != expected_rev)
                return expected_rev == 0 ? -EEXIST : -ESTALE;
        r = dir_write_temp(d, cur + 1, blob, len, tmp);
        if (r < 0)
                return r;
        if (renameat(d->dfd, tmp, d->dfd, file) < 0) {
                r = -errno;
                (void) unlinkat(d->dfd, tmp, 0);
                return r;
        }
        if (fsync(d->dfd) < 0)
                return -errno;
        if (ret_rev)
                *ret_rev = cur + 1;
        return 0;
}

static int dir_remove(struct backend *b, const char *key) {
        struct backend_dir *d = to_dir(b);
        char file[DIR_KEY_MAX + sizeof(DIR_SUFFIX)];
        int r;

        r = key_to_file(key, file);
        if (r < 0)
                return r;
        if (unlinkat(d->dfd, file, 0) < 0)
                return -errno;
        if (fsync(d->dfd) < 0)
                return -errno;
        return 0;
}

static int dir_list(struct backend *b, char ***ret_keys, size_t *ret_n) {
        struct backend_dir *d = to_dir(b);
        _cleanup_closedir_ DIR *dir = NULL;
        char **keys = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int fd;

        fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(dir))) {
                size_t len = strlen(de->d_name);

                if (len <= strlen(DIR_SUFFIX) || strcmp(de->d_name + len - strlen(DIR_SUFFIX), DIR_SUFFIX) != 0)
                        continue;
                if (n == cap) {
                        char **nk = reallocarray(keys, cap ? cap * 2 : 64, sizeof(*keys));
                        if (!nk)
                                goto oom;
                        keys = nk;
                        cap = cap ? cap * 2 : 64;
                }
                keys[n] = strndup(de->d_name, len - strlen(DIR_SUFFIX));
                if (!keys[n])
                        goto oom;
                n++;
        }
        *ret_keys = keys;
        *ret_n = n;
        return 0;
oom:
        backend_keys_free(keys, n);
        return -ENOMEM;
}

static void dir_free(struct backend *b) {
        struct backend_dir *d = to_dir(b);

        safe_close(d->lock_fd);
        safe_close(d->dfd);
        free(d);
}

static const struct backend_ops dir_ops = {
        .get = dir_get,
        .put = dir_put,
        .remove = dir_remove,
        .list = dir_list,
        .free = dir_free,
};

/* Writes in flight when we last died are garbage: their rename never
 * happened, so the old blob is the truth. */
static void dir_sweep_temps(int dfd) {
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        int fd;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(dir)))
                if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        (void) unlinkat(dfd, de->d_name, 0);
}

int backend_dir_open(const char *path, size_t max_blob, struct backend **ret) {
        _cleanup_close_ int dfd = -1, lock_fd = -1;
        struct backend_dir *d;

        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        lock_fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lock_fd < 0)
                return -errno;
        if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        dir_sweep_temps(dfd);

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->base = (struct backend) { .ops = &dir_ops, .kind = "dir" };
        d->dfd = TAKE_FD(dfd);
        d->lock_fd = TAKE_FD(lock_fd);
        d->max_blob = max_blob;
        *ret = &d->base;
        return 0;
}
