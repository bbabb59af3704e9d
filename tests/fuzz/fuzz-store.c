/* fuzz-store.c — what the store reads back from disk: the file of the
 * directory backend (magic, revision, sealed blob) and, inside the seal,
 * the record (format, versions, sizes, values; store.c).  The seal cannot
 * be forged by a fuzzer, so the input is sealed here with a fixed test key
 * first.  The first input byte picks what the rest is:
 *   0: a record, sealed and written as secret "s" — the decoder proper;
 *   1: the whole file of secret "s", as it would lie on disk;
 *   2: the whole ".keycheck" file, read when the store opens.
 * Then everything that decodes is exercised: meta, read of every version,
 * list, count, and a write on top, after which the new current version
 * must read back as written, with the old current kept as the previous. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-server.h"

#define MAX_VALUE FUZZ_MAX_VALUE

static struct server srv;
static char dir[64];
static int state_fd = -1;
static struct keys *keys;
static struct store *store;

static void init_once(void) {
        if (srv.config)
                return;
        fuzz_server_init(&srv, dir, "[]");
        keys = srv.keys;
        store = srv.store;
        state_fd = open(srv.config->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                abort();
}

static void put_file(const char *file, const uint8_t *data, size_t size) {
        int fd = openat(state_fd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, data, size) != (ssize_t) size || close(fd) < 0)
                abort();
}

/* secret "s" holding the record plain, as store.c would have sealed it */
static void put_sealed(const uint8_t *plain, size_t len) {
        uint8_t *blob, *file;
        size_t n;
        uint64_t rev = htole64(1);

        if (keys_seal(keys, "s", plain, len, &blob, &n) < 0)
                abort();
        file = malloc(16 + n);
        if (!file)
                abort();
        memcpy(file, "SDBLOB01", 8);
        memcpy(file + 8, &rev, 8);
        memcpy(file + 16, blob, n);
        put_file("s.sealed", file, 16 + n);
        free(file);
        free(blob);
}

static void exercise(void) {
        static const uint8_t next[] = "next value";
        struct store_meta m = {}, *list = NULL;
        struct store_version v, w;
        struct secbuf *value = NULL;
        size_t n;
        int r;

        r = store_meta(store, "s", &m);
        if (r < 0 && r != -EBADMSG)
                abort();
        if (r == 0) {
                if (m.n_versions < 1 || m.n_versions > STORE_VERSIONS_KEPT || strcmp(m.name, "s") != 0)
                        abort();
                for (unsigned i = 0; i < m.n_versions; i++) {
                        if (store_read(store, "s", m.versions[i].version, &value, &v) < 0 ||
                            value->len != m.versions[i].size || v.version != m.versions[i].version)
                                abort();
                        value = secbuf_free(value);
                }
                if (store_read(store, "s", 0, &value, &v) < 0 || v.version != m.versions[0].version)
                        abort();
                value = secbuf_free(value);
        }
        if (store_list(store, &list, &n) < 0 || n != 1 || strcmp(list[0].name, "s") != 0 ||
            (list[0].error == 0) != (r == 0))
                abort();
        free(list);
        if (store_count(store, &n) < 0 || n != 1)
                abort();

        r = store_write(store, "s", STORE_VALUE, next, sizeof(next), &v);
        if (r < 0) {
                /* a damaged secret stays damaged; nothing else may fail */
                if (m.n_versions == 0 && r != -EBADMSG)
                        abort();
                /* a set is rotated with a set, never a value */
                if (m.n_versions > 0 && r != -EOVERFLOW &&
                    !(r == -EMEDIUMTYPE && m.versions[0].kind == STORE_SET))
                        abort();
                return;
        }
        if (m.n_versions == 0 || v.version != m.versions[0].version + 1)
                abort();
        if (store_read(store, "s", 0, &value, &w) < 0 || w.version != v.version || value->len != sizeof(next) ||
            memcmp(value->data, next, sizeof(next)) != 0)
                abort();
        value = secbuf_free(value);
        if (store_meta(store, "s", &m) < 0 || m.n_versions != 2 || m.versions[1].version != v.version - 1)
                abort();
}

static void check_keycheck(const uint8_t *data, size_t size) {
        struct store *st = NULL;
        struct backend *b;
        int r;

        put_file(".keycheck.sealed", data, size);
        /* a second store on the same directory needs our lock: let go */
        store = store_free(store);
        if (backend_dir_open(srv.config->state_dir, STORE_BLOB_MAX, &b) < 0)
                abort();
        r = store_open(b, keys, MAX_VALUE, &st);
        if (r == 0)
                store = st;
        else if (r != -EKEYREJECTED && r != -EBADMSG)
                abort();
        /* back to a good key check for the next input */
        (void) unlinkat(state_fd, ".keycheck.sealed", 0);
        if (!store && (backend_dir_open(srv.config->state_dir, STORE_BLOB_MAX, &b) < 0 || store_open(b, keys, MAX_VALUE, &store) < 0))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        init_once();
        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
                put_sealed(data + 1, size - 1);
                exercise();
                break;
        case 1:
                put_file("s.sealed", data + 1, size - 1);
                exercise();
                break;
        case 2:
                check_keycheck(data + 1, size - 1);
                return 0;
        }
        (void) unlinkat(state_fd, "s.sealed", 0);
        return 0;
}
