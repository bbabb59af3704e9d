/* test-lease.c — the lease table: ids, lookups, deadline ordering, the
 * max_ttl cap, removal while iterating. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "lease.h"

static struct lease *mk(struct lease_table *t, const char *secret, const char *inst, int64_t expires) {
        struct lease *l = lease_new(secret, secret, inst, "web");

        assert_non_null(l);
        l->expires_usec = expires;
        l->max_expires_usec = INT64_MAX;
        assert_int_equal(lease_table_add(t, l), 0);
        return l;
}

static void test_ids(void **state) {
        static const struct {
                const char *id;
                bool ok;
        } table[] = {
                { "0123456789abcdef0123456789abcdef", true },
                { "0123456789ABCDEF0123456789abcdef", false },
                { "0123456789abcdef0123456789abcde", false },
                { "0123456789abcdef0123456789abcdef0", false },
                { "0123456789abcdeg0123456789abcdef", false },
                { "", false },
                { "../../../../../../../../etc/pass", false },
        };
        struct lease *a, *b;

        (void) state;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                assert_int_equal(lease_id_valid(table[i].id), table[i].ok);
        assert_false(lease_id_valid(NULL));
        a = lease_new("s", "f", "i", "w");
        b = lease_new("s", "f", "i", "w");
        assert_true(lease_id_valid(a->id));
        assert_true(lease_id_valid(b->id));
        assert_string_not_equal(a->id, b->id);
        lease_free(a);
        lease_free(b);
}

static void test_lookup(void **state) {
        struct lease_table t = {};
        struct lease *a, *b;

        (void) state;
        a = mk(&t, "db", "docker-1", 100);
        b = mk(&t, "tls", "docker-1", 200);
        mk(&t, "db", "docker-2", 300);
        assert_ptr_equal(lease_table_find(&t, a->id), a);
        assert_ptr_equal(lease_table_find(&t, b->id), b);
        assert_null(lease_table_find(&t, "0123456789abcdef0123456789abcdef"));
        assert_int_equal(t.n, 3);
        lease_table_remove(&t, a);
        assert_int_equal(t.n, 2);
        assert_ptr_equal(lease_table_find(&t, b->id), b);
        lease_table_clear(&t);
        assert_int_equal(t.n, 0);
}

static void test_deadlines(void **state) {
        struct lease_table t = {};
        int64_t order[] = { 500, 100, 900, 300, 700 };
        int64_t last = 0;
        struct lease *l;
        size_t n = 0;

        (void) state;
        assert_true(lease_table_next_deadline(&t) == INT64_MAX);
        for (size_t i = 0; i < 5; i++)
                mk(&t, "s", "inst", order[i]);
        for (size_t i = 0; i < 1000; i++)
                mk(&t, "bulk", "inst", 10000 + (int64_t) randombytes_uniform(100000));
        assert_true(lease_table_next_deadline(&t) == 100);
        assert_null(lease_table_first_expired(&t, 99));
        /* expire in deadline order, as the timer would */
        while (t.n > 0) {
                int64_t next = lease_table_next_deadline(&t);

                assert_true(next >= last);
                last = next;
                while ((l = lease_table_first_expired(&t, next))) {
                        assert_true(l->expires_usec <= next);
                        lease_table_remove(&t, l);
                        n++;
                }
        }
        assert_int_equal(n, 1005);
        lease_table_clear(&t);
}

static void test_extend_caps(void **state) {
        struct lease *l = lease_new("s", "f", "i", "w");

        (void) state;
        l->granted_usec = 1000;
        l->max_expires_usec = 1000 + 3000000;
        assert_true(lease_extend(l, 1000, 2000000) == 2001000);
        /* past max_ttl: capped, never beyond */
        assert_true(lease_extend(l, 2001000, 3600000000ULL) == 3001000);
        /* huge ttl cannot overflow */
        assert_true(lease_extend(l, 2001000, UINT64_MAX) == 3001000);
        lease_free(l);
}

/* A container's lease from the OCI hook has no deadline: no renewal or
 * re-grant gives it one (it ends when the container does). */
static void test_until_exit_keeps_no_deadline(void **state) {
        struct lease *l = lease_new("s", "f", "i", "w");
        struct lease_table t = {};

        (void) state;
        l->until_exit = true;
        l->expires_usec = l->max_expires_usec = INT64_MAX;
        assert_true(lease_extend(l, 1000, 2000000) == INT64_MAX);
        assert_int_equal(lease_table_add(&t, l), 0);
        assert_true(lease_table_next_deadline(&t) == INT64_MAX);
        assert_null(lease_table_first_expired(&t, INT64_MAX - 1));
        lease_table_clear(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_deadlines),
                cmocka_unit_test(test_extend_caps),
                cmocka_unit_test(test_until_exit_keeps_no_deadline),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
