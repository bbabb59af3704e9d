/* options.c — secretd's command line: the action ("init", --check-config,
 * --help, --version, or running the daemon) and where its configuration
 * comes from (--config, --dev). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "keys.h"
#include "options.h"
#include "secretd/log.h"

void options_usage(FILE *out) {
        fprintf(out,
                "Usage: secretd [OPTIONS]          run the daemon in the foreground\n"
                "       secretd init [OPTIONS]     create the state directory and master key\n"
                "\n"
                "Options:\n"
                "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ";\n"
                "                      built-in defaults when that file does not exist)\n"
                "      --dev DIR       development mode: every path under DIR, a master key\n"
                "                      created there on first run\n"
                "      --check-config  validate the configuration, print every error and warning, exit\n"
                "  -h, --help          show this help\n"
                "      --version       show the version\n"
                "\n"
                "The master key is read from $CREDENTIALS_DIRECTORY/" KEYS_CREDENTIAL_NAME " when\n"
                "systemd passes it as a credential, else from the configured master_key file.\n"
                "Exit status: 0 on success, 1 on error, 2 on bad usage.\n");
}

int options_parse(int argc, char **argv, struct options *ret) {
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
