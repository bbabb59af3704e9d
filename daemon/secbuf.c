/* secbuf.c — guarded plaintext buffers (see secbuf.h).
 *
 * Guarded memory is dear: sodium_malloc() maps four pages and changes their
 * protection (mmap, three mprotect, madvise, mlock) and sodium_free() undoes
 * it all; every protection change flushes the TLB of each CPU the process
 * ran on.  Every lease, read and start-up opens small values, so freed
 * one-page buffers are wiped and kept on a short free list: still guarded,
 * locked and out of core dumps, handed out again instead of remapped. */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretd/secbuf.h"

#define POOL_MAX 32

static struct {
        uint8_t *v[POOL_MAX];
        size_t n;
        size_t cap; /* what one pooled allocation holds: a page, less sodium's canary */
} pool;

static size_t pool_cap(void) {
        if (pool.cap == 0) {
                long page = sysconf(_SC_PAGESIZE);

                pool.cap = (size_t) (page > 0 ? page : 4096) - 64;
        }
        return pool.cap;
}

struct secbuf *secbuf_new(size_t len) {
        size_t want = len > 0 ? len : 1;
        struct secbuf *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        /* sodium_malloc(0) is valid but hands back a guard-adjacent pointer;
         * one byte keeps data dereferenceable for empty values. */
        b->cap = want <= pool_cap() ? pool.cap : want;
        b->alloc = b->cap == pool.cap && pool.n > 0 ? pool.v[--pool.n] : sodium_malloc(b->cap);
        if (!b->alloc) {
                free(b);
                return NULL;
        }
        /* sodium_malloc puts the end of the region against the guard page:
         * so does an overrun of data */
        b->data = b->alloc + b->cap - want;
        sodium_memzero(b->data, want);
        b->len = len;
        return b;
}

struct secbuf *secbuf_dup(const void *src, size_t n) {
        struct secbuf *b = secbuf_new(n);

        if (b && n > 0)
                memcpy(b->data, src, n);
        return b;
}

void secbuf_truncate(struct secbuf *b, size_t n) {
        assert(n <= b->len);
        sodium_memzero(b->data + n, b->len - n);
        b->len = n;
}

struct secbuf *secbuf_free(struct secbuf *b) {
        if (!b)
                return NULL;
        if (b->cap == pool.cap && pool.n < POOL_MAX) {
                sodium_memzero(b->alloc, b->cap);
                pool.v[pool.n++] = b->alloc;
        } else
                sodium_free(b->alloc); /* wipes before unmapping */
        free(b);
        return NULL;
}

void secbuf_freep(struct secbuf **b) {
        secbuf_free(*b);
}
