/* api-hook.c — the OCI createRuntime hook's route: a container about to
 * start gets its workload's secrets mounted before its first instruction
 * (../shared/notes/oci-hook.md).  Served on the hook's socket alone.
 *
 * The hook is only a messenger: hook-attest.c checks its state against
 * the kernel, the policy places the container, leasing makes the leases
 * (until the container exits) and mounts them.  Every refusal's message is
 * what the hook prints and the runtime shows: it names what did not hold
 * and how to fix it, never a value. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "api-internal.h"
#include "hook-attest.h"
#include "leasing.h"
#include "secretd/cleanup.h"

/* Only root of our own user namespace: rootless runtimes run their hooks
 * as their user, who could point us at any process of theirs. */
static bool hook_caller_ok(const struct peer *p, struct reply *rep) {
        struct stat st;

        if (p->uid != 0) {
                api_error(rep, API_ERR_FORBIDDEN, "peer uid %u: hook requests are taken from uid 0 alone "
                          "(rootless containers use the workload socket)", (unsigned) p->uid);
                return false;
        }
        if (stat("/proc/self/ns/user", &st) < 0 || p->user_ns != (uint64_t) st.st_ino) {
                api_error(rep, API_ERR_FORBIDDEN, "the hook is not in our user namespace: only the host's root "
                          "may ask");
                return false;
        }
        return true;
}

static void audit_hook(struct server *s, const struct request *req, const struct peer *container, int status,
                       const char *workload, const char *reason) {
        audit_record(s->audit, &(struct audit_event) {
                .action = "hook", .allowed = status == 200, .peer = container ? container : req->peer,
                .workload = workload, .status = status, .reason = reason,
        });
}

/* The reply to a container whose leases were not made. */
static void hook_refused(struct reply *rep, const struct workload *w, int r, const struct lease_error *err) {
        const char *path = w->inject ? w->inject : POLICY_DEFAULT_INJECT;
        const char *bad = err->secret ? err->secret : "?";

        if (err->reason == LEASE_FAILED_INJECT && r == -EEXIST)
                api_error(rep, API_ERR_CONFLICT, "'%s' in the container already holds files or a mount (podman "
                          "--secret?): secretd does not cover them; give workload '%s' another \"inject\" path",
                          path, w->name);
        else if (err->reason == LEASE_FAILED_INJECT && (r == -ELOOP || r == -ENOTDIR))
                api_error(rep, API_ERR_FORBIDDEN, "'%s' in the image goes through a symlink or a non-directory; "
                          "secretd does not follow links out of a rootfs", path);
        else if (err->reason == LEASE_FAILED_INJECT && r == -EOPNOTSUPP)
                api_error(rep, API_ERR_UNAVAILABLE, "secretd runs without the privilege to mount (it needs "
                          "CAP_SYS_ADMIN): it cannot put secrets into containers");
        else if (err->reason == LEASE_FAILED_INJECT)
                api_error(rep, API_ERR_UNAVAILABLE, "cannot mount the secrets at '%s' in the container: %s", path,
                          strerror(-r));
        else if (err->reason == LEASE_REFUSED_OTHER_WORKLOAD)
                api_error(rep, API_ERR_CONFLICT, "the container holds leases of another workload than '%s'",
                          w->name);
        else if (r == -ENOENT)
                api_error(rep, API_ERR_NOT_FOUND, "secret '%s' of workload '%s' is not in the store "
                          "(secretctl put %s)", bad, w->name, bad);
        else if (r == -ENOSPC)
                api_error(rep, API_ERR_UNAVAILABLE, "the container's secrets tmpfs or the lease records' "
                          "directory is full");
        else
                api_error(rep, API_ERR_INTERNAL, "cannot materialize '%s': %s", bad, strerror(-r));
}

static int attest_status(int r) {
        return r == -EBADMSG ? 400 : r == -ESRCH || r == -EPERM ? 403 : 500;
}

/* The policy's word on an attested container: mounted, or nothing
 * (no workload, or none granted: it starts as it would without us). */
static void hook_grant(struct server *s, const struct request *req, struct hook_container *ct, struct reply *rep) {
        const struct leasing_caller c = { .peer = ct->peer, .workload = policy_match(s->config->policy, ct->peer) };
        _cleanup_free_ struct lease_set *got = NULL;
        struct lease_error err;
        json_t *out;
        int r;

        if (!c.workload || c.workload->n_grants == 0) {
                reply_json(rep, 200, json_pack("{s:s,s:n,s:n,s:[]}", "container", ct->peer->cls.id, "workload",
                                               "mounted", "leases"));
                return;
        }
        got = malloc(sizeof(*got));
        if (!got)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
        r = leasing_grant_container(s->leasing, &c, &(struct container_root) { ct->root_path, ct->root_fd }, got, &err);
        if (r < 0) {
                hook_refused(rep, c.workload, r, &err);
                audit_hook(s, req, ct->peer, (int) rep->status, c.workload->name,
                           "the container's secrets could not be made ready");
                return;
        }
        out = leases_json(s->leasing, got);
        if (out && (json_object_set_new(out, "container", json_string(ct->peer->cls.id)) < 0 ||
                    json_object_set_new(out, "workload", json_string(c.workload->name)) < 0 ||
                    json_object_set_new(out, "mounted", json_string(c.workload->inject ? c.workload->inject
                                                                                        : POLICY_DEFAULT_INJECT)) < 0))
                out = (json_decref(out), NULL);
        reply_json(rep, 200, out);
}

void route_hook_create_runtime(struct server *s, const struct request *req, const char *name, struct reply *rep) {
        struct hook_container ct = { .root_fd = -1 };
        char why[512];
        int r;

        (void) name;
        if (!hook_caller_ok(req->peer, rep)) {
                audit_hook(s, req, NULL, 403, NULL, "hook request from a caller other than root");
                return;
        }
        if (!req->body || req->body->len == 0)
                return api_error(rep, API_ERR_BAD_REQUEST, "the body must be the runtime's OCI state JSON");
        r = hook_attest(&s->attest, (const char *) req->body->data, req->body->len, &ct, why, sizeof(why));
        if (r < 0) {
                api_error(rep, attest_status(r) == 400 ? API_ERR_BAD_REQUEST
                               : attest_status(r) == 403 ? API_ERR_FORBIDDEN : API_ERR_INTERNAL, "%s", why);
                audit_hook(s, req, NULL, attest_status(r), NULL, why);
                return;
        }
        if (server_attach_selectors(s, ct.peer) < 0)
                api_error(rep, API_ERR_INTERNAL, "out of memory");
        else
                hook_grant(s, req, &ct, rep);
        hook_container_done(&ct);
}
