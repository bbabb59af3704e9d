/* config.h — the daemon's configuration (DESIGN section 4).
 *
 * One JSON file; every key has a default, so "{}" is a valid config and the
 * defaults are the embedded configuration.  Unknown keys, wrong types and
 * out-of-range values are errors reported as "FILE: key.path: reason", all
 * of them at once, and a file with any error yields no config at all. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config-parse.h"
#include "secretd/paths.h"

#define CONFIG_DEFAULT_PATH SECRETD_CONFIG_FILE

struct policy;

struct config {
        char *admin_socket;
        char *workload_socket;
        char *hook_socket;      /* the OCI hook's: 0600 root, in a 0700 directory */
        char *runtime_dir;
        char *state_dir;
        char *secrets_root;
        char *master_key;
        char *audit_log; /* "" disables the audit file */
        /* where the runtimes keep their records (runtime-records.h) */
        char *docker_data_root;
        char *podman_storage_root;

        /* "etcd": the store in an etcd cluster instead of state_dir */
        bool has_etcd;
        char **etcd_endpoints;
        size_t n_etcd_endpoints;
        char *etcd_prefix; /* "/secretd/" unless given */
        char *etcd_ca, *etcd_cert, *etcd_key; /* TLS files, or NULL */

        uint64_t max_value_size;
        uint64_t max_connections;
        uint64_t idle_timeout_usec;
        uint64_t request_timeout_usec;     /* request line to last body byte */
        uint64_t max_connections_per_peer; /* per attested identity; admins are not counted */
        uint64_t max_watchers;             /* parked watch requests in all */
        uint64_t max_watchers_per_peer;    /* … of one identity; admins are not counted */

        uid_t *admin_uids;
        size_t n_admin_uids;
        char **admin_groups; /* names or decimal gids */
        size_t n_admin_groups;

        uint64_t ttl_usec;
        uint64_t max_ttl_usec;
        uint64_t tmpfs_size;

        json_t *workloads;     /* the policy's array, as written */
        struct policy *policy; /* parsed from it (policy.c); never NULL */
};

/* The embedded defaults (production paths). */
int config_new_default(struct config **ret);
/* The embedded defaults with every path under dir (made absolute): the
 * development configuration. */
int config_new_dev(const char *dir, struct config **ret);
/* Parses JSON text; source names it in error messages. */
int config_load_string(const char *text, const char *source, struct config **ret, struct config_errors *errs);
int config_load_file(const char *path, struct config **ret, struct config_errors *errs);
/* For --check-config: as config_load_file, but *ret is also set when the
 * file parsed and has errors (-EINVAL), to the configuration as far as it
 * goes (defaults where a value failed): to be checked for warnings, never
 * used. */
int config_check_file(const char *path, struct config **ret, struct config_errors *errs);
/* What is allowed but likely wrong, as "source: key: reason" lines appended
 * to warns (the daemon logs them; --check-config prints them). */
void config_warnings(const struct config *c, const char *source, struct config_errors *warns);

struct config *config_free(struct config *c);
void config_freep(struct config **c);
