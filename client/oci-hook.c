/* oci-hook.c — secretd-oci-hook, the OCI createRuntime hook: the runtime
 * runs it on the host, as root, with the container's state JSON on
 * stdin, before the container's first instruction.  It hands the state,
 * as read, to secretd's hook socket and says what came back; the daemon
 * checks everything against the kernel and mounts the secrets.
 *
 * Exit 0: the container may start (with its secrets, or with none if the
 * policy gives it none).  Exit 1, with one line on stderr naming the
 * container and the reason: the runtime does not start it.  Exit 2: bad
 * usage.  No value ever passes through here: the reply holds names. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/paths.h"

/* Well inside a runtime's hook timeout (Podman's default is none, the
 * JSON we install says 10 s): an answer that does not come is a refusal.
 * The socket's timeouts bound each send and receive; the alarm bounds the
 * whole run, stdin included (a runtime that never closes it). */
#define HOOK_REPLY_TIMEOUT_SEC 8
#define HOOK_DEADLINE_SEC 9

/* What the alarm prints: set once the container is known. */
static char deadline_line[160] = "secretd-oci-hook: container (unknown): no answer within 9 s: the container is not started\n";

static void deadline_passed(int sig) {
        (void) sig;
        (void) !write(STDERR_FILENO, deadline_line, strlen(deadline_line));
        _exit(EXIT_ERROR);
}

static const char usage[] =
        "usage: secretd-oci-hook [--config FILE] [--socket PATH]\n"
        "\n"
        "An OCI createRuntime hook: reads the container's state JSON on stdin and asks\n"
        "secretd to mount the secrets its policy grants at /run/secrets in the container\n"
        "before it starts.  Installed in /usr/share/containers/oci/hooks.d/secretd.json\n"
        "for Podman and CRI-O; for Docker, secretd-runc adds it to each container.\n"
        "\n"
        "  --config FILE   secretd's configuration, for its hook_socket\n"
        "                  (default " SECRETD_CONFIG_FILE ")\n"
        "  --socket PATH   the hook socket itself (default " SECRETD_HOOK_SOCKET ")\n"
        "  --help          this text\n"
        "\n"
        "Exit status: 0 the container may start, 1 it must not (the reason on stderr),\n"
        "2 bad usage.\n";

/* The state as the runtime wrote it, at most HOOK_STATE_MAX bytes. */
static int read_state(char *buf, size_t cap, size_t *ret_len) {
        size_t n = 0;

        for (;;) {
                ssize_t k = read(STDIN_FILENO, buf + n, cap - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == cap)
                        return -EFBIG;
        }
        *ret_len = n;
        return 0;
}

/* The socket: --socket, else the config's hook_socket, else the default.
 * A config that does not exist is the built-in one; one that cannot be
 * read or is not JSON is a refusal (why, of why_len bytes, says why), as
 * it would be the daemon's. */
static char *hook_socket(const char *option, const char *config, char *why, size_t why_len) {
        const char *file = config ? config : SECRETD_CONFIG_FILE;
        json_error_t err;
        json_t *cfg, *s;
        char *ret;

        if (option)
                return strdup(option);
        if (access(file, F_OK) < 0 && errno == ENOENT)
                return strdup(SECRETD_HOOK_SOCKET);
        cfg = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
        s = json_object_get(cfg, "hook_socket");
        if (!cfg || (s && !json_is_string(s))) {
                snprintf(why, why_len, "%s", !cfg ? err.text : "hook_socket is not a string");
                json_decref(cfg);
                return NULL;
        }
        ret = strdup(s ? json_string_value(s) : SECRETD_HOOK_SOCKET);
        json_decref(cfg);
        return ret;
}

/* "container 3f2a5b6c7d8e": what every message begins with after the
 * program's name, from the state when it says (the daemon still judges
 * the state whole, whatever it holds). */
static void container_label(const char *state, size_t len, char *buf, size_t size) {
        json_t *o = json_loadb(state, len, 0, NULL);
        const char *id = json_string_value(json_object_get(o, "id"));

        snprintf(buf, size, "secretd-oci-hook: container %.12s", id && id[0] ? id : "(unknown)");
        for (char *p = buf; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        *p = '?';
        json_decref(o);
}

/* The daemon's word: 200 lets the container start, anything else is the
 * refusal its error message explains. */
static int judge(const char *label, const struct reply *r) {
        json_t *j;
        const char *msg;

        if (r->status == 200)
                return EXIT_OK;
        j = r->body ? json_loadb((const char *) r->body->data, r->body->len, 0, NULL) : NULL;
        msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (msg)
                fprintf(stderr, "%s: %s\n", label, msg);
        else
                fprintf(stderr, "%s: secretd answered HTTP %ld\n", label, r->status);
        json_decref(j);
        return EXIT_ERROR;
}

static int parse_args(int argc, char **argv, const char **ret_config, const char **ret_socket) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int o;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (o) {
                case 'c': *ret_config = optarg; break;
                case 's': *ret_socket = optarg; break;
                case 'h': fputs(usage, stdout); exit(EXIT_OK);
                default: fputs(usage, stderr); return EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "secretd-oci-hook: unexpected argument '%s'\n%s", argv[optind], usage);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

int main(int argc, char **argv) {
        static char state[HOOK_STATE_MAX + 1];
        const char *config = NULL, *socket_opt = NULL;
        _cleanup_free_ char *socket_path = NULL;
        struct ctl c = { .command = "create-runtime", .timeout_sec = HOOK_REPLY_TIMEOUT_SEC, .fd = -1 };
        struct reply r = {};
        char label[64], why[JSON_ERROR_TEXT_LENGTH] = "";
        size_t len = 0;
        int x;

        x = parse_args(argc, argv, &config, &socket_opt);
        if (x != EXIT_OK)
                return x;
        (void) signal(SIGPIPE, SIG_IGN); /* a refused early close is an answer, not a death */
        (void) signal(SIGALRM, deadline_passed);
        alarm(HOOK_DEADLINE_SEC);
        if (sodium_init() < 0) { /* the reply lands in guarded memory (secbuf) */
                fprintf(stderr, "secretd-oci-hook: libsodium failed to initialise: the container is not started\n");
                return EXIT_ERROR;
        }
        x = read_state(state, sizeof(state), &len);
        if (x < 0) {
                fprintf(stderr, "secretd-oci-hook: %s: the container is not started\n",
                        x == -EFBIG ? "the state JSON on stdin is over 64 KiB" : strerror(-x));
                return EXIT_ERROR;
        }
        container_label(state, len, label, sizeof(label));
        (void) snprintf(deadline_line, sizeof(deadline_line), "%s: no answer within %d s: the container is not started\n",
                        label, HOOK_DEADLINE_SEC);
        socket_path = hook_socket(socket_opt, config, why, sizeof(why));
        if (!socket_path) {
                if (why[0])
                        fprintf(stderr, "%s: cannot use the configuration %s: %s: the container is not started\n",
                                label, config ? config : SECRETD_CONFIG_FILE, why);
                else
                        fprintf(stderr, "%s: out of memory\n", label);
                return EXIT_ERROR;
        }
        c.socket = socket_path;
        c.prog = label;
        x = ctl_call(&c, "POST", API_ROUTE_HOOK_CREATE_RUNTIME, state, len, "application/json", &r);
        /* transport.c said why there was no answer, in one line */
        if (x == EXIT_OK)
                x = judge(label, &r);
        reply_done(&r);
        ctl_close(&c);
        return x == EXIT_OK ? EXIT_OK : EXIT_ERROR;
}
