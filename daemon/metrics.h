/* metrics.h — request counters and a latency histogram, rendered in the
 * Prometheus text format for GET /metrics.  Plain counters: one thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX 32
#define METRICS_BUCKETS 12

struct metrics_route {
        const char *route;        /* static string, e.g. "GET /v1/secrets/{name}" */
        uint64_t by_class[6];     /* status classes 0xx (refused), 1xx..5xx */
};

struct metrics {
        struct metrics_route routes[METRICS_ROUTES_MAX];
        size_t n_routes;
        uint64_t denials;
        uint64_t refused_connections;
        uint64_t latency_buckets[METRICS_BUCKETS + 1]; /* last: +Inf */
        uint64_t latency_count;
        double latency_sum_s;
};

/* route must be a string that outlives the metrics (a literal). */
void metrics_request(struct metrics *m, const char *route, unsigned status, uint64_t usec);
/* What is read at the time of a scrape rather than counted. */
struct metrics_gauges {
        size_t secrets;
        unsigned connections;
        double uptime_s;
        bool backend_reachable;
        double backend_cut_off_s; /* seconds out of reach (0 when reachable) */
};
/* Renders everything plus the given gauges; ret is malloc'd. */
int metrics_render(const struct metrics *m, const struct metrics_gauges *g, char **ret);
