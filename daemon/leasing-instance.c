/* leasing-instance.c — workload instances: their directories, the leases
 * each holds, and lookup by name (see leasing-internal.h).
 *
 * A host with a thousand containers holds ten thousand leases.  Every
 * question the lease paths ask — which leases does this instance hold,
 * which instance owns this lease, which instance has this name — is
 * answered here without walking all of them: each instance keeps its own
 * leases, each lease points back at its instance, and names are hashed.
 * (Walking the whole table per file made a start-up with 10,000 leases
 * spend most of its time in strcmp.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit-watch.h"
#include "leasing-internal.h"
#include "secretd/cleanup.h"

/* FNV-1a: names are short and not chosen to collide with each other by
 * anyone who gains from it (they come from cgroup paths the kernel made). */
static size_t name_hash(const char *s) {
        size_t h = (size_t) 1469598103934665603ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * (size_t) 1099511628211ULL;
        return h;
}

/* Linear probing over a power-of-two table at most half full. */
static int index_grow(struct leasing *l) {
        size_t n = l->n_slots ? l->n_slots * 2 : 64;
        struct instance **slots = calloc(n, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_inst; i++) {
                size_t j = l->inst[i]->hash & (n - 1);

                while (slots[j])
                        j = (j + 1) & (n - 1);
                slots[j] = l->inst[i];
        }
        free(l->slots);
        l->slots = slots;
        l->n_slots = n;
        return 0;
}

static void index_put(struct leasing *l, struct instance *in) {
        size_t j = in->hash & (l->n_slots - 1);

        while (l->slots[j])
                j = (j + 1) & (l->n_slots - 1);
        l->slots[j] = in;
}

/* Deletion with backward shift: no tombstones to slow later lookups. */
static void index_remove(struct leasing *l, const struct instance *in) {
        size_t mask = l->n_slots - 1, i = in->hash & mask, j, k;

        while (l->slots[i] != in)
                i = (i + 1) & mask;
        l->slots[i] = NULL;
        for (j = (i + 1) & mask; l->slots[j]; j = (j + 1) & mask) {
                k = l->slots[j]->hash & mask;
                /* move it up when its home is not in (i, j] */
                if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
                        l->slots[i] = l->slots[j];
                        l->slots[j] = NULL;
                        i = j;
                }
        }
}

struct instance *instance_find(struct leasing *l, const char *name) {
        size_t h = name_hash(name), mask = l->n_slots - 1;

        if (l->n_slots == 0)
                return NULL;
        for (size_t j = h & mask; l->slots[j]; j = (j + 1) & mask)
                if (l->slots[j]->hash == h && strcmp(l->slots[j]->name, name) == 0)
                        return l->slots[j];
        return NULL;
}

static bool pidfd_alive(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return poll(&pfd, 1, 0) == 0; /* readable once it exits */
}

static bool is_container_id(const char *id) {
        return strlen(id) == CONTAINER_ID_LEN && strspn(id, "0123456789abcdef") == CONTAINER_ID_LEN;
}

/* A delegated subtree's caller outside any container: its own cgroup
 * directory, hashed (a path may be 4 KiB of any bytes), names it. */
