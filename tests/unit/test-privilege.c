/* test-privilege.c — the locked-memory check: the soft limit is raised to
 * the hard one, a limit below the estimate is told apart from one above
 * it, a limit that cannot lock a page is an error, and CAP_IPC_LOCK makes
 * the limit moot.  Each case lowers RLIMIT_MEMLOCK in a child of its own:
 * a hard limit once lowered cannot be raised again without
 * CAP_SYS_RESOURCE, and the cases must not see each other's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privilege.h"

#define PAGE ((rlim_t) sysconf(_SC_PAGESIZE))

struct outcome {
        int r;
        uint64_t limit;
        struct rlimit after;
};

/* Clears cap from the effective set (it stays permitted). */
static int drop_effective(int cap) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        if (syscall(SYS_capget, &hdr, data) < 0)
                return -1;
        data[cap / 32].effective &= ~(1u << (cap % 32));
        return syscall(SYS_capset, &hdr, data) < 0 ? -1 : 0;
}

static bool has_effective(int cap) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        return syscall(SYS_capget, &hdr, data) == 0 && (data[cap / 32].effective & (1u << (cap % 32)));
}

/* privilege_memlock(want) in a child whose RLIMIT_MEMLOCK is soft/hard,
 * with or without CAP_IPC_LOCK. */
static struct outcome memlock_in_child(rlim_t soft, rlim_t hard, bool ipc_lock, uint64_t want) {
        struct outcome o = { .r = 1000 };
        int p[2], status;
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { soft, hard };

                close(p[0]);
                if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0 || (!ipc_lock && drop_effective(CAP_IPC_LOCK) < 0))
                        _exit(2);
                o.r = privilege_memlock(want, &o.limit);
                if (getrlimit(RLIMIT_MEMLOCK, &o.after) < 0)
                        _exit(3);
                _exit(write(p[1], &o, sizeof(o)) == (ssize_t) sizeof(o) ? 0 : 4);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &o, sizeof(o)), sizeof(o));
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return o;
}

static void test_soft_raised_to_hard(void **state) {
        struct outcome o;

        (void) state;
        o = memlock_in_child(4 * PAGE, 64 * PAGE, false, 32 * PAGE);
        assert_int_equal(o.r, 0);
        assert_int_equal(o.after.rlim_cur, 64 * PAGE);
        assert_int_equal(o.after.rlim_max, 64 * PAGE);
        assert_int_equal(o.limit, 64 * PAGE);
}

static void test_below_estimate(void **state) {
        struct outcome o;

        (void) state;
        o = memlock_in_child(4 * PAGE, 16 * PAGE, false, 1ULL << 30);
        assert_int_equal(o.r, 1);
        assert_int_equal(o.limit, 16 * PAGE);
        /* exactly enough is enough */
        o = memlock_in_child(16 * PAGE, 16 * PAGE, false, 16 * PAGE);
        assert_int_equal(o.r, 0);
}

static void test_cannot_lock_a_page(void **state) {
        struct outcome o;

        (void) state;
        /* a limit of 0: EPERM; one under a page: ENOMEM */
        o = memlock_in_child(0, 0, false, 1);
        assert_int_equal(o.r, -EPERM);
        o = memlock_in_child(PAGE / 2, PAGE / 2, false, 1);
        assert_int_equal(o.r, -ENOMEM);
        /* a page exactly: locking works, but it is below any real estimate */
        o = memlock_in_child(PAGE, PAGE, false, 64 * PAGE);
        assert_int_equal(o.r, 1);
}

static void test_ipc_lock_makes_limit_moot(void **state) {
        struct outcome o;

        (void) state;
        if (!has_effective(CAP_IPC_LOCK))
                skip();
        o = memlock_in_child(0, 0, true, 1ULL << 40);
        assert_int_equal(o.r, 0);
        assert_true(o.limit == UINT64_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_soft_raised_to_hard),
                cmocka_unit_test(test_below_estimate),
                cmocka_unit_test(test_cannot_lock_a_page),
                cmocka_unit_test(test_ipc_lock_makes_limit_moot),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
