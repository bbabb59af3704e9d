/* main.c — secretd start-up, privilege set-up, and what the daemon opens
 * before it serves (the loop itself is loop.c).
 *
 * Owns the order of things: sanitise the process, refuse to be dumped,
 * narrow privileges, load config and key, open the store, then serve until
 * told to stop.  The only place (besides the API layer) that logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <grp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "daemon.h"
#include "etcd-watch.h"
#include "http.h"
#include "keys.h"
#include "leasing.h"
#include "listen.h"
#include "materialize.h"
#include "options.h"
#include "policy.h"
#include "privilege.h"
#include "server.h"
#include "service.h"
#include "secretd/cleanup.h"
#include "secretd/log.h"
#include "store.h"

#ifndef SECRETD_VERSION
#define SECRETD_VERSION "0.1.0"
#endif

static int load_config(const struct options *o, struct config **ret) {
        struct config_errors errs = {};
        int r;

        if (o->dev_dir) {
                /* Workloads must reach the sockets below it: 0755; the key
                 * and state inside keep their own 0400 and 0700. */
                if (mkdir(o->dev_dir, 0755) == 0)
                        (void) chmod(o->dev_dir, 0755);
                else if (errno != EEXIST)
                        return log_error_errno(errno, "cannot create development directory '%s': %m", o->dev_dir);
                r = config_new_dev(o->dev_dir, ret);
                if (r < 0)
                        return log_error_errno(r, "development configuration under '%s': %m", o->dev_dir);
                return 0;
        }
        if (!o->config_path && access(CONFIG_DEFAULT_PATH, F_OK) < 0) {
                log_info("no %s, using built-in defaults", CONFIG_DEFAULT_PATH);
                return config_new_default(ret);
        }
        r = config_load_file(o->config_path ? o->config_path : CONFIG_DEFAULT_PATH, ret, &errs);
        for (size_t i = 0; i < errs.n; i++)
                log_error("%s", errs.msgs[i]);
        config_errors_clear(&errs);
        return r;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

static int explain_key_error(int r, const char *path) {
        switch (r) {
        case -ENOENT:
                return log_error_errno(r, "master key '%s' does not exist; create it with 'secretd init'", path);
        case -EMSGSIZE:
                return log_error_errno(r, "master key '%s' is not exactly %d bytes", path, KEYS_MASTER_SIZE);
        case -EPERM:
                return log_error_errno(r, "master key '%s' must be owned by uid %u and readable by it alone "
                                          "(mode 0400)", path, (unsigned) geteuid());
        case -EBADF:
                return log_error_errno(r, "master key '%s' is not a regular file", path);
        default:
                return log_error_errno(r, "cannot read master key '%s': %m", path);
        }
}

/* Where the store is, for messages: its directory, or etcd's prefix and
 * first endpoint. */
static void store_where(const struct config *c, char *buf, size_t len) {
        if (c->has_etcd)
                snprintf(buf, len, "etcd under '%s' at %s%s", c->etcd_prefix, c->etcd_endpoints[0],
                         c->n_etcd_endpoints > 1 ? " (and the other endpoints)" : "");
        else
                snprintf(buf, len, "'%s'", c->state_dir);
}

static int explain_store_error(int r, const struct config *c, const char *key_path) {
        char where[1024];

        store_where(c, where, sizeof(where));
        switch (r) {
        case -EKEYREJECTED:
                return log_error_errno(r, "master key '%s' is not the key the store in %s was written with",
                                       key_path, where);
        case -ENOKEY:
                return log_error_errno(r, "store in %s holds secrets but no key check; refusing to guess "
                                          "whether '%s' is its key", where, key_path);
        case -EBUSY:
                return log_error_errno(r, "state directory '%s' is in use by another secretd", c->state_dir);
        case -EHOSTUNREACH:
                return log_error_errno(r, "cannot reach the store in %s: no endpoint answered", where);
        default:
                return log_error_errno(r, "cannot open store in %s: %m", where);
        }
}

