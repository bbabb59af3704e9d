/* bench.c — `make bench`: the real daemon's speed and scale, each figure
 * beside the machine's own limit measured in the same run (issue 8).
 *
 * Runs as root.  Everything lives under one temporary directory: config,
 * key, audit log and state on the disk (like /etc, /var/log, /var/lib),
 * and a tmpfs for the runtime directory and the secrets root (like /run).
 * Containers are hand-made: cgroup2 directories named like Docker's
 * (system.slice/docker-<64hex>.scope) with a process moved in, and private
 * mount namespaces where injection is part of what is measured.  Every
 * cgroup, process, mount, Podman object and file it makes is removed at
 * the end, also on failure or SIGINT.
 *
 * Each scenario runs REPEATS times; it reports the median and p99 of all
 * samples and the spread of the per-repeat medians ((max - min) / median),
 * so a noisy machine shows as spread, not as a wrong ratio.
 *
 * Usage: bench --secretd PATH --lease-client PATH [--oci-hook PATH] [--json PATH]
 *              [--containers N] [--secrets N] [--quick]
 * (--quick: only the limit, steady leases, first leases, new-connection
 * leases and admin reads, for profiling)
 *
 * This file holds main (options, set-up, the order of the scenarios) and
 * the report (table and JSON); bench.h names the files that hold the rest. */

#include "bench.h"

/* --- report -------------------------------------------------------------- */

static void machine(char *buf, size_t len) {
        char model[256] = "unknown CPU", line[512];
        long mem_kb = 0;
        struct utsname u;
        FILE *f;

        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                        snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
                        model[strcspn(model, "\n")] = '\0';
                        break;
                }
        if (f)
                fclose(f);
        f = fopen("/proc/meminfo", "re");
        if (f && fscanf(f, "MemTotal: %ld kB", &mem_kb) != 1)
                mem_kb = 0;
        if (f)
                fclose(f);
        uname(&u);
        snprintf(buf, len, "%s %s, %ld x %s, %.0f GiB RAM", u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
                 model, (double) mem_kb / (1024.0 * 1024.0));
}

