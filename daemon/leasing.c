/* leasing.c — open, grant, expire, revoke a secret's leases (see
 * leasing.h); what a caller does with its own leases (list, renew,
 * revoke) is leasing-caller.c, rotation leasing-rotate.c.
 *
 * Plaintext is read from the store into a secbuf and written straight into
 * the instance's tmpfs; nothing else keeps it.  Instance directories exist
 * exactly while they hold at least one lease. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "exit-watch.h"
#include "lease-record.h"
#include "lease.h"
#include "leasing.h"
#include "leasing-internal.h"
#include "materialize.h"
#include "runtime-records.h"
#include "secretd/cleanup.h"

int64_t leasing_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* runtime_dir/leases, created 0700: lease records live there. */
static int open_records(const char *runtime_dir) {
        char path[4200];
        int fd;

        if (mkdir(runtime_dir, 0755) == 0)
                (void) chmod(runtime_dir, 0755);
        else if (errno != EEXIST)
                return -errno;
        snprintf(path, sizeof(path), "%s/leases", runtime_dir);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* secrets_root is 0711: host users and units reach their own instance
 * directories by name, nobody lists them.  Containers' directories sit
 * one level further down, in a 0700 directory: a host user whose uid is
 * a container app's (uid 1000 is both the first login user and the usual
 * image user) must not read the files the container reads through its
 * clone.  Modes are set on the open directories, whatever an older
 * release left in a secrets_root of ours. */
