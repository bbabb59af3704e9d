/* test-policy.c — the workloads array: the DESIGN example, defaults and
 * every accepted form, a table of bad arrays with the exact errors they
 * give, a matrix of hand-built peers against a policy (which workload
 * wins, or none), and `exe` matched by the file, not the name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "config.h"
#include "policy.h"
#include "secretd/cleanup.h"

#define SOURCE "test.json"
#define USEC(s) ((uint64_t) (s) * 1000000ULL)
#define DEFAULT_TTL USEC(3600)
#define DEFAULT_MAX_TTL USEC(24 * 3600)

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_B2 "bbbbbbbbbbbcbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cc0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
#define ID_D "dd0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
#define ID_E "ee0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

static const char design_example[] =
        "{\n"
        "  \"defaults\": { \"ttl\": \"1h\", \"max_ttl\": \"24h\", \"tmpfs_size\": \"1M\" },\n"
        "  \"workloads\": [\n"
        "    { \"name\": \"web\",\n"
        "      \"match\": { \"runtime\": \"docker\", \"uids\": [1000] },\n"
        "      \"secrets\": [ \"db-password\",\n"
        "                   { \"name\": \"tls-key\", \"file\": \"tls.key\", \"mode\": \"0440\", \"uid\": 0, "
        "\"gid\": 101 } ],\n"
        "      \"ttl\": \"15m\", \"max_ttl\": \"2h\",\n"
        "      \"inject\": \"/run/secrets\",\n"
        "      \"on_rotate\": { \"signal\": \"SIGHUP\" } },\n"
        "    { \"name\": \"backup\",\n"
        "      \"match\": { \"runtime\": \"systemd\", \"unit\": \"backup.service\" },\n"
        "      \"secrets\": [ \"s3-key\" ] }\n"
        "  ]\n"
        "}\n";

/* Parses JSON text (NUL escapes allowed, so the parser sees them). */
static int parse_text(const char *text, struct policy **ret, struct config_errors *errs) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        json_error_t jerr;

        j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!j)
                fail_msg("bad test JSON: %s: %s", text, jerr.text);
        return policy_parse(j, SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, ret, errs);
}

static struct policy *parse_ok(const char *text) {
        struct config_errors errs = {};
        struct policy *p = NULL;
        int r = parse_text(text, &p, &errs);

        for (size_t i = 0; i < errs.n; i++)
                print_error("unexpected: %s\n", errs.msgs[i]);
        assert_int_equal(r, 0);
        assert_int_equal(errs.n, 0);
        assert_non_null(p);
        config_errors_clear(&errs);
        return p;
}

static void test_design_example(void **state) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        _cleanup_(policy_freep) struct policy *p = NULL;
        const struct workload *web, *backup;
        const struct grant *g;

        (void) state;
        root = json_loads(design_example, JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(root);
        assert_int_equal(policy_parse(json_object_get(root, "workloads"), SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, &p,
                                      NULL),
                         0);
        assert_int_equal(p->n_workloads, 2);
        web = &p->workloads[0];
        backup = &p->workloads[1];

        assert_string_equal(web->name, "web");
        assert_true(web->match.has_runtime);
        assert_int_equal(web->match.runtime, RUNTIME_DOCKER);
        assert_int_equal(web->match.n_uids, 1);
        assert_int_equal(web->match.uids[0], 1000);
        assert_null(web->match.id);
        assert_null(web->match.unit);
        assert_null(web->match.cgroup);
        assert_null(web->match.exe);
        assert_int_equal(web->match.n_gids, 0);
        assert_int_equal(web->n_grants, 2);
        g = &web->grants[0];
        assert_string_equal(g->name, "db-password");
        assert_string_equal(g->file, "db-password");
        assert_int_equal(g->mode, 0400);
        assert_false(g->has_uid);
        assert_false(g->has_gid);
        g = &web->grants[1];
        assert_string_equal(g->name, "tls-key");
        assert_string_equal(g->file, "tls.key");
        assert_int_equal(g->mode, 0440);
        assert_true(g->has_uid);
        assert_int_equal(g->uid, 0);
        assert_true(g->has_gid);
        assert_int_equal(g->gid, 101);
        assert_int_equal(web->ttl_usec, USEC(15 * 60));
        assert_int_equal(web->max_ttl_usec, USEC(2 * 3600));
        assert_string_equal(web->inject, "/run/secrets");
        assert_int_equal(web->on_rotate_signal, SIGHUP);
        assert_ptr_equal(workload_grant(web, "tls-key"), &web->grants[1]);
        assert_ptr_equal(workload_grant(web, "db-password"), &web->grants[0]);
        assert_null(workload_grant(web, "s3-key"));
        assert_null(workload_grant(web, "tls.key")); /* by secret name, not file */

        assert_string_equal(backup->name, "backup");
        assert_true(backup->match.has_runtime);
        assert_int_equal(backup->match.runtime, RUNTIME_SYSTEMD);
        assert_string_equal(backup->match.unit, "backup.service");
        assert_int_equal(backup->n_grants, 1);
        assert_string_equal(backup->grants[0].file, "s3-key");
        assert_int_equal(backup->ttl_usec, DEFAULT_TTL);
        assert_int_equal(backup->max_ttl_usec, DEFAULT_MAX_TTL);
        assert_null(backup->inject);
        assert_int_equal(backup->on_rotate_signal, 0);
        assert_non_null(workload_grant(backup, "s3-key"));
        assert_null(workload_grant(NULL, "s3-key"));
}

