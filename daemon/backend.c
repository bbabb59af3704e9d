/* backend.c — what every backend shares: freeing. */
#include <stdlib.h>

#include "backend.h"

bool backend_reachable(struct backend *b, int64_t *ret_since_usec) {
        return !b->ops->reachable || b->ops->reachable(b, ret_since_usec);
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
