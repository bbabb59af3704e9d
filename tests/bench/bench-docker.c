/* bench-docker.c — scenario 10: a real Docker engine (Debian's dockerd,
 * started here in a directory of the run's own and stopped again) runs an
 * unmodified busybox image through secretd's runc wrapper, which adds the
 * OCI hook, beside the same `docker run` on plain runc. */

#include "bench.h"

/* dockerd and containerd 1.6 make these whatever their flags: the ones
 * that were not there before are removed again (rmdir: only when empty). */
static const char *const run_dirs[] = { "/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd" };
static bool run_dir_ours[ELEMENTSOF(run_dirs)];
/* So does runc make /docker in every cgroup hierarchy, and leave it: those
 * that were not there before are removed again (rmdir: empty ones). */
#define CGROUP_HIERARCHIES_MAX 32
static char *cgroups_ours[CGROUP_HIERARCHIES_MAX];

static void note_docker_cgroups(void) {
        char line[4096], path[PATH_MAX];
        FILE *f = fopen("/proc/self/mounts", "re");
        size_t n = 0;

        while (f && fgets(line, sizeof(line), f) && n < CGROUP_HIERARCHIES_MAX) {
                char dir[PATH_MAX], type[64];

                if (sscanf(line, "%*s %4095s %63s", dir, type) != 2 || (strcmp(type, "cgroup") != 0 &&
                                                                       strcmp(type, "cgroup2") != 0))
                        continue;
                if (snprintf(path, sizeof(path), "%s/docker", dir) < (int) sizeof(path) && access(path, F_OK) < 0)
                        cgroups_ours[n++] = strdup(path);
        }
        if (f)
                fclose(f);
}

/* The hook's workload: a uid no other scenario's callers have. */
#define DOCKER_HOOK_UID "4321"

static char docker_sock[200];

/* dockerd in tmp/docker, its runtimes told where the hook and the
 * daemon's config are (it passes its environment on to them). */
