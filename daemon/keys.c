/* keys.c — master key custody, per-secret key derivation, sealing.
 *
 * Owns the only copy of the master key, in sodium_malloc() memory that is
 * PROT_NONE whenever the daemon is idle: the first derivation opens it
 * read-only and keys_lock_idle(), called by the main loop before it sleeps,
 * closes it again once no derivation happened for KEYS_LOCK_IDLE_MS.
 * Closing it before every sleep cost a fifth of a lease's CPU: taking
 * permissions away flushes the TLB of every CPU the daemon ran on, an
 * inter-processor interrupt per CPU, dear in a VM.  Derived keys live on
 * the stack for one seal/open and are wiped on every path.  Never logs. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

/* Domain separation: a key derived for secrets can never equal one derived
 * for any future purpose. */
#define KEYS_DOMAIN "secretd/v1/secret"

struct keys {
        uint8_t *master; /* KEYS_MASTER_SIZE bytes, sodium_malloc'd; first: test-keys.c probes it */
        bool readable;   /* PROT_READ since the last lock */
        int64_t last_use_ms; /* CLOCK_MONOTONIC of the latest derivation */
};

static int64_t monotonic_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int keys_global_init(void) {
        return sodium_init() < 0 ? -EIO : 0;
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -1;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

int keys_create_file(const char *path) {
        uint8_t key[KEYS_MASTER_SIZE];
        char tmp[PATH_MAX];
        _cleanup_close_ int fd = -1;
        int r;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp-%08x", path, randombytes_random()) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        if (access(path, F_OK) == 0)
                return -EEXIST;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (fd < 0)
                return -errno;
        randombytes_buf(key, sizeof(key));
        r = write_full(fd, key, sizeof(key));
        sodium_memzero(key, sizeof(key));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        /* link() rather than rename(): it fails instead of replacing a key
         * that appeared meanwhile, so an existing key is never overwritten. */
        if (r >= 0 && link(tmp, path) < 0)
                r = -errno;
        (void) unlink(tmp);
        if (r < 0)
                return r;
        return fsync_parent(path);
}

int keys_locate(const char *path, char **ret_path) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char *p;

        if (creds && *creds) {
                if (asprintf(&p, "%s/%s", creds, KEYS_CREDENTIAL_NAME) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) == 0) {
                        *ret_path = p;
                        return 0;
                }
                free(p);
        }
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        *ret_path = p;
        return 0;
}

static int read_exact(int fd, uint8_t *buf, size_t n) {
        uint8_t extra;
        int r = read_full(fd, buf, n);

        if (r == -EBADMSG)
                return -EMSGSIZE;
        if (r < 0)
                return r;
        /* A longer file is as wrong as a shorter one. */
        if (read(fd, &extra, 1) != 0)
                return -EMSGSIZE;
        return 0;
}

int keys_load_file(const char *path, struct keys **ret) {
        _cleanup_close_ int fd = -1;
        struct keys *k;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((st.st_mode & 0077) != 0 || st.st_uid != geteuid())
                return -EPERM;
        if (st.st_size != KEYS_MASTER_SIZE)
                return -EMSGSIZE;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->master = sodium_malloc(KEYS_MASTER_SIZE);
        if (!k->master) {
                free(k);
                return -ENOMEM;
        }
        r = read_exact(fd, k->master, KEYS_MASTER_SIZE);
        if (r < 0) {
                keys_free(k);
                return r;
        }
        sodium_mprotect_noaccess(k->master);
        *ret = k;
        return 0;
}

struct keys *keys_free(struct keys *k) {
        if (!k)
                return NULL;
        if (k->master) {
                sodium_mprotect_readwrite(k->master);
                sodium_free(k->master);
        }
        free(k);
        return NULL;
}

void keys_freep(struct keys **k) {
        keys_free(*k);
}

int keys_lock_idle(struct keys *k) {
        int64_t idle;

        if (!k || !k->readable)
                return -1;
        idle = monotonic_ms() - k->last_use_ms;
        if (idle < KEYS_LOCK_IDLE_MS)
                return (int) (KEYS_LOCK_IDLE_MS - idle);
        sodium_mprotect_noaccess(k->master);
        k->readable = false;
        return -1;
}

/* subkey = BLAKE2b-256(key = master, domain || 0 || name).  The name is
 * variable-length and NUL cannot appear in it, so the encoding is unique. */
static int keys_derive(struct keys *k, const char *name, uint8_t subkey[crypto_secretbox_KEYBYTES]) {
        crypto_generichash_state st;
        int r;

        if (!k->readable) {
                sodium_mprotect_readonly(k->master);
                k->readable = true;
        }
        k->last_use_ms = monotonic_ms();
        r = crypto_generichash_init(&st, k->master, KEYS_MASTER_SIZE, crypto_secretbox_KEYBYTES);
        if (r == 0)
                r = crypto_generichash_update(&st, (const uint8_t *) KEYS_DOMAIN, sizeof(KEYS_DOMAIN));
        if (r == 0)
                r = crypto_generichash_update(&st, (const uint8_t *) name, strlen(name));
        if (r == 0)
                r = crypto_generichash_final(&st, subkey, crypto_secretbox_KEYBYTES);
        sodium_memzero(&st, sizeof(st));
        return r == 0 ? 0 : -EIO;
}

int keys_seal(struct keys *k, const char *name, const uint8_t *plain, size_t len,
              uint8_t **ret_blob, size_t *ret_len) {
        uint8_t subkey[crypto_secretbox_KEYBYTES];
        _cleanup_free_ uint8_t *blob = NULL;
        int r;

        if (len > SIZE_MAX - KEYS_SEAL_OVERHEAD)
                return -EFBIG;
        blob = malloc(len + KEYS_SEAL_OVERHEAD);
        if (!blob)
                return -ENOMEM;
        r = keys_derive(k, name, subkey);
        if (r >= 0) {
                randombytes_buf(blob, crypto_secretbox_NONCEBYTES);
                if (crypto_secretbox_easy(blob + crypto_secretbox_NONCEBYTES, plain, len, blob, subkey) != 0)
                        r = -EIO;
        }
        sodium_memzero(subkey, sizeof(subkey));
        if (r < 0)
                return r;
        *ret_blob = TAKE_PTR(blob);
        *ret_len = len + KEYS_SEAL_OVERHEAD;
        return 0;
}

int keys_open(struct keys *k, const char *name, const uint8_t *blob, size_t len,
              struct secbuf **ret_plain) {
        uint8_t subkey[crypto_secretbox_KEYBYTES];
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        int r;

        if (len < KEYS_SEAL_OVERHEAD)
                return -EBADMSG;
        plain = secbuf_new(len - KEYS_SEAL_OVERHEAD);
        if (!plain)
                return -ENOMEM;
        r = keys_derive(k, name, subkey);
        if (r >= 0 && crypto_secretbox_open_easy(plain->data, blob + crypto_secretbox_NONCEBYTES,
                                                 len - crypto_secretbox_NONCEBYTES, blob, subkey) != 0)
                r = -EBADMSG;
        sodium_memzero(subkey, sizeof(subkey));
        if (r < 0)
                return r;
        *ret_plain = TAKE_PTR(plain);
        return 0;
}
