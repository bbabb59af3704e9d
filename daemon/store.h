/* store.h — secrets at rest.
 *
 * A secret is a name and up to two versions (the current and the one
 * before), each with its number, creation time and size, sealed together
 * under the secret's own key (keys.c) and kept as one blob in a backend.
 * Plaintext leaves the store only in a secbuf; nothing is cached in the
 * clear.  Never logs: callers decide what an error means to a user. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "keys.h"
#include "secretd/protocol.h"
#include "secretd/secbuf.h"

#define STORE_NAME_MAX SECRET_NAME_MAX
#define STORE_VALUE_MAX_DEFAULT (64 * 1024)
/* No configuration may raise the value limit past this. */
#define STORE_VALUE_MAX_HARD (16 * 1024 * 1024)
#define STORE_VERSIONS_KEPT 2
/* The largest blob a store ever writes (two hard-limit values, headers and
 * sealing); backends refuse to read anything larger. Lowering the value
 * limit later must not make existing secrets unreadable, hence the hard one. */
#define STORE_BLOB_MAX (8 + STORE_VERSIONS_KEPT * (20 + STORE_VALUE_MAX_HARD) + KEYS_SEAL_OVERHEAD)

struct store;

/* What a secret's value is, fixed when it is created: bytes, or a set of
 * named parts in secret-set.h's encoding (leased as one directory). */
enum store_kind { STORE_VALUE = 1, STORE_SET = 2 };

struct store_version {
        uint64_t version;    /* 1, 2, 3, … */
        enum store_kind kind;
        int64_t created_usec; /* CLOCK_REALTIME */
        uint32_t size;
};

struct store_meta {
        char name[STORE_NAME_MAX + 1];
        int error;           /* 0, or -errno when this secret cannot be read */
        unsigned n_versions; /* versions[0] is the current one */
        struct store_version versions[STORE_VERSIONS_KEPT];
};

/* Name rule: SECRET_NAME_GRAMMAR (secretd/protocol.h). */
bool store_name_valid(const char *name);

/* Opens the store over backend b (taking ownership of it), verifying that
 * keys k are the ones it was written with.  -EKEYREJECTED on another key;
 * -ENOKEY when the store holds secrets but no key check. max_value bounds
 * value sizes. */
int store_open(struct backend *b, struct keys *k, size_t max_value, struct store **ret);
struct store *store_free(struct store *st);
/* The backend it keeps its blobs in. */
struct backend *store_backend(struct store *st);
void store_freep(struct store **st);

/* -EEXIST when it exists, -EINVAL for a bad name (or a set value that is
 * not a set's encoding), -EFBIG over the limit. */
int store_create(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                 struct store_version *ret_version);
/* A new current version; the old current becomes the previous one. -ENOENT
 * when the secret does not exist; -EMEDIUMTYPE when it is of another kind;
 * -EOVERFLOW when its version is already UINT64_MAX (only a crafted file
 * gets there).  One backend put: a crash leaves the old record or the new
 * one, a set never half of each. */
int store_write(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                struct store_version *ret_version);
/* store_write, except that a value equal to the current one writes
 * nothing: *ret_unchanged, and *ret_version is the current version. */
int store_rotate(struct store *st, const char *name, enum store_kind kind, const uint8_t *value, size_t len,
                 struct store_version *ret_version, bool *ret_unchanged);
/* version 0 means the current one.  -ENOENT for an unknown name or a version
 * no longer (or not yet) kept; -EBADMSG when the secret's blob is damaged. */
int store_read(struct store *st, const char *name, uint64_t version, struct secbuf **ret_value,
               struct store_version *ret_version);
int store_meta(struct store *st, const char *name, struct store_meta *ret);
int store_delete(struct store *st, const char *name);
/* Every secret's metadata, sorted by name; a damaged one is listed with its
 * error set rather than failing the whole list. */
int store_list(struct store *st, struct store_meta **ret_list, size_t *ret_n);
/* How many secrets there are, without opening any. */
int store_count(struct store *st, size_t *ret_n);
/* The names of every secret (unsorted; free with backend_keys_free). */
int store_names(struct store *st, char ***ret_names, size_t *ret_n);
