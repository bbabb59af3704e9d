/* test-cgroup.c — cgroup classification: a table of real-world paths for
 * every runtime and driver, nested containers, helpers, bad ids and odd
 * paths; /proc/<pid>/cgroup on cgroup2, hybrid and v1 hosts and forged
 * lines; mountinfo; the delegation walk over a real directory tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "secretd/cleanup.h"

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define ID65 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"
#define IDUPPER "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDNONHEX "0123456789abcdef0123456789abcdeg0123456789abcdef0123456789abcdef"
#define POD "7c2f7a4b-0f5e-4c8e-9e52-3f3c1c8d0a11"
#define POD_ "7c2f7a4b_0f5e_4c8e_9e52_3f3c1c8d0a11"
#define STATIC_POD "6ec5a0b5a4b5f3f3c2b6d2a6e5b4c3d2"

struct classify_case {
        const char *path;
        enum runtime runtime;
        const char *id;         /* NULL: "" */
        const char *pod_uid;    /* NULL: "" */
        const char *match;      /* the expected matched prefix; NULL: none */
};

static const struct classify_case classify_cases[] = {
        /* docker, systemd driver and cgroupfs driver */
        { "/system.slice/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1, NULL, "/system.slice/docker-" ID1 ".scope" },
        { "/system.slice/docker-" ID1 ".scope/init.scope", RUNTIME_DOCKER, ID1, NULL,
          "/system.slice/docker-" ID1 ".scope" },
        { "/docker/" ID1, RUNTIME_DOCKER, ID1, NULL, "/docker/" ID1 },
        { "/docker/" ID1 "/container/sub", RUNTIME_DOCKER, ID1, NULL, "/docker/" ID1 },
        { "/kubepods.slice/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1, NULL, "/kubepods.slice/docker-" ID1 ".scope" },
        /* rootless docker: a name, which the delegation walk then overrules */
        { "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1, NULL,
          "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID1 ".scope" },
        /* podman */
        { "/machine.slice/libpod-" ID1 ".scope", RUNTIME_PODMAN, ID1, NULL, "/machine.slice/libpod-" ID1 ".scope" },
        { "/machine.slice/libpod-" ID1 ".scope/container", RUNTIME_PODMAN, ID1, NULL,
          "/machine.slice/libpod-" ID1 ".scope" },
        { "/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID1 ".scope/container", RUNTIME_PODMAN, ID1, NULL,
          "/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID1 ".scope" },
        { "/libpod_parent/libpod-" ID1, RUNTIME_PODMAN, ID1, NULL, "/libpod_parent/libpod-" ID1 },
        { "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope/container", RUNTIME_PODMAN,
          ID1, NULL, "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope" },
        { "/machine.slice/libpod-conmon-" ID1 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/machine.slice/libpod-conmon-" ID1 ".scope/libpod-" ID2 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" ID1 ".scope", RUNTIME_HOST,
          NULL, NULL, NULL },
        /* kubernetes, cgroupfs driver */
        { "/kubepods/burstable/pod" POD "/" ID1, RUNTIME_KUBERNETES, ID1, POD, "/kubepods/burstable/pod" POD "/" ID1 },
        { "/kubepods/pod" POD "/" ID1, RUNTIME_KUBERNETES, ID1, POD, "/kubepods/pod" POD "/" ID1 },
        { "/kubepods/besteffort/pod" STATIC_POD "/" ID1 "/sub", RUNTIME_KUBERNETES, ID1, STATIC_POD,
          "/kubepods/besteffort/pod" STATIC_POD "/" ID1 },
        /* kubernetes, systemd driver, each container runtime */
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ ".slice/cri-containerd-" ID1 ".scope",
          RUNTIME_KUBERNETES, ID1, POD,
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
          ".slice/cri-containerd-" ID1 ".scope" },
        { "/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID1 ".scope/sub", RUNTIME_KUBERNETES, ID1, POD,
          "/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID1 ".scope" },
        { "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ ".slice/crio-" ID1 ".scope",
          RUNTIME_KUBERNETES, ID1, POD,
          "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ ".slice/crio-" ID1 ".scope" },
        { "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ ".slice/crio-conmon-" ID1 ".scope",
          RUNTIME_HOST, NULL, NULL, NULL },
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ ".slice/docker-" ID1 ".scope",
          RUNTIME_KUBERNETES, ID1, POD,
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ ".slice/docker-" ID1 ".scope" },
        /* kind: kubelet with its own cgroup root */
        { "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_
          ".slice/cri-containerd-" ID1 ".scope",
          RUNTIME_KUBERNETES, ID1, POD,
          "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_
          ".slice/cri-containerd-" ID1 ".scope" },
        /* kubepods without a pod, a pod uid in the wrong driver's spelling,
         * a container not directly in its pod */
        { "/kubepods/burstable/" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        { "/kubepods/burstable/pod" POD_ "/" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        { "/kubepods/burstable/pod" POD "/extra/" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        { "/kubepods/burstable/pod" POD, RUNTIME_HOST, NULL, NULL, NULL },
        /* CRI-O outside kubepods */
        { "/system.slice/crio-" ID1 ".scope", RUNTIME_CRIO, ID1, NULL, "/system.slice/crio-" ID1 ".scope" },
        { "/machine.slice/crio-" ID1 ".scope/container", RUNTIME_CRIO, ID1, NULL, "/machine.slice/crio-" ID1 ".scope" },
        { "/machine.slice/crio-conmon-" ID1 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        /* systemd services: only below system.slice */
        { "/system.slice/backup.service", RUNTIME_SYSTEMD, "backup.service", NULL, "/system.slice/backup.service" },
        { "/system.slice/backup.service/sub/deeper", RUNTIME_SYSTEMD, "backup.service", NULL,
          "/system.slice/backup.service" },
        { "/system.slice/system-getty.slice/getty@tty1.service", RUNTIME_SYSTEMD, "getty@tty1.service", NULL,
          "/system.slice/system-getty.slice/getty@tty1.service" },
        { "/system.slice/docker.service", RUNTIME_SYSTEMD, "docker.service", NULL, "/system.slice/docker.service" },
        { "/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service", RUNTIME_SYSTEMD,
          "systemd-fsck@dev-disk-by\\x2duuid-1234.service", NULL,
          "/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1234.service" },
        /* a container below a service is the container, not the unit
         * (podman --cgroup-parent=/system.slice/x.service); the unit is
         * the identity only when no container is below it */
        { "/system.slice/k3s.service/docker/" ID1, RUNTIME_DOCKER, ID1, NULL, "/system.slice/k3s.service/docker/" ID1 },
        { "/system.slice/x.service/libpod-" ID1, RUNTIME_PODMAN, ID1, NULL, "/system.slice/x.service/libpod-" ID1 },
        { "/system.slice/x.service/libpod-" ID1 ".scope/container", RUNTIME_PODMAN, ID1, NULL,
          "/system.slice/x.service/libpod-" ID1 ".scope" },
        { "/system.slice/x.service/docker-" ID1 ".scope/docker-" ID2 ".scope", RUNTIME_DOCKER, ID1, NULL,
          "/system.slice/x.service/docker-" ID1 ".scope" },
        { "/system.slice/system-x.slice/x@1.service/sub/crio-" ID1 ".scope", RUNTIME_CRIO, ID1, NULL,
          "/system.slice/system-x.slice/x@1.service/sub/crio-" ID1 ".scope" },
        { "/system.slice/x.service/sub/y.service", RUNTIME_SYSTEMD, "x.service", NULL, "/system.slice/x.service" },
        /* a runtime's helper below a service is the service's */
        { "/system.slice/x.service/libpod-conmon-" ID1 ".scope", RUNTIME_SYSTEMD, "x.service", NULL,
          "/system.slice/x.service" },
        { "/system.slice/x.service/libpod-conmon-" ID1 ".scope/libpod-" ID2, RUNTIME_SYSTEMD, "x.service", NULL,
          "/system.slice/x.service" },
        { "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", RUNTIME_HOST, NULL, NULL, NULL },
        { "/user.slice/user-1000.slice/user@1000.service", RUNTIME_HOST, NULL, NULL, NULL },
        { "/foo.slice/bar.service", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/.service", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/foo.scope/bar.service", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/bad unit.service", RUNTIME_HOST, NULL, NULL, NULL },
        /* plain host */
        { "/", RUNTIME_HOST, NULL, NULL, NULL },
        { "/init.scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/user.slice/user-1000.slice/session-2.scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/run-u42.scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/other/" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        /* nested containers: the outer one wins */
        { "/docker/" ID1 "/docker/" ID2, RUNTIME_DOCKER, ID1, NULL, "/docker/" ID1 },
        { "/system.slice/docker-" ID1 ".scope/kubepods/burstable/pod" POD "/" ID2, RUNTIME_DOCKER, ID1, NULL,
          "/system.slice/docker-" ID1 ".scope" },
        { "/system.slice/docker-" ID1 ".scope/libpod_parent/libpod-" ID2, RUNTIME_DOCKER, ID1, NULL,
          "/system.slice/docker-" ID1 ".scope" },
        { "/machine.slice/libpod-" ID1 ".scope/container/libpod-" ID2 ".scope", RUNTIME_PODMAN, ID1, NULL,
          "/machine.slice/libpod-" ID1 ".scope" },
        { "/kubepods/burstable/pod" POD "/" ID1 "/docker/" ID2, RUNTIME_KUBERNETES, ID1, POD,
          "/kubepods/burstable/pod" POD "/" ID1 },
        /* bad ids and loose anchoring */
        { "/system.slice/docker-" ID63 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/docker-" ID65 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/docker-" IDUPPER ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/docker-" IDNONHEX ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/docker/" ID63, RUNTIME_HOST, NULL, NULL, NULL },
        { "/docker/" ID65, RUNTIME_HOST, NULL, NULL, NULL },
        { "/libpod_parent/libpod-" IDUPPER, RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/docker-" ID1 ".scope.bak", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/xdocker-" ID1 ".scope", RUNTIME_HOST, NULL, NULL, NULL },
        { "/system.slice/docker-" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        { "/mydocker/" ID1, RUNTIME_HOST, NULL, NULL, NULL },
        /* odd paths */
        { "/system.slice/docker-" ID1 ".scope/../../etc", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/../system.slice/docker-" ID1 ".scope", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/system.slice/./docker-" ID1 ".scope", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/system.slice//docker-" ID1 ".scope", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "//", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/system.slice/docker-" ID1 ".scope/", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "system.slice/docker-" ID1 ".scope", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "docker/" ID1, RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "garbage", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/docker/" ID1 "\n0::/x", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/docker/" ID1 "\t", RUNTIME_UNKNOWN, NULL, NULL, NULL },
        { "/docker/" ID1 "/\x7f", RUNTIME_UNKNOWN, NULL, NULL, NULL },
};

static bool class_is(const struct cgroup_class *cls, const struct classify_case *c) {
        return cls->runtime == c->runtime && strcmp(cls->id, c->id ? c->id : "") == 0 &&
               strcmp(cls->pod_uid, c->pod_uid ? c->pod_uid : "") == 0 &&
               cls->match_len == (c->match ? strlen(c->match) : 0);
}

static void test_classify_table(void **state) {
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(classify_cases); i++) {
                const struct classify_case *c = &classify_cases[i];
                struct cgroup_class cls, again;
                _cleanup_free_ char *prefix = NULL;

                memset(&cls, 0x55, sizeof(cls));
                assert_int_equal(cgroup_classify(c->path, &cls), 0);
                if (!class_is(&cls, c))
                        print_message("case %zu: '%s' → %s '%s' pod '%s' match %zu\n", i, c->path,
                                      runtime_to_string(cls.runtime), cls.id, cls.pod_uid, cls.match_len);
                assert_true(class_is(&cls, c));
                if (c->match)
                        assert_memory_equal(c->path, c->match, cls.match_len);
                if (cls.match_len == 0)
                        continue;
                /* the matched directory on its own is the same identity */
                prefix = strndup(c->path, cls.match_len);
                assert_non_null(prefix);
                memset(&again, 0x55, sizeof(again));
                assert_int_equal(cgroup_classify(prefix, &again), 0);
                assert_true(class_is(&again, c));
        }
}

static void test_classify_lengths(void **state) {
        char path[CGROUP_PATH_MAX + 2];
        struct cgroup_class cls;
        size_t n;

        (void) state;

        /* CGROUP_PATH_MAX is sane, one more is not */
        n = (size_t) snprintf(path, sizeof(path), "/docker/%s/", ID1);
        while (n < CGROUP_PATH_MAX) {
                size_t k = CGROUP_PATH_MAX - n < 200 ? CGROUP_PATH_MAX - n : 200;

                memset(path + n, 'a', k);
                n += k;
                if (n < CGROUP_PATH_MAX - 1)
                        path[n++] = '/';
        }
        path[n] = '\0';
        assert_int_equal(strlen(path), CGROUP_PATH_MAX);
        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_int_equal(cls.runtime, RUNTIME_DOCKER);
        path[n] = 'a';
        path[n + 1] = '\0';
        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_int_equal(cls.runtime, RUNTIME_UNKNOWN);

        /* a component longer than NAME_MAX cannot exist */
        n = (size_t) snprintf(path, sizeof(path), "/docker/%s/", ID1);
        memset(path + n, 'b', NAME_MAX + 1);
        path[n + NAME_MAX + 1] = '\0';
        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_int_equal(cls.runtime, RUNTIME_UNKNOWN);
        path[n + NAME_MAX] = '\0';
        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_int_equal(cls.runtime, RUNTIME_DOCKER);

        /* the longest unit name fits the id */
        n = (size_t) snprintf(path, sizeof(path), "/system.slice/");
        memset(path + n, 'u', NAME_MAX - strlen(".service"));
        strcpy(path + n + NAME_MAX - strlen(".service"), ".service");
        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_int_equal(cls.runtime, RUNTIME_SYSTEMD);
        assert_int_equal(strlen(cls.id), NAME_MAX);
}

static void test_runtime_names(void **state) {
        (void) state;

        for (int r = 0; r < _RUNTIME_MAX; r++) {
                const char *s = runtime_to_string(r);

                assert_non_null(s);
                assert_int_equal(runtime_from_string(s), r);
        }
        assert_string_equal(runtime_to_string(RUNTIME_KUBERNETES), "kubernetes");
        assert_null(runtime_to_string(_RUNTIME_MAX));
        assert_null(runtime_to_string((enum runtime) -1));
        assert_int_equal(runtime_from_string("Docker"), -EINVAL);
        assert_int_equal(runtime_from_string(""), -EINVAL);
        assert_int_equal(runtime_from_string("docker "), -EINVAL);
        assert_int_equal(runtime_from_string(NULL), -EINVAL);
}

static void assert_proc_path(const char *text, const char *want) {
        _cleanup_free_ char *path = NULL;

        assert_int_equal(cgroup_path_from_proc(text, &path), 0);
        assert_string_equal(path, want);
}

/* The runtime rows: what each runtime is, and a directory spelling back
 * to its row.  A new runtime adds its line here. */
static void test_runtime_rows(void **state) {
        static const struct {
                enum runtime r;
                enum runtime_scope scope;
                bool container_id, host_process, host_directory;
        } rows[] = {
                { RUNTIME_UNKNOWN, RUNTIME_SCOPE_NONE, false, false, false },
                { RUNTIME_HOST, RUNTIME_SCOPE_HOST_USER, false, true, true },
                { RUNTIME_DOCKER, RUNTIME_SCOPE_CONTAINER, true, false, false },
                { RUNTIME_PODMAN, RUNTIME_SCOPE_CONTAINER, true, false, false },
                { RUNTIME_KUBERNETES, RUNTIME_SCOPE_POD, true, false, false },
                { RUNTIME_CRIO, RUNTIME_SCOPE_CONTAINER, true, false, false },
                { RUNTIME_SYSTEMD, RUNTIME_SCOPE_UNIT, false, true, true },
                { RUNTIME_ROOTLESS, RUNTIME_SCOPE_DELEGATED, false, true, false },
        };
        char dir[64];

        (void) state;
        assert_int_equal(sizeof(rows) / sizeof(rows[0]), _RUNTIME_MAX);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct runtime_info *rt = runtime_info(rows[i].r);

                assert_string_equal(rt->name, runtime_to_string(rows[i].r));
                assert_int_equal(rt->scope, rows[i].scope);
                assert_int_equal(rt->container_id, rows[i].container_id);
                assert_int_equal(rt->host_process, rows[i].host_process);
                assert_int_equal(rt->host_directory, rows[i].host_directory);
                snprintf(dir, sizeof(dir), "%s-3f2a", rt->name);
                if (rows[i].scope == RUNTIME_SCOPE_NONE)
                        assert_null(runtime_of_directory(dir));
                else
                        assert_ptr_equal(runtime_of_directory(dir), rt);
        }
        assert_ptr_equal(runtime_info(_RUNTIME_MAX), runtime_info(RUNTIME_UNKNOWN));
        assert_null(runtime_of_directory("docker"));
        assert_null(runtime_of_directory("dockerd-3f2a"));
        assert_null(runtime_of_directory("future-3f2a"));
}

static void test_proc_cgroup2(void **state) {
        (void) state;

        assert_proc_path("0::/system.slice/docker-" ID1 ".scope\n", "/system.slice/docker-" ID1 ".scope");
        assert_proc_path("0::/user.slice/user-1000.slice/session-2.scope",
                         "/user.slice/user-1000.slice/session-2.scope");
        assert_proc_path("0::/\n", "/");
        /* the path is the rest of the line, colons and all */
        assert_proc_path("0::/a:b:c\n", "/a:b:c");
        /* another cgroup namespace: classified later as unknown */
        assert_proc_path("0::/../../system.slice/x.service\n", "/../../system.slice/x.service");
}

static void test_proc_hybrid(void **state) {
        (void) state;

        /* systemd hybrid (Ubuntu 20.04): unified mirror at the root */
        assert_proc_path("12:pids:/system.slice/docker-" ID1 ".scope\n"
                         "11:memory:/system.slice/docker-" ID1 ".scope\n"
                         "10:cpu,cpuacct:/system.slice/docker-" ID1 ".scope\n"
                         "9:devices:/system.slice/docker-" ID1 ".scope\n"
                         "8:net_cls,net_prio:/system.slice/docker-" ID1 ".scope\n"
                         "7:freezer:/system.slice/docker-" ID1 ".scope\n"
                         "6:blkio:/system.slice/docker-" ID1 ".scope\n"
                         "5:rdma:/\n"
                         "4:hugetlb:/system.slice/docker-" ID1 ".scope\n"
                         "3:perf_event:/system.slice/docker-" ID1 ".scope\n"
                         "2:cpuset:/system.slice/docker-" ID1 ".scope\n"
                         "1:name=systemd:/system.slice/docker-" ID1 ".scope\n"
                         "0::/\n",
                         "/system.slice/docker-" ID1 ".scope");
        /* hybrid where the unified line is set: it wins */
        assert_proc_path("4:memory:/user.slice\n"
                         "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
                         "0::/user.slice/user-1000.slice/session-3.scope\n",
                         "/user.slice/user-1000.slice/session-3.scope");
        /* legacy v1 only, no 0:: line */
        assert_proc_path("3:cpu,cpuacct:/\n1:name=systemd:/system.slice/backup.service\n",
                         "/system.slice/backup.service");
}

static void test_proc_bad(void **state) {
        static const struct {
                const char *text;
                int error;
        } cases[] = {
                { "", -ENOENT },
                { "3:cpu:/a\n2:memory:/a\n", -ENOENT },
                { "1:name=elogind:/a\n", -ENOENT },
                { "garbage", -EINVAL },
                { "\n", -EINVAL },
                { "0::/a\n\n", -EINVAL },
                { "0:/a\n", -EINVAL },
                { "0::\n", -EINVAL },
                { ":0::/a\n", -EINVAL },
                { "x::/a\n", -EINVAL },
                { "-1::/a\n", -EINVAL },
                { " 0::/a\n", -EINVAL },
                { "99999999999::/a\n", -EINVAL },
                { "0:cpu:/a\n", -EINVAL },
                /* a cgroup named "x\n0::/system.slice/docker-<id>.scope" */
                { "0::/user.slice/x\n0::/system.slice/docker-" ID1 ".scope\n", -EINVAL },
                { "1:name=systemd:/user.slice/x\n1:name=systemd:/system.slice/docker-" ID1 ".scope\n0::/\n", -EINVAL },
                { "1:name=systemd:/user.slice/x\n7:name=systemd:/system.slice/docker-" ID1 ".scope\n0::/\n", -EINVAL },
                { "4:cpu:/a\n4:memory:/a\n0::/a\n", -EINVAL },
        };

        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char sentinel[] = "untouched", *path = sentinel;

                assert_int_equal(cgroup_path_from_proc(cases[i].text, &path), cases[i].error);
                assert_ptr_equal(path, sentinel);
        }
}

static void test_proc_many_lines(void **state) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t n = 0, size = 2048 * 32;

        (void) state;

        text = malloc(size);
        assert_non_null(text);
        for (int i = 2000; i > 0; i--)
                n += (size_t) snprintf(text + n, size - n, "%d:c%d:/\n", i, i);
        snprintf(text + n, size - n, "0::/a\n");
        assert_int_equal(cgroup_path_from_proc(text, &path), -EINVAL);
        assert_null(path);
}

/* Ubuntu 18.04, systemd hybrid mode. */
static const char mountinfo_hybrid[] =
        "21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "22 26 0:4 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
        "23 26 0:6 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=4006168k,nr_inodes=1001542,mode=755\n"
        "26 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
        "28 26 0:23 / /run/lock rw,nosuid,nodev,noexec,relatime shared:6 - tmpfs tmpfs rw,size=5120k\n"
        "29 21 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        "30 29 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup "
        "rw,nsdelegate\n"
        "31 29 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
        "rw,xattr,name=systemd\n"
        "34 29 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "35 29 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory\n";

/* Debian 12: cgroup2 only. */
static const char mountinfo_unified[] =
        "22 29 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
        "26 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n";

/* CentOS 7: cgroup v1 only. */
static const char mountinfo_v1[] =
        "18 61 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw,seclabel\n"
        "24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,seclabel,mode=755\n"
        "25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup "
        "rw,seclabel,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
        "61 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/centos-root rw,seclabel,attr2,inode64,noquota\n";

static void assert_mount(const char *text, const char *want) {
        _cleanup_free_ char *mnt = NULL;

        assert_int_equal(cgroup2_mount_from_mountinfo(text, &mnt), 0);
        assert_string_equal(mnt, want);
}

static void test_mountinfo(void **state) {
        (void) state;

        assert_mount(mountinfo_hybrid, "/sys/fs/cgroup/unified");
        assert_mount(mountinfo_unified, "/sys/fs/cgroup");
        /* no optional fields, no trailing newline */
        assert_mount("1 0 0:1 / /cg rw - cgroup2 none rw", "/cg");
        /* several optional fields */
        assert_mount("1 0 0:1 / /cg rw shared:3 master:1 propagate_from:2 - cgroup2 cgroup2 rw\n", "/cg");
        /* escapes */
        assert_mount("1 0 0:1 / /run/my\\040cg\\011x\\134y rw - cgroup2 cgroup2 rw\n", "/run/my cg\tx\\y");
        /* a bind mount of a subtree is not the hierarchy */
        assert_mount("40 30 0:25 /system.slice /mnt/sub rw - cgroup2 cgroup2 rw\n"
                     "41 30 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                     "/sys/fs/cgroup");
        /* the first real one */
        assert_mount("41 30 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                     "42 30 0:25 / /other rw - cgroup2 cgroup2 rw\n",
                     "/sys/fs/cgroup");
}

static void test_mountinfo_bad(void **state) {
        static const struct {
                const char *text;
                int error;
        } cases[] = {
                { mountinfo_v1, -ENOENT },
                { "", -ENOENT },
                { "41 30 0:25 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", -ENOENT },
                { "41 30 0:25 / /sys/fs/cgroup rw - cgroup2fs cgroup2 rw\n", -ENOENT },
                { "garbage\n", -EINVAL },
                { "\n", -EINVAL },
                { "41 30 0:25 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs/cgroup rw -\n", -EINVAL },
                { "41 30 0:25 / /sys/fs/cgroup rw - cgroup2\n", -EINVAL },
                { "41 30 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2\n", -EINVAL },
                { "41  30 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs\\04 rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs\\0 rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs\\\\ rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs\\000x rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / /sys/fs\\09x rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "41 30 0:25 / relative rw - cgroup2 cgroup2 rw\n", -EINVAL },
                { "21 26 0:20 / /sys rw - sysfs sysfs rw\n\n41 30 0:25 / /cg rw - cgroup2 cgroup2 rw\n", -EINVAL },
        };

        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char sentinel[] = "untouched", *mnt = sentinel;

                assert_int_equal(cgroup2_mount_from_mountinfo(cases[i].text, &mnt), cases[i].error);
                assert_ptr_equal(mnt, sentinel);
        }
}

#define DOCKER_SCOPE "/system.slice/docker-" ID1 ".scope"
#define USER_SERVICE "/user.slice/user-1000.slice/user@1000.service"
#define PODMAN_SCOPE USER_SERVICE "/user.slice/libpod-" ID1 ".scope"

struct tree {
        char dir[64];
        int fd;
};

static void mkdir_p_at(int dfd, const char *path) {
        _cleanup_free_ char *p = strdup(path + 1);

        assert_non_null(p);
        for (char *s = strchr(p, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                assert_true(mkdirat(dfd, p, 0755) == 0 || errno == EEXIST);
                if (!s)
                        return;
                *s = '/';
        }
}

static int tree_setup(void **state) {
        struct tree *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        strcpy(t->dir, "/tmp/test-cgroup-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(t->fd >= 0);
        mkdir_p_at(t->fd, DOCKER_SCOPE "/init.scope");
        mkdir_p_at(t->fd, PODMAN_SCOPE "/container");
        *state = t;
        return 0;
}

static int tree_teardown(void **state) {
        struct tree *t = *state;
        char cmd[128];

        safe_close(t->fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        assert_int_equal(system(cmd), 0);
        free(t);
        return 0;
}

/* Hands a cgroup directory, named as from the root, to uid. */
static void give(struct tree *t, const char *path, uid_t uid) {
        assert_int_equal(fchownat(t->fd, path + 1, uid, uid, AT_SYMLINK_NOFOLLOW), 0);
}

static uid_t delegated(struct tree *t, const char *path, int want) {
        struct cgroup_class cls;
        uid_t owner = (uid_t) -2;

        assert_int_equal(cgroup_classify(path, &cls), 0);
        assert_true(cls.match_len > 0);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, path, cls.match_len, &owner), want);
        if (want == 0)
                assert_int_equal(owner, (uid_t) -2);
        return owner;
}

static void test_delegated_owner(void **state) {
        struct tree *t = *state;
        uid_t owner = (uid_t) -2;

        if (geteuid() != 0)
                skip(); /* needs root-owned directories and chown */

        assert_int_equal(delegated(t, DOCKER_SCOPE "/init.scope", 0), (uid_t) -2);
        /* the container's directory went away, its parent did not */
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/system.slice/docker-" ID2 ".scope",
                                                     strlen("/system.slice/docker-" ID2 ".scope"), &owner),
                         -ENOENT);
        assert_int_equal(owner, (uid_t) -2);
        /* below the matched directory: the container's own business */
        give(t, DOCKER_SCOPE "/init.scope", 1000);
        assert_int_equal(delegated(t, DOCKER_SCOPE "/init.scope", 0), (uid_t) -2);
        /* the matched directory itself */
        give(t, DOCKER_SCOPE, 1001);
        assert_int_equal(delegated(t, DOCKER_SCOPE "/init.scope", 1), 1001);
        /* an ancestor, with the matched one below it too: the first wins */
        give(t, "/system.slice", 1002);
        assert_int_equal(delegated(t, DOCKER_SCOPE, 1), 1002);
        /* rootless podman under user@1000.service */
        assert_int_equal(delegated(t, PODMAN_SCOPE "/container", 0), (uid_t) -2);
        give(t, USER_SERVICE, 1000);
        assert_int_equal(delegated(t, PODMAN_SCOPE "/container", 1), 1000);
}

static void test_delegated_errors(void **state) {
        struct tree *t = *state;
        uid_t owner = (uid_t) -2;

        /* nothing to check */
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/", 0, &owner), 0);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/", 1, &owner), 0);
        /* vanished */
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/docker/" ID1, strlen("/docker/" ID1), &owner), -ENOENT);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/machine.slice/libpod-" ID2 ".scope",
                                                     strlen("/machine.slice/libpod-" ID2 ".scope"), &owner),
                         -ENOENT);
        /* a symlink is not followed */
        assert_int_equal(symlinkat("system.slice", t->fd, "link.slice"), 0);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/link.slice/docker-" ID1 ".scope",
                                                     strlen("/link.slice/docker-" ID1 ".scope"), &owner),
                         -ENOTDIR);
        /* a file is not a cgroup */
        assert_int_equal(mknodat(t->fd, "file", S_IFREG | 0644, 0), 0);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, "/file", 5, &owner), -ENOTDIR);
        /* paths cgroup_classify() would not have matched */
        static const char *const bad[] = { "/system.slice/../x", "/system.slice/./x", "/..", "//system.slice",
                                           "system.slice", "/system.slice//x", "/system.slice/",
                                           "/system.slice/\n/x" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(cgroup_find_delegated_owner(t->fd, bad[i], strlen(bad[i]), &owner), -EINVAL);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, DOCKER_SCOPE, strlen(DOCKER_SCOPE) + 1, &owner), -EINVAL);
        assert_int_equal(cgroup_find_delegated_owner(t->fd, DOCKER_SCOPE, 5, &owner), -EINVAL);
        assert_int_equal(cgroup_find_delegated_owner(-1, DOCKER_SCOPE, strlen(DOCKER_SCOPE), &owner), -EBADF);
        assert_int_equal(owner, (uid_t) -2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classify_table),
                cmocka_unit_test(test_classify_lengths),
                cmocka_unit_test(test_runtime_names),
                cmocka_unit_test(test_runtime_rows),
                cmocka_unit_test(test_proc_cgroup2),
                cmocka_unit_test(test_proc_hybrid),
                cmocka_unit_test(test_proc_bad),
                cmocka_unit_test(test_proc_many_lines),
                cmocka_unit_test(test_mountinfo),
                cmocka_unit_test(test_mountinfo_bad),
                cmocka_unit_test_setup_teardown(test_delegated_owner, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_delegated_errors, tree_setup, tree_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
