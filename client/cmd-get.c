/* cmd-get.c — `secretctl get NAME [--version N] [--part PART] [-o FILE]`: the raw value,
 * byte for byte, to stdout or to FILE.
 *
 * FILE is never opened for writing: the value goes into a new file (0600,
 * O_EXCL) beside it, which is then renamed over FILE.  So a file that
 * someone else made there, or a hard link to theirs, keeps its owner's
 * bytes and never gets the value; in a sticky directory the rename over
 * another user's file fails (unless we are root). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/fileio.h"

/* Writes the value into a fresh file next to file; returns its name (to
 * rename or unlink) or NULL with errno set. */
static char *write_fresh(const char *file, const struct secbuf *value) {
        const char *slash = strrchr(file, '/');
        int dir_len = slash ? (int) (slash - file + 1) : 0;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        /* "DIR/.NAME.XXXXXX": the same directory, so rename() never copies */
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", dir_len, file, file + dir_len) < 0)
                return tmp = NULL, NULL;
        fd = mkostemp(tmp, O_CLOEXEC); /* 0600, O_EXCL */
        if (fd < 0)
                return NULL;
        r = write_full(fd, value->data, value->len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                errno = -r;
                return NULL;
        }
        return TAKE_PTR(tmp);
}

static int write_out(const struct ctl *c, const char *file, const struct secbuf *value) {
        _cleanup_free_ char *tmp = NULL;
        struct stat st;

        if (!file)
                return write_full(STDOUT_FILENO, value->data, value->len) < 0 ? EXIT_ERROR : EXIT_OK;
        /* what is there now is replaced, never written: but not a link or a
         * device someone meant to be followed */
        if (lstat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
                fprintf(stderr, "secretctl: %s: %s exists and is not a regular file\n", c->command, file);
                return EXIT_ERROR;
        }
        tmp = write_fresh(file, value);
        if (!tmp) {
                fprintf(stderr, "secretctl: %s: cannot write a new file beside %s: %s\n", c->command, file,
                        strerror(errno));
                return EXIT_ERROR;
        }
        if (rename(tmp, file) < 0) {
                int e = errno;

                (void) unlink(tmp);
                fprintf(stderr, "secretctl: %s: cannot replace %s: %s\n", c->command, file, strerror(e));
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "version", required_argument, NULL, 'v' },
                { "output", required_argument, NULL, 'o' },
                { "part", required_argument, NULL, 'p' },
                {},
        };
        const char *file = NULL, *version = NULL, *part = NULL, *name;
        struct reply r = {};
        char path[512], query[200] = "";
        uint64_t v;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "v:o:p:", options, NULL)) >= 0) {
                if (opt == 'v')
                        version = optarg;
                else if (opt == 'p')
                        part = optarg;
                else if (opt == 'o')
                        file = optarg;
                else
                        return usage_error(c, "unknown option");
        }
        x = name_operand(c, argc, argv, false, &name);
        if (x == EXIT_OK && version)
                x = count_arg(c, "--version", version, 1, UINT64_MAX, &v);
        if (x == EXIT_OK && part && !secret_name_valid(part))
                x = usage_error(c, "part name '%s' must match %s", part, SECRET_NAME_GRAMMAR);
        if (x != EXIT_OK)
                return x;
        if (version)
                snprintf(query, sizeof(query), "version=%" PRIu64 "%s", v, part ? "&" : "");
        if (part)
                snprintf(query + strlen(query), sizeof(query) - strlen(query), "part=%s", part);
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET, name, query[0] ? query : NULL);
        x = ctl_call(c, "GET", path, NULL, 0, NULL, &r);
        if (x != EXIT_OK)
                return x;
        x = r.status == 200 ? write_out(c, file, r.body) : reply_failed(c, &r);
        reply_done(&r);
        return x;
}

const struct command cmd_get = {
        .name = "get",
        .args = "NAME [--version N] [--part PART] [-o FILE]",
        .summary = "Print the value of the secret NAME",
        .help = "Options:\n"
                "  -v, --version N    the version N (the current or the previous one)\n"
                "  -o, --output FILE  write the value to a new FILE (mode 0600), replacing\n"
                "                     what is there; never written into\n"
                "  -p, --part PART    of a set, the part PART alone\n"
                "\n"
                "The value is written as raw bytes, without a newline added.  A set without\n"
                "--part is written in its encoding: for each part, its name, a space, its size\n"
                "and a newline, then its bytes and a newline.\n",
        .run = run,
};
