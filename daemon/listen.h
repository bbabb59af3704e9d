/* listen.h — the API sockets and the OCI hook's: from systemd socket
 * activation when it passes them (told apart by FileDescriptorName=admin /
 * =workload / =hook), else bound here. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct listeners {
        int admin_fd;
        int workload_fd;
        int hook_fd;       /* -1 when not served (an unprivileged daemon) */
        bool from_systemd; /* then the paths are systemd's to remove */
        bool hook_bound;   /* the hook's socket is ours to remove */
};

/* admin_gid: group of admin.sock (0660), or (gid_t) -1 to leave it. -EADDRINUSE
 * when a live daemon answers on either path; a stale socket file is replaced.
 * -ENOTSOCK when systemd passed something that is not a listening Unix
 * stream socket. */
int listen_open(const char *admin_path, const char *workload_path, gid_t admin_gid, struct listeners *ret);
/* The hook's socket, 0600 in a directory of its own made 0700 (hook_path
 * NULL: none); after listen_open(), which may have had it from systemd. */
int listen_open_hook(const char *hook_path, struct listeners *l);
/* Removes the socket files we bound (not systemd's). */
void listen_unlink(const struct listeners *l, const char *admin_path, const char *workload_path,
                   const char *hook_path);
