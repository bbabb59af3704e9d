/* config-parse.h — what config.c and policy.c read JSON with: the error
 * collector and the readers of strings, ids, id lists, durations, sizes,
 * counts and modes.  Each reader checks one JSON value, reports why it is
 * not acceptable as "SOURCE: key.path: reason" and stores nothing then.
 * The key tables stay with their modules.  Never logs, never touches
 * files. */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONF_STRING_MAX (PATH_MAX - 1) /* any string of the policy */
#define USEC(s) ((uint64_t) (s) * 1000000ULL)

/* Every error of one parse, in order, as "SOURCE: key.path: reason". */
struct config_errors {
        char **msgs;
        size_t n;
};

void config_errors_clear(struct config_errors *errs);

struct conf_parser {
        const char *source;         /* names the file in every message */
        struct config_errors *errs; /* may be NULL: errors are then only counted */
        size_t n_errors;            /* any error means no result */
        bool oom;
};

/* Appends one error; returns -EINVAL, for `return conf_report(…)`. */
int conf_report(struct conf_parser *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reports "out of memory" and remembers it; returns -ENOMEM. */
int conf_report_oom(struct conf_parser *p, const char *path);

/* Replaces *slot by a copy of s (reported when memory runs out). */
int conf_store_string(struct conf_parser *p, const char *path, char **slot, const char *s);

/* A JSON string without NUL bytes; NULL, reported as "expected EXPECTED"
 * or "contains a NUL byte", otherwise. */
const char *conf_string(struct conf_parser *p, const char *path, json_t *v, const char *expected);
/* The same, and not empty, and at most max bytes. */
const char *conf_text(struct conf_parser *p, const char *path, json_t *v, const char *expected, size_t max);

/* An id as config writes them: 0 … UINT32_MAX - 1 ((uid_t) -1 means "none"
 * to the kernel, so it is never an id).  Reports nothing. */
bool conf_id(json_t *v, uint32_t *ret);

/* An array of ids ("uid", "gid": what names one in messages) into a new
 * array in *ret (never NULL on success, even when empty) and its length in
 * *ret_n; an empty array is an error unless may_be_empty. */
int conf_id_list(struct conf_parser *p, const char *path, json_t *v, const char *what, bool may_be_empty,
                 uint32_t **ret, size_t *ret_n);

enum conf_number_kind {
        CONF_COUNT,    /* a non-negative integer */
        CONF_SIZE,     /* bytes, or a string such as "64K" */
        CONF_DURATION, /* seconds, or a string such as "10s"; stored in microseconds */
        _CONF_NUMBER_KIND_MAX
};

/* A number of the kind in [min, max] (microseconds for durations). */
int conf_number(struct conf_parser *p, const char *path, json_t *v, enum conf_number_kind kind, uint64_t min,
                uint64_t max, uint64_t *ret);

/* A file mode as a string of octal digits ("0440"), at most 0777. */
int conf_mode(struct conf_parser *p, const char *path, json_t *v, mode_t *ret);
