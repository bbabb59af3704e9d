/* policy.c — the config's "workloads" array → struct policy.
 *
 * Parsing follows config.c: the keys of every object are a table (name →
 * parser), unknown keys are errors, and every error is collected as
 * "SOURCE: workloads[i].key.path: reason" instead of stopping at the first;
 * a policy with any error is not returned at all.  Matching a caller is
 * policy-match.c's.  Never logs, never touches files. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-parse.h"
#include "policy.h"
#include "secretd/cleanup.h"
#include "store.h"

#define GLOB_CHARS "*?["
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define HEX_DIGITS "0123456789abcdef"
#define ERR_PATH_MAX 256

/* One key of a JSON object.  parse stores into target, the struct the
 * object describes, and returns 0, or -EINVAL/-ENOMEM once it has reported
 * why not; offset and check serve the generic string parser. */
struct key {
        const char *key;
        int (*parse)(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target);
        size_t offset;                       /* of a char * slot in target */
        const char *(*check)(const char *s); /* NULL when s is fine, else why not */
        bool required;
};

/* The signals on_rotate may name; the only ones a rotation may send. */
static const struct {
        const char *name;
        int sig;
} signals[] = {
        { "SIGHUP", SIGHUP },   { "SIGINT", SIGINT },     { "SIGQUIT", SIGQUIT }, { "SIGUSR1", SIGUSR1 },
        { "SIGUSR2", SIGUSR2 }, { "SIGTERM", SIGTERM },   { "SIGWINCH", SIGWINCH }, { "SIGCONT", SIGCONT },
};
#define SIGNAL_LIST "HUP, INT, QUIT, USR1, USR2, TERM, WINCH, CONT"

static bool has_glob(const char *s) {
        return s[strcspn(s, GLOB_CHARS)] != '\0';
}

/* A JSON string without NUL bytes, not empty, at most CONF_STRING_MAX
 * bytes; NULL (reported) otherwise.  expected completes "expected …". */
static const char *get_string(struct conf_parser *p, const char *path, json_t *v, const char *expected) {
        return conf_text(p, path, v, expected, CONF_STRING_MAX);
}

/* Walks obj's keys through table, then reports required keys it lacks.
 * Returns false when obj is not an object at all. */
static bool parse_keys(struct conf_parser *p, const struct key *table, const char *path, json_t *obj, void *target) {
        const char *name;
        json_t *v;

        if (!json_is_object(obj)) {
                conf_report(p, path, "expected an object");
                return false;
        }
        json_object_foreach(obj, name, v) {
                const struct key *k;
                char sub[ERR_PATH_MAX];

                snprintf(sub, sizeof(sub), "%s.%s", path, name);
                for (k = table; k->key && strcmp(k->key, name) != 0; k++)
                        ;
                if (!k->key)
                        conf_report(p, sub, "unknown key");
                else
                        (void) k->parse(p, k, sub, v, target);
        }
        for (const struct key *k = table; k->key; k++)
                if (k->required && !json_object_get(obj, k->key)) {
                        char sub[ERR_PATH_MAX];

                        snprintf(sub, sizeof(sub), "%s.%s", path, k->key);
                        conf_report(p, sub, "required");
                }
        return true;
}

/* Checks for the generic string parser.  Each returns NULL when s is
 * acceptable, else a reason that follows "'s' ". */

static const char *check_workload_name(const char *s) {
        size_t n = strlen(s);

        if (n > POLICY_NAME_MAX || !strchr(ALNUM, s[0]) || strspn(s, ALNUM "._-") != n)
                return "is not a valid workload name ([A-Za-z0-9][A-Za-z0-9._-], at most 64 characters)";
        return NULL;
}

static const char *check_secret_name(const char *s) {
        return store_name_valid(s) ? NULL : "is not a valid secret name";
}

static const char *check_file_name(const char *s) {
        return store_name_valid(s) ? NULL : "is not a valid file name";
}

static const char *check_container_id(const char *s) {
        size_t n = strlen(s);

        if (n >= sizeof(((struct cgroup_class *) NULL)->id))
                return "is too long for a container id";
        if (!has_glob(s) && (n > CONTAINER_ID_LEN || strspn(s, HEX_DIGITS) != n))
                return "is not a container id (up to 64 lowercase hex digits) or a glob";
        return NULL;
}

