/* cmd-status.c — `secretctl status`: the daemon's version, uptime, counts,
 * and where its store is (dir, or etcd and whether it is reachable). */
#include "secretctl.h"

static int print_status(json_t *j) {
        printf("secretd %s, pid %lld, up %.0f s\n", json_str(j, "version"), json_int(j, "pid"),
               json_real_value(json_object_get(j, "uptime_s")));
        printf("secrets:      %lld\nworkloads:    %lld\nconnections:  %lld\nstate:        %s\n",
               json_int(j, "secrets"), json_int(j, "workloads"), json_int(j, "connections"),
               json_str(j, "state_dir"));
        /* with etcd the store is shared: say whether this host reaches it */
        if (json_is_false(json_object_get(j, "backend_reachable")))
                printf("store:        %s, cut off since %s\n", json_str(j, "backend"),
                       json_str(j, "backend_cut_off_since"));
        else
                printf("store:        %s\n", json_str(j, "backend"));
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        (void) argv;
        return no_args(c, argc) ?: ctl_show(c, "GET", API_ROUTE_STATUS, print_status);
}

const struct command cmd_status = {
        .name = "status",
        .args = "",
        .summary = "Show the daemon's version, uptime, counts and store",
        .help = "",
        .run = run,
};
