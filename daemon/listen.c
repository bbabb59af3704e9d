/* listen.c — bind or inherit the Unix sockets (see listen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen.h"
#include "secretd/cleanup.h"
#include "secretd/fileio.h"

#define LISTEN_BACKLOG 512

static int fill_addr(const char *path, struct sockaddr_un *sa) {
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        strcpy(sa->sun_path, path);
        return 0;
}

/* A socket file nobody answers on is left over from a crash; one that
 * answers belongs to a running daemon, which we must not rob. */
static int clear_stale(const char *path) {
        struct sockaddr_un sa;
        struct stat st;
        _cleanup_close_ int fd = -1;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST; /* not ours to delete */
        r = fill_addr(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED && errno != ENOENT)
                return -errno;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* The socket's directory, made when missing: 0755 (workloads must reach
 * their socket), or 0700 for one root alone may reach. */
static int make_socket_dir(const char *path, mode_t dir_mode) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        int r;

        if (!dir)
                return -ENOMEM;
        if (dir_mode == 0755 || !slash || slash == dir)
                return mkdir_parent(path, 0755);
        *slash = '\0';
        r = mkdir_parent(dir, 0755);
        if (r < 0)
                return r;
        return mkdir(dir, dir_mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int bind_unix(const char *path, mode_t mode, gid_t gid, mode_t dir_mode) {
        struct sockaddr_un sa;
        _cleanup_close_ int fd = -1;
        int r;

        r = fill_addr(path, &sa);
        if (r < 0)
                return r;
        r = make_socket_dir(path, dir_mode);
        if (r < 0)
                return r;
        r = clear_stale(path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Bound under umask 077, then opened up: never wider than meant. */
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (gid != (gid_t) -1 && chown(path, (uid_t) -1, gid) < 0)
                return -errno;
        if (chmod(path, mode) < 0)
                return -errno;
        if (listen(fd, LISTEN_BACKLOG) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int from_systemd(struct listeners *l) {
        char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n <= 0)
                return n;
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                int *slot = NULL;

                if (names && strcmp(names[i], "admin") == 0)
                        slot = &l->admin_fd;
                else if (names && strcmp(names[i], "workload") == 0)
                        slot = &l->workload_fd;
                else if (names && strcmp(names[i], "hook") == 0)
                        slot = &l->hook_fd;
                if (!slot || *slot >= 0 || sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                        n = -ENOTSOCK;
                        break;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                *slot = fd;
        }
        for (int i = 0; names && names[i]; i++)
                free(names[i]);
        free(names);
        if (n < 0)
                return n;
        l->from_systemd = true;
        return 1;
}

int listen_open(const char *admin_path, const char *workload_path, gid_t admin_gid, struct listeners *ret) {
        struct listeners l = { .admin_fd = -1, .workload_fd = -1, .hook_fd = -1 };
        int r;

        r = from_systemd(&l);
        if (r < 0)
                return r;
        if (r > 0 && l.admin_fd >= 0 && l.workload_fd >= 0) {
                *ret = l;
                return 0;
        }
        /* Whatever systemd did not pass, we bind ourselves. */
        if (l.admin_fd < 0) {
                l.admin_fd = bind_unix(admin_path, 0660, admin_gid, 0755);
                if (l.admin_fd < 0)
                        return l.admin_fd;
        }
        if (l.workload_fd < 0) {
                l.workload_fd = bind_unix(workload_path, 0666, (gid_t) -1, 0755);
                if (l.workload_fd < 0) {
                        r = l.workload_fd;
                        safe_close(l.admin_fd);
                        safe_close(l.hook_fd);
                        return r;
                }
        }
        l.from_systemd = false;
        *ret = l;
        return 0;
}

int listen_open_hook(const char *hook_path, struct listeners *l) {
        if (l->hook_fd >= 0 || !hook_path)
                return 0;
        l->hook_fd = bind_unix(hook_path, 0600, (gid_t) -1, 0700);
        if (l->hook_fd < 0) {
                int r = l->hook_fd;

                l->hook_fd = -1;
                return r;
        }
        l->hook_bound = true;
        return 0;
}

void listen_unlink(const struct listeners *l, const char *admin_path, const char *workload_path,
                   const char *hook_path) {
        if (l->hook_bound && hook_path)
                (void) unlink(hook_path);
        if (l->from_systemd)
                return;
        (void) unlink(admin_path);
        (void) unlink(workload_path);
}
