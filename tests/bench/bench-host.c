/* bench-host.c — the host side of `make bench`: the run's global state,
 * dying with the daemon's last log lines, child processes that die with
 * the bench, running commands, hand-made Docker-like containers (cgroup2
 * directories with a process moved in, private mount namespaces), the
 * temporary directory and its tmpfs, and the cleanup that removes every
 * cgroup, process, mount, Podman object and file, also on a signal. */

#include "bench.h"

/* --- small things -------------------------------------------------------- */

int64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct globals G;

void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fprintf(stderr, "bench: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        if (G.tmp[0]) {
                char path[128];
                FILE *f;

                snprintf(path, sizeof(path), "%s/daemon.log", G.tmp);
                f = fopen(path, "re");
                if (f) {
                        char line[1024];
                        long n = 0;

                        fprintf(stderr, "--- daemon log (last lines):\n");
                        fseek(f, 0, SEEK_END);
                        n = ftell(f);
                        fseek(f, n > 4000 ? n - 4000 : 0, SEEK_SET);
                        while (fgets(line, sizeof(line), f))
                                fputs(line, stderr);
                        fclose(f);
                }
        }
        cleanup();
        exit(1);
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p)
                die("out of memory");
        return p;
}

void write_file(const char *path, const void *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0 || write(fd, data, len) != (ssize_t) len)
                die("cannot write %s: %m", path);
        close(fd);
}

static void track_pid(pid_t pid) {
        if (G.n_pids == MAX_PIDS)
                die("too many processes");
        G.pids[G.n_pids++] = pid;
}

void reap(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        for (size_t i = 0; i < G.n_pids; i++)
                if (G.pids[i] == pid) {
                        G.pids[i] = G.pids[--G.n_pids];
                        break;
                }
}

/* A child of the bench: dies with it, and never runs its cleanup. */
pid_t fork_child(void) {
        pid_t parent = getpid(), pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                G.cleaned = true; /* the parent owns everything */
                return 0;
        }
        track_pid(pid);
        return pid;
}

/* Runs argv, stdout into out (when given), stderr into tmp/cmd.err; the
 * exit status. */
int run_cmd(const char *const argv[], char *out, size_t out_size) {
        char errpath[128];
        int p[2], status;
        size_t got = 0;
        pid_t pid;

        snprintf(errpath, sizeof(errpath), "%s/cmd.err", G.tmp);
        if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe: %m");
        pid = fork_child();
        if (pid == 0) {
                int e = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                int n = open("/dev/null", O_RDWR | O_CLOEXEC);

                dup2(n, 0);
                dup2(p[1], 1);
                char *args[64];
                size_t k = 0;

                dup2(e >= 0 ? e : n, 2);
                for (; argv[k] && k + 1 < ELEMENTSOF(args); k++)
                        args[k] = strdup(argv[k]);
                args[k] = NULL;
                execvp(args[0], args);
                _exit(127);
        }
        close(p[1]);
        for (;;) {
                char sink[4096];
                char *dst = out && got + 1 < out_size ? out + got : sink;
                size_t room = out && got + 1 < out_size ? out_size - 1 - got : sizeof(sink);
                ssize_t n = read(p[0], dst, room);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (dst != sink)
                        got += (size_t) n;
        }
        close(p[0]);
        if (out)
                out[got] = '\0';
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        die("waitpid: %m");
        for (size_t i = 0; i < G.n_pids; i++)
                if (G.pids[i] == pid) {
                        G.pids[i] = G.pids[--G.n_pids];
                        break;
                }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void random_hex(char *buf, size_t bytes) {
        uint8_t raw[64];

        randombytes_buf(raw, bytes);
        sodium_bin2hex(buf, bytes * 2 + 1, raw, bytes);
}
/* --- hand-made containers -------------------------------------------------- */

static void cgroup_root(void) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        while (f && fgets(line, sizeof(line), f)) {
                char *dash = strstr(line, " - "), mnt[512];

                if (dash && strncmp(dash + 3, "cgroup2 ", 8) == 0 &&
                    sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
                        snprintf(G.cg_root, sizeof(G.cg_root), "%s", mnt);
                        break;
                }
        }
        if (f)
                fclose(f);
        if (!G.cg_root[0])
                die("no cgroup2 mount in /proc/self/mountinfo");
}

