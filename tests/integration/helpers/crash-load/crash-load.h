/* crash-load.h — what the modules of the crash-load helper share: the
 * limits, the model of what the daemon acknowledged (secrets, leases,
 * counters), the paths and containers from the command line, and the
 * prototypes of each module's entry points.  crash-load.c holds main and
 * the run loop; crash-load/ holds the HTTP client (http.c), the daemon's
 * life cycle (daemon.c), the model (model.c), the load (load.c), the
 * on-disk snapshot (snapshot.c) and the checks after a restart (check.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define N_NAMES 40
/* the last N_SETS names are sets of two parts, "a" and "b" */
#define N_SETS 10
#define SET_CTYPE "application/x-secretd-set"
#define MAX_CT 8
#define VALUE_MAX 3000
#define RESP_MAX (256 * 1024)
#define SEC 1000000LL
/* A lease "may have expired" within this much of its bounds: the timer
 * fires late on a loaded machine (and under sanitizers), and our clock
 * reads only bracket the daemon's. */
#define SLACK (3 * SEC)

/* crash-load.c: the command line, and what every module uses. */
extern const char *secretd, *config, *dir;
extern char admin_sock[4096], workload_sock[4096], secrets_root[4096], records_dir[4096], state_dir[4096];
extern char log_path[4200], prev_log_path[4200];
extern int round_no;

struct container {
        char cgroup[4096];
        char instance[128]; /* docker-<id> */
};
extern struct container ct[MAX_CT];
extern int n_ct;

__attribute__((format(printf, 1, 2), noreturn)) void fail(const char *fmt, ...);
int64_t now_usec(void);
void sleep_usec(int64_t us);
void copy(char *dst, size_t len, const char *src);

/* model.c: what was acknowledged, and what is in doubt. */
struct value {
        uint8_t *data;
        size_t len;
};

struct secret {
        bool exists;       /* an acknowledged create */
        bool maybe;        /* a create whose outcome is unknown */
        struct value v;    /* acknowledged value */
        uint64_t version;
        bool has_pending;  /* a write whose outcome is unknown */
        struct value pending;
        bool maybe_deleted; /* a delete whose outcome is unknown */
};
extern struct secret sec[N_NAMES];

/* One (container, secret) pair: the lease the daemon may hold for it. */
struct mlease {
        bool any;          /* ever asked for */
        bool acked;        /* an acknowledged grant, possibly expired since */
        char id[64];
        int64_t lo, hi;    /* bounds of its deadline */
};
extern struct mlease ml[MAX_CT][N_NAMES];

struct stats {
        unsigned creates, deletes, rotates, leases, reads, unknown, pending_new, pending_old, startup_kills;
        unsigned files, leases_checked, expired_seen, set_rotates, set_files;
};
extern struct stats stats;

const char *name_of(int i);
bool is_set(int i);
/* A fresh value for secret i: bytes, or a set's canonical encoding. */
void random_value(int i, struct value *v);
bool value_eq(const struct value *v, const uint8_t *data, size_t len);
int name_index(const char *name);
int ct_index(const char *instance);
void forget(int i);
bool may_have_expired(int c, int i, int64_t now);
bool instance_may_be_gone(int c, int64_t now);

/* http.c: requests over the daemon's Unix sockets, and its JSON replies. */
struct resp {
        int status;
        long version;          /* X-Secret-Version, or -1 */
        char *body;            /* NUL-terminated (values may hold NULs too) */
        size_t len;
};

int http(const char *sock, const char *method, const char *path, const char *ctype, const void *body,
         size_t blen, struct resp *r);
int lease_from(int c, const char *json, struct resp *r);
bool jstr(const char *p, const char *end, const char *key, char *buf, size_t len);
long jint(const char *p, const char *end, const char *key);

/* daemon.c: start, wait for, kill and reap secretd. */
void stop_daemon(void);
void spawn_daemon(void);
void wait_ready(void);
pid_t start_killer(int64_t delay);
void reap(pid_t killer, bool startup);

/* load.c: the mixed load, until the daemon is gone. */
void load(void);

/* snapshot.c: everything under the daemon's roots, read from disk. */
struct entry {
        char inst[128], file[256];
        struct value content;
        bool seen;
};

struct snapshot {
        struct entry files[4096]; /* a set's link: its parts, encoded */
        int n_files;
        int n_gens; /* set generations seen (each the target of a link) */
        char dirs[64][256];
        int n_dirs;
        char mounts[64][256];
        int n_mounts;
        char records[1024][128];
        int n_records;
};
extern struct snapshot snap;

struct value read_file(int dfd, const char *name);
void snapshot(void);

/* check.c: what survived a restart, against the model. */
void check_secrets(void);
void check_leases(void);
