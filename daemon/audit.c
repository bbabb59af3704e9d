/* audit.c — decisions to the journal and to a JSON-lines file.
 *
 * One write(2) per line on an O_APPEND fd, so lines from one daemon never
 * interleave and a crash leaves at most one short last line.  The journal
 * is reached with sd_journal_send() when its socket exists; otherwise the
 * sentence goes to stderr, which systemd or the terminal collects.
 *
 * Denials are what any local user can cause at will, so they are
 * summarized per identity: the first AUDIT_BURST denials of one identity
 * in a window of AUDIT_WINDOW_USEC are written one by one, the rest are
 * counted, and one "summary" record with the count follows when the
 * window has passed (at that identity's next record, or from
 * audit_flush()).  The per-identity state is a fixed table: a new identity
 * takes the slot whose window began earliest, whose count is written
 * first.  Allowed decisions and the daemon's own are never summarized. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "audit.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define AUDIT_BURST 10
#define AUDIT_WINDOW_USEC 1000000
#define AUDIT_IDENTITIES 64

/* One identity's denials in its current window. */
struct flood {
        char *identity;  /* NULL: free slot */
        uid_t uid;
        gid_t gid;
        pid_t pid;       /* of the last denial counted */
        enum runtime runtime;
        uint64_t window_usec;
        uint64_t written, counted; /* in this window */
};

struct audit {
        char *path;
        int fd;
        uint64_t events;
        uint64_t write_errors;
        struct flood floods[AUDIT_IDENTITIES];
};