static struct etcd_options etcd_options_of(const struct config *c) {
        return (struct etcd_options) {
                .endpoints = c->etcd_endpoints, .n_endpoints = c->n_etcd_endpoints, .prefix = c->etcd_prefix,
                .ca = c->etcd_ca, .cert = c->etcd_cert, .key = c->etcd_key,
        };
}

/* The backend the configuration names: etcd when it has "etcd", else the
 * directory (locked: one daemon per state_dir). */
static int open_backend(const struct config *c, struct backend **ret) {
        int r;

        if (c->has_etcd) {
                const struct etcd_options o = etcd_options_of(c);

                return backend_etcd_open(&o, STORE_BLOB_MAX, ret);
        }
        r = mkdir_parents(c->state_dir, 0755);
        if (r < 0)
                return r;
        return backend_dir_open(c->state_dir, STORE_BLOB_MAX, ret);
}

/* Creates the key (never replacing one) and binds a new store to it. */
static int create_key(const struct config *c, bool quiet_if_exists) {
        int r;

        r = mkdir_parents(c->master_key, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the directory of '%s': %m", c->master_key);
        r = keys_create_file(c->master_key);
        if (r == -EEXIST) {
                if (!quiet_if_exists)
                        log_info("master key '%s' already exists, left unchanged", c->master_key);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "cannot create master key '%s': %m", c->master_key);
        log_info("created master key '%s'", c->master_key);
        return 1;
}

/* busy_ok: a store locked by a running daemon is -EBUSY, unlogged. */
static int open_store(const struct config *c, bool busy_ok, struct keys **ret_keys, struct store **ret_store) {
        _cleanup_(keys_freep) struct keys *k = NULL;
        _cleanup_free_ char *key_path = NULL;
        struct backend *b = NULL;
        struct store *st;
        int r;

        r = keys_locate(c->master_key, &key_path);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = keys_load_file(key_path, &k);
        if (r < 0)
                return explain_key_error(r, key_path);
        r = open_backend(c, &b);
        if (r == -EBUSY && busy_ok)
                return r;
        if (r < 0)
                return explain_store_error(r, c, key_path);
        r = store_open(b, k, c->max_value_size, &st);
        if (r < 0)
                return explain_store_error(r, c, key_path);
        *ret_keys = TAKE_PTR(k);
        *ret_store = st;
        return 0;
}

static int run_init(const struct config *c) {
        _cleanup_(keys_freep) struct keys *k = NULL;
        _cleanup_(store_freep) struct store *st = NULL;
        char where[1024];
        bool created;
        int r;

        r = create_key(c, false);
        if (r < 0)
                return r;
        created = r > 0;
        /* A running daemon holds the store: with the key already there
         * (and loadable: open_store checked it) nothing needs doing, and
         * nothing of the daemon's is touched.  A key made just now for a
         * store in use is not the store's: that stays an error. */
        r = open_store(c, !created, &k, &st);
        if (r == -EBUSY) {
                log_info("state directory '%s' is in use by a running secretd; key and state are in place, "
                         "nothing to do", c->state_dir);
                return 0;
        }
        if (r < 0)
                return r;
        store_where(c, where, sizeof(where));
        log_info("store in %s ready", where);
        return 0;
}

/* admin.groups → gids; a name that does not resolve is skipped with a
 * warning (the group may be created later; a reload picks it up). */
static int resolve_admin_groups(const struct config *c, gid_t **ret, size_t *ret_n) {
        gid_t *gids = calloc(c->n_admin_groups ? c->n_admin_groups : 1, sizeof(gid_t));
        size_t n = 0;

        if (!gids)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_admin_groups; i++) {
                const char *g = c->admin_groups[i];
                struct group *gr;
                char *end;
                unsigned long v = strtoul(g, &end, 10);

                if (*g && !*end) {
                        gids[n++] = (gid_t) v;
                        continue;
                }
                gr = getgrnam(g);
                if (!gr) {
                        log_warn("admin group '%s' does not exist, ignoring", g);
                        continue;
                }
                gids[n++] = gr->gr_gid;
        }
        *ret = gids;
        *ret_n = n;
        return 0;
}

