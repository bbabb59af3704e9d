/* leasing-recover.c — leases again after a restart or a crash (see
 * leasing_recover() in leasing.h): records are read back, live leases
 * re-adopted with their deadlines, expired ones and files nobody owns
 * removed, directories no record explains unmounted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lease-record.h"
#include "leasing-internal.h"
#include "secretd/cleanup.h"

static bool looks_like_ours(const char *name) {
        return runtime_of_directory(name) != NULL;
}

/* Everything in dir_fd (secrets_root or its "containers") that looks like
 * ours ("<runtime>-…") but belongs to no instance: left by a crash, with
 * no record to revive it.  A container's directory directly in
 * secrets_root is an older release's, and never an instance's now. */
static void sweep_orphans_in(struct leasing *l, int dir_fd) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd = dup(dir_fd);

        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        rewinddir(d); /* a dup shares the offset of dir_fd: start at the top */
        while ((de = readdir(d))) {
                struct mdir *m = NULL;
                bool container = instance_is_container(de->d_name);

                if (!looks_like_ours(de->d_name) || de->d_type != DT_DIR ||
                    (instance_find(l, de->d_name) && container == (dir_fd == l->containers_fd)))
                        continue;
                if (mdir_open(dir_fd, de->d_name, l->tmpfs_size, l->privileged, &m) >= 0)
                        (void) mdir_destroy(m);
        }
}

static void sweep_orphans(struct leasing *l) {
        sweep_orphans_in(l, l->root_fd);
        sweep_orphans_in(l, l->containers_fd);
}

/* --- recovery after a restart -------------------------------------------- */

#define RECOVERY_VALUES 16

/* Ten thousand leases usually hold a few secrets: each is opened once per
 * recovery (plaintext in guarded memory, freed when the recovery ends),
 * not once per lease. */
struct recovered_value {
        char *name;
        struct secbuf *value;
        struct store_version v;
};

struct recovery {
        struct leasing *l;
        int64_t now;
        struct leasing_recovery counts;
        struct recovered_value values[RECOVERY_VALUES];
        size_t next; /* the slot to fill (or reuse) next */
};

/* The current value of name; valid until the next call. */
static int recovery_value(struct recovery *rc, const char *name, const struct secbuf **ret,
                          struct store_version *ret_v) {
        struct recovered_value *e;
        struct secbuf *value;
        struct store_version v;
        char *copy;
        int r;

        for (size_t i = 0; i < RECOVERY_VALUES; i++)
                if (rc->values[i].name && strcmp(rc->values[i].name, name) == 0) {
                        *ret = rc->values[i].value;
                        *ret_v = rc->values[i].v;
                        return 0;
                }
        r = store_read(rc->l->store, name, 0, &value, &v);
        if (r < 0)
                return r;
        copy = strdup(name);
        if (!copy) {
                secbuf_free(value);
                return -ENOMEM;
        }
        e = &rc->values[rc->next];
        rc->next = (rc->next + 1) % RECOVERY_VALUES;
        free(e->name);
        secbuf_free(e->value);
        *e = (struct recovered_value) { .name = copy, .value = value, .v = v };
        *ret = value;
        *ret_v = v;
        return 0;
}

static void recovery_done(struct recovery *rc) {
        for (size_t i = 0; i < RECOVERY_VALUES; i++) {
                free(rc->values[i].name);
                secbuf_free(rc->values[i].value);
        }
}

static void recover_drop(struct leasing *l, struct instance *in, struct lease *ls) {
        if (in)
                (void) mdir_remove(in->dir, ls->file);
        (void) lease_record_remove(l->records_fd, ls->id);
        lease_free(ls);
}

