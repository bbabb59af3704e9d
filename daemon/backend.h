/* backend.h — where sealed blobs are kept.
 *
 * The boundary below the store: a backend holds opaque, already-sealed blobs
 * under names, and never sees plaintext or keys.  Every blob carries a
 * revision (a compare-and-swap token, 0 meaning "absent"), so a put can
 * require the revision it read.  The local directory is the first backend;
 * an etcd backend (mod_revision as the token) can sit behind the same ops. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend;

struct backend_ops {
        /* -ENOENT when absent. ret_blob is malloc'd. */
        int (*get)(struct backend *b, const char *key, uint8_t **ret_blob, size_t *ret_len, uint64_t *ret_rev);
        /* Stores blob iff the current revision is expected_rev (0: must be
         * absent); -ESTALE otherwise (-EEXIST when expected_rev is 0).
         * Durable before it returns.  ret_rev gets the new revision. */
        int (*put)(struct backend *b, const char *key, const uint8_t *blob, size_t len, uint64_t expected_rev,
                   uint64_t *ret_rev);
        /* Removes key durably; -ENOENT when absent. */
        int (*remove)(struct backend *b, const char *key);
        /* Every key held, malloc'd array of malloc'd strings. */
        int (*list)(struct backend *b, char ***ret_keys, size_t *ret_n);
        /* Whether the last call reached the store, and when not, since when
         * (CLOCK_REALTIME); NULL: a local store, always reachable.  A store
         * out of reach fails with -EHOSTUNREACH. */
        bool (*reachable)(struct backend *b, int64_t *ret_since_usec);
        /* A shared store's watch says key changed at rev, or whether it
         * is live (no event can be missed): what a backend that keeps
         * copies in memory needs to know when they are current.  NULL:
         * nothing to know. */
        void (*heard)(struct backend *b, const char *key, uint64_t rev);
        void (*watching)(struct backend *b, bool live);
        void (*free)(struct backend *b);
};

struct backend {
        const struct backend_ops *ops;
        const char *kind; /* "dir", "etcd": for status */
};

/* The local-directory backend over dir (created 0700 if missing).  It takes
 * an exclusive lock, so a second daemon on the same directory gets -EBUSY.
 * max_blob bounds what get() will read. */
int backend_dir_open(const char *dir, size_t max_blob, struct backend **ret);

/* Where an etcd backend finds its cluster (config "etcd"). */
struct etcd_options {
        char **endpoints; /* "http://127.0.0.1:2379", … */
        size_t n_endpoints;
        const char *prefix; /* ends in '/' */
        const char *ca, *cert, *key; /* TLS files, or NULL */
};

/* The etcd backend (backend-etcd.c): blobs under prefix in the cluster at
 * the endpoints.  Connects lazily: an unreachable cluster is reported by
 * the first call. */
int backend_etcd_open(const struct etcd_options *o, size_t max_blob, struct backend **ret);

/* Whether b reached its store at its last call (since: see reachable). */
bool backend_reachable(struct backend *b, int64_t *ret_since_usec);

void backend_heard(struct backend *b, const char *key, uint64_t rev);
void backend_watching(struct backend *b, bool live);

struct backend *backend_free(struct backend *b);
void backend_freep(struct backend **b);
void backend_keys_free(char **keys, size_t n);
