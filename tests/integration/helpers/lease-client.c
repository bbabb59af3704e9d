/* lease-client.c — the smallest workload client, built static so it runs
 * in a bare busybox container: POSTs a JSON body to /v1/leases (or GETs a
 * path) over a Unix socket and prints the status line and the body.
 * Usage: lease-client SOCKET [JSON-BODY | GET:/path] */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *body = argc > 2 ? argv[2] : "{}";
        char req[4096], buf[8192];
        size_t got = 0;
        ssize_t n;
        int fd, len;

        if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path))
                return 2;
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return perror("connect"), 1;
        if (strncmp(body, "GET:", 4) == 0)
                len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", body + 4);
        else
                len = snprintf(req, sizeof(req),
                               "POST /v1/leases HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                               strlen(body), body);
        if (len < 0 || (size_t) len >= sizeof(req) || write(fd, req, (size_t) len) != len)
                return 1;
        while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
                got += (size_t) n;
        buf[got] = '\0';
        /* status line, then the body after the blank line */
        printf("%.*s\n", (int) strcspn(buf, "\r\n"), buf);
        if (strstr(buf, "\r\n\r\n"))
                printf("%s\n", strstr(buf, "\r\n\r\n") + 4);
        return strncmp(buf, "HTTP/1.1 2", 10) == 0 ? 0 : 1;
}
