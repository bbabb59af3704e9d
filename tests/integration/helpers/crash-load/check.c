/* check.c — the checks after a restart, against the model: acknowledged
 * secrets intact and in-flight writes either old or new, byte for byte;
 * acknowledged leases listed with their ids, listed leases asked for and
 * not past their deadlines; and every file, directory, mount and record on
 * disk owned by a live lease (or by one that may have expired meanwhile).
 * A check settles what the model held in doubt; the first violation fails
 * the run. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash-load.h"

/* The names GET /v1/secrets lists, into listed; each must be one we
 * created, or one whose create is in doubt. */
static void list_secrets(bool listed[N_NAMES]) {
        struct resp r;
        const char *p;
        int st;

        st = http(admin_sock, "GET", "/v1/secrets", NULL, NULL, 0, &r);
        if (st != 200)
                fail("GET /v1/secrets: %d", st);
        if (strstr(r.body, "\"error\""))
                fail("a secret is damaged after the crash: %.500s", r.body);
        for (p = r.body; (p = strstr(p, "\"name\":\"")); p++) {
                char name[64];
                int i;

                if (!jstr(p, r.body + r.len, "name", name, sizeof(name)) || (i = name_index(name)) < 0)
                        fail("unexpected secret in the list: %.100s", p);
                if (!sec[i].exists && !sec[i].maybe)
                        fail("secret %s exists but was never created", name);
                listed[i] = true;
        }
}

/* A listed secret i holds its acknowledged value, or the value of the
 * write in flight at the next version; the model takes what it holds. */
static void check_value(int i) {
        char path[64];
        bool is_old, is_new;
        struct resp r;
        int st;

        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "GET", path, NULL, NULL, 0, &r);
        if (st != 200)
                fail("GET %s after restart: %d %.200s", name_of(i), st, r.body);
        is_old = sec[i].exists && value_eq(&sec[i].v, (const uint8_t *) r.body, r.len) &&
                 r.version == (long) sec[i].version;
        is_new = sec[i].has_pending && value_eq(&sec[i].pending, (const uint8_t *) r.body, r.len) &&
                 r.version == (long) sec[i].version + 1;
        if (!is_old && !is_new)
                fail("secret %s after restart: version %ld, %zu bytes; want version %lu (%zu bytes)%s",
                     name_of(i), r.version, r.len, (unsigned long) sec[i].version, sec[i].v.len,
                     sec[i].has_pending ? " or the next with the write in flight" : "");
        if (is_new) {
                free(sec[i].v.data);
                sec[i].v = sec[i].pending;
                sec[i].version++;
                stats.pending_new++;
        } else if (sec[i].has_pending) {
                free(sec[i].pending.data);
                stats.pending_old++;
        }
        sec[i].pending = (struct value) {};
        sec[i].has_pending = sec[i].maybe = false;
        sec[i].exists = true;
}

/* Secret i against the model, settling a delete or create in doubt. */
static void check_secret(int i, bool listed) {
        if (sec[i].maybe_deleted) {
                /* deleted, or not at all: then the old value */
                if (!listed) {
                        forget(i);
                        stats.pending_new++;
                        return;
                }
                sec[i].maybe_deleted = false;
                stats.pending_old++;
        }
        if (sec[i].exists && !listed)
                fail("acknowledged secret %s is gone", name_of(i));
        if (sec[i].maybe && !listed) {
                /* the create did not happen */
                free(sec[i].pending.data);
                sec[i].pending = (struct value) {};
                sec[i].maybe = sec[i].has_pending = false;
                stats.pending_old++;
                return;
        }
        if (!listed)
                return;
        check_value(i);
}

/* Secrets: acknowledged ones intact; in-flight writes old or new. */
void check_secrets(void) {
        bool listed[N_NAMES] = {};

        list_secrets(listed);
        for (int i = 0; i < N_NAMES; i++)
                check_secret(i, listed[i]);
}

/* What GET /v1/leases listed, per (container, secret), and when. */
struct listing {
        bool listed[MAX_CT][N_NAMES], inst_listed[MAX_CT];
        char ids[MAX_CT][N_NAMES][64];
        int64_t now;
};

/* One lease object of the list, starting at p: asked for, once, not past
 * its deadline, at the current version, with its file holding the current
 * value and its record.  Returns the end of the object. */
