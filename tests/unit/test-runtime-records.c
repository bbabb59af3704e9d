/* test-runtime-records.c — a container's selectors from Docker's and
 * Podman's own records: what each parser takes and refuses, and that a
 * record is believed only when root alone could have written it (owner,
 * mode, no symbolic link on the way), cached once believed and not
 * before.  Real engines are tests/integration/t-selectors.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "runtime-records.h"
#include "secretd/cleanup.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG "9876543210fedcba9876543210fedcba9876543210fedcba9876543210fedcba"

static const char docker_record[] =
        "{\"ID\":\"" ID "\",\"Name\":\"/web-1\",\"Image\":\"sha256:" IMG "\","
        "\"Config\":{\"Image\":\"registry.example/app:2.1\",\"Env\":[\"app=forged\"],"
        "\"Labels\":{\"app\":\"web\",\"tier\":\"front\"}}}";

static const char podman_record[] =
        "[{\"id\":\"" "f" ID "\",\"names\":[\"other\"]},"
        "{\"id\":\"" ID "\",\"names\":[\"db-1\"],\"image\":\"" IMG "\","
        "\"metadata\":\"{\\\"image-name\\\":\\\"localhost/bb:1\\\",\\\"name\\\":\\\"db-1\\\"}\"}]";

static const char *str(json_t *sel, const char *key) {
        return json_string_value(json_object_get(sel, key));
}

static void test_docker(void **state) {
        _cleanup_(json_decrefp) json_t *sel = NULL;
        const char *why = NULL;

        (void) state;
        assert_int_equal(records_parse_docker(docker_record, strlen(docker_record), ID, &sel, &why), 0);
        assert_string_equal(str(sel, "name"), "web-1");
        assert_string_equal(str(sel, "image"), "registry.example/app:2.1");
        assert_string_equal(str(sel, "image_id"), "sha256:" IMG);
        assert_string_equal(str(json_object_get(sel, "labels"), "app"), "web");
        assert_int_equal(json_object_size(json_object_get(sel, "labels")), 2); /* Env is not a label */
}

static void test_docker_refused(void **state) {
        static const struct {
                const char *text, *why;
        } cases[] = {
                { "", "not a JSON object" },
                { "[]", "not a JSON object" },
                { "{\"ID\":\"" ID "0\",\"Name\":\"/a\",\"Config\":{}}", "of another container" },
                { "{\"Name\":\"/a\",\"Config\":{}}", "of another container" },
                { "{\"ID\":\"" ID "\",\"Config\":{}}", "no Name or Config" },
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\"}", "no Name or Config" },
                { "{\"ID\":\"" ID "\",\"Name\":\"\",\"Config\":{}}", "malformed" },
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\\nb\",\"Config\":{}}", "malformed" },
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\",\"Config\":{\"Labels\":[\"a\"]}}", "malformed" },
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\",\"Config\":{\"Labels\":{\"a\":1}}}", "malformed" },
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\",\"Config\":{\"Labels\":{\"a\":\"x\\u0000y\"}}}", "not a JSON object" },
                /* a duplicate key could say one thing to us and another to docker */
                { "{\"ID\":\"" ID "\",\"Name\":\"/a\",\"Name\":\"/b\",\"Config\":{}}", "not a JSON object" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *sel = (json_t *) 0x1;
                const char *why = NULL;

                assert_int_equal(records_parse_docker(cases[i].text, strlen(cases[i].text), ID, &sel, &why),
                                 -EBADMSG);
                assert_ptr_equal(sel, (json_t *) 0x1);
                if (!why || !strstr(why, cases[i].why))
                        fail_msg("case %zu: reason '%s', want '%s'", i, why, cases[i].why);
        }
}

static void test_podman(void **state) {
        _cleanup_(json_decrefp) json_t *sel = NULL;
        json_t *other = NULL;
        const char *why = NULL;

        (void) state;
        assert_int_equal(records_parse_podman(podman_record, strlen(podman_record), ID, &sel, &why), 0);
        assert_string_equal(str(sel, "name"), "db-1");
        assert_string_equal(str(sel, "image"), "localhost/bb:1");
        assert_string_equal(str(sel, "image_id"), "sha256:" IMG);
        assert_int_equal(json_object_size(json_object_get(sel, "labels")), 0);
        assert_int_equal(records_parse_podman(podman_record, strlen(podman_record), "abc", &other, &why), -EBADMSG);
        assert_non_null(strstr(why, "does not list"));
        assert_int_equal(records_parse_podman("{}", 2, ID, &other, &why), -EBADMSG);
        assert_null(other);
}

/* A bbolt file as Podman 4 leaves it, built by hand: metas on pages 0 and
 * 1 (page 1 the newer), the root bucket a leaf on page 2 whose "ctr"
 * bucket is a leaf on page 3, holding the container's bucket inline with
 * its "config" key. */