/* What is allowed but likely wrong, logged as warnings; returns how many.
 * At start-up and by --check-config, so the check says what the start
 * would. */
static unsigned warn_config(const struct config *c, const char *source, bool groups) {
        struct config_errors warns = {};
        _cleanup_free_ gid_t *gids = NULL;
        unsigned n = 0;
        size_t n_gids = 0;
        struct stat st;

        config_warnings(c, source, &warns);
        for (size_t i = 0; i < warns.n; i++, n++)
                log_warn("%s", warns.msgs[i]);
        config_errors_clear(&warns);
        /* logs each group that does not resolve */
        if (groups && resolve_admin_groups(c, &gids, &n_gids) >= 0)
                n += (unsigned) (c->n_admin_groups - n_gids);
        /* host units and users reach their own directory by name: the root
         * must be searchable by others (0711), or they lease files they
         * cannot open */
        if (stat(c->secrets_root, &st) == 0 && !(st.st_mode & S_IXOTH)) {
                log_warn("secrets_root '%s' has mode %04o: services and users other than root cannot reach "
                         "their files there; make it 0711 (chmod 0711 '%s')", c->secrets_root,
                         (unsigned) (st.st_mode & 07777), c->secrets_root);
                n++;
        }
        return n;
}

/* --check-config: every error of the file, then every warning of it as far
 * as it parsed (an error elsewhere hides none); -EINVAL on any error. */
static int run_check_config(const struct options *o) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct config_errors errs = {};
        const char *src = o->config_path ? o->config_path : o->dev_dir ? "development configuration"
                                                                         : CONFIG_DEFAULT_PATH;
        unsigned n;
        int r;

        if (o->dev_dir || (!o->config_path && access(CONFIG_DEFAULT_PATH, F_OK) < 0)) {
                r = load_config(o, &c);
        } else {
                r = config_check_file(src, &c, &errs);
                for (size_t i = 0; i < errs.n; i++)
                        log_error("%s", errs.msgs[i]);
                config_errors_clear(&errs);
        }
        n = c ? warn_config(c, src, true) : 0;
        if (r < 0)
                return r;
        if (n > 0)
                printf("%s: ok, %u warning%s\n", src, n, n == 1 ? "" : "s");
        else
                printf("%s: ok\n", src);
        return 0;
}

static int apply_config(struct daemon_ctx *d, struct config *c) {
        gid_t *gids;
        size_t n;
        int r;

        r = resolve_admin_groups(c, &gids, &n);
        if (r < 0)
                return r;
        free(d->admin_gids);
        d->admin_gids = gids;
        d->server.attest.admin_uids = c->admin_uids;
        d->server.attest.n_admin_uids = c->n_admin_uids;
        d->server.attest.admin_gids = gids;
        d->server.attest.n_admin_gids = n;
        d->server.config = c;
        return 0;
}

/* Server-side reload (SIGHUP and POST /v1/reload).  The sockets, paths and
 * limits the daemon runs with stay; policy and admins take effect at once. */
static int server_reload(struct server *s, char **ret_reasons) {
        struct daemon_ctx *d = s->reload_userdata;
        struct config_errors errs = {};
        struct config *fresh = NULL, *old = s->config;
        char *reasons = NULL;
        size_t len = 0, ended;
        FILE *f;
        int r;

        if (d->options->dev_dir || (!d->options->config_path && access(CONFIG_DEFAULT_PATH, F_OK) < 0)) {
                log_info("reload: built-in configuration, nothing to re-read");
                return 0;
        }
        r = config_load_file(d->options->config_path ? d->options->config_path : CONFIG_DEFAULT_PATH, &fresh,
                             &errs);
        if (r < 0) {
                f = open_memstream(&reasons, &len);
                for (size_t i = 0; i < errs.n; i++) {
                        log_error("%s", errs.msgs[i]);
                        if (f)
                                fprintf(f, "%s%s", i ? "; " : "", errs.msgs[i]);
                }
                if (f)
                        fclose(f);
                config_errors_clear(&errs);
                log_warn("configuration reload failed, keeping the old one");
                *ret_reasons = reasons;
                return r;
        }
        r = apply_config(d, fresh);
        if (r < 0) {
                config_free(fresh);
                return r;
        }
        /* the records may be elsewhere now */
        records_cache_flush(s->records);
        /* what was granted is judged by the policy now in force */
        ended = leasing_policy_changed(s->leasing, old->policy, s->config->policy);
        config_free(old);
        log_info("configuration reloaded: %zu workloads; %zu leases the new policy does not grant ended",
                 fresh->policy ? fresh->policy->n_workloads : 0, ended);
        return 0;
}