static void rootless_name(const struct runtime_info *rt, const struct peer *p, char *buf, size_t len) {
        unsigned char h[16];
        char hex[sizeof(h) * 2 + 1];

        crypto_generichash(h, sizeof(h), (const unsigned char *) p->cgroup, strlen(p->cgroup), NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        snprintf(buf, len, "%s-uid%u-cg%s", rt->name, (unsigned) p->delegated_owner, hex);
}

/* The caller's own scope, and so its directory: "<runtime>-<id>" for a
 * container (docker-3f2a…, podman-…, crio-…, kubernetes-<id>: a container
 * id is unique without its pod), systemd-backup.service, host-uid1000;
 * rootless-uid1000-<id> for a rootless container, rootless-uid1000-cg<hash>
 * for any other caller in a delegated subtree.  Two callers the cgroup tree
 * tells apart never share one; callers of one scope that the policy tells
 * apart are kept apart by the instance's one workload (leasing_grant). */
int instance_name(const struct peer *p, char *buf, size_t len) {
        const struct runtime_info *rt = runtime_info(p->cls.runtime);

        switch (rt->scope) {
        case RUNTIME_SCOPE_HOST_USER:
                snprintf(buf, len, "%s-uid%u", rt->name, (unsigned) p->uid);
                break;
        case RUNTIME_SCOPE_DELEGATED:
                if (is_container_id(p->cls.id))
                        snprintf(buf, len, "%s-uid%u-%s", rt->name, (unsigned) p->delegated_owner, p->cls.id);
                else if (p->cgroup)
                        rootless_name(rt, p, buf, len);
                else
                        return -EACCES;
                break;
        case RUNTIME_SCOPE_UNIT:
        case RUNTIME_SCOPE_CONTAINER:
        case RUNTIME_SCOPE_POD:
                if (snprintf(buf, len, "%s-%s", rt->name, p->cls.id) >= (int) len)
                        return -EINVAL;
                break;
        default:
                return -EACCES;
        }
        return mdir_name_valid(buf) ? 0 : -EINVAL;
}

/* Fails closed: a name no row spells is a container's. */
bool instance_is_container(const char *name) {
        const struct runtime_info *rt = runtime_of_directory(name);

        return !rt || !rt->host_directory;
}

void instance_free(struct instance *in, bool destroy) {
        if (!in)
                return;
        /* the container's view goes first, while our mount still exists */
        if (destroy && in->ns_fd >= 0 && in->inject_path)
                mdir_eject(in->dir, in->ns_fd, in->inject_path);
        target_close(&in->main);
        safe_close(in->ns_fd);
        free(in->inject_path);
        free(in->cgroup);
        if (destroy)
                (void) mdir_destroy(in->dir);
        else
                mdir_close(in->dir);
        safe_close(in->pidfd);
        instance_forget(in);
        free(in->leases);
        free(in->name);
        free(in);
}

static int instance_add(struct leasing *l, struct instance *in) {
        struct instance **grown;

        if ((l->n_inst + 1) * 2 > l->n_slots && index_grow(l) < 0)
                return -ENOMEM;
        grown = reallocarray(l->inst, l->n_inst + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        l->inst = grown;
        in->pos = l->n_inst;
        l->inst[l->n_inst++] = in;
        index_put(l, in);
        return 0;
}

int instance_get(struct leasing *l, const char *name, const struct peer *p, struct instance **ret) {
        struct instance *in = instance_find(l, name);
        int r;

        if (!in) {
                in = calloc(1, sizeof(*in));
                if (!in || !(in->name = strdup(name))) {
                        free(in);
                        return -ENOMEM;
                }
                in->hash = name_hash(name);
                in->pidfd = -1;
                in->ns_fd = -1;
                in->watch = -1;
                in->main = TARGET_NONE;
                r = mdir_open(instance_is_container(name) ? l->containers_fd : l->root_fd, name, l->tmpfs_size, l->privileged, &in->dir);
                if (r < 0) {
                        free(in->name);
                        free(in);
                        return r;
                }
                if (instance_add(l, in) < 0) {
                        instance_free(in, true);
                        return -ENOMEM;
                }
        }
        /* the latest leasing process, unless it is the one we hold (same
         * pid, still alive: a live process's pid is not reused) */
        if (p && p->pidfd >= 0 && !(in->pidfd >= 0 && in->pid == p->pid && pidfd_alive(in->pidfd))) {
                safe_close(in->pidfd);
                in->pidfd = fcntl(p->pidfd, F_DUPFD_CLOEXEC, 3);
                in->pid = p->pid;
        }
        *ret = in;
        return 0;
}

void instance_release_if_empty(struct leasing *l, struct instance *in) {
        if (in->n_leases > 0)
                return;
        exit_watch_remove(l->inotify_fd, in->watch);
        index_remove(l, in);
        l->inst[in->pos] = l->inst[--l->n_inst];
        l->inst[in->pos]->pos = in->pos;
        instance_free(in, true);
}

int instance_attach(struct leasing *l, struct instance *in, struct lease *ls) {
        if (in->n_leases == in->cap_leases) {
                size_t cap = in->cap_leases ? in->cap_leases * 2 : 4;
                struct lease **v = reallocarray(in->leases, cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                in->leases = v;
                in->cap_leases = cap;
        }
        if (lease_table_add(&l->table, ls) < 0)
                return -ENOMEM;
        in->leases[in->n_leases++] = ls;
        ls->owner = in;
        return 0;
}

void instance_detach(struct leasing *l, struct lease *ls) {
        struct instance *in = ls->owner;

        for (size_t i = 0; in && i < in->n_leases; i++)
                if (in->leases[i] == ls) {
                        in->leases[i] = in->leases[--in->n_leases];
                        break;
                }
        lease_table_remove(&l->table, ls);
}

struct lease *instance_lease_of(const struct instance *in, const char *secret) {
        for (size_t i = 0; i < in->n_leases; i++)
                if (strcmp(in->leases[i]->secret, secret) == 0)
                        return in->leases[i];
        return NULL;
}