void container_new(struct container *ct) {
        char path[700];

        random_hex(ct->id, 32);
        snprintf(path, sizeof(path), "%s/system.slice/docker-%s.scope", G.cg_root, ct->id);
        if (mkdir(path, 0755) < 0)
                die("mkdir %s: %m", path);
        if (G.n_cgroups == MAX_CGROUPS)
                die("too many cgroups");
        ct->cgroup = G.cgroups[G.n_cgroups++] = strdup(path);
        ct->keeper = 0;
        if (!ct->cgroup)
                die("out of memory");
}

/* In a forked child: moves itself into the container's cgroup and, when
 * asked, into a private mount namespace with its own /run (where the
 * daemon injects /run/secrets). */
void container_enter(const struct container *ct, bool private_ns) {
        char path[720];
        int fd;

        snprintf(path, sizeof(path), "%s/cgroup.procs", ct->cgroup);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
                _exit(90);
        close(fd);
        if (!private_ns)
                return;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
                _exit(91);
}

void container_keep(struct container *ct) {
        pid_t pid = fork_child();

        if (pid == 0) {
                container_enter(ct, false);
                for (;;)
                        pause();
        }
        ct->keeper = pid;
}

/* Kills what runs in the container and removes its cgroup. */
void container_end(struct container *ct, const pid_t *extra, size_t n_extra) {
        if (ct->keeper > 0) {
                kill(ct->keeper, SIGKILL);
                reap(ct->keeper);
                ct->keeper = 0;
        }
        for (size_t i = 0; i < n_extra; i++)
                if (extra[i] > 0) {
                        kill(extra[i], SIGKILL);
                        reap(extra[i]);
                }
        if (ct->cgroup) {
                for (int i = 0; i < 100 && rmdir(ct->cgroup) < 0 && errno == EBUSY; i++)
                        usleep(1000);
                for (size_t i = 0; i < G.n_cgroups; i++)
                        if (G.cgroups[i] == ct->cgroup) {
                                G.cgroups[i] = G.cgroups[--G.n_cgroups];
                                break;
                        }
                free(ct->cgroup);
                ct->cgroup = NULL;
        }
}

/* --- cleanup ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) ftw;
        if (flag == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

static void unmount_under(const char *dir) {
        char *mounts[8192];
        size_t n = 0, len = strlen(dir);
        char line[4096];
        FILE *f = fopen("/proc/self/mountinfo", "re");

        while (f && fgets(line, sizeof(line), f) && n < ELEMENTSOF(mounts)) {
                char mnt[PATH_MAX];

                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strncmp(mnt, dir, len) == 0 &&
                    (mnt[len] == '/' || mnt[len] == '\0'))
                        mounts[n++] = strdup(mnt);
        }
        if (f)
                fclose(f);
        while (n > 0) {
                char *m = mounts[--n];

                if (m)
                        (void) umount2(m, MNT_DETACH);
                free(m);
        }
}

double time_cmd(const char *what, const char *const *argv, const char *want) {
        char out[512];
        int64_t t0 = now_ns();
        int rc = run_cmd(argv, out, sizeof(out));
        double s = (double) (now_ns() - t0) / 1e9;

        out[strcspn(out, "\n")] = '\0';
        if (rc != 0 || strcmp(out, want) != 0)
                die("%s (%s) exited %d printing '%.40s' (see %s/cmd.err)", argv[0], what, rc, out, G.tmp);
        return s;
}

void podman_cleanup(void) {
        if (G.podman_image[0]) {
                const char *argv[] = { "podman", "rmi", "-f", G.podman_image, NULL };

                (void) run_cmd(argv, NULL, 0);
                G.podman_image[0] = '\0';
        }
        if (G.podman_secret[0]) {
                const char *argv[] = { "podman", "secret", "rm", G.podman_secret, NULL };

                (void) run_cmd(argv, NULL, 0);
                G.podman_secret[0] = '\0';
        }
}

/* The containerd shims that outlived dockerd, our children as subreaper
 * (bench-docker.c): waited for by pid, never waitpid(-1), which could take
 * a scenario's own child.  Each gets 5 s to end. */
