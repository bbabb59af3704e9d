/* watch-flood.c — many parked watches, then every peer hangs up.
 *
 *   watch-flood SOCKET NAME AFTER N
 *
 * Opens N connections to SOCKET (an admin's, so that no per-peer bound
 * applies) and on each asks GET /v1/secrets/NAME/watch?after=AFTER with a
 * minute's timeout.  Then asks GET /v1/status on one more connection until
 * it shows N watchers: prints "parked N", closes every connection at once
 * and exits 0.  Any watch answered before that (a 429, say) is printed
 * and makes it exit 1.  Raises its own file limit to fit N. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONN_MAX 4096

static int dial(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("connect");
                exit(2);
        }
        return fd;
}

static void send_all(int fd, const char *s) {
        size_t n = strlen(s);

        while (n > 0) {
                ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

                if (w <= 0) {
                        perror("send");
                        exit(2);
                }
                s += w;
                n -= (size_t) w;
        }
}

/* The daemon's count of parked watches, or -1. */
static long watchers(const char *path) {
        char buf[4096];
        size_t used = 0;
        int fd = dial(path);
        const char *at;
        ssize_t r;

        send_all(fd, "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        while (used < sizeof(buf) - 1 && (r = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0)
                used += (size_t) r;
        close(fd);
        buf[used] = '\0';
        at = strstr(buf, "\"watchers\":");
        return at ? strtol(at + strlen("\"watchers\":"), NULL, 10) : -1;
}

int main(int argc, char **argv) {
        static struct pollfd pfd[CONN_MAX];
        struct rlimit rl;
        char req[512], buf[1024];
        long n;

        if (argc != 5 || (n = strtol(argv[4], NULL, 10)) < 1 || n > CONN_MAX) {
                fprintf(stderr, "usage: watch-flood SOCKET NAME AFTER N (N at most %d)\n", CONN_MAX);
                return 2;
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        snprintf(req, sizeof(req), "GET /v1/secrets/%s/watch?after=%s&timeout=60s HTTP/1.1\r\nHost: x\r\n\r\n",
                 argv[2], argv[3]);
        for (long i = 0; i < n; i++) {
                pfd[i] = (struct pollfd) { .fd = dial(argv[1]), .events = POLLIN };
                send_all(pfd[i].fd, req);
        }
        for (int tries = 0; tries < 200; tries++) {
                int ready = poll(pfd, (nfds_t) n, 50);

                if (ready > 0)
                        for (long i = 0; i < n; i++) {
                                ssize_t r;

                                if (!pfd[i].revents)
                                        continue;
                                r = read(pfd[i].fd, buf, sizeof(buf) - 1);
                                buf[r > 0 ? r : 0] = '\0';
                                printf("answered early (connection %ld): %s\n", i, buf);
                                return 1;
                        }
                if (watchers(argv[1]) == n) {
                        printf("parked %ld\n", n);
                        fflush(stdout);
                        for (long i = 0; i < n; i++)
                                close(pfd[i].fd);
                        return 0;
                }
        }
        printf("not all %ld parked: %ld\n", n, watchers(argv[1]));
        return 1;
}
