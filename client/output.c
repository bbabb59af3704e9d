/* output.c — what people and scripts read: aligned tables for humans,
 * the daemon's own JSON for scripts (--json). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "secretctl.h"

struct table {
        size_t n_cols, n_cells, cap;
        char **cells; /* row-major; the first row is the header */
};

void print_json(json_t *j) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
}

static int table_push(struct table *t, const char *s) {
        if (t->n_cells == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 32;
                char **n = realloc(t->cells, cap * sizeof(char *));

                if (!n)
                        return -1;
                t->cells = n;
                t->cap = cap;
        }
        t->cells[t->n_cells] = strdup(s ? s : "-");
        if (!t->cells[t->n_cells])
                return -1;
        t->n_cells++;
        return 0;
}

struct table *table_new(size_t n_cols, ...) {
        struct table *t = calloc(1, sizeof(*t));
        va_list ap;
        int r = 0;

        if (!t)
                return NULL;
        t->n_cols = n_cols;
        va_start(ap, n_cols);
        for (size_t i = 0; i < n_cols && r == 0; i++)
                r = table_push(t, va_arg(ap, const char *));
        va_end(ap);
        return r == 0 ? t : table_free(t);
}

int table_add(struct table *t, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, t);
        for (size_t i = 0; i < t->n_cols && r == 0; i++)
                r = table_push(t, va_arg(ap, const char *));
        va_end(ap);
        return r;
}

void table_print(struct table *t, FILE *out) {
        size_t width[16] = {};

        for (size_t i = 0; i < t->n_cells; i++) {
                size_t c = i % t->n_cols, w = strlen(t->cells[i]);

                if (c < ELEMENTSOF(width) && w > width[c])
                        width[c] = w;
        }
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t c = i % t->n_cols;
                bool last = c == t->n_cols - 1;

                if (last)
                        fprintf(out, "%s\n", t->cells[i]);
                else
                        fprintf(out, "%-*s  ", (int) (c < ELEMENTSOF(width) ? width[c] : 0), t->cells[i]);
        }
}

struct table *table_free(struct table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

const char *json_str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

long long json_int(json_t *o, const char *key) {
        return json_integer_value(json_object_get(o, key));
}

void format_bytes(uint64_t n, char *buf, size_t len) {
        if (n < 1024)
                snprintf(buf, len, "%" PRIu64 " B", n);
        else if (n < 1024 * 1024)
                snprintf(buf, len, "%.1f KiB", (double) n / 1024);
        else
                snprintf(buf, len, "%.1f MiB", (double) n / (1024 * 1024));
}

/* Who holds a lease, shortly: its instance, with a container id cut to 12
 * characters as `docker ps` shows it (--json has it whole). */
static void owner_of(json_t *l, char *buf, size_t len) {
        const char *in = json_str(l, "instance") ?: "-";
        const char *dash = strrchr(in, '-');

        if (dash && strlen(dash + 1) == 64 && strspn(dash + 1, "0123456789abcdef") == 64)
                snprintf(buf, len, "%.*s%.12s", (int) (dash + 1 - in), in, dash + 1);
        else
                snprintf(buf, len, "%s", in);
}

/* The lease table shared by lease, leases and renew.  PATH is where the
 * caller reads the file (inside its container when injected), else the
 * host path. */
int print_leases(json_t *leases, bool owner) {
        struct table *t = owner ? table_new(6, "ID", "SECRET", "VERSION", "EXPIRES", "OWNER", "PATH")
                                : table_new(5, "ID", "SECRET", "VERSION", "EXPIRES", "PATH");
        json_t *l;
        size_t i;
        int r = t ? 0 : -1;

        if (json_array_size(leases) == 0) {
                table_free(t);
                printf("no leases\n");
                return EXIT_OK;
        }
        json_array_foreach(leases, i, l) {
                const char *path = json_str(l, "path") ?: json_str(l, "host_path");
                char version[24], who[160];

                const char *expires = json_str(l, "expires") ?: "at exit"; /* a container's, from the OCI hook */

                snprintf(version, sizeof(version), "%lld", json_int(l, "version"));
                owner_of(l, who, sizeof(who));
                if (r == 0 && owner)
                        r = table_add(t, json_str(l, "id"), json_str(l, "secret"), version, expires,
                                      who, path);
                else if (r == 0)
                        r = table_add(t, json_str(l, "id"), json_str(l, "secret"), version, expires,
                                      path);
        }
        if (r == 0)
                table_print(t, stdout);
        table_free(t);
        if (r < 0)
                fprintf(stderr, "secretctl: out of memory\n");
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}
