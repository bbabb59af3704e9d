/* crash-load.c — kill -9 secretd at random moments under a mixed load of
 * creates, rotates, deletes, leases (from containers) and expiries, and
 * after every restart check what survived against a model of what was
 * acknowledged.
 *
 * Usage: crash-load SECRETD CONFIG DIR ROUNDS SEED CGROUP...
 *   DIR     the test directory laid out by lib.sh write_config
 *           (run/admin.sock, run/workload.sock, run/leases, secrets, state)
 *   CGROUP  a populated container cgroup directory (…/docker-<id>.scope);
 *           lease requests come from a child that moves itself into it
 *
 * The last N_SETS names are sets of two parts: written in one PUT or
 * rotate, leased as a link to a generation directory; after a restart
 * each leased set must read as one whole version (both parts of the
 * current one), and no generation may be left that no link points at.
 *
 * What may be seen for a write that was in flight when the daemon died
 * (sent, but no complete reply): the old value at the old version, or the
 * new value at the next version — byte for byte one of the two, never
 * anything else; for a delete, the old value or no secret (and then none
 * of its leases).  An acknowledged write (201/200 received) must be there.
 * For leases: an acknowledged lease whose earliest possible deadline is
 * still ahead must be listed, with its id; a listed lease must be one we
 * asked for, not past its latest possible deadline; and every file,
 * directory, mount and record under the daemon's roots must belong to a
 * listed lease (or to one that may have expired during the check) and hold
 * the secret's current value.
 *
 * Prints a summary line; exits 1 with a reason on the first violation.
 *
 * This file holds main: the command line, the rounds of start, check, load
 * and kill, the summary, and the few helpers every module uses (fail, the
 * clock).  The rest is in crash-load/, one module per concern; see
 * crash-load/crash-load.h. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash-load/crash-load.h"

const char *secretd, *config, *dir;
char admin_sock[4096], workload_sock[4096], secrets_root[4096], records_dir[4096], state_dir[4096];
char log_path[4200], prev_log_path[4200];
int round_no;

struct container ct[MAX_CT];
int n_ct;

/* The first violation: says which round, kills the daemon, exits 1. */
void fail(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "crash-load: round %d: ", round_no);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        stop_daemon();
        exit(1);
}

int64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * SEC + ts.tv_nsec / 1000;
}

void sleep_usec(int64_t us) {
        struct timespec ts = { .tv_sec = us / SEC, .tv_nsec = (us % SEC) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Names here are short; a long one is a finding, not something to cut. */
void copy(char *dst, size_t len, const char *src) {
        if (strlen(src) >= len)
                fail("name too long: %.100s", src);
        strcpy(dst, src);
}

static void set_paths(void) {
        snprintf(admin_sock, sizeof(admin_sock), "%s/run/admin.sock", dir);
        snprintf(workload_sock, sizeof(workload_sock), "%s/run/workload.sock", dir);
        snprintf(secrets_root, sizeof(secrets_root), "%s/secrets", dir);
        snprintf(records_dir, sizeof(records_dir), "%s/run/leases", dir);
        snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
        snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
        snprintf(prev_log_path, sizeof(prev_log_path), "%s/daemon.log.prev", dir);
}

/* CGROUP... arguments: each a …/docker-<id>.scope directory; the instance
 * is its name without ".scope".  Those past MAX_CT are ignored. */
static void read_containers(int argc, char **argv) {
        for (int k = 6; k < argc && n_ct < MAX_CT; k++, n_ct++) {
                const char *base = strrchr(argv[k], '/');
                size_t n;

                copy(ct[n_ct].cgroup, sizeof(ct[n_ct].cgroup), argv[k]);
                base = base ? base + 1 : argv[k];
                n = strlen(base);
                if (n < 7 || strcmp(base + n - 6, ".scope") != 0 || n - 6 >= sizeof(ct[n_ct].instance))
                        fail("not a container cgroup: %s", argv[k]);
                memcpy(ct[n_ct].instance, base, n - 6);
                ct[n_ct].instance[n - 6] = '\0';
        }
}

/* After a restart: wait until it serves, then hold it against the model. */
static void check_restart(void) {
        wait_ready();
        check_secrets();
        check_leases();
}

/* One round: start the daemon; now and then kill it during start-up,
 * otherwise check it and kill it under load. */
static void run_round(void) {
        pid_t killer;

        spawn_daemon();
        if (round_no > 1 && random() % 10 == 0) {
                /* in the middle of start-up and recovery */
                killer = start_killer(random() % 30000);
                reap(killer, true);
                stats.startup_kills++;
                return;
        }
        check_restart();
        killer = start_killer(5000 + random() % 300000);
        load();
        reap(killer, false);
}

static void print_summary(int rounds) {
        printf("crash-load: %d rounds (%u killed in start-up); acknowledged: %u creates, %u deletes, %u rotates "
               "(%u of sets), %u leases, %u reads; %u requests in flight at the kill (of the writes, %u took "
               "effect, %u did not); checked %u lease files (%u leased sets, each one whole version), %u "
               "live leases; %u leases seen expire\n",
               rounds, stats.startup_kills, stats.creates, stats.deletes, stats.rotates, stats.set_rotates, stats.leases,
               stats.reads, stats.unknown, stats.pending_new, stats.pending_old, stats.files, stats.set_files,
               stats.leases_checked, stats.expired_seen);
}

int main(int argc, char **argv) {
        int rounds;

        if (argc < 7) {
                fprintf(stderr, "usage: crash-load SECRETD CONFIG DIR ROUNDS SEED CGROUP...\n");
                return 2;
        }
        secretd = argv[1];
        config = argv[2];
        dir = argv[3];
        rounds = atoi(argv[4]);
        srandom((unsigned) strtoul(argv[5], NULL, 0));
        signal(SIGPIPE, SIG_IGN);
        set_paths();
        read_containers(argc, argv);

        for (round_no = 1; round_no <= rounds; round_no++)
                run_round();
        /* the last crash, checked too */
        spawn_daemon();
        check_restart();
        stop_daemon();
        print_summary(rounds);
        return 0;
}
