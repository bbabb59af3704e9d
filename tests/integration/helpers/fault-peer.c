/* fault-peer.c — peers that vanish under the daemon's feet.
 *
 *   fault-peer vanish SOCKET CGROUP2_ROOT CGROUP N
 *     N times: a child joins CGROUP, connects, sends GET /v1/whoami, hands
 *     the connection to us and exits at once (we reap it straight away, so
 *     its /proc entry goes while the daemon may still be attesting it).
 *     We read the answer: the connection refused (closed, or a 403) or the
 *     child's own identity — the container in CGROUP, never admin, never anyone
 *     else's.  Prints how many of each.
 *
 *   fault-peer gone SOCKET CGROUP2_ROOT CGROUP N BODY
 *     N times: CGROUP is made, a child joins it, connects, sends
 *     POST /v1/leases BODY, hands us the connection, leaves the cgroup and
 *     exits; we remove CGROUP at once, mid-request, then read the answer.
 *     Prints the statuses seen ("201:3 closed:17 …"); what must be left
 *     behind (nothing, soon) is for the caller to check.
 *
 * CGROUP is relative to the cgroup2 mount CGROUP2_ROOT.
 * Exits 1 on a misattribution or a malformed answer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *sock, *cgroup;
static char home_procs[4300]; /* our own cgroup's cgroup.procs */

static void join(const char *procs) {
        int fd = open(procs, O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, "0", 1) != 1)
                _exit(3);
        close(fd);
}

static int send_fd(int via, int fd) {
        char c = 'x', cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(via, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int via) {
        char c, cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *cm;
        int fd;

        if (recvmsg(via, &mh, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&mh)) || cm->cmsg_type != SCM_RIGHTS)
                return -1;
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
}

/* A child in CGROUP connects and sends req, hands the socket over and
 * exits (leaving the cgroup first when leave is set).  Returns the socket,
 * its sender reaped. */
static int vanishing_request(const char *req, int leave) {
        int sp[2], fd, status;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                exit(2);
        pid = fork();
        if (pid < 0)
                exit(2);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                char procs[4300];
                int s;

                snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
                join(procs);
                strcpy(sa.sun_path, sock);
                s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(4);
                /* a refused connection may already be closed: that is fine */
                (void) !send(s, req, strlen(req), MSG_NOSIGNAL);
                if (send_fd(sp[1], s) < 0)
                        _exit(5);
                if (leave)
                        join(home_procs);
                _exit(0);
        }
        close(sp[1]);
        fd = recv_fd(sp[0]);
        close(sp[0]);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "fault-peer: child failed (status 0x%x)\n", status);
                exit(1);
        }
        if (fd < 0)
                exit(2);
        return fd;
}

/* The whole answer; its status, or 0 when the connection was closed. */
static int read_answer(int fd, char *buf, size_t len) {
        size_t got = 0;
        ssize_t n;

        while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
                got += (size_t) n;
        close(fd);
        buf[got] = '\0';
        if (got == 0)
                return 0;
        if (strncmp(buf, "HTTP/1.1 ", 9) != 0) {
                fprintf(stderr, "fault-peer: not HTTP: %.200s\n", buf);
                exit(1);
        }
        return atoi(buf + 9);
}

static void mode_vanish(int n) {
        const char *req = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        const char *base = strrchr(cgroup, '/');
        char want[256], buf[16384];
        int served = 0, closed = 0, refused = 0;

        /* ".../docker-<id>.scope" → "identity":"docker:<id>" */
        base = base ? base + 1 : cgroup;
        if (strncmp(base, "docker-", 7) != 0 || strlen(base) != 7 + 64 + 6)
                exit(2);
        snprintf(want, sizeof(want), "\"identity\":\"docker:%.64s\"", base + 7);
        for (int k = 0; k < n; k++) {
                int st = read_answer(vanishing_request(req, 0), buf, sizeof(buf));

                if (st == 0) {
                        closed++;
                        continue;
                }
                if (st == 403 && strstr(buf, "\"code\":\"forbidden\"") && !strstr(buf, "\"identity\"")) {
                        refused++;
                        continue;
                }
                if (st != 200 || !strstr(buf, want) || !strstr(buf, "\"admin\":false")) {
                        fprintf(stderr, "fault-peer: a vanished peer was served as someone else: %.600s\n", buf);
                        exit(1);
                }
                served++;
        }
        printf("served %d, refused %d (403), closed %d\n", served, refused, closed);
}

static void mode_gone(int n, const char *body) {
        char req[4096], buf[16384];
        int counts[600] = {};

        snprintf(req, sizeof(req),
                 "POST /v1/leases HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
        for (int k = 0; k < n; k++) {
                int fd, st;

                if (mkdir(cgroup, 0755) < 0 && errno != EEXIST)
                        exit(2);
                fd = vanishing_request(req, 1);
                /* the child left and is reaped: the cgroup goes now,
                 * while the daemon may still be working on the request */
                for (int tries = 0; rmdir(cgroup) < 0; tries++) {
                        struct timespec ts = { 0, 1000000 };

                        if (errno != EBUSY || tries > 5000) {
                                fprintf(stderr, "fault-peer: rmdir %s: %m\n", cgroup);
                                exit(1);
                        }
                        nanosleep(&ts, NULL);
                }
                st = read_answer(fd, buf, sizeof(buf));
                if (st < 0 || st >= 600)
                        exit(1);
                if (st >= 500) {
                        fprintf(stderr, "fault-peer: lease from a vanishing cgroup: %.600s\n", buf);
                        exit(1);
                }
                counts[st]++;
        }
        for (int s = 0; s < 600; s++)
                if (counts[s])
                        printf("%s%d:%d", s == 0 ? "" : " ", s, counts[s]);
        printf(" (0 = closed)\n");
}

int main(int argc, char **argv) {
        static char cg[4300];
        char line[4096];
        FILE *f;

        if (argc < 6)
                return 2;
        sock = argv[2];
        if (strlen(sock) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
                return 2;
        snprintf(cg, sizeof(cg), "%s%s", argv[3], argv[4]);
        cgroup = cg;
        /* our own cgroup, to leave the container's for (the "0::" line:
         * on a hybrid host it comes after the v1 ones) */
        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return 2;
        while (fgets(line, sizeof(line), f) && strncmp(line, "0::", 3) != 0)
                ;
        fclose(f);
        if (strncmp(line, "0::", 3) != 0)
                return 2;
        line[strcspn(line, "\n")] = '\0';
        snprintf(home_procs, sizeof(home_procs), "%s%s/cgroup.procs", argv[3], strcmp(line + 3, "/") ? line + 3 : "");
        if (strcmp(argv[1], "vanish") == 0 && argc == 6)
                mode_vanish(atoi(argv[5]));
        else if (strcmp(argv[1], "gone") == 0 && argc == 7)
                mode_gone(atoi(argv[5]), argv[6]);
        else
                return 2;
        return 0;
}
