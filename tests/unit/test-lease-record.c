/* test-lease-record.c — leases written down (daemon/lease-record.c): a
 * record saved, loaded back field for field and removed; a save replacing
 * the record whole; records that are malformed, oversized, misnamed or
 * name another lease skipped and removed (damaged), files that are no
 * record left alone; a crash's temp file cleared; no value ever written. */
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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "lease-record.h"

#define MAX_LOADED 8

struct loaded {
        struct lease *l[MAX_LOADED];
        char cgroup[MAX_LOADED][128], inject_path[MAX_LOADED][128];
        struct lease_where w[MAX_LOADED];
        size_t n;
};

struct fixture {
        char dir[64];
        int dfd;
        struct loaded got;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-lease-record.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->dfd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];

        for (size_t i = 0; i < f->got.n; i++)
                lease_free(f->got.l[i]);
        close(f->dfd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* Keeps what it is given, and copies of w's strings (they live only for
 * the call). */
static void collect(void *userdata, struct lease *l, const struct lease_where *w) {
        struct loaded *g = userdata;
        size_t i = g->n++;

        assert_true(i < MAX_LOADED);
        g->l[i] = l;
        g->w[i] = *w;
        if (w->cgroup) {
                snprintf(g->cgroup[i], sizeof(g->cgroup[i]), "%s", w->cgroup);
                g->w[i].cgroup = g->cgroup[i];
        }
        if (w->inject_path) {
                snprintf(g->inject_path[i], sizeof(g->inject_path[i]), "%s", w->inject_path);
                g->w[i].inject_path = g->inject_path[i];
        }
}

static unsigned load(struct fixture *f) {
        unsigned damaged = 99;

        assert_int_equal(lease_record_load_all(f->dfd, collect, &f->got, &damaged), 0);
        return damaged;
}

static struct lease *sample_lease(void) {
        struct lease *l = lease_new("db/password", "password", "docker-0123abcd", "web");

        assert_non_null(l);
        l->uid = 1000;
        l->gid = 1001;
        l->mode = 0440;
        l->version = 7;
        l->granted_usec = 1700000000000000;
        l->expires_usec = 1700000060000000;
        l->max_expires_usec = 1700003600000000;
        l->on_rotate_signal = 1;
        return l;
}

static const struct lease_where sample_where = {
        .cgroup = "/system.slice/docker-0123abcd.scope",
        .injected_ns = 4026532000,
        .inject_path = "/run/secrets",
        .main_pid = 4242,
        .main_start = 123456789,
};

