/* fuzz-config.c — the whole configuration file (config.c, and through it
 * parse.c and policy.c): any text through config_load_string(), with and
 * without an error list.  Beyond not crashing, checks the contract of
 * config.h: a file with any error yields no config at all, an accepted
 * one has every path absolute, its limits in range and its policy parsed,
 * and the verdict does not depend on whether errors are collected. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p, bool may_be_empty) {
        if (!p || (p[0] != '/' && !(may_be_empty && p[0] == '\0')))
                abort();
}

static void check_accepted(const struct config *c) {
        check_path(c->admin_socket, false);
        check_path(c->workload_socket, false);
        check_path(c->runtime_dir, false);
        check_path(c->state_dir, false);
        check_path(c->secrets_root, false);
        check_path(c->master_key, false);
        check_path(c->audit_log, true);
        if (strcmp(c->admin_socket, c->workload_socket) == 0)
                abort();
        if (c->max_value_size == 0 || c->max_value_size > STORE_VALUE_MAX_HARD)
                abort();
        if (c->max_connections == 0 || c->ttl_usec == 0 || c->ttl_usec > c->max_ttl_usec || c->tmpfs_size < 4096)
                abort();
        if (c->n_admin_uids > 0 && !c->admin_uids)
                abort();
        for (size_t i = 0; i < c->n_admin_groups; i++)
                if (!c->admin_groups[i] || !c->admin_groups[i][0])
                        abort();
        if (!c->policy)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_errors errs = {};
        struct config *c = NULL, *d = NULL;
        char *text;
        int r, r2;

        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        r = config_load_string(text, "fuzz.json", &c, &errs);
        if ((r == 0) != (c != NULL) || (r == 0 && errs.n > 0) || (r == -EINVAL && errs.n == 0))
                abort();
        for (size_t i = 0; i < errs.n; i++)
                if (strncmp(errs.msgs[i], "fuzz.json: ", 11) != 0)
                        abort();
        r2 = config_load_string(text, "fuzz.json", &d, NULL);
        if ((r2 == 0) != (r == 0) || (r2 == 0) != (d != NULL))
                abort();
        if (c)
                check_accepted(c);
        config_free(c);
        config_free(d);
        config_errors_clear(&errs);
        free(text);
        return 0;
}
