/* test-config.c — the configuration: every class of error reported in one
 * parse (table, cross-field and policy), the defaults' socket layout, and
 * the warnings about what containers that mount the workload socket's
 * directory would reach. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"

static bool has(const struct config_errors *e, const char *needle) {
        for (size_t i = 0; i < e->n; i++)
                if (strstr(e->msgs[i], needle))
                        return true;
        return false;
}

static void test_every_error_class(void **state) {
        struct config_errors errs = {};
        struct config *c = NULL;

        (void) state;
        assert_int_equal(config_load_string("{ \"colour\": 1, \"limits\": { \"max_value_size\": \"64Q\" },"
                                            "  \"defaults\": { \"ttl\": \"2h\", \"max_ttl\": \"1h\" },"
                                            "  \"workloads\": [ { \"name\": \"w\", \"match\": { \"runtime\":"
                                            "  \"dokcer\" }, \"secrets\": [ \"db\" ] } ] }",
                                            "f.json", &c, &errs),
                         -EINVAL);
        assert_null(c);
        assert_true(has(&errs, "f.json: colour: unknown key"));
        assert_true(has(&errs, "f.json: limits.max_value_size:"));
        assert_true(has(&errs, "f.json: defaults.ttl: longer than defaults.max_ttl"));
        assert_true(has(&errs, "workloads[0].match.runtime"));
        config_errors_clear(&errs);
}

/* Where the runtimes keep their records: the defaults, or the config's. */
static void test_runtimes(void **state) {
        struct config_errors errs = {};
        struct config *c = NULL;

        (void) state;
        assert_int_equal(config_load_string("{}", "f.json", &c, &errs), 0);
        assert_string_equal(c->docker_data_root, "/var/lib/docker");
        assert_string_equal(c->podman_storage_root, "/var/lib/containers/storage");
        config_free(c);
        assert_int_equal(config_load_string("{ \"runtimes\": { \"docker\": { \"data_root\": \"/srv/docker\" },"
                                            " \"podman\": { \"storage_root\": \"/srv/pm\" } } }",
                                            "f.json", &c, &errs),
                         0);
        assert_string_equal(c->docker_data_root, "/srv/docker");
        assert_string_equal(c->podman_storage_root, "/srv/pm");
        config_free(c);
        c = NULL;
        assert_int_equal(config_load_string("{ \"runtimes\": { \"docker\": { \"data_root\": \"rel\" },"
                                            " \"crio\": {} } }", "f.json", &c, &errs),
                         -EINVAL);
        assert_null(c);
        assert_true(has(&errs, "f.json: runtimes.docker.data_root:"));
        assert_true(has(&errs, "f.json: runtimes.crio: unknown key"));
        config_errors_clear(&errs);
}

static void test_defaults_layout(void **state) {
        struct config_errors warns = {};
        struct config *c = NULL;

        (void) state;
        assert_int_equal(config_new_default(&c), 0);
        assert_string_equal(c->workload_socket, "/run/secretd/workload/workload.sock");
        config_warnings(c, "defaults", &warns);
        assert_int_equal(warns.n, 0);
        config_free(c);
}

static void test_socket_dir_warnings(void **state) {
        struct config_errors warns = {};
        struct config *c = NULL;

        (void) state;
        assert_int_equal(config_load_string("{ \"admin_socket\": \"/r/admin.sock\", \"workload_socket\":"
                                            "  \"/r/workload.sock\", \"runtime_dir\": \"/r\" }",
                                            "f.json", &c, NULL),
                         0);
        config_warnings(c, "f.json", &warns);
        assert_int_equal(warns.n, 2);
        assert_true(has(&warns, "f.json: admin_socket: is in the directory of workload_socket"));
        assert_true(has(&warns, "f.json: runtime_dir: is in the directory of workload_socket"));
        config_errors_clear(&warns);
        config_free(c);

        /* a sibling whose name only starts like the directory is not in it */
        assert_int_equal(config_load_string("{ \"admin_socket\": \"/r/wl-admin.sock\", \"workload_socket\":"
                                            "  \"/r/wl/workload.sock\", \"runtime_dir\": \"/r/wlx\" }",
                                            "f.json", &c, NULL),
                         0);
        config_warnings(c, "f.json", &warns);
        assert_int_equal(warns.n, 0);
        config_free(c);
}