static int open_containers(int root_fd) {
        struct stat st;
        int fd;

        /* one someone else made (and owns) keeps its mode */
        if (fstat(root_fd, &st) < 0 || (st.st_uid == geteuid() && fchmod(root_fd, 0711) < 0))
                return -errno;
        if (mkdirat(root_fd, "containers", 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(root_fd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || (st.st_uid == geteuid() && fchmod(fd, 0700) < 0)) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

int leasing_open(const struct leasing_deps *c, struct leasing **ret) {
        struct leasing *l;

        if (mkdir(c->secrets_root, 0711) < 0 && errno != EEXIST)
                return -errno;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->store = c->store;
        l->audit = c->audit;
        l->attest = c->attest;
        l->policy = c->policy;
        l->timer_fd = -1;
        l->records_fd = -1;
        l->containers_fd = -1;
        l->armed_usec = INT64_MAX; /* the timer starts disarmed */
        l->inotify_fd = exit_watch_open();
        if (l->inotify_fd < 0) {
                int r = l->inotify_fd;
                free(l);
                return r;
        }
        l->root_fd = open(c->secrets_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        l->root_path = strdup(c->secrets_root);
        if (l->root_fd < 0 || !l->root_path) {
                int r = l->root_fd < 0 ? -errno : -ENOMEM;
                leasing_close(l);
                return r;
        }
        l->containers_fd = open_containers(l->root_fd);
        if (l->containers_fd < 0) {
                int r = l->containers_fd;
                leasing_close(l);
                return r;
        }
        l->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->timer_fd < 0) {
                int r = -errno;
                leasing_close(l);
                return r;
        }
        l->privileged = geteuid() == 0;
        l->tmpfs_size = c->tmpfs_size;
        l->records_fd = open_records(c->runtime_dir);
        if (l->records_fd < 0) {
                int r = l->records_fd;
                leasing_close(l);
                return r;
        }
        *ret = l;
        return 0;
}

struct leasing *leasing_close(struct leasing *l) {
        if (!l)
                return NULL;
        /* Leases outlive the daemon: files, mounts and records stay, and
         * the next start picks them up. */
        for (size_t i = 0; i < l->n_inst; i++)
                instance_free(l->inst[i], false);
        free(l->inst);
        free(l->slots);
        lease_table_clear(&l->table);
        safe_close(l->records_fd);
        safe_close(l->timer_fd);
        safe_close(l->inotify_fd);
        safe_close(l->containers_fd);
        safe_close(l->root_fd);
        free(l->root_path);
        free(l);
        return NULL;
}

int leasing_timer_fd(const struct leasing *l) {
        return l->timer_fd;
}

int leasing_watch_fd(const struct leasing *l) {
        return l->inotify_fd;
}

bool leasing_privileged(const struct leasing *l) {
        return l->privileged;
}

size_t leasing_count(const struct leasing *l) {
        return l->table.n;
}

size_t leasing_count_secret(const struct leasing *l, const char *secret) {
        size_t n = 0;

        for (size_t i = 0; i < l->table.n; i++)
                n += strcmp(l->table.v[i]->secret, secret) == 0;
        return n;
}

static void arm_at(struct leasing *l, int64_t at) {
        struct itimerspec its = {};
        int64_t when = at;

        if (when != INT64_MAX) {
                /* 0 would disarm: a deadline already past fires at once */
                if (when <= 0)
                        when = 1;
                its.it_value.tv_sec = (time_t) (when / 1000000);
                its.it_value.tv_nsec = (long) (when % 1000000) * 1000;
        }
        (void) timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
        l->armed_usec = at;
}

void leasing_rearm(struct leasing *l) {
        int64_t next = lease_table_next_deadline(&l->table);

        if (next != l->armed_usec)
                arm_at(l, next);
}

/* One lease's deadline went from before to after (before is INT64_MAX for
 * a new lease).  Renewals are the common case: unless that lease was the
 * one the timer waits for, or is now earlier than it, nothing changes —
 * no scan of ten thousand deadlines, no timer call. */
void leasing_deadline_moved(struct leasing *l, int64_t before, int64_t after) {
        if (before == l->armed_usec && after != before)
                leasing_rearm(l);
        else if (after < l->armed_usec)
                arm_at(l, after);
}

void leasing_host_path(const struct leasing *l, const struct lease *ls, char *buf, size_t len) {
        snprintf(buf, len, "%s/%s%s/%s", l->root_path, instance_is_container(ls->instance) ? "containers/" : "",
                 ls->instance, ls->file);
}

void audit_lease(struct leasing *l, const char *action, const struct peer *p, const struct lease *ls,
                 const char *reason) {
        audit_record(l->audit, &(struct audit_event) {
                .action = action, .allowed = true, .peer = p, .secret = ls->secret,
                .workload = ls->workload, .lease_id = ls->id, .reason = reason,
        });
}

/* Watches the workload's own cgroup (a container's or a unit's) so that
 * its end revokes its leases.  Host users have no such cgroup: their
 * leases end by time or by hand. */
void instance_watch_cgroup(struct leasing *l, struct instance *in, const char *cgroup, size_t len) {
        if (in->watch >= 0 || !cgroup || len == 0 || cgroup[0] != '/')
                return;
        free(in->cgroup);
        in->cgroup = strndup(cgroup, len);
        if (!in->cgroup)
                return;
        in->watch = exit_watch_add(l->inotify_fd, l->attest->cgroup2_fd, in->cgroup);
        if (in->watch < 0)
                in->watch = -1;
}

static void instance_watch(struct leasing *l, struct instance *in, const struct peer *p) {
        if (runtime_info(p->cls.runtime)->scope == RUNTIME_SCOPE_DELEGATED)
                return;
        instance_watch_cgroup(l, in, p->cgroup, p->cls.match_len);
}

/* An acknowledged lease must outlive a crash: callers refuse what cannot
 * be recorded. */
int lease_save_record(struct leasing *l, const struct lease *ls) {
        const struct instance *in = ls->owner;

        return lease_record_save(l->records_fd, ls, &(struct lease_where) {
                .cgroup = in ? in->cgroup : NULL,
                .injected_ns = in ? in->injected_ns : 0,
                .inject_path = in ? in->inject_path : NULL,
                .main_pid = in && in->main.pidfd >= 0 ? in->main.pid : 0,
                .main_start = in ? in->main.start : 0,
        });
}

/* Revokes every lease of an instance whose workload is gone; the last
 * one takes the instance with it. */
static void instance_ended_as(struct leasing *l, struct instance *in, const char *reason) {
        size_t n = in->n_leases;

        while (n-- > 0)
                lease_drop(l, in->leases[n], NULL, "revoke", reason);
        leasing_rearm(l);
}

static void instance_ended(struct leasing *l, struct instance *in) {
        instance_ended_as(l, in, "workload exited");
}

static void watch_event(void *userdata, int wd, bool dropped) {
        struct leasing *l = userdata;

        for (size_t i = 0; i < l->n_inst; i++) {
                struct instance *in = l->inst[i];

                if (in->watch != wd)
                        continue;
                if (dropped || !exit_watch_populated(l->attest->cgroup2_fd, in->cgroup)) {
                        if (dropped)
                                in->watch = -1; /* the kernel dropped it */
                        instance_ended(l, in);
                }
                break;
        }
}

void leasing_watch_events(struct leasing *l) {
        exit_watch_read(l->inotify_fd, watch_event, l);
}

/* The periodic check behind the watches: anything they missed. */
void leasing_sweep(struct leasing *l) {
        for (size_t i = 0; i < l->n_inst;) {
                struct instance *in = l->inst[i];
                size_t before = l->n_inst;

                if (in->cgroup && !exit_watch_populated(l->attest->cgroup2_fd, in->cgroup)) {
                        instance_ended(l, in);
                        if (l->n_inst < before) {
                                i = 0; /* the list was reordered: start over */
                                continue;
                        }
                }
                i++;
        }
}

/* A container's main process (leasing-target.c), found once and held
 * while it lives: where its files are injected and its signal goes.  It
 * is looked for in the container's own cgroup, then in the caller's. */
static int instance_main(struct leasing *l, struct instance *in, const struct peer *p) {
        _cleanup_free_ char *scope = NULL;
        int r = -ESRCH;

        if (!instance_is_container(in->name) || target_alive(&in->main))
                return 0;
        target_close(&in->main);
        if (p->cgroup && p->cls.match_len > 0 && runtime_info(p->cls.runtime)->scope != RUNTIME_SCOPE_DELEGATED) {
                scope = strndup(p->cgroup, p->cls.match_len);
                if (!scope)
                        return -ENOMEM;
                r = target_find(l->attest, p, scope, &in->main);
        }
        if (r == -ESRCH && p->cgroup)
                r = target_find(l->attest, p, p->cgroup, &in->main);
        return r;
}

/* How a grant is made: by a caller on the workload socket (NULL), or by
 * the OCI hook for a container about to start. */
struct grant_how {
        const struct container_root *root; /* the container's rootfs before pivot_root */
        bool until_exit; /* its leases live as long as it */
};

/* Where the directory goes in a container: the workload's inject path, or
 * for the hook, which has no other way in, the default one. */
static const char *inject_path(const struct workload *w, const struct grant_how *how) {
        return w->inject ? w->inject : how ? POLICY_DEFAULT_INJECT : NULL;
}

/* Bind-mounts the instance directory at the workload's inject path in
 * the mount namespace of a container's main process, or of the caller
 * when it is a host process or a unit: once per namespace, never into the
 * host's, only when we made a tmpfs to clone.  A container's other
 * processes, whatever namespaces they made, get nothing of their own: a
 * clone moved into a namespace its user namespace owns would not have its
 * read-only flag locked. */
static int instance_inject(struct leasing *l, struct instance *in, const struct peer *p, const struct workload *w,
                           const struct grant_how *how) {
        bool container = instance_is_container(in->name);
        const struct target *t = container ? &in->main : &(struct target) { .pidfd = p->pidfd, .pid = p->pid };
        const char *path = inject_path(w, how);
        struct target_where where;
        int r;

        if (how && (!l->privileged || !mdir_is_mount(in->dir)))
                return -EOPNOTSUPP; /* the hook's container has no other way to its files */
        if (!path || !l->privileged || !mdir_is_mount(in->dir))
                return 0;
        /* once per namespace: a container's is its main process's, a unit's
         * or host user's the caller's (attested) */
        if (container ? in->injected_ns != 0 : p->same_mnt_ns || p->mnt_ns == in->injected_ns)
                return 0;
        if (!target_alive(t))
                return -ESRCH;
        r = target_authority(l->attest, t->pid, t->pidfd, container, &where);
        if (r < 0)
                return r;
        if (where.mnt_ns == l->attest->host_mnt_ns || where.mnt_ns == in->injected_ns) {
                safe_close(where.mnt_fd);
                return 0;
        }
        r = mdir_inject(in->dir, &(struct mdir_where) { .ns_fd = where.mnt_fd, .uid = where.uid, .gid = where.gid,
                                                        .root = how ? how->root->path : NULL,
                                                        .root_fd = how ? how->root->fd : -1, .only_empty = how },
                        path);
        if (r < 0) {
                safe_close(where.mnt_fd);
                return r;
        }
        safe_close(in->ns_fd);
        free(in->inject_path);
        in->ns_fd = where.mnt_fd;
        in->inject_path = strdup(path);
        in->injected_ns = where.mnt_ns;
        return 0;
}

/* The current version of secret into the instance's file, unless the file
 * already holds it as granted (version had, owner, mode, content): a
 * renewal of an unchanged version costs a compare, not a write, and a
 * file someone managed to change is put right. */
int lease_file_put(struct leasing *l, struct instance *in, const char *secret, const char *file, uid_t uid, gid_t gid,
                   mode_t mode, uint64_t had_version, struct store_version *ret_v) {
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        int r;

        r = store_read(l->store, secret, 0, &value, ret_v);
        if (r < 0)
                return r;
        if (had_version == ret_v->version && lease_file_current(in->dir, ret_v->kind, file, value, uid, gid, mode))
                return 0;
        return lease_file_write(in->dir, ret_v->kind, file, value, uid, gid, mode);
}

/* One grant: value from the store into the file, lease created or renewed. */
static int grant_one(struct leasing *l, const struct peer *p, const struct workload *w, const struct grant *g,
                     struct instance *in, uint64_t ttl, int64_t now, bool until_exit, struct lease **ret,
                     int64_t *ret_before) {
        struct store_version v;
        struct lease *ls = instance_lease_of(in, g->name);
        uid_t uid = g->has_uid ? g->uid : p->uid;
        gid_t gid = g->has_gid ? g->gid : p->gid;
        int r;

        r = lease_file_put(l, in, g->name, g->file, uid, gid, g->mode, ls ? ls->version : 0, &v);
        if (r < 0)
                return r;
        *ret_before = ls ? ls->expires_usec : INT64_MAX;
        if (!ls) {
                ls = lease_new(g->name, g->file, in->name, w->name);
                if (!ls || instance_attach(l, in, ls) < 0) {
                        lease_free(ls);
                        (void) mdir_remove(in->dir, g->file);
                        return -ENOMEM;
                }
                ls->granted_usec = now;
                ls->max_expires_usec = now + (int64_t) w->max_ttl_usec;
                if (until_exit) {
                        ls->until_exit = true;
                        ls->expires_usec = ls->max_expires_usec = INT64_MAX;
                }
        }
        ls->uid = uid;
        ls->gid = gid;
        ls->mode = g->mode;
        ls->version = v.version;
        ls->on_rotate_signal = w->on_rotate_signal;
        lease_extend(ls, now, ttl);
        *ret = ls;
        return 0;
}

/* The grants a request names (all of the workload's when it names none);
 * every name must be granted before anything is touched. */
static int grants_named(const struct workload *w, const struct lease_request *req,
                        const struct grant *ret[static POLICY_GRANTS_MAX], size_t *ret_n, struct lease_error *ret_err) {
        size_t k = 0;

        if (req->n_secrets == 0)
                for (size_t i = 0; i < w->n_grants && i < POLICY_GRANTS_MAX; i++)
                        ret[k++] = &w->grants[i];
        for (size_t i = 0; i < req->n_secrets && k < POLICY_GRANTS_MAX; i++) {
                ret[k] = workload_grant(w, req->secrets[i]);
                if (!ret[k]) {
                        *ret_err = (struct lease_error) { LEASE_REFUSED_NOT_GRANTED, req->secrets[i] };
                        return -EACCES;
                }
                k++;
        }
        *ret_n = k;
        return 0;
}

/* The caller's instance, made when missing, watched, its main process
 * found and its directory injected.  *ret_moved: whether what every record
 * of the instance repeats (its cgroup, main process, where it is injected)
 * changed, so that all of them are written again. */
static int instance_prepare(struct leasing *l, const struct peer *p, const struct workload *w,
                            const struct grant_how *how, struct instance **ret, bool *ret_moved,
                            struct lease_error *ret_err) {
        struct instance *in;
        char iname[256];
        uint64_t injected_ns;
        pid_t main_pid;
        bool had_cgroup;
        int r;

        r = instance_name(p, iname, sizeof(iname));
        if (r < 0) {
                /* no scope of its own: nothing can be granted to it */
                *ret_err = (struct lease_error) { r == -EACCES ? LEASE_REFUSED_NOT_GRANTED : LEASE_FAILED, NULL };
                return r;
        }
        /* one scope, one workload: callers of one container that the policy
         * places in two workloads never share its directory */
        in = instance_find(l, iname);
        if (in && how && !target_alive(&in->main)) {
                /* `podman start` of a stopped container: what its last run
                 * had is gone with it, whether or not its exit was seen yet */
                instance_ended_as(l, in, "container restarted");
                in = NULL;
        }
        if (in && instance_workload(in) && strcmp(instance_workload(in), w->name) != 0) {
                *ret_err = (struct lease_error) { LEASE_REFUSED_OTHER_WORKLOAD, NULL };
                return -EBUSY;
        }
        r = instance_get(l, iname, p, &in);
        if (r < 0) {
                *ret_err = (struct lease_error) { LEASE_FAILED, NULL };
                return r;
        }
        had_cgroup = in->cgroup;
        injected_ns = in->injected_ns;
        main_pid = in->main.pid;
        instance_watch(l, in, p);
        if (how)
                r = target_alive(&in->main) ? 0 : target_adopt(p->pid, p->pidfd, &in->main);
        else
                r = instance_main(l, in, p);
        if (r < 0 && !w->inject && !how)
                r = 0; /* then only its signal has nowhere to go */
        if (r >= 0)
                r = instance_inject(l, in, p, w, how);
        if (r < 0) {
                *ret_err = (struct lease_error) { LEASE_FAILED_INJECT, NULL };
                instance_release_if_empty(l, in);
                return r;
        }
        *ret_moved = (!had_cgroup && in->cgroup) || in->injected_ns != injected_ns || in->main.pid != main_pid;
        *ret = in;
        return 0;
}

/* The leases of this request are recorded; all of the instance's when it
 * moved. */
static int grant_save(struct leasing *l, struct instance *in, bool moved, const struct lease_set *got) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < (moved ? in->n_leases : got->n); i++)
                r = lease_save_record(l, moved ? in->leases[i] : got->v[i]);
        return r;
}

/* A grant failed: what it created goes; renewals stay renewed. */
static void grant_undo(struct leasing *l, struct instance *in, struct lease *const *made, size_t n_made) {
        for (size_t i = 0; i < n_made; i++) {
                (void) lease_record_remove(l->records_fd, made[i]->id);
                (void) mdir_remove(in->dir, made[i]->file);
                instance_detach(l, made[i]);
        }
        instance_release_if_empty(l, in);
        leasing_rearm(l); /* renewals here may have moved a deadline */
}

/* leasing_grant() for a caller the policy placed in c->workload.  made
 * gets the leases that are new (*ret_n_made of them). */
static int grant_placed(struct leasing *l, const struct leasing_caller *c, const struct lease_request *req,
                        const struct grant_how *how, struct lease_set *ret, struct lease *made[static POLICY_GRANTS_MAX],
                        size_t *ret_n_made, struct lease_error *ret_err) {
        const struct workload *w = c->workload;
        const struct grant *grants[POLICY_GRANTS_MAX];
        int64_t before[POLICY_GRANTS_MAX];
        size_t n_grants = 0, n_made = 0;
        bool moved = false;
        struct instance *in;
        uint64_t ttl;
        int r;

        r = grants_named(w, req, grants, &n_grants, ret_err);
        if (r < 0)
                return r;
        *ret = (struct lease_set) { .workload = w, .now_usec = leasing_now_usec(),
                                    .ttl_usec = req->ttl_usec ? req->ttl_usec : w->ttl_usec };
        ttl = req->ttl_usec == 0 ? w->ttl_usec : req->ttl_usec > w->max_ttl_usec ? w->max_ttl_usec : req->ttl_usec;
        r = instance_prepare(l, c->peer, w, how, &in, &moved, ret_err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_grants; i++) {
                struct lease *ls;

                r = grant_one(l, c->peer, w, grants[i], in, ttl, ret->now_usec, how && how->until_exit, &ls,
                              &before[ret->n]);
                if (r < 0) {
                        /* a file the caller may not have counts as not granted */
                        *ret_err = (struct lease_error) {
                                r == -EACCES ? LEASE_REFUSED_NOT_GRANTED : LEASE_FAILED, grants[i]->name };
                        break;
                }
                if (before[ret->n] == INT64_MAX)
                        made[n_made++] = ls;
                ret->v[ret->n++] = ls;
        }
        if (r >= 0)
                r = grant_save(l, in, moved, ret);
        if (r < 0) {
                grant_undo(l, in, made, n_made);
                ret->n = 0;
                /* as before the reasons were named: any -EACCES reads as not granted */
                if (ret_err->reason == LEASE_OK)
                        *ret_err = (struct lease_error) { r == -EACCES ? LEASE_REFUSED_NOT_GRANTED : LEASE_FAILED,
                                                          NULL };
                return r;
        }
        instance_remember(in, c->peer);
        for (size_t i = 0; i < ret->n; i++)
                leasing_deadline_moved(l, before[i], ret->v[i]->expires_usec);
        *ret_n_made = n_made;
        return 0;
}

/* The lease decision, granted or refused, is audited here and nowhere
 * else: each lease a grant made (renewals within it are not new rights),
 * or the refusal.  A failure (no such secret, a mount that failed) is not
 * a decision and is not audited. */
static const struct {
        const char *why;
        int status; /* recorded in the audit: the HTTP status the API answers it with */
} refusals[_LEASE_REFUSAL_MAX] = {
        [LEASE_REFUSED_NO_WORKLOAD] = { "no workload matches", 403 },
        [LEASE_REFUSED_NOT_GRANTED] = { "not granted", 403 },
        [LEASE_REFUSED_OTHER_WORKLOAD] = { "its instance holds leases of another workload", 409 },
};

static void audit_decision(struct leasing *l, const struct leasing_caller *c, const struct lease_error *err,
                           struct lease *const *made, size_t n_made) {
        const char *why = refusals[err->reason].why, *unbelieved = records_unavailable(c->peer);
        char because[256];

        if (err->reason == LEASE_OK) {
                for (size_t i = 0; i < n_made; i++)
                        audit_lease(l, "lease", c->peer, made[i], NULL);
                return;
        }
        if (!why)
                return;
        if (err->reason == LEASE_REFUSED_NO_WORKLOAD && unbelieved) {
                /* the runtime's record was not believed: say so, or the
                 * operator looks for a policy mistake that is not there */
                snprintf(because, sizeof(because), "%s (runtime record: %s)", why, unbelieved);
                why = because;
        }
        audit_record(l->audit, &(struct audit_event) {
                .action = "lease", .allowed = false, .peer = c->peer, .secret = err->secret,
                .workload = c->workload ? c->workload->name : NULL, .status = refusals[err->reason].status,
                .reason = why,
        });
}

static int grant(struct leasing *l, const struct leasing_caller *c, const struct lease_request *req,
                 const struct grant_how *how, struct lease_set *ret, struct lease_error *ret_err) {
        struct lease *made[POLICY_GRANTS_MAX];
        size_t n_made = 0;
        int r = -EACCES;

        *ret_err = (struct lease_error) { c->workload ? LEASE_OK : LEASE_REFUSED_NO_WORKLOAD, NULL };
        if (c->workload)
                r = grant_placed(l, c, req, how, ret, made, &n_made, ret_err);
        audit_decision(l, c, ret_err, made, n_made);
        return r;
}

int leasing_grant(struct leasing *l, const struct leasing_caller *c, const struct lease_request *req,
                  struct lease_set *ret, struct lease_error *ret_err) {
        return grant(l, c, req, NULL, ret, ret_err);
}

int leasing_grant_container(struct leasing *l, const struct leasing_caller *c, const struct container_root *root,
                            struct lease_set *ret, struct lease_error *ret_err) {
        const struct grant_how how = { .root = root, .until_exit = true };

        return grant(l, c, &(struct lease_request) {}, &how, ret, ret_err);
}

/* Whose leases a caller may see, renew and revoke: an admin's, all; else
 * those of its own scope AND of the workload the policy in force places it
 * in (the same container's process in another workload is someone else). */
/* Removes the file, the lease and, when it was the last, the instance. */
void lease_drop(struct leasing *l, struct lease *ls, const struct peer *p, const char *action, const char *reason) {
        struct instance *in = ls->owner;

        audit_lease(l, action, p, ls, reason);
        (void) lease_record_remove(l->records_fd, ls->id);
        if (in)
                (void) mdir_remove(in->dir, ls->file);
        instance_detach(l, ls);
        if (in)
                instance_release_if_empty(l, in);
}

size_t leasing_revoke_secret(struct leasing *l, const char *secret) {
        size_t n = 0;

        /* backwards: a drop moves the table's last lease into its place,
         * one already looked at */
        for (size_t i = l->table.n; i-- > 0;)
                if (i < l->table.n && strcmp(l->table.v[i]->secret, secret) == 0) {
                        lease_drop(l, l->table.v[i], NULL, "revoke", "secret deleted");
                        n++;
                }
        leasing_rearm(l);
        return n;
}

void leasing_expire(struct leasing *l) {
        uint64_t ticks;
        struct lease *ls;
        int64_t now = leasing_now_usec();

        (void) !read(l->timer_fd, &ticks, sizeof(ticks));
        l->armed_usec = -1; /* it fired: whatever comes next must be armed */
        while ((ls = lease_table_first_expired(&l->table, now)))
                lease_drop(l, ls, NULL, "expire", NULL);
        leasing_rearm(l);
}
