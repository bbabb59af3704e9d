/* runc-spec.h — what secretd-runc (runc-wrapper.c) knows of runc's command
 * line and of a bundle's config.json, apart from main() so that the unit
 * test (tests/unit/test-runc-wrapper.c) can drive it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* The hook's own deadline is 8 s (oci-hook.c); the runtime's is this. */
#define RUNC_HOOK_TIMEOUT_SEC 10

struct runc_call {
        int command;        /* argv index of runc's command; argc when there is none */
        bool creates;       /* create or run: the bundle must get the hook first */
        const char *bundle; /* --bundle's value, else "." (runc's default) */
};

/* Reads runc's argv as runc does: global options (some with a value),
 * then the command, then its options.  -EINVAL for a global option runc
 * does not have (*ret_bad names it): without knowing whether it takes a
 * value, the command cannot be told, and a create must not slip through
 * without the hook. */
int runc_call_parse(int argc, char *const *argv, struct runc_call *ret, const char **ret_bad);

/* {"path": hook, "args": ["secretd-oci-hook"(, "--config", config)],
 * "timeout": RUNC_HOOK_TIMEOUT_SEC}; config may be NULL or "". */
json_t *runc_hook_entry(const char *hook, const char *config);

/* Appends that entry to spec's hooks.createRuntime, keeping every hook
 * there, unless an entry with the same path is there already.  1 added,
 * 0 already there, -EINVAL when spec, hooks or createRuntime is not the
 * shape OCI says, -ENOMEM. */
int runc_spec_add_hook(json_t *spec, const char *hook, const char *config);

/* The same on BUNDLE/config.json, replaced whole (a temporary file in the
 * bundle with the same mode and owner, fsync, rename, fsync of the
 * directory) when it changed.  -EBADMSG when it is not JSON; -errno. */
int runc_bundle_add_hook(const char *bundle, const char *hook, const char *config);
