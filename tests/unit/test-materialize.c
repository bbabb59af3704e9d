/* test-materialize.c — secret files in an instance directory
 * (daemon/materialize.c), unprivileged mode (a plain directory, no tmpfs):
 * a file's contents, owner and mode; a rewrite replacing it whole (an
 * open reader keeps the old value, the path has the new one at once);
 * whether a file is still as written; removal; the directory kept at
 * close and gone at destroy; a set: a directory of its parts, switched
 * whole in one rename (a reader holding the old one finds its parts gone,
 * never the next version's), checked part by part, removed with its link,
 * a set replaced by a file and back.  The directory's listing is not asserted:
 * materialize.c may keep entries of its own there (temp files). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "materialize.h"

struct fixture {
        char root[64];
        int root_fd;
        struct mdir *m;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->root, "/tmp/test-materialize.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->root_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->root_fd >= 0);
        assert_int_equal(mdir_open(f->root_fd, "docker-0123", 0, false, &f->m), 0);
        assert_non_null(f->m);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];

        mdir_close(f->m);
        close(f->root_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void path_of(const struct fixture *f, const char *file, char *ret, size_t size) {
        snprintf(ret, size, "%s/docker-0123/%s", f->root, file);
}

static void assert_contents_fd(int fd, const char *want) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof(buf), 0);

        assert_int_equal(n, (ssize_t) strlen(want));
        assert_memory_equal(buf, want, strlen(want));
}

static void assert_file(const struct fixture *f, const char *file, const char *want, uid_t uid, gid_t gid,
                        mode_t mode) {
        char p[256];
        struct stat st;
        int fd;

        path_of(f, file, p, sizeof(p));
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, mode);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_contents_fd(fd, want);
        close(fd);
}

static uid_t test_uid(void) {
        return geteuid() == 0 ? 1000 : geteuid();
}

static gid_t test_gid(void) {
        return geteuid() == 0 ? 1001 : getegid();
}

static void test_write(void **state) {
        struct fixture *f = *state;
        char dir[128];
        struct stat st;

        assert_int_equal(mdir_write(f->m, "password", (const uint8_t *) "s3cret", 6, test_uid(), test_gid(), 0440),
                         0);
        assert_file(f, "password", "s3cret", test_uid(), test_gid(), 0440);
        assert_int_equal(mdir_write(f->m, "empty", (const uint8_t *) "", 0, test_uid(), test_gid(), 0400), 0);
        assert_file(f, "empty", "", test_uid(), test_gid(), 0400);
        snprintf(dir, sizeof(dir), "%s/docker-0123", f->root);
        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(fstat(mdir_fd(f->m), &st), 0);
        assert_false(mdir_is_mount(f->m)); /* unprivileged: no tmpfs */
}

/* A rewrite is a new file put in place in one step: a reader of the old
 * one keeps reading the old value, never a mix. */
static void test_replace_atomic(void **state) {
        struct fixture *f = *state;
        struct stat before, after;
        char p[256];
        int old_fd;

        assert_int_equal(mdir_write(f->m, "token", (const uint8_t *) "version-one", 11, test_uid(), test_gid(), 0400),
                         0);
        path_of(f, "token", p, sizeof(p));
        old_fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(old_fd >= 0);
        assert_int_equal(fstat(old_fd, &before), 0);
        assert_int_equal(mdir_write(f->m, "token", (const uint8_t *) "v2", 2, test_uid(), test_gid(), 0440), 0);
        assert_file(f, "token", "v2", test_uid(), test_gid(), 0440);
        assert_int_equal(stat(p, &after), 0);
        assert_true(before.st_ino != after.st_ino);
        assert_contents_fd(old_fd, "version-one");
        close(old_fd);
}

static void test_file_current(void **state) {
        struct fixture *f = *state;
        const uint8_t *v = (const uint8_t *) "value";

        assert_false(mdir_file_current(f->m, "cur", v, 5, test_uid(), test_gid(), 0440));
        assert_int_equal(mdir_write(f->m, "cur", v, 5, test_uid(), test_gid(), 0440), 0);
        assert_true(mdir_file_current(f->m, "cur", v, 5, test_uid(), test_gid(), 0440));
        assert_false(mdir_file_current(f->m, "cur", (const uint8_t *) "valuf", 5, test_uid(), test_gid(), 0440));
        assert_false(mdir_file_current(f->m, "cur", v, 4, test_uid(), test_gid(), 0440));
        assert_false(mdir_file_current(f->m, "cur", v, 5, test_uid(), test_gid(), 0400));
        if (geteuid() == 0) {
                assert_false(mdir_file_current(f->m, "cur", v, 5, 1002, test_gid(), 0440));
                assert_false(mdir_file_current(f->m, "cur", v, 5, test_uid(), 1002, 0440));
        }
}

