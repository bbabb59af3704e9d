/* store.c — named, versioned, sealed secrets over a backend.
 *
 * Record layout (the plaintext that gets sealed, little-endian):
 *   u8 format (1: a value, 2: a set) | u8 n_versions (1..2) | 6 zero bytes
 *   n_versions × { u64 version | i64 created_usec | u32 size | size bytes }
 * versions[0] is the current one.  The record is decoded in place inside
 * its secbuf; values are copied out only into new secbufs. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#include "secretd/cleanup.h"
#include "secretd/secret-set.h"
#include "store.h"

#define RECORD_HEADER 8
#define RECORD_ENTRY_HEADER 20
#define KEYCHECK_KEY ".keycheck"
#define KEYCHECK_TEXT "secretd key check v1"

struct store {
        struct backend *backend;
        struct keys *keys;
        size_t max_value;
};

struct record {
        enum store_kind kind; /* the format byte: older daemons refuse a set */
        unsigned n;
        struct store_version v[STORE_VERSIONS_KEPT];
        const uint8_t *value[STORE_VERSIONS_KEPT];
};

/* The protocol's grammar (protocol.h), so a name the client sends is one
 * the store accepts. */
bool store_name_valid(const char *name) {
        return secret_name_valid(name);
}

static int64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t get_le64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, 8);
        return le64toh(v);
}

static uint32_t get_le32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return le32toh(v);
}

static void put_le64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, 4);
}

static bool set_valid(const uint8_t *value, size_t len) {
        struct secret_set s;
        const char *why;

        return set_parse(value, len, &s, &why) == 0;
}

/* Parses a record in place; every length is checked against what is left
 * before it is used.  -EBADMSG on anything malformed. */
static int record_decode(const struct secbuf *plain, struct record *ret) {
        const uint8_t *p = plain->data;
        size_t left = plain->len;
        struct record rec = {};

        if (left < RECORD_HEADER || (p[0] != STORE_VALUE && p[0] != STORE_SET) || p[1] < 1 ||
            p[1] > STORE_VERSIONS_KEPT)
                return -EBADMSG;
        rec.kind = p[0];
        rec.n = p[1];
        p += RECORD_HEADER;
        left -= RECORD_HEADER;
        for (unsigned i = 0; i < rec.n; i++) {
                if (left < RECORD_ENTRY_HEADER)
                        return -EBADMSG;
                rec.v[i].version = get_le64(p);
                rec.v[i].created_usec = (int64_t) get_le64(p + 8);
                rec.v[i].size = get_le32(p + 16);
                rec.v[i].kind = rec.kind;
                p += RECORD_ENTRY_HEADER;
                left -= RECORD_ENTRY_HEADER;
                if (rec.v[i].size > left || rec.v[i].version == 0 ||
                    (i > 0 && rec.v[i].version >= rec.v[i - 1].version))
                        return -EBADMSG;
                rec.value[i] = p;
                if (rec.kind == STORE_SET && !set_valid(p, rec.v[i].size))
                        return -EBADMSG;
                p += rec.v[i].size;
                left -= rec.v[i].size;
        }
        if (left != 0)
                return -EBADMSG;
        *ret = rec;
        return 0;
}

/* Encodes rec into a fresh secbuf (it holds plaintext values). */
static int record_encode(const struct record *rec, struct secbuf **ret) {
        struct secbuf *b;
        size_t len = RECORD_HEADER;
        uint8_t *p;

        for (unsigned i = 0; i < rec->n; i++)
                len += RECORD_ENTRY_HEADER + rec->v[i].size;
        b = secbuf_new(len);
        if (!b)
                return -ENOMEM;
        p = b->data;
        p[0] = (uint8_t) rec->kind;
        p[1] = (uint8_t) rec->n;
        p += RECORD_HEADER;
        for (unsigned i = 0; i < rec->n; i++) {
                put_le64(p, rec->v[i].version);
                put_le64(p + 8, (uint64_t) rec->v[i].created_usec);
                put_le32(p + 16, rec->v[i].size);
                p += RECORD_ENTRY_HEADER;
                if (rec->v[i].size > 0)
                        memcpy(p, rec->value[i], rec->v[i].size);
                p += rec->v[i].size;
        }
        *ret = b;
        return 0;
}

/* Fetches and opens name's record.  ret_plain owns the bytes ret_rec points
 * into. */
static int store_load(struct store *st, const char *name, struct secbuf **ret_plain, struct record *ret_rec,
                      uint64_t *ret_rev) {
        _cleanup_free_ uint8_t *blob = NULL;
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        struct record rec;
        size_t len;
        uint64_t rev;
        int r;

        if (!store_name_valid(name))
                return -EINVAL;
        r = st->backend->ops->get(st->backend, name, &blob, &len, &rev);
        if (r == -EFBIG)
                r = -EBADMSG; /* larger than anything we write: damage */
        if (r < 0)
                return r;
        r = keys_open(st->keys, name, blob, len, &plain);
        if (r < 0)
                return r;
        r = record_decode(plain, &rec);
        if (r < 0)
                return r;
        *ret_plain = TAKE_PTR(plain);
        *ret_rec = rec;
        *ret_rev = rev;
        return 0;
}

