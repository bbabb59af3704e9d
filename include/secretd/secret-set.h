/* secret-set.h — a set: one secret whose value is several named parts,
 * kept as one blob and leased as one directory, so that every part
 * changes together (a certificate and its key, a user and its password).
 *
 * The encoding is what the store seals for a set's version, what an admin
 * sends as the body of PUT and rotate with Content-Type SET_CONTENT_TYPE,
 * and what GET answers:
 *
 *     NAME SP SIZE LF BYTES LF        (once per part)
 *
 * NAME follows SECRET_NAME_GRAMMAR (it becomes a file name), SIZE is
 * decimal without leading zeros, and the LF after BYTES is there so that
 * a text part reads well in a dump.  A set has 1 to SET_PARTS_MAX parts
 * with distinct names.  Parsed in place: a part's bytes stay in the
 * caller's (guarded) buffer; the canonical encoding, the one stored and
 * compared, has the parts sorted by name.  Shared by secretd and
 * secretctl. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretd/protocol.h"
#include "secretd/secbuf.h"

#define SET_CONTENT_TYPE "application/x-secretd-set"
#define SET_PARTS_MAX 32

struct set_part {
        char name[SECRET_NAME_MAX + 1];
        const uint8_t *data; /* into the parsed buffer */
        size_t len;
};

struct secret_set {
        size_t n;
        struct set_part parts[SET_PARTS_MAX];
};

/* Parses buf; -EBADMSG with *ret_why set (a sentence, no value bytes in
 * it) on anything malformed.  The parts come out sorted by name. */
int set_parse(const uint8_t *buf, size_t len, struct secret_set *ret, const char **ret_why);
/* The canonical encoding of s (its parts sorted by name) in a new secbuf. */
int set_encode(const struct secret_set *s, struct secbuf **ret);
/* The part called name, or NULL. */
const struct set_part *set_find(const struct secret_set *s, const char *name);