static void test_remove(void **state) {
        struct fixture *f = *state;
        char p[256];

        assert_int_equal(mdir_write(f->m, "gone", (const uint8_t *) "x", 1, test_uid(), test_gid(), 0400), 0);
        assert_int_equal(mdir_remove(f->m, "gone"), 0);
        path_of(f, "gone", p, sizeof(p));
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(mdir_remove(f->m, "gone"), -ENOENT);
}

/* Closing keeps the files (leases outlive the daemon); opening again
 * finds them; destroying removes the directory. */
static void test_close_reopen_destroy(void **state) {
        struct fixture *f = *state;
        char dir[128];

        assert_int_equal(mdir_write(f->m, "kept", (const uint8_t *) "kept", 4, test_uid(), test_gid(), 0400), 0);
        f->m = mdir_close(f->m);
        assert_null(f->m);
        assert_file(f, "kept", "kept", test_uid(), test_gid(), 0400);
        assert_int_equal(mdir_open(f->root_fd, "docker-0123", 0, false, &f->m), 0);
        assert_true(mdir_file_current(f->m, "kept", (const uint8_t *) "kept", 4, test_uid(), test_gid(), 0400));
        assert_int_equal(mdir_destroy(f->m), 0);
        f->m = NULL;
        snprintf(dir, sizeof(dir), "%s/docker-0123", f->root);
        assert_int_equal(access(dir, F_OK), -1);
}

static void test_names(void **state) {
        (void) state;
        assert_true(mdir_name_valid("docker-0123"));
        assert_false(mdir_name_valid(""));
        assert_false(mdir_name_valid("a/b"));
        assert_false(mdir_name_valid(".."));
        assert_false(mdir_name_valid("."));
}

static int group_setup(void **state) {
        (void) state;
        return keys_global_init(); /* comparing contents reads into guarded memory */
}

#define SET1 "tls.crt 5\ncert1\ntls.key 4\nkey1\n"
#define SET2 "tls.crt 5\ncert2\ntls.key 4\nkey2\n"

static int write_set(struct fixture *f, const char *file, const char *enc, mode_t mode) {
        return mdir_write_set(f->m, file, (const uint8_t *) enc, strlen(enc), getuid(), getgid(), mode);
}

static void test_set(void **state) {
        struct fixture *f = *state;
        char p[256], link[256];
        struct stat st;
        int old_dir, fd;
        ssize_t n;

        assert_int_equal(write_set(f, "web", SET1, 0400), 0);
        assert_file(f, "web/tls.crt", "cert1", getuid(), getgid(), 0400);
        assert_file(f, "web/tls.key", "key1", getuid(), getgid(), 0400);
        path_of(f, "web", p, sizeof(p));
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        n = readlink(p, link, sizeof(link) - 1);
        assert_true(n > 0);
        link[n] = '\0';
        assert_int_equal(strncmp(link, MDIR_SETS_DIR "/web.", strlen(MDIR_SETS_DIR "/web.")), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0500); /* r-x where the parts have r */
        assert_true(mdir_set_current(f->m, "web", (const uint8_t *) SET1, strlen(SET1), getuid(), getgid(), 0400));
        assert_false(mdir_set_current(f->m, "web", (const uint8_t *) SET2, strlen(SET2), getuid(), getgid(), 0400));
        assert_false(mdir_set_current(f->m, "web", (const uint8_t *) SET1, strlen(SET1), getuid(), getgid(), 0440));
        /* a reader that holds the old directory: the new version never shows there */
        old_dir = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(old_dir >= 0);
        assert_int_equal(write_set(f, "web", SET2, 0440), 0);
        assert_file(f, "web/tls.crt", "cert2", getuid(), getgid(), 0440);
        assert_file(f, "web/tls.key", "key2", getuid(), getgid(), 0440);
        fd = openat(old_dir, "tls.key", O_RDONLY | O_CLOEXEC);
        assert_true(fd < 0 && errno == ENOENT);
        close(old_dir);
        assert_true(mdir_set_current(f->m, "web", (const uint8_t *) SET2, strlen(SET2), getuid(), getgid(), 0440));
        /* a part changed behind our back is no longer current */
        path_of(f, "web/tls.key", p, sizeof(p));
        assert_int_equal(chmod(p, 0444), 0);
        assert_false(mdir_set_current(f->m, "web", (const uint8_t *) SET2, strlen(SET2), getuid(), getgid(), 0440));
        assert_int_equal(write_set(f, "web", SET2, 0440), 0);
        /* malformed: refused, nothing changed */
        assert_int_equal(write_set(f, "web", "tls.crt 9\nshort\n", 0400), -EBADMSG);
        assert_file(f, "web/tls.crt", "cert2", getuid(), getgid(), 0440);
        /* removed with its link, generations too */
        assert_int_equal(mdir_remove(f->m, "web"), 0);
        path_of(f, "web", p, sizeof(p));
        assert_int_equal(lstat(p, &st), -1);
        path_of(f, MDIR_SETS_DIR, p, sizeof(p));
        {
                char cmd[512];

                snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", p);
                assert_int_equal(system(cmd), 0);
        }
}

