/* backend.c — what every backend shares: freeing, and the optional ops. */
#include <stdlib.h>

#include "backend.h"

bool backend_reachable(struct backend *b, int64_t *ret_since_usec) {
        return !b->ops->reachable || b->ops->reachable(b, ret_since_usec);
}

void backend_heard(struct backend *b, const char *key, uint64_t rev) {
        if (b->ops->heard)
                b->ops->heard(b, key, rev);
}

void backend_watching(struct backend *b, bool live) {
        if (b->ops->watching)
                b->ops->watching(b, live);
}

struct backend *backend_free(struct backend *b) {
        if (b)
                b->ops->free(b);
        return NULL;
}

void backend_freep(struct backend **b) {
        backend_free(*b);
}

void backend_keys_free(char **keys, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(keys[i]);
        free(keys);
}
