/* secretctl.h — what the client's command files share: the connection to
 * the daemon, replies, exit codes, value input and output helpers.
 *
 * Every command lives in its own cmd-<name>.c and exports one
 * `struct command`; secretctl.c holds the table. */
#pragma once

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "secretd/secret-set.h"
#include "secretd/cleanup.h"
#include "secretd/protocol.h" /* secret_name_valid(), lease_id_valid(), the routes */
#include "secretd/secbuf.h"

/* jansson provides json_decrefp() */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* The exit codes scripts branch on (DESIGN section 8). */
enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,
        EXIT_USAGE = 2,
        EXIT_DENIED = 3,
        EXIT_NOT_FOUND = 4,
        EXIT_CONFLICT = 5,
        EXIT_UNREACHABLE = 6,
};

struct ctl {
        const char *socket; /* the Unix socket every request goes to */
        bool socket_from_env; /* it came from $SECRETD_SOCKET (errors say so) */
        bool json;          /* --json: print the daemon's JSON as is */
        const char *command; /* for error messages */
        int fd;              /* the connection, kept open across requests; -1 */
        json_t *warned;      /* when set, the warnings already printed (each once) */
        const char *prog;    /* what messages begin with; NULL: "secretctl" */
        int timeout_sec;     /* for a reply; 0: transport.c's default */
};

struct reply {
        long status;
        uint64_t version;    /* X-Secret-Version, when the daemon sent one */
        struct secbuf *body; /* guarded: a GET of a secret brings its value */
};

struct command {
        const char *name;
        const char *args;    /* synopsis after the name */
        const char *summary; /* one line for the overview */
        const char *help;    /* the options, for `secretctl NAME --help` */
        int (*run)(struct ctl *c, int argc, char **argv);
};

/* What `lease --keep` keeps doing after the first lease (agent.c). */
struct keep_options {
        json_t *request; /* the body of the first POST /v1/leases */
        json_t *renew;   /* {"ttl": ...} or {} */
        char **argv;     /* the command after "--", NULL-terminated; or NULL */
};

extern const struct command cmd_put, cmd_get, cmd_rotate, cmd_rm, cmd_ls, cmd_info, cmd_lease, cmd_renew,
        cmd_revoke, cmd_leases, cmd_whoami, cmd_status, cmd_reload, cmd_watch;

/* secretctl.c — puts back, in a child about to exec, the limits the client
 * lowered for itself (no core files). */
void ctl_restore_limits(void);

/* agent.c — `lease --keep`.  agent_block_signals() comes before the first
 * lease (no signal is lost); agent_run() returns the agent's exit code. */
void agent_block_signals(sigset_t *ret_old);
int agent_run(struct ctl *c, const struct keep_options *opt, json_t *leases, const sigset_t *old_mask);

/* transport.c — HTTP/1.1 over the Unix socket, no library: the client
 * links libsodium, jansson and libc only, and builds static. */
int ctl_open(struct ctl *c);
void ctl_close(struct ctl *c);
void reply_done(struct reply *r);
/* Sends one request; *ret holds any status the daemon answered with.
 * Returns EXIT_OK when there was an answer, else prints why there was not
 * and returns EXIT_UNREACHABLE or EXIT_ERROR. */
int ctl_call(struct ctl *c, const char *method, const char *path, const void *body, size_t len,
             const char *content_type, struct reply *ret);
/* A JSON request whose answer must be 2xx JSON: returns EXIT_OK with
 * *ret_json set, or prints the failure and returns its exit code.  The
 * reply's "warnings" go to stderr as "secretctl: warning: TEXT".
 * body may be NULL (no body). */
int ctl_json(struct ctl *c, const char *method, const char *path, json_t *body, json_t **ret_json);
/* The shape of most commands: one JSON request, then either the daemon's
 * JSON (--json) or print(j) for humans.  Returns the exit code. */
int ctl_show(struct ctl *c, const char *method, const char *path, int (*print)(json_t *j));
/* Prints "secretctl: COMMAND: MESSAGE" from an error reply; returns the
 * exit code for its status. */
int reply_failed(const struct ctl *c, const struct reply *r);
int exit_code_for_status(long status);

/* args.c — command-line helpers. */
int usage_error(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks argv holds nothing but the command: EXIT_OK or a usage error. */
int no_args(const struct ctl *c, int argc);
/* Checks argv holds exactly one secret name (kind "name") or lease id
 * (kind "id"); EXIT_OK or a usage error. */
int one_arg(const struct ctl *c, int argc, char **argv, const char *kind);
/* Checks that argv, after the options getopt took (optind), holds exactly
 * one secret name and points *ret_name at it; EXIT_OK or a usage error
 * (with the grammar spelled out when grammar is set). */
int name_operand(const struct ctl *c, int argc, char **argv, bool grammar, const char **ret_name);
/* Checks a duration like "90s", "15m", "1h", "7d" and returns its seconds. */
int duration_arg(const struct ctl *c, const char *s, uint64_t *ret_sec);
/* Splits off "-- CMD..." before getopt sees it (GNU getopt would mix CMD's
 * words with the operands): *ret_cmd is CMD, or NULL without "--".  A "--"
 * with nothing after it is a usage error. */
int command_after_dashes(const struct ctl *c, int *argc, char **argv, char ***ret_cmd);
/* Parses a decimal count in [min, max]. */
int count_arg(const struct ctl *c, const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Reads a value from FILE ("-" or NULL: stdin).  On a terminal it prompts
 * on stderr and reads one line without echo.  At most max bytes. */
int read_value(const struct ctl *c, const char *file, const char *name, size_t max, struct secbuf **ret);

/* set-parts.c: --part NAME=FILE, collected (usage errors for a bad one,
 * a name given twice, standard input twice, more than a set holds), then
 * every FILE read and the set encoded into *ret. */
struct part_args {
        size_t n;
        const char *spec[SET_PARTS_MAX];
};
int part_arg(const struct ctl *c, struct part_args *pa, const char *spec);
int read_set(const struct ctl *c, const struct part_args *pa, const char *name, size_t max, struct secbuf **ret);

/* output.c — tables and JSON. */
void print_json(json_t *j);
/* A table: add rows of n_cols strings, then print aligned. */
struct table;
struct table *table_new(size_t n_cols, ...);
int table_add(struct table *t, ...);
void table_print(struct table *t, FILE *out);
struct table *table_free(struct table *t);
const char *json_str(json_t *o, const char *key);
long long json_int(json_t *o, const char *key);
void format_bytes(uint64_t n, char *buf, size_t len);
/* The lease table; with owner, an OWNER column (the lease's instance). */
int print_leases(json_t *leases, bool owner);