static void recover_one(void *userdata, struct lease *ls, const struct lease_where *w) {
        struct recovery *rc = userdata;
        struct leasing *l = rc->l;
        const struct secbuf *value;
        struct store_version v;
        struct instance *in = NULL;
        int r;

        r = instance_get(l, ls->instance, NULL, &in);
        if (r < 0 || ls->expires_usec <= rc->now) {
                if (r >= 0)
                        audit_lease(l, "expire", NULL, ls, "expired while the daemon was down");
                r >= 0 ? rc->counts.expired++ : rc->counts.dropped++;
                recover_drop(l, r >= 0 ? in : NULL, ls);
                return;
        }
        /* The file gets the current version when a rotation was stored
         * after it was last written; one that already holds it stays
         * (rewriting ten thousand files was a quarter of a start-up), and
         * one that is gone comes back in instance_reconcile().  (The
         * record's version is never newer than the file's: the file is
         * written first.)  A rotation does not rewrite the records, so an
         * older record version often has the current value in its file
         * already: compared, not rewritten, a restart shows a watcher no
         * event. */
        r = recovery_value(rc, ls->secret, &value, &v);
        if (r >= 0 && v.version != ls->version &&
            !lease_file_current(in->dir, v.kind, ls->file, value, ls->uid, ls->gid, ls->mode))
                r = lease_file_write(in->dir, v.kind, ls->file, value, ls->uid, ls->gid, ls->mode);
        if (r >= 0)
                r = instance_attach(l, in, ls);
        if (r < 0) {
                rc->counts.dropped++;
                recover_drop(l, in, ls);
                return;
        }
        ls->version = v.version;
        instance_watch_cgroup(l, in, w->cgroup, w->cgroup ? strlen(w->cgroup) : 0);
        /* once per instance, not per record: ten thousand records of a
         * thousand instances at a start-up */
        if (w->main_pid && !in->main_sought && instance_is_container(in->name)) {
                in->main_sought = true;
                (void) target_reopen(w->main_pid, w->main_start, &in->main);
        }
        if (w->injected_ns && w->inject_path && !in->inject_path) {
                in->injected_ns = w->injected_ns;
                in->inject_path = strdup(w->inject_path);
                in->ns_fd = target_mnt_ns_fd(l->attest, &in->main, in->cgroup, w->injected_ns);
        }
        rc->counts.kept++;
}

/* One read of each live instance's directory (not a stat per lease) puts
 * its files right.  A crash between writing a lease's file and recording
 * the lease, between removing a record and its file, or in the middle of a
 * write (".tmp-…" of an older version) leaves files no lease owns: they hold plaintext nobody
 * was granted any more, and go.  A lease whose file is missing gets it
 * written again; one that cannot be is dropped. */
static void instance_reconcile(struct recovery *rc, struct instance *in) {
        struct leasing *l = rc->l;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ bool *seen = calloc(in->n_leases ? in->n_leases : 1, sizeof(bool));
        struct dirent *de;
        /* a fresh open: a dup would share (and move) the directory offset */
        int fd = openat(mdir_fd(in->dir), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        d = fd >= 0 && seen ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(d))) {
                bool owned = false;

                /* the temp directory: mdir_open() emptied it; a set's
                 * generations go with their link, or below when no link
                 * points at them */
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    strcmp(de->d_name, MDIR_TEMP_DIR) == 0 || strcmp(de->d_name, MDIR_SETS_DIR) == 0)
                        continue;
                /* a file, or a set's link */
                for (size_t i = 0; i < in->n_leases && !owned; i++)
                        if (strcmp(in->leases[i]->file, de->d_name) == 0 &&
                            (de->d_type == DT_REG || de->d_type == DT_LNK))
                                owned = seen[i] = true;
                if (!owned && mdir_remove(in->dir, de->d_name) == -EINVAL)
                        (void) unlinkat(mdir_fd(in->dir), de->d_name, 0);
        }
        mdir_sets_prune(in->dir);
        /* backwards: dropping moves the last lease into the dropped one's place */
        for (size_t i = in->n_leases; i-- > 0;) {
                struct lease *ls = in->leases[i];
                const struct secbuf *value;
                struct store_version v;
                int r;

                if (seen[i])
                        continue;
                r = recovery_value(rc, ls->secret, &value, &v);
                if (r >= 0)
                        r = lease_file_write(in->dir, v.kind, ls->file, value, ls->uid, ls->gid, ls->mode);
                if (r >= 0) {
                        ls->version = v.version;
                        continue;
                }
                rc->counts.dropped++;
                (void) lease_record_remove(l->records_fd, ls->id);
                instance_detach(l, ls);
        }
}

static void release_empty(struct leasing *l) {
        for (size_t i = 0; i < l->n_inst;) {
                size_t before = l->n_inst;

                instance_release_if_empty(l, l->inst[i]);
                if (l->n_inst == before)
                        i++;
        }
}

int leasing_recover(struct leasing *l, struct leasing_recovery *ret) {
        struct recovery rc = { .l = l, .now = leasing_now_usec() };
        unsigned damaged = 0;
        size_t leases_before;
        int r;

        r = lease_record_load_all(l->records_fd, recover_one, &rc, &damaged);
        if (r < 0) {
                recovery_done(&rc);
                return r;
        }
        rc.counts.dropped += damaged;
        release_empty(l); /* instances whose every lease had expired */
        for (size_t i = 0; i < l->n_inst; i++)
                instance_reconcile(&rc, l->inst[i]);
        recovery_done(&rc);
        release_empty(l); /* … or whose every file was lost and could not be written */
        sweep_orphans(l);
        leases_before = l->table.n;
        leasing_sweep(l); /* workloads that ended while we were down */
        rc.counts.dropped += (unsigned) (leases_before - l->table.n); /* else no count tells of them */
        leasing_rearm(l);
        rc.counts.kept = l->table.n;
        *ret = rc.counts;
        return 0;
}
