/* bench-scale.c — scenarios 7 and 8: cold start with all the secrets and
 * leases (and how many leases it recovered), the daemon's memory, and a
 * thousand idle connections. */

#include "bench.h"

/* --- scenarios 7 and 8: cold start, memory ----------------------------------- */

static unsigned recovered_live(void) {
        FILE *f = fopen(P.log, "re");
        char line[1024];
        unsigned kept = 0;

        while (f && fgets(line, sizeof(line), f)) {
                char *p = strstr(line, "leases recovered: ");

                if (p)
                        kept = (unsigned) strtoul(p + 18, NULL, 10);
        }
        if (f)
                fclose(f);
        return kept;
}

void cold_start(unsigned n_secrets, unsigned n_leases) {
        struct series s = {}, cpu = {};
        struct summary sum;
        struct row *r;
        double hwm;
        char what[64];

        for (int rep = 0; rep < 3; rep++) {
                daemon_stop();
                series_add(&s, daemon_start(P.config) / 1e3);
                series_repeat(&s);
                series_add(&cpu, daemon_cpu_us());
                series_repeat(&cpu);
                if (recovered_live() != n_leases)
                        die("the daemon recovered %u leases, expected %u", recovered_live(), n_leases);
        }
        sum = series_summary(&s);
        snprintf(what, sizeof(what), "cold start, %uk secrets, %uk leases", n_secrets / 1000, n_leases / 1000);
        r = row_add(what, &sum);
        snprintf(r->limit, sizeof(r->limit), "500 ms");
        row_target(r, sum.p50 / 500e3, "<= 500 ms", sum.p50 <= 500e3);
        put("cold_start_ms", sum.p50 / 1e3);
        put("cold_start_p99_ms", sum.p99 / 1e3);
        put("cold_start_spread_pct", sum.spread);
        put("cold_start_leases", n_leases);
        put("cold_start_secrets", n_secrets);
        put("cold_start_cpu_ms", series_summary(&cpu).p50 / 1e3);
        printf("  daemon CPU %.0f ms to READY=1\n", series_summary(&cpu).p50 / 1e3);
        series_free(&s);
        series_free(&cpu);

        hwm = (double) proc_status_kb(G.daemon, "VmHWM") / 1024.0;
        snprintf(what, sizeof(what), "peak RSS, %uk secrets, %uk leases", n_secrets / 1000, n_leases / 1000);
        r = row_add(what, NULL);
        snprintf(r->p50, sizeof(r->p50), "%.1f MiB", hwm);
        snprintf(r->limit, sizeof(r->limit), "64 MiB");
        row_target(r, hwm / 64.0, "<= 64 MiB", hwm <= 64.0);
        put("rss_mib", hwm);
}

void idle_connections(void) {
        int *fds = xcalloc(IDLE_CONNECTIONS, sizeof(int));
        struct hconn *admin = hconn_open(P.admin);
        static char req[512];
        size_t req_len = build_request(req, sizeof(req), "GET", "/v1/status", NULL, "", 0, true);
        double before = (double) proc_status_kb(G.daemon, "VmRSS") / 1024.0, rss, hwm;
        char want[64];
        struct row *r;
        int i;

        for (i = 0; i < IDLE_CONNECTIONS; i++) {
                fds[i] = unix_connect(P.workload);
                if (fds[i] < 0)
                        die("idle connection %d: %s", i, strerror(-fds[i]));
        }
        /* the daemon has accepted (and attested) them all */
        snprintf(want, sizeof(want), "\"connections\":%d", IDLE_CONNECTIONS + 1);
        for (i = 0; i < 500; i++) {
                const char *body;
                size_t blen;

                if (http_exchange(admin, req, req_len, &body, &blen) != 200)
                        die("GET /v1/status failed");
                if (memmem(body, blen, want, strlen(want)))
                        break;
                usleep(10000);
        }
        if (i == 500)
                die("the daemon did not accept %d idle connections", IDLE_CONNECTIONS);
        rss = (double) proc_status_kb(G.daemon, "VmRSS") / 1024.0;
        hwm = (double) proc_status_kb(G.daemon, "VmHWM") / 1024.0;
        for (i = 0; i < IDLE_CONNECTIONS; i++)
                close(fds[i]);
        free(fds);
        hconn_close(admin);
        r = row_add("RSS with 1,000 idle connections", NULL);
        snprintf(r->p50, sizeof(r->p50), "%.1f MiB", rss);
        snprintf(r->p99, sizeof(r->p99), "%.1f MiB", hwm);
        snprintf(r->rate, sizeof(r->rate), "+%.1f MiB", rss - before);
        snprintf(r->limit, sizeof(r->limit), "64 MiB");
        row_target(r, hwm / 64.0, "<= 64 MiB", hwm <= 64.0);
        put("rss_idle_1000_mib", rss);
        put("rss_idle_1000_peak_mib", hwm);
        daemon_alive("idle connections");
}
