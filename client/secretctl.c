/* secretctl.c — the admin and workload client: global options, the choice
 * of socket, and the command table.  Each command is one cmd-<name>.c.
 *
 * Values are only ever read from stdin or a file, never from argv. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sodium.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/paths.h"

static const struct command *const commands[] = {
        &cmd_put, &cmd_get, &cmd_rotate, &cmd_rm, &cmd_ls, &cmd_info, &cmd_lease,
        &cmd_renew, &cmd_revoke, &cmd_leases, &cmd_watch, &cmd_whoami, &cmd_status, &cmd_reload,
};

static void usage(FILE *out) {
        fprintf(out, "Usage: secretctl [--socket PATH] [--json] COMMAND [ARGS]\n"
                     "\n"
                     "Talks to secretd over its Unix socket.  Values are read from standard input\n"
                     "or a file (-f), never from the command line.\n"
                     "\n"
                     "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                char left[64];

                snprintf(left, sizeof(left), "%s %s", commands[i]->name, commands[i]->args);
                if (strlen(left) > 36)
                        fprintf(out, "  %s\n  %-36s %s\n", left, "", commands[i]->summary);
                else
                        fprintf(out, "  %-36s %s\n", left, commands[i]->summary);
        }
        fprintf(out, "\n"
                     "Options:\n"
                     "  -s, --socket PATH  the daemon's socket (default: $SECRETD_SOCKET, else the\n"
                     "                     admin socket when it can be opened, else the workload socket,\n"
                     "                     both from " SECRETD_CONFIG_FILE " or $SECRETD_CONFIG)\n"
                     "  -j, --json         print the daemon's JSON replies, for scripts\n"
                     "  -h, --help         show this help; 'secretctl COMMAND --help' for one command\n"
                     "      --version      show the version\n"
                     "\n"
                     "Exit status: 0 ok, 1 error, 2 usage, 3 denied, 4 not found, 5 conflict,\n"
                     "6 daemon unreachable.\n");
}

static void command_usage(const struct command *cmd) {
        printf("Usage: secretctl %s %s\n\n%s.\n", cmd->name, cmd->args, cmd->summary);
        if (cmd->help && cmd->help[0])
                printf("\n%s", cmd->help);
}

static const struct command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i]->name, name) == 0)
                        return commands[i];
        return NULL;
}

static bool can_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

/* The socket paths the host's secretd uses, from its config when present
 * ($SECRETD_CONFIG names a config elsewhere, as `secretd --config` does). */
static void configured_sockets(char **ret_admin, char **ret_workload) {
        const char *file = getenv("SECRETD_CONFIG");
        _cleanup_json_ json_t *cfg =
                json_load_file(file && file[0] ? file : SECRETD_CONFIG_FILE, JSON_REJECT_DUPLICATES, NULL);
        const char *a = json_str(cfg, "admin_socket"), *w = json_str(cfg, "workload_socket");

        *ret_admin = strdup(a ? a : SECRETD_ADMIN_SOCKET);
        if (!w)
                w = access(SECRETD_WORKLOAD_SOCKET, F_OK) < 0 && access(SECRETD_LEGACY_WORKLOAD_SOCKET, F_OK) == 0
                            ? SECRETD_LEGACY_WORKLOAD_SOCKET : SECRETD_WORKLOAD_SOCKET;
        *ret_workload = strdup(w);
}

static char *choose_socket(const char *option, bool *ret_from_env) {
        _cleanup_free_ char *admin = NULL, *workload = NULL;
        const char *env = getenv("SECRETD_SOCKET");

        *ret_from_env = false;
        if (option)
                return strdup(option);
        if (env && env[0]) {
                *ret_from_env = true;
                return strdup(env);
        }
        configured_sockets(&admin, &workload);
        if (admin && can_connect(admin))
                return TAKE_PTR(admin);
        return TAKE_PTR(workload);
}

static struct rlimit saved_core;

/* A client holding secret values in memory must not leave them in a core
 * file, and must not be readable through ptrace by the same uid.  The
 * hard limit stays, so that the command `lease --keep -- CMD` starts gets
 * its own limit back (exec makes it dumpable again by itself). */
static void protect_process(void) {
        struct rlimit no_core = { 0, 0 };

        (void) prctl(PR_SET_DUMPABLE, 0);
        if (getrlimit(RLIMIT_CORE, &saved_core) == 0)
                no_core.rlim_max = saved_core.rlim_max;
        else
                saved_core = no_core;
        (void) setrlimit(RLIMIT_CORE, &no_core);
}

void ctl_restore_limits(void) {
        (void) setrlimit(RLIMIT_CORE, &saved_core);
}

static bool wants_help(int argc, char **argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        return false;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        _cleanup_free_ char *socket_path = NULL;
        const char *socket_option = NULL;
        const struct command *cmd;
        struct ctl c = { .command = "secretctl", .fd = -1 };
        int opt, x;

        protect_process();
        while ((opt = getopt_long(argc, argv, "+s:jh", options, NULL)) >= 0) {
                switch (opt) {
                case 's':
                        socket_option = optarg;
                        break;
                case 'j':
                        c.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("secretctl %s\n", SECRETD_VERSION);
                        return EXIT_OK;
                default:
                        fprintf(stderr, "Try 'secretctl --help'.\n");
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[optind], "help") == 0) {
                cmd = optind + 1 < argc ? find_command(argv[optind + 1]) : NULL;
                if (cmd)
                        command_usage(cmd);
                else
                        usage(stdout);
                return EXIT_OK;
        }
        cmd = find_command(argv[optind]);
        if (!cmd) {
                fprintf(stderr, "secretctl: unknown command '%s'\nTry 'secretctl --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        argc -= optind;
        argv += optind;
        if (wants_help(argc, argv)) {
                command_usage(cmd);
                return EXIT_OK;
        }
        if (sodium_init() < 0) {
                fprintf(stderr, "secretctl: libsodium failed to initialise\n");
                return EXIT_ERROR;
        }
        socket_path = choose_socket(socket_option, &c.socket_from_env);
        if (!socket_path || ctl_open(&c) < 0) {
                fprintf(stderr, "secretctl: out of memory\n");
                return EXIT_ERROR;
        }
        c.socket = socket_path;
        c.command = cmd->name;
        optind = 0; /* each command parses its own options from argv[0] */
        x = cmd->run(&c, argc, argv);
        ctl_close(&c);
        return x;
}
