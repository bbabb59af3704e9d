/* config.c — JSON configuration: defaults, strict parsing, error lists.
 *
 * The schema is a table (config_root below): each key names its kind and
 * where it lands in struct config, so adding a key is one line.  Parsing
 * collects every error instead of stopping at the first, because an
 * operator fixing a file wants the whole list.  Never logs. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-parse.h"
#include "config.h"
#include "policy.h"
#include "runtime-records.h"
#include "secretd/cleanup.h"
#include "secretd/paths.h"
#include "store.h"

enum field_kind {
        FIELD_PATH,      /* absolute path string */
        FIELD_PATH_OPT,  /* absolute path, or "" for "off" */
        FIELD_SIZE,      /* "64K" or a number of bytes */
        FIELD_COUNT,     /* positive integer */
        FIELD_DURATION,  /* "10s" or a number of seconds */
        FIELD_UIDS,      /* array of uids */
        FIELD_GROUPS,    /* array of group names or gids */
        FIELD_OBJECT,    /* nested table */
        FIELD_WORKLOADS, /* array of objects, kept for the policy module */
        FIELD_ETCD,      /* the etcd object: its presence moves the store */
        FIELD_URLS,      /* array of http:// or https:// URLs */
        FIELD_KEY_PREFIX, /* "/…/": a key prefix in etcd */
        _FIELD_KIND_MAX
};

struct field {
        const char *key;
        enum field_kind kind;
        size_t offset;
        uint64_t min, max; /* for sizes, counts and durations */
        const struct field *children;
};

static const struct field config_limits[] = {
        { "max_value_size", FIELD_SIZE, offsetof(struct config, max_value_size), 1, STORE_VALUE_MAX_HARD, NULL },
        { "max_connections", FIELD_COUNT, offsetof(struct config, max_connections), 1, 65536, NULL },
        { "idle_timeout", FIELD_DURATION, offsetof(struct config, idle_timeout_usec), USEC(1), USEC(3600), NULL },
        { "request_timeout", FIELD_DURATION, offsetof(struct config, request_timeout_usec), USEC(1), USEC(3600),
          NULL },
        { "max_connections_per_peer", FIELD_COUNT, offsetof(struct config, max_connections_per_peer), 1, 65536,
          NULL },
        { "max_watchers", FIELD_COUNT, offsetof(struct config, max_watchers), 1, 65536, NULL },
        { "max_watchers_per_peer", FIELD_COUNT, offsetof(struct config, max_watchers_per_peer), 1, 65536, NULL },
        {}
};

static const struct field config_admin[] = {
        { "uids", FIELD_UIDS, 0, 0, 0, NULL },
        { "groups", FIELD_GROUPS, 0, 0, 0, NULL },
        {}
};

static const struct field config_defaults[] = {
        { "ttl", FIELD_DURATION, offsetof(struct config, ttl_usec), POLICY_TTL_MIN_USEC, POLICY_TTL_MAX_USEC, NULL },
        { "max_ttl", FIELD_DURATION, offsetof(struct config, max_ttl_usec), POLICY_TTL_MIN_USEC, POLICY_TTL_MAX_USEC, NULL },
        { "tmpfs_size", FIELD_SIZE, offsetof(struct config, tmpfs_size), 4096, 1ULL << 30, NULL },
        {}
};

static const struct field config_docker[] = {
        { "data_root", FIELD_PATH, offsetof(struct config, docker_data_root), 0, 0, NULL },
        {}
};

static const struct field config_podman[] = {
        { "storage_root", FIELD_PATH, offsetof(struct config, podman_storage_root), 0, 0, NULL },
        {}
};

static const struct field config_runtimes[] = {
        { "docker", FIELD_OBJECT, 0, 0, 0, config_docker },
        { "podman", FIELD_OBJECT, 0, 0, 0, config_podman },
        {}
};

