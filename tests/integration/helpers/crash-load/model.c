/* model.c — the model of what the daemon acknowledged: for each of the
 * N_NAMES secrets its value and version, or the write or delete whose
 * outcome is unknown; for each (container, secret) pair the bounds of the
 * deadline of the lease the daemon may hold; and the counters of the
 * summary.  It never talks to the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash-load.h"

struct secret sec[N_NAMES];
struct mlease ml[MAX_CT][N_NAMES];
struct stats stats;

const char *name_of(int i) {
        static char buf[N_NAMES][16];

        snprintf(buf[i], sizeof(buf[i]), "s%02d", i);
        return buf[i];
}

bool is_set(int i) {
        return i >= N_NAMES - N_SETS;
}

static void random_bytes(uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) random(); /* binary: NULs and all */
}

/* "a SIZE\n" BYTES "\n" "b SIZE\n" BYTES "\n": the canonical encoding */
static void random_set(struct value *v) {
        size_t la = 1 + (size_t) (random() % (VALUE_MAX / 2 - 32)), lb = 1 + (size_t) (random() % (VALUE_MAX / 2 - 32));
        int n;

        v->data = malloc(la + lb + 64);
        if (!v->data)
                fail("out of memory");
        n = sprintf((char *) v->data, "a %zu\n", la);
        random_bytes(v->data + n, la);
        v->len = (size_t) n + la;
        v->data[v->len++] = '\n';
        n = sprintf((char *) v->data + v->len, "b %zu\n", lb);
        v->len += (size_t) n;
        random_bytes(v->data + v->len, lb);
        v->len += lb;
        v->data[v->len++] = '\n';
}

void random_value(int i, struct value *v) {
        if (is_set(i)) {
                random_set(v);
                return;
        }
        v->len = 1 + (size_t) (random() % VALUE_MAX);
        v->data = malloc(v->len);
        if (!v->data)
                fail("out of memory");
        random_bytes(v->data, v->len);
}

bool value_eq(const struct value *v, const uint8_t *data, size_t len) {
        return v->data && v->len == len && memcmp(v->data, data, len) == 0;
}

int name_index(const char *name) {
        for (int i = 0; i < N_NAMES; i++)
                if (strcmp(name, name_of(i)) == 0)
                        return i;
        return -1;
}

int ct_index(const char *instance) {
        for (int i = 0; i < n_ct; i++)
                if (strcmp(instance, ct[i].instance) == 0)
                        return i;
        return -1;
}

/* The secret is gone, and with it every lease of it. */
void forget(int i) {
        free(sec[i].v.data);
        free(sec[i].pending.data);
        sec[i] = (struct secret) {};
        for (int c = 0; c < n_ct; c++)
                ml[c][i] = (struct mlease) {};
}

bool may_have_expired(int c, int i, int64_t now) {
        return ml[c][i].any && ml[c][i].lo <= now + SLACK;
}

/* Whether every lease the model knows for instance c may be gone by now. */
bool instance_may_be_gone(int c, int64_t now) {
        for (int i = 0; i < N_NAMES; i++)
                if (ml[c][i].any && !may_have_expired(c, i, now))
                        return false;
        return true;
}
