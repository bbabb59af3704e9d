/* bench-stats.c — the figures of `make bench`: series of samples with
 * per-repeat medians, their summary (p50, p99, spread of the repeats),
 * the table's rows and the JSON figures that report() in bench.c prints. */

#include "bench.h"

/* --- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p) {
        size_t k;

        if (n == 0)
                return NAN;
        qsort(v, n, sizeof(*v), cmp_double);
        k = (size_t) ceil(p / 100.0 * (double) n);
        return v[k ? k - 1 : 0];
}

void series_add(struct series *s, double x) {
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4096;
                s->v = realloc(s->v, s->cap * sizeof(double));
                if (!s->v)
                        die("out of memory");
        }
        s->v[s->n++] = x;
}

/* Closes a repeat: its median joins the spread. */
void series_repeat(struct series *s) {
        size_t n = s->n - s->rep_start;
        double *copy;

        if (n == 0 || s->n_rep == ELEMENTSOF(s->rep_med))
                return;
        copy = xcalloc(n, sizeof(double));
        memcpy(copy, s->v + s->rep_start, n * sizeof(double));
        s->rep_med[s->n_rep++] = percentile(copy, n, 50);
        free(copy);
        s->rep_start = s->n;
}

struct summary series_summary(struct series *s) {
        struct summary r = {};
        double lo = INFINITY, hi = -INFINITY, meds[64];

        if (s->rep_start < s->n)
                series_repeat(s);
        r.p50 = percentile(s->v, s->n, 50);
        r.p99 = percentile(s->v, s->n, 99);
        for (unsigned i = 0; i < s->n_rep; i++) {
                lo = fmin(lo, s->rep_med[i]);
                hi = fmax(hi, s->rep_med[i]);
                meds[i] = s->rep_med[i];
        }
        r.spread = s->n_rep > 1 ? (hi - lo) / percentile(meds, s->n_rep, 50) * 100.0 : 0;
        return r;
}

void series_free(struct series *s) {
        free(s->v);
        *s = (struct series) {};
}

/* --- report -------------------------------------------------------------- */

struct kv json_kv[160];
size_t n_json;

void put(const char *key, double value) {
        if (n_json == ELEMENTSOF(json_kv))
                die("too many figures");
        snprintf(json_kv[n_json].key, sizeof(json_kv[n_json].key), "%s", key);
        json_kv[n_json++].value = value;
}

struct row rows[40];
size_t n_rows;

void fmt_time(char *buf, size_t len, double us) {
        if (isnan(us))
                snprintf(buf, len, "-");
        else if (us >= 1e6)
                snprintf(buf, len, "%.2f s", us / 1e6);
        else if (us >= 1e3)
                snprintf(buf, len, "%.2f ms", us / 1e3);
        else
                snprintf(buf, len, "%.1f us", us);
}

struct row *row_add(const char *what, const struct summary *s) {
        struct row *r;

        if (n_rows == ELEMENTSOF(rows))
                die("too many rows");
        r = &rows[n_rows++];
        *r = (struct row) { .verdict = "" };
        snprintf(r->what, sizeof(r->what), "%s", what);
        if (s) {
                fmt_time(r->p50, sizeof(r->p50), s->p50);
                fmt_time(r->p99, sizeof(r->p99), s->p99);
                snprintf(r->spread, sizeof(r->spread), "%.0f%%", s->spread);
        }
        return r;
}

void row_target(struct row *r, double ratio, const char *target, bool met) {
        snprintf(r->ratio, sizeof(r->ratio), "%.2fx", ratio);
        snprintf(r->target, sizeof(r->target), "%s", target);
        r->verdict = met ? "met" : "MISSED";
}
