/* server.h — the running daemon's state, shared by the loop (main.c), the
 * HTTP layer (http.c) and the routes (api.c).  One thread owns all of it. */
#pragma once

#include <stdint.h>

#include "attest.h"
#include "audit.h"
#include "config.h"
#include "keys.h"
#include "leasing.h"
#include "metrics.h"
#include "runtime-records.h"
#include "store.h"

struct watch;

struct server {
        struct config *config;  /* replaced whole on reload */
        struct keys *keys;
        struct store *store;
        struct audit *audit;
        struct leasing *leasing;
        struct attest_context attest;
        struct records_cache *records; /* containers' selectors, per instance */
        struct watch *watch;    /* parked watch requests (http.c's; NULL without HTTP) */
        struct metrics metrics;
        int64_t started_usec;   /* CLOCK_MONOTONIC */
        unsigned connections;

        /* Re-reads the configuration; on failure keeps the old one and
         * returns -errno with the reasons in *ret_reasons (malloc'd). */
        int (*reload)(struct server *s, char **ret_reasons);
        void *reload_userdata;
};

/* Opens s->leasing with what the server gives it (leasing.h): its own
 * store, audit and attestation context, the policy in force, and the
 * configuration's paths and limits. */
static inline int server_open_leasing(struct server *s) {
        const struct leasing_deps deps = {
                .store = s->store,
                .audit = s->audit,
                .attest = &s->attest,
                .policy = s->config->policy,
                .secrets_root = s->config->secrets_root,
                .runtime_dir = s->config->runtime_dir,
                .tmpfs_size = s->config->tmpfs_size,
        };

        return leasing_open(&deps, &s->leasing);
}

/* Gives a container peer the selectors its runtime recorded (cached). */
static inline int server_attach_selectors(struct server *s, struct peer *p) {
        const struct records_where w = {
                .docker_data_root = s->config->docker_data_root,
                .podman_storage_root = s->config->podman_storage_root,
        };

        return records_attach(s->records, &w, p);
}
