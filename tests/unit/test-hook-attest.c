/* test-hook-attest.c — what an OCI hook's state must be before any
 * process is looked at, and the checks a host process fails (the real
 * containers are tests/integration/t-hook*.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook-attest.h"
#include "secretd/protocol.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
        struct attest_context ctx;
        char dir[64];
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(attest_context_init(&f->ctx), 0);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-hook-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char path[128];

        snprintf(path, sizeof(path), "%s/config.json", f->dir);
        unlink(path);
        rmdir(f->dir);
        attest_context_done(&f->ctx);
        free(f);
        return 0;
}

/* Refused with r, and a reason holding want. */
static void refused(struct fixture *f, const char *state, size_t len, int r, const char *want) {
        struct hook_container c = { .root_fd = -1 };
        char why[512] = "";

        assert_int_equal(hook_attest(&f->ctx, state, len, &c, why, sizeof(why)), r);
        if (!strstr(why, want))
                fail_msg("state %.80s: reason '%s', wanted '%s'", state, why, want);
        assert_null(c.peer);
}

static void refused_str(struct fixture *f, const char *state, int r, const char *want) {
        refused(f, state, strlen(state), r, want);
}

static void test_state_shape(void **state) {
        struct fixture *f = *state;
        char *huge;

        refused_str(f, "", -EBADMSG, "not JSON");
        refused_str(f, "{\"id\":", -EBADMSG, "not JSON");
        refused_str(f, "[]", -EBADMSG, "not a JSON object");
        refused_str(f, "{\"id\":\"a\",\"id\":\"b\",\"pid\":2,\"bundle\":\"/x\"}", -EBADMSG, "not JSON");
        refused_str(f, "{\"pid\":2,\"bundle\":\"/x\"}", -EBADMSG, "\"id\" is missing");
        refused_str(f, "{\"id\":\"../x\",\"pid\":2,\"bundle\":\"/x\"}", -EBADMSG, "\"id\" is missing");
        refused_str(f, "{\"id\":\"" ID "\",\"bundle\":\"/x\"}", -EBADMSG, "\"pid\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":1,\"bundle\":\"/x\"}", -EBADMSG, "\"pid\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":\"2\",\"bundle\":\"/x\"}", -EBADMSG, "\"pid\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":4294967298,\"bundle\":\"/x\"}", -EBADMSG, "\"pid\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":2}", -EBADMSG, "\"bundle\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":2,\"bundle\":\"rel\"}", -EBADMSG, "\"bundle\"");
        refused_str(f, "{\"id\":\"" ID "\",\"pid\":2,\"bundle\":\"/x\",\"status\":\"running\"}", -EPERM,
                    "not \"creating\"");
        huge = malloc(HOOK_STATE_MAX + 2);
        assert_non_null(huge);
        memset(huge, ' ', HOOK_STATE_MAX + 1);
        huge[HOOK_STATE_MAX + 1] = '\0';
        refused(f, huge, HOOK_STATE_MAX + 1, -EBADMSG, "over");
        free(huge);
}

/* valgrind does not know pidfd_open (it answers ENOSYS): what needs a
 * process is then checked by the suite's normal run only */
static void need_pidfd(void) {
        int fd = (int) syscall(SYS_pidfd_open, getpid(), 0);

        if (fd < 0 && errno == ENOSYS)
                skip();
        if (fd >= 0)
                close(fd);
}

static void test_dead_pid(void **state) {
        struct fixture *f = *state;
        char text[256];
        pid_t pid;

        need_pidfd();
        pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        snprintf(text, sizeof(text), "{\"id\":\"" ID "\",\"pid\":%d,\"bundle\":\"%s\"}", (int) pid, f->dir);
        refused_str(f, text, -ESRCH, "No such process");
}

static void write_config(struct fixture *f, mode_t mode, uid_t owner) {
        char path[128];
        const char *text = "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"user\":{\"uid\":0,\"gid\":0}}}";
        int fd;

        snprintf(path, sizeof(path), "%s/config.json", f->dir);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        if (owner != geteuid())
                assert_int_equal(fchown(fd, owner, (gid_t) -1), 0);
        close(fd);
}

/* A bundle anyone but root could have written is refused before its
 * claims count; a host process with a good bundle is no container. */
static void test_bundle_and_host_process(void **state) {
        struct fixture *f = *state;
        char text[256];

        if (geteuid() != 0)
                skip();
        need_pidfd();
        snprintf(text, sizeof(text), "{\"id\":\"" ID "\",\"pid\":%d,\"bundle\":\"%s\"}", (int) getpid(), f->dir);
        refused_str(f, text, -ENOENT, "config.json cannot be opened");
        write_config(f, 0644, 1000);
        refused_str(f, text, -EPERM, "config.json is not a file root alone may write");
        write_config(f, 0666, 0);
        refused_str(f, text, -EPERM, "config.json is not a file root alone may write");
        assert_int_equal(chmod(f->dir, 0777), 0);
        write_config(f, 0644, 0);
        refused_str(f, text, -EPERM, "bundle directory is not root's alone");
        assert_int_equal(chmod(f->dir, 0700), 0);
        refused_str(f, text, -EPERM, "not a root container runtime's");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_state_shape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dead_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bundle_and_host_process, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
