/* test-attest.c — who is calling (daemon/attest.c), through attest.h only:
 * a child process placed in a cgroup made for the test under the cgroup2
 * mount (found in /proc/self/mountinfo, wherever it is) connects to a
 * socket, and the daemon's view of it is checked: a container's id, a
 * system service's unit, a delegated (rootless) subtree's owner, a host
 * process and its uid, a host cgroup outside the host's mount namespace.
 * Then the facts kept across a reload, and the per-request recheck of a
 * peer that exited.  Needs root and a writable cgroup2 tree; skipped
 * without them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attest.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
        char cgroup2[4096];  /* the mount point */
        char top[64];        /* our cgroup, below the root: "/secretd-test-attest-<pid>" */
        char sock_dir[64];
        struct sockaddr_un addr;
        int listen_fd;
        struct attest_context ctx;
        bool made_system_slice;
};

/* The cgroup2 mount point from mountinfo: "... <mount point> <options>
 * [optional fields] - cgroup2 <source> <super options>". */
static bool find_cgroup2(char *ret, size_t size) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[8192];
        bool found = false;

        assert_non_null(f);
        while (!found && fgets(line, sizeof(line), f)) {
                char *sep = strstr(line, " - cgroup2 "), *field = line;

                if (!sep)
                        continue;
                for (int i = 0; i < 4 && field; i++) { /* mount point: the fifth field */
                        field = strchr(field, ' ');
                        if (field)
                                field++;
                }
                if (!field)
                        continue;
                *strchrnul(field, ' ') = '\0';
                snprintf(ret, size, "%s", field);
                found = true;
        }
        fclose(f);
        return found;
}

static void cg_path(const struct fixture *f, const char *rel, char *ret, size_t size) {
        assert_true((size_t) snprintf(ret, size, "%s%s", f->cgroup2, rel) < size);
}

static void cg_mkdir(const struct fixture *f, const char *rel) {
        char p[8192];

        cg_path(f, rel, p, sizeof(p));
        assert_int_equal(mkdir(p, 0755), 0);
}

/* A reaped child's cgroup may read as populated a moment longer. */
static void cg_rmdir(const struct fixture *f, const char *rel) {
        char p[8192];
        int tries = 0;

        cg_path(f, rel, p, sizeof(p));
        while (rmdir(p) < 0 && errno == EBUSY && tries++ < 200)
                usleep(10000);
}

static int group_setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        char p[8192];

        assert_non_null(f);
        f->listen_fd = -1;
        *state = f;
        if (geteuid() != 0 || !find_cgroup2(f->cgroup2, sizeof(f->cgroup2)))
                return 0; /* every test skips */
        snprintf(f->top, sizeof(f->top), "/secretd-test-attest-%d", (int) getpid());
        cg_path(f, f->top, p, sizeof(p));
        if (mkdir(p, 0755) < 0) {
                f->top[0] = '\0'; /* a read-only cgroup2 tree */
                return 0;
        }
        assert_int_equal(attest_context_init(&f->ctx), 0);
        strcpy(f->sock_dir, "/tmp/test-attest.XXXXXX");
        assert_non_null(mkdtemp(f->sock_dir));
        f->addr.sun_family = AF_UNIX;
        snprintf(f->addr.sun_path, sizeof(f->addr.sun_path), "%s/sock", f->sock_dir);
        f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->listen_fd >= 0);
        assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &f->addr, sizeof(f->addr)), 0);
        assert_int_equal(listen(f->listen_fd, 4), 0);
        /* children that change uid connect too */
        assert_int_equal(chmod(f->sock_dir, 0755), 0);
        assert_int_equal(chmod(f->addr.sun_path, 0666), 0);
        return 0;
}

static int group_teardown(void **state) {
        struct fixture *f = *state;

        if (f->listen_fd >= 0) {
                close(f->listen_fd);
                unlink(f->addr.sun_path);
                rmdir(f->sock_dir);
                attest_context_done(&f->ctx);
        }
        if (f->made_system_slice)
                cg_rmdir(f, "/system.slice");
        if (f->top[0])
                cg_rmdir(f, f->top);
        free(f);
        return 0;
}

static void skip_unless_ready(const struct fixture *f) {
        if (f->listen_fd < 0)
                skip();
}

enum child_twist { AS_IS, OWN_MOUNT_NS, AS_UID_1000 };

struct child {
        pid_t pid;
        int conn; /* our end of its connection */
};

/* A child that joins cgroup rel, optionally changes, connects, and waits
 * for us to close the connection before it exits. */