static bool exists(struct fixture *f, const char *name) {
        return faccessat(f->dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static unsigned entries(struct fixture *f) {
        DIR *d = opendir(f->dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void write_at(struct fixture *f, const char *name, const char *text, size_t len) {
        int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        close(fd);
}

static char *read_at(struct fixture *f, const char *name) {
        static char buf[20000];
        int fd = openat(f->dfd, name, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static void test_round_trip(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        char name[LEASE_ID_LEN + 8];
        const struct lease *b;
        const struct lease_where *w;
        struct stat st;

        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        snprintf(name, sizeof(name), "%s.json", l->id);
        assert_int_equal(fstatat(f->dfd, name, &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(entries(f), 1); /* no temp file left */
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 1);
        b = f->got.l[0];
        w = &f->got.w[0];
        assert_string_equal(b->id, l->id);
        assert_string_equal(b->secret, "db/password");
        assert_string_equal(b->file, "password");
        assert_string_equal(b->instance, "docker-0123abcd");
        assert_string_equal(b->workload, "web");
        assert_int_equal(b->uid, 1000);
        assert_int_equal(b->gid, 1001);
        assert_int_equal(b->mode, 0440);
        assert_int_equal(b->version, 7);
        assert_int_equal(b->granted_usec, l->granted_usec);
        assert_int_equal(b->expires_usec, l->expires_usec);
        assert_int_equal(b->max_expires_usec, l->max_expires_usec);
        assert_int_equal(b->on_rotate_signal, 1);
        assert_string_equal(w->cgroup, sample_where.cgroup);
        assert_int_equal(w->injected_ns, sample_where.injected_ns);
        assert_string_equal(w->inject_path, sample_where.inject_path);
        assert_int_equal(w->main_pid, 4242);
        assert_int_equal(w->main_start, 123456789);
        /* removed, and removing again is no error */
        assert_int_equal(lease_record_remove(f->dfd, l->id), 0);
        assert_false(exists(f, name));
        assert_int_equal(lease_record_remove(f->dfd, l->id), 0);
        assert_int_equal(lease_record_remove(f->dfd, "../etc"), -EINVAL);
        lease_free(l);
}

/* A container's lease from the OCI hook: until_exit comes back, and a
 * record that says until_exit with a deadline is damaged, not trusted. */
static void test_until_exit(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        l->until_exit = true;
        l->expires_usec = l->max_expires_usec = INT64_MAX;
        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 1);
        assert_true(f->got.l[0]->until_exit);
        assert_true(f->got.l[0]->expires_usec == INT64_MAX);
        l->expires_usec = 5;
        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        assert_int_equal(load(f), 1);
        assert_int_equal(f->got.n, 1); /* only the first load's */
        lease_free(l);
}

/* A host unit's lease: no cgroup or injection known. */
static void test_optional_fields(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        struct lease_where none = {};

        assert_int_equal(lease_record_save(f->dfd, l, &none), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 1);
        assert_null(f->got.w[0].cgroup);
        assert_null(f->got.w[0].inject_path);
        assert_int_equal(f->got.w[0].injected_ns, 0);
        assert_int_equal(f->got.w[0].main_pid, 0);
        lease_free(l);
}

/* A second save replaces the record whole (a renewal's new deadline). */
static void test_save_replaces(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();

        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        l->expires_usec += 60000000;
        l->version = 8;
        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        assert_int_equal(entries(f), 1);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 1);
        assert_int_equal(f->got.l[0]->expires_usec, l->expires_usec);
        assert_int_equal(f->got.l[0]->version, 8);
        lease_free(l);
}

/* Names, owners and deadlines: nothing in it that could be a value. */
static void test_no_value_written(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        char name[LEASE_ID_LEN + 8];
        const char *text;

        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        snprintf(name, sizeof(name), "%s.json", l->id);
        text = read_at(f, name);
        assert_non_null(strstr(text, "\"secret\":\"db/password\""));
        assert_null(strstr(text, "value"));
        lease_free(l);
}

/* A valid record's text with one field replaced (from "<field>": up to
 * the next comma or brace) by replacement, or dropped when it is "". */
static void record_with(struct fixture *f, const struct lease *l, const char *field, const char *replacement,
                        char *out, size_t out_size) {
        char name[LEASE_ID_LEN + 8], key[64];
        const char *text, *at, *end;

        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        snprintf(name, sizeof(name), "%s.json", l->id);
        text = read_at(f, name);
        snprintf(key, sizeof(key), "\"%s\":", field);
        at = strstr(text, key);
        assert_non_null(at);
        end = at + strcspn(at, ",}");
        if (!*replacement && *end == ',')
                end++;
        assert_true((size_t) snprintf(out, out_size, "%.*s%s%s", (int) (at - text), text, replacement, end) <
                    out_size);
}

static void test_damaged_removed(void **state) {
        static const struct {
                const char *field, *replacement;
        } damage[] = {
                { "secret", "" },                           /* missing */
                { "uid", "\"uid\":\"1000\"" },              /* wrong type */
                { "file", "\"file\":\"../etc/passwd\"" },   /* a path */
                { "file", "\"file\":\"a/b\"" },
                { "file", "\"file\":\".hidden\"" },
                { "instance", "\"instance\":\"a/b\"" },
                { "instance", "\"instance\":\"..\"" },
                { "id", "\"id\":\"00000000000000000000000000000000\"" }, /* another lease's */
                { "main_start", "\"main_start\":\"x\"" },
        };
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        char name[LEASE_ID_LEN + 8], text[4096];

        snprintf(name, sizeof(name), "%s.json", l->id);
        for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
                record_with(f, l, damage[i].field, damage[i].replacement, text, sizeof(text));
                write_at(f, name, text, strlen(text));
                assert_int_equal(load(f), 1);
                assert_int_equal(f->got.n, 0);
                assert_false(exists(f, name));
        }
        /* not JSON, an array, empty, a duplicate key */
        write_at(f, name, "{\"id\":", 6);
        assert_int_equal(load(f), 1);
        write_at(f, name, "[]", 2);
        assert_int_equal(load(f), 1);
        write_at(f, name, "", 0);
        assert_int_equal(load(f), 1);
        record_with(f, l, "gid", "\"gid\":1,\"gid\":2", text, sizeof(text));
        write_at(f, name, text, strlen(text));
        assert_int_equal(load(f), 1);
        assert_int_equal(f->got.n, 0);
        assert_int_equal(entries(f), 0);
        lease_free(l);
}

/* Larger than any record we write: not read, removed. */
static void test_oversized_removed(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        char name[LEASE_ID_LEN + 8], *big, text[4096];
        size_t len = 20000;

        record_with(f, l, "workload", "\"workload\":\"web\"", text, sizeof(text));
        big = malloc(len);
        assert_non_null(big);
        /* a valid record, padded with spaces to past the limit */
        memset(big, ' ', len);
        memcpy(big, text, strlen(text));
        snprintf(name, sizeof(name), "%s.json", l->id);
        write_at(f, name, big, len);
        free(big);
        assert_int_equal(load(f), 1);
        assert_int_equal(f->got.n, 0);
        assert_false(exists(f, name));
        lease_free(l);
}

/* Files that are no record by their name are not ours to judge: left. */
static void test_misnamed_left_alone(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();
        char text[4096], name[LEASE_ID_LEN + 16];

        record_with(f, l, "workload", "\"workload\":\"web\"", text, sizeof(text));
        assert_int_equal(lease_record_remove(f->dfd, l->id), 0);
        snprintf(name, sizeof(name), "%s.jsonx", l->id);
        write_at(f, name, text, strlen(text));
        snprintf(name, sizeof(name), "%.31s.json", l->id);
        write_at(f, name, text, strlen(text));
        write_at(f, "README", "x", 1);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 0);
        assert_int_equal(entries(f), 3);
        lease_free(l);
}

/* A crash between the temp file and the rename: the temp file goes, the
 * last record stays. */
static void test_crash_leftovers(void **state) {
        struct fixture *f = *state;
        struct lease *l = sample_lease();

        assert_int_equal(lease_record_save(f->dfd, l, &sample_where), 0);
        write_at(f, ".tmp-1", "{\"id\":", 6);
        write_at(f, ".tmp-ffffffff", "", 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 1);
        assert_string_equal(f->got.l[0]->id, l->id);
        assert_false(exists(f, ".tmp-1"));
        assert_false(exists(f, ".tmp-ffffffff"));
        assert_int_equal(entries(f), 1);
        lease_free(l);
}

/* Loading twice reads every record twice (the directory is rewound). */
static void test_load_twice(void **state) {
        struct fixture *f = *state;
        struct lease *a = sample_lease(), *b = sample_lease();

        assert_int_equal(lease_record_save(f->dfd, a, &sample_where), 0);
        assert_int_equal(lease_record_save(f->dfd, b, &sample_where), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(load(f), 0);
        assert_int_equal(f->got.n, 4);
        lease_free(a);
        lease_free(b);
}

static int group_setup(void **state) {
        (void) state;
        return keys_global_init(); /* lease ids are random bytes */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_optional_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_until_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_save_replaces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_value_written, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_misnamed_left_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_twice, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, NULL);
}
