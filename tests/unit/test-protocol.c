/* test-protocol.c — the contract's functions both sides link
 * (daemon/protocol.c): the secret-name grammar and routes filled in by
 * api_path().  The lease-id grammar is test-lease's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "secretd/cleanup.h"
#include "secretd/protocol.h"

static void test_secret_names(void **state) {
        static const struct {
                const char *name;
                bool ok;
        } table[] = {
                { "a", true },        { "Z9", true },      { "db-password", true }, { "tls.key", true },
                { "a_b", true },      { "a..b", true },    { "", false },           { ".", false },
                { "..", false },      { ".hidden", false }, { "-dash", false },     { "_under", false },
                { "a/b", false },     { "a?b", false },    { "a%2fb", false },      { "a b", false },
                { "caf\xc3\xa9", false }, { "a#b", false }, { "a&b", false },
        };
        char name[SECRET_NAME_MAX + 2];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                assert_int_equal(secret_name_valid(table[i].name), table[i].ok);
        memset(name, 'n', sizeof(name));
        name[SECRET_NAME_MAX] = '\0';
        assert_true(secret_name_valid(name));
        name[SECRET_NAME_MAX] = 'n';
        name[SECRET_NAME_MAX + 1] = '\0';
        assert_false(secret_name_valid(name));
        assert_false(secret_name_valid(NULL));
}

static void test_api_path(void **state) {
        static const struct {
                const char *route, *arg, *query, *want;
        } table[] = {
                { API_ROUTE_HEALTH, NULL, NULL, "/v1/health" },
                { API_ROUTE_SECRETS, NULL, NULL, "/v1/secrets" },
                { API_ROUTE_SECRET, "db", NULL, "/v1/secrets/db" },
                { API_ROUTE_SECRET, "db", "version=2", "/v1/secrets/db?version=2" },
                { API_ROUTE_SECRET_META, "db", NULL, "/v1/secrets/db/meta" },
                { API_ROUTE_SECRET_ROTATE, "db", "allow_empty=1", "/v1/secrets/db/rotate?allow_empty=1" },
                { API_ROUTE_METRICS, NULL, NULL, "/metrics" },
                { API_ROUTE_LEASE, "0123", NULL, "/v1/leases/0123" },
                { API_ROUTE_LEASE_RENEW, "0123", NULL, "/v1/leases/0123/renew" },
                { API_ROUTE_LEASES, "ignored", NULL, "/v1/leases" },
        };
        char buf[64];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_int_equal(api_path(buf, sizeof(buf), table[i].route, table[i].arg, table[i].query), 0);
                assert_string_equal(buf, table[i].want);
        }
        assert_int_equal(api_path(buf, sizeof(buf), API_ROUTE_SECRET, NULL, NULL), -EINVAL);
        assert_string_equal(buf, "");
        /* exactly full: the terminator no longer fits */
        assert_int_equal(api_path(buf, strlen("/v1/secrets/db"), API_ROUTE_SECRET, "db", NULL), -ENAMETOOLONG);
        assert_string_equal(buf, "");
        assert_int_equal(api_path(buf, strlen("/v1/secrets/db") + 1, API_ROUTE_SECRET, "db", NULL), 0);
        assert_int_equal(api_path(buf, 0, API_ROUTE_HEALTH, NULL, NULL), -ENAMETOOLONG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secret_names),
                cmocka_unit_test(test_api_path),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
