/* leasing-internal.h — what leasing.c shares with leasing-recover.c, and
 * nobody else: the instance and leasing structures and the few helpers
 * recovery reuses from the live paths. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "lease.h"
#include "leasing.h"
#include "leasing-target.h"
#include "materialize.h"
#include "secretd/secbuf.h"
#include "store.h"

struct peer;
struct policy;

/* One caller scope's directory (instance_name() in leasing-instance.c): a
 * container, a unit, a host uid, a rootless container.  Its leases all
 * belong to one workload, that of its first (instance_workload()). */
struct instance {
        char *name;
        size_t hash;  /* of name, for the lookup index */
        size_t pos;   /* in leasing.inst */
        struct lease **leases; /* the leases it holds (the table owns them) */
        size_t n_leases, cap_leases;
        struct mdir *dir;
        int pidfd;  /* the latest leasing process: on_rotate goes to it
                     * when the instance is not a container's */
        pid_t pid;  /* its pid */
        struct target main; /* a container's main process (leasing-target.h) */
        bool main_sought;   /* recovery looked for the recorded one (once) */
        /* where the directory is bind-mounted inside the container */
        uint64_t injected_ns;
        int ns_fd;  /* that mount namespace, to unmount from on release */
        char *inject_path;
        /* the workload's own cgroup, watched so its exit revokes its leases */
        char *cgroup;
        int watch;  /* inotify wd on its cgroup.events, -1 when none */
        int rotate_signal; /* on_rotate owed once a rotation's files are all written */
        /* the facts of each distinct caller that leased into it, judged
         * again when the policy changes (none after a restart) */
        struct peer **facts;
        size_t n_facts;
        bool facts_lost; /* more callers than kept, or no memory: fail closed */
};

struct leasing {
        struct store *store;
        struct audit *audit;
        const struct attest_context *attest;
        const struct policy *policy; /* in force */
        struct lease_table table;
        struct instance **inst;
        size_t n_inst;
        struct instance **slots; /* lookup by name: open addressing */
        size_t n_slots;
        int root_fd;
        int containers_fd; /* root_fd's "containers", 0700: see instance_is_container() */
        int records_fd; /* runtime_dir/leases */
        int timer_fd;
        int64_t armed_usec; /* the deadline timer_fd is set for; INT64_MAX: disarmed */
        int inotify_fd;
        bool privileged;
        uint64_t tmpfs_size;
        char *root_path;
};

int64_t leasing_now_usec(void);
/* Re-arms the expiry timer for the earliest deadline in the table. */
void leasing_rearm(struct leasing *l);
/* The name of p's instance, its own scope (see leasing-instance.c):
 * -EACCES for a caller that has none. */
int instance_name(const struct peer *p, char *buf, size_t len);
/* Whether the instance called name is a container's (every name but a
 * host user's and a unit's): its directory is then under secrets_root's
 * "containers", which serves nobody but the daemon, and its files reach
 * the container only through the clone injected into it. */
bool instance_is_container(const char *name);
/* The instance called name, or NULL. */
struct instance *instance_find(struct leasing *l, const char *name);
/* The instance called name, made (directory, tmpfs) when missing; p may be
 * NULL during recovery. */
int instance_get(struct leasing *l, const char *name, const struct peer *p, struct instance **ret);
/* Unmounts and removes an instance that holds no lease any more. */
void instance_release_if_empty(struct leasing *l, struct instance *in);
/* Closes (destroy: also unmounts and removes) one instance's resources. */
void instance_free(struct instance *in, bool destroy);
/* Puts ls in the table and in in's own list; the table owns it. */
int instance_attach(struct leasing *l, struct instance *in, struct lease *ls);
/* Takes ls out of its instance's list and the table, and frees it. */
void instance_detach(struct leasing *l, struct lease *ls);
/* in's lease of secret, or NULL. */
struct lease *instance_lease_of(const struct instance *in, const char *secret);
/* Watches the workload's cgroup.events so its exit revokes its leases. */
/* A lease's deadline went from before to after (INT64_MAX: a new one):
 * the timer follows (leasing.c). */
void leasing_deadline_moved(struct leasing *l, int64_t before, int64_t after);
/* Records ls; an acknowledged lease must outlive a crash. */
int lease_save_record(struct leasing *l, const struct lease *ls);
/* The store's current version of secret into file of in, unless the file
 * already holds had_version as written; the version in *ret_v. */
int lease_file_put(struct leasing *l, struct instance *in, const char *secret, const char *file, uid_t uid, gid_t gid,
                   mode_t mode, uint64_t had_version, struct store_version *ret_v);
/* Sends sig, a rotation of secret's on_rotate, to in's target
 * (leasing-signal.c) and audits whom it reached. */
void instance_signal(struct leasing *l, struct instance *in, int sig, const char *secret);
void instance_watch_cgroup(struct leasing *l, struct instance *in, const char *cgroup, size_t len);
void audit_lease(struct leasing *l, const char *action, const struct peer *p, const struct lease *ls,
                 const char *reason);
/* Audits, removes the record and the file, detaches ls; when it was the
 * last, the instance goes too. */
void lease_drop(struct leasing *l, struct lease *ls, const struct peer *p, const char *action, const char *reason);

/* leasing-policy.c */
/* The workload in is bound to (its leases'), NULL when it holds none. */
const char *instance_workload(const struct instance *in);
/* Keeps a copy of p's facts in in, once per distinct caller. */
void instance_remember(struct instance *in, const struct peer *p);
/* Frees the facts kept. */
void instance_forget(struct instance *in);
/* Whether pol grants ls as it was written: its workload, a grant of its
 * secret, the same file, mode and any owner the grant sets. */
bool lease_in_force(const struct policy *pol, const struct lease *ls);

/* A lease's file from a store value: a value's bytes into a file, a set's
 * parts into its directory (materialize.h). */
static inline int lease_file_write(struct mdir *m, enum store_kind kind, const char *file, const struct secbuf *value,
                                   uid_t uid, gid_t gid, mode_t mode) {
        return (kind == STORE_SET ? mdir_write_set : mdir_write)(m, file, value->data, value->len, uid, gid, mode);
}

static inline bool lease_file_current(struct mdir *m, enum store_kind kind, const char *file,
                                      const struct secbuf *value, uid_t uid, gid_t gid, mode_t mode) {
        return (kind == STORE_SET ? mdir_set_current : mdir_file_current)(m, file, value->data, value->len, uid, gid,
                                                                          mode);
}