/* Each container instance holds three or four descriptors (its directory,
 * its tmpfs, its leasing process, its mount namespace) and each connection
 * one: a thousand containers do not fit in the soft limit of 1024 that
 * systemd gives services.  Nothing here uses select(), so the hard limit
 * is safe to take. */
static int raise_fd_limit(struct daemon_ctx *d) {
        struct rlimit rl;

        (void) d; /* a step of start_steps; it only warns, never fails */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warn("cannot raise the file descriptor limit to %llu: %m",
                                 (unsigned long long) rl.rlim_max);
        }
        return 0;
}

/* Said once, at start-up: each tmpfs made later asks for noswap again
 * only if this kernel took it (materialize.c remembers the answer). */
static void log_noswap(void) {
        int r = mdir_noswap_supported();

        if (r == 0)
                log_warn("the kernel refuses tmpfs 'noswap' (Linux 6.4+, initial user namespace): pages of the "
                         "instance tmpfs, secret files with them, may be swapped out");
        else if (r < 0)
                log_warn_errno(r, "cannot tell whether the kernel takes tmpfs 'noswap': %m, ignoring (each "
                                  "instance tmpfs still asks for it)");
}

/* What the daemon may hold in guarded memory (sodium_malloc: locked) at
 * once under c's limits.  A value costs its size rounded up to pages and
 * a page for the canary, as http.c counts bodies:
 *  - HTTP (http_locked_max): a value reply in flight on every connection
 *    of both listeners, and both body budgets full;
 *  - the larger of start-up lease recovery (up to 16 values kept,
 *    leasing-recover.c) and the one request being handled (one thread:
 *    the record read and the record written, two versions each, and the
 *    value copied out): 16 values;
 *  - the secbuf free list (32 pages), the master key and slack: 64 pages.
 * At the defaults (64 KiB values, 1024 connections) about 140 MiB, nearly
 * all of it replies.  Not counted: values stored under a larger
 * max_value_size than the one now configured. */
static uint64_t memlock_estimate(const struct config *c) {
        uint64_t value = (c->max_value_size + 4095) / 4096 * 4096 + 4096;

        return http_locked_max(c) + 16 * value + 64 * 4096;
}

/* Locked memory keeps values out of swap; a daemon that cannot lock at
 * all would hold them swappable without a word, so as root it refuses to
 * start.  Unprivileged (development) it only warns: its secret files lie
 * in plain directories on disk anyway. */
static int check_memlock(const struct config *c) {
        uint64_t want = memlock_estimate(c), limit;
        int r;

        r = privilege_memlock(want, &limit);
        if (r < 0 && geteuid() == 0)
                return log_error_errno(r, "cannot lock even one page of memory (RLIMIT_MEMLOCK, LimitMEMLOCK=): %m; "
                                          "refusing to hold secrets in swappable memory");
        if (r < 0)
                return log_warn_errno(r, "cannot lock memory (RLIMIT_MEMLOCK): %m; not root, so going on with "
                                         "values in swappable memory"), 0;
        if (r > 0)
                log_warn("RLIMIT_MEMLOCK is %llu KiB, below the %llu KiB the configured limits may hold locked: "
                         "values past it are held unlocked and may be swapped out; raise LimitMEMLOCK= "
                         "(ulimit -l) or lower limits.max_connections or limits.max_value_size",
                         (unsigned long long) (limit / 1024), (unsigned long long) ((want + 1023) / 1024));
        return 0;
}

