/* signal-probe.c — a process that tells which signals reached it.
 *
 *   signal-probe FILE
 *
 * Creates FILE empty (its existence says the probe is ready to count),
 * then appends one line with the name of every signal it receives
 * ("SIGHUP", "SIGUSR1", …) and otherwise sleeps.  SIGTERM ends it (and is
 * not recorded).  The signals are taken with sigwaitinfo(), not handlers:
 * as pid 1 of a pid namespace it must not depend on default actions, which
 * the kernel ignores there for signals from inside the namespace. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
        int sig;
        const char *name;
} names[] = {
        { SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" },   { SIGUSR1, "SIGUSR1" },
        { SIGUSR2, "SIGUSR2" }, { SIGALRM, "SIGALRM" }, { SIGWINCH, "SIGWINCH" }, { SIGCONT, "SIGCONT" },
        { SIGPIPE, "SIGPIPE" },
};

static void record(const char *file, const char *name) {
        char line[32];
        int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
        int n = snprintf(line, sizeof(line), "%s\n", name);

        if (fd < 0)
                return;
        if (write(fd, line, (size_t) n) != n)
                perror("signal-probe: write");
        close(fd);
}

int main(int argc, char **argv) {
        sigset_t set;
        siginfo_t si;
        int fd, sig;

        if (argc != 2) {
                fprintf(stderr, "usage: signal-probe FILE\n");
                return 2;
        }
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                sigaddset(&set, names[i].sig);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
                perror("signal-probe: sigprocmask");
                return 1;
        }
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror("signal-probe: open");
                return 1;
        }
        close(fd);
        for (;;) {
                sig = sigwaitinfo(&set, &si);
                if (sig < 0)
                        continue;
                if (sig == SIGTERM)
                        return 0;
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                        if (names[i].sig == sig)
                                record(argv[1], names[i].name);
        }
}
