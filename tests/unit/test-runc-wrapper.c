/* test-runc-wrapper.c — secretd-runc's reading of runc's argv (which
 * command, which bundle) and its edit of a bundle's config.json
 * (client/runc-spec.c): the hook added once, every other hook kept, the
 * file replaced with its mode, a config of the wrong shape refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../client/runc-spec.h"
#include "secretd/cleanup.h"

#define HOOK "/usr/libexec/secretd/secretd-oci-hook"

/* runc_call_parse() on a copy of argv (it takes main()'s char **). */
static int parse(const char *const *argv, struct runc_call *ret, const char **ret_bad) {
        static char copies[16][64];
        char *v[16];
        int argc = 0;

        for (; argv[argc]; argc++) {
                assert_true(argc < 15 && strlen(argv[argc]) < 64);
                v[argc] = strcpy(copies[argc], argv[argc]);
        }
        v[argc] = NULL;
        return runc_call_parse(argc, v, ret, ret_bad);
}

static void test_argv(void **state) {
        static const struct {
                const char *argv[14];
                int command; /* -1: none */
                bool creates;
                const char *bundle;
        } table[] = {
                /* what Docker (containerd's shim) runs */
                { { "runc", "--root", "/run/r", "--log", "/l.json", "--log-format", "json", "create", "--bundle",
                    "/b/1", "--pid-file", "/p", "id1" }, 7, true, "/b/1" },
                { { "runc", "--root=/run/r", "--systemd-cgroup", "create", "-b", "/b/2", "id" }, 3, true, "/b/2" },
                { { "runc", "-root", "/r", "--debug", "run", "--bundle=/b/3", "id" }, 4, true, "/b/3" },
                { { "runc", "create", "-b=/b/4", "id" }, 1, true, "/b/4" },
                { { "runc", "create", "--pid-file", "/p", "id" }, 1, true, "." },
                /* a value that looks like a command is a value */
                { { "runc", "--root", "create", "start", "id" }, 3, false, "." },
                { { "runc", "--criu", "/c", "--rootless", "auto", "start", "id" }, 5, false, "." },
                /* the bundle of another container after the id is no option */
                { { "runc", "create", "--console-socket", "/s", "id", "--bundle", "/x" }, 1, true, "." },
                { { "runc", "delete", "--force", "id" }, 1, false, "." },
                { { "runc", "--version" }, -1, false, "." },
                { { "runc", "--log", "/l" }, -1, false, "." },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct runc_call c = { .command = -5 };
                const char *bad = NULL;
                int argc = 0;

                while (table[i].argv[argc])
                        argc++;
                assert_int_equal(parse(table[i].argv, &c, &bad), 0);
                assert_int_equal(c.command, table[i].command < 0 ? argc : table[i].command);
                assert_int_equal(c.creates, table[i].creates);
                assert_string_equal(c.bundle, table[i].bundle);
                assert_null(bad);
        }
}

static void test_argv_unknown_global(void **state) {
        const char *argv[] = { "runc", "--root", "/r", "--new-thing", "x", "create", "id", NULL };
        struct runc_call c = {};
        const char *bad = NULL;

        (void) state;
        assert_int_equal(parse(argv, &c, &bad), -EINVAL);
        assert_string_equal(bad, "--new-thing");
}

static void test_spec_add(void **state) {
        json_t *spec = json_loads("{\"ociVersion\":\"1.0.2\",\"hooks\":{\"prestart\":[{\"path\":\"/a\"}],"
                                  "\"createRuntime\":[{\"path\":\"/other\",\"args\":[\"o\"]}]}}", 0, NULL);
        json_t *stage, *want;

        (void) state;
        assert_non_null(spec);
        assert_int_equal(runc_spec_add_hook(spec, HOOK, "/etc/s.json"), 1);
        assert_int_equal(runc_spec_add_hook(spec, HOOK, "/etc/s.json"), 0);
        stage = json_object_get(json_object_get(spec, "hooks"), "createRuntime");
        assert_int_equal(json_array_size(stage), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(stage, 0), "path")), "/other");
        want = json_pack("{s:s,s:[sss],s:i}", "path", HOOK, "args", "secretd-oci-hook", "--config", "/etc/s.json",
                         "timeout", 10);
        assert_true(json_equal(json_array_get(stage, 1), want));
        assert_int_equal(json_array_size(json_object_get(json_object_get(spec, "hooks"), "prestart")), 1);
        json_decref(want);
        json_decref(spec);

        /* no hooks at all; no --config without SECRETD_CONFIG */
        spec = json_loads("{}", 0, NULL);
        assert_int_equal(runc_spec_add_hook(spec, HOOK, NULL), 1);
        want = json_pack("{s:{s:[{s:s,s:[s],s:i}]}}", "hooks", "createRuntime", "path", HOOK, "args",
                         "secretd-oci-hook", "timeout", 10);
        assert_true(json_equal(spec, want));
        json_decref(want);
        json_decref(spec);
}

static void test_spec_wrong_shape(void **state) {
        static const char *const bad[] = { "[]", "{\"hooks\":[]}", "{\"hooks\":{\"createRuntime\":{}}}" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *spec = json_loads(bad[i], 0, NULL);

                assert_non_null(spec);
                assert_int_equal(runc_spec_add_hook(spec, HOOK, NULL), -EINVAL);
                json_decref(spec);
        }
}

static void write_file(const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static void test_bundle(void **state) {
        char dir[] = "/tmp/test-runc-wrapper.XXXXXX", path[64];
        json_t *spec, *stage;
        struct stat st, st2;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/config.json", dir);
        assert_int_equal(runc_bundle_add_hook(dir, HOOK, NULL), -ENOENT);
        write_file(path, "{\"process\":{\"args\":[\"sh\"]},", 0600);
        assert_int_equal(runc_bundle_add_hook(dir, HOOK, NULL), -EBADMSG);
        write_file(path, "{\"process\":{\"args\":[\"sh\"]},\"hooks\":{\"poststop\":[{\"path\":\"/p\"}]}}", 0640);
        assert_int_equal(runc_bundle_add_hook(dir, HOOK, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        spec = json_load_file(path, 0, NULL);
        assert_non_null(spec);
        stage = json_object_get(json_object_get(spec, "hooks"), "createRuntime");
        assert_int_equal(json_array_size(stage), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(stage, 0), "path")), HOOK);
        assert_int_equal(json_array_size(json_object_get(json_object_get(spec, "hooks"), "poststop")), 1);
        assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(spec, "process"),
                                                                              "args"), 0)), "sh");
        json_decref(spec);
        /* the second time: nothing to do, the file is not even replaced */
        assert_int_equal(runc_bundle_add_hook(dir, HOOK, NULL), 0);
        assert_int_equal(stat(path, &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        /* no temporary file left behind: the directory empties */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_argv),
                cmocka_unit_test(test_argv_unknown_global),
                cmocka_unit_test(test_spec_add),
                cmocka_unit_test(test_spec_wrong_shape),
                cmocka_unit_test(test_bundle),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
