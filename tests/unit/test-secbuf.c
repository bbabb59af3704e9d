/* test-secbuf.c — guarded buffers: zeroed when handed out, also when a
 * freed one-page buffer comes back from the free list; the bytes end
 * against the guard page (an overrun faults at once); large buffers and
 * empty ones work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secretd/secbuf.h"

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static void test_reuse_is_wiped(void **state) {
        struct secbuf *a, *b;
        uint8_t *alloc;

        (void) state;
        a = secbuf_new(64);
        assert_non_null(a);
        assert_true(all_zero(a->data, 64));
        memset(a->data, 0xa5, 64);
        alloc = a->alloc;
        secbuf_free(a);
        /* the same page again, with nothing of the old value in it */
        b = secbuf_new(100);
        assert_non_null(b);
        assert_ptr_equal(b->alloc, alloc);
        assert_true(all_zero(b->alloc, b->cap));
        secbuf_free(b);
}

static void test_sizes(void **state) {
        struct secbuf *empty = secbuf_new(0), *big = secbuf_new(64 * 1024), *copy;
        static const char text[] = "a value";

        (void) state;
        assert_non_null(empty);
        assert_int_equal(empty->len, 0);
        empty->data[0] = 1; /* one byte is always there */
        assert_non_null(big);
        assert_int_equal(big->len, 64 * 1024);
        assert_true(all_zero(big->data, big->len));
        big->data[big->len - 1] = 1;
        copy = secbuf_dup(text, sizeof(text));
        assert_non_null(copy);
        assert_memory_equal(copy->data, text, sizeof(text));
        secbuf_truncate(copy, 1);
        assert_int_equal(copy->len, 1);
        assert_true(all_zero(copy->data + 1, sizeof(text) - 1));
        secbuf_free(empty);
        secbuf_free(big);
        secbuf_free(copy);
}

/* One byte past the end of a small buffer is the guard page. */
static void test_overrun_faults(void **state) {
        int status;
        pid_t pid;

        (void) state;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct secbuf *b = secbuf_new(10);
                volatile uint8_t *p = b->data;

                signal(SIGSEGV, SIG_DFL); /* not cmocka's (or ASan's) handler */
                p[10] = 1;
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reuse_is_wiped),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_overrun_faults),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
