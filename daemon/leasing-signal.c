/* leasing-signal.c — whom a rotation's on_rotate signal reaches, and the
 * audit line that says so (or that it reached no one).  Part of leasing:
 * it works on the instances through leasing-internal.h.
 *
 *  - a container: its main process (leasing-target.c), held since its
 *    first lease: the application, not a helper or a `secretctl lease
 *    --keep` agent beside it, nor a pid 1 one of its processes made;
 *  - a systemd service: its main process, asked for at each rotation
 *    (service-main.c), since a service restarts under the same instance;
 *  - a host user: the process that last leased, while it lives. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "cgroup.h"
#include "leasing-internal.h"
#include "policy.h"
#include "service-main.h"

/* The target of in's signal, in *ret (closed by the caller when owned),
 * with the words for whom it is; false when there is none. */
static bool pick_target(struct leasing *l, struct instance *in, struct target *ret, bool *ret_owned, char *who,
                        size_t len) {
        const struct runtime_info *rt = runtime_of_directory(in->name);
        enum service_main_source src;

        *ret_owned = false;
        if (instance_is_container(in->name)) {
                *ret = in->main;
                snprintf(who, len, "the container's main process");
                return target_alive(ret);
        }
        if (rt && rt->scope == RUNTIME_SCOPE_UNIT) {
                const char *unit = in->name + strlen(rt->name) + 1;

                if (!in->cgroup || service_main_find(l->attest, unit, in->cgroup, ret, &src) < 0) {
                        snprintf(who, len, "%s has no process left", unit);
                        return false;
                }
                *ret_owned = true;
                snprintf(who, len, src == SERVICE_MAIN_SYSTEMD ? "the main process systemd names for %s"
                                                               : "the oldest process of %s (no service manager answered)",
                         unit);
                return true;
        }
        *ret = (struct target) { .pidfd = in->pidfd, .pid = in->pid };
        snprintf(who, len, "the process that last leased");
        return target_alive(ret);
}

void instance_signal(struct leasing *l, struct instance *in, int sig, const char *secret) {
        const char *name = policy_signal_name(sig);
        char who[320], reason[400];
        struct target t = TARGET_NONE;
        bool owned, sent = false;
        int pid = 0;

        if (pick_target(l, in, &t, &owned, who, sizeof(who)))
                sent = syscall(SYS_pidfd_send_signal, t.pidfd, sig, NULL, 0) == 0;
        if (sent) {
                pid = (int) t.pid;
                snprintf(reason, sizeof(reason), "%s to pid %d, %s", name, pid, who);
        } else if (t.pidfd >= 0 && t.pid > 0)
                snprintf(reason, sizeof(reason), "%s reached no one: %s (pid %d) has exited", name, who, (int) t.pid);
        else
                snprintf(reason, sizeof(reason), "%s reached no one: %s", name,
                         instance_is_container(in->name) ? "the container's main process is gone" : who);
        if (owned)
                target_close(&t);
        audit_record(l->audit, &(struct audit_event) {
                .action = "on_rotate", .allowed = true, .secret = secret,
                .workload = in->n_leases ? in->leases[0]->workload : NULL, .reason = reason,
                .instance = in->name, .signal = name, .target_pid = pid,
        });
}