static bool docker_start(const char *wrapper) {
        char dir[96], root[128], exec_root[128], pidfile[128], host[224], runtime[PATH_MAX + 16], log[128];
        char conf[128], key[192];
        const char *info[] = { "/usr/bin/docker", "-H", host, "info", NULL };

        snprintf(dir, sizeof(dir), "%s/docker", G.tmp);
        snprintf(root, sizeof(root), "%s/root", dir);
        snprintf(exec_root, sizeof(exec_root), "%s/exec", dir);
        snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", dir);
        snprintf(docker_sock, sizeof(docker_sock), "%s/docker.sock", dir);
        snprintf(host, sizeof(host), "unix://%s", docker_sock);
        snprintf(runtime, sizeof(runtime), "secretd=%s", wrapper);
        snprintf(log, sizeof(log), "%s/dockerd.log", dir);
        if (mkdir(dir, 0700) < 0)
                die("mkdir %s: %m", dir);
        /* its trust key, by default /etc/docker/key.json, stays in dir too */
        snprintf(conf, sizeof(conf), "%s/daemon.json", dir);
        snprintf(key, sizeof(key), "{\"deprecated-key-path\": \"%s/key.json\"}\n", dir);
        write_file(conf, key, strlen(key), 0600);
        for (size_t i = 0; i < ELEMENTSOF(run_dirs); i++)
                run_dir_ours[i] = access(run_dirs[i], F_OK) < 0;
        note_docker_cgroups();
        /* containerd's shims leave its process tree: reaped here, not left
         * as zombies for PID 1 (docker_stop) */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        G.dockerd = fork_child();
        if (G.dockerd == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                setenv("SECRETD_CONFIG", P.config, 1);
                setenv("SECRETD_OCI_HOOK", oci_hook_bin, 1);
                execl("/usr/sbin/dockerd", "dockerd", "--iptables=false", "--ip-masq=false", "--bridge=none",
                      "--config-file", conf, "--data-root", root, "--exec-root", exec_root, "--pidfile", pidfile, "-H", host,
                      "--add-runtime", runtime, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 120; i++) {
                if (run_cmd(info, NULL, 0) == 0)
                        return true;
                usleep(250 * 1000);
        }
        printf("  dockerd did not answer in 30 s (see %s): scenario 10 skipped\n", log);
        return false;
}

static void docker_image(const char *host) {
        char tarball[128];
        const char *imp[] = { "/usr/bin/docker", "-H", host, "import", tarball, "secretd-bench:1", NULL };

        /* the image scenario 9 built: busybox and the lease client */
        snprintf(tarball, sizeof(tarball), "%s/img.tar", G.tmp);
        if (run_cmd(imp, NULL, 0) != 0)
                die("docker import failed (see %s/cmd.err)", G.tmp);
}

static void docker_rows(struct series *plain, struct series *hook) {
        struct summary sp = series_summary(plain), sh = series_summary(hook);
        struct row *r;

        row_add("docker run (runc)", &sp);
        r = row_add("docker run --runtime secretd, unmodified image", &sh);
        fmt_time(r->limit, sizeof(r->limit), sp.p50);
        row_target(r, sh.p50 / sp.p50, "<= 1.05x docker run", sh.p50 <= 1.05 * sp.p50);
        put("docker_plain_s", sp.p50 / 1e6);
        put("docker_hook_container_s", sh.p50 / 1e6);
        put("docker_hook_container_spread_pct", sh.spread);
        put("docker_hook_over_plain", sh.p50 / sp.p50);
}

void docker_forget_run_dirs(void) {
        for (size_t i = 0; i < ELEMENTSOF(run_dirs); i++)
                if (run_dir_ours[i]) {
                        (void) rmdir(run_dirs[i]);
                        run_dir_ours[i] = false;
                }
        /* a container's cgroup below may stay busy a moment after it ends */
        for (size_t i = 0; i < CGROUP_HIERARCHIES_MAX && cgroups_ours[i]; i++) {
                for (int k = 0; k < 100 && rmdir(cgroups_ours[i]) < 0 && errno == EBUSY; k++)
                        usleep(20 * 1000);
                free(cgroups_ours[i]);
                cgroups_ours[i] = NULL;
        }
}

void docker(struct hconn *admin) {
        char host[224], wrapper[PATH_MAX], value[33], tarball[128];
        struct series plain = {}, hook = {};
        char *slash;

        snprintf(wrapper, sizeof(wrapper), "%s", oci_hook_bin ? oci_hook_bin : "");
        slash = strrchr(wrapper, '/');
        if (slash)
                snprintf(slash + 1, sizeof(wrapper) - (size_t) (slash + 1 - wrapper), "secretd-runc");
        snprintf(tarball, sizeof(tarball), "%s/img.tar", G.tmp);
        if (access("/usr/sbin/dockerd", X_OK) < 0 || access("/usr/bin/docker", X_OK) < 0 || !slash ||
            access(wrapper, X_OK) < 0 || access(tarball, R_OK) < 0 || !docker_start(wrapper)) {
                printf("  no dockerd, runc wrapper or image: scenario 10 skipped\n");
                put("docker_plain_s", NAN);
                put("docker_hook_container_s", NAN);
                docker_stop();
                return;
        }
        snprintf(host, sizeof(host), "unix://%s", docker_sock);
        docker_image(host);
        random_hex(value, 16);
        call(admin, "POST", "/v1/secrets/db/rotate", "application/octet-stream", value, 32, 200);
        {
                const char *plain_run[] = { "/usr/bin/docker", "-H", host, "run", "--rm", "--network", "none",
                                            "secretd-bench:1", "cat", "/dev/null", NULL };
                const char *hook_run[] = { "/usr/bin/docker", "-H", host, "run", "--rm", "--network", "none",
                                           "--runtime", "secretd", "--user", DOCKER_HOOK_UID, "secretd-bench:1",
                                           "cat", "/run/secrets/db", NULL };

                (void) time_cmd("plain", plain_run, "");
                (void) time_cmd("hook", hook_run, value);
                for (int i = 0; i < PODMAN_RUNS; i++) {
                        series_add(&plain, time_cmd("plain", plain_run, "") * 1e6);
                        series_repeat(&plain);
                        series_add(&hook, time_cmd("hook", hook_run, value) * 1e6);
                        series_repeat(&hook);
                }
        }
        wait_instances_gone("docker-");
        docker_stop();
        docker_rows(&plain, &hook);
        series_free(&plain);
        series_free(&hook);
        daemon_alive("docker");
}
