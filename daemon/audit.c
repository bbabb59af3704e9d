/* audit.c — decisions to the journal and to a JSON-lines file.
 *
 * One write(2) per line on an O_APPEND fd, so lines from one daemon never
 * interleave and a crash leaves at most one short last line.  The journal
 * is reached with sd_journal_send() when its socket exists; otherwise the
 * sentence goes to stderr, which systemd or the terminal collects. */
#include <errno.h>
#include <fcntl.h>
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

struct audit {
        char *path;
        int fd;
        uint64_t events;
        uint64_t write_errors;
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

void audit_record(struct audit *a, const struct audit_event *ev) {
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
