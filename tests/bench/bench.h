/* bench.h — what the files of `make bench` share: the limits and sizes
 * of the run, the global state (G: temporary directory, cgroups, pids,
 * the daemon; P: the daemon's paths; shm: the steady clients' samples),
 * the structures passed between them, and one prototype per function that
 * another file calls.  bench.c says what is measured and how; bench-host.c
 * (state, processes, containers, cleanup), bench-stats.c (series, rows,
 * figures), bench-http.c (client), bench-daemon.c (the daemon under test)
 * and bench-floor/leases/rotation/scale/podman/docker/watch/etcd.c (the
 * scenarios) the rest. */

#ifndef SECRETD_BENCH_H
#define SECRETD_BENCH_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPEATS 5
#define STEADY_SECONDS 0.5
#define FIRST_LEASE_CONTAINERS 200
#define STEADY_CLIENTS_MAX 64
#define SAMPLES_MAX 40000 /* per client and repeat */
#define IDLE_CONNECTIONS 1000
#define PODMAN_RUNS 10
#define VALUE_SIZE 64
#define ROTATE_GRANTS 11 /* rot, c1..c9 and the set pair: 1,000 containers hold 11,000 leases */
#define ROTATE_SAMPLES 3 /* rotations (and as many bare-write rounds) per repeat */
#define MAX_PIDS 8192
#define MAX_CGROUPS 2048

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* --- the run's state (bench-host.c) --------------------------------------- */

struct globals {
        char tmp[64];            /* the temporary directory; "" when none */
        char rt[80];             /* its tmpfs: runtime dir, secrets root */
        char cg_root[512];       /* the cgroup2 mount */
        char made_slice[600];
        char *cgroups[MAX_CGROUPS];
        size_t n_cgroups;
        pid_t pids[MAX_PIDS];
        size_t n_pids;
        pid_t daemon;
        char podman_image[128];
        char podman_secret[128];
        pid_t dockerd;           /* scenario 10's engine, 0 when none */
        bool cleaned;
};

extern struct globals G;

/* a hand-made container */
struct container {
        char id[65];
        char *cgroup; /* absolute path of the cgroup2 directory */
        pid_t keeper; /* its main process, 0 when none */
};

int64_t now_ns(void);
void *xcalloc(size_t n, size_t size);
void write_file(const char *path, const void *data, size_t len, mode_t mode);
void reap(pid_t pid);
pid_t fork_child(void);
int run_cmd(const char *const argv[], char *out, size_t out_size);
/* Seconds that argv took, which must exit 0 having printed want (its
 * first line); dies otherwise, naming what. */
double time_cmd(const char *what, const char *const *argv, const char *want);
void random_hex(char *buf, size_t bytes);
void container_new(struct container *ct);
void container_enter(const struct container *ct, bool private_ns);
void container_keep(struct container *ct);
void container_end(struct container *ct, const pid_t *extra, size_t n_extra);
void podman_cleanup(void);
/* Stops scenario 10's dockerd (and its containerd) and removes its tree. */
void docker_stop(void);
/* bench-docker.c: removes the /run directories and /docker cgroups that
 * dockerd and runc made. */
void docker_forget_run_dirs(void);
void cleanup(void);
void on_signal(int sig);
void setup_tmp(void);
void setup_cgroups(void);
void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...);

/* --- statistics and figures (bench-stats.c) ------------------------------- */

struct series {
        double *v;
        size_t n, cap;
        size_t rep_start;
        double rep_med[64];
        unsigned n_rep;
};

struct summary {
        double p50, p99, spread; /* spread in percent of p50 */
};

struct kv {
        char key[48];
        double value;
};

struct row {
        char what[48];
        char p50[16], p99[16], spread[12], rate[14], limit[16], ratio[12], target[24];
        const char *verdict; /* "met", "MISSED", "" */
};

extern struct kv json_kv[160];
extern size_t n_json;
extern struct row rows[40];
extern size_t n_rows;

void series_add(struct series *s, double x);
void series_repeat(struct series *s);
struct summary series_summary(struct series *s);
void series_free(struct series *s);
void put(const char *key, double value);
void fmt_time(char *buf, size_t len, double us);
struct row *row_add(const char *what, const struct summary *s);
void row_target(struct row *r, double ratio, const char *target, bool met);

/* --- HTTP/1.1 on a Unix socket (bench-http.c) ----------------------------- */

#define HBUF (256 * 1024)

struct hconn {
        int fd;
        size_t have;
        char buf[HBUF];
};

int unix_connect(const char *path);
size_t build_request(char *buf, size_t len, const char *method, const char *path, const char *type,
                     const void *body, size_t body_len, bool keep_alive);
bool write_all(int fd, const void *data, size_t len);
int http_exchange(struct hconn *c, const char *req, size_t req_len, const char **ret_body,
                  size_t *ret_len);
struct hconn *hconn_open(const char *path);
void hconn_close(struct hconn *c);
void call(struct hconn *c, const char *method, const char *path, const char *type, const void *body,
          size_t len, int want);
size_t lease_request(char *buf, size_t len, bool keep_alive);

/* --- the daemon (bench-daemon.c) ------------------------------------------ */

struct paths {
        char config[200], admin[200], workload[200], secrets[200], log[200], notify[200], state[200];
};

extern struct paths P;
extern const char *secretd_bin, *lease_client_bin, *oci_hook_bin;

void write_config(const char *path, const char *state, const char *run, const char *secrets);
void daemon_init(const char *config);
double daemon_start(const char *config);
void daemon_stop(void);
void daemon_alive(const char *where);
long proc_status_kb(pid_t pid, const char *field);
double daemon_cpu_us(void);
void wait_instances_gone(const char *prefix);
void populate(unsigned n, const char *state);

/* --- the scenarios (bench-floor.c, bench-leases.c, bench-rotation.c,
 * bench-scale.c, bench-podman.c) ------------------------------------------- */

struct floor {
        double rtt_us, open_us, write_us, sum_us;
        double write_rename_p50_us;
};

struct slot {
        uint32_t n, errors, kept;
        int64_t end_ns;
        uint32_t lat_ns[SAMPLES_MAX];
};

struct shared {
        int64_t deadline_ns;
        struct slot slots[STEADY_CLIENTS_MAX];
};

extern struct shared *shm;

double floor_rtt(size_t req_len, size_t resp_len);
double floor_open(void);
void write_rename(int dfd, const uint8_t *value);
double floor_write(void);
void steady(struct container *cts, double floor_us, double *ret_p50_1);
/* labelled: each container has a Docker record (its labels and image)
 * that a workload's selectors match, read on its first connection. */
void first_lease(const uint8_t *db_value, bool labelled, double *ret_p50_us);
void conn_lease(struct container *ct);
void admin_get(double rtt_us, double open_us);
void rotation(struct container *cts, unsigned n_cts, int *ret_quit_fd, pid_t *workers);
/* The set "pair" (tls.crt, tls.key) in its encoding (secretd/secret-set.h)
 * into buf; returns its length. */
size_t set_body(char *buf, size_t len, const uint8_t *crt, const uint8_t *key);
void cold_start(unsigned n_secrets, unsigned n_leases);
void idle_connections(void);
void podman(struct hconn *admin);
/* bench-docker.c — scenario 10: docker run through the runc wrapper. */
void docker(struct hconn *admin);
/* bench-watch.c — scenario 11: parked watches woken by a rotation. */
void watch_wake(struct hconn *admin);
/* bench-etcd.c — scenario 12: the store in etcd (two more daemons on one
 * etcd member) against the directory store of the main daemon. */
void etcd_store(struct hconn *admin);

#endif
