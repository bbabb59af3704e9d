/* exit-watch.c — the workload-exit watch (see exit-watch.h): cgroup.events
 * read and watched through the cgroup2 root opened at start-up. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "exit-watch.h"
#include "secretd/cleanup.h"

int exit_watch_open(void) {
        int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

int exit_watch_add(int watch_fd, int cgroup2_fd, const char *cgroup) {
        char path[4300];
        int wd;

        /* inotify takes a path: the root's fd spelled as one */
        snprintf(path, sizeof(path), "/proc/self/fd/%d%s/cgroup.events", cgroup2_fd, cgroup);
        wd = inotify_add_watch(watch_fd, path, IN_MODIFY);
        return wd < 0 ? -errno : wd;
}

void exit_watch_remove(int watch_fd, int wd) {
        if (wd >= 0)
                (void) inotify_rm_watch(watch_fd, wd);
}

void exit_watch_read(int watch_fd, exit_watch_fn fn, void *userdata) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        while ((n = read(watch_fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(*ev) + ev->len;
                        fn(userdata, ev->wd, ev->mask & IN_IGNORED);
                }
        }
}

bool exit_watch_populated(int cgroup2_fd, const char *cgroup) {
        char path[4200], buf[256];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "%s/cgroup.events", cgroup + 1);
        fd = openat(cgroup2_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        safe_close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        return !strstr(buf, "populated 0");
}