/* --check-config's parse: errors, and the configuration as far as it goes */
static void test_check_file_partial(void **state) {
        char path[] = "/tmp/test-config-XXXXXX";
        struct config_errors errs = {};
        struct config *c = NULL;
        int fd = mkstemp(path);
        static const char text[] = "{ \"colour\": 1, \"admin\": { \"groups\": [ \"ops\" ] } }";

        (void) state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t) sizeof(text) - 1);
        close(fd);
        assert_int_equal(config_check_file(path, &c, &errs), -EINVAL);
        assert_true(has(&errs, "colour: unknown key"));
        assert_non_null(c);
        assert_int_equal(c->n_admin_groups, 1);
        assert_string_equal(c->admin_groups[0], "ops");
        config_free(c);
        config_errors_clear(&errs);
        c = NULL;
        /* config_load_file never hands out a configuration with errors */
        assert_int_equal(config_load_file(path, &c, &errs), -EINVAL);
        assert_null(c);
        config_errors_clear(&errs);
        unlink(path);
}

/* One lease-time bound (policy.h) for defaults.* and every workload's
 * ttl/max_ttl: the same message at the same place in both tables. */
static void test_one_ttl_bound(void **state) {
        static const char *const bad[] = { "\"367d\"", "0", "31622401" };
        char text[512];

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct config_errors errs = {};
                struct config *c = NULL;

                snprintf(text, sizeof(text),
                         "{ \"defaults\": { \"max_ttl\": %s }, \"workloads\": [ { \"name\": \"w\","
                         "  \"match\": { \"uids\": [ 1 ] }, \"max_ttl\": %s } ] }",
                         bad[i], bad[i]);
                assert_int_equal(config_load_string(text, "f.json", &c, &errs), -EINVAL);
                assert_null(c);
                assert_true(has(&errs, "f.json: defaults.max_ttl: out of range (allowed 1 to 31622400 seconds)"));
                assert_true(has(&errs, "f.json: workloads[0].max_ttl: out of range (allowed 1 to 31622400 seconds)"));
                config_errors_clear(&errs);
        }
        assert_int_equal(POLICY_TTL_MAX_USEC, 31622400ULL * 1000000);
}

/* "etcd": the store's cluster; absent, the store stays in state_dir. */
static void test_etcd(void **state) {
        struct config_errors errs = {};
        struct config *c = NULL;

        (void) state;
        assert_int_equal(config_load_string("{}", "f.json", &c, &errs), 0);
        assert_false(c->has_etcd);
        config_free(c);
        assert_int_equal(config_load_string("{ \"etcd\": { \"endpoints\": [ \"http://10.0.0.1:2379\","
                                            " \"https://e2:2379\" ], \"ca\": \"/etc/ca.pem\" } }",
                                            "f.json", &c, &errs),
                         0);
        assert_true(c->has_etcd);
        assert_int_equal(c->n_etcd_endpoints, 2);
        assert_string_equal(c->etcd_endpoints[1], "https://e2:2379");
        assert_string_equal(c->etcd_prefix, "/secretd/");
        assert_string_equal(c->etcd_ca, "/etc/ca.pem");
        assert_null(c->etcd_cert);
        config_free(c);
        c = NULL;
        assert_int_equal(config_load_string("{ \"etcd\": {} }", "f.json", &c, &errs), -EINVAL);
        assert_true(has(&errs, "f.json: etcd.endpoints: required"));
        config_errors_clear(&errs);
        assert_int_equal(config_load_string("{ \"etcd\": { \"endpoints\": [ \"ftp://x\", \"http://a b\" ],"
                                            " \"prefix\": \"secretd\", \"cert\": \"/c.pem\", \"tls\": 1 } }",
                                            "f.json", &c, &errs),
                         -EINVAL);
        assert_null(c);
        assert_true(has(&errs, "f.json: etcd.endpoints: element 0 is not an http:// or https:// URL"));
        assert_true(has(&errs, "f.json: etcd.endpoints: element 1 is not"));
        assert_true(has(&errs, "f.json: etcd.prefix: 'secretd' is not a key prefix"));
        assert_true(has(&errs, "f.json: etcd.key: etcd.cert and etcd.key go together"));
        assert_true(has(&errs, "f.json: etcd.tls: unknown key"));
        assert_false(has(&errs, "required"));
        config_errors_clear(&errs);
        /* values etcd cannot hold: a warning, not an error */
        assert_int_equal(config_load_string("{ \"etcd\": { \"endpoints\": [ \"http://e:2379\" ] },"
                                            " \"limits\": { \"max_value_size\": \"1M\" } }", "f.json", &c, &errs),
                         0);
        config_warnings(c, "f.json", &errs);
        assert_true(has(&errs, "f.json: limits.max_value_size: values over 700K do not fit in etcd"));
        config_errors_clear(&errs);
        config_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_error_class),
                cmocka_unit_test(test_runtimes),
                cmocka_unit_test(test_defaults_layout),
                cmocka_unit_test(test_socket_dir_warnings),
                cmocka_unit_test(test_check_file_partial),
                cmocka_unit_test(test_one_ttl_bound),
                cmocka_unit_test(test_etcd),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
