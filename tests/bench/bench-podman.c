/* bench-podman.c — scenario 9: Podman's own secrets (podman run with a
 * --secret) timed beside a podman run whose container leases through
 * secretd. */

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

void podman(struct hconn *admin) {
        char dir[128], path[256], tarball[128], vol[256], secret_arg[200];
        char value[33];
        struct series ps = {}, ss = {};
        struct summary sp, sd;
        struct row *r;
        static const char *const links[] = { "sh", "cat" };

        if (access("/usr/bin/podman", X_OK) < 0 && access("/usr/local/bin/podman", X_OK) < 0) {
                printf("  podman not installed: scenario 9 skipped\n");
                put("podman_secret_s", NAN);
                put("secretd_container_s", NAN);
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

        snprintf(vol, sizeof(vol), "%s:/run/secretd/workload.sock", P.workload);
        snprintf(secret_arg, sizeof(secret_arg), "%s", G.podman_secret);
        snprintf(path, sizeof(path), "cat /run/secrets/%s", G.podman_secret);
        {
                const char *with_secret[] = { "podman", "--runtime", "runc",
                                        "--cgroup-manager", "cgroupfs", "run",
                                        "--rm", "--network=none", "--secret", secret_arg,
                                        "--ulimit", "nofile=1024:1024", "--ulimit",
                                        "nproc=1024:1024", G.podman_image, "sh", "-c",
                                        path, NULL };
                const char *with_secretd[] = { "podman", "--runtime", "runc",
                                         "--cgroup-manager", "cgroupfs", "run",
                                         "--rm", "--network=none", "-v", vol,
                                         "--ulimit", "nofile=1024:1024", "--ulimit",
                                         "nproc=1024:1024", G.podman_image, "sh", "-c",
                                         "lease-client /run/secretd/workload.sock "
                                                  "'{\"secrets\":[\"db\"]}' >/dev/null && cat /run/secrets/db",
                                         NULL };

                /* one of each first: image and runtime caches warm */
                (void) podman_run("--secret", with_secret, value);
                (void) podman_run("secretd", with_secretd, value);
                for (int i = 0; i < PODMAN_RUNS; i++) {
                        series_add(&ps, podman_run("--secret", with_secret, value) * 1e6);
                        series_repeat(&ps);
                        series_add(&ss, podman_run("secretd", with_secretd, value) * 1e6);
                        series_repeat(&ss);
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
        series_free(&ps);
        series_free(&ss);
        daemon_alive("podman");
}
