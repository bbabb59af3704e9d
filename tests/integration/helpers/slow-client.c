/* slow-client.c — a client that starts a request and never finishes it.
 * Prints "closed after N ms" when the server gives up on it, or "held"
 * when it was still open after the given number of seconds.
 * Usage: slow-client SOCKET SECONDS */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *partial = "GET /v1/health HTTP/1.1\r\nHost: x\r\n";
        struct pollfd pfd;
        char buf[256];
        long start, limit;
        int fd;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path))
                return 2;
        strcpy(sa.sun_path, argv[1]);
        limit = atol(argv[2]) * 1000;
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return perror("connect"), 1;
        if (write(fd, partial, strlen(partial)) < 0)
                return perror("write"), 1;
        start = now_ms();
        pfd = (struct pollfd) { .fd = fd, .events = POLLIN };
        while (now_ms() - start < limit) {
                if (poll(&pfd, 1, 100) > 0 && read(fd, buf, sizeof(buf)) <= 0) {
                        printf("closed after %ld ms\n", now_ms() - start);
                        return 0;
                }
        }
        puts("held");
        return 0;
}
