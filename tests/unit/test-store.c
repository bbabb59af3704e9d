/* test-store.c — the encrypted store: round trips, versions, names, wrong
 * keys, moved and damaged files, crash safety under SIGKILL, a full disk. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "keys.h"
#include "secretd/cleanup.h"
#include "store.h"

struct fixture {
        char dir[64];
        char key_path[128];
        char state[128];
        struct keys *keys;
        struct store *st;
};

static int open_store_at(struct fixture *f, size_t max_value, struct store **ret) {
        struct backend *b;
        int r;

        r = backend_dir_open(f->state, STORE_BLOB_MAX, &b);
        if (r < 0)
                return r;
        return store_open(b, f->keys, max_value, ret);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->key_path, sizeof(f->key_path), "%s/master.key", f->dir);
        snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
        assert_int_equal(keys_create_file(f->key_path), 0);
        assert_int_equal(keys_load_file(f->key_path, &f->keys), 0);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        *state = f;
        return 0;
}

static void close_store(struct fixture *f) {
        f->st = store_free(f->st);
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];

        store_free(f->st);
        keys_free(f->keys);
        /* a full-disk test may have left a mount here */
        (void) umount2(f->state, MNT_DETACH);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void assert_value(struct store *st, const char *name, uint64_t version, const void *want, size_t len) {
        _cleanup_(secbuf_freep) struct secbuf *v = NULL;
        struct store_version ver;

        assert_int_equal(store_read(st, name, version, &v, &ver), 0);
        assert_int_equal(v->len, len);
        assert_int_equal(ver.size, len);
        if (version)
                assert_int_equal(ver.version, version);
        if (len)
                assert_memory_equal(v->data, want, len);
}

static void test_round_trip_sizes(void **state) {
        struct fixture *f = *state;
        uint8_t all[256], one = 'x';
        _cleanup_free_ uint8_t *big = malloc(STORE_VALUE_MAX_DEFAULT);

        for (int i = 0; i < 256; i++)
                all[i] = (uint8_t) i;
        for (size_t i = 0; i < STORE_VALUE_MAX_DEFAULT; i++)
                big[i] = (uint8_t) (i * 7 + 3);
        assert_int_equal(store_create(f->st, "empty", STORE_VALUE, (const uint8_t *) "", 0, NULL), 0);
        assert_int_equal(store_create(f->st, "one", STORE_VALUE, &one, 1, NULL), 0);
        assert_int_equal(store_create(f->st, "binary", STORE_VALUE, all, sizeof(all), NULL), 0);
        assert_int_equal(store_create(f->st, "max", STORE_VALUE, big, STORE_VALUE_MAX_DEFAULT, NULL), 0);
        assert_int_equal(store_create(f->st, "toobig", STORE_VALUE, big, 0, NULL), 0);

        /* survives closing and reopening: it is on disk, not in memory */
        close_store(f);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        assert_value(f->st, "empty", 0, "", 0);
        assert_value(f->st, "one", 0, &one, 1);
        assert_value(f->st, "binary", 0, all, sizeof(all));
        assert_value(f->st, "max", 0, big, STORE_VALUE_MAX_DEFAULT);
}

static void test_limits_change_nothing(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ uint8_t *big = calloc(1, STORE_VALUE_MAX_DEFAULT + 1);

        assert_int_equal(store_create(f->st, "s", STORE_VALUE, (const uint8_t *) "v1", 2, NULL), 0);
        assert_int_equal(store_create(f->st, "big", STORE_VALUE, big, STORE_VALUE_MAX_DEFAULT + 1, NULL), -EFBIG);
        assert_int_equal(store_write(f->st, "s", STORE_VALUE, big, STORE_VALUE_MAX_DEFAULT + 1, NULL), -EFBIG);
        assert_int_equal(store_create(f->st, "s", STORE_VALUE, (const uint8_t *) "v2", 2, NULL), -EEXIST);
        assert_int_equal(store_write(f->st, "missing", STORE_VALUE, (const uint8_t *) "x", 1, NULL), -ENOENT);
        assert_value(f->st, "s", 0, "v1", 2);
        assert_int_equal(store_read(f->st, "big", 0, &(struct secbuf *) { NULL }, NULL), -ENOENT);
        assert_int_equal(store_delete(f->st, "missing"), -ENOENT);
}