/* Every other accepted spelling, and how defaults combine. */
static void test_forms_and_defaults(void **state) {
        _cleanup_(policy_freep) struct policy *p = NULL, *empty = NULL, *none = NULL;
        const struct workload *w;

        (void) state;
        p = parse_ok("["
                     "{\"name\":\"a\",\"match\":{\"uids\":[0]},\"inject\":true,\"on_rotate\":{\"signal\":\"USR1\"},"
                     " \"ttl\":90,\"secrets\":[{\"name\":\"x\",\"mode\":\"600\"}]},"
                     "{\"name\":\"b.2_c-d\",\"match\":{\"gids\":[5]},\"inject\":false,\"on_rotate\":{\"signal\":15},"
                     " \"max_ttl\":\"30m\",\"secrets\":[]},"
                     "{\"name\":\"c\",\"match\":{\"exe\":\"/usr/bin/*\"},\"inject\":\"/etc/app/secrets\","
                     " \"on_rotate\":{\"signal\":\"SIGWINCH\"},\"ttl\":\"1s\",\"max_ttl\":\"366d\","
                     " \"secrets\":[{\"name\":\"y\",\"file\":\"z\",\"mode\":\"0\"},\"x\"]}"
                     "]");
        assert_int_equal(p->n_workloads, 3);
        w = &p->workloads[0];
        assert_string_equal(w->inject, "/run/secrets");
        assert_int_equal(w->on_rotate_signal, SIGUSR1);
        assert_int_equal(w->ttl_usec, USEC(90));
        assert_int_equal(w->max_ttl_usec, DEFAULT_MAX_TTL);
        assert_int_equal(w->grants[0].mode, 0600);
        assert_string_equal(w->grants[0].file, "x");
        w = &p->workloads[1];
        assert_null(w->inject);
        assert_int_equal(w->on_rotate_signal, SIGTERM);
        assert_int_equal(w->n_grants, 0);
        /* the inherited 1h ttl shortens to the workload's own 30m max */
        assert_int_equal(w->max_ttl_usec, USEC(30 * 60));
        assert_int_equal(w->ttl_usec, USEC(30 * 60));
        w = &p->workloads[2];
        assert_string_equal(w->inject, "/etc/app/secrets");
        assert_int_equal(w->on_rotate_signal, SIGWINCH);
        assert_int_equal(w->ttl_usec, USEC(1));
        assert_int_equal(w->max_ttl_usec, USEC(366 * 86400));
        assert_int_equal(w->grants[0].mode, 0);
        assert_string_equal(w->grants[1].name, "x");

        empty = parse_ok("[]");
        assert_int_equal(empty->n_workloads, 0);
        assert_int_equal(policy_parse(NULL, SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, &none, NULL), 0);
        assert_non_null(none);
        assert_int_equal(none->n_workloads, 0);
        assert_null(policy_free(NULL));
}

static void test_signal_names(void **state) {
        (void) state;
        assert_string_equal(policy_signal_name(SIGHUP), "SIGHUP");
        assert_string_equal(policy_signal_name(SIGCONT), "SIGCONT");
        assert_null(policy_signal_name(0));
        assert_null(policy_signal_name(SIGKILL));
        assert_null(policy_signal_name(-1));
}

struct bad_case {
        const char *json;
        const char *errors[6]; /* without the "test.json: " prefix */
};

#define W(rest) "[{\"name\":\"w\",\"match\":{\"runtime\":\"docker\"}" rest "}]"
#define M(match) "[{\"name\":\"w\",\"match\":" match "}]"
#define S(secrets) W(",\"secrets\":" secrets)
#define SIGNALS "(HUP, INT, QUIT, USR1, USR2, TERM, WINCH, CONT)"
#define RUNTIMES "(host, docker, podman, kubernetes, crio, systemd, rootless)"

