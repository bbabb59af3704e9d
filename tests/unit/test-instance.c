/* test-instance.c — workload instances (daemon/leasing-instance.c): lookup
 * by name through many creations and removals (the index's backward-shift
 * deletion), each instance's own lease list and the leases' way back to
 * it, and the directory going with the last lease; the workload an
 * instance is bound to, the callers' facts it keeps, and which leases the
 * policy in force still grants as written (daemon/leasing-policy.c).
 * Unprivileged mode: plain directories under a temporary root, no tmpfs;
 * containers' directories under its "containers". */
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

#include "attest.h"
#include "leasing-internal.h"
#include "policy.h"

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
        assert_int_equal(mkdirat(f->l.root_fd, "containers", 0700), 0);
        f->l.containers_fd = openat(f->l.root_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->l.containers_fd >= 0);
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
        close(f->l.containers_fd);
        /* every directory went with its instance */
        assert_int_equal(unlinkat(f->l.root_fd, "containers", AT_REMOVEDIR), 0);
        close(f->l.root_fd);
        assert_int_equal(rmdir(f->root), 0);
        free(f);
        return 0;
}

static void name_of(unsigned i, char *buf, size_t len) {
        snprintf(buf, len, "docker-%08x%056u", i * 2654435761u, i);
}

/* A container's directory is in "containers", anyone else's in the root. */
static bool dir_exists(const struct fixture *f, const char *name) {
        struct stat st;
        int dfd = instance_is_container(name) ? f->l.containers_fd : f->l.root_fd;

        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Only a unit's and a host user's directories are outside "containers":
 * every runtime's, a rootless container's and any name not known here
 * are a container's (the host-side tree then serves the daemon alone). */
static void test_where_directories_live(void **state) {
        struct fixture *f = *state;
        const char *host[] = { "host-uid1000", "systemd-backup.service" };
        const char *containers[] = { "docker-3f2a", "podman-3f2a", "crio-3f2a", "kubernetes-3f2a",
                                     "rootless-uid1000-3f2a", "rootless-uid1000-cg00ff", "future-3f2a" };
        struct instance *in;
        struct stat st;

        for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
                assert_false(instance_is_container(host[i]));
                assert_int_equal(instance_get(&f->l, host[i], NULL, &in), 0);
                assert_int_equal(fstatat(f->l.root_fd, host[i], &st, AT_SYMLINK_NOFOLLOW), 0);
                assert_int_not_equal(fstatat(f->l.containers_fd, host[i], &st, AT_SYMLINK_NOFOLLOW), 0);
                instance_release_if_empty(&f->l, in);
        }
        for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
                assert_true(instance_is_container(containers[i]));
                assert_int_equal(instance_get(&f->l, containers[i], NULL, &in), 0);
                assert_int_equal(fstatat(f->l.containers_fd, containers[i], &st, AT_SYMLINK_NOFOLLOW), 0);
                assert_int_not_equal(fstatat(f->l.root_fd, containers[i], &st, AT_SYMLINK_NOFOLLOW), 0);
                instance_release_if_empty(&f->l, in);
        }
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

/* An instance is bound to its leases' workload, and keeps each distinct
 * caller's facts once, up to a bound past which it says it lost some. */
static void test_workload_and_facts(void **state) {
        struct fixture *f = *state;
        struct peer p = { .uid = 1000, .gid = 1000, .pidfd = -1, .cls = { .runtime = RUNTIME_DOCKER } };
        char cgroup[] = "/system.slice/docker-x.scope", exe[] = "/app/server";
        struct instance *in;
        struct lease *ls;

        assert_int_equal(instance_get(&f->l, "docker-x", NULL, &in), 0);
        assert_null(instance_workload(in));
        ls = lease_new("db", "db", "docker-x", "web");
        assert_int_equal(instance_attach(&f->l, in, ls), 0);
        assert_string_equal(instance_workload(in), "web");

        p.cgroup = cgroup;
        p.exe = exe;
        instance_remember(in, &p);
        p.pid = 77; /* another process with the same facts: nothing new */
        instance_remember(in, &p);
        assert_int_equal(in->n_facts, 1);
        assert_ptr_not_equal(in->facts[0]->cgroup, p.cgroup); /* a copy */
        assert_string_equal(in->facts[0]->exe, "/app/server");
        assert_int_equal(in->facts[0]->pidfd, -1);
        p.uid = 2000;
        instance_remember(in, &p);
        assert_int_equal(in->n_facts, 2);
        assert_false(in->facts_lost);
        for (uid_t u = 3000; u < 3100; u++) {
                p.uid = u;
                instance_remember(in, &p);
        }
        assert_true(in->facts_lost);
        assert_true(in->n_facts < 100);
        /* freed with the instance (the sanitizers would see a leak) */
}