#define ETCD_ENDPOINTS_MAX 16
#define ETCD_URL_MAX 512
#define ETCD_PREFIX_MAX 200
#define ETCD_VALUE_WARN (700 * 1024)

static const struct field config_etcd[] = {
        { "endpoints", FIELD_URLS, 0, 0, 0, NULL },
        { "prefix", FIELD_KEY_PREFIX, 0, 0, 0, NULL },
        { "ca", FIELD_PATH, offsetof(struct config, etcd_ca), 0, 0, NULL },
        { "cert", FIELD_PATH, offsetof(struct config, etcd_cert), 0, 0, NULL },
        { "key", FIELD_PATH, offsetof(struct config, etcd_key), 0, 0, NULL },
        {}
};

static const struct field config_root[] = {
        { "admin_socket", FIELD_PATH, offsetof(struct config, admin_socket), 0, 0, NULL },
        { "workload_socket", FIELD_PATH, offsetof(struct config, workload_socket), 0, 0, NULL },
        { "hook_socket", FIELD_PATH, offsetof(struct config, hook_socket), 0, 0, NULL },
        { "runtime_dir", FIELD_PATH, offsetof(struct config, runtime_dir), 0, 0, NULL },
        { "state_dir", FIELD_PATH, offsetof(struct config, state_dir), 0, 0, NULL },
        { "secrets_root", FIELD_PATH, offsetof(struct config, secrets_root), 0, 0, NULL },
        { "master_key", FIELD_PATH, offsetof(struct config, master_key), 0, 0, NULL },
        { "audit_log", FIELD_PATH_OPT, offsetof(struct config, audit_log), 0, 0, NULL },
        { "limits", FIELD_OBJECT, 0, 0, 0, config_limits },
        { "admin", FIELD_OBJECT, 0, 0, 0, config_admin },
        { "defaults", FIELD_OBJECT, 0, 0, 0, config_defaults },
        { "runtimes", FIELD_OBJECT, 0, 0, 0, config_runtimes },
        { "workloads", FIELD_WORKLOADS, 0, 0, 0, NULL },
        { "etcd", FIELD_ETCD, 0, 0, 0, config_etcd },
        {}
};

struct parser {
        struct conf_parser base; /* counts errors even when it keeps none: any error means no config */
        struct config *c;
        bool etcd_endpoints_seen;
};

static int set_string(char **slot, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*slot);
        *slot = s;
        return 0;
}

static void parse_path(struct parser *p, const struct field *f, const char *path, json_t *v) {
        const char *s = conf_string(&p->base, path, v, "a string");

        if (!s)
                return;
        if (!(f->kind == FIELD_PATH_OPT && s[0] == '\0') && s[0] != '/') {
                conf_report(&p->base, path, "'%s' is not an absolute path", s);
                return;
        }
        if (strlen(s) >= PATH_MAX - 64) {
                conf_report(&p->base, path, "path is too long");
                return;
        }
        (void) conf_store_string(&p->base, path, (char **) ((char *) p->c + f->offset), s);
}

static void parse_number(struct parser *p, const struct field *f, const char *path, json_t *v) {
        static const enum conf_number_kind kinds[_FIELD_KIND_MAX] = {
                [FIELD_SIZE] = CONF_SIZE,
                [FIELD_COUNT] = CONF_COUNT,
                [FIELD_DURATION] = CONF_DURATION,
        };

        (void) conf_number(&p->base, path, v, kinds[f->kind], f->min, f->max,
                           (uint64_t *) ((char *) p->c + f->offset));
}

static void parse_uids(struct parser *p, const char *path, json_t *v) {
        uint32_t *uids;
        size_t n;

        if (conf_id_list(&p->base, path, v, "uid", true, &uids, &n) < 0)
                return;
        free(p->c->admin_uids);
        p->c->admin_uids = uids;
        p->c->n_admin_uids = n;
}