static const struct bad_case bad_cases[] = {
        /* the array and its elements */
        { "{\"name\":\"w\"}", { "workloads: expected an array of workloads" } },
        { "[\"web\"]", { "workloads[0]: expected an object" } },
        { "[{\"match\":{\"runtime\":\"docker\"}}]", { "workloads[0].name: required" } },
        { "[{\"name\":\"w\"}]", { "workloads[0].match: required" } },
        { "[{}]", { "workloads[0].name: required", "workloads[0].match: required" } },
        /* annotations: an object of key -> glob, keys OCI could spell */
        { "[{\"name\":\"w\",\"match\":{\"annotations\":{}}}]",
          { "workloads[0].match.annotations: must be an object of 1 to 32 annotations, each \"key\": \"glob\"" } },
        { "[{\"name\":\"w\",\"match\":{\"annotations\":[\"a\"]}}]",
          { "workloads[0].match.annotations: must be an object of 1 to 32 annotations, each \"key\": \"glob\"" } },
        { "[{\"name\":\"w\",\"match\":{\"annotations\":{\"a b\":\"x\"}}}]",
          { "workloads[0].match.annotations: 'a b' is not an annotation key (letters, digits, . - _ /)" } },
        { "[{\"name\":\"w\",\"match\":{\"annotations\":{\"k\":1}}}]",
          { "workloads[0].match.annotations: 'k' must be a glob of 1 to 1024 characters" } },
        { "[{\"name\":\"w\",\"match\":{\"annotations\":{\"k\":\"\"}}}]",
          { "workloads[0].match.annotations: 'k' must be a glob of 1 to 1024 characters" } },
        { W(",\"color\":\"red\""), { "workloads[0].color: unknown key" } },
        /* selectors */
        { M("{\"image_id\":\"sha256:abc\"}"),
          { "workloads[0].match.image_id: 'sha256:abc' is not an image id (\"sha256:\" and 64 lowercase hex digits)" } },
        { M("{\"image_id\":\"" ID_C "\"}"),
          { "workloads[0].match.image_id: '" ID_C "' is not an image id (\"sha256:\" and 64 lowercase hex digits)" } },
        { M("{\"labels\":{}}"),
          { "workloads[0].match.labels: must be an object of 1 to 32 labels, each \"key\": \"glob\"" } },
        { M("{\"labels\":{\"app\":\"\"}}"),
          { "workloads[0].match.labels: 'app' must be a glob of 1 to 1024 characters" } },
        { M("{\"name\":7}"), { "workloads[0].match.name: expected a string" } },
        /* name */
        { "[{\"name\":\"-web\",\"match\":{\"uids\":[1]}}]",
          { "workloads[0].name: '-web' is not a valid workload name ([A-Za-z0-9][A-Za-z0-9._-], at most 64 "
            "characters)" } },
        { "[{\"name\":\"w0123456789012345678901234567890123456789012345678901234567890123\",\"match\":{\"uids\":[1]}}]",
          { "workloads[0].name: 'w0123456789012345678901234567890123456789012345678901234567890123' is not a valid "
            "workload name ([A-Za-z0-9][A-Za-z0-9._-], at most 64 characters)" } },
        { "[{\"name\":\"a b\",\"match\":{\"uids\":[1]}}]",
          { "workloads[0].name: 'a b' is not a valid workload name ([A-Za-z0-9][A-Za-z0-9._-], at most 64 "
            "characters)" } },
        { "[{\"name\":7,\"match\":{\"uids\":[1]}}]", { "workloads[0].name: expected a string" } },
        { "[{\"name\":\"a\",\"match\":{\"uids\":[1]}},{\"name\":\"b\",\"match\":{\"uids\":[2]}},"
          "{\"name\":\"a\",\"match\":{\"uids\":[3]}}]",
          { "workloads[2].name: 'a' is already the name of workloads[0]" } },
        /* match */
        { M("{}"), { "workloads[0].match: must have at least one key (an empty match would grant every caller)" } },
        { M("\"docker\""), { "workloads[0].match: expected an object" } },
        { M("{\"pid\":1}"), { "workloads[0].match.pid: unknown key" } },
        { M("{\"runtime\":\"lxc\"}"), { "workloads[0].match.runtime: 'lxc' is not a runtime " RUNTIMES } },
        { M("{\"runtime\":\"unknown\"}"), { "workloads[0].match.runtime: 'unknown' is not a runtime " RUNTIMES } },
        { M("{\"runtime\":1}"), { "workloads[0].match.runtime: expected a runtime name" } },
        { M("{\"id\":\"web\"}"),
          { "workloads[0].match.id: 'web' is not a container id (up to 64 lowercase hex digits) or a glob" } },
        { M("{\"id\":\"ABCDEF\"}"),
          { "workloads[0].match.id: 'ABCDEF' is not a container id (up to 64 lowercase hex digits) or a glob" } },
        { M("{\"id\":\"" ID_A "0\"}"),
          { "workloads[0].match.id: '" ID_A "0' is not a container id (up to 64 lowercase hex digits) or a glob" } },
        { M("{\"id\":\"\"}"), { "workloads[0].match.id: must not be empty" } },
        { M("{\"unit\":\"backup\"}"),
          { "workloads[0].match.unit: 'backup' is not a unit name such as 'backup.service'" } },
        { M("{\"unit\":\"a/b.service\"}"), { "workloads[0].match.unit: 'a/b.service' is not a unit name" } },
        { M("{\"cgroup\":\"system.slice/*\"}"),
          { "workloads[0].match.cgroup: 'system.slice/*' is not an absolute path" } },
        { M("{\"exe\":\"\"}"), { "workloads[0].match.exe: must not be empty" } },
        { M("{\"exe\":\"/bin/\\u0000sh\"}"), { "workloads[0].match.exe: contains a NUL byte" } },
        { M("{\"uids\":[-1]}"), { "workloads[0].match.uids: element 0 is not a uid" } },
        { M("{\"uids\":[0,4294967295]}"), { "workloads[0].match.uids: element 1 is not a uid" } },
        { M("{\"uids\":[]}"), { "workloads[0].match.uids: must list at least one uid" } },
        { M("{\"gids\":\"100\"}"), { "workloads[0].match.gids: expected an array of gids" } },
        { M("{\"gids\":[\"wheel\"]}"), { "workloads[0].match.gids: element 0 is not a gid" } },
        /* secrets */
        { S("\"db\""), { "workloads[0].secrets: expected an array of secret names or objects" } },
        { S("[42]"), { "workloads[0].secrets[0]: expected a secret name or an object" } },
        { S("[\"ok\",\"../etc\"]"), { "workloads[0].secrets[1]: '../etc' is not a valid secret name" } },
        { S("[{\"file\":\"x\"}]"), { "workloads[0].secrets[0].name: required" } },
        { S("[{\"name\":\"a\",\"file\":\"a/b\"}]"),
          { "workloads[0].secrets[0].file: 'a/b' is not a valid file name" } },
        { S("[{\"name\":\"a\",\"file\":\"..\"}]"), { "workloads[0].secrets[0].file: '..' is not a valid file name" } },
        { S("[{\"name\":\"a\",\"mode\":\"0640x\"}]"),
          { "workloads[0].secrets[0].mode: '0640x' is not an octal mode such as \"0440\"" } },
        { S("[{\"name\":\"a\",\"mode\":\"0890\"}]"),
          { "workloads[0].secrets[0].mode: '0890' is not an octal mode such as \"0440\"" } },
        { S("[{\"name\":\"a\",\"mode\":\"4755\"}]"),
          { "workloads[0].secrets[0].mode: '4755' has setuid, setgid or sticky bits (allowed 0000 to 0777)" } },
        { S("[{\"name\":\"a\",\"mode\":288}]"),
          { "workloads[0].secrets[0].mode: expected a string of octal digits such as \"0440\"" } },
        { S("[{\"name\":\"a\",\"uid\":\"root\"}]"),
          { "workloads[0].secrets[0].uid: expected a uid (a non-negative integer)" } },
        { S("[{\"name\":\"a\",\"gid\":-5}]"),
          { "workloads[0].secrets[0].gid: expected a gid (a non-negative integer)" } },
        { S("[{\"name\":\"a\",\"owner\":0}]"), { "workloads[0].secrets[0].owner: unknown key" } },
        { S("[\"a\",\"a\"]"), { "workloads[0].secrets[1]: secret 'a' is already granted by secrets[0]" } },
        { S("[\"a\",{\"name\":\"a\",\"file\":\"b\"}]"),
          { "workloads[0].secrets[1].name: secret 'a' is already granted by secrets[0]" } },
        { S("[\"a\",{\"name\":\"b\",\"file\":\"a\"}]"),
          { "workloads[0].secrets[1].file: file 'a' is already used by secrets[0]" } },
        { S("[{\"name\":\"a\",\"file\":\"b\"},\"b\"]"),
          { "workloads[0].secrets[1]: file 'b' is already used by secrets[0]" } },
        /* ttl and max_ttl */
        { W(",\"ttl\":\"0s\""), { "workloads[0].ttl: out of range (allowed 1 to 31622400 seconds)" } },
        { W(",\"max_ttl\":\"367d\""), { "workloads[0].max_ttl: out of range (allowed 1 to 31622400 seconds)" } },
        { W(",\"ttl\":\"fifteen\""),
          { "workloads[0].ttl: 'fifteen' is not a valid duration (units ms, s, m, h, d)" } },
        { W(",\"ttl\":1.5"), { "workloads[0].ttl: expected a duration such as \"10s\"" } },
        { W(",\"ttl\":-1"), { "workloads[0].ttl: expected a duration such as \"10s\"" } },
        { W(",\"ttl\":\"2h\",\"max_ttl\":\"1h\""), { "workloads[0].ttl: longer than max_ttl" } },
        { W(",\"ttl\":\"48h\""), { "workloads[0].ttl: longer than defaults.max_ttl" } },
        /* inject */
        { W(",\"inject\":\"run/secrets\""), { "workloads[0].inject: 'run/secrets' is not an absolute path" } },
        { W(",\"inject\":\"/run/../etc\""),
          { "workloads[0].inject: '/run/../etc' must not have '.', '..' or empty components" } },
        { W(",\"inject\":\"/run/secrets/\""),
          { "workloads[0].inject: '/run/secrets/' must not have '.', '..' or empty components" } },
        { W(",\"inject\":\"/\""), { "workloads[0].inject: '/' is the root directory" } },
        { W(",\"inject\":null"), { "workloads[0].inject: expected true, false or an absolute path" } },
        /* on_rotate */
        { W(",\"on_rotate\":{\"signal\":\"KILL\"}"),
          { "workloads[0].on_rotate.signal: 'KILL' is not an allowed signal " SIGNALS } },
        { W(",\"on_rotate\":{\"signal\":\"sighup\"}"),
          { "workloads[0].on_rotate.signal: 'sighup' is not an allowed signal " SIGNALS } },
        { W(",\"on_rotate\":{\"signal\":9}"),
          { "workloads[0].on_rotate.signal: 9 is not an allowed signal " SIGNALS } },
        { W(",\"on_rotate\":{}"), { "workloads[0].on_rotate.signal: required" } },
        { W(",\"on_rotate\":\"SIGHUP\""), { "workloads[0].on_rotate: expected an object" } },
        { W(",\"on_rotate\":{\"signal\":\"HUP\",\"delay\":1}"), { "workloads[0].on_rotate.delay: unknown key" } },
        /* every error at once, in order, across workloads */
        { "[{\"name\":\"a\",\"match\":{\"runtime\":\"lxc\",\"uids\":[-1]},\"ttl\":\"x\"},"
          "{\"name\":\"b\",\"match\":{},\"secrets\":[\"ok\",\"/etc/passwd\"]}]",
          { "workloads[0].match.runtime: 'lxc' is not a runtime " RUNTIMES,
            "workloads[0].match.uids: element 0 is not a uid",
            "workloads[0].ttl: 'x' is not a valid duration (units ms, s, m, h, d)",
            "workloads[1].match: must have at least one key (an empty match would grant every caller)",
            "workloads[1].secrets[1]: '/etc/passwd' is not a valid secret name" } },
};

