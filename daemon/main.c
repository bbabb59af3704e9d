/* main.c — secretd start-up, privilege set-up and the main loop.
 *
 * Owns the order of things: sanitise the process, refuse to be dumped,
 * narrow privileges, load config and key, open the store, then serve until
 * told to stop.  The only place (besides the API layer) that logs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "keys.h"
#include "privilege.h"
#include "secretd/cleanup.h"
#include "secretd/log.h"
#include "store.h"

#ifndef SECRETD_VERSION
#define SECRETD_VERSION "0.1.0"
#endif

enum action { ACTION_RUN, ACTION_INIT, ACTION_CHECK_CONFIG, ACTION_HELP, ACTION_VERSION };

struct options {
        enum action action;
        const char *config_path; /* NULL: the default path */
        const char *dev_dir;     /* --dev: embedded dev config under this dir */
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: secretd [OPTIONS]          run the daemon in the foreground\n"
                "       secretd init [OPTIONS]     create the state directory and master key\n"
                "\n"
                "Options:\n"
                "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ";\n"
                "                      built-in defaults when that file does not exist)\n"
                "      --dev DIR       development mode: every path under DIR, a master key\n"
                "                      created there on first run\n"
                "      --check-config  validate the configuration, print every error, exit\n"
                "  -h, --help          show this help\n"
                "      --version       show the version\n"
                "\n"
                "The master key is read from $CREDENTIALS_DIRECTORY/" KEYS_CREDENTIAL_NAME " when\n"
                "systemd passes it as a credential, else from the configured master_key file.\n"
                "Exit status: 0 on success, 1 on error, 2 on bad usage.\n");
}

static int parse_options(int argc, char **argv, struct options *ret) {
        enum { OPT_DEV = 0x100, OPT_CHECK, OPT_VERSION };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "dev", required_argument, NULL, OPT_DEV },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        struct options o = { .action = ACTION_RUN };
        int c;

        while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'c': o.config_path = optarg; break;
                case OPT_DEV: o.dev_dir = optarg; break;
                case OPT_CHECK: o.action = ACTION_CHECK_CONFIG; break;
                case 'h': o.action = ACTION_HELP; break;
                case OPT_VERSION: o.action = ACTION_VERSION; break;
                default: return -EINVAL;
                }
        }
        if (optind < argc) {
                if (strcmp(argv[optind], "init") != 0 || o.action != ACTION_RUN) {
                        log_error("unknown command '%s' (try --help)", argv[optind]);
                        return -EINVAL;
                }
                o.action = ACTION_INIT;
                /* Options may follow the command too. */
                optind++;
                while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) >= 0) {
                        if (c == 'c')
                                o.config_path = optarg;
                        else if (c == OPT_DEV)
                                o.dev_dir = optarg;
                        else
                                return -EINVAL;
                }
                if (optind < argc)
                        return log_error_errno(EINVAL, "unexpected argument '%s'", argv[optind]);
        }
        if (o.config_path && o.dev_dir)
                return log_error_errno(EINVAL, "--config and --dev exclude each other");
        *ret = o;
        return 0;
}

static int load_config(const struct options *o, struct config **ret) {
        struct config_errors errs = {};
        int r;

        if (o->dev_dir) {
                if (mkdir(o->dev_dir, 0700) < 0 && errno != EEXIST)
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

static int explain_store_error(int r, const struct config *c, const char *key_path) {
        switch (r) {
        case -EKEYREJECTED:
                return log_error_errno(r, "master key '%s' is not the key the store in '%s' was written with",
                                       key_path, c->state_dir);
        case -ENOKEY:
                return log_error_errno(r, "store '%s' holds secrets but no key check file; refusing to guess "
                                          "whether '%s' is its key", c->state_dir, key_path);
        case -EBUSY:
                return log_error_errno(r, "state directory '%s' is in use by another secretd", c->state_dir);
        default:
                return log_error_errno(r, "cannot open store '%s': %m", c->state_dir);
        }
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

static int open_store(const struct config *c, struct keys **ret_keys, struct store **ret_store) {
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
        r = mkdir_parents(c->state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create the parents of '%s': %m", c->state_dir);
        r = backend_dir_open(c->state_dir, STORE_BLOB_MAX, &b);
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
        int r;

        r = create_key(c, false);
        if (r < 0)
                return r;
        r = open_store(c, &k, &st);
        if (r < 0)
                return r;
        log_info("state directory '%s' ready", c->state_dir);
        return 0;
}

/* Blocks the signals we handle and returns a signalfd for them. */
static int signals_open(void) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);

        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int run_daemon(const struct options *o, struct config **cp) {
        _cleanup_(keys_freep) struct keys *k = NULL;
        _cleanup_(store_freep) struct store *st = NULL;
        _cleanup_close_ int sfd = -1;
        _cleanup_free_ struct store_meta *list = NULL;
        size_t n = 0;
        int r;

        if (o->dev_dir) {
                r = create_key(*cp, true);
                if (r < 0)
                        return r;
        }
        r = open_store(*cp, &k, &st);
        if (r < 0)
                return r;
        r = store_list(st, &list, &n);
        if (r < 0)
                return log_error_errno(r, "cannot list store '%s': %m", (*cp)->state_dir);
        for (size_t i = 0; i < n; i++)
                if (list[i].error < 0)
                        log_warn_errno(list[i].error, "secret '%s' cannot be read: %m; serving the others",
                                       list[i].name);
        sfd = signals_open();
        if (sfd < 0)
                return log_error_errno(sfd, "cannot set up signal handling: %m");
        log_info("serving %zu secrets from '%s'", n, (*cp)->state_dir);
        (void) sd_notifyf(false, "READY=1\nSTATUS=serving %zu secrets", n);

        for (;;) {
                struct signalfd_siginfo si;
                ssize_t got = read(sfd, &si, sizeof(si));

                if (got < 0 && errno == EINTR)
                        continue;
                if (got != (ssize_t) sizeof(si))
                        return log_error_errno(got < 0 ? errno : EIO, "signalfd read failed: %m");
                if (si.ssi_signo == SIGHUP) {
                        struct config *fresh = NULL;

                        if (load_config(o, &fresh) < 0) {
                                log_warn("configuration reload failed, keeping the old one");
                                continue;
                        }
                        config_free(*cp);
                        *cp = fresh;
                        log_info("configuration reloaded");
                        continue;
                }
                log_info("stopping on signal %u", si.ssi_signo);
                (void) sd_notify(false, "STOPPING=1");
                return 0;
        }
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

        if (parse_options(argc, argv, &o) < 0)
                return 2;
        if (o.action == ACTION_HELP) {
                usage(stdout);
                return EXIT_SUCCESS;
        }
        if (o.action == ACTION_VERSION) {
                printf("secretd %s\n", SECRETD_VERSION);
                return EXIT_SUCCESS;
        }
        r = load_config(&o, &c);
        if (r < 0)
                return EXIT_FAILURE;
        if (o.action == ACTION_CHECK_CONFIG) {
                printf("%s: ok\n", o.config_path ? o.config_path : o.dev_dir ? "development configuration"
                                                                            : CONFIG_DEFAULT_PATH);
                return EXIT_SUCCESS;
        }
        if (o.action == ACTION_INIT)
                return run_init(c) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (privilege_drop() < 0)
                return log_error("cannot drop privileges: %m"), EXIT_FAILURE;
        return run_daemon(&o, &c) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
