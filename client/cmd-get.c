/* cmd-get.c — `secretctl get NAME [--version N] [-o FILE]`: the raw value,
 * byte for byte, to stdout or to FILE (created 0600). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretctl.h"
#include "secretd/fileio.h"

static int write_out(const struct ctl *c, const char *file, const struct secbuf *value) {
        _cleanup_close_ int fd = -1;
        int r;

        if (!file)
                return write_full(STDOUT_FILENO, value->data, value->len) < 0 ? EXIT_ERROR : EXIT_OK;
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0) {
                fprintf(stderr, "secretctl: %s: cannot create %s: %s\n", c->command, file, strerror(errno));
                return EXIT_ERROR;
        }
        /* an existing file keeps its mode through O_CREAT: narrow it */
        r = fchmod(fd, 0600) < 0 ? -errno : write_full(fd, value->data, value->len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                fprintf(stderr, "secretctl: %s: cannot write %s: %s\n", c->command, file, strerror(-r));
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "version", required_argument, NULL, 'v' },
                { "output", required_argument, NULL, 'o' },
                {},
        };
        const char *file = NULL, *version = NULL, *name;
        struct reply r = {};
        char path[256];
        uint64_t v;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "v:o:", options, NULL)) >= 0) {
                if (opt == 'v')
                        version = optarg;
                else if (opt == 'o')
                        file = optarg;
                else
                        return usage_error(c, "unknown option");
        }
        if (argc - optind != 1)
                return usage_error(c, "expects one secret NAME");
        name = argv[optind];
        if (!secret_name_valid(name))
                return usage_error(c, "'%s' is not a valid secret name", name);
        if (version && (x = count_arg(c, "--version", version, 1, UINT64_MAX, &v)) != EXIT_OK)
                return x;
        if (version)
                snprintf(path, sizeof(path), "/v1/secrets/%s?version=%" PRIu64, name, v);
        else
                snprintf(path, sizeof(path), "/v1/secrets/%s", name);
        x = ctl_call(c, "GET", path, NULL, 0, NULL, &r);
        if (x != EXIT_OK)
                return x;
        x = r.status == 200 ? write_out(c, file, r.body) : reply_failed(c, &r);
        reply_done(&r);
        return x;
}

const struct command cmd_get = {
        .name = "get",
        .args = "NAME [--version N] [-o FILE]",
        .summary = "Print the value of the secret NAME",
        .help = "Options:\n"
                "  -v, --version N    the version N (the current or the previous one)\n"
                "  -o, --output FILE  write the value to FILE (created with mode 0600)\n"
                "\n"
                "The value is written as raw bytes, without a newline added.\n",
        .run = run,
};
