/* loop.c — the main loop: one epoll set for signals, both HTTP daemons,
 * the watchdog, the leases' timer and cgroup watches and, with etcd, the
 * other hosts' changes; between requests
 * the start-up store scan, and now and then a sweep for ended workloads. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "daemon.h"
#include "etcd-watch.h"
#include "fleet.h"
#include "http.h"
#include "keys.h"
#include "leasing.h"
#include "service.h"
#include "secretd/cleanup.h"
#include "secretd/log.h"
#include "store.h"

#define SWEEP_PERIOD_MS 5000
#define STORE_SCAN_SLICE 64 /* about a millisecond of opening */

/* One slice of the scan; says when it is done. */
static void store_scan_step(struct daemon_ctx *d) {
        struct store_scan *sc = &d->scan;
        struct store_meta m;
        int r;

        for (size_t end = sc->next + STORE_SCAN_SLICE; sc->next < sc->n && sc->next < end; sc->next++) {
                r = store_meta(d->server.store, sc->names[sc->next], &m);
                if (r < 0 && r != -ENOENT) { /* deleted meanwhile is fine */
                        log_warn_errno(r, "secret '%s' cannot be read: %m; serving the others",
                                       sc->names[sc->next]);
                        sc->damaged++;
                }
        }
        if (sc->next < sc->n)
                return;
        if (sc->damaged)
                log_warn("store check: %u of %zu secrets cannot be read", sc->damaged, sc->n);
        backend_keys_free(sc->names, sc->n);
        *sc = (struct store_scan) {};
}

int loop_signals_open(void) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

static int loop_add(int epfd, int fd) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int loop_watchdog_timer(uint64_t interval_usec) {
        struct itimerspec its = {};
        int fd;

        fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        its.it_value.tv_sec = (time_t) (interval_usec / 1000000);
        its.it_value.tv_nsec = (long) (interval_usec % 1000000) * 1000;
        its.it_interval = its.it_value;
        if (timerfd_settime(fd, 0, &its, NULL) < 0) {
                safe_close(fd);
                return -errno;
        }
        return fd;
}

/* Returns 1 to keep going, 0 to stop. */
static int handle_signal(struct daemon_ctx *d, int sfd) {
        struct signalfd_siginfo si;
        _cleanup_free_ char *reasons = NULL;

        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                        (void) d->server.reload(&d->server, &reasons);
                        free(TAKE_PTR(reasons));
                        continue;
                }
                if (si.ssi_signo == SIGPIPE)
                        continue;
                log_info("stopping on signal %u", si.ssi_signo);
                return 0;
        }
        return 1;
}

/* One epoll set for everything the loop waits on: signals, both HTTP
 * daemons, the watchdog timer (when systemd wants pings), the lease
 * expiry timer and the cgroup watches. */
static int loop_open(struct daemon_ctx *d) {
        _cleanup_close_ int epfd = -1;
        int http_fds[HTTP_EPOLL_FDS_MAX];
        size_t n_http;
        int r;

        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
                return log_error_errno(errno, "epoll_create1: %m");
        n_http = http_epoll_fds(d->http, http_fds);
        r = loop_add(epfd, d->signal_fd);
        for (size_t i = 0; r >= 0 && i < n_http; i++)
                r = loop_add(epfd, http_fds[i]);
        if (r >= 0 && d->watchdog_fd >= 0)
                r = loop_add(epfd, d->watchdog_fd);
        if (r >= 0)
                r = loop_add(epfd, leasing_timer_fd(d->server.leasing));
        if (r >= 0)
                r = loop_add(epfd, leasing_watch_fd(d->server.leasing));
        if (r >= 0 && d->fleet)
                r = loop_add(epfd, etcd_watch_fd(d->fleet));
        if (r < 0)
                return log_error_errno(r, "epoll_ctl: %m");
        return TAKE_FD(epfd);
}

/* How long one wait may last. */
static int loop_timeout_ms(struct daemon_ctx *d) {
        int timeout = http_timeout_ms(d->http), lock_in;

        /* wake at least every sweep period */
        if (timeout < 0 || timeout > SWEEP_PERIOD_MS)
                timeout = SWEEP_PERIOD_MS;
        if (d->scan.names)
                timeout = 0; /* the store scan goes on between requests */
        /* the master key goes PROT_NONE once we have been idle a
         * moment: wake to close it if nothing else comes */
        lock_in = keys_lock_idle(d->server.keys);
        if (lock_in >= 0 && lock_in < timeout)
                timeout = lock_in;
        return timeout;
}

/* The events of one wait; returns 0 to stop, 1 to keep going. */
static int loop_dispatch(struct daemon_ctx *d, const struct epoll_event *evs, int n) {
        for (int i = 0; i < n; i++) {
                int fd = evs[i].data.fd;

                if (fd == d->signal_fd && handle_signal(d, d->signal_fd) == 0)
                        return 0;
                if (fd == leasing_timer_fd(d->server.leasing))
                        leasing_expire(d->server.leasing);
                if (fd == leasing_watch_fd(d->server.leasing))
                        leasing_watch_events(d->server.leasing);
                if (d->fleet && fd == etcd_watch_fd(d->fleet)) {
                        struct etcd_event ev;

                        /* a few at a time: requests are not held behind a burst */
                        for (int k = 0; k < 64 && etcd_watch_next(d->fleet, &ev) > 0; k++)
                                fleet_apply(&d->server, &ev);
                }
                if (fd == d->watchdog_fd) {
                        uint64_t ticks;

                        if (read(d->watchdog_fd, &ticks, sizeof(ticks)) == (ssize_t) sizeof(ticks))
                                service_watchdog_ping();
                }
        }
        return 1;
}

/* What every pass does, events or not. */
static void loop_pass(struct daemon_ctx *d, int64_t *next_sweep) {
        struct timespec ts;
        int64_t now;

        /* Both MHD daemons: one that was at its connection limit puts its
         * listening socket back into its epoll set only when run, with no
         * event to wake it for that (running only the ready one stalled
         * t-hostile's flood behind held connections). */
        http_run(d->http);
        if (d->scan.names)
                store_scan_step(d);
        /* Behind the cgroup watches, a periodic look catches any
         * workload whose end they missed. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (now >= *next_sweep) {
                leasing_sweep(d->server.leasing);
                *next_sweep = now + SWEEP_PERIOD_MS;
        }
}

int loop_run(struct daemon_ctx *d) {
        _cleanup_close_ int epfd = loop_open(d);
        int64_t next_sweep = 0;

        if (epfd < 0)
                return epfd;
        for (;;) {
                struct epoll_event evs[8];
                int n = epoll_wait(epfd, evs, ELEMENTSOF(evs), loop_timeout_ms(d));

                if (n < 0 && errno != EINTR)
                        return log_error_errno(errno, "epoll_wait: %m");
                if (loop_dispatch(d, evs, n) == 0)
                        return 0;
                loop_pass(d, &next_sweep);
        }
}
