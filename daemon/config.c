/* config.c — JSON configuration: defaults, strict parsing, error lists.
 *
 * The schema is a table (config_root below): each key names its kind and
 * where it lands in struct config, so adding a key is one line.  Parsing
 * collects every error instead of stopping at the first, because an
 * operator fixing a file wants the whole list.  Never logs. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "secretd/cleanup.h"
#include "secretd/parse.h"
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
        _FIELD_KIND_MAX
};

struct field {
        const char *key;
        enum field_kind kind;
        size_t offset;
        uint64_t min, max; /* for sizes, counts and durations */
        const struct field *children;
};

#define USEC(s) ((uint64_t) (s) * 1000000ULL)

static const struct field config_limits[] = {
        { "max_value_size", FIELD_SIZE, offsetof(struct config, max_value_size), 1, STORE_VALUE_MAX_HARD, NULL },
        { "max_connections", FIELD_COUNT, offsetof(struct config, max_connections), 1, 65536, NULL },
        { "idle_timeout", FIELD_DURATION, offsetof(struct config, idle_timeout_usec), USEC(1), USEC(3600), NULL },
        { "request_timeout", FIELD_DURATION, offsetof(struct config, request_timeout_usec), USEC(1), USEC(3600),
          NULL },
        { "max_connections_per_peer", FIELD_COUNT, offsetof(struct config, max_connections_per_peer), 1, 65536,
          NULL },
        {}
};

static const struct field config_admin[] = {
        { "uids", FIELD_UIDS, 0, 0, 0, NULL },
        { "groups", FIELD_GROUPS, 0, 0, 0, NULL },
        {}
};

static const struct field config_defaults[] = {
        { "ttl", FIELD_DURATION, offsetof(struct config, ttl_usec), USEC(1), USEC(366 * 86400), NULL },
        { "max_ttl", FIELD_DURATION, offsetof(struct config, max_ttl_usec), USEC(1), USEC(366 * 86400), NULL },
        { "tmpfs_size", FIELD_SIZE, offsetof(struct config, tmpfs_size), 4096, 1ULL << 30, NULL },
        {}
};

static const struct field config_root[] = {
        { "admin_socket", FIELD_PATH, offsetof(struct config, admin_socket), 0, 0, NULL },
        { "workload_socket", FIELD_PATH, offsetof(struct config, workload_socket), 0, 0, NULL },
        { "runtime_dir", FIELD_PATH, offsetof(struct config, runtime_dir), 0, 0, NULL },
        { "state_dir", FIELD_PATH, offsetof(struct config, state_dir), 0, 0, NULL },
        { "secrets_root", FIELD_PATH, offsetof(struct config, secrets_root), 0, 0, NULL },
        { "master_key", FIELD_PATH, offsetof(struct config, master_key), 0, 0, NULL },
        { "audit_log", FIELD_PATH_OPT, offsetof(struct config, audit_log), 0, 0, NULL },
        { "limits", FIELD_OBJECT, 0, 0, 0, config_limits },
        { "admin", FIELD_OBJECT, 0, 0, 0, config_admin },
        { "defaults", FIELD_OBJECT, 0, 0, 0, config_defaults },
        { "workloads", FIELD_WORKLOADS, 0, 0, 0, NULL },
        {}
};

struct parser {
        struct config *c;
        struct config_errors *errs;
        const char *source;
        unsigned n_errors; /* counted even when errs is NULL: any error means no config */
};