static int audit_open_fd(const char *path) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = mkdir_parent(path, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int audit_open(const char *path, struct audit **ret) {
        struct audit *a;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->fd = -1;
        if (path && *path) {
                a->path = strdup(path);
                if (!a->path) {
                        free(a);
                        return -ENOMEM;
                }
                a->fd = audit_open_fd(path);
                if (a->fd < 0) {
                        int r = a->fd;
                        free(a->path);
                        free(a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

int audit_reopen(struct audit *a) {
        int fd;

        if (!a || !a->path)
                return 0;
        fd = audit_open_fd(a->path);
        if (fd < 0)
                return fd;
        safe_close(a->fd);
        a->fd = fd;
        return 0;
}

struct audit *audit_free(struct audit *a) {
        if (!a)
                return NULL;
        audit_flush(a, UINT64_MAX);
        safe_close(a->fd);
        free(a->path);
        free(a);
        return NULL;
}

void audit_freep(struct audit **a) {
        audit_free(*a);
}

uint64_t audit_write_errors(const struct audit *a) {
        return a ? a->write_errors : 0;
}

uint64_t audit_events(const struct audit *a) {
        return a ? a->events : 0;
}

static void set_str(json_t *o, const char *key, const char *v) {
        json_t *s;

        if (!v)
                return;
        /* jansson refuses invalid UTF-8; a name never has it, but a hostile
         * cgroup path might: keep the line, mark the field. */
        s = json_string(v);
        json_object_set_new(o, key, s ? s : json_string("(invalid utf-8)"));
}

static json_t *event_json(const struct audit_event *ev) {
        char ts[64], frac[16];
        struct timespec now;
        struct tm tm;
        json_t *o;

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(frac, sizeof(frac), ".%06dZ", (int) (now.tv_nsec / 1000) % 1000000);
        strncat(ts, frac, sizeof(ts) - strlen(ts) - 1);
        o = json_object();
        if (!o)
                return NULL;
        set_str(o, "time", ts);
        set_str(o, "action", ev->action);
        set_str(o, "decision", ev->allowed ? "allow" : "deny");
        if (ev->peer) {
                set_str(o, "identity", ev->peer->identity);
                json_object_set_new(o, "uid", json_integer(ev->peer->uid));
                json_object_set_new(o, "gid", json_integer(ev->peer->gid));
                json_object_set_new(o, "pid", json_integer(ev->peer->pid));
                set_str(o, "cgroup", ev->peer->cgroup);
                set_str(o, "runtime", runtime_to_string(ev->peer->cls.runtime));
        }
        set_str(o, "secret", ev->secret);
        set_str(o, "workload", ev->workload);
        set_str(o, "lease", ev->lease_id);
        if (ev->status)
                json_object_set_new(o, "status", json_integer(ev->status));
        if (ev->suppressed)
                json_object_set_new(o, "suppressed", json_integer((json_int_t) ev->suppressed));
        set_str(o, "instance", ev->instance);
        set_str(o, "signal", ev->signal);
        if (ev->signal)
                json_object_set_new(o, "target_pid", json_integer(ev->target_pid));
        set_str(o, "reason", ev->reason);
        return o;
}

static void audit_write_file(struct audit *a, const struct audit_event *ev) {
        _cleanup_free_ char *line = NULL;
        json_t *o = event_json(ev);
        size_t n;

        if (o)
                line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!line) {
                a->write_errors++;
                return;
        }
        n = strlen(line);
        line[n] = '\n'; /* json_dumps left room: its NUL becomes the newline */
        if (write(a->fd, line, n + 1) != (ssize_t) (n + 1))
                a->write_errors++;
}

static bool journal_available(void) {
        const char *sock = getenv("SECRETD_JOURNAL_SOCKET");

        return access(sock ? sock : JOURNAL_SOCKET, W_OK) == 0;
}

/* One readable sentence; names in single quotes. */
static void event_sentence(const struct audit_event *ev, char *buf, size_t len) {
        snprintf(buf, len, "%s %s%s%s%s by %s%s%s%s", ev->allowed ? "allowed" : "denied", ev->action,
                 ev->secret ? " of '" : "", ev->secret ? ev->secret : "", ev->secret ? "'" : "",
                 ev->peer ? ev->peer->identity : "secretd", ev->workload ? " (workload '" : "",
                 ev->workload ? ev->workload : "", ev->workload ? "')" : "");
        if (ev->reason)
                snprintf(buf + strlen(buf), len - strlen(buf), ": %s", ev->reason);
}

static void audit_emit(struct audit *a, const struct audit_event *ev) {
        char msg[512];

        if (a) {
                a->events++;
                if (a->fd >= 0)
                        audit_write_file(a, ev);
        }
        event_sentence(ev, msg, sizeof(msg));
        if (!journal_available()) {
                fprintf(stderr, "audit: %s\n", msg);
                return;
        }
        (void) sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", ev->allowed ? 6 : 5,
                               "SYSLOG_IDENTIFIER=secretd", "SECRETD_ACTION=%s", ev->action,
                               "SECRETD_DECISION=%s", ev->allowed ? "allow" : "deny",
                               "SECRET_NAME=%s", ev->secret ? ev->secret : "",
                               "WORKLOAD=%s", ev->workload ? ev->workload : "",
                               "IDENTITY=%s", ev->peer ? ev->peer->identity : "secretd",
                               "PEER_UID=%d", ev->peer ? (int) ev->peer->uid : -1,
                               "PEER_PID=%d", ev->peer ? (int) ev->peer->pid : 0,
                               "CGROUP=%s", ev->peer && ev->peer->cgroup ? ev->peer->cgroup : "",
                               "LEASE_ID=%s", ev->lease_id ? ev->lease_id : "", NULL);
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Writes the count of the slot's window, if it has one. */
static void flood_summarize(struct audit *a, struct flood *f) {
        char reason[128];
        struct peer who = {
                .pid = f->pid, .uid = f->uid, .gid = f->gid, .pidfd = -1, .identity = f->identity,
                .cls.runtime = f->runtime,
        };

        if (f->counted == 0)
                return;
        snprintf(reason, sizeof(reason), "%" PRIu64 " more denials within %d ms were not written one by one",
                 f->counted, AUDIT_WINDOW_USEC / 1000);
        audit_emit(a, &(struct audit_event) {
                .action = "summary", .allowed = false, .peer = &who, .reason = reason, .suppressed = f->counted,
        });
        f->counted = 0;
}

static void flood_drop(struct audit *a, struct flood *f) {
        flood_summarize(a, f);
        free(f->identity);
        *f = (struct flood) {};
}

/* The slot of this identity; else a free one, else the one whose window
 * began earliest (its count written first).  NULL only without memory. */
static struct flood *flood_slot(struct audit *a, const struct peer *p, uint64_t now) {
        struct flood *oldest = &a->floods[0];

        for (size_t i = 0; i < AUDIT_IDENTITIES; i++) {
                struct flood *f = &a->floods[i];

                if (f->identity && strcmp(f->identity, p->identity) == 0)
                        return f;
                if (oldest->identity && (!f->identity || f->window_usec < oldest->window_usec))
                        oldest = f;
        }
        flood_drop(a, oldest);
        oldest->identity = strdup(p->identity);
        oldest->window_usec = now;
        return oldest->identity ? oldest : NULL;
}

/* Whether this denial is written (true) or only counted (false). */
static bool flood_admit(struct audit *a, const struct audit_event *ev, uint64_t now) {
        struct flood *f = flood_slot(a, ev->peer, now);

        if (!f)
                return true; /* out of memory: rather a line too many than none */
        if (now - f->window_usec >= AUDIT_WINDOW_USEC) {
                flood_summarize(a, f); /* the old window's count before this record */
                f->window_usec = now;
                f->written = 0;
        }
        f->uid = ev->peer->uid;
        f->gid = ev->peer->gid;
        f->pid = ev->peer->pid;
        f->runtime = ev->peer->cls.runtime;
        if (f->written < AUDIT_BURST) {
                f->written++;
                return true;
        }
        f->counted++;
        return false;
}

void audit_record(struct audit *a, const struct audit_event *ev) {
        if (a && !ev->allowed && ev->peer && ev->peer->identity && !flood_admit(a, ev, mono_usec()))
                return;
        audit_emit(a, ev);
}

void audit_flush(struct audit *a, uint64_t now_usec) {
        if (!a)
                return;
        if (now_usec == 0)
                now_usec = mono_usec();
        for (size_t i = 0; i < AUDIT_IDENTITIES; i++) {
                struct flood *f = &a->floods[i];

                if (f->identity && (now_usec == UINT64_MAX || now_usec - f->window_usec >= AUDIT_WINDOW_USEC))
                        flood_drop(a, f);
        }
}

int audit_next_flush_ms(const struct audit *a) {
        uint64_t now = mono_usec();
        int best = -1;

        for (size_t i = 0; a && i < AUDIT_IDENTITIES; i++) {
                const struct flood *f = &a->floods[i];
                uint64_t end = f->window_usec + AUDIT_WINDOW_USEC;
                int ms;

                if (!f->identity || f->counted == 0)
                        continue;
                ms = end <= now ? 0 : (int) ((end - now + 999) / 1000);
                if (best < 0 || ms < best)
                        best = ms;
        }
        return best;
}