/* Which leases a policy grants as they were written. */
static void test_lease_in_force(void **state) {
        static const char text[] =
                "[{\"name\":\"web\",\"match\":{\"runtime\":\"docker\"},\"secrets\":[\"db\","
                "{\"name\":\"tls\",\"file\":\"tls.key\",\"mode\":\"0440\",\"uid\":0,\"gid\":101}]}]";
        struct {
                const char *what, *secret, *file, *workload;
                mode_t mode;
                uid_t uid;
                gid_t gid;
                bool want;
        } cases[] = {
                { "as granted", "db", "db", "web", 0400, 1000, 1000, true },
                { "with its owner override", "tls", "tls.key", "web", 0440, 0, 101, true },
                { "another file", "db", "db.txt", "web", 0400, 1000, 1000, false },
                { "another mode", "db", "db", "web", 0440, 1000, 1000, false },
                { "another owner than the override", "tls", "tls.key", "web", 0440, 1000, 101, false },
                { "another group than the override", "tls", "tls.key", "web", 0440, 0, 1000, false },
                { "a secret not granted", "other", "other", "web", 0400, 1000, 1000, false },
                { "a workload that is gone", "db", "db", "gone", 0400, 1000, 1000, false },
        };
        json_t *j = json_loads(text, 0, NULL);
        struct policy *pol = NULL;

        (void) state;
        assert_non_null(j);
        assert_int_equal(policy_parse(j, "test", 3600000000ULL, 7200000000ULL, &pol, NULL), 0);
        json_decref(j);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct lease *ls = lease_new(cases[i].secret, cases[i].file, "docker-x", cases[i].workload);

                assert_non_null(ls);
                ls->mode = cases[i].mode;
                ls->uid = cases[i].uid;
                ls->gid = cases[i].gid;
                if (lease_in_force(pol, ls) != cases[i].want)
                        fail_msg("%s: lease_in_force() is %d", cases[i].what, !cases[i].want);
                assert_false(lease_in_force(NULL, ls)); /* no policy grants nothing */
                lease_free(ls);
        }
        policy_free(pol);
}

#define CID "3f2a000000000000000000000000000000000000000000000000000000000001"

/* Each runtime's row spells its scope's directory: one line per runtime
 * here, and a name that no caller has is refused. */
static void test_instance_names(void **state) {
        static const struct {
                enum runtime runtime;
                const char *id;
                const char *want; /* NULL: -EACCES */
        } cases[] = {
                { RUNTIME_HOST, "", "host-uid1000" },
                { RUNTIME_SYSTEMD, "backup.service", "systemd-backup.service" },
                { RUNTIME_DOCKER, CID, "docker-" CID },
                { RUNTIME_PODMAN, CID, "podman-" CID },
                { RUNTIME_KUBERNETES, CID, "kubernetes-" CID },
                { RUNTIME_CRIO, CID, "crio-" CID },
                { RUNTIME_ROOTLESS, CID, "rootless-uid1000-" CID },
                { RUNTIME_UNKNOWN, "", NULL },
        };
        char name[256];

        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct peer p = { .uid = 1000, .delegated_owner = 1000, .pidfd = -1 };

                p.cls.runtime = cases[i].runtime;
                snprintf(p.cls.id, sizeof(p.cls.id), "%s", cases[i].id);
                if (!cases[i].want) {
                        assert_int_equal(instance_name(&p, name, sizeof(name)), -EACCES);
                        continue;
                }
                assert_int_equal(instance_name(&p, name, sizeof(name)), 0);
                assert_string_equal(name, cases[i].want);
                assert_int_equal(instance_is_container(name), !runtime_info(cases[i].runtime)->host_directory);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_workload_and_facts, setup, teardown),
                cmocka_unit_test(test_lease_in_force),
                cmocka_unit_test(test_instance_names),
                cmocka_unit_test_setup_teardown(test_lookup_through_removals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leases_of_an_instance, setup, teardown),
                cmocka_unit_test_setup_teardown(test_where_directories_live, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