static void report(struct parser *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(struct parser *p, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        char *msg, **grown;
        va_list ap;
        int r;

        p->n_errors++;
        if (!p->errs)
                return;
        va_start(ap, fmt);
        r = vasprintf(&reason, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        if (asprintf(&msg, "%s: %s: %s", p->source, path, reason) < 0)
                return;
        grown = reallocarray(p->errs->msgs, p->errs->n + 1, sizeof(char *));
        if (!grown) {
                free(msg);
                return;
        }
        p->errs->msgs = grown;
        p->errs->msgs[p->errs->n++] = msg;
}

static int set_string(char **slot, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*slot);
        *slot = s;
        return 0;
}

static void parse_path(struct parser *p, const struct field *f, const char *path, json_t *v) {
        const char *s = json_string_value(v);

        if (!json_is_string(v)) {
                report(p, path, "expected a string");
                return;
        }
        if (strlen(s) != json_string_length(v)) {
                report(p, path, "contains a NUL byte");
                return;
        }
        if (!(f->kind == FIELD_PATH_OPT && s[0] == '\0') && s[0] != '/') {
                report(p, path, "'%s' is not an absolute path", s);
                return;
        }
        if (strlen(s) >= PATH_MAX - 64) {
                report(p, path, "path is too long");
                return;
        }
        if (set_string((char **) ((char *) p->c + f->offset), s) < 0)
                report(p, path, "out of memory");
}

/* Sizes, counts and durations: a JSON integer, or a string with a unit. */
static void parse_number(struct parser *p, const struct field *f, const char *path, json_t *v) {
        uint64_t n;
        int r = 0;

        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                n = (uint64_t) json_integer_value(v);
                if (f->kind == FIELD_DURATION) {
                        if (n > UINT64_MAX / USEC(1))
                                r = -ERANGE;
                        else
                                n *= USEC(1);
                }
        } else if (json_is_string(v) && f->kind != FIELD_COUNT) {
                r = f->kind == FIELD_SIZE ? parse_size(json_string_value(v), &n)
                                          : parse_duration_usec(json_string_value(v), &n);
        } else {
                report(p, path, f->kind == FIELD_COUNT ? "expected a non-negative integer"
                                : f->kind == FIELD_SIZE ? "expected a size such as \"64K\""
                                                        : "expected a duration such as \"10s\"");
                return;
        }
        if (r == -EINVAL) {
                report(p, path, "'%s' is not a valid %s", json_string_value(v),
                       f->kind == FIELD_SIZE ? "size (units K, M, G)" : "duration (units ms, s, m, h, d)");
                return;
        }
        if (r < 0 || n < f->min || n > f->max) {
                report(p, path, "out of range (allowed %llu to %llu%s)",
                       (unsigned long long) (f->kind == FIELD_DURATION ? f->min / USEC(1) : f->min),
                       (unsigned long long) (f->kind == FIELD_DURATION ? f->max / USEC(1) : f->max),
                       f->kind == FIELD_DURATION ? " seconds" : f->kind == FIELD_SIZE ? " bytes" : "");
                return;
        }
        *(uint64_t *) ((char *) p->c + f->offset) = n;
}

static void parse_uids(struct parser *p, const char *path, json_t *v) {
        size_t i, n = json_array_size(v);
        json_t *e;
        uid_t *uids;

        if (!json_is_array(v)) {
                report(p, path, "expected an array of uids");
                return;
        }
        uids = calloc(n ? n : 1, sizeof(uid_t));
        if (!uids) {
                report(p, path, "out of memory");
                return;
        }
        json_array_foreach(v, i, e) {
                if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= UINT32_MAX) {
                        report(p, path, "element %zu is not a uid", i);
                        free(uids);
                        return;
                }
                uids[i] = (uid_t) json_integer_value(e);
        }
        free(p->c->admin_uids);
        p->c->admin_uids = uids;
        p->c->n_admin_uids = n;
}

static void parse_groups(struct parser *p, const char *path, json_t *v) {
        size_t i, n = json_array_size(v);
        json_t *e;
        char **groups;

        if (!json_is_array(v)) {
                report(p, path, "expected an array of group names or gids");
                return;
        }
        groups = calloc(n + 1, sizeof(char *));
        if (!groups) {
                report(p, path, "out of memory");
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
                        report(p, path, "element %zu is not a group name or gid", i);
                        break;
                }
                if (!groups[i]) {
                        report(p, path, "out of memory");
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
        case FIELD_WORKLOADS:
                if (!json_is_array(v)) {
                        report(p, path, "expected an array of workloads");
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
                report(p, prefix[0] ? prefix : "(top level)", "expected an object");
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
                        report(p, path, "unknown key");
                        continue;
                }
                parse_field(p, f, path, v);
        }
}

/* Cross-field rules the table cannot express. */
static void check_config(struct parser *p) {
        if (p->c->ttl_usec > p->c->max_ttl_usec)
                report(p, "defaults.ttl", "longer than defaults.max_ttl");
        if (strcmp(p->c->admin_socket, p->c->workload_socket) == 0)
                report(p, "admin_socket", "same path as workload_socket");
}