static void parse_groups(struct parser *p, const char *path, json_t *v) {
        size_t i, n = json_array_size(v);
        json_t *e;
        char **groups;

        if (!json_is_array(v)) {
                conf_report(&p->base, path, "expected an array of group names or gids");
                return;
        }
        groups = calloc(n + 1, sizeof(char *));
        if (!groups) {
                conf_report(&p->base, path, "out of memory");
                return;
        }
        json_array_foreach(v, i, e) {
                if (json_is_integer(e) && json_integer_value(e) >= 0 && json_integer_value(e) < UINT32_MAX) {
                        if (asprintf(&groups[i], "%lld", (long long) json_integer_value(e)) < 0)
                                groups[i] = NULL;
                } else if (json_is_string(e) && json_string_length(e) > 0 && json_string_length(e) < 64 &&
                           strlen(json_string_value(e)) == json_string_length(e)) {
                        groups[i] = strdup(json_string_value(e));
                } else {
                        conf_report(&p->base, path, "element %zu is not a group name or gid", i);
                        break;
                }
                if (!groups[i]) {
                        conf_report(&p->base, path, "out of memory");
                        break;
                }
        }
        if (i < n) {
                for (size_t j = 0; j < n; j++)
                        free(groups[j]);
                free(groups);
                return;
        }
        for (size_t j = 0; j < p->c->n_admin_groups; j++)
                free(p->c->admin_groups[j]);
        free(p->c->admin_groups);
        p->c->admin_groups = groups;
        p->c->n_admin_groups = n;
}

static void parse_object(struct parser *p, const struct field *table, const char *prefix, json_t *obj);

/* Printable ASCII without spaces: what goes into a URL or an etcd key. */
static bool plain_text(const char *s) {
        for (; *s; s++)
                if (*s <= ' ' || *s > '~')
                        return false;
        return true;
}

static void parse_urls(struct parser *p, const char *path, json_t *v) {
        size_t i, n = json_array_size(v);
        json_t *e;
        char **urls;

        p->etcd_endpoints_seen = true;
        if (!json_is_array(v) || n == 0 || n > ETCD_ENDPOINTS_MAX) {
                conf_report(&p->base, path, "expected an array of 1 to %d URLs", ETCD_ENDPOINTS_MAX);
                return;
        }
        urls = calloc(n, sizeof(char *));
        if (!urls) {
                conf_report_oom(&p->base, path);
                return;
        }
        json_array_foreach(v, i, e) {
                const char *s = conf_text(&p->base, path, e, "a URL", ETCD_URL_MAX);

                if (s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) && plain_text(s))
                        urls[i] = strdup(s);
                else if (s)
                        conf_report(&p->base, path, "element %zu is not an http:// or https:// URL", i);
        }
        for (size_t j = 0; j < p->c->n_etcd_endpoints; j++)
                free(p->c->etcd_endpoints[j]);
        free(p->c->etcd_endpoints);
        p->c->etcd_endpoints = urls;
        p->c->n_etcd_endpoints = n;
        for (i = 0; i < n; i++)
                if (!urls[i])
                        p->c->n_etcd_endpoints = 0; /* an error was reported */
}

static void parse_key_prefix(struct parser *p, const char *path, json_t *v) {
        const char *s = conf_text(&p->base, path, v, "a key prefix such as \"/secretd/\"", ETCD_PREFIX_MAX);
        size_t n = s ? strlen(s) : 0;

        if (!s)
                return;
        if (n < 2 || s[0] != '/' || s[n - 1] != '/' || !plain_text(s)) {
                conf_report(&p->base, path, "'%s' is not a key prefix: it starts and ends with '/' and has no "
                            "spaces", s);
                return;
        }
        (void) conf_store_string(&p->base, path, &p->c->etcd_prefix, s);
}