_Static_assert(ELEMENTSOF(bad_cases) >= 20, "a table of bad arrays");

static void check_errors(size_t i, const struct bad_case *c, const struct config_errors *errs) {
        size_t n = 0;

        while (n < ELEMENTSOF(c->errors) && c->errors[n])
                n++;
        if (errs->n != n) {
                for (size_t j = 0; j < errs->n; j++)
                        print_error("got: %s\n", errs->msgs[j]);
                fail_msg("case %zu (%s): %zu errors, want %zu", i, c->json, errs->n, n);
        }
        for (size_t j = 0; j < n; j++) {
                char want[1024];

                snprintf(want, sizeof(want), SOURCE ": %s", c->errors[j]);
                if (strcmp(errs->msgs[j], want) != 0)
                        fail_msg("case %zu: got '%s', want '%s'", i, errs->msgs[j], want);
        }
}

/* Arrays too long to write out in the table. */
static void test_too_many(void **state) {
        _cleanup_(json_decrefp) json_t *workloads = json_array(), *secrets = json_array();
        struct config_errors errs = {};
        struct policy *p = NULL;

        (void) state;
        for (int i = 0; i <= POLICY_WORKLOADS_MAX; i++)
                assert_int_equal(json_array_append_new(workloads, json_object()), 0);
        for (int i = 0; i <= POLICY_GRANTS_MAX; i++)
                assert_int_equal(json_array_append_new(secrets, json_sprintf("s%d", i)), 0);
        assert_int_equal(policy_parse(workloads, SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, &p, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], SOURCE ": workloads: more than 4096 workloads");
        config_errors_clear(&errs);

        json_array_clear(workloads);
        assert_int_equal(json_array_append_new(workloads, json_pack("{s:s,s:{s:[i]},s:O}", "name", "w", "match",
                                                                    "uids", 0, "secrets", secrets)),
                         0);
        assert_int_equal(policy_parse(workloads, SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, &p, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.msgs[0], SOURCE ": workloads[0].secrets: more than 1024 secrets");
        config_errors_clear(&errs);

        json_array_remove(secrets, 0);
        assert_int_equal(policy_parse(workloads, SOURCE, DEFAULT_TTL, DEFAULT_MAX_TTL, &p, &errs), 0);
        assert_int_equal(p->workloads[0].n_grants, POLICY_GRANTS_MAX);
        policy_free(p);
}

static void test_bad_workloads(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                struct config_errors errs = {};
                struct policy *p = (struct policy *) 0x1; /* must stay untouched */

                assert_int_equal(parse_text(bad_cases[i].json, &p, &errs), -EINVAL);
                assert_ptr_equal(p, (struct policy *) 0x1);
                check_errors(i, &bad_cases[i], &errs);
                config_errors_clear(&errs);
                /* without an error list the verdict is the same */
                assert_int_equal(parse_text(bad_cases[i].json, &p, NULL), -EINVAL);
                assert_ptr_equal(p, (struct policy *) 0x1);
        }
}