static const char *check_unit(const char *s) {
        if (strlen(s) >= sizeof(((struct cgroup_class *) NULL)->id))
                return "is too long for a unit name";
        if (strchr(s, '/'))
                return "is not a unit name";
        /* a bare "backup" would silently never match "backup.service" */
        if (!has_glob(s) && (s[0] == '.' || !strchr(s, '.')))
                return "is not a unit name such as 'backup.service'";
        return NULL;
}

static const char *check_absolute(const char *s) {
        return s[0] == '/' ? NULL : "is not an absolute path";
}

/* Where a bind mount goes: never "/", never anything that climbs. */
static const char *check_inject(const char *s) {
        const char *c;

        if (s[0] != '/')
                return "is not an absolute path";
        if (strcmp(s, "/") == 0)
                return "is the root directory";
        for (c = s + 1;; c++) {
                size_t n = strcspn(c, "/");

                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return "must not have '.', '..' or empty components";
                c += n;
                if (*c == '\0')
                        return NULL;
        }
}

static int parse_string(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        const char *s = get_string(p, path, v, "a string"), *why;

        if (!s)
                return -EINVAL;
        why = k->check ? k->check(s) : NULL;
        if (why)
                return conf_report(p, path, "'%s' %s", s, why);
        return conf_store_string(p, path, (char **) ((char *) target + k->offset), s);
}

/* match.* */

static int parse_runtime(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload_match *m = target;
        const char *s = get_string(p, path, v, "a runtime name");
        int r;

        (void) k;
        if (!s)
                return -EINVAL;
        r = runtime_from_string(s);
        if (r < 0 || r == RUNTIME_UNKNOWN) {
                char names[128] = "";

                for (int i = RUNTIME_UNKNOWN + 1; i < _RUNTIME_MAX; i++)
                        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                                 i > RUNTIME_UNKNOWN + 1 ? ", " : "", runtime_to_string(i));
                return conf_report(p, path, "'%s' is not a runtime (%s)", s, names);
        }
        m->has_runtime = true;
        m->runtime = r;
        return 0;
}

/* uids and gids: a non-empty array of ids into a new array. */
static int parse_id_list(struct conf_parser *p, const char *path, json_t *v, const char *what, uint32_t **slot,
                         size_t *n_slot) {
        uint32_t *ids;
        size_t n;
        int r = conf_id_list(p, path, v, what, false, &ids, &n);

        if (r < 0)
                return r;
        free(*slot);
        *slot = ids;
        *n_slot = n;
        return 0;
}

static int parse_uids(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload_match *m = target;

        (void) k;
        return parse_id_list(p, path, v, "uid", &m->uids, &m->n_uids);
}

static int parse_gids(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload_match *m = target;

        (void) k;
        return parse_id_list(p, path, v, "gid", &m->gids, &m->n_gids);
}

/* Bounds on an annotations match: keys as OCI spells them (reverse domain
 * names), values globs of what a runtime's --annotation gives. */
#define ANNOTATION_KEY_MAX 253
#define ANNOTATION_VALUE_MAX 1024
#define ANNOTATIONS_MAX 32

/* {key: glob}: annotations (keys as OCI spells them) or labels (any
 * printable key), every pair of which the container must hold. */
static int parse_glob_map(struct conf_parser *p, const char *path, json_t *v, const char *what, bool oci_keys,
                          json_t **target) {
        const char *key;
        json_t *value;

        if (!json_is_object(v) || json_object_size(v) == 0 || json_object_size(v) > ANNOTATIONS_MAX)
                return conf_report(p, path, "must be an object of 1 to %d %s, each \"key\": \"glob\"",
                                   ANNOTATIONS_MAX, what);
        json_object_foreach(v, key, value) {
                if (strlen(key) == 0 || strlen(key) > ANNOTATION_KEY_MAX)
                        return conf_report(p, path, "a key must have 1 to %d characters", ANNOTATION_KEY_MAX);
                if (oci_keys && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/") !=
                                        strlen(key))
                        return conf_report(p, path, "'%.64s' is not an annotation key (letters, digits, . - _ /)", key);
                if (!json_is_string(value) || json_string_length(value) == 0 ||
                    json_string_length(value) > ANNOTATION_VALUE_MAX || strlen(json_string_value(value)) !=
                    json_string_length(value))
                        return conf_report(p, path, "'%.64s' must be a glob of 1 to %d characters", key,
                                           ANNOTATION_VALUE_MAX);
        }
        json_decref(*target);
        *target = json_deep_copy(v);
        return *target ? 0 : conf_report_oom(p, path);
}

