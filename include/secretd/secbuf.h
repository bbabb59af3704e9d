/* secbuf.h — guarded buffers for plaintext and keys.
 *
 * A secbuf's bytes live in sodium_malloc() memory: guard pages on both
 * sides, locked out of swap, wiped by sodium_free().  Plaintext secret
 * values and key material exist only in these. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct secbuf {
        size_t len;
        uint8_t *data;  /* inside alloc, ending where its guard page begins */
        uint8_t *alloc; /* sodium_malloc'd, cap bytes (at least one) */
        size_t cap;
};

/* Allocates len bytes (zeroed); NULL on out-of-memory. */
struct secbuf *secbuf_new(size_t len);
/* Copies n bytes from src into a new secbuf. */
struct secbuf *secbuf_dup(const void *src, size_t n);
/* Shrinks the visible length (the allocation stays); n must be <= len. */
void secbuf_truncate(struct secbuf *b, size_t n);
struct secbuf *secbuf_free(struct secbuf *b);
void secbuf_freep(struct secbuf **b);
