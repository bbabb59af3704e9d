/* daemon.h — what the running daemon holds, shared by its start-up
 * (main.c) and its loop (loop.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "listen.h"
#include "options.h"
#include "server.h"

/* Every secret is opened once after start-up, a slice per loop pass, so a
 * damaged one is reported without holding READY=1 back (opening 10,000
 * before it was a third of a cold start). */
struct store_scan {
        char **names;
        size_t n, next;
        unsigned damaged;
};

struct daemon_ctx {
        const struct options *options;
        struct server server;
        struct listeners listeners;
        struct http *http;
        gid_t *admin_gids;
        struct store_scan scan;
        size_t n_secrets; /* at start-up */
        int signal_fd;
        int watchdog_fd; /* -1: systemd wants no pings */
        struct etcd_watch *fleet; /* other hosts' changes (etcd); NULL without etcd */
};

/* Blocks the signals the loop handles and returns a signalfd for them. */
int loop_signals_open(void);
/* A timerfd firing every interval_usec, for the watchdog pings. */
int loop_watchdog_timer(uint64_t interval_usec);
/* Serves until a signal says stop: 0 then, else a logged -errno. */
int loop_run(struct daemon_ctx *d);