static void test_versions(void **state) {
        struct fixture *f = *state;
        struct store_version v;
        struct store_meta m;
        struct secbuf *out = NULL;

        assert_int_equal(store_create(f->st, "db", STORE_VALUE, (const uint8_t *) "one", 3, &v), 0);
        assert_int_equal(v.version, 1);
        assert_int_equal(store_write(f->st, "db", STORE_VALUE, (const uint8_t *) "two!", 4, &v), 0);
        assert_int_equal(v.version, 2);
        assert_int_equal(store_write(f->st, "db", STORE_VALUE, (const uint8_t *) "three", 5, &v), 0);
        assert_int_equal(v.version, 3);
        assert_value(f->st, "db", 0, "three", 5);
        assert_value(f->st, "db", 3, "three", 5);
        assert_value(f->st, "db", 2, "two!", 4);
        /* only the current and the previous version are kept */
        assert_int_equal(store_read(f->st, "db", 1, &out, NULL), -ENOENT);
        assert_int_equal(store_read(f->st, "db", 4, &out, NULL), -ENOENT);
        assert_null(out);

        assert_int_equal(store_meta(f->st, "db", &m), 0);
        assert_string_equal(m.name, "db");
        assert_int_equal(m.n_versions, 2);
        assert_int_equal(m.versions[0].version, 3);
        assert_int_equal(m.versions[0].size, 5);
        assert_int_equal(m.versions[1].version, 2);
        assert_int_equal(m.versions[1].size, 4);
        assert_true(m.versions[0].created_usec >= m.versions[1].created_usec);
        assert_true(m.versions[0].created_usec > 1700000000LL * 1000000);
}

/* A rotation to the current value (compared in guarded memory) writes
 * nothing; equal to the previous one, or a prefix, is a change. */
/* A set is one record: its kind kept, its encoding checked, a value and
 * a set never replacing each other, the same parts again unchanged. */
static void test_sets(void **state) {
        static const char one[] = "a 1\nA\nb 2\nBB\n", two[] = "a 1\nA\nb 2\nBC\n";
        struct fixture *f = *state;
        struct secbuf *out = NULL;
        struct store_version v;
        struct store_meta m;
        bool unchanged;

        assert_int_equal(store_create(f->st, "pair", STORE_SET, (const uint8_t *) "a 2\nA\n", 6, &v), -EINVAL);
        assert_int_equal(store_create(f->st, "pair", STORE_SET, (const uint8_t *) one, strlen(one), &v), 0);
        assert_int_equal(v.kind, STORE_SET);
        assert_int_equal(store_rotate(f->st, "pair", STORE_VALUE, (const uint8_t *) "x", 1, &v, &unchanged),
                         -EMEDIUMTYPE);
        assert_int_equal(store_rotate(f->st, "pair", STORE_SET, (const uint8_t *) one, strlen(one), &v, &unchanged), 0);
        assert_true(unchanged);
        assert_int_equal(v.version, 1);
        assert_int_equal(store_rotate(f->st, "pair", STORE_SET, (const uint8_t *) two, strlen(two), &v, &unchanged), 0);
        assert_false(unchanged);
        assert_int_equal(v.version, 2);
        assert_int_equal(store_read(f->st, "pair", 0, &out, &v), 0);
        assert_int_equal(v.kind, STORE_SET);
        assert_int_equal(out->len, strlen(two));
        assert_memory_equal(out->data, two, out->len);
        secbuf_free(out);
        assert_int_equal(store_meta(f->st, "pair", &m), 0);
        assert_int_equal(m.versions[0].kind, STORE_SET);
        assert_int_equal(m.versions[1].kind, STORE_SET);
        /* and a value is not rotated into a set */
        assert_int_equal(store_create(f->st, "plain", STORE_VALUE, (const uint8_t *) "v", 1, &v), 0);
        assert_int_equal(v.kind, STORE_VALUE);
        assert_int_equal(store_write(f->st, "plain", STORE_SET, (const uint8_t *) one, strlen(one), &v), -EMEDIUMTYPE);
}

