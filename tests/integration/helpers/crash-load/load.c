/* load.c — the mixed load of one round: creates, deletes, rotates, reads
 * (admin socket) and leases (from inside the containers), of values and
 * of sets (one PUT or rotate for both parts), in random proportions, until a request gets no complete reply because the daemon
 * was killed.  Each acknowledged request updates the model; the one in
 * flight at the kill is recorded as in doubt for the checks to settle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash-load.h"

static int pick(bool (*ok)(int)) {
        int start = (int) (random() % N_NAMES);

        for (int k = 0; k < N_NAMES; k++) {
                int i = (start + k) % N_NAMES;
                if (ok(i))
                        return i;
        }
        return -1;
}

static bool is_free(int i) {
        return !sec[i].exists && !sec[i].maybe;
}

static bool is_settled(int i) {
        return sec[i].exists && !sec[i].has_pending && !sec[i].maybe_deleted;
}

static const char *ctype_of(int i) {
        return is_set(i) ? SET_CTYPE : "application/octet-stream";
}

/* Each op returns false when the daemon went away mid-request. */
static bool op_create(void) {
        int i = pick(is_free);
        char path[64];
        struct value v;
        struct resp r;
        int st;

        if (i < 0)
                return true;
        random_value(i, &v);
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "PUT", path, ctype_of(i), v.data, v.len, &r);
        if (st < 0) {
                sec[i].maybe = true;
                sec[i].has_pending = true;
                sec[i].pending = v;
                return false;
        }
        if (st != 201)
                fail("PUT %s: status %d: %.300s", name_of(i), st, r.body);
        sec[i].exists = true;
        sec[i].v = v;
        sec[i].version = 1;
        stats.creates++;
        return true;
}

static bool op_rotate(void) {
        int i = pick(is_settled);
        char path[64];
        struct value v;
        struct resp r;
        int st;

        if (i < 0)
                return true;
        random_value(i, &v);
        snprintf(path, sizeof(path), "/v1/secrets/%s/rotate", name_of(i));
        st = http(admin_sock, "POST", path, ctype_of(i), v.data, v.len, &r);
        if (st < 0) {
                sec[i].has_pending = true;
                sec[i].pending = v;
                return false;
        }
        if (st != 200 || jint(r.body, r.body + r.len, "version") != (long) sec[i].version + 1)
                fail("rotate %s: status %d: %.300s", name_of(i), st, r.body);
        free(sec[i].v.data);
        sec[i].v = v;
        sec[i].version++;
        stats.rotates++;
        stats.set_rotates += is_set(i);
        return true;
}

static bool op_delete(void) {
        int i = pick(is_settled);
        char path[64];
        struct resp r;
        int st;

        if (i < 0)
                return true;
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "DELETE", path, NULL, NULL, 0, &r);
        if (st < 0) {
                sec[i].maybe_deleted = true;
                return false;
        }
        if (st != 200)
                fail("DELETE %s: status %d: %.300s", name_of(i), st, r.body);
        forget(i);
        stats.deletes++;
        return true;
}

static bool op_read(void) {
        int i = pick(is_settled);
        char path[64];
        struct resp r;
        int st;

        if (i < 0)
                return true;
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "GET", path, NULL, NULL, 0, &r);
        if (st < 0)
                return false;
        if (st != 200 || !value_eq(&sec[i].v, (const uint8_t *) r.body, r.len) || r.version != (long) sec[i].version)
                fail("GET %s: status %d, version %ld (want %lu), value %s", name_of(i), st, r.version,
                     (unsigned long) sec[i].version, st == 200 ? "differs" : r.body);
        stats.reads++;
        return true;
}

/* Up to `want` distinct settled secrets into idx; returns how many. */
static int pick_distinct(int want, int idx[3]) {
        int n = 0;

        for (int k = 0; k < want; k++) {
                int i = pick(is_settled);
                bool dup = false;

                for (int j = 0; j < n; j++)
                        dup = dup || idx[j] == i;
                if (i >= 0 && !dup)
                        idx[n++] = i;
        }
        return n;
}

static void lease_json(char *json, size_t size, int ttl, const int *idx, int n) {
        size_t off;

        off = (size_t) snprintf(json, size, "{\"ttl\":\"%ds\",\"secrets\":[", ttl);
        for (int j = 0; j < n; j++)
                off += (size_t) snprintf(json + off, size - off, "%s\"%s\"", j ? "," : "", name_of(idx[j]));
        snprintf(json + off, size - off, "]}");
}

/* The reply's lease objects are in request order: take their ids. */
static void lease_reply_ids(int c, const int *idx, int n, const struct resp *r) {
        const char *p = r->body, *end = r->body + r->len;
        int j = 0;

        while ((p = strstr(p, "{\"id\":\"")) && j < n) {
                const char *e = strchr(p, '}');
                char secret[64];

                if (!e || !jstr(p, e, "id", ml[c][idx[j]].id, sizeof(ml[c][idx[j]].id)) ||
                    !jstr(p, e, "secret", secret, sizeof(secret)) || strcmp(secret, name_of(idx[j])) != 0)
                        fail("lease reply does not list %s in order: %.300s", name_of(idx[j]), r->body);
                p = e;
                j++;
        }
        if (j != n || p > end)
                fail("lease reply has %d leases for %d secrets: %.300s", j, n, r->body);
}

static bool op_lease(void) {
        int c = (int) (random() % n_ct), want = 1 + (int) (random() % 3), idx[3], n;
        int ttl = random() % 5 < 3 ? 1 + (int) (random() % 3) : 3600;
        char json[512];
        int64_t t0, t1;
        struct resp r;
        int st;

        n = pick_distinct(want, idx);
        if (n == 0)
                return true;
        lease_json(json, sizeof(json), ttl, idx, n);
        t0 = now_usec();
        st = lease_from(c, json, &r);
        t1 = now_usec();
        for (int j = 0; j < n; j++) {
                struct mlease *m = &ml[c][idx[j]];

                if (st < 0) {
                        /* may or may not have happened; a re-grant may shorten */
                        m->lo = m->any ? (m->lo < t0 + ttl * SEC ? m->lo : t0 + ttl * SEC) : t0 + ttl * SEC;
                        m->hi = m->any ? (m->hi > t1 + ttl * SEC ? m->hi : t1 + ttl * SEC) : t1 + ttl * SEC;
                        m->any = true;
                        continue;
                }
                if (st != 201)
                        fail("lease %s from container %d: status %d: %.300s", json, c, st, r.body);
                m->any = m->acked = true;
                m->lo = t0 + ttl * SEC;
                m->hi = t1 + ttl * SEC;
        }
        if (st < 0)
                return false;
        lease_reply_ids(c, idx, n, &r);
        stats.leases++;
        return true;
}

/* Runs requests until the daemon is gone. */
void load(void) {
        for (;;) {
                long x = random() % 100;
                bool ok;

                if (x < 12)
                        ok = op_create();
                else if (x < 17)
                        ok = op_delete();
                else if (x < 45)
                        ok = op_rotate();
                else if (x < 55)
                        ok = op_read();
                else
                        ok = op_lease();
                if (!ok) {
                        stats.unknown++;
                        return;
                }
        }
}