static void parse_field(struct parser *p, const struct field *f, const char *path, json_t *v) {
        switch (f->kind) {
        case FIELD_PATH:
        case FIELD_PATH_OPT:
                parse_path(p, f, path, v);
                break;
        case FIELD_SIZE:
        case FIELD_COUNT:
        case FIELD_DURATION:
                parse_number(p, f, path, v);
                break;
        case FIELD_UIDS:
                parse_uids(p, path, v);
                break;
        case FIELD_GROUPS:
                parse_groups(p, path, v);
                break;
        case FIELD_OBJECT:
                parse_object(p, f->children, path, v);
                break;
        case FIELD_ETCD:
                p->c->has_etcd = true;
                parse_object(p, f->children, path, v);
                break;
        case FIELD_URLS:
                parse_urls(p, path, v);
                break;
        case FIELD_KEY_PREFIX:
                parse_key_prefix(p, path, v);
                break;
        case FIELD_WORKLOADS:
                if (!json_is_array(v)) {
                        conf_report(&p->base, path, "expected an array of workloads");
                        break;
                }
                json_decref(p->c->workloads);
                p->c->workloads = json_incref(v);
                break;
        default:
                break;
        }
}

static void parse_object(struct parser *p, const struct field *table, const char *prefix, json_t *obj) {
        const char *key;
        json_t *v;

        if (!json_is_object(obj)) {
                conf_report(&p->base, prefix[0] ? prefix : "(top level)", "expected an object");
                return;
        }
        json_object_foreach(obj, key, v) {
                const struct field *f;
                char path[256];

                snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", key);
                for (f = table; f->key; f++)
                        if (strcmp(f->key, key) == 0)
                                break;
                if (!f->key) {
                        conf_report(&p->base, path, "unknown key");
                        continue;
                }
                parse_field(p, f, path, v);
        }
}