static void test_rotate_unchanged(void **state) {
        struct fixture *f = *state;
        struct store_version v;
        bool unchanged = false;

        assert_int_equal(store_create(f->st, "db", STORE_VALUE, (const uint8_t *) "three", 5, &v), 0);
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "three", 5, &v, &unchanged), 0);
        assert_true(unchanged);
        assert_int_equal(v.version, 1);
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "threE", 5, &v, &unchanged), 0);
        assert_false(unchanged);
        assert_int_equal(v.version, 2);
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "three", 5, &v, &unchanged), 0);
        assert_false(unchanged);
        assert_int_equal(v.version, 3);
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "thre", 4, &v, &unchanged), 0);
        assert_false(unchanged);
        assert_int_equal(v.version, 4);
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "thre", 4, &v, &unchanged), 0);
        assert_true(unchanged);
        assert_int_equal(v.version, 4);
        assert_value(f->st, "db", 0, "thre", 4);
        assert_int_equal(store_rotate(f->st, "missing", STORE_VALUE, (const uint8_t *) "x", 1, &v, &unchanged), -ENOENT);
}

/* A shared store (etcd): another host writes between this one's read and
 * its write.  The backend below does that write itself, through the same
 * store, on the first put of a rotation it is told to race; the store must
 * read again and write the next version on top, never over it. */
struct racing {
        struct backend base;
        struct backend *inner;
        struct store *st;
        int races;    /* rotations still to race */
        int stale;    /* -ESTALE answers given */
};

static int racing_get(struct backend *b, const char *key, uint8_t **blob, size_t *len, uint64_t *rev) {
        struct racing *r = (struct racing *) b;

        return r->inner->ops->get(r->inner, key, blob, len, rev);
}

static int racing_put(struct backend *b, const char *key, const uint8_t *blob, size_t len, uint64_t rev,
                      uint64_t *ret_rev) {
        struct racing *r = (struct racing *) b;
        int k;

        if (r->races > 0 && strcmp(key, "db") == 0) {
                struct store_version v;

                r->races--;
                /* the other host's rotation lands first */
                assert_int_equal(store_write(r->st, "db", STORE_VALUE, (const uint8_t *) "other", 5, &v), 0);
        }
        k = r->inner->ops->put(r->inner, key, blob, len, rev, ret_rev);
        r->stale += k == -ESTALE;
        return k;
}

static int racing_remove(struct backend *b, const char *key) {
        struct racing *r = (struct racing *) b;

        return r->inner->ops->remove(r->inner, key);
}

static int racing_list(struct backend *b, char ***keys, size_t *n) {
        struct racing *r = (struct racing *) b;

        return r->inner->ops->list(r->inner, keys, n);
}

static void racing_free(struct backend *b) {
        struct racing *r = (struct racing *) b;

        backend_free(r->inner);
        free(r);
}

static const struct backend_ops racing_ops = {
        .get = racing_get, .put = racing_put, .remove = racing_remove, .list = racing_list, .free = racing_free,
};

static void test_write_raced(void **state) {
        struct fixture *f = *state;
        struct racing *r = calloc(1, sizeof(*r));
        struct store_version v;
        bool unchanged;

        close_store(f);
        assert_non_null(r);
        r->base = (struct backend) { .ops = &racing_ops, .kind = "racing" };
        assert_int_equal(backend_dir_open(f->state, STORE_BLOB_MAX, &r->inner), 0);
        assert_int_equal(store_open(&r->base, f->keys, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        r->st = f->st;
        assert_int_equal(store_create(f->st, "db", STORE_VALUE, (const uint8_t *) "one", 3, &v), 0);
        r->races = 1;
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "mine", 4, &v, &unchanged), 0);
        assert_false(unchanged);
        /* the other host's is version 2, ours 3: both kept, in order */
        assert_int_equal(v.version, 3);
        assert_int_equal(r->stale, 1);
        assert_value(f->st, "db", 0, "mine", 4);
        assert_value(f->st, "db", 2, "other", 5);
        /* the other host writes meanwhile what this one rotates to: read
         * again, it is no change (version 4 is the other host's) */
        r->races = 1;
        assert_int_equal(store_rotate(f->st, "db", STORE_VALUE, (const uint8_t *) "other", 5, &v, &unchanged), 0);
        assert_true(unchanged);
        assert_int_equal(v.version, 4);
        assert_int_equal(r->stale, 2);
}

