/* cmd-rm.c — `secretctl rm NAME`: delete a secret; the daemon revokes
 * every lease of it, so its files go from every container at once. */
#include "secretctl.h"

static int print_deleted(json_t *j) {
        printf("deleted %s; %lld lease%s revoked\n", json_str(j, "deleted"), json_int(j, "leases_revoked"),
               json_int(j, "leases_revoked") == 1 ? "" : "s");
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        char path[256];
        int x = one_arg(c, argc, argv, "name");

        if (x != EXIT_OK)
                return x;
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET, argv[1], NULL);
        return ctl_show(c, "DELETE", path, print_deleted);
}

const struct command cmd_rm = {
        .name = "rm",
        .args = "NAME",
        .summary = "Delete the secret NAME and revoke its leases",
        .help = "",
        .run = run,
};
