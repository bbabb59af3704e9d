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
                {},
        };
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        const char *file = NULL, *name;
        struct reply r = {};
        char path[256];
        bool allow_empty = false;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "f:", options, NULL)) >= 0) {
                if (opt == 'f')
                        file = optarg;
                else if (opt == 'E')
                        allow_empty = true;
                else
                        return usage_error(c, "unknown option");
        }
        x = name_operand(c, argc, argv, true, &name);
        if (x == EXIT_OK)
                x = read_value(c, file, name, VALUE_READ_MAX, &value);
        if (x != EXIT_OK)
                return x;
        (void) api_path(path, sizeof(path), API_ROUTE_SECRET, name, allow_empty ? "allow_empty=1" : NULL);
        x = ctl_call(c, "PUT", path, value->data, value->len, "application/octet-stream", &r);
        if (x != EXIT_OK)
                return x;
        if (r.status != 201) {
                x = reply_failed(c, &r);
        } else if (c->json) {
                fwrite(r.body->data, 1, r.body->len, stdout);
                fputc('\n', stdout);
        } else {
                printf("created %s, version 1 (%zu bytes)\n", name, value->len);
        }
        reply_done(&r);
        return x;
}

const struct command cmd_put = {
        .name = "put",
        .args = "NAME [-f FILE] [--allow-empty]",
        .summary = "Create the secret NAME from standard input or FILE",
        .help = "Options:\n"
                "  -f, --file FILE    read the value from FILE ('-' is standard input)\n"
                "  --allow-empty      store an empty value (refused without it)\n"
                "\n"
                "On a terminal the value is read as one line without echo.  The value is\n"
                "binary-safe; it is never taken from the command line.  Exits 5 if NAME exists\n"
                "(use 'rotate' to give it a new value).\n",
        .run = run,
};
