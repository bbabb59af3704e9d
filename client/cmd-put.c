/* cmd-put.c — `secretctl put NAME [-f FILE]`: create a secret.
 *
 * The value comes from FILE or stdin, into guarded memory, and goes out
 * as the raw request body; it fails with exit 5 if NAME exists. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "secretctl.h"

/* The daemon has the real limit (max_value_size); this bounds our memory. */
#define VALUE_READ_MAX (64u * 1024 * 1024)

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "file", required_argument, NULL, 'f' },
                { "allow-empty", no_argument, NULL, 'E' },
                { "part", required_argument, NULL, 'p' },
                {},
        };
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        struct part_args parts = {};
        const char *file = NULL, *name;
        struct reply r = {};
        char path[256];
        bool allow_empty = false;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "f:p:", options, NULL)) >= 0) {
                if (opt == 'f')
                        file = optarg;
                else if (opt == 'E')
                        allow_empty = true;
                else if (opt == 'p') {
                        if ((x = part_arg(c, &parts, optarg)) != EXIT_OK)
                                return x;
                } else
                        return usage_error(c, "unknown option");
        }
        if (parts.n && (file || allow_empty))
                return usage_error(c, "--part makes a set: -f and --allow-empty are for a value");
        x = name_operand(c, argc, argv, true, &name);
        if (x == EXIT_OK)
                x = parts.n ? read_set(c, &parts, name, VALUE_READ_MAX, &value)
                            : read_value(c, file, name, VALUE_READ_MAX, &value);
        if (x != EXIT_OK)
                return x;
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET, name, allow_empty ? "allow_empty=1" : NULL);
        x = ctl_call(c, "PUT", path, value->data, value->len, parts.n ? SET_CONTENT_TYPE : "application/octet-stream",
                     &r);
        if (x != EXIT_OK)
                return x;
        if (r.status != 201) {
                x = reply_failed(c, &r);
        } else if (c->json) {
                fwrite(r.body->data, 1, r.body->len, stdout);
                fputc('\n', stdout);
        } else {
                if (parts.n)
                        printf("created set %s, version 1 (%zu parts)\n", name, parts.n);
                else
                        printf("created %s, version 1 (%zu bytes)\n", name, value->len);
        }
        reply_done(&r);
        return x;
}

const struct command cmd_put = {
        .name = "put",
        .args = "NAME [-f FILE] [--allow-empty] | NAME --part PART=FILE...",
        .summary = "Create the secret NAME from standard input or FILE",
        .help = "Options:\n"
                "  -f, --file FILE       read the value from FILE ('-' is standard input)\n"
                "  --allow-empty         store an empty value (refused without it)\n"
                "  -p, --part PART=FILE  make NAME a set, with the part PART read from FILE\n"
                "                        ('-' is standard input); once per part, at most 32\n"
                "\n"
                "On a terminal the value is read as one line without echo.  The value is\n"
                "binary-safe; it is never taken from the command line.  Exits 5 if NAME exists\n"
                "(use 'rotate' to give it a new value).  A set is leased as one directory with\n"
                "a file per part, and all of its parts change together.\n",
        .run = run,
};
