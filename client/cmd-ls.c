/* cmd-ls.c — `secretctl ls`: names and metadata, never values. */
#include "secretctl.h"

static int print_list(json_t *j) {
        struct table *t = table_new(4, "NAME", "VERSION", "SIZE", "UPDATED");
        json_t *s;
        size_t i;
        int r = t ? 0 : -1;

        if (json_array_size(json_object_get(j, "secrets")) == 0) {
                table_free(t);
                printf("no secrets\n");
                return EXIT_OK;
        }
        json_array_foreach(json_object_get(j, "secrets"), i, s) {
                char version[24], size[24];

                if (json_str(s, "error")) {
                        r = r ?: table_add(t, json_str(s, "name"), "-", "-", json_str(s, "error"));
                        continue;
                }
                snprintf(version, sizeof(version), "%lld", json_int(s, "version"));
                format_bytes((uint64_t) json_int(s, "size"), size, sizeof(size));
                r = r ?: table_add(t, json_str(s, "name"), version, size, json_str(s, "updated"));
        }
        if (r == 0)
                table_print(t, stdout);
        table_free(t);
        if (r < 0)
                fprintf(stderr, "secretctl: ls: out of memory\n");
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        (void) argv;
        return no_args(c, argc) ?: ctl_show(c, "GET", API_ROUTE_SECRETS, print_list);
}


const struct command cmd_ls = {
        .name = "ls",
        .args = "",
        .summary = "List the secrets with their versions and sizes (never values)",
        .help = "",
        .run = run,
};