static const char *check_listed_lease(struct listing *l, const char *p) {
        const char *e = strchr(p, '}');
        char id[64], secret[64], inst[128], host[4300], want_host[4300], rec[128];
        bool found = false;
        int c, i;

        if (!e || !jstr(p, e, "id", id, sizeof(id)) || !jstr(p, e, "secret", secret, sizeof(secret)) ||
            !jstr(p, e, "instance", inst, sizeof(inst)) || !jstr(p, e, "host_path", host, sizeof(host)))
                fail("cannot read lease list: %.300s", p);
        c = ct_index(inst);
        i = name_index(secret);
        if (c < 0 || i < 0 || !ml[c][i].any)
                fail("lease %s of %s in %s was never asked for", id, secret, inst);
        if (l->listed[c][i])
                fail("two leases of %s in %s", secret, inst);
        l->listed[c][i] = l->inst_listed[c] = true;
        copy(l->ids[c][i], sizeof(l->ids[c][i]), id);
        if (ml[c][i].hi < l->now - SLACK)
                fail("lease %s of %s in %s outlived its deadline by %lld ms", id, secret, inst,
                     (long long) (l->now - ml[c][i].hi) / 1000);
        if (jint(p, e, "version") != (long) sec[i].version)
                fail("lease %s of %s says version %ld, current is %lu", id, secret, jint(p, e, "version"),
                     (unsigned long) sec[i].version);
        snprintf(want_host, sizeof(want_host), "%s/containers/%s/%s", secrets_root, inst, secret);
        if (strcmp(host, want_host) != 0)
                fail("lease %s host_path %s, expected %s", id, host, want_host);
        for (int k = 0; k < snap.n_files; k++)
                if (strcmp(snap.files[k].inst, inst) == 0 && strcmp(snap.files[k].file, secret) == 0) {
                        if (!value_eq(&sec[i].v, snap.files[k].content.data, snap.files[k].content.len))
                                fail("%s holds %zu bytes that are not the current version %lu of %s", host,
                                     snap.files[k].content.len, (unsigned long) sec[i].version, secret);
                        snap.files[k].seen = found = true;
                        stats.set_files += is_set(i);
                }
        if (!found)
                fail("live lease %s has no file at %s", id, host);
        snprintf(rec, sizeof(rec), "%s.json", id);
        found = false;
        for (int k = 0; k < snap.n_records; k++)
                found = found || strcmp(snap.records[k], rec) == 0;
        if (!found)
                fail("live lease %s has no record in %s", id, records_dir);
        stats.leases_checked++;
        return e;
}

/* Acknowledged leases still ahead of their deadlines are listed with
 * their ids; the model learns the listed ones and the expired ones. */
static void check_model_leases(const struct listing *l) {
        for (int c = 0; c < n_ct; c++)
                for (int i = 0; i < N_NAMES; i++) {
                        struct mlease *m = &ml[c][i];

                        if (m->acked && m->lo > l->now + SLACK && !l->listed[c][i])
                                fail("acknowledged lease %s of %s in %s (%lld ms to go) is gone", m->id,
                                     name_of(i), ct[c].instance, (long long) (m->lo - l->now) / 1000);
                        if (m->acked && m->lo > l->now + SLACK && strcmp(l->ids[c][i], m->id) != 0)
                                fail("lease of %s in %s changed id from %s to %s", name_of(i), ct[c].instance,
                                     m->id, l->ids[c][i]);
                        if (l->listed[c][i]) {
                                /* now we know it is there, with this id */
                                copy(m->id, sizeof(m->id), l->ids[c][i]);
                                m->acked = true;
                        } else if (m->acked && m->hi < l->now - SLACK) {
                                m->acked = false;
                                stats.expired_seen++;
                        }
                }
}

/* A file no listed lease claimed may only be one that may have expired. */
static void check_stray_files(const struct listing *l) {
        for (int k = 0; k < snap.n_files; k++) {
                const struct entry *f = &snap.files[k];
                int c = ct_index(f->inst), i = name_index(f->file);

                stats.files++;
                if (f->seen)
                        continue;
                if (c < 0 || i < 0 || !may_have_expired(c, i, l->now))
                        fail("%s/%s/%s (%zu bytes, %s) belongs to no live lease", secrets_root, f->inst, f->file,
                             f->content.len,
                             i >= 0 && value_eq(&sec[i].v, f->content.data, f->content.len)
                                     ? "the current value"
                                     : "not the current value");
        }
}

