/* metrics.c — counters and histogram (see metrics.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Seconds; a lease on this machine takes tens of microseconds, a rotation
 * to many leases milliseconds. */
static const double bucket_bounds[METRICS_BUCKETS] = {
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
};

void metrics_request(struct metrics *m, const char *route, unsigned status, uint64_t usec) {
        struct metrics_route *r = NULL;
        double s = (double) usec / 1e6;
        size_t b;

        for (size_t i = 0; i < m->n_routes; i++)
                if (m->routes[i].route == route || strcmp(m->routes[i].route, route) == 0) {
                        r = &m->routes[i];
                        break;
                }
        if (!r && m->n_routes < METRICS_ROUTES_MAX) {
                r = &m->routes[m->n_routes++];
                r->route = route;
        }
        if (r)
                r->by_class[status / 100 < 6 ? status / 100 : 0]++;
        if (status == 403)
                m->denials++;
        for (b = 0; b < METRICS_BUCKETS && s > bucket_bounds[b]; b++)
                ;
        m->latency_buckets[b]++;
        m->latency_count++;
        m->latency_sum_s += s;
}

int metrics_render(const struct metrics *m, const struct metrics_gauges *g, char **ret) {
        static const char *const classes[6] = { "refused", "1xx", "2xx", "3xx", "4xx", "5xx" };
        char *buf = NULL;
        size_t len = 0;
        uint64_t cum = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("# HELP secretd_requests_total API requests by route and status class.\n"
              "# TYPE secretd_requests_total counter\n", f);
        for (size_t i = 0; i < m->n_routes; i++)
                for (size_t c = 0; c < 6; c++)
                        if (m->routes[i].by_class[c])
                                fprintf(f, "secretd_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                                        m->routes[i].route, classes[c],
                                        (unsigned long long) m->routes[i].by_class[c]);
        fprintf(f, "# HELP secretd_denials_total Requests refused by policy (403).\n"
                   "# TYPE secretd_denials_total counter\n"
                   "secretd_denials_total %llu\n", (unsigned long long) m->denials);
        fprintf(f, "# HELP secretd_refused_connections_total Connections whose peer could not be attested.\n"
                   "# TYPE secretd_refused_connections_total counter\n"
                   "secretd_refused_connections_total %llu\n", (unsigned long long) m->refused_connections);
        fputs("# HELP secretd_request_duration_seconds Time from a complete request to its response.\n"
              "# TYPE secretd_request_duration_seconds histogram\n", f);
        for (size_t b = 0; b < METRICS_BUCKETS; b++) {
                cum += m->latency_buckets[b];
                fprintf(f, "secretd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_bounds[b],
                        (unsigned long long) cum);
        }
        fprintf(f, "secretd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "secretd_request_duration_seconds_sum %.6f\n"
                   "secretd_request_duration_seconds_count %llu\n",
                (unsigned long long) m->latency_count, m->latency_sum_s, (unsigned long long) m->latency_count);
        fprintf(f, "# HELP secretd_secrets Secrets in the store.\n# TYPE secretd_secrets gauge\n"
                   "secretd_secrets %zu\n"
                   "# HELP secretd_connections Open API connections.\n# TYPE secretd_connections gauge\n"
                   "secretd_connections %u\n"
                   "# HELP secretd_uptime_seconds Seconds since start.\n# TYPE secretd_uptime_seconds gauge\n"
                   "secretd_uptime_seconds %.0f\n"
                   "# HELP secretd_backend_reachable Whether the store (etcd) answered the last call.\n"
                   "# TYPE secretd_backend_reachable gauge\n"
                   "secretd_backend_reachable %d\n"
                   "# HELP secretd_backend_cut_off_seconds Seconds the store has been out of reach.\n"
                   "# TYPE secretd_backend_cut_off_seconds gauge\n"
                   "secretd_backend_cut_off_seconds %.0f\n",
                g->secrets, g->connections, g->uptime_s, g->backend_reachable ? 1 : 0, g->backend_cut_off_s);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
