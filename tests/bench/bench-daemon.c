/* bench-daemon.c — the real secretd under test: its temporary config
 * and paths, start (timed to READY=1 on its notify socket), stop, a
 * liveness check, its CPU time and memory from /proc, the instances it
 * holds under the secrets root, and populating it with many secrets. */

#include "bench.h"

/* --- the daemon ------------------------------------------------------------ */

struct paths P;
const char *secretd_bin, *lease_client_bin, *oci_hook_bin;
static int notify_fd = -1;

/* Like tests/integration/lib.sh write_config: every path under the
 * temporary directory; the runtime parts on its tmpfs. */
void write_config(const char *path, const char *state, const char *run, const char *secrets) {
        char buf[8192];
        int n;

        n = snprintf(buf, sizeof(buf),
                     "{\n"
                     "  \"admin_socket\": \"%s/admin.sock\",\n"
                     "  \"workload_socket\": \"%s/workload.sock\",\n"
                     "  \"hook_socket\": \"%s/hook/hook.sock\",\n"
                     "  \"runtime_dir\": \"%s\",\n"
                     "  \"state_dir\": \"%s\",\n"
                     "  \"secrets_root\": \"%s\",\n"
                     "  \"master_key\": \"%s/keys/master.key\",\n"
                     "  \"audit_log\": \"%s/audit.jsonl\",\n"
                     "  \"limits\": { \"max_connections\": 2048, \"idle_timeout\": \"60s\" },\n"
                     "  \"runtimes\": { \"docker\": { \"data_root\": \"%s/records\" } },\n"
                     "  \"workloads\": [\n"
                     "    { \"name\": \"labelled\", \"match\": { \"runtime\": \"docker\", \"labels\": "
                     "{ \"app\": \"bench\", \"tier\": \"f*\" }, \"image\": \"bench/*\" },\n"
                     "      \"inject\": \"/run/secrets\", \"secrets\": [ \"db\", \"rot\", \"c1\", \"c2\", \"c3\", \"c4\", \"c5\", "
                     "\"c6\", \"c7\", \"c8\", \"c9\" ] },\n"
                     "    { \"name\": \"docker-hook\", \"match\": { \"runtime\": \"docker\", \"uids\": [4321] },\n"
                     "      \"secrets\": [ \"db\" ] },\n"
                     "    { \"name\": \"bench\", \"match\": { \"runtime\": \"docker\" }, \"inject\": \"/run/secrets\",\n"
                     "      \"secrets\": [ \"db\", \"rot\", \"c1\", \"c2\", \"c3\", \"c4\", \"c5\", \"c6\", \"c7\", "
                     "\"c8\", \"c9\", \"pair\" ] },\n"
                     "    { \"name\": \"podman\", \"match\": { \"runtime\": \"podman\" }, \"inject\": \"/run/secrets\",\n"
                     "      \"secrets\": [ \"db\" ] } ]\n"
                     "}\n",
                     run, run, G.tmp, run, state, secrets, G.tmp, G.tmp, G.tmp);
        if (n < 0 || (size_t) n >= sizeof(buf))
                die("config too long");
        write_file(path, buf, (size_t) n, 0600);
}

void daemon_init(const char *config) {
        const char *argv[] = { secretd_bin, "init", "--config", config, NULL };

        if (run_cmd(argv, NULL, 0) != 0)
                die("secretd init --config %s failed (see %s/cmd.err)", config, G.tmp);
}

/* Starts the daemon; returns the nanoseconds from fork+exec to READY=1. */
double daemon_start(const char *config) {
        int64_t t0;
        pid_t pid;

        if (notify_fd < 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };

                if (strlen(P.notify) >= sizeof(sa.sun_path))
                        die("%s: path too long", P.notify);
                strcpy(sa.sun_path, P.notify);
                notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        die("notify socket %s: %m", P.notify);
        }
        t0 = now_ns();
        pid = fork_child();
        if (pid == 0) {
                int log = open(P.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                struct rlimit rl;

                dup2(null, 0);
                dup2(null, 1);
                dup2(log, 2);
                setenv("NOTIFY_SOCKET", P.notify, 1);
                /* the soft fd limit systemd gives a service, not ours */
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                        rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                }
                execl(secretd_bin, secretd_bin, "--config", config, NULL);
                _exit(127);
        }
        G.daemon = pid;
        for (;;) {
                struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
                char msg[512];
                ssize_t n;

                if (poll(&pfd, 1, 120000) <= 0)
                        die("the daemon did not send READY=1 within 120 s");
                n = recv(notify_fd, msg, sizeof(msg) - 1, 0);
                if (n <= 0)
                        continue;
                msg[n] = '\0';
                if (strstr(msg, "READY=1"))
                        return (double) (now_ns() - t0);
        }
}

