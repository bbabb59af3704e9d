/* cmd-leases.c — `secretctl leases`: the caller's own leases (an admin
 * sees every lease). */
#include "secretctl.h"

static int print_all(json_t *j) {
        return print_leases(json_object_get(j, "leases"));
}

static int run(struct ctl *c, int argc, char **argv) {
        (void) argv;
        return no_args(c, argc) ?: ctl_show(c, "GET", "/v1/leases", print_all);
}


const struct command cmd_leases = {
        .name = "leases",
        .args = "",
        .summary = "List live leases (your own; an admin sees all)",
        .help = "",
        .run = run,
};