static void test_names(void **state) {
        static const struct {
                const char *name;
                bool ok;
        } table[] = {
                { "a", true }, { "Z", true }, { "0", true }, { "db-password", true }, { "tls.key", true },
                { "a_b", true }, { "a..b", true }, { "A9._-", true },
                { "", false }, { ".", false }, { "..", false }, { ".hidden", false }, { "-dash", false },
                { "_under", false }, { "a/b", false }, { "/abs", false }, { "../up", false }, { "a b", false },
                { "a\tb", false }, { "a\nb", false }, { "caf\xc3\xa9", false }, { "\xff", false },
                { "a:b", false }, { "a*b", false }, { "a\\b", false },
        };
        struct fixture *f = *state;
        char name[200];

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_int_equal(store_name_valid(table[i].name), table[i].ok);
                assert_int_equal(store_create(f->st, table[i].name, STORE_VALUE, (const uint8_t *) "v", 1, NULL),
                                 table[i].ok ? 0 : -EINVAL);
        }
        memset(name, 'n', sizeof(name));
        name[128] = '\0';
        assert_true(store_name_valid(name));
        name[128] = 'n';
        name[129] = '\0';
        assert_false(store_name_valid(name));
        assert_false(store_name_valid(NULL));
}

static void test_wrong_key(void **state) {
        struct fixture *f = *state;
        char other[160];
        struct keys *k2 = NULL;
        struct store *st2 = NULL;
        struct backend *b;

        assert_int_equal(store_create(f->st, "s", STORE_VALUE, (const uint8_t *) "v", 1, NULL), 0);
        close_store(f);
        snprintf(other, sizeof(other), "%s/other.key", f->dir);
        assert_int_equal(keys_create_file(other), 0);
        assert_int_equal(keys_load_file(other, &k2), 0);
        assert_int_equal(backend_dir_open(f->state, STORE_BLOB_MAX, &b), 0);
        assert_int_equal(store_open(b, k2, STORE_VALUE_MAX_DEFAULT, &st2), -EKEYREJECTED);
        keys_free(k2);
        /* the right key still works: nothing was changed by the attempt */
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        assert_value(f->st, "s", 0, "v", 1);
}

/* Anonymous read-only mappings of this process.  sodium_malloc() leaves
 * one in each allocation (the page that records its size); the master key
 * adds one while it is open.  (Not told apart by mlock: ASan makes mlock a
 * no-op.) */
static unsigned open_key_mappings(void) {
        FILE *f = fopen("/proc/self/maps", "re");
        char line[512];
        unsigned n = 0;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                unsigned long lo, hi, off, ino;
                char perms[8], dev[16], path[256] = "";

                if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %255s", &lo, &hi, perms, &off, dev, &ino, path) >= 6 &&
                    path[0] == '\0' && strcmp(perms, "r--p") == 0)
                        n++;
        }
        fclose(f);
        return n;
}

/* A read opens the master key; keys_lock_idle() makes it PROT_NONE again
 * once KEYS_LOCK_IDLE_MS have passed without use, and not before. */
static void test_key_locked_when_idle(void **state) {
        struct fixture *f = *state;
        unsigned open_now;

        assert_int_equal(store_create(f->st, "s", STORE_VALUE, (const uint8_t *) "v", 1, NULL), 0);
        usleep((KEYS_LOCK_IDLE_MS + 5) * 1000);
        assert_int_equal(keys_lock_idle(f->keys), -1);
        assert_value(f->st, "s", 0, "v", 1);
        open_now = open_key_mappings();
        usleep((KEYS_LOCK_IDLE_MS + 5) * 1000);
        assert_int_equal(keys_lock_idle(f->keys), -1);
        assert_int_equal(open_key_mappings(), open_now - 1);
        /* locked stays locked, and still opens for the next read */
        assert_int_equal(keys_lock_idle(f->keys), -1);
        assert_value(f->st, "s", 0, "v", 1);
        assert_int_equal(open_key_mappings(), open_now);
}

