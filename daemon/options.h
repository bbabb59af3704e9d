/* options.h — secretd's command line: what to do, and with which
 * configuration. */
#pragma once

#include <stdio.h>

enum action { ACTION_RUN, ACTION_INIT, ACTION_CHECK_CONFIG, ACTION_HELP, ACTION_VERSION };

struct options {
        enum action action;
        const char *config_path; /* NULL: the default path */
        const char *dev_dir;     /* --dev: embedded dev config under this dir */
};

/* The --help text. */
void options_usage(FILE *out);
/* Parses argv; -EINVAL (logged) on bad usage. */
int options_parse(int argc, char **argv, struct options *ret);
