/* cmd-revoke.c — `secretctl revoke ID`: end a lease; its file goes at once. */
#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        _cleanup_json_ json_t *j = NULL;
        char path[128];
        int x;

        if (argc != 2 || argv[1][0] == '-')
                return usage_error(c, "expects one lease ID");
        if (!lease_id_valid(argv[1]))
                return usage_error(c, "'%s' is not a lease id", argv[1]);
        snprintf(path, sizeof(path), "/v1/leases/%s", argv[1]);
        x = ctl_json(c, "DELETE", path, NULL, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json)
                print_json(j);
        else
                printf("revoked %s\n", argv[1]);
        return EXIT_OK;
}

const struct command cmd_revoke = {
        .name = "revoke",
        .args = "ID",
        .summary = "Revoke the lease ID; its file is removed at once",
        .help = "",
        .run = run,
};