static void test_missing_keycheck(void **state) {
        struct fixture *f = *state;
        char path[200];
        struct store *st2 = NULL;

        assert_int_equal(store_create(f->st, "s", STORE_VALUE, (const uint8_t *) "v", 1, NULL), 0);
        close_store(f);
        snprintf(path, sizeof(path), "%s/.keycheck.sealed", f->state);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &st2), -ENOKEY);
}

static void test_second_opener_refused(void **state) {
        struct fixture *f = *state;
        struct backend *b = NULL;

        assert_int_equal(backend_dir_open(f->state, STORE_BLOB_MAX, &b), -EBUSY);
        assert_null(b);
}

static void copy_file(const char *from, const char *to) {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
        assert_int_equal(system(cmd), 0);
}

static void test_moved_file(void **state) {
        struct fixture *f = *state;
        char a[200], b[200];
        struct secbuf *out = NULL;

        assert_int_equal(store_create(f->st, "alpha", STORE_VALUE, (const uint8_t *) "AAAA", 4, NULL), 0);
        assert_int_equal(store_create(f->st, "beta", STORE_VALUE, (const uint8_t *) "BBBB", 4, NULL), 0);
        snprintf(a, sizeof(a), "%s/alpha.sealed", f->state);
        snprintf(b, sizeof(b), "%s/beta.sealed", f->state);
        copy_file(a, b);
        assert_int_equal(store_read(f->st, "beta", 0, &out, NULL), -EBADMSG);
        snprintf(b, sizeof(b), "%s/gamma.sealed", f->state);
        copy_file(a, b);
        assert_int_equal(store_read(f->st, "gamma", 0, &out, NULL), -EBADMSG);
        assert_null(out);
        assert_value(f->st, "alpha", 0, "AAAA", 4);
}

/* Damages one secret's file (flips the low bit of byte flip_at, or when
 * flip_at < 0 truncates it to truncate_to) and checks that it alone fails. */
