/* paths.h — where daemon and client look for each other by default: the
 * config file (the client reads the socket paths from it too) and the two
 * sockets.  A config file moves the sockets; these are its defaults. */
#pragma once

#define SECRETD_CONFIG_FILE "/etc/secretd/secretd.json"
#define SECRETD_RUNTIME_DIR "/run/secretd"
#define SECRETD_ADMIN_SOCKET SECRETD_RUNTIME_DIR "/admin.sock"
#define SECRETD_WORKLOAD_SOCKET SECRETD_RUNTIME_DIR "/workload/workload.sock"
/* The OCI hook's socket: 0600 root in a 0700 directory, uid 0 alone. */
#define SECRETD_HOOK_SOCKET SECRETD_RUNTIME_DIR "/hook/hook.sock"
/* Where containers mounted the workload socket file before it had a
 * directory of its own; the client still looks there. */
#define SECRETD_LEGACY_WORKLOAD_SOCKET SECRETD_RUNTIME_DIR "/workload.sock"
