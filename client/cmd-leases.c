/* cmd-leases.c — `secretctl leases`: the caller's own leases (an admin
 * sees every lease). */
#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        _cleanup_json_ json_t *j = NULL;
        int x;

        (void) argv;
        if (argc != 1)
                return usage_error(c, "takes no arguments");
        x = ctl_json(c, "GET", "/v1/leases", NULL, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json) {
                print_json(j);
                return EXIT_OK;
        }
        return print_leases(json_object_get(j, "leases"));
}

const struct command cmd_leases = {
        .name = "leases",
        .args = "",
        .summary = "List live leases (your own; an admin sees all)",
        .help = "",
        .run = run,
};