static gid_t admin_socket_gid(const struct daemon_ctx *d) {
        return d->server.attest.n_admin_gids > 0 ? d->server.attest.admin_gids[0] : (gid_t) -1;
}

/* The start-up steps below, run_daemon's table: each opens one thing and
 * says why when it cannot; on failure it leaves nothing behind, and its
 * close half releases exactly what it opened. */

static int open_keys_and_store(struct daemon_ctx *d) {
        return open_store(d->server.config, false, &d->server.keys, &d->server.store);
}

static void close_keys_and_store(struct daemon_ctx *d) {
        d->server.store = store_free(d->server.store);
        d->server.keys = keys_free(d->server.keys);
}

/* The names for the store scan, and the count READY=1 reports. */
static int list_secrets(struct daemon_ctx *d) {
        int r;

        r = store_names(d->server.store, &d->scan.names, &d->scan.n);
        if (r < 0)
                return log_error_errno(r, "cannot list store '%s': %m", d->server.config->state_dir);
        d->n_secrets = d->scan.n;
        return 0;
}

static void free_secret_list(struct daemon_ctx *d) {
        backend_keys_free(d->scan.names, d->scan.n);
        d->scan = (struct store_scan) {};
}

static int open_attest(struct daemon_ctx *d) {
        int r;

        r = attest_context_init(&d->server.attest);
        if (r < 0)
                return log_error_errno(r, "cannot find the cgroup2 hierarchy: %m");
        r = records_cache_new(&d->server.records);
        if (r < 0) {
                attest_context_done(&d->server.attest);
                return log_error_errno(r, "cannot allocate the runtime records cache: %m");
        }
        return 0;
}

static void close_attest(struct daemon_ctx *d) {
        d->server.records = records_cache_free(d->server.records);
        attest_context_done(&d->server.attest);
}

static int open_audit(struct daemon_ctx *d) {
        int r;

        r = audit_open(d->server.config->audit_log, &d->server.audit);
        if (r < 0)
                return log_error_errno(r, "cannot open audit log '%s': %m", d->server.config->audit_log);
        return 0;
}

static void close_audit(struct daemon_ctx *d) {
        d->server.audit = audit_free(d->server.audit);
}

/* The secrets root. */
static int open_leasing(struct daemon_ctx *d) {
        int r;

        r = server_open_leasing(&d->server);
        if (r < 0)
                return log_error_errno(r, "cannot prepare secrets root '%s': %m", d->server.config->secrets_root);
        if (leasing_privileged(d->server.leasing))
                log_noswap(); /* before recovery mounts any tmpfs */
        return 0;
}

static void close_leasing(struct daemon_ctx *d) {
        d->server.leasing = leasing_close(d->server.leasing);
}

/* The leases a previous run left (leasing_recover), judged again by the
 * policy in force, which may have changed while we were down; then what
 * in the configuration is allowed but likely wrong.  Nothing to close:
 * the leases belong to the leasing step. */
static int recover_leases(struct daemon_ctx *d) {
        struct leasing_recovery rec;
        size_t ended;
        int r;

        r = leasing_recover(d->server.leasing, &rec);
        if (r < 0)
                return log_error_errno(r, "cannot read lease records in '%s': %m", d->server.config->runtime_dir);
        if (rec.kept || rec.expired || rec.dropped)
                log_info("leases recovered: %u live, %u expired while down, %u dropped", rec.kept, rec.expired,
                         rec.dropped);
        ended = rec.kept ? leasing_policy_changed(d->server.leasing, NULL, d->server.config->policy) : 0;
        if (ended > 0)
                log_info("%zu recovered leases the policy no longer grants ended", ended);
        /* admin groups are reported where they are resolved (apply_config) */
        (void) warn_config(d->server.config, d->options->config_path ? d->options->config_path
                           : d->options->dev_dir ? "development configuration" : CONFIG_DEFAULT_PATH, false);
        if (!leasing_privileged(d->server.leasing))
                log_warn("not running as root: secret files go to plain directories under '%s', without "
                         "their own tmpfs and without injection into containers", d->server.config->secrets_root);
        return 0;
}

