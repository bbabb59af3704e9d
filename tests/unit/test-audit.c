/* test-audit.c — the audit file and the summary of denial floods: the
 * first ten denials of one identity in a second are written, the rest
 * counted into one summary record with the right count; another identity,
 * an allowed decision and the daemon's own events are written in full; a
 * 65th identity takes the oldest slot and writes its count; nothing is
 * lost when the audit is closed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "audit.h"

struct fixture {
        char dir[64];
        char path[96];
        struct audit *a;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        /* audit sentences to stderr, not to a journal the test host may have */
        setenv("SECRETD_JOURNAL_SOCKET", "/nonexistent", 1);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-audit.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
        if (audit_open(f->path, &f->a) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        audit_free(f->a);
        unlink(f->path);
        rmdir(f->dir);
        free(f);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Lines of the file that hold needle (all lines for ""). */
static unsigned lines_with(const struct fixture *f, const char *needle) {
        FILE *fp = fopen(f->path, "r");
        char line[1024];
        unsigned n = 0;

        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp))
                n += strstr(line, needle) != NULL;
        fclose(fp);
        return n;
}

static void deny(struct fixture *f, const char *identity, unsigned times) {
        char id[64];
        struct peer p = { .pid = 42, .uid = 65534, .gid = 65534, .pidfd = -1, .identity = id };

        snprintf(id, sizeof(id), "%s", identity);

        for (unsigned i = 0; i < times; i++)
                audit_record(f->a, &(struct audit_event) {
                        .action = "list", .allowed = false, .peer = &p, .status = 403, .reason = "forbidden",
                });
}

static void test_flood_is_summarized(void **state) {
        struct fixture *f = *state;

        deny(f, "host:uid65534", 2000);
        assert_int_equal(lines_with(f, ""), 10);
        assert_int_equal(audit_next_flush_ms(f->a) <= 1000, 1);
        /* the window has not passed: nothing to write yet */
        audit_flush(f->a, 0);
        assert_int_equal(lines_with(f, "\"action\":\"summary\""), 0);
        audit_flush(f->a, now_usec() + 2000000);
        assert_int_equal(lines_with(f, ""), 11);
        assert_int_equal(lines_with(f, "\"action\":\"summary\",\"decision\":\"deny\",\"identity\":\"host:uid65534\""),
                         1);
        assert_int_equal(lines_with(f, "\"suppressed\":1990,"), 1);
        assert_int_equal(audit_next_flush_ms(f->a), -1);
        assert_int_equal(audit_events(f->a), 11);
}

static void test_identities_apart(void **state) {
        struct fixture *f = *state;

        deny(f, "host:uid65534", 50);
        deny(f, "docker:abc", 1);
        assert_int_equal(lines_with(f, "\"identity\":\"docker:abc\""), 1);
        assert_int_equal(lines_with(f, "\"identity\":\"host:uid65534\""), 10);
}

static void test_allowed_and_own_in_full(void **state) {
        struct fixture *f = *state;
        char id[] = "host:uid0";
        struct peer p = { .pidfd = -1, .identity = id };

        for (int i = 0; i < 100; i++) {
                audit_record(f->a, &(struct audit_event) { .action = "read", .allowed = true, .peer = &p });
                audit_record(f->a, &(struct audit_event) { .action = "expire", .allowed = false });
        }
        assert_int_equal(lines_with(f, ""), 200);
        assert_int_equal(lines_with(f, "summary"), 0);
}

static void test_oldest_slot_taken(void **state) {
        struct fixture *f = *state;
        char id[32];

        /* 64 identities each over their burst, then a 65th: the first one's
         * slot is taken, and its count written then */
        for (int i = 0; i < 65; i++) {
                snprintf(id, sizeof(id), "host:uid%d", 1000 + i);
                deny(f, id, 11);
        }
        assert_int_equal(lines_with(f, "\"action\":\"summary\""), 1);
        assert_int_equal(lines_with(f, "\"action\":\"summary\",\"decision\":\"deny\",\"identity\":\"host:uid1000\""),
                         1);
        assert_int_equal(lines_with(f, "\"suppressed\":1,"), 1);
}

static void test_close_writes_counts(void **state) {
        struct fixture *f = *state;

        deny(f, "host:uid65534", 15);
        f->a = audit_free(f->a);
        assert_int_equal(lines_with(f, "\"suppressed\":5,"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_flood_is_summarized, setup, teardown),
                cmocka_unit_test_setup_teardown(test_identities_apart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_allowed_and_own_in_full, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oldest_slot_taken, setup, teardown),
                cmocka_unit_test_setup_teardown(test_close_writes_counts, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
