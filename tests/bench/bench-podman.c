/* bench-podman.c — scenario 9: Podman's own secrets (podman run with a
 * --secret) timed beside a podman run whose container leases through
 * secretd, one whose unmodified image gets the file from the OCI hook, and
 * the same run without any hook (what the hook itself costs).  Every run
 * names its hooks directory, so a hook installed on the host counts in
 * none of them. */

#include "bench.h"

/* --- scenario 9: Podman's own secrets, beside a container leasing ------------ */

/* A hooks.d that runs the OCI hook for the bench's daemon (hooks is ""
 * when there is no hook to run), and an empty one. */
static void hook_dirs(char *hooks, size_t hlen, char *nohooks, size_t nlen) {
        char path[256], json[1024];
        int n;

        snprintf(nohooks, nlen, "%s/nohooks.d", G.tmp);
        if (mkdir(nohooks, 0755) < 0)
                die("mkdir %s: %m", nohooks);
        hooks[0] = '\0';
        if (!oci_hook_bin || access(oci_hook_bin, X_OK) < 0)
                return;
        snprintf(hooks, hlen, "%s/hooks.d", G.tmp);
        if (mkdir(hooks, 0755) < 0)
                die("mkdir %s: %m", hooks);
        n = snprintf(json, sizeof(json),
                     "{\"version\":\"1.0.0\",\"hook\":{\"path\":\"%s\",\"args\":[\"secretd-oci-hook\",\"--config\","
                     "\"%s\"],\"timeout\":10},\"when\":{\"always\":true},\"stages\":[\"createRuntime\"]}\n",
                     oci_hook_bin, P.config);
        if (n < 0 || (size_t) n >= sizeof(json))
                die("hook JSON too long");
        snprintf(path, sizeof(path), "%s/secretd.json", hooks);
        write_file(path, json, (size_t) n, 0644);
}

/* tmp/img.tar: busybox and the static lease client, nothing else (also
 * scenario 10's image), imported as G.podman_image. */
static void podman_image(void) {
        static const char *const links[] = { "sh", "cat" };
        char dir[128], path[256], tarball[128];
        const char *cp1[] = { "cp", "/usr/bin/busybox", path, NULL };
        const char *cp2[] = { "cp", lease_client_bin, path, NULL };
        const char *tar[] = { "tar", "-C", dir, "-cf", tarball, ".", NULL };
        const char *imp[] = { "podman", "import", "-q", tarball, G.podman_image, NULL };

        snprintf(dir, sizeof(dir), "%s/img", G.tmp);
        snprintf(path, sizeof(path), "%s/bin", dir);
        if (mkdir(dir, 0755) < 0 || mkdir(path, 0755) < 0)
                die("mkdir %s: %m", path);
        snprintf(path, sizeof(path), "%s/run", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/tmp", dir);
        if (mkdir(path, 0755) < 0 || chmod(path, 01777) < 0)
                die("mkdir %s: %m", path);
        snprintf(path, sizeof(path), "%s/bin/busybox", dir);
        if (run_cmd(cp1, NULL, 0) != 0)
                die("cannot copy busybox");
        snprintf(path, sizeof(path), "%s/bin/lease-client", dir);
        if (run_cmd(cp2, NULL, 0) != 0)
                die("cannot copy %s", lease_client_bin);
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                snprintf(path, sizeof(path), "%s/bin/%s", dir, links[i]);
                if (symlink("busybox", path) < 0)
                        die("symlink %s: %m", path);
        }
        snprintf(tarball, sizeof(tarball), "%s/img.tar", G.tmp);
        snprintf(G.podman_image, sizeof(G.podman_image), "localhost/secretd-bench-%d", (int) getpid());
        if (run_cmd(tar, NULL, 0) != 0 || run_cmd(imp, NULL, 0) != 0)
                die("cannot build the podman image (see %s/cmd.err)", G.tmp);
}

/* The same random value as Podman's secret and as secretd's db. */
static void podman_value(struct hconn *admin, char value[static 33]) {
        char path[256];
        const char *create[] = { "podman", "secret", "create", G.podman_secret, path, NULL };

        random_hex(value, 16);
        snprintf(path, sizeof(path), "%s/podman-value", G.tmp);
        write_file(path, value, 32, 0600);
        snprintf(G.podman_secret, sizeof(G.podman_secret), "secretd-bench-%d", (int) getpid());
        if (run_cmd(create, NULL, 0) != 0)
                die("podman secret create failed (see %s/cmd.err)", G.tmp);
        call(admin, "POST", "/v1/secrets/db/rotate", "application/octet-stream", value, 32, 200);
        unlink(path);
}

