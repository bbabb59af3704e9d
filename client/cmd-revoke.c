/* cmd-revoke.c — `secretctl revoke ID`: end a lease; its file goes at once. */
#include "secretctl.h"

static int print_revoked(json_t *j) {
        printf("revoked %s\n", json_str(j, "revoked"));
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        char path[128];
        int x = one_arg(c, argc, argv, "id");

        if (x != EXIT_OK)
                return x;
        (void) api_path(path, sizeof(path), API_ROUTE_LEASE, argv[1], NULL);
        return ctl_show(c, "DELETE", path, print_revoked);
}

const struct command cmd_revoke = {
        .name = "revoke",
        .args = "ID",
        .summary = "Revoke the lease ID; its file is removed at once",
        .help = "",
        .run = run,
};