/* Each instance directory belongs to a live lease (or one that may be
 * gone), and one with live leases is a mount. */
static void check_stray_dirs(const struct listing *l) {
        for (int k = 0; k < snap.n_dirs; k++) {
                int c = ct_index(snap.dirs[k]);
                bool mounted = false;

                for (int j = 0; j < snap.n_mounts; j++)
                        mounted = mounted || strcmp(snap.mounts[j], snap.dirs[k]) == 0;
                if (c < 0 || (!l->inst_listed[c] && !instance_may_be_gone(c, l->now))) {
                        int nf = 0;

                        for (int j = 0; j < snap.n_files; j++)
                                nf += strcmp(snap.files[j].inst, snap.dirs[k]) == 0;
                        fail("directory %s/%s (%s, %d entries) belongs to no live lease", secrets_root,
                             snap.dirs[k], mounted ? "a mount" : "not a mount", nf);
                }
                if (l->inst_listed[c] && !mounted)
                        fail("%s/%s holds live leases but is not a tmpfs mount", secrets_root, snap.dirs[k]);
        }
}

/* Each mount is there once, and owned by a live lease (or one that may be
 * gone). */
static void check_stray_mounts(const struct listing *l) {
        for (int j = 0; j < snap.n_mounts; j++) {
                int c = ct_index(snap.mounts[j]);

                for (int k = j + 1; k < snap.n_mounts; k++)
                        if (strcmp(snap.mounts[j], snap.mounts[k]) == 0)
                                fail("%s/%s is mounted twice", secrets_root, snap.mounts[j]);
                if (c < 0 || (!l->inst_listed[c] && !instance_may_be_gone(c, l->now)))
                        fail("%s/%s is mounted but no lease owns it", secrets_root, snap.mounts[j]);
        }
}

static bool record_is_listed(const struct listing *l, const char *record) {
        bool live = false;

        for (int c = 0; c < n_ct; c++)
                for (int i = 0; i < N_NAMES; i++)
                        live = live || (l->listed[c][i] && strncmp(record, l->ids[c][i], 32) == 0 &&
                                        strcmp(record + 32, ".json") == 0);
        return live;
}

/* A record of no listed lease: it may belong to a lease that expired
 * during the check. */
static void check_unlisted_record(const struct listing *l, const char *record) {
        char path[4300], inst[128] = "", secret[64] = "";
        int fd, c, i;
        struct value v;
        bool present;

        copy(path, sizeof(path), records_dir);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        v = read_file(fd, record);
        close(fd);
        present = v.data != NULL;
        if (present) {
                v.data[v.len] = '\0';
                (void) jstr((char *) v.data, (char *) v.data + v.len, "instance", inst, sizeof(inst));
                (void) jstr((char *) v.data, (char *) v.data + v.len, "secret", secret, sizeof(secret));
        }
        free(v.data);
        c = ct_index(inst);
        i = name_index(secret);
        /* gone meanwhile (not present) is an expiry too */
        if (present && (c < 0 || i < 0 || !may_have_expired(c, i, l->now)))
                fail("record %s/%s belongs to no live lease", records_dir, record);
}

/* Leases: the list against the model, then everything on disk against
 * the list.  The snapshot is taken first: between the two, leases can
 * only go. */
void check_leases(void) {
        struct listing l = {};
        const char *p;
        struct resp r;
        int st;

        snapshot();
        st = http(admin_sock, "GET", "/v1/leases", NULL, NULL, 0, &r);
        l.now = now_usec();
        if (st != 200)
                fail("GET /v1/leases: %d", st);
        for (p = r.body; (p = strstr(p, "{\"id\":\"")); p++)
                p = check_listed_lease(&l, p);

        check_model_leases(&l);
        check_stray_files(&l);
        check_stray_dirs(&l);
        check_stray_mounts(&l);
        for (int k = 0; k < snap.n_records; k++)
                if (!record_is_listed(&l, snap.records[k]))
                        check_unlisted_record(&l, snap.records[k]);
}
