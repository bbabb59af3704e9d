/* config-parse.c — the readers and the error collector config.c and
 * policy.c share (see config-parse.h).  Never logs, never touches files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-parse.h"
#include "secretd/cleanup.h"
#include "secretd/parse.h"

/* uids and gids share the id-list code. */
_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t), "32-bit ids");

void config_errors_clear(struct config_errors *errs) {
        for (size_t i = 0; i < errs->n; i++)
                free(errs->msgs[i]);
        free(errs->msgs);
        errs->msgs = NULL;
        errs->n = 0;
}

int conf_report(struct conf_parser *p, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        char *msg, **grown;
        va_list ap;
        int r;

        p->n_errors++;
        if (!p->errs)
                return -EINVAL;
        va_start(ap, fmt);
        r = vasprintf(&reason, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -EINVAL;
        if (asprintf(&msg, "%s: %s: %s", p->source, path, reason) < 0)
                return -EINVAL;
        grown = reallocarray(p->errs->msgs, p->errs->n + 1, sizeof(char *));
        if (!grown) {
                free(msg);
                return -EINVAL;
        }
        p->errs->msgs = grown;
        p->errs->msgs[p->errs->n++] = msg;
        return -EINVAL;
}

int conf_report_oom(struct conf_parser *p, const char *path) {
        p->oom = true;
        conf_report(p, path, "out of memory");
        return -ENOMEM;
}

int conf_store_string(struct conf_parser *p, const char *path, char **slot, const char *s) {
        char *copy = strdup(s);

        if (!copy)
                return conf_report_oom(p, path);
        free(*slot);
        *slot = copy;
        return 0;
}

const char *conf_string(struct conf_parser *p, const char *path, json_t *v, const char *expected) {
        const char *s = json_string_value(v);

        if (!s) {
                conf_report(p, path, "expected %s", expected);
                return NULL;
        }
        if (strlen(s) != json_string_length(v)) {
                conf_report(p, path, "contains a NUL byte");
                return NULL;
        }
        return s;
}

const char *conf_text(struct conf_parser *p, const char *path, json_t *v, const char *expected, size_t max) {
        const char *s = conf_string(p, path, v, expected);

        if (!s)
                return NULL;
        if (s[0] == '\0') {
                conf_report(p, path, "must not be empty");
                return NULL;
        }
        if (strlen(s) > max) {
                conf_report(p, path, "longer than %zu bytes", max);
                return NULL;
        }
        return s;
}

bool conf_id(json_t *v, uint32_t *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= UINT32_MAX)
                return false;
        *ret = (uint32_t) json_integer_value(v);
        return true;
}

int conf_id_list(struct conf_parser *p, const char *path, json_t *v, const char *what, bool may_be_empty,
                 uint32_t **ret, size_t *ret_n) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t i, n = json_array_size(v);
        json_t *e;

        if (!json_is_array(v))
                return conf_report(p, path, "expected an array of %ss", what);
        if (n == 0 && !may_be_empty)
                return conf_report(p, path, "must list at least one %s", what);
        ids = calloc(n ? n : 1, sizeof(uint32_t));
        if (!ids)
                return conf_report_oom(p, path);
        json_array_foreach(v, i, e)
                if (!conf_id(e, &ids[i]))
                        return conf_report(p, path, "element %zu is not a %s", i, what);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static const char *const number_expected[_CONF_NUMBER_KIND_MAX] = {
        [CONF_COUNT] = "expected a non-negative integer",
        [CONF_SIZE] = "expected a size such as \"64K\"",
        [CONF_DURATION] = "expected a duration such as \"10s\"",
};

/* The value as a number of the kind's unit: -EINVAL after a report when
 * it is none, -ERANGE when it is one too large to hold. */
static int read_number(struct conf_parser *p, const char *path, json_t *v, enum conf_number_kind kind,
                       uint64_t *ret) {
        const char *s;
        uint64_t n;
        int r;

        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                n = (uint64_t) json_integer_value(v);
                if (kind == CONF_DURATION && n > UINT64_MAX / USEC(1))
                        return -ERANGE;
                *ret = kind == CONF_DURATION ? n * USEC(1) : n;
                return 0;
        }
        if (!json_is_string(v) || kind == CONF_COUNT)
                return conf_report(p, path, "%s", number_expected[kind]);
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return conf_report(p, path, "contains a NUL byte");
        r = kind == CONF_SIZE ? parse_size(s, &n) : parse_duration_usec(s, &n);
        if (r == -EINVAL)
                return conf_report(p, path, "'%s' is not a valid %s", s,
                                   kind == CONF_SIZE ? "size (units K, M, G)" : "duration (units ms, s, m, h, d)");
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}

int conf_number(struct conf_parser *p, const char *path, json_t *v, enum conf_number_kind kind, uint64_t min,
                uint64_t max, uint64_t *ret) {
        uint64_t n = 0, scale = kind == CONF_DURATION ? USEC(1) : 1;
        int r = read_number(p, path, v, kind, &n);

        if (r == -EINVAL)
                return r;
        if (r < 0 || n < min || n > max)
                return conf_report(p, path, "out of range (allowed %llu to %llu%s)", (unsigned long long) (min / scale),
                                   (unsigned long long) (max / scale),
                                   kind == CONF_DURATION ? " seconds" : kind == CONF_SIZE ? " bytes" : "");
        *ret = n;
        return 0;
}

int conf_mode(struct conf_parser *p, const char *path, json_t *v, mode_t *ret) {
        const char *s = conf_text(p, path, v, "a string of octal digits such as \"0440\"", CONF_STRING_MAX);
        unsigned long mode;

        if (!s)
                return -EINVAL;
        if (strlen(s) > 4 || strspn(s, "01234567") != strlen(s))
                return conf_report(p, path, "'%s' is not an octal mode such as \"0440\"", s);
        mode = strtoul(s, NULL, 8);
        if (mode > 0777)
                return conf_report(p, path, "'%s' has setuid, setgid or sticky bits (allowed 0000 to 0777)", s);
        *ret = (mode_t) mode;
        return 0;
}