static void report(const char *json_path) {
        char date[64], mach[512];
        time_t t = time(NULL);
        struct tm tm;
        FILE *f;

        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
        machine(mach, sizeof(mach));
        printf("\nsecretd bench, %s, %s\n\n", date, mach);
        printf("| %-36s | %9s | %9s | %6s | %10s | %9s | %7s | %-14s | %-6s |\n", "scenario", "p50", "p99", "spread",
               "rate", "limit", "ratio", "target", "");
        printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------", "-----------",
               "-----------", "--------", "------------", "-----------", "---------", "----------------",
               "--------");
        for (size_t i = 0; i < n_rows; i++) {
                const struct row *r = &rows[i];

                printf("| %-36s | %9s | %9s | %6s | %10s | %9s | %7s | %-14s | %-6s |\n", r->what, r->p50, r->p99,
                       r->spread, r->rate, r->limit, r->ratio, r->target, r->verdict);
        }
        f = fopen(json_path, "we");
        if (!f)
                die("cannot write %s: %m", json_path);
        fprintf(f, "{\n  \"date\": \"%s\",\n  \"machine\": \"", date);
        for (const char *c = mach; *c; c++) {
                if (*c == '"' || *c == '\\')
                        fputc('\\', f);
                fputc(*c, f);
        }
        fprintf(f, "\"");
        for (size_t i = 0; i < n_json; i++)
                if (isfinite(json_kv[i].value))
                        fprintf(f, ",\n  \"%s\": %.6g", json_kv[i].key, json_kv[i].value);
                else
                        fprintf(f, ",\n  \"%s\": null", json_kv[i].key);
        fprintf(f, "\n}\n");
        fclose(f);
        printf("\nJSON: %s\n", json_path);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "secretd", required_argument, NULL, 's' },
                { "lease-client", required_argument, NULL, 'l' },
                { "oci-hook", required_argument, NULL, 'o' },
                { "json", required_argument, NULL, 'j' },
                { "containers", required_argument, NULL, 'c' },
                { "secrets", required_argument, NULL, 'n' },
                { "quick", no_argument, NULL, 'q' },
                {}
        };
        const char *json = "tests/bench/last.json";
        unsigned n_rot = 1000, n_secrets = 10000;
        bool quick = false;
        char state[128], run[128];
        struct container steady_cts[STEADY_CLIENTS_MAX], *rot_cts;
        struct floor fl = {};
        uint8_t value[VALUE_SIZE];
        struct hconn *admin;
        struct rlimit rl;
        pid_t *rot_workers;
        double lease_p50 = 0, first_p50 = 0, cold0;
        int quit_fd, c;
        struct row *r;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 's': secretd_bin = optarg; break;
                case 'l': lease_client_bin = optarg; break;
                case 'o': oci_hook_bin = optarg; break;
                case 'j': json = optarg; break;
                case 'c': n_rot = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'n': n_secrets = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'q': quick = true; break;
                default: return 2;
                }
        if (!secretd_bin || !lease_client_bin || n_rot == 0 || n_rot > 1200 || n_secrets > 99999) {
                fprintf(stderr, "usage: bench --secretd PATH --lease-client PATH [--oci-hook PATH] [--json PATH] "
                                "[--containers N<=1200] [--secrets N] [--quick]\n");
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "bench: needs root (cgroups, mounts, namespaces)\n");
                return 1;
        }
        if (sodium_init() < 0)
                die("libsodium failed to initialise");
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* ours: a thousand containers' pipes, directories and idle
         * connections (the daemon starts with systemd's 1024 again) */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        /* Other work on the host shows as spread; at the highest priority
         * (inherited by the daemon, the clients and the limit's
         * measurements alike) it disturbs the figures less. */
        if (setpriority(PRIO_PROCESS, 0, -20) < 0)
                fprintf(stderr, "bench: cannot raise priority: %m\n");
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        signal(SIGPIPE, SIG_IGN);
        shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shm == MAP_FAILED)
                die("mmap: %m");
        setup_tmp();
        setup_cgroups();
        atexit(cleanup);

        printf("secretd bench: set-up in %s\n", G.tmp);
        snprintf(state, sizeof(state), "%s/state", G.tmp);
        snprintf(run, sizeof(run), "%s/run", G.rt);
        write_config(P.config, state, run, P.secrets);
        daemon_init(P.config);
        populate(n_secrets, state);
        cold0 = daemon_start(P.config) / 1e3;
        printf("  daemon ready in %.1f ms with %u secrets and no leases\n", cold0 / 1e3, n_secrets);
        put("cold_start_no_leases_ms", cold0 / 1e3);
        admin = hconn_open(P.admin);
        randombytes_buf(value, sizeof(value));
        call(admin, "PUT", "/v1/secrets/db", "application/octet-stream", value, sizeof(value), 201);
        for (int i = 0; i <= 9; i++) {
                char path[64];
                uint8_t v[VALUE_SIZE];

                randombytes_buf(v, sizeof(v));
                snprintf(path, sizeof(path), i ? "/v1/secrets/c%d" : "/v1/secrets/rot", i);
                call(admin, "PUT", path, "application/octet-stream", v, sizeof(v), 201);
        }
        {
                static char set[2 * (VALUE_SIZE + 32)];
                size_t n = set_body(set, sizeof(set), value, value);

                call(admin, "PUT", "/v1/secrets/pair", "application/x-secretd-set", set, n, 201);
        }

        /* 1: the limit's parts, at the sizes of a real lease */
        printf("1. limit parts\n");
        {
                static char req[1024];
                size_t req_len = lease_request(req, sizeof(req), true), resp_len;
                struct container ct;
                struct hconn *w;
                const char *body;
                pid_t pid;
                int p[2];

                /* one real lease response, for its size */
                container_new(&ct);
                if (pipe2(p, O_CLOEXEC) < 0)
                        die("pipe: %m");
                pid = fork_child();
                if (pid == 0) {
                        uint32_t len;

                        container_enter(&ct, false);
                        w = hconn_open(P.workload);
                        if (http_exchange(w, req, req_len, &body, &resp_len) != 201)
                                _exit(1);
                        len = (uint32_t) (resp_len + (size_t) (body - w->buf));
                        _exit(write(p[1], &len, sizeof(len)) == sizeof(len) ? 0 : 1);
                }
                close(p[1]);
                {
                        uint32_t len = 0;

                        if (read(p[0], &len, sizeof(len)) != sizeof(len))
                                die("a first lease failed");
                        resp_len = len;
                }
                close(p[0]);
                container_end(&ct, &pid, 1);
                wait_instances_gone("docker-");
                printf("  lease request %zu bytes, response %zu bytes\n", req_len, resp_len);
                fl.rtt_us = floor_rtt(req_len, resp_len);
        }
        fl.open_us = floor_open();
        fl.write_us = floor_write();
        fl.sum_us = fl.rtt_us + fl.open_us + fl.write_us;
        r = row_add("floor = sum of the three", NULL);
        fmt_time(r->p50, sizeof(r->p50), fl.sum_us);
        put("floor_us", fl.sum_us);

        /* 2: steady-state leases from 1, 8, 64 hand-made containers */
        printf("2. steady-state leases\n");
        for (unsigned i = 0; i < STEADY_CLIENTS_MAX; i++) {
                container_new(&steady_cts[i]);
                container_keep(&steady_cts[i]);
        }
        steady(steady_cts, fl.sum_us, &lease_p50);
        for (unsigned i = 0; i < STEADY_CLIENTS_MAX; i++)
                container_end(&steady_cts[i], NULL, 0);
        wait_instances_gone("docker-");

        /* 3: first leases of fresh containers, injection included */
        printf("3. first leases\n");
        first_lease(value, false, &first_p50);
        first_lease(value, true, &first_p50);

        /* 4: a new connection per lease */
        printf("4. new-connection leases\n");
        {
                struct container ct;

                container_new(&ct);
                container_keep(&ct);
                conn_lease(&ct);
                container_end(&ct, NULL, 0);
                wait_instances_gone("docker-");
        }

        /* 5: admin reads */
        printf("5. admin reads\n");
        admin_get(fl.rtt_us, fl.open_us);

        if (quick) { /* --quick: for profiling the lease path */
                hconn_close(admin);
                daemon_stop();
                report(json);
                cleanup();
                return 0;
        }

        /* 11: long polls woken by a rotation */
        printf("11. watch\n");
        watch_wake(admin);

        /* 12: the store in etcd, beside this daemon's directory store */
        printf("12. etcd\n");
        if (access("/usr/bin/etcd", X_OK) == 0)
                etcd_store(admin);
        else
                printf("  skipped: no /usr/bin/etcd (make deps installs etcd-server)\n");

        /* 9 (before the scale scenarios, on a quiet host): Podman */
        printf("9. podman\n");
        podman(admin);
        printf("10. docker\n");
        docker(admin);

        /* 6: rotation to 1,000 instances (10,000 leases) */
        printf("6. rotation\n");
        rot_cts = xcalloc(n_rot, sizeof(*rot_cts));
        rot_workers = xcalloc(n_rot, sizeof(pid_t));
        rotation(rot_cts, n_rot, &quit_fd, rot_workers);
        hconn_close(admin);

        /* 7, 8: restart with all of it; memory */
        printf("7. cold start\n");
        cold_start(n_secrets + 12, n_rot * ROTATE_GRANTS);
        printf("8. idle connections\n");
        idle_connections();

        /* teardown: the containers end, the daemon lets go of them */
        close(quit_fd);
        for (unsigned i = 0; i < n_rot; i++)
                container_end(&rot_cts[i], &rot_workers[i], 1);
        wait_instances_gone("docker-");
        daemon_alive("teardown");
        daemon_stop();
        free(rot_cts);
        free(rot_workers);
        report(json);
        cleanup();
        return 0;
}