#define PS 4096
#define LIBPOD_CONFIG                                                                                         \
        "{\"id\":\"" ID "\",\"name\":\"web-2\",\"rootfsImageName\":\"localhost/bb:1\","                       \
        "\"rootfsImageID\":\"" IMG "\",\"labels\":{\"app\":\"web\"},\"spec\":{\"process\":{\"env\":[\"app=x\"]}}}"

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A leaf page header and one element at p: key, value, flags. */
static size_t leaf1(uint8_t *p, uint64_t id, const char *key, const uint8_t *val, size_t vlen, uint32_t flags) {
        size_t kl = strlen(key);

        put64(p, id);
        put16(p + 8, 0x02);
        put16(p + 10, 1);
        put32(p + 16, flags);
        put32(p + 20, 16); /* from the element to its key */
        put32(p + 24, (uint32_t) kl);
        put32(p + 28, (uint32_t) vlen);
        memcpy(p + 32, key, kl);
        memcpy(p + 32 + kl, val, vlen);
        return 32 + kl + vlen;
}

static void meta(uint8_t *db, unsigned page, uint64_t txid) {
        uint8_t *m = db + page * PS + 16;
        uint64_t h = 14695981039346656037ULL;

        put16(db + page * PS + 8, 0x04);
        put32(m, 0xED0CDAEDu);
        put32(m + 4, 2);
        put32(m + 8, PS);
        put64(m + 16, 2); /* the root bucket's page */
        put64(m + 40, 4); /* pages in use */
        put64(m + 48, txid);
        for (size_t i = 0; i < 56; i++)
                h = (h ^ m[i]) * 1099511628211ULL;
        put64(m + 56, h);
}

static uint8_t *libpod_db(size_t *len) {
        uint8_t *db = calloc(4, PS), inner[PS] = { 0 }, bucket[16] = { 0 };
        size_t n;

        assert_non_null(db);
        meta(db, 0, 7);
        meta(db, 1, 8);
        put64(bucket, 3);
        leaf1(db + 2 * PS, 2, "ctr", bucket, sizeof(bucket), 0x01);
        /* the container's bucket: root 0, its page inline after the header */
        n = leaf1(inner + 16, 0, "config", (const uint8_t *) LIBPOD_CONFIG, strlen(LIBPOD_CONFIG), 0);
        leaf1(db + 3 * PS, 3, ID, inner, 16 + n, 0x01);
        *len = 4 * PS;
        return db;
}

static void test_libpod(void **state) {
        _cleanup_(json_decrefp) json_t *sel = NULL;
        json_t *none = NULL;
        const char *why = NULL;
        size_t len;
        uint8_t *db = libpod_db(&len);

        (void) state;
        assert_int_equal(records_parse_libpod(db, len, ID, &sel, &why), 0);
        assert_string_equal(str(sel, "name"), "web-2");
        assert_string_equal(str(sel, "image"), "localhost/bb:1");
        assert_string_equal(str(sel, "image_id"), "sha256:" IMG);
        assert_string_equal(str(json_object_get(sel, "labels"), "app"), "web");
        assert_int_equal(records_parse_libpod(db, len, "f" ID, &none, &why), -EBADMSG);
        assert_non_null(strstr(why, "does not list"));
        /* a torn meta is skipped for the other; both torn, nothing */
        json_decref(sel);
        sel = NULL;
        db[PS + 16 + 48] ^= 1;
        assert_int_equal(records_parse_libpod(db, len, ID, &sel, &why), 0);
        db[16 + 48] ^= 1;
        assert_int_equal(records_parse_libpod(db, len, ID, &none, &why), -EBADMSG);
        assert_non_null(strstr(why, "not a sound bolt database"));
        assert_null(none);
        db[16 + 48] ^= 1;
        db[PS + 16 + 48] ^= 1;
        /* a page out of the file */
        put64(db + 2 * PS + 32 + 3, 99);
        assert_int_equal(records_parse_libpod(db, len, ID, &none, &why), -EBADMSG);
        assert_null(none);
        free(db);
}

static void test_kubernetes(void **state) {
        _cleanup_(json_decrefp) json_t *sel = json_object();
        _cleanup_(json_decrefp) json_t *ann = json_pack("{s:s,s:s,s:s,s:s}", "io.kubernetes.pod.namespace",
                                                        "payments", "io.kubernetes.pod.name", "api-7f",
                                                        "io.kubernetes.container.name", "main", "other", "x");

        (void) state;
        assert_int_equal(records_add_kubernetes(sel, ann), 0);
        assert_string_equal(str(sel, "namespace"), "payments");
        assert_string_equal(str(sel, "pod"), "api-7f");
        assert_string_equal(str(sel, "container"), "main");
        assert_int_equal(json_object_size(sel), 3);
}

