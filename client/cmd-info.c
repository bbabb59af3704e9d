/* cmd-info.c — `secretctl info NAME`: versions, sizes, times, live leases. */
#include "secretctl.h"

static int print_info(json_t *j) {
        struct table *t = table_new(3, "VERSION", "SIZE", "CREATED");
        json_t *v;
        size_t i;
        int r = t ? 0 : -1;

        printf("name:     %s\nversion:  %lld\nleases:   %lld\n", json_str(j, "name"), json_int(j, "version"),
               json_int(j, "leases"));
        /* a set: its parts' names and sizes (never their bytes) */
        if (json_is_true(json_object_get(j, "set"))) {
                printf("parts:   ");
                json_array_foreach(json_object_get(j, "parts"), i, v) {
                        char size[24];

                        format_bytes((uint64_t) json_int(v, "size"), size, sizeof(size));
                        printf(" %s (%s)", json_str(v, "name"), size);
                }
                printf("\n");
        }
        printf("\n");
        json_array_foreach(json_object_get(j, "versions"), i, v) {
                char version[24], size[24];

                snprintf(version, sizeof(version), "%lld", json_int(v, "version"));
                format_bytes((uint64_t) json_int(v, "size"), size, sizeof(size));
                r = r ?: table_add(t, version, size, json_str(v, "created"));
        }
        if (r == 0)
                table_print(t, stdout);
        table_free(t);
        if (r < 0)
                fprintf(stderr, "secretctl: info: out of memory\n");
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        char path[256];
        int x = one_arg(c, argc, argv, "name");

        if (x != EXIT_OK)
                return x;
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET_META, argv[1], NULL);
        return ctl_show(c, "GET", path, print_info);
}


const struct command cmd_info = {
        .name = "info",
        .args = "NAME",
        .summary = "Show the versions of the secret NAME and how many leases hold it",
        .help = "",
        .run = run,
};