static void test_set_and_file(void **state) {
        struct fixture *f = *state;
        char p[512];

        assert_int_equal(write_set(f, "pair", SET1, 0400), 0);
        assert_int_equal(mdir_write(f->m, "pair", (const uint8_t *) "plain", 5, getuid(), getgid(), 0400), 0);
        assert_file(f, "pair", "plain", getuid(), getgid(), 0400);
        snprintf(p, sizeof(p), "test -z \"$(ls -A '%s/docker-0123/%s')\"", f->root, MDIR_SETS_DIR);
        assert_int_equal(system(p), 0);
        assert_int_equal(write_set(f, "pair", SET2, 0400), 0);
        assert_file(f, "pair/tls.key", "key2", getuid(), getgid(), 0400);
        assert_false(mdir_file_current(f->m, "pair", (const uint8_t *) "plain", 5, getuid(), getgid(), 0400));
        assert_int_equal(mdir_destroy(f->m), 0);
        f->m = NULL;
        snprintf(p, sizeof(p), "%s/docker-0123", f->root);
        assert_int_equal(access(p, F_OK), -1);
}

/* What a crash leaves in .sets: a generation built but never switched to,
 * and one switched away from but not removed; a restart prunes both and
 * keeps the linked one. */
static void test_sets_prune(void **state) {
        struct fixture *f = *state;
        char p[256], cmd[2048];

        assert_int_equal(write_set(f, "web", SET1, 0400), 0);
        snprintf(p, sizeof(p), "%s/docker-0123/%s", f->root, MDIR_SETS_DIR);
        snprintf(cmd, sizeof(cmd),
                 "mkdir '%s/web.00000000000000aa' '%s/web.00000000000000bb' && echo x >'%s/web.00000000000000aa/tls.key'",
                 p, p, p);
        assert_int_equal(system(cmd), 0);
        mdir_sets_prune(f->m);
        snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s' | wc -l)\" = 1 && ! test -e '%s/web.00000000000000aa'", p, p);
        assert_int_equal(system(cmd), 0);
        assert_file(f, "web/tls.crt", "cert1", getuid(), getgid(), 0400);
        assert_file(f, "web/tls.key", "key1", getuid(), getgid(), 0400);
        assert_true(mdir_set_current(f->m, "web", (const uint8_t *) SET1, strlen(SET1), getuid(), getgid(), 0400));
        /* a version with a part the next one lacks: its generation goes whole */
        assert_int_equal(write_set(f, "web", "extra 1\nx\ntls.crt 5\ncert3\n", 0400), 0);
        assert_int_equal(write_set(f, "web", SET2, 0400), 0);
        assert_int_equal(system(cmd), 0);
        assert_file(f, "web/tls.key", "key2", getuid(), getgid(), 0400);
        path_of(f, "web/extra", p, sizeof(p));
        assert_int_equal(access(p, F_OK), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace_atomic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_close_reopen_destroy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set_and_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sets_prune, setup, teardown),
                cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