int config_new_default(struct config **ret) {
        static const struct {
                size_t offset;
                const char *value;
        } paths[] = {
                { offsetof(struct config, admin_socket), "/run/secretd/admin.sock" },
                { offsetof(struct config, workload_socket), "/run/secretd/workload/workload.sock" },
                { offsetof(struct config, runtime_dir), "/run/secretd" },
                { offsetof(struct config, state_dir), "/var/lib/secretd" },
                { offsetof(struct config, secrets_root), "/run/secrets" },
                { offsetof(struct config, master_key), "/etc/secretd/master.key" },
                { offsetof(struct config, audit_log), "/var/log/secretd/audit.jsonl" },
        };
        _cleanup_(config_freep) struct config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (set_string((char **) ((char *) c + paths[i].offset), paths[i].value) < 0)
                        return -ENOMEM;
        c->max_value_size = STORE_VALUE_MAX_DEFAULT;
        c->max_connections = 1024;
        c->idle_timeout_usec = USEC(10);
        c->request_timeout_usec = USEC(10);
        c->max_connections_per_peer = 64;
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
        static const struct {
                size_t offset;
                const char *leaf;
        } paths[] = {
                { offsetof(struct config, admin_socket), "run/admin.sock" },
                { offsetof(struct config, workload_socket), "run/workload/workload.sock" },
                { offsetof(struct config, runtime_dir), "run" },
                { offsetof(struct config, state_dir), "state" },
                { offsetof(struct config, secrets_root), "secrets" },
                { offsetof(struct config, master_key), "master.key" },
                { offsetof(struct config, audit_log), "audit.jsonl" },
        };
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
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                char **slot = (char **) ((char *) c + paths[i].offset);

                free(*slot);
                if (asprintf(slot, "%s/%s", abs, paths[i].leaf) < 0) {
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
        struct parser p;
        size_t before = errs ? errs->n : 0;
        int r;

        r = config_new_default(&c);
        if (r < 0)
                return r;
        p = (struct parser) { .c = c, .errs = errs, .source = source };
        root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                char where[64];

                snprintf(where, sizeof(where), "line %d column %d", jerr.line, jerr.column);
                report(&p, where, "%s", jerr.text);
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
        if (p.n_errors > 0 || (errs && errs->n > before)) {
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

/* path is dir (its first n bytes) or below it. */
static bool path_within(const char *dir, size_t n, const char *path) {
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

void config_warnings(const struct config *c, const char *source, struct config_errors *warns) {
        const char *slash = strrchr(c->workload_socket, '/');
        size_t n = slash ? (size_t) (slash - c->workload_socket) : 0;
        struct parser p = { .errs = warns, .source = source };

        if (n == 0)
                return;
        /* containers bind-mount the workload socket's directory: whatever
         * else is in it, they reach too */
        if (path_within(c->workload_socket, n, c->admin_socket))
                report(&p, "admin_socket", "is in the directory of workload_socket, which containers mount; "
                       "give the workload socket a directory of its own");
        if (path_within(c->workload_socket, n, c->runtime_dir))
                report(&p, "runtime_dir", "is in the directory of workload_socket, which containers mount; "
                       "give the workload socket a directory of its own");
}

int config_load_file(const char *path, struct config **ret, struct config_errors *errs) {
        _cleanup_free_ char *text = NULL;
        struct parser p = { .errs = errs, .source = path };
        int r;

        r = read_text(path, &text);
        if (r < 0) {
                report(&p, "(file)", "cannot read: %s", strerror(-r));
                return r;
        }
        return config_load_string(text, path, ret, errs);
}

int config_check_file(const char *path, struct config **ret, struct config_errors *errs) {
        _cleanup_free_ char *text = NULL;
        struct parser p = { .errs = errs, .source = path };
        int r;

        r = read_text(path, &text);
        if (r < 0) {
                report(&p, "(file)", "cannot read: %s", strerror(-r));
                return r;
        }
        return load_string(text, path, ret, ret, errs);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->admin_socket);
        free(c->workload_socket);
        free(c->runtime_dir);
        free(c->state_dir);
        free(c->secrets_root);
        free(c->master_key);
        free(c->audit_log);
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

void config_errors_clear(struct config_errors *errs) {
        for (size_t i = 0; i < errs->n; i++)
                free(errs->msgs[i]);
        free(errs->msgs);
        errs->msgs = NULL;
        errs->n = 0;
}
