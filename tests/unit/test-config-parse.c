/* test-config-parse.c — the parser kit config.c and policy.c share: the
 * error collector (kept or only counted), and each reader walked through a
 * table of values, with the exact message for each refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-parse.h"
#include "secretd/cleanup.h"

/* The one message a refused value got ("src: k: " stripped), or NULL. */
static const char *only_reason(const struct config_errors *e) {
        assert_true(e->n <= 1);
        if (e->n == 0)
                return NULL;
        assert_memory_equal(e->msgs[0], "src: k: ", 8);
        return e->msgs[0] + 8;
}

static void test_report(void **state) {
        struct config_errors errs = {};
        struct conf_parser kept = { .source = "f.json", .errs = &errs }, counted = { .source = "f.json" };

        (void) state;
        assert_int_equal(conf_report(&kept, "a.b", "'%s' is odd", "x"), -EINVAL);
        assert_int_equal(conf_report_oom(&kept, "c"), -ENOMEM);
        assert_int_equal(kept.n_errors, 2);
        assert_true(kept.oom);
        assert_int_equal(errs.n, 2);
        assert_string_equal(errs.msgs[0], "f.json: a.b: 'x' is odd");
        assert_string_equal(errs.msgs[1], "f.json: c: out of memory");
        /* no list: still counted, so that any error means no result */
        assert_int_equal(conf_report(&counted, "a", "bad"), -EINVAL);
        assert_int_equal(counted.n_errors, 1);
        config_errors_clear(&errs);
        assert_int_equal(errs.n, 0);
        assert_null(errs.msgs);
}

static void test_numbers(void **state) {
        static const struct {
                const char *json;
                enum conf_number_kind kind;
                uint64_t want;      /* when why is NULL */
                const char *why;
        } table[] = {
                { "5", CONF_COUNT, 5, NULL },
                { "\"5\"", CONF_COUNT, 0, "expected a non-negative integer" },
                { "-1", CONF_COUNT, 0, "expected a non-negative integer" },
                { "0", CONF_COUNT, 0, "out of range (allowed 1 to 100000)" },
                { "\"64K\"", CONF_SIZE, 65536, NULL },
                { "100", CONF_SIZE, 100, NULL },
                { "\"64Q\"", CONF_SIZE, 0, "'64Q' is not a valid size (units K, M, G)" },
                { "\"1G\"", CONF_SIZE, 0, "out of range (allowed 1 to 100000 bytes)" },
                { "true", CONF_SIZE, 0, "expected a size such as \"64K\"" },
                { "\"15m\"", CONF_DURATION, USEC(900), NULL },
                { "90", CONF_DURATION, USEC(90), NULL },
                { "\"1x\"", CONF_DURATION, 0, "'1x' is not a valid duration (units ms, s, m, h, d)" },
                { "\"500ms\"", CONF_DURATION, 0, "out of range (allowed 1 to 100000 seconds)" },
                { "18446744073710", CONF_DURATION, 0, "out of range (allowed 1 to 100000 seconds)" },
                { "\"1s\\u0000x\"", CONF_DURATION, 0, "contains a NUL byte" },
                { "null", CONF_DURATION, 0, "expected a duration such as \"10s\"" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct config_errors errs = {};
                struct conf_parser p = { .source = "src", .errs = &errs };
                json_t *v = json_loads(table[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                uint64_t scale = table[i].kind == CONF_DURATION ? USEC(1) : 1, n = 7;
                int r;

                assert_non_null(v);
                r = conf_number(&p, "k", v, table[i].kind, 1 * scale, 100000 * scale, &n);
                if (table[i].why) {
                        assert_int_equal(r, -EINVAL);
                        assert_int_equal(n, 7); /* untouched */
                        assert_string_equal(only_reason(&errs), table[i].why);
                } else {
                        assert_int_equal(r, 0);
                        assert_int_equal(n, table[i].want);
                        assert_null(only_reason(&errs));
                }
                json_decref(v);
                config_errors_clear(&errs);
        }
}

static void test_strings_and_modes(void **state) {
        struct config_errors errs = {};
        struct conf_parser p = { .source = "src", .errs = &errs };
        json_t *empty = json_string(""), *nul = json_stringn("a\0b", 3), *num = json_integer(1);
        json_t *mode = json_string("0640"), *suid = json_string("4755"), *word = json_string("rw");
        mode_t m = 0;

        (void) state;
        assert_string_equal(conf_string(&p, "k", empty, "a string"), "");
        assert_null(conf_text(&p, "k", empty, "a string", 10));
        assert_string_equal(only_reason(&errs), "must not be empty");
        config_errors_clear(&errs);
        assert_null(conf_string(&p, "k", nul, "a string"));
        assert_string_equal(only_reason(&errs), "contains a NUL byte");
        config_errors_clear(&errs);
        assert_null(conf_text(&p, "k", num, "a unit name", 10));
        assert_string_equal(only_reason(&errs), "expected a unit name");
        config_errors_clear(&errs);
        assert_null(conf_text(&p, "k", mode, "a string", 3));
        assert_string_equal(only_reason(&errs), "longer than 3 bytes");
        config_errors_clear(&errs);
        assert_int_equal(conf_mode(&p, "k", mode, &m), 0);
        assert_int_equal(m, 0640);
        assert_int_equal(conf_mode(&p, "k", suid, &m), -EINVAL);
        assert_string_equal(only_reason(&errs), "'4755' has setuid, setgid or sticky bits (allowed 0000 to 0777)");
        config_errors_clear(&errs);
        assert_int_equal(conf_mode(&p, "k", word, &m), -EINVAL);
        assert_string_equal(only_reason(&errs), "'rw' is not an octal mode such as \"0440\"");
        config_errors_clear(&errs);
        assert_int_equal(m, 0640);
        json_decref(empty);
        json_decref(nul);
        json_decref(num);
        json_decref(mode);
        json_decref(suid);
        json_decref(word);
}

static void test_id_lists(void **state) {
        static const struct {
                const char *json;
                bool may_be_empty;
                size_t n;
                const char *why;
        } table[] = {
                { "[0, 1000, 4294967294]", false, 3, NULL },
                { "[]", true, 0, NULL },
                { "[]", false, 0, "must list at least one uid" },
                { "[1, -1]", false, 0, "element 1 is not a uid" },
                { "[4294967295]", false, 0, "element 0 is not a uid" },
                { "[\"0\"]", false, 0, "element 0 is not a uid" },
                { "7", false, 0, "expected an array of uids" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct config_errors errs = {};
                struct conf_parser p = { .source = "src", .errs = &errs };
                json_t *v = json_loads(table[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                uint32_t *ids = NULL;
                size_t n = 99;
                int r = conf_id_list(&p, "k", v, "uid", table[i].may_be_empty, &ids, &n);

                if (table[i].why) {
                        assert_int_equal(r, -EINVAL);
                        assert_null(ids);
                        assert_int_equal(n, 99);
                        assert_string_equal(only_reason(&errs), table[i].why);
                } else {
                        assert_int_equal(r, 0);
                        assert_non_null(ids);
                        assert_int_equal(n, table[i].n);
                        assert_true(n == 0 || ids[n - 1] == 4294967294u);
                }
                free(ids);
                json_decref(v);
                config_errors_clear(&errs);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_report),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_strings_and_modes),
                cmocka_unit_test(test_id_lists),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
