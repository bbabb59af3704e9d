/* bench-podman.c — scenario 9: Podman's own secrets (podman run with a
 * --secret) timed beside a podman run whose container leases through
 * secretd, one whose unmodified image gets the file from the OCI hook, and
 * the same run without any hook (what the hook itself costs).  Every run
 * names its hooks directory, so a hook installed on the host counts in
 * none of them. */

#include "bench.h"

/* --- scenario 9: Podman's own secrets, beside a container leasing ------------ */

static double podman_run(const char *label, const char *const *argv, const char *want) {
        char out[512];
        int64_t t0 = now_ns();
        int rc = run_cmd(argv, out, sizeof(out));
        double s = (double) (now_ns() - t0) / 1e9;

        out[strcspn(out, "\n")] = '\0';
        if (rc != 0 || strcmp(out, want) != 0)
                die("podman run (%s) exited %d printing '%.40s' (see %s/cmd.err)", label, rc, out, G.tmp);
        return s;
}

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

void podman(struct hconn *admin) {
        char dir[128], path[256], tarball[128], vol[256], secret_arg[200], hooks[160], nohooks[160];
        char value[33];
        struct series ps = {}, ss = {}, hs = {}, ns = {};
        struct summary sp, sd, sh, sn;
        struct row *r;
        static const char *const links[] = { "sh", "cat" };

        if (access("/usr/bin/podman", X_OK) < 0 && access("/usr/local/bin/podman", X_OK) < 0) {
                printf("  podman not installed: scenario 9 skipped\n");
                put("podman_secret_s", NAN);
                put("secretd_container_s", NAN);
                put("hook_container_s", NAN);
                put("podman_nohook_s", NAN);
                return;
        }
        /* the image: busybox and the static lease client, nothing else */
        snprintf(dir, sizeof(dir), "%s/img", G.tmp);
        snprintf(path, sizeof(path), "%s/bin", dir);
        if (mkdir(dir, 0755) < 0 || mkdir(path, 0755) < 0)
                die("mkdir %s: %m", path);
        snprintf(path, sizeof(path), "%s/run", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/tmp", dir);
        if (mkdir(path, 0755) < 0 || chmod(path, 01777) < 0)
                die("mkdir %s: %m", path);
        {
                char bin[256];
                const char *cp1[] = { "cp", "/usr/bin/busybox", bin, NULL };
                const char *cp2[] = { "cp", lease_client_bin, bin, NULL };

                snprintf(bin, sizeof(bin), "%s/bin/busybox", dir);
                if (run_cmd(cp1, NULL, 0) != 0)
                        die("cannot copy busybox");
                snprintf(bin, sizeof(bin), "%s/bin/lease-client", dir);
                if (run_cmd(cp2, NULL, 0) != 0)
                        die("cannot copy %s", lease_client_bin);
                for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                        snprintf(bin, sizeof(bin), "%s/bin/%s", dir, links[i]);
                        if (symlink("busybox", bin) < 0)
                                die("symlink %s: %m", bin);
                }
        }
        snprintf(tarball, sizeof(tarball), "%s/img.tar", G.tmp);
        {
                const char *tar[] = { "tar", "-C", dir, "-cf", tarball, ".", NULL };
                const char *imp[] = { "podman", "import", "-q", tarball, G.podman_image, NULL };

                snprintf(G.podman_image, sizeof(G.podman_image), "localhost/secretd-bench-%d", (int) getpid());
                if (run_cmd(tar, NULL, 0) != 0 || run_cmd(imp, NULL, 0) != 0)
                        die("cannot build the podman image (see %s/cmd.err)", G.tmp);
        }
        /* the same value in both */
        random_hex(value, 16);
        snprintf(path, sizeof(path), "%s/podman-value", G.tmp);
        write_file(path, value, 32, 0600);
        snprintf(G.podman_secret, sizeof(G.podman_secret), "secretd-bench-%d", (int) getpid());
        {
                const char *create[] = { "podman", "secret", "create", G.podman_secret, path,
                                   NULL };

                if (run_cmd(create, NULL, 0) != 0)
                        die("podman secret create failed (see %s/cmd.err)", G.tmp);
        }
        call(admin, "POST", "/v1/secrets/db/rotate", "application/octet-stream", value, 32, 200);
        unlink(path);

        hook_dirs(hooks, sizeof(hooks), nohooks, sizeof(nohooks));
        snprintf(vol, sizeof(vol), "%s:/run/secretd/workload.sock", P.workload);
        snprintf(secret_arg, sizeof(secret_arg), "%s", G.podman_secret);
        snprintf(path, sizeof(path), "cat /run/secrets/%s", G.podman_secret);
        {
                const char *with_secret[] = { "podman", "--runtime", "runc",
                                        "--cgroup-manager", "cgroupfs", "--hooks-dir", nohooks, "run",
                                        "--rm", "--network=none", "--secret", secret_arg,
                                        "--ulimit", "nofile=1024:1024", "--ulimit",
                                        "nproc=1024:1024", G.podman_image, "sh", "-c",
                                        path, NULL };
                const char *with_secretd[] = { "podman", "--runtime", "runc",
                                         "--cgroup-manager", "cgroupfs", "--hooks-dir", nohooks, "run",
                                         "--rm", "--network=none", "-v", vol,
                                         "--ulimit", "nofile=1024:1024", "--ulimit",
                                         "nproc=1024:1024", G.podman_image, "sh", "-c",
                                         "lease-client /run/secretd/workload.sock "
                                                  "'{\"secrets\":[\"db\"]}' >/dev/null && cat /run/secrets/db",
                                         NULL };
                const char *with_hook[] = { "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                                            "--hooks-dir", hooks, "run", "--rm", "--network=none",
                                            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                                            G.podman_image, "cat", "/run/secrets/db", NULL };
                const char *no_hook[] = { "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                                          "--hooks-dir", nohooks, "run", "--rm", "--network=none",
                                          "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                                          G.podman_image, "cat", "/dev/null", NULL };
                bool hook = hooks[0];

                /* one of each first: image and runtime caches warm */
                (void) podman_run("--secret", with_secret, value);
                (void) podman_run("secretd", with_secretd, value);
                if (hook)
                        (void) podman_run("hook", with_hook, value);
                (void) podman_run("no hook", no_hook, "");
                for (int i = 0; i < PODMAN_RUNS; i++) {
                        series_add(&ps, podman_run("--secret", with_secret, value) * 1e6);
                        series_repeat(&ps);
                        series_add(&ss, podman_run("secretd", with_secretd, value) * 1e6);
                        series_repeat(&ss);
                        if (hook) {
                                series_add(&hs, podman_run("hook", with_hook, value) * 1e6);
                                series_repeat(&hs);
                        }
                        series_add(&ns, podman_run("no hook", no_hook, "") * 1e6);
                        series_repeat(&ns);
                }
        }
        wait_instances_gone("podman-");
        podman_cleanup();
        sp = series_summary(&ps);
        sd = series_summary(&ss);
        row_add("podman run --secret (peer)", &sp);
        r = row_add("podman run, leasing through secretd", &sd);
        fmt_time(r->limit, sizeof(r->limit), sp.p50);
        row_target(r, sd.p50 / sp.p50, "<= 1.2x podman", sd.p50 <= 1.2 * sp.p50);
        put("podman_secret_s", sp.p50 / 1e6);
        put("podman_secret_spread_pct", sp.spread);
        put("secretd_container_s", sd.p50 / 1e6);
        put("secretd_container_spread_pct", sd.spread);
        put("secretd_container_over_podman", sd.p50 / sp.p50);
        sn = series_summary(&ns);
        row_add("podman run, no hook, no secret", &sn);
        put("podman_nohook_s", sn.p50 / 1e6);
        if (hooks[0]) {
                sh = series_summary(&hs);
                r = row_add("podman run, unmodified image, OCI hook", &sh);
                fmt_time(r->limit, sizeof(r->limit), sp.p50);
                row_target(r, sh.p50 / sp.p50, "<= 1.05x podman --secret", sh.p50 <= 1.05 * sp.p50);
                put("hook_container_s", sh.p50 / 1e6);
                put("hook_container_spread_pct", sh.spread);
                put("hook_over_podman_secret", sh.p50 / sp.p50);
                put("hook_over_nohook", sh.p50 / sn.p50);
        } else {
                printf("  no --oci-hook given: the hook's rows skipped\n");
                put("hook_container_s", NAN);
        }
        series_free(&ps);
        series_free(&ss);
        series_free(&hs);
        series_free(&ns);
        daemon_alive("podman");
}
