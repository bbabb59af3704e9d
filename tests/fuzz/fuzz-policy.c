/* fuzz-policy.c — the workloads array: any JSON text through
 * policy_parse(), with and without an error list; a parsed policy is then
 * matched against a few fixed peers and every grant looked up, so the
 * structures it builds are walked too. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "config.h"
#include "policy.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static gid_t groups[] = { 27, 100 };
static char docker_cgroup[] = "/system.slice/docker-" ID ".scope";
static char unit_cgroup[] = "/system.slice/backup.service";
static char exe[] = "/usr/bin/app";
static struct peer peers[] = {
        { .uid = 1000, .gid = 1000, .groups = groups, .n_groups = 2, .cgroup = docker_cgroup, .exe = exe,
          .cls = { .runtime = RUNTIME_DOCKER, .id = ID } },
        { .uid = 0, .gid = 0, .cgroup = unit_cgroup, .cls = { .runtime = RUNTIME_SYSTEMD, .id = "backup.service" } },
        { .uid = 2000, .gid = 2000, .cgroup = unit_cgroup, .exe = exe, .cls = { .runtime = RUNTIME_HOST } },
        { .uid = 2000, .gid = 2000, .cgroup = unit_cgroup, .cls = { .runtime = RUNTIME_UNKNOWN } },
};

static void walk(const struct policy *p) {
        for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
                const struct workload *w = policy_match(p, &peers[i]);

                if (peers[i].cls.runtime == RUNTIME_UNKNOWN && w)
                        abort();
                for (size_t j = 0; w && j < w->n_grants; j++)
                        if (workload_grant(w, w->grants[j].name) != &w->grants[j] || !w->grants[j].file ||
                            w->grants[j].mode > 0777)
                                abort();
                if (w && (w->ttl_usec == 0 || w->ttl_usec > w->max_ttl_usec))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_errors errs = {};
        struct policy *p = NULL, *q = NULL;
        char *text;
        json_t *j;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
        free(text);
        if (!j)
                return 0;
        r = policy_parse(j, "fuzz", 3600000000ULL, 86400000000ULL, &p, &errs);
        if ((r == 0 && (!p || errs.n > 0)) || (r < 0 && p) || (r == -EINVAL && errs.n == 0))
                abort();
        /* the verdict does not depend on whether errors are collected */
        if ((policy_parse(j, "fuzz", 3600000000ULL, 86400000000ULL, &q, NULL) == 0) != (r == 0))
                abort();
        if (p)
                walk(p);
        policy_free(p);
        policy_free(q);
        config_errors_clear(&errs);
        json_decref(j);
        return 0;
}
