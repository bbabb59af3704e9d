/* args.c — checking what the user typed, and reading secret values.
 *
 * A value never comes from argv (every user can read /proc/PID/cmdline):
 * only stdin or a file, and on a terminal without echo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/parse.h"
#include "secretd/protocol.h"

int usage_error(const struct ctl *c, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "secretctl: %s: ", c->command);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'secretctl %s --help'.\n", c->command);
        return EXIT_USAGE;
}

int no_args(const struct ctl *c, int argc) {
        return argc == 1 ? EXIT_OK : usage_error(c, "takes no arguments");
}

int one_arg(const struct ctl *c, int argc, char **argv, const char *kind) {
        bool name = strcmp(kind, "name") == 0;

        if (argc != 2 || argv[1][0] == '-')
                return usage_error(c, "expects one %s", name ? "secret NAME" : "lease ID");
        if (name ? !secret_name_valid(argv[1]) : !lease_id_valid(argv[1]))
                return usage_error(c, "'%s' is not a valid %s", argv[1], name ? "secret name" : "lease id");
        return EXIT_OK;
}

int name_operand(const struct ctl *c, int argc, char **argv, bool grammar, const char **ret_name) {
        if (argc - optind != 1)
                return usage_error(c, "expects one secret NAME");
        if (!secret_name_valid(argv[optind]))
                return usage_error(c, "'%s' is not a valid secret name%s", argv[optind],
                                   grammar ? " (" SECRET_NAME_GRAMMAR ")" : "");
        *ret_name = argv[optind];
        return EXIT_OK;
}

int duration_arg(const struct ctl *c, const char *s, uint64_t *ret_sec) {
        uint64_t usec;

        if (parse_duration_usec(s, &usec) < 0 || usec < 1000000)
                return usage_error(c, "'%s' is not a duration of at least 1s (like 90s, 15m, 1h, 7d)", s);
        *ret_sec = usec / 1000000;
        return EXIT_OK;
}

int count_arg(const struct ctl *c, const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
                return usage_error(c, "%s must be a number from %llu to %llu, not '%s'", what,
                                   (unsigned long long) min, (unsigned long long) max, s);
        *ret = v;
        return EXIT_OK;
}

/* Reads everything from fd (at most max bytes) into guarded memory. */
static int read_all(int fd, size_t max, struct secbuf **ret) {
        _cleanup_(secbuf_freep) struct secbuf *b = NULL;
        size_t used = 0;

        for (;;) {
                ssize_t n;

                if (!b || used == b->len) {
                        size_t cap = b ? b->len * 2 : 4096;
                        struct secbuf *nb;

                        if (b && b->len > max)
                                return -EFBIG;
                        nb = secbuf_new(cap);
                        if (!nb)
                                return -ENOMEM;
                        if (b)
                                memcpy(nb->data, b->data, used);
                        secbuf_free(b);
                        b = nb;
                }
                n = read(fd, b->data + used, b->len - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                used += (size_t) n;
        }
        if (used > max)
                return -EFBIG;
        secbuf_truncate(b, used);
        *ret = TAKE_PTR(b);
        return 0;
}

static struct termios saved_tty;

static void restore_tty_and_die(int sig) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* One line from the terminal, echo off; the newline is not part of it.
 * Ctrl-C puts the terminal back before the process dies. */
static int read_tty_line(const char *name, size_t max, struct secbuf **ret) {
        _cleanup_(secbuf_freep) struct secbuf *b = secbuf_new(max + 1);
        struct termios quiet;
        struct sigaction sa = { .sa_handler = restore_tty_and_die }, old_int, old_term;
        size_t used = 0;
        int r = 0;

        if (!b)
                return -ENOMEM;
        if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
                return -errno;
        quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        /* echo goes off before the prompt shows: nothing typed after the
         * prompt can be echoed */
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                r = -errno;
        fprintf(stderr, "Value for %s (input hidden): ", name);
        fflush(stderr);
        while (r == 0) {
                char ch;
                ssize_t n = read(STDIN_FILENO, &ch, 1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else if (n == 0 || ch == '\n')
                        break;
                else if (used == max)
                        r = -EFBIG;
                else
                        b->data[used++] = (uint8_t) ch;
        }
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (r < 0)
                return r;
        secbuf_truncate(b, used);
        *ret = TAKE_PTR(b);
        return 0;
}

int read_value(const struct ctl *c, const char *file, const char *name, size_t max, struct secbuf **ret) {
        _cleanup_close_ int fd = -1;
        const char *from = file && strcmp(file, "-") != 0 ? file : "standard input";
        int r;

        if (file && strcmp(file, "-") != 0) {
                fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        fprintf(stderr, "secretctl: %s: cannot open %s: %s\n", c->command, file, strerror(errno));
                        return EXIT_ERROR;
                }
                r = read_all(fd, max, ret);
        } else if (isatty(STDIN_FILENO)) {
                r = read_tty_line(name, max, ret);
        } else {
                r = read_all(STDIN_FILENO, max, ret);
        }
        if (r == -EFBIG) {
                fprintf(stderr, "secretctl: %s: the value from %s is larger than %zu bytes\n", c->command, from,
                        max);
                return EXIT_ERROR;
        }
        if (r < 0) {
                fprintf(stderr, "secretctl: %s: cannot read %s: %s\n", c->command, from, strerror(-r));
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

/* Splits off "-- CMD..." before getopt sees it (GNU getopt would mix CMD's
 * words with the secret names): *ret_cmd is CMD, or NULL without "--".  A
 * "--" with nothing after it is a usage error. */
int command_after_dashes(const struct ctl *c, int *argc, char **argv, char ***ret_cmd) {
        *ret_cmd = NULL;
        for (int i = 1; i < *argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        if (i + 1 == *argc)
                                return usage_error(c, "'--' must be followed by a command");
                        *ret_cmd = argv + i + 1;
                        argv[i] = NULL;
                        *argc = i;
                        break;
                }
        return EXIT_OK;
}