static void close_listeners(struct daemon_ctx *d) {
        const struct config *c = d->server.config;

        listen_unlink(&d->listeners, c->admin_socket, c->workload_socket, c->hook_socket);
}

/* The sockets, made or handed over by systemd.  The hook's only when we
 * may mount: an unprivileged daemon could put nothing into a container. */
static int open_listeners(struct daemon_ctx *d) {
        const struct config *c = d->server.config;
        int r;

        r = listen_open(c->admin_socket, c->workload_socket, admin_socket_gid(d), &d->listeners);
        if (r == -EADDRINUSE) {
                log_error("another secretd is listening on '%s' or '%s'", c->admin_socket, c->workload_socket);
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "cannot listen on '%s' and '%s': %m", c->admin_socket, c->workload_socket);
        r = listen_open_hook(leasing_privileged(d->server.leasing) ? c->hook_socket : NULL, &d->listeners);
        if (r == -EADDRINUSE)
                log_error("another secretd is listening on '%s'", c->hook_socket);
        else if (r < 0)
                log_error_errno(r, "cannot listen on the hook socket '%s': %m", c->hook_socket);
        if (r < 0) {
                close_listeners(d);
                safe_close(d->listeners.admin_fd);
                safe_close(d->listeners.workload_fd);
                d->listeners.admin_fd = d->listeners.workload_fd = -1;
                return r;
        }
        return 0;
}

static int open_http(struct daemon_ctx *d) {
        const int fds[_HTTP_LISTENER_MAX] = {
                [HTTP_ADMIN] = d->listeners.admin_fd,
                [HTTP_WORKLOAD] = d->listeners.workload_fd,
                [HTTP_HOOK] = d->listeners.hook_fd,
        };
        int r;

        r = http_start(&d->server, fds, &d->http);
        if (r < 0)
                return log_error_errno(r, "cannot start the HTTP server: %m");
        return 0;
}

static void close_http(struct daemon_ctx *d) {
        d->http = http_stop(d->http);
}

static int open_signals(struct daemon_ctx *d) {
        d->signal_fd = loop_signals_open();
        if (d->signal_fd < 0)
                return log_error_errno(d->signal_fd, "cannot set up signals or watchdog: %m");
        return 0;
}

static void close_signals(struct daemon_ctx *d) {
        d->signal_fd = safe_close(d->signal_fd);
}

/* A timer for the pings, when systemd wants them (WatchdogSec=). */
static int open_watchdog(struct daemon_ctx *d) {
        uint64_t wd = service_watchdog_interval_usec();

        d->watchdog_fd = wd ? loop_watchdog_timer(wd) : -1;
        if (d->watchdog_fd < -1)
                return log_error_errno(d->watchdog_fd, "cannot set up signals or watchdog: %m");
        return 0;
}

static void close_watchdog(struct daemon_ctx *d) {
        d->watchdog_fd = safe_close(d->watchdog_fd);
}

/* With etcd, the watch that brings other hosts' changes into this host's
 * leases (fleet.c), once the leases are back. */
static int open_fleet(struct daemon_ctx *d) {
        const struct config *c = d->server.config;
        struct etcd_options o;
        int r;

        if (!c->has_etcd)
                return 0;
        o = etcd_options_of(c);
        r = etcd_watch_start(&o, &d->fleet);
        if (r < 0)
                return log_error_errno(r, "cannot start the watch of etcd: %m");
        return 0;
}

static void close_fleet(struct daemon_ctx *d) {
        etcd_watch_stop(d->fleet);
        d->fleet = NULL;
}

