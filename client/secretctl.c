/* secretctl.c — the admin and workload client.
 *
 * For now only its help and version: the commands arrive with the daemon's
 * API (see the README's roadmap).  Values will only ever be read from stdin
 * or a file, never from argv. */
#include <stdio.h>
#include <string.h>

#ifndef SECRETD_VERSION
#define SECRETD_VERSION "0.1.0"
#endif

static void usage(FILE *out) {
        fprintf(out,
                "Usage: secretctl [--socket PATH] [--json] COMMAND [ARGS]\n"
                "\n"
                "Talks to secretd over its Unix socket.\n"
                "\n"
                "Commands (arriving with the daemon's HTTP API):\n"
                "  put NAME [-f FILE]        create a secret from stdin or FILE\n"
                "  get NAME [--version N]    print a secret's value\n"
                "  rotate NAME [-f FILE | --generate N]\n"
                "  rm NAME | ls | info NAME\n"
                "  lease [NAME...] [--ttl D] [--keep] | renew ID | revoke ID | leases\n"
                "  whoami | status | reload\n"
                "\n"
                "Options:\n"
                "  -h, --help     show this help\n"
                "      --version  show the version\n");
}

int main(int argc, char **argv) {
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--version") == 0) {
                printf("secretctl %s\n", SECRETD_VERSION);
                return 0;
        }
        usage(stderr);
        fprintf(stderr, "secretctl: commands are not implemented yet\n");
        return 2;
}
