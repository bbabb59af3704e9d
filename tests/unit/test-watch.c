/* test-watch.c — the long-poll table: bounds in total and per identity,
 * who a change, a deadline and a stop wake (and why), removal, the next
 * deadline, and a woken request that waits again during its own wake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "watch.h"

struct woke {
        int n;
        int cookies[64];
        enum watch_end why[64];
        struct watch *rearm; /* when set, every woken cookie waits again */
};

static struct woke woke;

static void on_wake(void *cookie, enum watch_end why) {
        int *c = cookie;

        woke.cookies[woke.n] = *c;
        woke.why[woke.n] = why;
        woke.n++;
        if (woke.rearm) {
                struct watch_waiter *wt;
                const struct watch_limits lim = { 100, 100 };

                assert_int_equal(watch_add(woke.rearm, "a", NULL, &lim, 1000, cookie, &wt), 0);
        }
}

static bool woken(int cookie, enum watch_end why) {
        for (int i = 0; i < woke.n; i++)
                if (woke.cookies[i] == cookie && woke.why[i] == why)
                        return true;
        return false;
}

static void test_bounds(void **state) {
        const struct watch_limits lim = { 3, 2 };
        struct watch *w;
        struct watch_waiter *wt[4];
        int c[4] = { 1, 2, 3, 4 };

        (void) state;
        assert_int_equal(watch_new(on_wake, &w), 0);
        assert_int_equal(watch_add(w, "a", "host:uid1000", &lim, 10, &c[0], &wt[0]), 0);
        assert_int_equal(watch_add(w, "b", "host:uid1000", &lim, 10, &c[1], &wt[1]), 0);
        assert_int_equal(watch_add(w, "a", "host:uid1000", &lim, 10, &c[2], &wt[2]), -EMFILE);
        assert_int_equal(watch_add(w, "a", NULL, &lim, 10, &c[2], &wt[2]), 0); /* an admin: the total only */
        assert_int_equal(watch_add(w, "a", NULL, &lim, 10, &c[3], &wt[3]), -EBUSY);
        assert_int_equal(watch_count(w), 3);
        /* one gone makes room again */
        watch_remove(w, wt[0]);
        assert_int_equal(watch_add(w, "a", "host:uid1000", &lim, 10, &c[3], &wt[3]), 0);
        char longname[SECRET_NAME_MAX + 2];
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(watch_add(w, longname, NULL, &(struct watch_limits) { 9, 9 }, 10, &c[0], &wt[0]), -EINVAL);
        assert_int_equal(watch_add(w, "a", "", &(struct watch_limits) { 9, 9 }, 10, &c[0], &wt[0]), -EINVAL);
        memset(&woke, 0, sizeof(woke));
        assert_int_equal(watch_stop(w), 3);
        assert_true(woken(2, WATCH_STOPPING) && woken(3, WATCH_STOPPING) && woken(4, WATCH_STOPPING));
        assert_int_equal(watch_count(w), 0);
        watch_free(w);
}

static void test_changed_and_expired(void **state) {
        const struct watch_limits lim = { 100, 100 };
        struct watch *w;
        struct watch_waiter *wt;
        int c[6] = { 0, 1, 2, 3, 4, 5 };

        (void) state;
        assert_int_equal(watch_new(on_wake, &w), 0);
        assert_int_equal(watch_next_usec(w, 0), UINT64_MAX);
        for (int i = 0; i < 6; i++)
                assert_int_equal(watch_add(w, i % 2 ? "b" : "a", NULL, &lim, 100 * (uint64_t) (i + 1), &c[i], &wt), 0);
        assert_int_equal(watch_next_usec(w, 50), 50);
        assert_int_equal(watch_next_usec(w, 150), 0); /* 100 has passed */
        memset(&woke, 0, sizeof(woke));
        assert_int_equal(watch_changed(w, "b"), 3);
        assert_true(woken(1, WATCH_CHANGED) && woken(3, WATCH_CHANGED) && woken(5, WATCH_CHANGED));
        assert_int_equal(watch_changed(w, "b"), 3 - 3);
        assert_int_equal(watch_changed(w, "c"), 0);
        memset(&woke, 0, sizeof(woke));
        /* deadlines 100, 300, 500 for 0, 2, 4: at 300 two of them */
        assert_int_equal(watch_expire(w, 300), 2);
        assert_true(woken(0, WATCH_TIMED_OUT) && woken(2, WATCH_TIMED_OUT));
        assert_int_equal(watch_next_usec(w, 300), 200);
        assert_int_equal(watch_next_usec(w, 900), 0);
        assert_int_equal(watch_count(w), 1);
        watch_free(w); /* frees the one left, unwoken */
}

static void test_rearm_in_wake(void **state) {
        const struct watch_limits lim = { 100, 100 };
        struct watch *w;
        struct watch_waiter *wt;
        int c[3] = { 7, 8, 9 };

        (void) state;
        assert_int_equal(watch_new(on_wake, &w), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(watch_add(w, "a", NULL, &lim, 1000, &c[i], &wt), 0);
        memset(&woke, 0, sizeof(woke));
        woke.rearm = w;
        /* each is woken once, and waits again for the next change */
        assert_int_equal(watch_changed(w, "a"), 3);
        assert_int_equal(woke.n, 3);
        assert_int_equal(watch_count(w), 3);
        woke.rearm = NULL;
        assert_int_equal(watch_changed(w, "a"), 3);
        assert_int_equal(watch_count(w), 0);
        watch_free(w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_changed_and_expired),
                cmocka_unit_test(test_rearm_in_wake),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
