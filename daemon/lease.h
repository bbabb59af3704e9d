/* lease.h — the lease table: which secret is materialized for which
 * workload instance, until when.  Pure bookkeeping: no files, no clock
 * reads, no logging, so it can be tested on its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "secretd/protocol.h" /* LEASE_ID_LEN, lease_id_valid() */

struct lease {
        char id[LEASE_ID_LEN + 1];
        char *secret;
        char *file;      /* file name in the instance directory */
        char *instance;  /* "<runtime>-<id>": the directory under secrets_root */
        char *workload;  /* policy workload name at grant time */
        uid_t uid;
        gid_t gid;
        mode_t mode;
        uint64_t version;
        int64_t granted_usec;      /* CLOCK_REALTIME, all three */
        int64_t expires_usec;
        int64_t max_expires_usec;  /* granted + max_ttl: renewals stop here */
        int on_rotate_signal;
        /* Lives as long as its container (made by the OCI hook): no
         * deadline, expires_usec and max_expires_usec INT64_MAX; it ends
         * when the container's cgroup empties, never by the timer. */
        bool until_exit;
        void *owner;     /* the leasing layer's instance; opaque here */
};

struct lease_table {
        struct lease **v;
        size_t n, cap;
};

/* A new lease with a fresh random id and copies of the strings. */
struct lease *lease_new(const char *secret, const char *file, const char *instance, const char *workload);
/* The same with a known id (a record read back); NULL when id is invalid. */
struct lease *lease_new_with_id(const char *id, const char *secret, const char *file, const char *instance,
                               const char *workload);
struct lease *lease_free(struct lease *l);

/* Takes ownership of l. */
int lease_table_add(struct lease_table *t, struct lease *l);
struct lease *lease_table_find(const struct lease_table *t, const char *id);
/* Removes and frees l. */
void lease_table_remove(struct lease_table *t, struct lease *l);
/* The earliest expiry, or INT64_MAX when the table is empty. */
int64_t lease_table_next_deadline(const struct lease_table *t);
/* The first lease expired at now, or NULL. */
struct lease *lease_table_first_expired(const struct lease_table *t, int64_t now);
void lease_table_clear(struct lease_table *t);

/* Extends l to now + ttl, never past its max; returns the new expiry.
 * A lease until_exit keeps its (absent) deadline. */
int64_t lease_extend(struct lease *l, int64_t now, uint64_t ttl_usec);
