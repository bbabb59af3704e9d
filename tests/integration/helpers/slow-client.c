/* slow-client.c — clients that start a request and never finish it.
 *
 *   slow-client SOCKET SECONDS [N [DRIBBLE_MS [line]]]
 *
 * Opens N connections (default 1) at once and on each starts a request.
 * With DRIBBLE_MS it then sends one more header byte every DRIBBLE_MS
 * milliseconds (what resets an idle timeout), never ending the headers;
 * with "line", the bytes go into the request line, never ending it.
 * For each connection, in order, prints "closed after N ms" when the
 * server gave up on it (N counted from its connect), or "held" when it was
 * still open after SECONDS. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv) {
        static struct pollfd pfd[CONN_MAX];
        static long start[CONN_MAX], closed[CONN_MAX];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *partial = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        long limit, dribble = 0, begin, next_byte;
        int n = 1, open_n;
        char buf[256];

        if (argc < 3 || argc > 6 || strlen(argv[1]) >= sizeof(sa.sun_path))
                return 2;
        strcpy(sa.sun_path, argv[1]);
        limit = atol(argv[2]) * 1000;
        if (argc > 3)
                n = atoi(argv[3]);
        if (argc > 4)
                dribble = atol(argv[4]);
        if (argc > 5 && strcmp(argv[5], "line") == 0)
                partial = "GET /v1/health";
        if (n < 1 || n > CONN_MAX || dribble < 0)
                return 2;
        for (int i = 0; i < n; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return perror("connect"), 1;
                start[i] = now_ms();
                /* a connection the server already closed fails here: that
                 * is an answer, not an error */
                (void) send(fd, partial, strlen(partial), MSG_NOSIGNAL);
                pfd[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        begin = now_ms();
        next_byte = begin + dribble;
        open_n = n;
        while (open_n > 0 && now_ms() - begin < limit) {
                if (poll(pfd, (nfds_t) n, 50) < 0 && errno != EINTR)
                        return perror("poll"), 1;
                for (int i = 0; i < n; i++) {
                        if (pfd[i].fd < 0 || !pfd[i].revents)
                                continue;
                        if (read(pfd[i].fd, buf, sizeof(buf)) > 0)
                                continue; /* a reply: the server has not given up yet */
                        closed[i] = now_ms() - start[i];
                        close(pfd[i].fd);
                        pfd[i].fd = -1;
                        open_n--;
                }
                if (dribble && now_ms() >= next_byte) {
                        for (int i = 0; i < n; i++)
                                if (pfd[i].fd >= 0)
                                        (void) send(pfd[i].fd, "a", 1, MSG_NOSIGNAL);
                        next_byte += dribble;
                }
        }
        for (int i = 0; i < n; i++) {
                if (pfd[i].fd >= 0)
                        puts("held");
                else
                        printf("closed after %ld ms\n", closed[i]);
        }
        return 0;
}
