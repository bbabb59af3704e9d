/* audit.h — the decision stream: who asked for what, and what they got.
 *
 * Separate from diagnostics (log.h).  Each event goes to the journal with
 * structured fields when a journal is there (else one line on stderr), and
 * to an append-only JSON-lines file when one is configured.  An event never
 * carries a secret value: there is no field for one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct peer;
struct audit;

struct audit_event {
        const char *action;      /* "read", "create", "rotate", "delete", "lease", … */
        bool allowed;
        const struct peer *peer; /* NULL for the daemon's own actions (expiry) */
        const char *secret;      /* NULL when none */
        const char *workload;    /* matched workload, or NULL */
        const char *lease_id;    /* or NULL */
        int status;              /* HTTP status, 0 when none */
        const char *reason;      /* short why, or NULL; never a value */
        uint64_t suppressed;     /* summary records: how many denials it stands for */
        /* an on_rotate: the instance, the signal and the pid it reached
         * (0: no one) */
        const char *instance;
        const char *signal;
        int target_pid;
};

/* path NULL or "": no audit file.  Creates the file's directory (0700) and
 * the file (0600, O_APPEND); an existing file's mode is narrowed to 0600. */
int audit_open(const char *path, struct audit **ret);
/* Re-opens the file (after logrotate moved it); keeps the old fd on failure. */
int audit_reopen(struct audit *a);
struct audit *audit_free(struct audit *a);
void audit_freep(struct audit **a);
/* Records one event; a failed write is counted, never fatal.  a may be NULL
 * (then only the journal/stderr line is written, and nothing is
 * summarized).  A denial past the first few of its identity in a window
 * is only counted (see audit.c). */
void audit_record(struct audit *a, const struct audit_event *ev);
/* Writes the summary of every window that has ended by now_usec
 * (CLOCK_MONOTONIC; 0: now; UINT64_MAX: every window, as at exit). */
void audit_flush(struct audit *a, uint64_t now_usec);
/* Milliseconds until a summary is due; -1 when none is pending. */
int audit_next_flush_ms(const struct audit *a);
uint64_t audit_write_errors(const struct audit *a);
uint64_t audit_events(const struct audit *a);
