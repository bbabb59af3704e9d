/* server.h — the running daemon's state, shared by the loop (main.c), the
 * HTTP layer (http.c) and the routes (api.c).  One thread owns all of it. */
#pragma once

#include <stdint.h>

#include "attest.h"
#include "audit.h"
#include "config.h"
#include "keys.h"
#include "metrics.h"
#include "store.h"

struct server {
        struct config *config;  /* replaced whole on reload */
        struct keys *keys;
        struct store *store;
        struct audit *audit;
        struct leasing *leasing;
        struct attest_context attest;
        struct metrics metrics;
        int64_t started_usec;   /* CLOCK_MONOTONIC */
        unsigned connections;

        /* Re-reads the configuration; on failure keeps the old one and
         * returns -errno with the reasons in *ret_reasons (malloc'd). */
        int (*reload)(struct server *s, char **ret_reasons);
        void *reload_userdata;
};
