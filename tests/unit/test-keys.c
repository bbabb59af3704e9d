/* test-keys.c — the master key (daemon/keys.c): a key file created once
 * (0400, exactly KEYS_MASTER_SIZE random bytes, never replaced, no temp
 * file left), the files keys_load_file refuses (modes others may read,
 * another owner, wrong sizes, not a regular file, a symlink), where the
 * key comes from (systemd credential or the configured path), sealing
 * bound to key and name, and the key's protection: PROT_NONE from the
 * load on, readable only while derivations use it. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "secretd/cleanup.h"

struct fixture {
        char dir[64];
        char key[128];
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-keys.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->key, sizeof(f->key), "%s/master.key", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* A file of n bytes at path with mode. */
static void write_file(const char *path, size_t n, mode_t mode) {
        uint8_t buf[64] = { 0x5a };
        int fd;

        assert_true(n <= sizeof(buf));
        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, n), (ssize_t) n);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void read_key(const char *path, uint8_t buf[KEYS_MASTER_SIZE]) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, KEYS_MASTER_SIZE), KEYS_MASTER_SIZE);
        close(fd);
}

static unsigned dir_entries(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void test_create(void **state) {
        struct fixture *f = *state;
        uint8_t first[KEYS_MASTER_SIZE], again[KEYS_MASTER_SIZE], zero[KEYS_MASTER_SIZE] = {};
        struct stat st;

        assert_int_equal(keys_create_file(f->key), 0);
        assert_int_equal(lstat(f->key, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0400);
        assert_int_equal(st.st_size, KEYS_MASTER_SIZE);
        assert_int_equal(st.st_uid, geteuid());
        read_key(f->key, first);
        assert_memory_not_equal(first, zero, KEYS_MASTER_SIZE);
        /* never replaced, and no temp file left beside it */
        assert_int_equal(keys_create_file(f->key), -EEXIST);
        read_key(f->key, again);
        assert_memory_equal(first, again, KEYS_MASTER_SIZE);
        assert_int_equal(dir_entries(f->dir), 1);
}

/* Two keys made apart are different keys. */
static void test_create_random(void **state) {
        struct fixture *f = *state;
        uint8_t a[KEYS_MASTER_SIZE], b[KEYS_MASTER_SIZE];
        char other[160];

        snprintf(other, sizeof(other), "%s/other.key", f->dir);
        assert_int_equal(keys_create_file(f->key), 0);
        assert_int_equal(keys_create_file(other), 0);
        read_key(f->key, a);
        read_key(other, b);
        assert_memory_not_equal(a, b, KEYS_MASTER_SIZE);
}

static void assert_refused(const char *path, int expected) {
        struct keys *k = NULL;

        assert_int_equal(keys_load_file(path, &k), expected);
        assert_null(k);
}

static void test_load_refuses(void **state) {
        struct fixture *f = *state;
        char link_path[160];
        struct keys *k = NULL;

        assert_refused(f->key, -ENOENT);
        write_file(f->key, KEYS_MASTER_SIZE, 0400);
        assert_int_equal(keys_load_file(f->key, &k), 0);
        k = keys_free(k);
        write_file(f->key, KEYS_MASTER_SIZE, 0600); /* ours alone: fine */
        assert_int_equal(keys_load_file(f->key, &k), 0);
        k = keys_free(k);
        /* anyone else may read it */
        write_file(f->key, KEYS_MASTER_SIZE, 0440);
        assert_refused(f->key, -EPERM);
        write_file(f->key, KEYS_MASTER_SIZE, 0404);
        assert_refused(f->key, -EPERM);
        write_file(f->key, KEYS_MASTER_SIZE, 0410);
        assert_refused(f->key, -EPERM);
        /* not the size of a key */
        write_file(f->key, KEYS_MASTER_SIZE - 1, 0400);
        assert_refused(f->key, -EMSGSIZE);
        write_file(f->key, KEYS_MASTER_SIZE + 1, 0400);
        assert_refused(f->key, -EMSGSIZE);
        write_file(f->key, 0, 0400);
        assert_refused(f->key, -EMSGSIZE);
        /* not a regular file, or not the file itself */
        assert_refused(f->dir, -EBADF);
        write_file(f->key, KEYS_MASTER_SIZE, 0400);
        snprintf(link_path, sizeof(link_path), "%s/link.key", f->dir);
        assert_int_equal(symlink(f->key, link_path), 0);
        assert_refused(link_path, -ELOOP);
        /* someone else's */
        if (geteuid() == 0) {
                assert_int_equal(chown(f->key, 1, 1), 0);
                assert_refused(f->key, -EPERM);
        }
}

static void test_locate(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
        char cred[160];

        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        assert_int_equal(keys_locate("/etc/secretd/master.key", &p1), 0);
        assert_string_equal(p1, "/etc/secretd/master.key");
        /* a credentials directory without the key: the configured path */
        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", f->dir, 1), 0);
        assert_int_equal(keys_locate("/etc/secretd/master.key", &p2), 0);
        assert_string_equal(p2, "/etc/secretd/master.key");
        snprintf(cred, sizeof(cred), "%s/" KEYS_CREDENTIAL_NAME, f->dir);
        write_file(cred, KEYS_MASTER_SIZE, 0400);
        assert_int_equal(keys_locate("/etc/secretd/master.key", &p3), 0);
        assert_string_equal(p3, cred);
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

static struct keys *new_key(struct fixture *f, const char *name) {
        char path[160];
        struct keys *k = NULL;

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        assert_int_equal(keys_create_file(path), 0);
        assert_int_equal(keys_load_file(path, &k), 0);
        assert_non_null(k);
        return k;
}

static void test_seal_bound_to_key_and_name(void **state) {
        struct fixture *f = *state;
        _cleanup_(keys_freep) struct keys *k = new_key(f, "a.key"), *other = new_key(f, "b.key");
        static const uint8_t value[] = "the value";
        _cleanup_free_ uint8_t *blob = NULL, *blob2 = NULL;
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        struct secbuf *none = NULL;
        size_t len, len2;

        assert_int_equal(keys_seal(k, "db/password", value, sizeof(value), &blob, &len), 0);
        assert_int_equal(len, sizeof(value) + KEYS_SEAL_OVERHEAD);
        assert_null(memmem(blob, len, value, sizeof(value) - 1)); /* no plaintext in it */
        assert_int_equal(keys_open(k, "db/password", blob, len, &plain), 0);
        assert_int_equal(plain->len, sizeof(value));
        assert_memory_equal(plain->data, value, sizeof(value));
        /* a fresh nonce each time */
        assert_int_equal(keys_seal(k, "db/password", value, sizeof(value), &blob2, &len2), 0);
        assert_memory_not_equal(blob, blob2, len);
        /* another name, another key, a flipped bit, too short: refused */
        assert_int_equal(keys_open(k, "db/password2", blob, len, &none), -EBADMSG);
        assert_int_equal(keys_open(other, "db/password", blob, len, &none), -EBADMSG);
        blob[len - 1] ^= 1;
        assert_int_equal(keys_open(k, "db/password", blob, len, &none), -EBADMSG);
        assert_int_equal(keys_open(k, "db/password", blob, KEYS_SEAL_OVERHEAD - 1, &none), -EBADMSG);
        assert_null(none);
}

static void test_seal_empty(void **state) {
        struct fixture *f = *state;
        _cleanup_(keys_freep) struct keys *k = new_key(f, "a.key");
        _cleanup_free_ uint8_t *blob = NULL;
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        size_t len;

        assert_int_equal(keys_seal(k, "e", (const uint8_t *) "", 0, &blob, &len), 0);
        assert_int_equal(len, KEYS_SEAL_OVERHEAD);
        assert_int_equal(keys_open(k, "e", blob, len, &plain), 0);
        assert_int_equal(plain->len, 0);
}

/* Anonymous read-only mappings: the master key counts among them only
 * while it is readable (sodium_malloc's size pages are read-only too,
 * so the count is compared, not read as such). */
static unsigned readable_mappings(void) {
        FILE *fp = fopen("/proc/self/maps", "re");
        char line[512];
        unsigned n = 0;

        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp)) {
                unsigned long lo, hi, off, ino;
                char perms[8], dev[16], path[256] = "";

                if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %255s", &lo, &hi, perms, &off, dev, &ino, path) >= 6 &&
                    path[0] == '\0' && strcmp(perms, "r--p") == 0)
                        n++;
        }
        fclose(fp);
        return n;
}