static struct child start_child(const struct fixture *f, const char *rel, enum child_twist twist) {
        char procs[8192];
        struct child c;

        cg_path(f, rel, procs, sizeof(procs));
        strcat(procs, "/cgroup.procs");
        c.pid = fork();
        assert_true(c.pid >= 0);
        if (c.pid == 0) {
                int fd = open(procs, O_WRONLY | O_CLOEXEC), s;
                char b;

                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(10);
                close(fd);
                if (twist == OWN_MOUNT_NS && unshare(CLONE_NEWNS) < 0)
                        _exit(11);
                if (twist == AS_UID_1000 && (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0))
                        _exit(12);
                s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0 || connect(s, (const struct sockaddr *) &f->addr, sizeof(f->addr)) < 0)
                        _exit(13);
                if (read(s, &b, 1) < 0) /* returns when the parent closes */
                        _exit(14);
                _exit(0);
        }
        /* a child that failed never connects: its exit status says why */
        if (poll(&(struct pollfd) { .fd = f->listen_fd, .events = POLLIN }, 1, 10000) != 1) {
                int status = 0;

                (void) kill(c.pid, SIGKILL);
                assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
                fail_msg("child in '%s' did not connect (status %#x)", rel, (unsigned) status);
        }
        c.conn = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(c.conn >= 0);
        return c;
}

static void end_child(struct child *c) {
        int status;

        close(c->conn);
        assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* The peer of a child in cgroup rel; the child stays until end_child. */
static struct peer *attest_child(const struct fixture *f, const char *rel, enum child_twist twist,
                                 struct child *ret) {
        struct peer *p = NULL;

        *ret = start_child(f, rel, twist);
        assert_int_equal(attest_peer(&f->ctx, ret->conn, &p), 0);
        assert_non_null(p);
        assert_int_equal(p->pid, ret->pid);
        assert_string_equal(p->cgroup, rel);
        return p;
}

static void test_finds_cgroup2_root(void **state) {
        struct fixture *f = *state;
        struct stat a, b;

        skip_unless_ready(f);
        assert_int_equal(fstat(f->ctx.cgroup2_fd, &a), 0);
        assert_int_equal(stat(f->cgroup2, &b), 0);
        assert_int_equal(a.st_dev, b.st_dev);
        assert_int_equal(a.st_ino, b.st_ino);
}

static void test_container(void **state) {
        struct fixture *f = *state;
        char rel[256];
        struct child c;
        struct peer *p;

        skip_unless_ready(f);
        snprintf(rel, sizeof(rel), "%s/docker-" HEX64 ".scope", f->top);
        cg_mkdir(f, rel);
        p = attest_child(f, rel, AS_IS, &c);
        assert_int_equal(p->cls.runtime, RUNTIME_DOCKER);
        assert_string_equal(p->cls.id, HEX64);
        assert_string_equal(p->identity, "docker:" HEX64);
        assert_null(p->unknown_reason);
        assert_false(p->admin_capable); /* root in a container is not admin */
        assert_int_equal(p->uid, 0);
        assert_true(p->pidfd >= 0);
        assert_true(attest_peer_alive(p));
        assert_int_equal(attest_peer_recheck(p), 0);
        end_child(&c);
        /* gone: the next request is refused */
        assert_false(attest_peer_alive(p));
        assert_int_equal(attest_peer_recheck(p), -ESRCH);
        peer_free(p);
        cg_rmdir(f, rel);
}

static void test_system_service(void **state) {
        struct fixture *f = *state;
        char rel[256], p_slice[8192], unit[128];
        struct child c;
        struct peer *p;
        struct stat st;

        skip_unless_ready(f);
        cg_path(f, "/system.slice", p_slice, sizeof(p_slice));
        if (stat(p_slice, &st) < 0) {
                cg_mkdir(f, "/system.slice");
                f->made_system_slice = true;
        }
        snprintf(unit, sizeof(unit), "secretd-test-attest-%d.service", (int) getpid());
        snprintf(rel, sizeof(rel), "/system.slice/%s", unit);
        cg_mkdir(f, rel);
        p = attest_child(f, rel, AS_IS, &c);
        assert_int_equal(p->cls.runtime, RUNTIME_SYSTEMD);
        assert_string_equal(p->cls.id, unit);
        assert_string_equal(p->identity + strlen("systemd:"), unit);
        assert_memory_equal(p->identity, "systemd:", strlen("systemd:"));
        assert_true(p->admin_capable);
        end_child(&c);
        peer_free(p);
        cg_rmdir(f, rel);
}

/* A container below a directory a user owns is that user's (rootless),
 * whatever its name claims. */
static void test_delegated_subtree(void **state) {
        struct fixture *f = *state;
        char user_dir[128], rel[256], p_user[8192];
        struct child c;
        struct peer *p;

        skip_unless_ready(f);
        snprintf(user_dir, sizeof(user_dir), "%s/user-1000", f->top);
        cg_mkdir(f, user_dir);
        cg_path(f, user_dir, p_user, sizeof(p_user));
        assert_int_equal(chown(p_user, 1000, 1000), 0);
        snprintf(rel, sizeof(rel), "%s/docker-" HEX64 ".scope", user_dir);
        cg_mkdir(f, rel);
        p = attest_child(f, rel, AS_IS, &c);
        assert_int_equal(p->cls.runtime, RUNTIME_ROOTLESS);
        assert_int_equal(p->delegated_owner, 1000);
        assert_string_equal(p->identity, "rootless:uid1000");
        end_child(&c);
        peer_free(p);
        cg_rmdir(f, rel);
        cg_rmdir(f, user_dir);
}

static void test_host_process(void **state) {
        struct fixture *f = *state;
        struct attest_context ctx = f->ctx;
        uid_t admin = 1000;
        char rel[256];
        struct child c;
        struct peer *p;

        skip_unless_ready(f);
        snprintf(rel, sizeof(rel), "%s/plain", f->top);
        cg_mkdir(f, rel);
        p = attest_child(f, rel, AS_UID_1000, &c);
        assert_int_equal(p->cls.runtime, RUNTIME_HOST);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->gid, 1000);
        assert_string_equal(p->identity, "host:uid1000");
        assert_true(p->same_mnt_ns && p->same_pid_ns && p->same_user_ns);
        assert_true(p->admin_capable);
        /* admin only while listed */
        ctx.admin_uids = NULL;
        ctx.n_admin_uids = 0;
        assert_false(attest_peer_admin(&ctx, p));
        ctx.admin_uids = &admin;
        ctx.n_admin_uids = 1;
        assert_true(attest_peer_admin(&ctx, p));
        end_child(&c);
        peer_free(p);
        cg_rmdir(f, rel);
}

