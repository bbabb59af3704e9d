/* daemon.c — the life of the secretd under test: start it with its log
 * in DIR/daemon.log (the previous one kept as daemon.log.prev), wait until
 * it answers /v1/health, kill -9 it after a delay from a forked killer,
 * and reap both, failing when the daemon died of anything but SIGKILL.
 * It holds the daemon's pid and nothing of the model. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash-load.h"

static pid_t daemon_pid = -1;

void stop_daemon(void) {
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGKILL);
                waitpid(daemon_pid, NULL, 0);
                daemon_pid = -1;
        }
}

void spawn_daemon(void) {
        int fd;

        (void) rename(log_path, prev_log_path);
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                fail("open %s: %m", log_path);
        daemon_pid = fork();
        if (daemon_pid < 0)
                fail("fork: %m");
        if (daemon_pid == 0) {
                int null = open("/dev/null", O_RDWR);

                dup2(null, 0);
                dup2(null, 1);
                dup2(fd, 2);
                execl(secretd, secretd, "--config", config, (char *) NULL);
                _exit(127);
        }
        close(fd);
}

void wait_ready(void) {
        struct resp r;
        int status;

        for (int i = 0; i < 20000; i++) {
                if (http(admin_sock, "GET", "/v1/health", NULL, NULL, 0, &r) == 200)
                        return;
                if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
                        daemon_pid = -1;
                        fail("daemon exited during start-up (status 0x%x); see daemon.log", status);
                }
                sleep_usec(1000);
        }
        fail("daemon not ready after 20 s");
}

/* The killer sleeps, then kill -9; we reap both.  Anything but SIGKILL is
 * the daemon dying on its own. */
pid_t start_killer(int64_t delay) {
        pid_t pid = fork();

        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                sleep_usec(delay);
                kill(daemon_pid, SIGKILL);
                _exit(0);
        }
        return pid;
}

void reap(pid_t killer, bool startup) {
        int status;

        waitpid(killer, NULL, 0);
        if (waitpid(daemon_pid, &status, 0) != daemon_pid)
                fail("waitpid: %m");
        daemon_pid = -1;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                return;
        /* a start-up kill may come after a start-up that failed by itself */
        fail("daemon died on its own%s: %s %d; see daemon.log", startup ? " during start-up" : "",
             WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}
