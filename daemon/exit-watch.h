/* exit-watch.h — the workload-exit watch: whether a workload's cgroup
 * still has processes, and inotify watches on cgroup.events that say when
 * it may have emptied.  Knows cgroups, not leases: the caller maps a
 * watch back to whatever it watches for.  Never logs. */
#pragma once

#include <stdbool.h>

/* A non-blocking inotify fd to hold the watches; -errno. */
int exit_watch_open(void);
/* Watches cgroup (a path below the cgroup2 root, "/…") for a change of
 * its cgroup.events; the watch descriptor, or -errno. */
int exit_watch_add(int watch_fd, int cgroup2_fd, const char *cgroup);
void exit_watch_remove(int watch_fd, int wd);

/* dropped: the kernel removed the watch (the cgroup is gone). */
typedef void (*exit_watch_fn)(void *userdata, int wd, bool dropped);
/* Reads every pending event and calls fn for each. */
void exit_watch_read(int watch_fd, exit_watch_fn fn, void *userdata);

/* Whether cgroup still has processes; one that is gone (or cannot be
 * read) has none. */
bool exit_watch_populated(int cgroup2_fd, const char *cgroup);
