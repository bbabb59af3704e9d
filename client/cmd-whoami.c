/* cmd-whoami.c — `secretctl whoami`: who secretd thinks the caller is
 * (from kernel facts), the workload that matched and what it grants. */
#include <string.h>

#include "secretctl.h"

static void print_grants(json_t *w) {
        json_t *g;
        size_t i;

        json_array_foreach(json_object_get(w, "grants"), i, g) {
                const char *name = json_str(g, "name"), *file = json_str(g, "file");

                printf("%s%s", i ? ", " : "", name);
                if (file && name && strcmp(file, name) != 0)
                        printf(" as %s", file);
                printf(" (%s)", json_str(g, "mode") ?: "0400");
        }
        printf("\n");
}

/* What the runtime recorded of the caller, spelt as the policy's match
 * keys so that a workload can be written from it. */
static void print_selectors(json_t *sel) {
        static const char *const keys[] = { "name", "image", "image_id", "namespace", "pod", "container" };
        const char *k;
        json_t *v;
        size_t i = 0;

        if (json_str(sel, "unavailable")) {
                printf("selectors: none believed (%s)\n", json_str(sel, "unavailable"));
                return;
        }
        for (size_t n = 0; n < sizeof(keys) / sizeof(keys[0]); n++)
                if (json_str(sel, keys[n]))
                        printf("%s:%*s%s\n", keys[n], (int) (10 - strlen(keys[n])), "", json_str(sel, keys[n]));
        if (!json_is_object(json_object_get(sel, "labels")))
                return;
        printf("labels:    ");
        json_object_foreach(json_object_get(sel, "labels"), k, v)
                printf("%s%s=%s", i++ ? ", " : "", k, json_string_value(v));
        printf("%s\n", i ? "" : "(none)");
}

static int print_identity(json_t *j) {
        json_t *w = json_object_get(j, "workload");
        const char *id = json_str(j, "id") ?: json_str(j, "unit");

        printf("identity:  %s\n", json_str(j, "identity"));
        printf("runtime:   %s\n", json_str(j, "runtime"));
        if (id)
                printf("%s  %s\n", json_str(j, "unit") ? "unit:    " : "id:      ", id);
        if (json_str(j, "pod_uid"))
                printf("pod:       %s\n", json_str(j, "pod_uid"));
        printf("uid/gid:   %lld/%lld\n", json_int(j, "uid"), json_int(j, "gid"));
        printf("cgroup:    %s\n", json_str(j, "cgroup"));
        print_selectors(json_object_get(j, "selectors"));
        printf("admin:     %s\n", json_is_true(json_object_get(j, "admin")) ? "yes" : "no");
        if (!json_is_object(w)) {
                printf("workload:  none (no secrets are granted to this caller)\n");
                return EXIT_OK;
        }
        printf("workload:  %s (ttl %s, at most %s", json_str(w, "name"), json_str(w, "ttl"), json_str(w, "max_ttl"));
        if (json_str(w, "inject"))
                printf(", files at %s", json_str(w, "inject"));
        printf(")\ngrants:    ");
        print_grants(w);
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        (void) argv;
        return no_args(c, argc) ?: ctl_show(c, "GET", API_ROUTE_WHOAMI, print_identity);
}

const struct command cmd_whoami = {
        .name = "whoami",
        .args = "",
        .summary = "Show the identity secretd sees for this process and its grants",
        .help = "",
        .run = run,
};
