/* secbuf.c — guarded plaintext buffers (see secbuf.h). */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "secretd/secbuf.h"

struct secbuf *secbuf_new(size_t len) {
        struct secbuf *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        /* sodium_malloc(0) is valid but hands back a guard-adjacent pointer;
         * one byte keeps data dereferenceable for empty values. */
        b->data = sodium_malloc(len > 0 ? len : 1);
        if (!b->data) {
                free(b);
                return NULL;
        }
        sodium_memzero(b->data, len > 0 ? len : 1);
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
        sodium_free(b->data); /* wipes before unmapping */
        free(b);
        return NULL;
}

void secbuf_freep(struct secbuf **b) {
        secbuf_free(*b);
}