static int parse_annotations(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        (void) k;
        return parse_glob_map(p, path, v, "annotations", true, &((struct workload_match *) target)->annotations);
}

static const char *check_image_id(const char *s) {
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64 || strspn(s + 7, "0123456789abcdef") != 64)
                return "is not an image id (\"sha256:\" and 64 lowercase hex digits)";
        return NULL;
}

static int parse_labels(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        (void) k;
        return parse_glob_map(p, path, v, "labels", false, &((struct workload_match *) target)->labels);
}

static const struct key match_keys[] = {
        { "runtime", parse_runtime, 0, NULL, false },
        { "id", parse_string, offsetof(struct workload_match, id), check_container_id, false },
        { "unit", parse_string, offsetof(struct workload_match, unit), check_unit, false },
        { "cgroup", parse_string, offsetof(struct workload_match, cgroup), check_absolute, false },
        { "uids", parse_uids, 0, NULL, false },
        { "gids", parse_gids, 0, NULL, false },
        { "exe", parse_string, offsetof(struct workload_match, exe), check_absolute, false },
        { "annotations", parse_annotations, 0, NULL, false },
        { "image", parse_string, offsetof(struct workload_match, image), NULL, false },
        { "image_id", parse_string, offsetof(struct workload_match, image_id), check_image_id, false },
        { "name", parse_string, offsetof(struct workload_match, name), NULL, false },
        { "labels", parse_labels, 0, NULL, false },
        { "namespace", parse_string, offsetof(struct workload_match, namespace), NULL, false },
        { "pod", parse_string, offsetof(struct workload_match, pod), NULL, false },
        { "container", parse_string, offsetof(struct workload_match, container), NULL, false },
        {}
};

/* secrets[i] */

static int parse_mode(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct grant *g = target;

        (void) k;
        return conf_mode(p, path, v, &g->mode);
}

static int parse_grant_uid(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct grant *g = target;
        uint32_t id;

        (void) k;
        if (!conf_id(v, &id))
                return conf_report(p, path, "expected a uid (a non-negative integer)");
        g->uid = id;
        g->has_uid = true;
        return 0;
}

static int parse_grant_gid(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct grant *g = target;
        uint32_t id;

        (void) k;
        if (!conf_id(v, &id))
                return conf_report(p, path, "expected a gid (a non-negative integer)");
        g->gid = id;
        g->has_gid = true;
        return 0;
}

static const struct key grant_keys[] = {
        { "name", parse_string, offsetof(struct grant, name), check_secret_name, true },
        { "file", parse_string, offsetof(struct grant, file), check_file_name, false },
        { "mode", parse_mode, 0, NULL, false },
        { "uid", parse_grant_uid, 0, NULL, false },
        { "gid", parse_grant_gid, 0, NULL, false },
        {}
};

/* One element of secrets: a name, or an object; file defaults to name. */
static int parse_grant(struct conf_parser *p, const char *path, json_t *v, struct grant *g) {
        static const struct key name_key = { "name", parse_string, offsetof(struct grant, name), check_secret_name,
                                             true };

        g->mode = POLICY_DEFAULT_MODE;
        if (json_is_string(v))
                (void) parse_string(p, &name_key, path, v, g);
        else if (json_is_object(v))
                parse_keys(p, grant_keys, path, v, g);
        else
                return conf_report(p, path, "expected a secret name or an object");
        if (g->name && !g->file)
                return conf_store_string(p, path, &g->file, g->name);
        return 0;
}

/* Where a duplicate in secrets[i] is best pointed at. */
static void grant_path(const char *path, size_t i, json_t *v, const char *key, char *buf, size_t size) {
        bool named = json_is_object(v) && json_object_get(v, key);

        snprintf(buf, size, "%s[%zu]%s%s", path, i, named ? "." : "", named ? key : "");
}

/* A secret granted twice, or two grants writing the same file, is a
 * mistake the operator should hear about rather than a last-one-wins. */