/* struct keys is keys.c's own; it begins with the master key's pointer
 * (kept first there for this probe). */
struct keys_head {
        const uint8_t *master;
};

/* Whether a read of the master key's memory would succeed: asked of a
 * child, which dies of SIGSEGV when the page is PROT_NONE. */
static bool key_readable(const struct keys *k) {
        const volatile uint8_t *master = ((const struct keys_head *) (const void *) k)->master;
        int status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                signal(SIGSEGV, SIG_DFL); /* not cmocka's (or ASan's) handler */
                (void) master[0];
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSEGV);
        return false;
}

static void test_protection(void **state) {
        struct fixture *f = *state;
        struct keys *k;
        _cleanup_free_ uint8_t *blob = NULL;
        unsigned before, locked;
        size_t len;
        int wait_ms;

        before = readable_mappings();
        k = new_key(f, "p.key");
        /* loaded, and not readable until a derivation needs it: only the
         * allocation's size page is new */
        locked = readable_mappings();
        assert_int_equal(locked, before + 1);
        assert_false(key_readable(k));
        assert_int_equal(keys_lock_idle(k), -1);
        assert_int_equal(keys_seal(k, "s", (const uint8_t *) "v", 1, &blob, &len), 0);
        /* used just now: stays open a moment */
        wait_ms = keys_lock_idle(k);
        assert_true(wait_ms > 0 && wait_ms <= KEYS_LOCK_IDLE_MS);
        assert_int_equal(readable_mappings(), locked + 1);
        assert_true(key_readable(k));
        usleep((KEYS_LOCK_IDLE_MS + 5) * 1000);
        assert_int_equal(keys_lock_idle(k), -1);
        assert_int_equal(readable_mappings(), locked);
        assert_false(key_readable(k));
        keys_free(k);
        assert_null(keys_free(NULL));
        assert_int_equal(keys_lock_idle(NULL), -1);
}

static int group_setup(void **state) {
        (void) state;
        return keys_global_init();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_random, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seal_bound_to_key_and_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seal_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_protection, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
