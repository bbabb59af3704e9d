/* cmd-rm.c — `secretctl rm NAME`: delete a secret; the daemon revokes
 * every lease of it, so its files go from every container at once. */
#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        _cleanup_json_ json_t *j = NULL;
        char path[256];
        int x;

        if (argc != 2 || argv[1][0] == '-')
                return usage_error(c, "expects one secret NAME");
        if (!secret_name_valid(argv[1]))
                return usage_error(c, "'%s' is not a valid secret name", argv[1]);
        snprintf(path, sizeof(path), "/v1/secrets/%s", argv[1]);
        x = ctl_json(c, "DELETE", path, NULL, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json)
                print_json(j);
        else
                printf("deleted %s; %lld lease%s revoked\n", argv[1], json_int(j, "leases_revoked"),
                       json_int(j, "leases_revoked") == 1 ? "" : "s");
        return EXIT_OK;
}

const struct command cmd_rm = {
        .name = "rm",
        .args = "NAME",
        .summary = "Delete the secret NAME and revoke its leases",
        .help = "",
        .run = run,
};