static void check_grants_unique(struct conf_parser *p, const char *path, json_t *a, struct workload *w) {
        char where[ERR_PATH_MAX];

        for (size_t i = 0; i < w->n_grants; i++)
                for (size_t j = 0; j < i; j++) {
                        const struct grant *g = &w->grants[i], *o = &w->grants[j];

                        if (g->name && o->name && strcmp(g->name, o->name) == 0) {
                                grant_path(path, i, json_array_get(a, i), "name", where, sizeof(where));
                                conf_report(p, where, "secret '%s' is already granted by secrets[%zu]", g->name, j);
                        } else if (g->file && o->file && strcmp(g->file, o->file) == 0) {
                                grant_path(path, i, json_array_get(a, i), "file", where, sizeof(where));
                                conf_report(p, where, "file '%s' is already used by secrets[%zu]", g->file, j);
                        }
                }
}

static int parse_secrets(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload *w = target;
        size_t i, n = json_array_size(v);
        json_t *e;

        (void) k;
        if (!json_is_array(v))
                return conf_report(p, path, "expected an array of secret names or objects");
        if (n == 0)
                return 0;
        /* duplicates are found pairwise: keep n sane */
        if (n > POLICY_GRANTS_MAX)
                return conf_report(p, path, "more than %d secrets", POLICY_GRANTS_MAX);
        w->grants = calloc(n, sizeof(struct grant));
        if (!w->grants)
                return conf_report_oom(p, path);
        json_array_foreach(v, i, e) {
                char sub[ERR_PATH_MAX];

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                (void) parse_grant(p, sub, e, &w->grants[i]);
                w->n_grants++;
        }
        check_grants_unique(p, path, v, w);
        return 0;
}

/* the rest of a workload */

static int parse_match(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload *w = target;

        (void) k;
        if (parse_keys(p, match_keys, path, v, &w->match) && json_object_size(v) == 0)
                return conf_report(p, path, "must have at least one key (an empty match would grant every caller)");
        return 0;
}

static int parse_ttl(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        return conf_number(p, path, v, CONF_DURATION, POLICY_TTL_MIN_USEC, POLICY_TTL_MAX_USEC,
                           (uint64_t *) ((char *) target + k->offset));
}

static int parse_inject(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload *w = target;
        const char *s, *why;

        (void) k;
        if (json_is_boolean(v)) {
                free(w->inject);
                w->inject = NULL;
                return json_is_true(v) ? conf_store_string(p, path, &w->inject, POLICY_DEFAULT_INJECT) : 0;
        }
        s = get_string(p, path, v, "true, false or an absolute path");
        if (!s)
                return -EINVAL;
        why = check_inject(s);
        if (why)
                return conf_report(p, path, "'%s' %s", s, why);
        return conf_store_string(p, path, &w->inject, s);
}

static int signal_from_name(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                if (strcmp(s, signals[i].name) == 0 || strcmp(s, signals[i].name + 3) == 0)
                        return signals[i].sig;
        return 0;
}

static int parse_signal(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        struct workload *w = target;
        const char *s;
        int sig;

        (void) k;
        if (json_is_integer(v)) {
                json_int_t n = json_integer_value(v);

                if (n <= 0 || n > INT_MAX || !policy_signal_name((int) n))
                        return conf_report(p, path, "%lld is not an allowed signal (" SIGNAL_LIST ")", (long long) n);
                w->on_rotate_signal = (int) n;
                return 0;
        }
        s = get_string(p, path, v, "a signal name such as \"SIGHUP\"");
        if (!s)
                return -EINVAL;
        sig = signal_from_name(s);
        if (sig == 0)
                return conf_report(p, path, "'%s' is not an allowed signal (" SIGNAL_LIST ")", s);
        w->on_rotate_signal = sig;
        return 0;
}

static const struct key on_rotate_keys[] = {
        { "signal", parse_signal, 0, NULL, true },
        {}
};

static int parse_on_rotate(struct conf_parser *p, const struct key *k, const char *path, json_t *v, void *target) {
        (void) k;
        return parse_keys(p, on_rotate_keys, path, v, target) ? 0 : -EINVAL;
}

static const struct key workload_keys[] = {
        { "name", parse_string, offsetof(struct workload, name), check_workload_name, true },
        { "match", parse_match, 0, NULL, true },
        { "secrets", parse_secrets, 0, NULL, false },
        { "ttl", parse_ttl, offsetof(struct workload, ttl_usec), NULL, false },
        { "max_ttl", parse_ttl, offsetof(struct workload, max_ttl_usec), NULL, false },
        { "inject", parse_inject, 0, NULL, false },
        { "on_rotate", parse_on_rotate, 0, NULL, false },
        {}
};