void daemon_stop(void) {
        int status;

        if (G.daemon <= 0)
                return;
        kill(G.daemon, SIGTERM);
        while (waitpid(G.daemon, &status, 0) < 0)
                if (errno != EINTR)
                        break;
        for (size_t i = 0; i < G.n_pids; i++)
                if (G.pids[i] == G.daemon) {
                        G.pids[i] = G.pids[--G.n_pids];
                        break;
                }
        G.daemon = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("the daemon did not stop cleanly (status 0x%x)", status);
}

void daemon_alive(const char *where) {
        if (G.daemon > 0 && waitpid(G.daemon, NULL, WNOHANG) != 0)
                die("the daemon died during %s", where);
}

long proc_status_kb(pid_t pid, const char *field) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
                        v = strtol(line + strlen(field) + 1, NULL, 10);
        if (f)
                fclose(f);
        return v;
}

/* The daemon's CPU time so far (user + system), in microseconds: on a
 * busy host it says what the daemon itself spent where wall time also
 * counts the waits for a CPU. */
double daemon_cpu_us(void) {
        char path[64], buf[1024], *p;
        unsigned long long ut = 0, st = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) G.daemon);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
                close(fd);
        if (n <= 0)
                return NAN;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return NAN;
        return (double) (ut + st) * 1e6 / (double) sysconf(_SC_CLK_TCK);
}

/* Containers' instance directories (in the secrets root's containers/)
 * whose name starts so. */
static size_t count_instances(const char *prefix) {
        char path[sizeof(P.secrets) + 16];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/containers", P.secrets);
        d = opendir(path);

        while (d && (de = readdir(d)))
                n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
        if (d)
                closedir(d);
        return n;
}

/* Waits until the daemon has let go of every instance named so (their
 * containers are gone), so one scenario's teardown never runs into the
 * next one's figures. */
void wait_instances_gone(const char *prefix) {
        int64_t t0 = now_ns();

        for (int i = 0; i < 3000 && count_instances(prefix) > 0; i++)
                usleep(10000);
        if (count_instances(prefix) > 0)
                die("%zu instances left 30 s after their containers ended", count_instances(prefix));
        if (now_ns() - t0 > 1000000000)
                printf("  (the daemon took %.1f s to let go of ended containers)\n", (double) (now_ns() - t0) / 1e9);
}

/* --- set-up ---------------------------------------------------------------- */

/* 10,000 secrets through the API of a throwaway daemon whose state is on
 * the tmpfs (each create is durable: two fsyncs on the disk would make
 * this alone take minutes), then copied into the real state directory. */
void populate(unsigned n, const char *state) {
        char cfg[128], fstate[128], run[128], sec[128], path[256];
        char from[256], to[256];
        uint8_t value[VALUE_SIZE];
        struct hconn *admin;
        struct paths saved = P;
        int64_t t0 = now_ns();

        if (n == 0)
                return;
        snprintf(cfg, sizeof(cfg), "%s/populate.json", G.tmp);
        snprintf(fstate, sizeof(fstate), "%s/populate-state", G.rt);
        snprintf(run, sizeof(run), "%s/populate-run", G.rt);
        snprintf(sec, sizeof(sec), "%s/populate-secrets", G.rt);
        write_config(cfg, fstate, run, sec);
        daemon_init(cfg);
        snprintf(P.admin, sizeof(P.admin), "%s/admin.sock", run);
        daemon_start(cfg);
        admin = hconn_open(P.admin);
        for (unsigned i = 0; i < n; i++) {
                randombytes_buf(value, sizeof(value));
                snprintf(path, sizeof(path), "/v1/secrets/s%05u", i);
                call(admin, "PUT", path, "application/octet-stream", value, sizeof(value), 201);
        }
        hconn_close(admin);
        daemon_stop();
        P = saved;
        for (unsigned i = 0; i < n; i++) {
                int in, out;
                char buf[4096];
                ssize_t k;

                snprintf(from, sizeof(from), "%s/s%05u.sealed", fstate, i);
                snprintf(to, sizeof(to), "%s/s%05u.sealed", state, i);
                in = open(from, O_RDONLY | O_CLOEXEC);
                out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (in < 0 || out < 0)
                        die("copy %s: %m", from);
                while ((k = read(in, buf, sizeof(buf))) > 0)
                        if (write(out, buf, (size_t) k) != k)
                                die("copy %s: %m", to);
                close(in);
                close(out);
        }
        sync();
        printf("  %u secrets created and stored in %.1f s\n", n, (double) (now_ns() - t0) / 1e9);
}