/* Matching. */

struct peer_case {
        const char *what;
        enum runtime runtime;
        const char *id;
        uid_t uid;
        gid_t gid;
        gid_t groups[3];
        size_t n_groups;
        const char *cgroup;
        const char *exe;
        const char *want; /* workload name, or NULL for no match */
};

static const char matrix_policy[] =
        "["
        "{\"name\":\"web-exact\",\"match\":{\"runtime\":\"docker\",\"id\":\"" ID_A "\"},\"secrets\":[\"db\"]},"
        "{\"name\":\"web-prefix\",\"match\":{\"runtime\":\"docker\",\"id\":\"bbbbbbbbbbbb\"}},"
        "{\"name\":\"cc-glob\",\"match\":{\"id\":\"cc*\"}},"
        "{\"name\":\"pods\",\"match\":{\"runtime\":\"kubernetes\",\"cgroup\":\"/kubepods.slice/*/*/*\"}},"
        "{\"name\":\"backup\",\"match\":{\"runtime\":\"systemd\",\"unit\":\"backup.service\"}},"
        "{\"name\":\"timers\",\"match\":{\"unit\":\"*-timer.service\"}},"
        "{\"name\":\"ops\",\"match\":{\"runtime\":\"host\",\"gids\":[4242]}},"
        "{\"name\":\"tool\",\"match\":{\"runtime\":\"host\",\"exe\":\"/usr/bin/*\"}},"
        "{\"name\":\"rootless-1000\",\"match\":{\"runtime\":\"rootless\",\"uids\":[1000]}},"
        "{\"name\":\"podman-any\",\"match\":{\"runtime\":\"podman\"}},"
        "{\"name\":\"crio-web\",\"match\":{\"runtime\":\"crio\",\"uids\":[1000,1001],\"exe\":\"/app/*\"}},"
        "{\"name\":\"uid-2000\",\"match\":{\"uids\":[2000]}}"
        "]";

#define POD_CGROUP                                                                                                    \
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b.slice/cri-containerd-" ID_E ".scope"

