/* set-parts.c — a set's parts from the command line (`put` and `rotate`
 * with --part NAME=FILE): each FILE read into guarded memory like a value
 * (FILE '-' is standard input, for one part at most), then all of them
 * encoded as one body (secretd/secret-set.h).  Only file names are on the
 * command line, never a part's bytes. */
#include <string.h>

#include "secretctl.h"
#include "secretd/secret-set.h"

int part_arg(const struct ctl *c, struct part_args *pa, const char *spec) {
        const char *eq = strchr(spec, '=');
        char part[SECRET_NAME_MAX + 1];

        if (pa->n == SET_PARTS_MAX)
                return usage_error(c, "a set has at most %d parts", SET_PARTS_MAX);
        if (!eq || eq == spec || !eq[1])
                return usage_error(c, "--part is NAME=FILE ('-' for standard input), not '%s'", spec);
        if ((size_t) (eq - spec) > SECRET_NAME_MAX)
                return usage_error(c, "a part's name is at most %d bytes", SECRET_NAME_MAX);
        memcpy(part, spec, (size_t) (eq - spec));
        part[eq - spec] = '\0';
        if (!secret_name_valid(part))
                return usage_error(c, "part name '%s' must match %s", part, SECRET_NAME_GRAMMAR);
        for (size_t i = 0; i < pa->n; i++) {
                if (strncmp(pa->spec[i], spec, (size_t) (eq - spec) + 1) == 0)
                        return usage_error(c, "part '%s' is given twice", part);
                if (strcmp(eq + 1, "-") == 0 && strcmp(strchr(pa->spec[i], '=') + 1, "-") == 0)
                        return usage_error(c, "standard input can be read for one part only");
        }
        pa->spec[pa->n++] = spec;
        return EXIT_OK;
}

int read_set(const struct ctl *c, const struct part_args *pa, const char *name, size_t max, struct secbuf **ret) {
        struct secbuf *bufs[SET_PARTS_MAX] = {};
        struct secret_set set = { .n = pa->n };
        size_t total = 0;
        int x = EXIT_OK;

        for (size_t i = 0; i < pa->n && x == EXIT_OK; i++) {
                const char *eq = strchr(pa->spec[i], '=');
                char prompt[2 * SECRET_NAME_MAX + 2];

                memcpy(set.parts[i].name, pa->spec[i], (size_t) (eq - pa->spec[i]));
                set.parts[i].name[eq - pa->spec[i]] = '\0';
                snprintf(prompt, sizeof(prompt), "%s/%s", name, set.parts[i].name);
                x = read_value(c, eq + 1, prompt, max, &bufs[i]);
                if (x != EXIT_OK)
                        break;
                set.parts[i].data = bufs[i]->data;
                set.parts[i].len = bufs[i]->len;
                total += bufs[i]->len;
                if (total > max) {
                        fprintf(stderr, "secretctl: %s: the parts are larger than %zu bytes together\n", c->command,
                                max);
                        x = EXIT_ERROR;
                }
        }
        if (x == EXIT_OK && set_encode(&set, ret) < 0) {
                fprintf(stderr, "secretctl: %s: out of memory\n", c->command);
                x = EXIT_ERROR;
        }
        for (size_t i = 0; i < pa->n; i++)
                secbuf_free(bufs[i]);
        return x;
}