static void reap_shims(void) {
        DIR *d = opendir("/proc");
        struct dirent *e;

        while (d && (e = readdir(d))) {
                char path[300], stat[512];
                int ppid = 0;
                FILE *f;

                if (e->d_name[0] < '1' || e->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (!fgets(stat, sizeof(stat), f))
                        stat[0] = '\0';
                fclose(f);
                if (!strstr(stat, "(containerd-shim") || !strrchr(stat, ')') ||
                    sscanf(strrchr(stat, ')') + 2, "%*c %d", &ppid) != 1 || ppid != getpid())
                        continue;
                for (int i = 0; i < 50 && waitpid(atoi(e->d_name), NULL, WNOHANG) == 0; i++)
                        usleep(100 * 1000);
                if (waitpid(atoi(e->d_name), NULL, WNOHANG) == 0) {
                        kill(atoi(e->d_name), SIGKILL);
                        (void) waitpid(atoi(e->d_name), NULL, 0);
                }
        }
        if (d)
                closedir(d);
}

void docker_stop(void) {
        char dir[128];

        if (G.dockerd > 0) {
                kill(G.dockerd, SIGTERM);
                for (int i = 0; i < 300 && waitpid(G.dockerd, NULL, WNOHANG) == 0; i++)
                        usleep(100 * 1000);
                if (kill(G.dockerd, 0) == 0) {
                        kill(G.dockerd, SIGKILL);
                        (void) waitpid(G.dockerd, NULL, 0);
                }
                G.dockerd = 0;
                reap_shims();
                docker_forget_run_dirs();
        }
        if (G.tmp[0]) {
                snprintf(dir, sizeof(dir), "%s/docker", G.tmp);
                unmount_under(dir);
                nftw(dir, rm_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        }
}

void cleanup(void) {
        if (G.cleaned)
                return;
        G.cleaned = true;
        docker_stop(); /* before the kills below: a dockerd killed hard leaves its containerd */
        if (G.daemon > 0)
                kill(G.daemon, SIGTERM);
        for (size_t i = 0; i < G.n_pids; i++)
                if (G.pids[i] != G.daemon)
                        kill(G.pids[i], SIGKILL);
        for (size_t i = 0; i < G.n_pids; i++)
                while (waitpid(G.pids[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        G.n_pids = 0;
        G.daemon = 0;
        G.cleaned = false; /* podman_cleanup runs commands */
        podman_cleanup();
        G.cleaned = true;
        for (size_t i = 0; i < G.n_cgroups; i++) {
                for (int k = 0; k < 100 && rmdir(G.cgroups[i]) < 0 && errno == EBUSY; k++)
                        usleep(1000);
                free(G.cgroups[i]);
        }
        G.n_cgroups = 0;
        if (G.made_slice[0])
                (void) rmdir(G.made_slice);
        if (G.tmp[0]) {
                unmount_under(G.tmp);
                nftw(G.tmp, rm_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
                G.tmp[0] = '\0';
        }
}

void on_signal(int sig) {
        (void) sig;
        cleanup();
        _exit(130);
}
void setup_tmp(void) {
        char path[128];

        snprintf(G.tmp, sizeof(G.tmp), "/tmp/secretd-bench.XXXXXX");
        if (!mkdtemp(G.tmp)) {
                G.tmp[0] = '\0';
                die("mkdtemp: %m");
        }
        chmod(G.tmp, 0755);
        snprintf(G.rt, sizeof(G.rt), "%s/rt", G.tmp);
        if (mkdir(G.rt, 0755) < 0 || mount("tmpfs", G.rt, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
            mount(NULL, G.rt, NULL, MS_PRIVATE, NULL) < 0)
                die("tmpfs at %s: %m", G.rt);
        snprintf(path, sizeof(path), "%s/keys", G.tmp);
        if (mkdir(path, 0700) < 0)
                die("mkdir %s: %m", path);
        snprintf(P.config, sizeof(P.config), "%s/secretd.json", G.tmp);
        snprintf(P.state, sizeof(P.state), "%s/state", G.tmp);
        snprintf(P.admin, sizeof(P.admin), "%s/run/admin.sock", G.rt);
        snprintf(P.workload, sizeof(P.workload), "%s/run/workload.sock", G.rt);
        snprintf(P.secrets, sizeof(P.secrets), "%s/secrets", G.rt);
        snprintf(P.log, sizeof(P.log), "%s/daemon.log", G.tmp);
        snprintf(P.notify, sizeof(P.notify), "%s/notify.sock", G.rt);
}

void setup_cgroups(void) {
        char path[560];

        cgroup_root();
        snprintf(path, sizeof(path), "%s/system.slice", G.cg_root);
        if (mkdir(path, 0755) == 0)
                snprintf(G.made_slice, sizeof(G.made_slice), "%s", path);
        else if (errno != EEXIST)
                die("mkdir %s: %m", path);
}
