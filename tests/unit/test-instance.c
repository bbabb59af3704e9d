/* test-instance.c — workload instances (daemon/leasing-instance.c): lookup
 * by name through many creations and removals (the index's backward-shift
 * deletion), each instance's own lease list and the leases' way back to
 * it, and the directory going with the last lease.  Unprivileged mode:
 * plain directories under a temporary root, no tmpfs. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leasing-internal.h"

#define N_INSTANCES 600

struct fixture {
        char root[64];
        struct leasing l;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->root, "/tmp/test-instance.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->l.root_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->l.root_fd >= 0);
        f->l.inotify_fd = -1;
        f->l.records_fd = -1;
        f->l.timer_fd = -1;
        f->l.privileged = false;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        while (f->l.n_inst > 0) {
                struct instance *in = f->l.inst[0];

                while (in->n_leases > 0)
                        instance_detach(&f->l, in->leases[0]);
                instance_release_if_empty(&f->l, in);
        }
        free(f->l.inst);
        free(f->l.slots);
        lease_table_clear(&f->l.table);
        close(f->l.root_fd);
        assert_int_equal(rmdir(f->root), 0); /* every directory went with its instance */
        free(f);
        return 0;
}

static void name_of(unsigned i, char *buf, size_t len) {
        snprintf(buf, len, "docker-%08x%056u", i * 2654435761u, i);
}

static bool dir_exists(const struct fixture *f, const char *name) {
        struct stat st;

        return fstatat(f->l.root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Every third instance removed, in an order unlike the creation order: each
 * remaining one is still found under its name, each removed one is not. */
static void test_lookup_through_removals(void **state) {
        struct fixture *f = *state;
        struct instance *made[N_INSTANCES];
        char name[128];

        for (unsigned i = 0; i < N_INSTANCES; i++) {
                name_of(i, name, sizeof(name));
                assert_null(instance_find(&f->l, name));
                assert_int_equal(instance_get(&f->l, name, NULL, &made[i]), 0);
                assert_ptr_equal(instance_find(&f->l, name), made[i]);
                assert_true(dir_exists(f, name));
        }
        assert_int_equal(f->l.n_inst, N_INSTANCES);
        for (unsigned k = 0; k < N_INSTANCES; k++) {
                unsigned i = (k * 7) % N_INSTANCES;

                if (i % 3 == 0)
                        instance_release_if_empty(&f->l, made[i]);
        }
        for (unsigned i = 0; i < N_INSTANCES; i++) {
                name_of(i, name, sizeof(name));
                if (i % 3 == 0) {
                        assert_null(instance_find(&f->l, name));
                        assert_false(dir_exists(f, name));
                } else {
                        assert_ptr_equal(instance_find(&f->l, name), made[i]);
                        assert_ptr_equal(f->l.inst[made[i]->pos], made[i]);
                }
        }
        assert_int_equal(f->l.n_inst, N_INSTANCES - N_INSTANCES / 3);
        /* asking again for a live name gives the same instance, not a new one */
        name_of(1, name, sizeof(name));
        assert_int_equal(instance_get(&f->l, name, NULL, &made[0]), 0);
        assert_ptr_equal(made[0], made[1]);
}

/* Leases belong to one instance; an instance with leases is not released;
 * the last detach lets it go. */
static void test_leases_of_an_instance(void **state) {
        struct fixture *f = *state;
        struct instance *a, *b;
        struct lease *la1, *la2, *lb1;

        assert_int_equal(instance_get(&f->l, "docker-a", NULL, &a), 0);
        assert_int_equal(instance_get(&f->l, "docker-b", NULL, &b), 0);
        la1 = lease_new("db", "db", "docker-a", "web");
        la2 = lease_new("tls", "tls.key", "docker-a", "web");
        lb1 = lease_new("db", "db", "docker-b", "web");
        assert_int_equal(instance_attach(&f->l, a, la1), 0);
        assert_int_equal(instance_attach(&f->l, a, la2), 0);
        assert_int_equal(instance_attach(&f->l, b, lb1), 0);
        assert_int_equal(f->l.table.n, 3);
        assert_ptr_equal(la2->owner, a);
        assert_ptr_equal(instance_lease_of(a, "tls"), la2);
        assert_ptr_equal(instance_lease_of(b, "db"), lb1);
        assert_null(instance_lease_of(b, "tls"));

        instance_release_if_empty(&f->l, a); /* holds leases: stays */
        assert_ptr_equal(instance_find(&f->l, "docker-a"), a);
        instance_detach(&f->l, la1);
        assert_int_equal(a->n_leases, 1);
        assert_null(instance_lease_of(a, "db"));
        assert_ptr_equal(instance_lease_of(a, "tls"), la2);
        assert_ptr_equal(lease_table_find(&f->l.table, lb1->id), lb1);
        instance_detach(&f->l, la2);
        instance_release_if_empty(&f->l, a);
        assert_null(instance_find(&f->l, "docker-a"));
        assert_false(dir_exists(f, "docker-a"));
        assert_int_equal(f->l.table.n, 1);
        assert_ptr_equal(instance_find(&f->l, "docker-b"), b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lookup_through_removals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leases_of_an_instance, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