/* A host cgroup, but a mount namespace of its own (unshare -m, an nspawn
 * container): nobody we know. */
static void test_own_mount_namespace(void **state) {
        struct fixture *f = *state;
        char rel[256];
        struct child c;
        struct peer *p;

        skip_unless_ready(f);
        snprintf(rel, sizeof(rel), "%s/unshared", f->top);
        cg_mkdir(f, rel);
        p = attest_child(f, rel, OWN_MOUNT_NS, &c);
        assert_false(p->same_mnt_ns);
        assert_int_equal(p->cls.runtime, RUNTIME_UNKNOWN);
        assert_string_equal(p->identity, "unknown");
        assert_non_null(p->unknown_reason);
        assert_false(p->admin_capable);
        end_child(&c);
        peer_free(p);
        cg_rmdir(f, rel);
}

/* What a reload judges again: the facts, without pid or pidfd. */
static void test_facts_copy(void **state) {
        struct fixture *f = *state;
        char rel[256], other[256];
        struct peer *p, *q, *copy;
        struct child c, d;

        skip_unless_ready(f);
        snprintf(rel, sizeof(rel), "%s/docker-" HEX64 ".scope", f->top);
        snprintf(other, sizeof(other), "%s/facts", f->top);
        cg_mkdir(f, rel);
        cg_mkdir(f, other);
        /* one child at a time: a second would hold the first's connection */
        p = attest_child(f, rel, AS_IS, &c);
        end_child(&c);
        q = attest_child(f, other, AS_IS, &d);
        end_child(&d);
        copy = attest_peer_facts_copy(p);
        assert_non_null(copy);
        assert_int_equal(copy->pidfd, -1);
        assert_int_equal(copy->pid, 0);
        assert_string_equal(copy->identity, p->identity);
        assert_true(attest_peer_same_facts(p, copy));
        assert_false(attest_peer_same_facts(q, copy));
        peer_free(copy);
        peer_free(p);
        peer_free(q);
        cg_rmdir(f, rel);
        cg_rmdir(f, other);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_finds_cgroup2_root),
                cmocka_unit_test(test_container),
                cmocka_unit_test(test_system_service),
                cmocka_unit_test(test_delegated_subtree),
                cmocka_unit_test(test_host_process),
                cmocka_unit_test(test_own_mount_namespace),
                cmocka_unit_test(test_facts_copy),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