static void check_damage(struct fixture *f, off_t flip_at, off_t truncate_to) {
        char path[200];
        struct secbuf *out = NULL;
        struct store_meta *list = NULL;
        size_t n = 0;
        int fd;

        assert_int_equal(store_create(f->st, "good1", STORE_VALUE, (const uint8_t *) "g1", 2, NULL), 0);
        assert_int_equal(store_create(f->st, "victim", STORE_VALUE, (const uint8_t *) "secret-value", 12, NULL), 0);
        assert_int_equal(store_write(f->st, "victim", STORE_VALUE, (const uint8_t *) "secret-value-2", 14, NULL), 0);
        assert_int_equal(store_create(f->st, "good2", STORE_VALUE, (const uint8_t *) "g2", 2, NULL), 0);
        snprintf(path, sizeof(path), "%s/victim.sealed", f->state);
        fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        if (flip_at >= 0) {
                uint8_t byte;
                assert_int_equal(pread(fd, &byte, 1, flip_at), 1);
                byte ^= 0x01;
                assert_int_equal(pwrite(fd, &byte, 1, flip_at), 1);
        } else {
                assert_int_equal(ftruncate(fd, truncate_to), 0);
        }
        close(fd);

        assert_int_equal(store_read(f->st, "victim", 0, &out, NULL), -EBADMSG);
        assert_null(out);
        assert_value(f->st, "good1", 0, "g1", 2);
        assert_value(f->st, "good2", 0, "g2", 2);
        assert_int_equal(store_list(f->st, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(list[0].name, "good1");
        assert_int_equal(list[0].error, 0);
        assert_string_equal(list[2].name, "victim");
        assert_int_equal(list[2].error, -EBADMSG);
        free(list);
}

static void test_bit_flips(void **state) {
        struct fixture *f = *state;
        struct stat st;
        char path[200];
        off_t size;

        /* Every offset of the file: magic, revision, nonce, MAC, body. */
        check_damage(f, 0, 0);
        snprintf(path, sizeof(path), "%s/victim.sealed", f->state);
        assert_int_equal(stat(path, &st), 0);
        size = st.st_size;
        for (off_t at = 1; at < size; at++) {
                /* the revision (bytes 8-15) is a compare-and-swap token,
                 * not part of what is authenticated */
                if (at >= 8 && at < 16)
                        continue;
                /* start from a clean victim, then damage byte `at` */
                assert_int_equal(store_delete(f->st, "victim"), 0);
                assert_int_equal(store_delete(f->st, "good1"), 0);
                assert_int_equal(store_delete(f->st, "good2"), 0);
                check_damage(f, at, 0);
        }
}

static void test_truncation(void **state) {
        struct fixture *f = *state;
        const off_t lengths[] = { 0, 1, 8, 15, 16, 17, 40, 55, 56, 60 };

        for (size_t i = 0; i < ELEMENTSOF(lengths); i++) {
                check_damage(f, -1, lengths[i]);
                assert_int_equal(store_delete(f->st, "victim"), 0);
                assert_int_equal(store_delete(f->st, "good1"), 0);
                assert_int_equal(store_delete(f->st, "good2"), 0);
        }
}

static void test_delete_and_list(void **state) {
        struct fixture *f = *state;
        struct store_meta *list = NULL;
        struct secbuf *out = NULL;
        char tmp[200];
        size_t n = 0;

        assert_int_equal(store_create(f->st, "b", STORE_VALUE, (const uint8_t *) "2", 1, NULL), 0);
        assert_int_equal(store_create(f->st, "a", STORE_VALUE, (const uint8_t *) "1", 1, NULL), 0);
        assert_int_equal(store_create(f->st, "c", STORE_VALUE, (const uint8_t *) "3", 1, NULL), 0);
        assert_int_equal(store_delete(f->st, "b"), 0);
        assert_int_equal(store_read(f->st, "b", 0, &out, NULL), -ENOENT);
        assert_int_equal(store_delete(f->st, "b"), -ENOENT);
        assert_int_equal(store_list(f->st, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "a");
        assert_string_equal(list[1].name, "c");
        assert_int_equal(list[1].versions[0].size, 1);
        free(list);

        /* a write in flight when the daemon died is swept at the next open */
        close_store(f);
        snprintf(tmp, sizeof(tmp), "%s/.tmp-deadbeef", f->state);
        assert_int_equal(close(open(tmp, O_CREAT | O_WRONLY, 0600)), 0);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        assert_int_equal(access(tmp, F_OK), -1);
}

/* Crash safety: the value written for version v of secret s is a pure
 * function of (s, v), so the parent can check exactly what is on disk. */
#define CRASH_SECRETS 4
#define CRASH_ROUNDS 200

static size_t crash_value(unsigned s, uint64_t v, uint8_t *buf) {
        size_t len = 100 + (size_t) ((v * 977 + s * 131) % 4000);

        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t) (s * 31 + v * 17 + i);
        return len;
}

static void crash_child(struct fixture *f, int ack_fd) {
        static uint8_t buf[8192];
        struct store *st = NULL;
        uint64_t cur[CRASH_SECRETS];
        char name[16];

        if (open_store_at(f, STORE_VALUE_MAX_DEFAULT, &st) < 0)
                _exit(10);
        for (unsigned s = 0; s < CRASH_SECRETS; s++) {
                struct store_meta m;
                snprintf(name, sizeof(name), "crash%u", s);
                if (store_meta(st, name, &m) < 0)
                        _exit(11);
                cur[s] = m.versions[0].version;
        }
        for (uint64_t i = 0;; i++) {
                unsigned s = (unsigned) (i % CRASH_SECRETS);
                uint64_t ack[2];
                size_t len = crash_value(s, cur[s] + 1, buf);

                snprintf(name, sizeof(name), "crash%u", s);
                if (store_write(st, name, STORE_VALUE, buf, len, NULL) < 0)
                        _exit(12);
                cur[s]++;
                ack[0] = s;
                ack[1] = cur[s];
                if (write(ack_fd, ack, sizeof(ack)) != sizeof(ack))
                        _exit(13);
        }
}

static void test_crash_safety(void **state) {
        struct fixture *f = *state;
        static uint8_t want[8192];
        uint64_t acked[CRASH_SECRETS];
        unsigned in_flight_seen = 0;
        char name[16];

        srand((unsigned) time(NULL));
        for (unsigned s = 0; s < CRASH_SECRETS; s++) {
                snprintf(name, sizeof(name), "crash%u", s);
                assert_int_equal(store_create(f->st, name, STORE_VALUE, want, crash_value(s, 1, want), NULL), 0);
                acked[s] = 1;
        }
        close_store(f);

        for (int round = 0; round < CRASH_ROUNDS; round++) {
                int p[2], status;
                uint64_t ack[2];
                pid_t pid;

                assert_int_equal(pipe2(p, O_CLOEXEC), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        close(p[0]);
                        crash_child(f, p[1]);
                }
                close(p[1]);
                usleep((useconds_t) (rand() % 6000));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status)); /* not an early exit */
                while (read(p[0], ack, sizeof(ack)) == sizeof(ack)) {
                        assert_true(ack[0] < CRASH_SECRETS);
                        assert_int_equal(ack[1], acked[ack[0]] + 1);
                        acked[ack[0]] = ack[1];
                }
                close(p[0]);

                assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
                for (unsigned s = 0; s < CRASH_SECRETS; s++) {
                        struct store_meta m;

                        snprintf(name, sizeof(name), "crash%u", s);
                        assert_int_equal(store_meta(f->st, name, &m), 0);
                        /* the last acknowledged value, or the one being written */
                        assert_true(m.versions[0].version == acked[s] || m.versions[0].version == acked[s] + 1);
                        if (m.versions[0].version == acked[s] + 1)
                                in_flight_seen++;
                        acked[s] = m.versions[0].version;
                        assert_value(f->st, name, acked[s], want, crash_value(s, acked[s], want));
                        if (acked[s] > 1)
                                assert_value(f->st, name, acked[s] - 1, want, crash_value(s, acked[s] - 1, want));
                }
                close_store(f);
        }
        print_message("crash rounds: %d, writes durable but unacknowledged at the kill: %u, final versions:",
                      CRASH_ROUNDS, in_flight_seen);
        for (unsigned s = 0; s < CRASH_SECRETS; s++)
                print_message(" %llu", (unsigned long long) acked[s]);
        print_message("\n");
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
}

