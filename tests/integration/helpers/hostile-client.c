/* hostile-client.c — raw bytes on a Unix socket, where curl cannot go:
 * pipelined garbage, half-closed and slow connections, floods.
 *
 *   hostile-client SOCKET send [-h] [-d MS] [-w MS] [-o FILE]
 *       sends stdin as is (-d: one byte every MS milliseconds; -h: then
 *       shuts down its writing side), reads until the server closes or
 *       is silent for -w MS (default 3000), and prints the status code of
 *       every response it got ("200 400"), or "closed" when none came.
 *       -o keeps the raw bytes received.
 *   hostile-client SOCKET flood N [-w MS]
 *       opens N connections at once, then sends GET /v1/health on each and
 *       prints how they ended: "200=… 503=… closed=…" (codes sorted).
 *
 * Exit status 0 unless the socket could not be reached at all. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_MAX 4096

static const char *sock_path;

static int connect_to(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(sock_path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Reads until EOF, an error, or wait_ms without a byte; returns the count. */
static size_t read_all(int fd, char *buf, size_t max, int wait_ms) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        size_t got = 0;

        while (got < max) {
                ssize_t n;

                if (poll(&pfd, 1, wait_ms) <= 0)
                        break;
                n = read(fd, buf + got, max - got);
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        return got;
}

/* Prints the status code of each response in buf, walking them by their
 * Content-Length (so a status line inside a body is not a response), or
 * "closed" when there is none; "garbage" where a response should start
 * but does not. */
static void print_statuses(const char *buf, size_t n) {
        size_t pos = 0;
        int count = 0;

        while (pos < n) {
                const char *end = memmem(buf + pos, n - pos, "\r\n\r\n", 4), *cl;
                unsigned long body = 0;
                int code;

                if (n - pos < 12 || memcmp(buf + pos, "HTTP/1.", 7) != 0 || !end) {
                        printf("%sgarbage", count ? " " : "");
                        count++;
                        break;
                }
                code = atoi(buf + pos + 9);
                printf("%s%03d", count ? " " : "", code);
                count++;
                for (cl = buf + pos; cl && cl < end; cl = memchr(cl, '\n', (size_t) (end - cl))) {
                        cl++;
                        if (strncasecmp(cl, "Content-Length:", 15) == 0)
                                body = strtoul(cl + 15, NULL, 10);
                }
                if (code < 200)
                        body = 0;
                pos = (size_t) (end + 4 - buf);
                pos = body > n - pos ? n : pos + body;
        }
        puts(count ? "" : "closed");
}

static int do_send(int argc, char **argv) {
        static char in[1 << 20], out[1 << 20];
        const char *keep = NULL;
        long delay = 0;
        int wait_ms = 3000, half = 0, fd;
        size_t n = 0, got;
        ssize_t k;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "-h") == 0)
                        half = 1;
                else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
                        delay = atol(argv[++i]);
                else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
                        wait_ms = atoi(argv[++i]);
                else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
                        keep = argv[++i];
                else
                        return 2;
        }
        while (n < sizeof(in) && (k = read(0, in + n, sizeof(in) - n)) > 0)
                n += (size_t) k;
        fd = connect_to();
        if (fd < 0)
                return perror("connect"), 1;
        for (size_t off = 0; off < n;) {
                size_t chunk = delay ? 1 : n - off;

                k = send(fd, in + off, chunk, MSG_NOSIGNAL);
                if (k <= 0)
                        break; /* the server closed on us: see what it said */
                off += (size_t) k;
                if (delay && off < n)
                        sleep_ms(delay);
        }
        if (half)
                shutdown(fd, SHUT_WR);
        got = read_all(fd, out, sizeof(out), wait_ms);
        if (keep) {
                FILE *f = fopen(keep, "w");

                if (f) {
                        fwrite(out, 1, got, f);
                        fclose(f);
                }
        }
        print_statuses(out, got);
        close(fd);
        return 0;
}

static int do_flood(int argc, char **argv) {
        static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        static int fds[FLOOD_MAX];
        unsigned counts[1000] = { 0 };
        unsigned closed = 0, refused = 0;
        int n, wait_ms = 5000;
        char buf[4096];

        if (argc < 1)
                return 2;
        n = atoi(argv[0]);
        if (argc == 3 && strcmp(argv[1], "-w") == 0)
                wait_ms = atoi(argv[2]);
        if (n <= 0 || n > FLOOD_MAX)
                return 2;
        /* all connected before any request: "at once" */
        for (int i = 0; i < n; i++) {
                fds[i] = connect_to();
                if (fds[i] < 0)
                        refused++;
        }
        for (int i = 0; i < n; i++)
                if (fds[i] >= 0 && send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
                        close(fds[i]);
                        fds[i] = -1;
                        closed++;
                }
        for (int i = 0; i < n; i++) {
                size_t got;

                if (fds[i] < 0)
                        continue;
                got = read_all(fds[i], buf, sizeof(buf) - 1, wait_ms);
                if (got >= 12 && memcmp(buf, "HTTP/1.", 7) == 0) {
                        int code = atoi(buf + 9);

                        if (code > 0 && code < 1000)
                                counts[code]++;
                } else {
                        closed++;
                }
                close(fds[i]);
        }
        for (int c = 0; c < 1000; c++)
                if (counts[c])
                        printf("%d=%u ", c, counts[c]);
        printf("closed=%u refused=%u\n", closed, refused);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 3)
                return 2;
        sock_path = argv[1];
        if (strcmp(argv[2], "send") == 0)
                return do_send(argc - 3, argv + 3);
        if (strcmp(argv[2], "flood") == 0)
                return do_flood(argc - 3, argv + 3);
        return 2;
}