static const struct peer_case peer_cases[] = {
        { "docker, exact id", RUNTIME_DOCKER, ID_A, 0, 0, {}, 0, "/system.slice/docker-" ID_A ".scope", NULL,
          "web-exact" },
        { "docker, id prefix", RUNTIME_DOCKER, ID_B, 0, 0, {}, 0, "/docker/" ID_B, "/bin/sh", "web-prefix" },
        { "docker, near-miss prefix", RUNTIME_DOCKER, ID_B2, 0, 0, {}, 0, "/docker/" ID_B2, "/bin/sh", NULL },
        { "docker, id glob", RUNTIME_DOCKER, ID_C, 0, 0, {}, 0, "/docker/" ID_C, NULL, "cc-glob" },
        { "podman, id glob before podman-any", RUNTIME_PODMAN, ID_C, 0, 0, {}, 0,
          "/machine.slice/libpod-" ID_C ".scope", NULL, "cc-glob" },
        { "podman, any", RUNTIME_PODMAN, ID_D, 0, 0, {}, 0, "/machine.slice/libpod-" ID_D ".scope", NULL,
          "podman-any" },
        { "kubernetes, cgroup glob", RUNTIME_KUBERNETES, ID_E, 0, 0, {}, 0, POD_CGROUP, NULL, "pods" },
        { "kubernetes, sub-cgroup is one component too deep", RUNTIME_KUBERNETES, ID_E, 0, 0, {}, 0,
          POD_CGROUP "/init.scope", NULL, NULL },
        /* a container's exe path names a file in its own mount namespace */
        { "crio, uid and exe", RUNTIME_CRIO, ID_D, 1001, 1001, {}, 0, "/crio-" ID_D ".scope", "/usr/bin/env",
          NULL },
        { "crio, exe outside the glob", RUNTIME_CRIO, ID_D, 1001, 1001, {}, 0, "/crio-" ID_D ".scope",
          "/app/bin/server", NULL },
        { "crio, no exe", RUNTIME_CRIO, ID_D, 1001, 1001, {}, 0, "/crio-" ID_D ".scope", NULL, NULL },
        { "systemd, unit", RUNTIME_SYSTEMD, "backup.service", 0, 0, {}, 0, "/system.slice/backup.service",
          "/usr/bin/restic", "backup" },
        { "systemd, unit glob; never an id glob", RUNTIME_SYSTEMD, "ccache-timer.service", 0, 0, {}, 0,
          "/system.slice/ccache-timer.service", NULL, "timers" },
        { "systemd, other unit", RUNTIME_SYSTEMD, "cron.service", 0, 0, {}, 0, "/system.slice/cron.service", NULL,
          NULL },
        { "host, supplementary group", RUNTIME_HOST, "", 1000, 1000, { 27, 4242 }, 2, "/user.slice", NULL, "ops" },
        { "host, primary group", RUNTIME_HOST, "", 1000, 4242, {}, 0, "/user.slice", NULL, "ops" },
        { "host, exe glob", RUNTIME_HOST, "", 1000, 1000, { 27 }, 1, "/user.slice", "/usr/bin/env", "tool" },
        { "host, exe glob stops at a slash", RUNTIME_HOST, "", 1000, 1000, {}, 0, "/user.slice",
          "/usr/bin/sub/tool", NULL },
        { "host, exe path that is not there", RUNTIME_HOST, "", 1000, 1000, {}, 0, "/user.slice",
          "/usr/bin/no-such-tool-here", NULL },
        { "host, no exe", RUNTIME_HOST, "", 1000, 1000, {}, 0, "/user.slice", NULL, NULL },
        { "host, uid", RUNTIME_HOST, "", 2000, 2000, {}, 0, "/user.slice", NULL, "uid-2000" },
        { "docker, uid", RUNTIME_DOCKER, ID_D, 2000, 2000, {}, 0, "/docker/" ID_D, NULL, "uid-2000" },
        { "systemd, uid", RUNTIME_SYSTEMD, "other.service", 2000, 2000, {}, 0, "/system.slice/other.service", NULL,
          "uid-2000" },
        { "rootless, uid", RUNTIME_ROOTLESS, "", 1000, 1000, {}, 0,
          "/user.slice/user-1000.slice/user@1000.service/app.slice/libpod-" ID_A ".scope", NULL, "rootless-1000" },
        { "rootless, claims a docker id", RUNTIME_ROOTLESS, ID_A, 1001, 1001, {}, 0,
          "/user.slice/user-1001.slice/user@1001.service/docker-" ID_A ".scope", NULL, NULL },
        { "unknown, uid that would match", RUNTIME_UNKNOWN, "", 2000, 2000, {}, 0, "/a/../b", NULL, NULL },
        { "unknown, group that would match", RUNTIME_UNKNOWN, ID_C, 1000, 4242, { 4242 }, 1, "/docker/" ID_C,
          "/usr/local/bin/tool", NULL },
};

/* A peer and the memory its pointers point into. */
struct test_peer {
        struct peer peer;
        gid_t groups[3];
        char cgroup[512];
        char exe[256];
};

static void make_peer(const struct peer_case *c, struct test_peer *ret) {
        *ret = (struct test_peer) {
                .peer = {
                        .pid = 42,
                        .uid = c->uid,
                        .gid = c->gid,
                        .n_groups = c->n_groups,
                        .pidfd = -1,
                        .cls = { .runtime = c->runtime },
                },
        };
        memcpy(ret->groups, c->groups, sizeof(ret->groups));
        ret->peer.groups = ret->groups;
        snprintf(ret->cgroup, sizeof(ret->cgroup), "%s", c->cgroup);
        ret->peer.cgroup = ret->cgroup;
        if (c->exe) {
                struct stat st;

                snprintf(ret->exe, sizeof(ret->exe), "%s", c->exe);
                ret->peer.exe = ret->exe;
                /* the file it runs is the one at the path, where there is one */
                if (stat(c->exe, &st) == 0) {
                        ret->peer.has_exe_id = true;
                        ret->peer.exe_dev = st.st_dev;
                        ret->peer.exe_ino = st.st_ino;
                }
        }
        snprintf(ret->peer.cls.id, sizeof(ret->peer.cls.id), "%s", c->id);
        /* what attestation says of each: only containers have their own */
        ret->peer.same_mnt_ns = ret->peer.same_pid_ns = ret->peer.same_user_ns =
                c->runtime == RUNTIME_HOST || c->runtime == RUNTIME_SYSTEMD || c->runtime == RUNTIME_ROOTLESS;
}

static void test_match_matrix(void **state) {
        _cleanup_(policy_freep) struct policy *p = NULL;

        (void) state;
        p = parse_ok(matrix_policy);
        for (size_t i = 0; i < ELEMENTSOF(peer_cases); i++) {
                const struct peer_case *c = &peer_cases[i];
                const struct workload *w;
                struct test_peer t;

                make_peer(c, &t);
                w = policy_match(p, &t.peer);
                if (!c->want && w)
                        fail_msg("%s: matched '%s', want no match", c->what, w->name);
                if (c->want && (!w || strcmp(w->name, c->want) != 0))
                        fail_msg("%s: matched '%s', want '%s'", c->what, w ? w->name : "(none)", c->want);
        }
}

