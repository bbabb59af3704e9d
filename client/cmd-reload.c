/* cmd-reload.c — `secretctl reload`: re-read the policy.  A broken file
 * keeps the old policy; the daemon's reasons are printed. */
#include "secretctl.h"

static int print_reloaded(json_t *j) {
        printf("reloaded: %lld workload%s\n", json_int(j, "workloads"), json_int(j, "workloads") == 1 ? "" : "s");
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        (void) argv;
        return no_args(c, argc) ?: ctl_show(c, "POST", API_ROUTE_RELOAD, print_reloaded);
}

const struct command cmd_reload = {
        .name = "reload",
        .args = "",
        .summary = "Re-read the configuration; a broken file keeps the old one",
        .help = "",
        .run = run,
};