#define PODMAN_RUN(hooksdir) "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--hooks-dir", hooksdir, \
        "run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"

/* Each way in turn, PODMAN_RUNS times after one warm-up each: --secret,
 * leasing through the socket, the hook (when there is one), no hook. */
static void podman_runs(const char *value, const char *hooks, const char *nohooks, struct series s[static 4]) {
        char vol[256], cat_secret[200];
        const char *with_secret[] = { PODMAN_RUN(nohooks), "--secret", G.podman_secret, G.podman_image, "sh", "-c",
                                      cat_secret, NULL };
        const char *with_secretd[] = { PODMAN_RUN(nohooks), "-v", vol, G.podman_image, "sh", "-c",
                                       "lease-client /run/secretd/workload.sock '{\"secrets\":[\"db\"]}' >/dev/null "
                                       "&& cat /run/secrets/db", NULL };
        const char *with_hook[] = { PODMAN_RUN(hooks), G.podman_image, "cat", "/run/secrets/db", NULL };
        const char *no_hook[] = { PODMAN_RUN(nohooks), G.podman_image, "cat", "/dev/null", NULL };
        const struct { const char *what; const char *const *argv; const char *want; } ways[4] = {
                { "--secret", with_secret, value }, { "secretd", with_secretd, value },
                { "hook", hooks[0] ? with_hook : NULL, value }, { "no hook", no_hook, "" },
        };

        snprintf(vol, sizeof(vol), "%s:/run/secretd/workload.sock", P.workload);
        snprintf(cat_secret, sizeof(cat_secret), "cat /run/secrets/%s", G.podman_secret);
        for (int i = -1; i < PODMAN_RUNS; i++)
                for (size_t w = 0; w < ELEMENTSOF(ways); w++) {
                        double t;

                        if (!ways[w].argv)
                                continue;
                        t = time_cmd(ways[w].what, ways[w].argv, ways[w].want);
                        if (i < 0)
                                continue; /* image and runtime caches warm */
                        series_add(&s[w], t * 1e6);
                        series_repeat(&s[w]);
                }
}

static void podman_rows(struct series s[static 4], bool hook) {
        struct summary sp = series_summary(&s[0]), sd = series_summary(&s[1]), sn = series_summary(&s[3]), sh;
        struct row *r;

        row_add("podman run --secret (peer)", &sp);
        r = row_add("podman run, leasing through secretd", &sd);
        fmt_time(r->limit, sizeof(r->limit), sp.p50);
        row_target(r, sd.p50 / sp.p50, "<= 1.2x podman", sd.p50 <= 1.2 * sp.p50);
        put("podman_secret_s", sp.p50 / 1e6);
        put("podman_secret_spread_pct", sp.spread);
        put("secretd_container_s", sd.p50 / 1e6);
        put("secretd_container_spread_pct", sd.spread);
        put("secretd_container_over_podman", sd.p50 / sp.p50);
        row_add("podman run, no hook, no secret", &sn);
        put("podman_nohook_s", sn.p50 / 1e6);
        if (!hook) {
                printf("  no --oci-hook given: the hook's rows skipped\n");
                put("hook_container_s", NAN);
                return;
        }
        sh = series_summary(&s[2]);
        r = row_add("podman run, unmodified image, OCI hook", &sh);
        fmt_time(r->limit, sizeof(r->limit), sp.p50);
        row_target(r, sh.p50 / sp.p50, "<= 1.05x podman --secret", sh.p50 <= 1.05 * sp.p50);
        put("hook_container_s", sh.p50 / 1e6);
        put("hook_container_spread_pct", sh.spread);
        put("hook_over_podman_secret", sh.p50 / sp.p50);
        put("hook_over_nohook", sh.p50 / sn.p50);
}

void podman(struct hconn *admin) {
        char hooks[160], nohooks[160], value[33];
        struct series s[4] = {};

        if (access("/usr/bin/podman", X_OK) < 0 && access("/usr/local/bin/podman", X_OK) < 0) {
                printf("  podman not installed: scenario 9 skipped\n");
                put("podman_secret_s", NAN);
                put("secretd_container_s", NAN);
                put("hook_container_s", NAN);
                put("podman_nohook_s", NAN);
                return;
        }
        podman_image();
        podman_value(admin, value);
        hook_dirs(hooks, sizeof(hooks), nohooks, sizeof(nohooks));
        podman_runs(value, hooks, nohooks, s);
        wait_instances_gone("podman-");
        podman_cleanup();
        podman_rows(s, hooks[0]);
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                series_free(&s[i]);
        daemon_alive("podman");
}