/* "*" as an id means every container, and nothing that is not one. */
static void test_match_id_star(void **state) {
        static const struct peer_case cases[] = {
                { "docker", RUNTIME_DOCKER, ID_A, 0, 0, {}, 0, "/docker/" ID_A, NULL, "containers" },
                { "kubernetes", RUNTIME_KUBERNETES, ID_E, 0, 0, {}, 0, POD_CGROUP, NULL, "containers" },
                { "systemd", RUNTIME_SYSTEMD, "a.service", 0, 0, {}, 0, "/system.slice/a.service", NULL, NULL },
                { "host", RUNTIME_HOST, "", 0, 0, {}, 0, "/", NULL, NULL },
                { "rootless", RUNTIME_ROOTLESS, "", 1000, 1000, {}, 0, "/user.slice", NULL, NULL },
        };
        _cleanup_(policy_freep) struct policy *p = NULL;

        (void) state;
        p = parse_ok("[{\"name\":\"containers\",\"match\":{\"id\":\"*\"}}]");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct workload *w;
                struct test_peer t;

                make_peer(&cases[i], &t);
                w = policy_match(p, &t.peer);
                if (cases[i].want)
                        assert_non_null(w);
                else if (w)
                        fail_msg("%s matched an id glob", cases[i].what);
        }
}

/* Annotations come only with a container the OCI hook attested: every
 * key given must be there, its value matching the glob; a socket peer
 * (no annotations) never matches such a workload. */
static void test_match_annotations(void **state) {
        static const struct peer_case pc = { "podman", RUNTIME_PODMAN, ID_A, 0, 0, {}, 0, "/libpod_parent/libpod-" ID_A,
                                             NULL, NULL };
        _cleanup_(policy_freep) struct policy *p = NULL;
        struct test_peer t;

        (void) state;
        p = parse_ok("[{\"name\":\"web\",\"match\":{\"runtime\":\"podman\",\"annotations\":"
                     "{\"io.secretd.workload\":\"web*\",\"tier\":\"front\"}}},"
                     "{\"name\":\"rest\",\"match\":{\"runtime\":\"podman\"}}]");
        make_peer(&pc, &t);
        assert_string_equal(policy_match(p, &t.peer)->name, "rest"); /* no annotations: a socket peer */
        t.peer.annotations = json_pack("{s:s,s:s}", "io.secretd.workload", "web-2", "tier", "front");
        assert_string_equal(policy_match(p, &t.peer)->name, "web");
        json_object_set_new(t.peer.annotations, "tier", json_string("back"));
        assert_string_equal(policy_match(p, &t.peer)->name, "rest");
        json_object_del(t.peer.annotations, "tier");
        assert_string_equal(policy_match(p, &t.peer)->name, "rest"); /* a key missing */
        json_object_set_new(t.peer.annotations, "tier", json_string("front"));
        json_object_set_new(t.peer.annotations, "io.secretd.workload", json_string("api"));
        assert_string_equal(policy_match(p, &t.peer)->name, "rest");
        json_decref(t.peer.annotations);
}

/* Selectors come from the runtime's record (runtime-records.c): globs on
 * image, name, namespace, pod and container, an exact image id, every
 * label given holding; a peer without believed selectors matches none. */
static void test_match_selectors(void **state) {
        static const struct peer_case pc = { "docker", RUNTIME_DOCKER, ID_A, 0, 0, {}, 0, "/docker/" ID_A, NULL,
                                             NULL };
        static const char policy[] =
                "[{\"name\":\"by-id\",\"match\":{\"image_id\":\"sha256:" ID_C "\"}},"
                "{\"name\":\"web\",\"match\":{\"runtime\":\"docker\",\"labels\":{\"app\":\"web\",\"tier\":\"f*\"}}},"
                "{\"name\":\"app2\",\"match\":{\"image\":\"registry.example/app:2.*\"}},"
                "{\"name\":\"named\",\"match\":{\"name\":\"db-?\"}},"
                "{\"name\":\"pay\",\"match\":{\"namespace\":\"payments\",\"pod\":\"api-*\",\"container\":\"main\"}},"
                "{\"name\":\"rest\",\"match\":{\"runtime\":\"docker\"}}]";
        static const struct {
                const char *what, *selectors, *want;
        } cases[] = {
                { "no selectors", NULL, "rest" },
                { "unavailable record", "{\"unavailable\":\"x\",\"name\":\"db-1\",\"image_id\":\"sha256:" ID_C "\"}",
                  "rest" },
                { "image id exact", "{\"image_id\":\"sha256:" ID_C "\"}", "by-id" },
                { "image id is never a glob or prefix", "{\"image_id\":\"sha256:" ID_C "0\"}", "rest" },
                { "labels all hold", "{\"labels\":{\"app\":\"web\",\"tier\":\"front\",\"x\":\"y\"}}", "web" },
                { "one label missing", "{\"labels\":{\"app\":\"web\"}}", "rest" },
                { "one label differs", "{\"labels\":{\"app\":\"web\",\"tier\":\"back\"}}", "rest" },
                { "labels not in the record", "{\"name\":\"x\"}", "rest" },
                { "image glob", "{\"image\":\"registry.example/app:2.17\"}", "app2" },
                { "image glob misses", "{\"image\":\"registry.example/app:3.0\"}", "rest" },
                { "name glob", "{\"name\":\"db-1\"}", "named" },
                { "name glob misses", "{\"name\":\"db-12\"}", "rest" },
                { "kubernetes all three", "{\"namespace\":\"payments\",\"pod\":\"api-7f\",\"container\":\"main\"}",
                  "pay" },
                { "kubernetes, other container", "{\"namespace\":\"payments\",\"pod\":\"api-7f\","
                                                 "\"container\":\"sidecar\"}", "rest" },
                { "kubernetes, no namespace", "{\"pod\":\"api-7f\",\"container\":\"main\"}", "rest" },
        };
        _cleanup_(policy_freep) struct policy *p = NULL;

        (void) state;
        p = parse_ok(policy);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct workload *w;
                struct test_peer t;

                make_peer(&pc, &t);
                t.peer.selectors = cases[i].selectors ? json_loads(cases[i].selectors, 0, NULL) : NULL;
                if (cases[i].selectors)
                        assert_non_null(t.peer.selectors);
                w = policy_match(p, &t.peer);
                if (!w || strcmp(w->name, cases[i].want) != 0)
                        fail_msg("%s: matched '%s', want '%s'", cases[i].what, w ? w->name : "(none)",
                                 cases[i].want);
                json_decref(t.peer.selectors);
        }
}