static int store_save(struct store *st, const char *name, const struct record *rec, uint64_t expected_rev) {
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        _cleanup_free_ uint8_t *blob = NULL;
        size_t len;
        int r;

        r = record_encode(rec, &plain);
        if (r < 0)
                return r;
        r = keys_seal(st->keys, name, plain->data, plain->len, &blob, &len);
        if (r < 0)
                return r;
        return st->backend->ops->put(st->backend, name, blob, len, expected_rev, NULL);
}

static int check_value(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len) {
        if (!store_name_valid(name) || (kind != STORE_VALUE && kind != STORE_SET))
                return -EINVAL;
        if (len > st->max_value)
                return -EFBIG;
        if (kind == STORE_SET && !set_valid(value, len))
                return -EINVAL;
        return 0;
}

int store_create(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                 struct store_version *ret_version) {
        struct record rec = { .kind = kind, .n = 1 };
        int r;

        r = check_value(st, name, kind, value, len);
        if (r < 0)
                return r;
        rec.v[0] = (struct store_version) {
                .version = 1, .kind = kind, .created_usec = now_usec(), .size = (uint32_t) len
        };
        rec.value[0] = value;
        r = store_save(st, name, &rec, 0);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = rec.v[0];
        return 0;
}

/* A shared store (etcd) may be written by another host between our read
 * and our write: the write then finds another revision (-ESTALE) and is
 * done again on what that host wrote, so that every acknowledged write
 * has a version of its own.  Bounded: under a storm, the caller is told. */
#define WRITE_TRIES 16

static int write_version_once(struct store *st, const char *name, enum store_kind kind, const uint8_t *value,
                              size_t len, bool if_changed, struct store_version *ret_version, bool *ret_unchanged);

static int write_version(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                         bool if_changed, struct store_version *ret_version, bool *ret_unchanged) {
        int r = -ESTALE;

        for (int i = 0; i < WRITE_TRIES && r == -ESTALE; i++)
                r = write_version_once(st, name, kind, value, len, if_changed, ret_version, ret_unchanged);
        return r;
}

/* A new current version, unless if_changed and value is the current one
 * (then *ret_unchanged, and nothing is written). */
static int write_version_once(struct store *st, const char *name, enum store_kind kind, const uint8_t *value,
                              size_t len, bool if_changed, struct store_version *ret_version, bool *ret_unchanged) {
        _cleanup_(secbuf_freep) struct secbuf *old = NULL;
        struct record rec, next = { .kind = kind, .n = 2 };
        uint64_t rev;
        int r;

        r = check_value(st, name, kind, value, len);
        if (r < 0)
                return r;
        r = store_load(st, name, &old, &rec, &rev);
        if (r < 0)
                return r;
        if (rec.kind != kind)
                return -EMEDIUMTYPE;
        /* both in guarded memory; the compare takes the same time wherever
         * they differ (only the length, which the API reports, is not hidden) */
        if (if_changed && rec.v[0].size == len && (len == 0 || sodium_memcmp(rec.value[0], value, len) == 0)) {
                if (ret_version)
                        *ret_version = rec.v[0];
                *ret_unchanged = true;
                return 0;
        }
        if (ret_unchanged)
                *ret_unchanged = false;
        /* Version 0 means "damaged" to record_decode(): never wrap into it. */
        if (rec.v[0].version == UINT64_MAX)
                return -EOVERFLOW;
        next.v[0] = (struct store_version) {
                .version = rec.v[0].version + 1, .kind = kind, .created_usec = now_usec(), .size = (uint32_t) len
        };
        next.value[0] = value;
        next.v[1] = rec.v[0];
        next.value[1] = rec.value[0];
        r = store_save(st, name, &next, rev);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = next.v[0];
        return 0;
}

int store_write(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                struct store_version *ret_version) {
        return write_version(st, name, kind, value, len, false, ret_version, NULL);
}

int store_rotate(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                 struct store_version *ret_version, bool *ret_unchanged) {
        return write_version(st, name, kind, value, len, true, ret_version, ret_unchanged);
}

int store_read(struct store *st, const char *name, uint64_t version, struct secbuf **ret_value,
               struct store_version *ret_version) {
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        struct secbuf *value;
        struct record rec;
        uint64_t rev;
        int r;

        r = store_load(st, name, &plain, &rec, &rev);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < rec.n; i++) {
                if (version != 0 && rec.v[i].version != version)
                        continue;
                value = secbuf_dup(rec.value[i], rec.v[i].size);
                if (!value)
                        return -ENOMEM;
                *ret_value = value;
                if (ret_version)
                        *ret_version = rec.v[i];
                return 0;
        }
        return -ENOENT;
}

