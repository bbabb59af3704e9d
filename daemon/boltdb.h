/* boltdb.h — reading one value out of a bbolt database file held in
 * memory (Podman 4's libpod keeps its containers' configuration in one,
 * bolt_state.db).  Read-only, no locking: the caller has the whole file
 * and trusts it only as far as its checks of the file go; every offset is
 * checked against the buffer, so a torn or hostile file gives -EBADMSG,
 * never a read outside it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The value at buckets path[0] / ... / path[n - 2], key path[n - 1]:
 * 0 with *ret pointing into db, -ENOENT when a name is not there,
 * -EBADMSG when the file is not a sound bbolt database. */
int bolt_get(const uint8_t *db, size_t len, const char *const *path, size_t n, const uint8_t **ret,
             size_t *ret_len);