/* Opened top to bottom; closed bottom to top, from the last one opened. */
static const struct start_step {
        int (*open)(struct daemon_ctx *d);
        void (*close)(struct daemon_ctx *d); /* NULL: nothing to release */
} start_steps[] = {
        { open_keys_and_store, close_keys_and_store },
        { list_secrets,        free_secret_list },
        { open_attest,         close_attest },
        { open_audit,          close_audit },
        { raise_fd_limit,      NULL },
        { open_leasing,        close_leasing },
        { recover_leases,      NULL },
        { open_fleet,          close_fleet },
        { open_listeners,      close_listeners },
        { open_http,           close_http },
        { open_signals,        close_signals },
        { open_watchdog,       close_watchdog },
};

static int serve(struct daemon_ctx *d) {
        char status[128], where[1024];
        int r;

        store_where(d->server.config, where, sizeof(where));
        log_info("serving %zu secrets from %s on '%s' and '%s'%s%s%s", d->n_secrets, where,
                 d->server.config->admin_socket, d->server.config->workload_socket,
                 d->listeners.hook_fd >= 0 ? " (OCI hook: '" : "",
                 d->listeners.hook_fd >= 0 ? d->server.config->hook_socket : "",
                 d->listeners.hook_fd >= 0 ? "')" : "");
        snprintf(status, sizeof(status), "serving %zu secrets", d->n_secrets);
        service_ready(status);
        r = loop_run(d);
        service_stopping();
        return r;
}

/* The configuration goes to the server, which owns it from here on
 * (reloads replace it). */
static int prepare_server(struct daemon_ctx *d, struct config **cp) {
        struct timespec ts;
        int r;

        if (d->options->dev_dir) {
                r = create_key(*cp, true);
                if (r < 0)
                        return r;
        }
        r = apply_config(d, *cp);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        *cp = NULL;
        d->server.reload = server_reload;
        d->server.reload_userdata = d;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        d->server.started_usec = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        return 0;
}

static void release_server(struct daemon_ctx *d) {
        d->server.config = config_free(d->server.config);
        free(d->admin_gids);
        d->admin_gids = NULL;
}

static int run_daemon(const struct options *o, struct config **cp) {
        struct daemon_ctx d = { .options = o, .listeners = { -1, -1, -1, false, false }, .signal_fd = -1, .watchdog_fd = -1 };
        size_t opened = 0;
        int r;

        r = prepare_server(&d, cp);
        if (r < 0)
                return r;
        for (; opened < ELEMENTSOF(start_steps); opened++) {
                r = start_steps[opened].open(&d);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = serve(&d);
        while (opened-- > 0)
                if (start_steps[opened].close)
                        start_steps[opened].close(&d);
        release_server(&d);
        return r;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct options o;
        int r;

        log_setup(argv[0]);

        /* Privilege and hygiene first, in this order; each step is fatal. */
        if (privilege_sanitize_fds() < 0 || privilege_no_dumps() < 0)
                return log_error("cannot harden the process: %m"), EXIT_FAILURE;
        if (keys_global_init() < 0)
                return log_error("libsodium failed to initialise"), EXIT_FAILURE;

        if (options_parse(argc, argv, &o) < 0)
                return 2;
        if (o.action == ACTION_HELP) {
                options_usage(stdout);
                return EXIT_SUCCESS;
        }
        if (o.action == ACTION_VERSION) {
                printf("secretd %s\n", SECRETD_VERSION);
                return EXIT_SUCCESS;
        }
        if (o.action == ACTION_CHECK_CONFIG)
                return run_check_config(&o) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = load_config(&o, &c);
        if (r < 0)
                return EXIT_FAILURE;
        if (o.action == ACTION_INIT)
                return run_init(c) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (privilege_drop() < 0)
                return log_error("cannot drop privileges: %m"), EXIT_FAILURE;
        /* after the drop: root without CAP_IPC_LOCK is held to the limit */
        if (check_memlock(c) < 0)
                return EXIT_FAILURE;
        return run_daemon(&o, &c) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
