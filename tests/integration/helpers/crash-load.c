/* crash-load.c — kill -9 secretd at random moments under a mixed load of
 * creates, rotates, deletes, leases (from containers) and expiries, and
 * after every restart check what survived against a model of what was
 * acknowledged.
 *
 * Usage: crash-load SECRETD CONFIG DIR ROUNDS SEED CGROUP...
 *   DIR     the test directory laid out by lib.sh write_config
 *           (run/admin.sock, run/workload.sock, run/leases, secrets, state)
 *   CGROUP  a populated container cgroup directory (…/docker-<id>.scope);
 *           lease requests come from a child that moves itself into it
 *
 * What may be seen for a write that was in flight when the daemon died
 * (sent, but no complete reply): the old value at the old version, or the
 * new value at the next version — byte for byte one of the two, never
 * anything else; for a delete, the old value or no secret (and then none
 * of its leases).  An acknowledged write (201/200 received) must be there.
 * For leases: an acknowledged lease whose earliest possible deadline is
 * still ahead must be listed, with its id; a listed lease must be one we
 * asked for, not past its latest possible deadline; and every file,
 * directory, mount and record under the daemon's roots must belong to a
 * listed lease (or to one that may have expired during the check) and hold
 * the secret's current value.
 *
 * Prints a summary line; exits 1 with a reason on the first violation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_NAMES 40
#define MAX_CT 8
#define VALUE_MAX 3000
#define RESP_MAX (256 * 1024)
#define SEC 1000000LL
/* A lease "may have expired" within this much of its bounds: the timer
 * fires late on a loaded machine (and under sanitizers), and our clock
 * reads only bracket the daemon's. */
#define SLACK (3 * SEC)

static const char *secretd, *config, *dir;
static char admin_sock[4096], workload_sock[4096], secrets_root[4096], records_dir[4096], state_dir[4096];
static char log_path[4200], prev_log_path[4200];
static pid_t daemon_pid = -1;
static int round_no;

static struct {
        char cgroup[4096];
        char instance[128]; /* docker-<id> */
} ct[MAX_CT];
static int n_ct;

struct value {
        uint8_t *data;
        size_t len;
};

static struct secret {
        bool exists;       /* an acknowledged create */
        bool maybe;        /* a create whose outcome is unknown */
        struct value v;    /* acknowledged value */
        uint64_t version;
        bool has_pending;  /* a write whose outcome is unknown */
        struct value pending;
        bool maybe_deleted; /* a delete whose outcome is unknown */
} sec[N_NAMES];

/* One (container, secret) pair: the lease the daemon may hold for it. */
static struct mlease {
        bool any;          /* ever asked for */
        bool acked;        /* an acknowledged grant, possibly expired since */
        char id[64];
        int64_t lo, hi;    /* bounds of its deadline */
} ml[MAX_CT][N_NAMES];

static struct {
        unsigned creates, deletes, rotates, leases, reads, unknown, pending_new, pending_old, startup_kills;
        unsigned files, leases_checked, expired_seen;
} stats;

static void stop_daemon(void) {
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGKILL);
                waitpid(daemon_pid, NULL, 0);
                daemon_pid = -1;
        }
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "crash-load: round %d: ", round_no);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        stop_daemon();
        exit(1);
}

static int64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * SEC + ts.tv_nsec / 1000;
}