/* A docker data root under a temporary directory, root's, 0700. */
struct fixture {
        char root[64], dir[256], file[300];
        struct records_cache *cache;
        struct peer peer;
        char identity[80];
};

static void write_record(struct fixture *f, const char *text) {
        FILE *fp = fopen(f->file, "w");

        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(f->file, 0600), 0);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        char path[128];

        assert_non_null(f);
        snprintf(f->root, sizeof(f->root), "/tmp/test-records-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        snprintf(path, sizeof(path), "%s/containers", f->root);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(f->dir, sizeof(f->dir), "%s/" ID, path);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        snprintf(f->file, sizeof(f->file), "%s/config.v2.json", f->dir);
        write_record(f, docker_record);
        assert_int_equal(records_cache_new(&f->cache), 0);
        snprintf(f->identity, sizeof(f->identity), "docker:%s", ID);
        f->peer = (struct peer) { .pidfd = -1, .cls = { .runtime = RUNTIME_DOCKER }, .identity = f->identity };
        snprintf(f->peer.cls.id, sizeof(f->peer.cls.id), "%s", ID);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[128];

        json_decref(f->peer.selectors);
        records_cache_free(f->cache);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static const char *attach(struct fixture *f) {
        const struct records_where w = { .docker_data_root = f->root, .podman_storage_root = f->root };

        assert_int_equal(records_attach(f->cache, &w, &f->peer), 0);
        assert_non_null(f->peer.selectors);
        return str(f->peer.selectors, "unavailable");
}

static void test_attach_trusted(void **state) {
        struct fixture *f = *state;

        assert_null(attach(f));
        assert_string_equal(str(f->peer.selectors, "name"), "web-1");
        assert_int_equal(records_cache_size(f->cache), 1);
        /* cached: the container's record is read once */
        assert_int_equal(unlink(f->file), 0);
        assert_null(attach(f));
        assert_string_equal(str(f->peer.selectors, "name"), "web-1");
        records_cache_flush(f->cache);
        assert_non_null(strstr(attach(f), "no record"));
        write_record(f, docker_record);
        /* a refusal is remembered for RETRY_USEC (5 s: not waited for here) */
        assert_non_null(strstr(attach(f), "no record"));
        assert_int_equal(records_cache_size(f->cache), 1);
}

static void test_attach_untrusted(void **state) {
        struct fixture *f = *state;
        char link[320];

        assert_int_equal(chown(f->file, 1000, 1000), 0);
        assert_non_null(strstr(attach(f), "not root's alone"));
        assert_int_equal(chown(f->file, 0, 0), 0);
        records_cache_flush(f->cache);
        assert_int_equal(chmod(f->file, 0622), 0);
        assert_non_null(strstr(attach(f), "not root's alone"));
        assert_int_equal(chmod(f->file, 0600), 0);
        records_cache_flush(f->cache);
        assert_int_equal(chmod(f->dir, 0777), 0);
        assert_non_null(strstr(attach(f), "not root's alone"));
        assert_int_equal(chmod(f->dir, 0700), 0);
        records_cache_flush(f->cache);
        /* a link where the record should be */
        snprintf(link, sizeof(link), "%s.real", f->file);
        assert_int_equal(rename(f->file, link), 0);
        assert_int_equal(symlink(link, f->file), 0);
        records_cache_flush(f->cache);
        assert_non_null(strstr(attach(f), "symbolic link"));
        assert_int_equal(unlink(f->file), 0);
        assert_int_equal(rename(link, f->file), 0);
        records_cache_flush(f->cache); /* a reload */
        assert_null(attach(f));
}

/* Socket peers of other runtimes have no record; annotations give a pod. */
static void test_attach_other_runtimes(void **state) {
        struct fixture *f = *state;
        const struct records_where w = { .docker_data_root = f->root, .podman_storage_root = f->root };

        f->peer.cls.runtime = RUNTIME_SYSTEMD;
        assert_int_equal(records_attach(f->cache, &w, &f->peer), 0);
        assert_null(f->peer.selectors);
        f->peer.cls.runtime = RUNTIME_CRIO;
        f->peer.annotations = json_pack("{s:s,s:s}", "io.kubernetes.pod.name", "api-7f",
                                        "io.kubernetes.pod.namespace", "payments");
        assert_int_equal(records_attach(f->cache, &w, &f->peer), 0);
        assert_string_equal(str(f->peer.selectors, "namespace"), "payments");
        assert_string_equal(str(f->peer.selectors, "pod"), "api-7f");
        json_decref(f->peer.annotations);
        f->peer.annotations = NULL;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_docker),
                cmocka_unit_test(test_docker_refused),
                cmocka_unit_test(test_podman),
                cmocka_unit_test(test_libpod),
                cmocka_unit_test(test_kubernetes),
                cmocka_unit_test_setup_teardown(test_attach_trusted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attach_untrusted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attach_other_runtimes, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