int store_meta(struct store *st, const char *name, struct store_meta *ret) {
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        struct store_meta m = {};
        struct record rec;
        uint64_t rev;
        int r;

        r = store_load(st, name, &plain, &rec, &rev);
        if (r < 0)
                return r;
        strcpy(m.name, name); /* valid, so <= STORE_NAME_MAX */
        m.n_versions = rec.n;
        memcpy(m.versions, rec.v, sizeof(rec.v));
        *ret = m;
        return 0;
}

int store_delete(struct store *st, const char *name) {
        if (!store_name_valid(name))
                return -EINVAL;
        return st->backend->ops->remove(st->backend, name);
}

static int meta_cmp(const void *a, const void *b) {
        return strcmp(((const struct store_meta *) a)->name, ((const struct store_meta *) b)->name);
}

int store_list(struct store *st, struct store_meta **ret_list, size_t *ret_n) {
        _cleanup_free_ struct store_meta *list = NULL;
        char **keys = NULL;
        size_t n_keys = 0, n = 0;
        int r;

        r = st->backend->ops->list(st->backend, &keys, &n_keys);
        if (r < 0)
                return r;
        list = calloc(n_keys ? n_keys : 1, sizeof(*list));
        if (!list) {
                backend_keys_free(keys, n_keys);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_keys; i++) {
                /* Skips our key check and anything no secret could be named. */
                if (!store_name_valid(keys[i]))
                        continue;
                r = store_meta(st, keys[i], &list[n]);
                if (r < 0) {
                        /* One damaged secret must not hide the others. */
                        memset(&list[n], 0, sizeof(list[n]));
                        strcpy(list[n].name, keys[i]);
                        list[n].error = r;
                }
                n++;
        }
        backend_keys_free(keys, n_keys);
        qsort(list, n, sizeof(*list), meta_cmp);
        *ret_list = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int store_names(struct store *st, char ***ret_names, size_t *ret_n) {
        char **keys = NULL;
        size_t n_keys = 0, n = 0;
        int r;

        r = st->backend->ops->list(st->backend, &keys, &n_keys);
        if (r < 0)
                return r;
        /* our key check and anything no secret could be named stay out */
        for (size_t i = 0; i < n_keys; i++)
                if (store_name_valid(keys[i]))
                        keys[n++] = keys[i];
                else
                        free(keys[i]);
        *ret_names = keys;
        *ret_n = n;
        return 0;
}

int store_count(struct store *st, size_t *ret_n) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = store_names(st, &names, &n);
        if (r < 0)
                return r;
        backend_keys_free(names, n);
        *ret_n = n;
        return 0;
}

/* The key check is a known text sealed under the master key; opening it
 * tells a wrong key apart from damaged secrets before anything is served. */
static int store_check_key(struct store *st) {
        _cleanup_free_ uint8_t *blob = NULL;
        _cleanup_(secbuf_freep) struct secbuf *plain = NULL;
        size_t len;
        uint64_t rev;
        int r;

        r = st->backend->ops->get(st->backend, KEYCHECK_KEY, &blob, &len, &rev);
        if (r == -ENOENT) {
                char **keys = NULL;
                size_t n = 0;
                bool has_secrets = false;

                r = st->backend->ops->list(st->backend, &keys, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        has_secrets = has_secrets || store_name_valid(keys[i]);
                backend_keys_free(keys, n);
                if (has_secrets)
                        return -ENOKEY;
                r = keys_seal(st->keys, KEYCHECK_KEY, (const uint8_t *) KEYCHECK_TEXT, strlen(KEYCHECK_TEXT),
                              &blob, &len);
                if (r < 0)
                        return r;
                return st->backend->ops->put(st->backend, KEYCHECK_KEY, blob, len, 0, NULL);
        }
        if (r < 0)
                return r;
        r = keys_open(st->keys, KEYCHECK_KEY, blob, len, &plain);
        if (r == -EBADMSG)
                return -EKEYREJECTED;
        if (r < 0)
                return r;
        if (plain->len != strlen(KEYCHECK_TEXT) || memcmp(plain->data, KEYCHECK_TEXT, plain->len) != 0)
                return -EKEYREJECTED;
        return 0;
}

int store_open(struct backend *b, struct keys *k, size_t max_value, struct store **ret) {
        struct store *st;
        int r;

        if (max_value > STORE_VALUE_MAX_HARD) {
                backend_free(b);
                return -EINVAL;
        }
        st = calloc(1, sizeof(*st));
        if (!st) {
                backend_free(b);
                return -ENOMEM;
        }
        st->backend = b;
        st->keys = k;
        st->max_value = max_value;
        r = store_check_key(st);
        if (r < 0) {
                store_free(st);
                return r;
        }
        *ret = st;
        return 0;
}

struct backend *store_backend(struct store *st) {
        return st->backend;
}

struct store *store_free(struct store *st) {
        if (!st)
                return NULL;
        backend_free(st->backend);
        free(st);
        return NULL;
}

void store_freep(struct store **st) {
        store_free(*st);
}