static void sleep_usec(int64_t us) {
        struct timespec ts = { .tv_sec = us / SEC, .tv_nsec = (us % SEC) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static const char *name_of(int i) {
        static char buf[N_NAMES][16];

        snprintf(buf[i], sizeof(buf[i]), "s%02d", i);
        return buf[i];
}

static void random_value(struct value *v) {
        v->len = 1 + (size_t) (random() % VALUE_MAX);
        v->data = malloc(v->len);
        if (!v->data)
                fail("out of memory");
        for (size_t i = 0; i < v->len; i++)
                v->data[i] = (uint8_t) random(); /* binary: NULs and all */
}

static bool value_eq(const struct value *v, const uint8_t *data, size_t len) {
        return v->data && v->len == len && memcmp(v->data, data, len) == 0;
}

/* Names here are short; a long one is a finding, not something to cut. */
static void copy(char *dst, size_t len, const char *src) {
        if (strlen(src) >= len)
                fail("name too long: %.100s", src);
        strcpy(dst, src);
}

/* --- HTTP over a Unix socket ------------------------------------------------ */

struct resp {
        int status;
        long version;          /* X-Secret-Version, or -1 */
        char *body;            /* NUL-terminated (values may hold NULs too) */
        size_t len;
};

/* One request on a fresh connection.  -1 when there is no complete reply
 * (the daemon is gone): the outcome is unknown. */
static int http(const char *sock, const char *method, const char *path, const char *ctype, const void *body,
                size_t blen, struct resp *r) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static char buf[RESP_MAX + 1];
        char head[1024], *p, *eoh;
        size_t got = 0;
        ssize_t n;
        long clen = -1;
        int fd, hl;

        memset(r, 0, sizeof(*r));
        r->version = -1;
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                fail("socket: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        hl = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: secretd\r\nConnection: close\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", blen);
        if (send(fd, head, (size_t) hl, MSG_NOSIGNAL) != hl ||
            (blen > 0 && send(fd, body, blen, MSG_NOSIGNAL) != (ssize_t) blen)) {
                close(fd);
                return -1;
        }
        while (got < RESP_MAX && (n = read(fd, buf + got, RESP_MAX - got)) > 0)
                got += (size_t) n;
        close(fd);
        buf[got] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
        if (got < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0 || !eoh)
                return -1;
        r->status = atoi(buf + 9);
        *eoh = '\0';
        for (p = strstr(buf, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
                if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                        clen = atol(p + 17);
                else if (strncasecmp(p + 2, "X-Secret-Version:", 17) == 0)
                        r->version = atol(p + 19);
        }
        r->body = eoh + 4;
        r->len = got - (size_t) (r->body - buf);
        if (clen < 0 || (size_t) clen != r->len)
                return -1; /* cut short: not an acknowledgement */
        return r->status;
}

/* A lease request from inside container c: a child joins its cgroup and
 * asks; the reply comes back through a pipe. */
static int lease_from(int c, const char *json, struct resp *r) {
        static char out[RESP_MAX + 1];
        size_t got = 0;
        int p[2], status, st;
        ssize_t n;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                fail("pipe: %m");
        pid = fork();
        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                char path[4200];
                int fd;

                close(p[0]);
                snprintf(path, sizeof(path), "%s/cgroup.procs", ct[c].cgroup);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(3);
                close(fd);
                st = http(workload_sock, "POST", "/v1/leases", "application/json", json, strlen(json), r);
                if (write(p[1], &st, sizeof(st)) != sizeof(st) ||
                    (st > 0 && write(p[1], r->body, r->len) != (ssize_t) r->len))
                        _exit(4);
                _exit(0);
        }
        close(p[1]);
        while (got < RESP_MAX && (n = read(p[0], out + got, RESP_MAX - got)) > 0)
                got += (size_t) n;
        close(p[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail("lease child for container %d failed (status %d)", c, status);
        if (got < sizeof(int))
                fail("lease child said nothing");
        memcpy(&st, out, sizeof(int));
        out[got] = '\0';
        memset(r, 0, sizeof(*r));
        r->status = st;
        r->body = out + sizeof(int);
        r->len = got - sizeof(int);
        return st;
}

/* --- tiny JSON field access (the daemon answers compact JSON) ------------ */

/* The string value of "key" in [p, end), copied into buf; false if absent. */
static bool jstr(const char *p, const char *end, const char *key, char *buf, size_t len) {
        char pat[64];
        const char *s, *e;

        snprintf(pat, sizeof(pat), "\"%s\":\"", key);
        s = strstr(p, pat);
        if (!s || s >= end)
                return false;
        s += strlen(pat);
        e = strchr(s, '"');
        if (!e || e >= end || (size_t) (e - s) >= len)
                return false;
        memcpy(buf, s, (size_t) (e - s));
        buf[e - s] = '\0';
        return true;
}

static long jint(const char *p, const char *end, const char *key) {
        char pat[64];
        const char *s;

        snprintf(pat, sizeof(pat), "\"%s\":", key);
        s = strstr(p, pat);
        if (!s || s >= end)
                return -1;
        return atol(s + strlen(pat));
}

static int name_index(const char *name) {
        for (int i = 0; i < N_NAMES; i++)
                if (strcmp(name, name_of(i)) == 0)
                        return i;
        return -1;
}

static int ct_index(const char *instance) {
        for (int i = 0; i < n_ct; i++)
                if (strcmp(instance, ct[i].instance) == 0)
                        return i;
        return -1;
}

/* --- the daemon ----------------------------------------------------------- */

static void spawn_daemon(void) {
        int fd;

        (void) rename(log_path, prev_log_path);
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                fail("open %s: %m", log_path);
        daemon_pid = fork();
        if (daemon_pid < 0)
                fail("fork: %m");
        if (daemon_pid == 0) {
                int null = open("/dev/null", O_RDWR);

                dup2(null, 0);
                dup2(null, 1);
                dup2(fd, 2);
                execl(secretd, secretd, "--config", config, (char *) NULL);
                _exit(127);
        }
        close(fd);
}

static void wait_ready(void) {
        struct resp r;
        int status;

        for (int i = 0; i < 20000; i++) {
                if (http(admin_sock, "GET", "/v1/health", NULL, NULL, 0, &r) == 200)
                        return;
                if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
                        daemon_pid = -1;
                        fail("daemon exited during start-up (status 0x%x); see daemon.log", status);
                }
                sleep_usec(1000);
        }
        fail("daemon not ready after 20 s");
}

/* The killer sleeps, then kill -9; we reap both.  Anything but SIGKILL is
 * the daemon dying on its own. */
static pid_t start_killer(int64_t delay) {
        pid_t pid = fork();

        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                sleep_usec(delay);
                kill(daemon_pid, SIGKILL);
                _exit(0);
        }
        return pid;
}

static void reap(pid_t killer, bool startup) {
        int status;

        waitpid(killer, NULL, 0);
        if (waitpid(daemon_pid, &status, 0) != daemon_pid)
                fail("waitpid: %m");
        daemon_pid = -1;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                return;
        /* a start-up kill may come after a start-up that failed by itself */
        fail("daemon died on its own%s: %s %d; see daemon.log", startup ? " during start-up" : "",
             WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* --- load ------------------------------------------------------------------ */

static int pick(bool (*ok)(int)) {
        int start = (int) (random() % N_NAMES);

        for (int k = 0; k < N_NAMES; k++) {
                int i = (start + k) % N_NAMES;
                if (ok(i))
                        return i;
        }
        return -1;
}

static bool is_free(int i) {
        return !sec[i].exists && !sec[i].maybe;
}

static bool is_settled(int i) {
        return sec[i].exists && !sec[i].has_pending && !sec[i].maybe_deleted;
}

/* The secret is gone, and with it every lease of it. */
static void forget(int i) {
        free(sec[i].v.data);
        free(sec[i].pending.data);
        sec[i] = (struct secret) {};
        for (int c = 0; c < n_ct; c++)
                ml[c][i] = (struct mlease) {};
}

/* Each op returns false when the daemon went away mid-request. */
static bool op_create(void) {
        int i = pick(is_free);
        char path[64];
        struct value v;
        struct resp r;
        int st;

        if (i < 0)
                return true;
        random_value(&v);
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "PUT", path, "application/octet-stream", v.data, v.len, &r);
        if (st < 0) {
                sec[i].maybe = true;
                sec[i].has_pending = true;
                sec[i].pending = v;
                return false;
        }
        if (st != 201)
                fail("PUT %s: status %d: %.300s", name_of(i), st, r.body);
        sec[i].exists = true;
        sec[i].v = v;
        sec[i].version = 1;
        stats.creates++;
        return true;
}

static bool op_rotate(void) {
        int i = pick(is_settled);
        char path[64];
        struct value v;
        struct resp r;
        int st;

        if (i < 0)
                return true;
        random_value(&v);
        snprintf(path, sizeof(path), "/v1/secrets/%s/rotate", name_of(i));
        st = http(admin_sock, "POST", path, "application/octet-stream", v.data, v.len, &r);
        if (st < 0) {
                sec[i].has_pending = true;
                sec[i].pending = v;
                return false;
        }
        if (st != 200 || jint(r.body, r.body + r.len, "version") != (long) sec[i].version + 1)
                fail("rotate %s: status %d: %.300s", name_of(i), st, r.body);
        free(sec[i].v.data);
        sec[i].v = v;
        sec[i].version++;
        stats.rotates++;
        return true;
}

static bool op_delete(void) {
        int i = pick(is_settled);
        char path[64];
        struct resp r;
        int st;

        if (i < 0)
                return true;
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "DELETE", path, NULL, NULL, 0, &r);
        if (st < 0) {
                sec[i].maybe_deleted = true;
                return false;
        }
        if (st != 200)
                fail("DELETE %s: status %d: %.300s", name_of(i), st, r.body);
        forget(i);
        stats.deletes++;
        return true;
}

static bool op_read(void) {
        int i = pick(is_settled);
        char path[64];
        struct resp r;
        int st;

        if (i < 0)
                return true;
        snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
        st = http(admin_sock, "GET", path, NULL, NULL, 0, &r);
        if (st < 0)
                return false;
        if (st != 200 || !value_eq(&sec[i].v, (const uint8_t *) r.body, r.len) || r.version != (long) sec[i].version)
                fail("GET %s: status %d, version %ld (want %lu), value %s", name_of(i), st, r.version,
                     (unsigned long) sec[i].version, st == 200 ? "differs" : r.body);
        stats.reads++;
        return true;
}

static bool op_lease(void) {
        int c = (int) (random() % n_ct), want = 1 + (int) (random() % 3), idx[3], n = 0;
        int ttl = random() % 5 < 3 ? 1 + (int) (random() % 3) : 3600;
        char json[512];
        size_t off;
        int64_t t0, t1;
        struct resp r;
        int st;

        for (int k = 0; k < want; k++) {
                int i = pick(is_settled);
                bool dup = false;

                for (int j = 0; j < n; j++)
                        dup = dup || idx[j] == i;
                if (i >= 0 && !dup)
                        idx[n++] = i;
        }
        if (n == 0)
                return true;
        off = (size_t) snprintf(json, sizeof(json), "{\"ttl\":\"%ds\",\"secrets\":[", ttl);
        for (int j = 0; j < n; j++)
                off += (size_t) snprintf(json + off, sizeof(json) - off, "%s\"%s\"", j ? "," : "", name_of(idx[j]));
        snprintf(json + off, sizeof(json) - off, "]}");
        t0 = now_usec();
        st = lease_from(c, json, &r);
        t1 = now_usec();
        for (int j = 0; j < n; j++) {
                struct mlease *m = &ml[c][idx[j]];

                if (st < 0) {
                        /* may or may not have happened; a re-grant may shorten */
                        m->lo = m->any ? (m->lo < t0 + ttl * SEC ? m->lo : t0 + ttl * SEC) : t0 + ttl * SEC;
                        m->hi = m->any ? (m->hi > t1 + ttl * SEC ? m->hi : t1 + ttl * SEC) : t1 + ttl * SEC;
                        m->any = true;
                        continue;
                }
                if (st != 201)
                        fail("lease %s from container %d: status %d: %.300s", json, c, st, r.body);
                m->any = m->acked = true;
                m->lo = t0 + ttl * SEC;
                m->hi = t1 + ttl * SEC;
                /* the reply's lease objects are in request order */
        }
        if (st < 0)
                return false;
        {
                const char *p = r.body, *end = r.body + r.len;
                int j = 0;

                while ((p = strstr(p, "{\"id\":\"")) && j < n) {
                        const char *e = strchr(p, '}');
                        char secret[64];

                        if (!e || !jstr(p, e, "id", ml[c][idx[j]].id, sizeof(ml[c][idx[j]].id)) ||
                            !jstr(p, e, "secret", secret, sizeof(secret)) || strcmp(secret, name_of(idx[j])) != 0)
                                fail("lease reply does not list %s in order: %.300s", name_of(idx[j]), r.body);
                        p = e;
                        j++;
                }
                if (j != n || p > end)
                        fail("lease reply has %d leases for %d secrets: %.300s", j, n, r.body);
        }
        stats.leases++;
        return true;
}

/* Runs requests until the daemon is gone. */
static void load(void) {
        for (;;) {
                long x = random() % 100;
                bool ok;

                if (x < 12)
                        ok = op_create();
                else if (x < 17)
                        ok = op_delete();
                else if (x < 45)
                        ok = op_rotate();
                else if (x < 55)
                        ok = op_read();
                else
                        ok = op_lease();
                if (!ok) {
                        stats.unknown++;
                        return;
                }
        }
}

/* --- checks after a restart ------------------------------------------------ */

struct entry {
        char inst[128], file[256];
        struct value content;
        bool seen;
};

static struct entry files[4096];
static int n_files;
static char dirs[64][256];
static int n_dirs;
static char mounts[64][256];
static int n_mounts;
static char records[1024][128];
static int n_records;

static struct value read_file(int dfd, const char *name) {
        struct value v = {};
        uint8_t buf[VALUE_MAX + 16];
        ssize_t n;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return v;
        n = read(fd, buf, sizeof(buf));
        close(fd);
        if (n < 0)
                return v;
        v.len = (size_t) n;
        v.data = malloc(v.len + 1);
        if (!v.data)
                fail("out of memory");
        memcpy(v.data, buf, v.len);
        return v;
}

/* Everything on disk, before the lease list: between the two, leases can
 * only go (expire), never come, since no requests run meanwhile. */
static void snapshot(void) {
        DIR *root, *d;
        struct dirent *de, *fe;
        char line[8192];
        FILE *f;

        for (int i = 0; i < n_files; i++)
                free(files[i].content.data);
        n_files = n_dirs = n_mounts = n_records = 0;
        root = opendir(secrets_root);
        if (!root)
                fail("opendir %s: %m", secrets_root);
        while ((de = readdir(root))) {
                int dfd;

                if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
                        continue;
                if (n_dirs == 64)
                        fail("too many directories under %s", secrets_root);
                copy(dirs[n_dirs++], sizeof(dirs[0]), de->d_name);
                dfd = openat(dirfd(root), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        fail("%s/%s is not a directory", secrets_root, de->d_name);
                d = fdopendir(dfd);
                while (d && (fe = readdir(d))) {
                        struct entry *e = &files[n_files];

                        if (fe->d_name[0] == '.' && (!fe->d_name[1] || (fe->d_name[1] == '.' && !fe->d_name[2])))
                                continue;
                        if (n_files == 4096)
                                fail("too many files");
                        copy(e->inst, sizeof(e->inst), de->d_name);
                        copy(e->file, sizeof(e->file), fe->d_name);
                        e->content = read_file(dfd, fe->d_name);
                        e->seen = false;
                        n_files++;
                }
                if (d)
                        closedir(d);
        }
        closedir(root);

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                fail("mountinfo: %m");
        while (fgets(line, sizeof(line), f)) {
                char mp[4096];
                size_t rl = strlen(secrets_root);

                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                if (strncmp(mp, secrets_root, rl) != 0 || mp[rl] != '/')
                        continue;
                if (n_mounts == 64)
                        fail("too many mounts under %s", secrets_root);
                copy(mounts[n_mounts++], sizeof(mounts[0]), mp + rl + 1);
        }
        fclose(f);

        d = opendir(records_dir);
        if (!d)
                fail("opendir %s: %m", records_dir);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n_records < 1024)
                        copy(records[n_records++], sizeof(records[0]), de->d_name);
        closedir(d);

        d = opendir(state_dir);
        if (!d)
                fail("opendir %s: %m", state_dir);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        fail("state_dir keeps a write in flight after restart: %s", de->d_name);
        closedir(d);
}

/* Secrets: acknowledged ones intact; in-flight writes old or new. */
static void check_secrets(void) {
        struct resp r;
        bool listed[N_NAMES] = {};
        const char *p;
        int st;

        st = http(admin_sock, "GET", "/v1/secrets", NULL, NULL, 0, &r);
        if (st != 200)
                fail("GET /v1/secrets: %d", st);
        if (strstr(r.body, "\"error\""))
                fail("a secret is damaged after the crash: %.500s", r.body);
        for (p = r.body; (p = strstr(p, "\"name\":\"")); p++) {
                char name[64];
                int i;

                if (!jstr(p, r.body + r.len, "name", name, sizeof(name)) || (i = name_index(name)) < 0)
                        fail("unexpected secret in the list: %.100s", p);
                if (!sec[i].exists && !sec[i].maybe)
                        fail("secret %s exists but was never created", name);
                listed[i] = true;
        }
        for (int i = 0; i < N_NAMES; i++) {
                char path[64];
                bool is_old, is_new;

                if (sec[i].maybe_deleted) {
                        /* deleted, or not at all: then the old value */
                        if (!listed[i]) {
                                forget(i);
                                stats.pending_new++;
                                continue;
                        }
                        sec[i].maybe_deleted = false;
                        stats.pending_old++;
                }
                if (sec[i].exists && !listed[i])
                        fail("acknowledged secret %s is gone", name_of(i));
                if (sec[i].maybe && !listed[i]) {
                        /* the create did not happen */
                        free(sec[i].pending.data);
                        sec[i].pending = (struct value) {};
                        sec[i].maybe = sec[i].has_pending = false;
                        stats.pending_old++;
                        continue;
                }
                if (!listed[i])
                        continue;
                snprintf(path, sizeof(path), "/v1/secrets/%s", name_of(i));
                st = http(admin_sock, "GET", path, NULL, NULL, 0, &r);
                if (st != 200)
                        fail("GET %s after restart: %d %.200s", name_of(i), st, r.body);
                is_old = sec[i].exists && value_eq(&sec[i].v, (const uint8_t *) r.body, r.len) &&
                         r.version == (long) sec[i].version;
                is_new = sec[i].has_pending && value_eq(&sec[i].pending, (const uint8_t *) r.body, r.len) &&
                         r.version == (long) sec[i].version + 1;
                if (!is_old && !is_new)
                        fail("secret %s after restart: version %ld, %zu bytes; want version %lu (%zu bytes)%s",
                             name_of(i), r.version, r.len, (unsigned long) sec[i].version, sec[i].v.len,
                             sec[i].has_pending ? " or the next with the write in flight" : "");
                if (is_new) {
                        free(sec[i].v.data);
                        sec[i].v = sec[i].pending;
                        sec[i].version++;
                        stats.pending_new++;
                } else if (sec[i].has_pending) {
                        free(sec[i].pending.data);
                        stats.pending_old++;
                }
                sec[i].pending = (struct value) {};
                sec[i].has_pending = sec[i].maybe = false;
                sec[i].exists = true;
        }
}

static bool may_have_expired(int c, int i, int64_t now) {
        return ml[c][i].any && ml[c][i].lo <= now + SLACK;
}

/* Whether every lease the model knows for instance c may be gone by now. */
static bool instance_may_be_gone(int c, int64_t now) {
        for (int i = 0; i < N_NAMES; i++)
                if (ml[c][i].any && !may_have_expired(c, i, now))
                        return false;
        return true;
}

static void check_leases(void) {
        bool listed[MAX_CT][N_NAMES] = {}, inst_listed[MAX_CT] = {};
        char ids[MAX_CT][N_NAMES][64] = {};
        const char *p, *end;
        struct resp r;
        int64_t now;
        int st;

        snapshot();
        st = http(admin_sock, "GET", "/v1/leases", NULL, NULL, 0, &r);
        now = now_usec();
        if (st != 200)
                fail("GET /v1/leases: %d", st);
        end = r.body + r.len;
        for (p = r.body; (p = strstr(p, "{\"id\":\"")); p++) {
                const char *e = strchr(p, '}');
                char id[64], secret[64], inst[128], host[4300], want_host[4300], rec[128];
                bool found = false;
                int c, i;

                if (!e || !jstr(p, e, "id", id, sizeof(id)) || !jstr(p, e, "secret", secret, sizeof(secret)) ||
                    !jstr(p, e, "instance", inst, sizeof(inst)) || !jstr(p, e, "host_path", host, sizeof(host)))
                        fail("cannot read lease list: %.300s", p);
                c = ct_index(inst);
                i = name_index(secret);
                if (c < 0 || i < 0 || !ml[c][i].any)
                        fail("lease %s of %s in %s was never asked for", id, secret, inst);
                if (listed[c][i])
                        fail("two leases of %s in %s", secret, inst);
                listed[c][i] = inst_listed[c] = true;
                copy(ids[c][i], sizeof(ids[c][i]), id);
                if (ml[c][i].hi < now - SLACK)
                        fail("lease %s of %s in %s outlived its deadline by %lld ms", id, secret, inst,
                             (long long) (now - ml[c][i].hi) / 1000);
                if (jint(p, e, "version") != (long) sec[i].version)
                        fail("lease %s of %s says version %ld, current is %lu", id, secret, jint(p, e, "version"),
                             (unsigned long) sec[i].version);
                snprintf(want_host, sizeof(want_host), "%s/%s/%s", secrets_root, inst, secret);
                if (strcmp(host, want_host) != 0)
                        fail("lease %s host_path %s, expected %s", id, host, want_host);
                for (int k = 0; k < n_files; k++)
                        if (strcmp(files[k].inst, inst) == 0 && strcmp(files[k].file, secret) == 0) {
                                if (!value_eq(&sec[i].v, files[k].content.data, files[k].content.len))
                                        fail("%s holds %zu bytes that are not the current version %lu of %s",
                                             host, files[k].content.len, (unsigned long) sec[i].version, secret);
                                files[k].seen = found = true;
                        }
                if (!found)
                        fail("live lease %s has no file at %s", id, host);
                snprintf(rec, sizeof(rec), "%s.json", id);
                found = false;
                for (int k = 0; k < n_records; k++)
                        found = found || strcmp(records[k], rec) == 0;
                if (!found)
                        fail("live lease %s has no record in %s", id, records_dir);
                stats.leases_checked++;
                p = e;
        }
        (void) end;

        for (int c = 0; c < n_ct; c++)
                for (int i = 0; i < N_NAMES; i++) {
                        struct mlease *m = &ml[c][i];

                        if (m->acked && m->lo > now + SLACK && !listed[c][i])
                                fail("acknowledged lease %s of %s in %s (%lld ms to go) is gone", m->id,
                                     name_of(i), ct[c].instance, (long long) (m->lo - now) / 1000);
                        if (m->acked && m->lo > now + SLACK && strcmp(ids[c][i], m->id) != 0)
                                fail("lease of %s in %s changed id from %s to %s", name_of(i), ct[c].instance,
                                     m->id, ids[c][i]);
                        if (listed[c][i]) {
                                /* now we know it is there, with this id */
                                copy(m->id, sizeof(m->id), ids[c][i]);
                                m->acked = true;
                        } else if (m->acked && m->hi < now - SLACK) {
                                m->acked = false;
                                stats.expired_seen++;
                        }
                }

        for (int k = 0; k < n_files; k++) {
                int c = ct_index(files[k].inst), i = name_index(files[k].file);

                stats.files++;
                if (files[k].seen)
                        continue;
                if (c < 0 || i < 0 || !may_have_expired(c, i, now))
                        fail("%s/%s/%s (%zu bytes, %s) belongs to no live lease", secrets_root, files[k].inst,
                             files[k].file, files[k].content.len,
                             i >= 0 && value_eq(&sec[i].v, files[k].content.data, files[k].content.len)
                                     ? "the current value"
                                     : "not the current value");
        }
        for (int k = 0; k < n_dirs; k++) {
                int c = ct_index(dirs[k]);
                bool mounted = false;

                for (int j = 0; j < n_mounts; j++)
                        mounted = mounted || strcmp(mounts[j], dirs[k]) == 0;
                if (c < 0 || (!inst_listed[c] && !instance_may_be_gone(c, now))) {
                        int nf = 0;

                        for (int j = 0; j < n_files; j++)
                                nf += strcmp(files[j].inst, dirs[k]) == 0;
                        fail("directory %s/%s (%s, %d entries) belongs to no live lease", secrets_root, dirs[k],
                             mounted ? "a mount" : "not a mount", nf);
                }
                if (inst_listed[c] && !mounted)
                        fail("%s/%s holds live leases but is not a tmpfs mount", secrets_root, dirs[k]);
        }
        for (int j = 0; j < n_mounts; j++) {
                int c = ct_index(mounts[j]);

                for (int k = j + 1; k < n_mounts; k++)
                        if (strcmp(mounts[j], mounts[k]) == 0)
                                fail("%s/%s is mounted twice", secrets_root, mounts[j]);
                if (c < 0 || (!inst_listed[c] && !instance_may_be_gone(c, now)))
                        fail("%s/%s is mounted but no lease owns it", secrets_root, mounts[j]);
        }
        for (int k = 0; k < n_records; k++) {
                bool live = false;

                for (int c = 0; c < n_ct; c++)
                        for (int i = 0; i < N_NAMES; i++)
                                live = live || (listed[c][i] && strncmp(records[k], ids[c][i], 32) == 0 &&
                                                strcmp(records[k] + 32, ".json") == 0);
                if (!live) {
                        /* it may belong to a lease that expired during the check */
                        char path[4300], inst[128] = "", secret[64] = "";
                        int fd, c, i;
                        struct value v;

                        copy(path, sizeof(path), records_dir);
                        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        v = read_file(fd, records[k]);
                        close(fd);
                        if (v.data) {
                                v.data[v.len] = '\0';
                                (void) jstr((char *) v.data, (char *) v.data + v.len, "instance", inst, sizeof(inst));
                                (void) jstr((char *) v.data, (char *) v.data + v.len, "secret", secret,
                                            sizeof(secret));
                        }
                        free(v.data);
                        c = ct_index(inst);
                        i = name_index(secret);
                        /* gone meanwhile (v.data NULL) is an expiry too */
                        if (v.data && (c < 0 || i < 0 || !may_have_expired(c, i, now)))
                                fail("record %s/%s belongs to no live lease", records_dir, records[k]);
                }
        }
}

int main(int argc, char **argv) {
        int rounds;

        if (argc < 7) {
                fprintf(stderr, "usage: crash-load SECRETD CONFIG DIR ROUNDS SEED CGROUP...\n");
                return 2;
        }
        secretd = argv[1];
        config = argv[2];
        dir = argv[3];
        rounds = atoi(argv[4]);
        srandom((unsigned) strtoul(argv[5], NULL, 0));
        signal(SIGPIPE, SIG_IGN);
        snprintf(admin_sock, sizeof(admin_sock), "%s/run/admin.sock", dir);
        snprintf(workload_sock, sizeof(workload_sock), "%s/run/workload.sock", dir);
        snprintf(secrets_root, sizeof(secrets_root), "%s/secrets", dir);
        snprintf(records_dir, sizeof(records_dir), "%s/run/leases", dir);
        snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
        snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
        snprintf(prev_log_path, sizeof(prev_log_path), "%s/daemon.log.prev", dir);
        for (int k = 6; k < argc && n_ct < MAX_CT; k++, n_ct++) {
                const char *base = strrchr(argv[k], '/');
                size_t n;

                copy(ct[n_ct].cgroup, sizeof(ct[n_ct].cgroup), argv[k]);
                base = base ? base + 1 : argv[k];
                n = strlen(base);
                if (n < 7 || strcmp(base + n - 6, ".scope") != 0 || n - 6 >= sizeof(ct[n_ct].instance))
                        fail("not a container cgroup: %s", argv[k]);
                memcpy(ct[n_ct].instance, base, n - 6);
                ct[n_ct].instance[n - 6] = '\0';
        }

        for (round_no = 1; round_no <= rounds; round_no++) {
                pid_t killer;

                spawn_daemon();
                if (round_no > 1 && random() % 10 == 0) {
                        /* in the middle of start-up and recovery */
                        killer = start_killer(random() % 30000);
                        reap(killer, true);
                        stats.startup_kills++;
                        continue;
                }
                wait_ready();
                check_secrets();
                check_leases();
                killer = start_killer(5000 + random() % 300000);
                load();
                reap(killer, false);
        }
        /* the last crash, checked too */
        spawn_daemon();
        wait_ready();
        check_secrets();
        check_leases();
        stop_daemon();
        printf("crash-load: %d rounds (%u killed in start-up); acknowledged: %u creates, %u deletes, %u rotates, "
               "%u leases, %u reads; %u requests in flight at the kill (of the writes, %u took effect, %u did "
               "not); checked %u lease files, %u "
               "live leases; %u leases seen expire\n",
               rounds, stats.startup_kills, stats.creates, stats.deletes, stats.rotates, stats.leases, stats.reads, stats.unknown,
               stats.pending_new, stats.pending_old, stats.files, stats.leases_checked, stats.expired_seen);
        return 0;
}
