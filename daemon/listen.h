/* listen.h — the two API sockets: from systemd socket activation when it
 * passes them (told apart by FileDescriptorName=admin / =workload), else
 * bound here. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct listeners {
        int admin_fd;
        int workload_fd;
        bool from_systemd; /* then the paths are systemd's to remove */
};

/* admin_gid: group of admin.sock (0660), or (gid_t) -1 to leave it. -EADDRINUSE
 * when a live daemon answers on either path; a stale socket file is replaced.
 * -ENOTSOCK when systemd passed something that is not a listening Unix
 * stream socket. */
int listen_open(const char *admin_path, const char *workload_path, gid_t admin_gid, struct listeners *ret);
/* Removes the socket files we bound (not systemd's). */
void listen_unlink(const struct listeners *l, const char *admin_path, const char *workload_path);
