/* cmd-rotate.c — `secretctl rotate NAME [-f FILE | --generate N
 * [--encoding base64|hex|raw]]`: a new version, pushed by the daemon to
 * every live lease before it answers.  --generate lets the daemon make
 * the value, so it never passes through the client at all. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "secretctl.h"

#define VALUE_READ_MAX (64u * 1024 * 1024)

static int print_result(const struct ctl *c, const char *name, const struct reply *r) {
        _cleanup_json_ json_t *j = json_loadb((const char *) r->body->data, r->body->len, 0, NULL);

        if (!j) {
                fprintf(stderr, "secretctl: %s: secretd's reply is not JSON\n", c->command);
                return EXIT_ERROR;
        }
        if (c->json) {
                print_json(j);
                return EXIT_OK;
        }
        if (json_is_true(json_object_get(j, "unchanged"))) {
                printf("%s unchanged: the value is version %lld's; nothing written\n", name, json_int(j, "version"));
                return EXIT_OK;
        }
        printf("rotated %s to version %lld (%lld bytes); %lld leased file%s updated\n", name,
               json_int(j, "version"), json_int(j, "size"), json_int(j, "leases_updated"),
               json_int(j, "leases_updated") == 1 ? "" : "s");
        return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv) {
        static const struct option options[] = {
                { "file", required_argument, NULL, 'f' },
                { "generate", required_argument, NULL, 'g' },
                { "encoding", required_argument, NULL, 'e' },
                { "allow-empty", no_argument, NULL, 'E' },
                { "part", required_argument, NULL, 'p' },
                {},
        };
        _cleanup_(secbuf_freep) struct secbuf *value = NULL;
        struct part_args parts = {};
        const char *file = NULL, *generate = NULL, *encoding = NULL, *name;
        struct reply r = {};
        char path[256], query[64];
        uint64_t n = 0;
        bool allow_empty = false;
        int opt, x;

        while ((opt = getopt_long(argc, argv, "f:g:e:p:", options, NULL)) >= 0) {
                if (opt == 'f')
                        file = optarg;
                else if (opt == 'g')
                        generate = optarg;
                else if (opt == 'e')
                        encoding = optarg;
                else if (opt == 'E')
                        allow_empty = true;
                else if (opt == 'p') {
                        if ((x = part_arg(c, &parts, optarg)) != EXIT_OK)
                                return x;
                } else
                        return usage_error(c, "unknown option");
        }
        x = name_operand(c, argc, argv, false, &name);
        if (x != EXIT_OK)
                return x;
        if (parts.n && (file || generate || allow_empty))
                return usage_error(c, "--part rotates a set: -f, --generate and --allow-empty are for a value");
        if (file && generate)
                return usage_error(c, "-f and --generate exclude each other");
        if (allow_empty && generate)
                return usage_error(c, "--allow-empty goes with a value read, not --generate");
        if (encoding && !generate)
                return usage_error(c, "--encoding goes with --generate");
        if (encoding && strcmp(encoding, "base64") != 0 && strcmp(encoding, "hex") != 0 &&
            strcmp(encoding, "raw") != 0)
                return usage_error(c, "--encoding is base64, hex or raw, not '%s'", encoding);
        if (generate && (x = count_arg(c, "--generate", generate, 1, 65536, &n)) != EXIT_OK)
                return x;

        if (generate) {
                snprintf(query, sizeof(query), "generate=%" PRIu64 "&encoding=%s", n, encoding ? encoding : "base64");
                (void) api_path(path, sizeof(path), API_ROUTE_SECRET_ROTATE, name, query);
                x = ctl_call(c, "POST", path, NULL, 0, NULL, &r);
        } else {
                x = parts.n ? read_set(c, &parts, name, VALUE_READ_MAX, &value)
                            : read_value(c, file, name, VALUE_READ_MAX, &value);
                if (x != EXIT_OK)
                        return x;
                (void) api_path(path, sizeof(path), API_ROUTE_SECRET_ROTATE, name,
                                allow_empty ? "allow_empty=1" : NULL);
                x = ctl_call(c, "POST", path, value->data, value->len,
                             parts.n ? SET_CONTENT_TYPE : "application/octet-stream", &r);
        }
        if (x != EXIT_OK)
                return x;
        x = r.status == 200 ? print_result(c, name, &r) : reply_failed(c, &r);
        reply_done(&r);
        return x;
}

const struct command cmd_rotate = {
        .name = "rotate",
        .args = "NAME [-f FILE [--allow-empty] | --generate N [--encoding E] | --part PART=FILE...]",
        .summary = "Give the secret NAME a new version and update every live lease",
        .help = "Options:\n"
                "  -f, --file FILE      read the new value from FILE ('-' is standard input)\n"
                "  -g, --generate N     let secretd generate N random bytes (1 to 65536)\n"
                "  -e, --encoding E     how generated bytes are stored: base64 (default), hex, raw\n"
                "  --allow-empty        store an empty value (refused without it)\n"
                "  -p, --part PART=FILE a set's new version: every part, each read from FILE\n"
                "                       ('-' is standard input); once per part\n"
                "\n"
                "Without -f or --generate the value is read from standard input (on a terminal,\n"
                "one line without echo).  The previous version stays readable with\n"
                "'get --version'.  A set is rotated whole: every leased copy switches to all\n"
                "the new parts in one step, and its on_rotate signal is sent once.\n",
        .run = run,
};