static void test_full_disk(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ uint8_t *big = calloc(1, 32768);
        char filler[200], cmd[400];
        struct store_meta *list = NULL;
        size_t n = 0;
        int fd;

        if (geteuid() != 0)
                skip(); /* mounting a tiny tmpfs needs root; CI runs as root */
        close_store(f);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -m 0700 '%s'", f->state, f->state);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(mount("tmpfs", f->state, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700"), 0);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
        assert_int_equal(store_create(f->st, "keep", STORE_VALUE, (const uint8_t *) "old-value", 9, NULL), 0);

        snprintf(filler, sizeof(filler), "%s/filler", f->state);
        fd = open(filler, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        while (write(fd, big, 4096) > 0)
                ;
        assert_int_equal(errno, ENOSPC);
        close(fd);

        assert_int_equal(store_write(f->st, "keep", STORE_VALUE, big, 32768, NULL), -ENOSPC);
        assert_int_equal(store_create(f->st, "new", STORE_VALUE, big, 32768, NULL), -ENOSPC);
        assert_value(f->st, "keep", 0, "old-value", 9);
        assert_int_equal(store_list(f->st, &list, &n), 0);
        assert_int_equal(n, 1); /* no half-made "new", no temp file */
        free(list);
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep '^.tmp-')\"", f->state);
        assert_int_equal(system(cmd), 0);

        /* space again: writes work again */
        assert_int_equal(unlink(filler), 0);
        assert_int_equal(store_write(f->st, "keep", STORE_VALUE, (const uint8_t *) "new-value", 9, NULL), 0);
        assert_value(f->st, "keep", 0, "new-value", 9);
        close_store(f);
        assert_int_equal(umount2(f->state, 0), 0);
        assert_int_equal(open_store_at(f, STORE_VALUE_MAX_DEFAULT, &f->st), 0);
}

static int group_setup(void **state) {
        (void) state;
        return keys_global_init();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip_sizes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits_change_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotate_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_raced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_locked_when_idle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_keycheck, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_opener_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_moved_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_and_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
