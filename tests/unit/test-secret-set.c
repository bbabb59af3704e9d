/* test-secret-set.c — a set's encoding: parts parsed in place and sorted,
 * the canonical encoding (what an unchanged rotation is compared by), and
 * every malformed body refused with a reason that names no value byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "secretd/secret-set.h"

static int parse(const char *text, struct secret_set *s, const char **why) {
        *why = NULL;
        return set_parse((const uint8_t *) text, strlen(text), s, why);
}

static void parses_and_sorts(void **state) {
        static const char body[] = "tls.key 3\nKEY\ntls.crt 5\nCE\nRT\nempty 0\n\n";
        struct secret_set s;
        const char *why;

        (void) state;
        assert_int_equal(parse(body, &s, &why), 0);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.parts[0].name, "empty");
        assert_int_equal(s.parts[0].len, 0);
        assert_string_equal(s.parts[1].name, "tls.crt");
        assert_int_equal(s.parts[1].len, 5);
        assert_memory_equal(s.parts[1].data, "CE\nRT", 5);
        /* in place: into the buffer parsed */
        assert_ptr_equal(s.parts[2].data, (const uint8_t *) body + strlen("tls.key 3\n"));
        assert_non_null(set_find(&s, "tls.key"));
        assert_null(set_find(&s, "tls"));
}

static void canonical(void **state) {
        struct secret_set a, b;
        struct secbuf *ea = NULL, *eb = NULL;
        const char *why;

        (void) state;
        assert_int_equal(parse("b 1\nB\na 2\nAA\n", &a, &why), 0);
        assert_int_equal(parse("a 2\nAA\nb 1\nB\n", &b, &why), 0);
        assert_int_equal(set_encode(&a, &ea), 0);
        assert_int_equal(set_encode(&b, &eb), 0);
        assert_int_equal(ea->len, strlen("a 2\nAA\nb 1\nB\n"));
        assert_memory_equal(ea->data, "a 2\nAA\nb 1\nB\n", ea->len);
        assert_int_equal(eb->len, ea->len);
        assert_memory_equal(eb->data, ea->data, ea->len);
        /* and it parses back to the same parts */
        assert_int_equal(set_parse(ea->data, ea->len, &b, &why), 0);
        assert_int_equal(b.n, 2);
        assert_memory_equal(b.parts[0].data, "AA", 2);
        secbuf_free(ea);
        secbuf_free(eb);
}

static void refuses(void **state) {
        static const char *const bad[] = {
                "",                 /* no part */
                "a 1\nA",           /* no LF after the bytes */
                "a 2\nA\n",         /* fewer bytes than the size */
                "a 1\nAB\n",        /* more */
                "a 01\nA\n",        /* a leading zero */
                "a -1\nA\n",        /* a sign */
                "a 1 \nA\n",        /* a space after the size */
                "a\nA\n",           /* no size */
                " 1\nA\n",          /* no name */
                ".a 1\nA\n",        /* a name outside the grammar */
                "a/b 1\nA\n",       /* a slash */
                "a 1\nA\na 1\nB\n", /* the same name twice */
                "a 99999999999999999999999\nA\n", /* a size past anything */
        };
        struct secret_set s;
        const char *why;

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(parse(bad[i], &s, &why), -EBADMSG);
                assert_non_null(why);
                /* a reason, never the bytes */
                assert_null(strstr(why, "AB"));
        }
}

static void at_most_32_parts(void **state) {
        char body[4096] = "";
        struct secret_set s;
        const char *why;

        (void) state;
        for (int i = 0; i < SET_PARTS_MAX; i++)
                snprintf(body + strlen(body), sizeof(body) - strlen(body), "p%02d 1\nX\n", i);
        assert_int_equal(parse(body, &s, &why), 0);
        assert_int_equal(s.n, SET_PARTS_MAX);
        strcat(body, "p99 1\nX\n");
        assert_int_equal(parse(body, &s, &why), -EBADMSG);
        assert_non_null(strstr(why, "32"));
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_and_sorts),
                cmocka_unit_test(canonical),
                cmocka_unit_test(refuses),
                cmocka_unit_test(at_most_32_parts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
