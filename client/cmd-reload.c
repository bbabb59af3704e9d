/* cmd-reload.c — `secretctl reload`: re-read the policy.  A broken file
 * keeps the old policy; the daemon's reasons are printed. */
#include "secretctl.h"

static int run(struct ctl *c, int argc, char **argv) {
        _cleanup_json_ json_t *j = NULL;
        int x;

        (void) argv;
        if (argc != 1)
                return usage_error(c, "takes no arguments");
        x = ctl_json(c, "POST", "/v1/reload", NULL, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json)
                print_json(j);
        else
                printf("reloaded: %lld workload%s\n", json_int(j, "workloads"), json_int(j, "workloads") == 1 ? "" : "s");
        return EXIT_OK;
}

const struct command cmd_reload = {
        .name = "reload",
        .args = "",
        .summary = "Re-read the configuration; a broken file keeps the old one",
        .help = "",
        .run = run,
};
