/* cmd-leases.c — `secretctl leases`: the caller's own leases (an admin
 * sees every lease, with its owner). */
#include <string.h>

#include "secretctl.h"

/* A caller in a mount namespace of its own (a container) reads its files
 * at the workload's inject path, not at the host path: when the daemon's
 * list gives only "host_path", the in-container path is made from whoami's
 * inject and the file's name. */
static void paths_inside(struct ctl *c, json_t *leases) {
        _cleanup_json_ json_t *me = NULL;
        const char *inject, *workload;
        json_t *l;
        size_t i;
        bool missing = false;

        json_array_foreach(leases, i, l)
                missing = missing || !json_str(l, "path");
        if (!missing || ctl_json(c, "GET", API_ROUTE_WHOAMI, NULL, &me) != EXIT_OK)
                return;
        inject = json_str(json_object_get(me, "workload"), "inject");
        workload = json_str(json_object_get(me, "workload"), "name");
        if (!inject || !workload || json_is_true(json_object_get(me, "same_mount_namespace")))
                return;
        json_array_foreach(leases, i, l) {
                const char *host = json_str(l, "host_path"), *file = host ? strrchr(host, '/') : NULL;
                char path[4096];

                if (json_str(l, "path") || !file || strcmp(json_str(l, "workload") ?: "", workload) != 0)
                        continue;
                snprintf(path, sizeof(path), "%s%s", inject, file);
                json_object_set_new(l, "path", json_string(path));
        }
}

static int run(struct ctl *c, int argc, char **argv) {
        _cleanup_json_ json_t *j = NULL;
        int x;

        (void) argv;
        x = no_args(c, argc) ?: ctl_json(c, "GET", API_ROUTE_LEASES, NULL, &j);
        if (x != EXIT_OK)
                return x;
        if (c->json) {
                print_json(j);
                return EXIT_OK;
        }
        paths_inside(c, json_object_get(j, "leases"));
        return print_leases(json_object_get(j, "leases"), true);
}

const struct command cmd_leases = {
        .name = "leases",
        .args = "",
        .summary = "List live leases (your own; an admin sees all)",
        .help = "",
        .run = run,
};