/* `exe` is the file the kernel runs for the peer (its device and inode),
 * found at a path that matches the glob here: a bind mount over the path
 * in the caller's own mount namespace, or a file put at the path since,
 * matches nothing. */
static void test_match_exe_identity(void **state) {
        char dir[] = "/tmp/test-policy-exe.XXXXXX", a[64], b[64], text[256];
        const struct peer_case c = { "host", RUNTIME_HOST, "", 1000, 1000, {}, 0, "/user.slice", NULL, NULL };
        _cleanup_(policy_freep) struct policy *p = NULL;
        struct test_peer t;
        struct stat sa, sb;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(a, sizeof(a), "%s/allowed", dir);
        snprintf(b, sizeof(b), "%s/other", dir);
        for (const char *f = a; f; f = f == a ? b : NULL) {
                FILE *fp = fopen(f, "w");

                assert_non_null(fp);
                fputs(f, fp);
                fclose(fp);
        }
        assert_int_equal(stat(a, &sa), 0);
        assert_int_equal(stat(b, &sb), 0);
        snprintf(text, sizeof(text), "[{\"name\":\"tool\",\"match\":{\"runtime\":\"host\",\"exe\":\"%s/allow*\"}}]", dir);
        p = parse_ok(text);
        make_peer(&c, &t);
        snprintf(t.exe, sizeof(t.exe), "%s", a);
        t.peer.exe = t.exe;
        t.peer.has_exe_id = true;
        t.peer.exe_dev = sa.st_dev;
        t.peer.exe_ino = sa.st_ino;
        assert_non_null(policy_match(p, &t.peer));
        /* the path says "allowed", the process runs another file */
        t.peer.exe_ino = sb.st_ino;
        assert_null(policy_match(p, &t.peer));
        t.peer.exe_ino = sa.st_ino;
        /* in a mount namespace of its own, the path proves nothing */
        t.peer.same_mnt_ns = false;
        assert_null(policy_match(p, &t.peer));
        t.peer.same_mnt_ns = true;
        /* no identity read: no match */
        t.peer.has_exe_id = false;
        assert_null(policy_match(p, &t.peer));
        t.peer.has_exe_id = true;
        /* the file at the path replaced since: not the one it runs */
        assert_int_equal(rename(b, a), 0);
        assert_null(policy_match(p, &t.peer));
        assert_int_equal(unlink(a), 0);
        assert_null(policy_match(p, &t.peer));
        assert_int_equal(rmdir(dir), 0);
}

/* Workloads are tried in order: swapping two that both match swaps the
 * winner. */
static void test_match_first_wins(void **state) {
        _cleanup_(policy_freep) struct policy *ab = NULL, *ba = NULL;
        const struct peer_case c = { "docker", RUNTIME_DOCKER, ID_A, 1000, 1000, {}, 0, "/docker/" ID_A, NULL, NULL };
        struct test_peer t;

        (void) state;
        ab = parse_ok("[{\"name\":\"a\",\"match\":{\"runtime\":\"docker\"}},"
                      "{\"name\":\"b\",\"match\":{\"uids\":[1000]}}]");
        ba = parse_ok("[{\"name\":\"b\",\"match\":{\"uids\":[1000]}},"
                      "{\"name\":\"a\",\"match\":{\"runtime\":\"docker\"}}]");
        make_peer(&c, &t);
        assert_string_equal(policy_match(ab, &t.peer)->name, "a");
        assert_string_equal(policy_match(ba, &t.peer)->name, "b");
}

/* No policy, an empty one, or a hand-built workload with no match keys:
 * nobody gets anything. */
static void test_match_deny_by_default(void **state) {
        _cleanup_(policy_freep) struct policy *empty = NULL;
        const struct peer_case c = { "host root", RUNTIME_HOST, "", 0, 0, {}, 0, "/", "/usr/bin/x", NULL };
        char name[] = "all";
        struct workload w = { .name = name };
        struct policy hand = { .workloads = &w, .n_workloads = 1 };
        struct test_peer t;

        (void) state;
        make_peer(&c, &t);
        empty = parse_ok("[]");
        assert_null(policy_match(empty, &t.peer));
        assert_null(policy_match(NULL, &t.peer));
        assert_null(policy_match(empty, NULL));
        assert_null(policy_match(&hand, &t.peer));
        w.match.has_runtime = true;
        w.match.runtime = RUNTIME_HOST;
        assert_ptr_equal(policy_match(&hand, &t.peer), &w);
        t.peer.cls.runtime = _RUNTIME_MAX;
        assert_null(policy_match(&hand, &t.peer));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_design_example),
                cmocka_unit_test(test_forms_and_defaults),
                cmocka_unit_test(test_signal_names),
                cmocka_unit_test(test_bad_workloads),
                cmocka_unit_test(test_too_many),
                cmocka_unit_test(test_match_matrix),
                cmocka_unit_test(test_match_id_star),
                cmocka_unit_test(test_match_exe_identity),
                cmocka_unit_test(test_match_annotations),
                cmocka_unit_test(test_match_selectors),
                cmocka_unit_test(test_match_first_wins),
                cmocka_unit_test(test_match_deny_by_default),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