/* path is dir (its first n bytes) or below it. */
static bool path_within(const char *dir, size_t n, const char *path) {
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Cross-field rules the table cannot express. */
static void check_etcd(struct parser *p) {
        if (!p->c->has_etcd)
                return;
        if (!p->etcd_endpoints_seen)
                conf_report(&p->base, "etcd.endpoints", "required: the cluster's client URLs");
        if (!p->c->etcd_cert != !p->c->etcd_key)
                conf_report(&p->base, p->c->etcd_cert ? "etcd.key" : "etcd.cert",
                            "etcd.cert and etcd.key go together (a client certificate and its key)");
        if (!p->c->etcd_prefix)
                (void) conf_store_string(&p->base, "etcd.prefix", &p->c->etcd_prefix, "/secretd/");
}

static void check_config(struct parser *p) {
        check_etcd(p);
        if (p->c->ttl_usec > p->c->max_ttl_usec)
                conf_report(&p->base, "defaults.ttl", "longer than defaults.max_ttl");
        const char *slash = strrchr(p->c->workload_socket, '/');

        if (strcmp(p->c->admin_socket, p->c->workload_socket) == 0)
                conf_report(&p->base, "admin_socket", "same path as workload_socket");
        if (strcmp(p->c->hook_socket, p->c->admin_socket) == 0 || strcmp(p->c->hook_socket, p->c->workload_socket) == 0)
                conf_report(&p->base, "hook_socket", "same path as admin_socket or workload_socket");
        /* containers bind-mount the workload socket's directory */
        else if (slash && slash > p->c->workload_socket &&
                 path_within(p->c->workload_socket, (size_t) (slash - p->c->workload_socket), p->c->hook_socket))
                conf_report(&p->base, "hook_socket", "is in the directory of workload_socket, which containers "
                            "mount; the hook's socket is root's alone");
}

/* Every path of the config: its production default, and where the
 * development configuration puts it under its directory. */
static const struct {
        size_t offset;
        const char *value;
        const char *dev_leaf;
} default_paths[] = {
        { offsetof(struct config, admin_socket), SECRETD_ADMIN_SOCKET, "run/admin.sock" },
        { offsetof(struct config, workload_socket), SECRETD_WORKLOAD_SOCKET, "run/workload/workload.sock" },
        { offsetof(struct config, hook_socket), SECRETD_HOOK_SOCKET, "run/hook/hook.sock" },
        { offsetof(struct config, runtime_dir), SECRETD_RUNTIME_DIR, "run" },
        { offsetof(struct config, state_dir), "/var/lib/secretd", "state" },
        { offsetof(struct config, secrets_root), "/run/secrets", "secrets" },
        { offsetof(struct config, master_key), "/etc/secretd/master.key", "master.key" },
        { offsetof(struct config, audit_log), "/var/log/secretd/audit.jsonl", "audit.jsonl" },
};

static char **path_slot(struct config *c, size_t i) {
        return (char **) ((char *) c + default_paths[i].offset);
}

int config_new_default(struct config **ret) {
        _cleanup_(config_freep) struct config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(default_paths); i++)
                if (set_string(path_slot(c, i), default_paths[i].value) < 0)
                        return -ENOMEM;
        /* the runtimes' own paths: the development configuration too reads
         * the records of the host's containers */
        if (set_string(&c->docker_data_root, RECORDS_DOCKER_DATA_ROOT) < 0 ||
            set_string(&c->podman_storage_root, RECORDS_PODMAN_STORAGE_ROOT) < 0)
                return -ENOMEM;
        c->max_value_size = STORE_VALUE_MAX_DEFAULT;
        c->max_connections = 1024;
        c->idle_timeout_usec = USEC(10);
        c->request_timeout_usec = USEC(10);
        c->max_connections_per_peer = 64;
        c->max_watchers = 256;
        c->max_watchers_per_peer = 16;
        c->admin_uids = calloc(1, sizeof(uid_t)); /* root */
        if (!c->admin_uids)
                return -ENOMEM;
        c->n_admin_uids = 1;
        c->ttl_usec = USEC(3600);
        c->max_ttl_usec = USEC(24 * 3600);
        c->tmpfs_size = 1 << 20;
        if (policy_parse(NULL, "defaults", c->ttl_usec, c->max_ttl_usec, &c->policy, NULL) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_new_dev(const char *dir, struct config **ret) {
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_free_ char *abs = NULL;
        int r;

        abs = realpath(dir, NULL);
        if (!abs)
                return -errno;
        r = config_new_default(&c);
        if (r < 0)
                return r;
        /* the developer running it is its admin, root or not */
        if (getuid() != 0) {
                uid_t *uids = reallocarray(c->admin_uids, 2, sizeof(uid_t));

                if (!uids)
                        return -ENOMEM;
                uids[1] = getuid();
                c->admin_uids = uids;
                c->n_admin_uids = 2;
        }
        for (size_t i = 0; i < ELEMENTSOF(default_paths); i++) {
                char **slot = path_slot(c, i);

                free(*slot);
                if (asprintf(slot, "%s/%s", abs, default_paths[i].dev_leaf) < 0) {
                        *slot = NULL;
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* ret_partial (may be NULL): when the JSON parsed but the file has errors,
 * the configuration as far as it goes, defaults where a value failed. */
static int load_string(const char *text, const char *source, struct config **ret, struct config **ret_partial,
                       struct config_errors *errs) {
        _cleanup_(config_freep) struct config *c = NULL;
        json_t *root;
        json_error_t jerr;
        struct parser p = { .base = { .source = source, .errs = errs } };
        size_t before = errs ? errs->n : 0;
        int r;

        r = config_new_default(&c);
        if (r < 0)
                return r;
        p.c = c;
        root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                char where[64];

                snprintf(where, sizeof(where), "line %d column %d", jerr.line, jerr.column);
                conf_report(&p.base, where, "%s", jerr.text);
                return -EINVAL;
        }
        parse_object(&p, config_root, "", root);
        json_decref(root);
        /* Every class of error in one run: an unknown key or a bad limit
         * must not hide the workloads' errors from an operator fixing the
         * file (a value that failed keeps its default meanwhile). */
        check_config(&p);
        {
                /* The policy is checked against the final defaults. */
                struct policy *pol = NULL;

                r = policy_parse(c->workloads, source, c->ttl_usec, c->max_ttl_usec, &pol, errs);
                if (r >= 0) {
                        policy_free(c->policy);
                        c->policy = pol;
                } else if (!errs) {
                        return r;
                }
        }
        if (p.base.n_errors > 0 || (errs && errs->n > before)) {
                if (ret_partial)
                        *ret_partial = TAKE_PTR(c);
                return -EINVAL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_string(const char *text, const char *source, struct config **ret, struct config_errors *errs) {
        return load_string(text, source, ret, NULL, errs);
}

/* Reads the whole file; configs are small, so more than 1 MiB is an error. */
static int read_text(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        buf = malloc((1 << 20) + 1);
        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, 1 << 20, f);
        if (ferror(f))
                return -EIO;
        if (!feof(f))
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

void config_warnings(const struct config *c, const char *source, struct config_errors *warns) {
        const char *slash = strrchr(c->workload_socket, '/');
        size_t n = slash ? (size_t) (slash - c->workload_socket) : 0;
        struct conf_parser p = { .source = source, .errs = warns };

        if (n == 0)
                return;
        /* containers bind-mount the workload socket's directory: whatever
         * else is in it, they reach too */
        if (path_within(c->workload_socket, n, c->admin_socket))
                conf_report(&p, "admin_socket", "is in the directory of workload_socket, which containers mount; "
                       "give the workload socket a directory of its own");
        if (path_within(c->workload_socket, n, c->runtime_dir))
                conf_report(&p, "runtime_dir", "is in the directory of workload_socket, which containers mount; "
                       "give the workload socket a directory of its own");
        /* a blob in etcd holds two versions, and etcd takes 1.5 MiB a
         * request unless told otherwise */
        if (c->has_etcd && c->max_value_size > ETCD_VALUE_WARN)
                conf_report(&p, "limits.max_value_size", "values over 700K do not fit in etcd's default request "
                            "limit (1.5 MiB, two versions a secret); such writes will fail");
}

/* check: config_check_file's partial configuration. */
static int load_file(const char *path, bool check, struct config **ret, struct config_errors *errs) {
        _cleanup_free_ char *text = NULL;
        struct conf_parser p = { .source = path, .errs = errs };
        int r;

        r = read_text(path, &text);
        if (r < 0) {
                conf_report(&p, "(file)", "cannot read: %s", strerror(-r));
                return r;
        }
        return load_string(text, path, ret, check ? ret : NULL, errs);
}

int config_load_file(const char *path, struct config **ret, struct config_errors *errs) {
        return load_file(path, false, ret, errs);
}

int config_check_file(const char *path, struct config **ret, struct config_errors *errs) {
        return load_file(path, true, ret, errs);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->admin_socket);
        free(c->workload_socket);
        free(c->hook_socket);
        free(c->docker_data_root);
        free(c->podman_storage_root);
        free(c->runtime_dir);
        free(c->state_dir);
        free(c->secrets_root);
        free(c->master_key);
        free(c->audit_log);
        for (size_t i = 0; i < c->n_etcd_endpoints; i++)
                free(c->etcd_endpoints[i]);
        free(c->etcd_endpoints);
        free(c->etcd_prefix);
        free(c->etcd_ca);
        free(c->etcd_cert);
        free(c->etcd_key);
        free(c->admin_uids);
        for (size_t i = 0; i < c->n_admin_groups; i++)
                free(c->admin_groups[i]);
        free(c->admin_groups);
        json_decref(c->workloads);
        policy_free(c->policy);
        free(c);
        return NULL;
}

void config_freep(struct config **c) {
        config_free(*c);
}
