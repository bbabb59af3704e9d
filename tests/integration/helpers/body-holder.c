/* body-holder.c — many connections that announce a body and hold it back.
 *
 *   body-holder SOCKET N METHOD PATH CONTENT_LENGTH SEND SECONDS
 *
 * Opens N connections; on each sends METHOD PATH with the given
 * Content-Length and then SEND bytes of it (of '{', never valid JSON),
 * and never the rest.  Prints "sent" once every connection has had its
 * bytes (the caller measures then), holds them SECONDS, and prints how
 * they ended: "403=… closed=… held=…" (the first status each got, codes
 * sorted; closed: closed without one; held: still open, no reply). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAX 4096

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

int main(int argc, char **argv) {
        static struct pollfd pfd[CONN_MAX];
        static int status[CONN_MAX]; /* 0: held, -1: closed, else the code */
        static char body[1 << 16];
        struct rlimit rl;
        char head[512], buf[512];
        long limit, begin;
        size_t send_n;
        int n, open_n, counts[1000] = {}, closed = 0, held = 0;

        if (argc != 8)
                return 2;
        n = atoi(argv[2]);
        send_n = (size_t) atol(argv[6]);
        limit = atol(argv[7]) * 1000;
        if (n < 1 || n > CONN_MAX || send_n > sizeof(body))
                return 2;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        memset(body, '{', sizeof(body));
        snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: %s\r\n\r\n", argv[3], argv[4], argv[5]);
        for (int i = 0; i < n; i++) {
                int fd = connect_to(argv[1]);

                if (fd < 0)
                        return perror("connect"), 1;
                /* refused early, the server may have closed already: an answer */
                (void) send(fd, head, strlen(head), MSG_NOSIGNAL);
                if (send_n)
                        (void) send(fd, body, send_n, MSG_NOSIGNAL);
                pfd[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        puts("sent");
        fflush(stdout);
        begin = now_ms();
        open_n = n;
        while (open_n > 0 && now_ms() - begin < limit) {
                if (poll(pfd, (nfds_t) n, 100) < 0 && errno != EINTR)
                        return perror("poll"), 1;
                for (int i = 0; i < n; i++) {
                        ssize_t got;
                        int code;

                        if (pfd[i].fd < 0 || !pfd[i].revents)
                                continue;
                        got = read(pfd[i].fd, buf, sizeof(buf) - 1);
                        if (got > 0) {
                                buf[got] = '\0';
                                if (status[i] == 0 && sscanf(buf, "HTTP/1.1 %d", &code) == 1 && code > 0 &&
                                    code < 1000)
                                        status[i] = code;
                                continue;
                        }
                        if (status[i] == 0)
                                status[i] = -1;
                        close(pfd[i].fd);
                        pfd[i].fd = -1;
                        open_n--;
                }
        }
        for (int i = 0; i < n; i++) {
                if (status[i] > 0)
                        counts[status[i]]++;
                else if (status[i] < 0)
                        closed++;
                else
                        held++;
        }
        for (int c = 100; c < 1000; c++)
                if (counts[c])
                        printf("%d=%d ", c, counts[c]);
        printf("closed=%d held=%d\n", closed, held);
        return 0;
}