/* Defaults for what the workload left out (0 until then: a ttl is at least
 * a second), and ttl <= max_ttl.  An explicit ttl over the max is an error;
 * the inherited default ttl simply shortens to a lower explicit max. */
static void apply_ttls(struct conf_parser *p, const char *path, const struct workload *defaults, struct workload *w) {
        bool own_max = w->max_ttl_usec != 0;
        char where[ERR_PATH_MAX];

        if (!own_max)
                w->max_ttl_usec = defaults->max_ttl_usec;
        if (w->ttl_usec == 0) {
                w->ttl_usec = defaults->ttl_usec < w->max_ttl_usec ? defaults->ttl_usec : w->max_ttl_usec;
                return;
        }
        if (w->ttl_usec > w->max_ttl_usec) {
                snprintf(where, sizeof(where), "%s.ttl", path);
                conf_report(p, where, own_max ? "longer than max_ttl" : "longer than defaults.max_ttl");
        }
}

/* defaults: only its ttl_usec and max_ttl_usec, the config's. */
static void parse_workload(struct conf_parser *p, const struct workload *defaults, struct policy *pol, size_t i,
                           json_t *v) {
        struct workload *w = &pol->workloads[i];
        size_t before = p->n_errors;
        char path[64];

        snprintf(path, sizeof(path), "workloads[%zu]", i);
        if (!parse_keys(p, workload_keys, path, v, w))
                return;
        if (p->n_errors == before)
                apply_ttls(p, path, defaults, w);
        for (size_t j = 0; w->name && j < i; j++)
                if (pol->workloads[j].name && strcmp(pol->workloads[j].name, w->name) == 0) {
                        char where[ERR_PATH_MAX];

                        snprintf(where, sizeof(where), "%s.name", path);
                        conf_report(p, where, "'%s' is already the name of workloads[%zu]", w->name, j);
                        break;
                }
}

int policy_parse(json_t *workloads, const char *source, uint64_t default_ttl_usec, uint64_t default_max_ttl_usec,
                 struct policy **ret, struct config_errors *errs) {
        _cleanup_(policy_freep) struct policy *pol = NULL;
        struct conf_parser p = { .source = source, .errs = errs };
        const struct workload defaults = { .ttl_usec = default_ttl_usec, .max_ttl_usec = default_max_ttl_usec };
        size_t i, n = json_array_size(workloads);
        json_t *v;

        pol = calloc(1, sizeof(*pol));
        if (!pol)
                return -ENOMEM;
        if (workloads && !json_is_array(workloads)) {
                conf_report(&p, "workloads", "expected an array of workloads");
                return -EINVAL;
        }
        if (n > POLICY_WORKLOADS_MAX) {
                conf_report(&p, "workloads", "more than %d workloads", POLICY_WORKLOADS_MAX);
                return -EINVAL;
        }
        if (n > 0) {
                pol->workloads = calloc(n, sizeof(struct workload));
                if (!pol->workloads)
                        return -ENOMEM;
        }
        json_array_foreach(workloads, i, v) {
                pol->n_workloads++; /* owned from here on, whatever parsing leaves in it */
                parse_workload(&p, &defaults, pol, i, v);
        }
        if (p.oom)
                return -ENOMEM;
        if (p.n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(pol);
        return 0;
}

static void workload_done(struct workload *w) {
        free(w->name);
        free(w->match.id);
        free(w->match.unit);
        free(w->match.cgroup);
        free(w->match.uids);
        free(w->match.gids);
        free(w->match.exe);
        json_decref(w->match.annotations);
        free(w->match.image);
        free(w->match.image_id);
        free(w->match.name);
        json_decref(w->match.labels);
        free(w->match.namespace);
        free(w->match.pod);
        free(w->match.container);
        for (size_t i = 0; i < w->n_grants; i++) {
                free(w->grants[i].name);
                free(w->grants[i].file);
        }
        free(w->grants);
        free(w->inject);
}

struct policy *policy_free(struct policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_workloads; i++)
                workload_done(&p->workloads[i]);
        free(p->workloads);
        free(p);
        return NULL;
}

void policy_freep(struct policy **p) {
        policy_free(*p);
}

const char *policy_signal_name(int sig) {
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                if (signals[i].sig == sig)
                        return signals[i].name;
        return NULL;
}
