/* policy-match.c — a caller → its workload, and a workload's grants.
 *
 * Matching is a table of checks, one per match key, each of which holds
 * when its key is absent; a workload matches when they all hold.  The
 * facts judged are the attested peer's (attest.c), never what the caller
 * says.  Never logs; the only file system access is the stat that ties an
 * `exe` path to the file the peer really executes. */
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

#include "attest.h"
#include "policy.h"
#include "secretd/cleanup.h"

#define GLOB_CHARS "*?["

static bool has_glob(const char *s) {
        return s[strcspn(s, GLOB_CHARS)] != '\0';
}

/* Each check holds when its key was not given. */

/* The peer's id or unit, or NULL when there is none to compare. */
static const char *peer_id(const struct peer *peer) {
        size_t n = strnlen(peer->cls.id, sizeof(peer->cls.id));

        return n > 0 && n < sizeof(peer->cls.id) ? peer->cls.id : NULL;
}

static bool match_runtime(const struct workload_match *m, const struct peer *peer) {
        return !m->has_runtime || m->runtime == peer->cls.runtime;
}

/* Exact; a prefix of the full 64-digit id (as "docker ps" shortens it);
 * or a glob. */
static bool match_id(const struct workload_match *m, const struct peer *peer) {
        const char *id = peer_id(peer);
        size_t n;

        if (!m->id)
                return true;
        if (!id || !runtime_info(peer->cls.runtime)->container_id)
                return false;
        if (has_glob(m->id))
                return fnmatch(m->id, id, 0) == 0;
        n = strlen(m->id);
        if (n < CONTAINER_ID_LEN && strlen(id) == CONTAINER_ID_LEN)
                return strncmp(id, m->id, n) == 0;
        return strcmp(id, m->id) == 0;
}

static bool match_unit(const struct workload_match *m, const struct peer *peer) {
        const char *id = peer_id(peer);

        if (!m->unit)
                return true;
        if (!id || runtime_info(peer->cls.runtime)->scope != RUNTIME_SCOPE_UNIT)
                return false;
        return has_glob(m->unit) ? fnmatch(m->unit, id, 0) == 0 : strcmp(m->unit, id) == 0;
}

static bool match_cgroup(const struct workload_match *m, const struct peer *peer) {
        return !m->cgroup || (peer->cgroup && fnmatch(m->cgroup, peer->cgroup, FNM_PATHNAME) == 0);
}

static bool ids_contain(const uint32_t *ids, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

static bool match_uids(const struct workload_match *m, const struct peer *peer) {
        return m->n_uids == 0 || ids_contain(m->uids, m->n_uids, peer->uid);
}

static bool match_gids(const struct workload_match *m, const struct peer *peer) {
        if (m->n_gids == 0 || ids_contain(m->gids, m->n_gids, peer->gid))
                return true;
        for (size_t i = 0; peer->groups && i < peer->n_groups; i++)
                if (ids_contain(m->gids, m->n_gids, peer->groups[i]))
                        return true;
        return false;
}

/* The path must match, and it must name, where we look it up, the very
 * file the kernel executes for the peer: a path read from /proc is the
 * peer's own view, and whoever owns its mount namespace (`unshare -Urm`
 * and a bind mount) chooses what is found there.  So a peer outside the
 * host's mount namespace never matches, and one inside it matches only
 * when the file at the path is the one it runs (same device and inode). */
static bool match_exe(const struct workload_match *m, const struct peer *peer) {
        struct stat st;

        if (!m->exe)
                return true;
        if (!peer->exe || !peer->has_exe_id || !peer->same_mnt_ns)
                return false;
        if (fnmatch(m->exe, peer->exe, FNM_PATHNAME) != 0)
                return false;
        return stat(peer->exe, &st) == 0 && st.st_dev == peer->exe_dev && st.st_ino == peer->exe_ino;
}

/* Every key of globs present in have, its value matching. */
static bool globs_hold(json_t *globs, json_t *have) {
        const char *key;
        json_t *glob;

        json_object_foreach(globs, key, glob) {
                const char *v = json_string_value(json_object_get(have, key));

                if (!v || fnmatch(json_string_value(glob), v, 0) != 0)
                        return false;
        }
        return true;
}

/* Annotations come only from a bundle the OCI hook verified (root's): a
 * socket peer has none, so it never matches a workload that asks for any. */
static bool match_annotations(const struct workload_match *m, const struct peer *peer) {
        return !m->annotations || (peer->annotations && globs_hold(m->annotations, peer->annotations));
}

/* Selectors come from a record only root could write (runtime-records.c);
 * a peer without one, or whose record was not believed, matches no
 * workload that asks for any. */
static bool selectors_believed(const struct peer *peer) {
        return peer->selectors && !json_object_get(peer->selectors, "unavailable");
}

static const char *selector(const struct peer *peer, const char *key) {
        return selectors_believed(peer) ? json_string_value(json_object_get(peer->selectors, key)) : NULL;
}

static bool match_glob_selector(const char *glob, const struct peer *peer, const char *key) {
        const char *have;

        if (!glob)
                return true;
        have = selector(peer, key);
        return have && fnmatch(glob, have, 0) == 0;
}

static bool match_selectors(const struct workload_match *m, const struct peer *peer) {
        const char *id = selector(peer, "image_id");

        if (m->image_id && (!id || strcmp(m->image_id, id) != 0))
                return false;
        return match_glob_selector(m->image, peer, "image") && match_glob_selector(m->name, peer, "name") &&
               match_glob_selector(m->namespace, peer, "namespace") && match_glob_selector(m->pod, peer, "pod") &&
               match_glob_selector(m->container, peer, "container");
}

static bool match_labels(const struct workload_match *m, const struct peer *peer) {
        return !m->labels || (selectors_believed(peer) && globs_hold(m->labels, json_object_get(peer->selectors, "labels")));
}

static bool (*const match_checks[])(const struct workload_match *m, const struct peer *peer) = {
        match_runtime, match_id, match_unit, match_cgroup, match_uids, match_gids, match_exe, match_annotations,
        match_selectors, match_labels,
};

/* The parser refuses an empty match; one built by hand must not grant every
 * caller either. */
static bool match_empty(const struct workload_match *m) {
        return !m->has_runtime && !m->id && !m->unit && !m->cgroup && m->n_uids == 0 && m->n_gids == 0 && !m->exe &&
               !m->annotations && !m->image && !m->image_id && !m->name && !m->labels && !m->namespace && !m->pod &&
               !m->container;
}

static bool workload_matches(const struct workload *w, const struct peer *peer) {
        if (match_empty(&w->match))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(match_checks); i++)
                if (!match_checks[i](&w->match, peer))
                        return false;
        return true;
}

const struct workload *policy_match(const struct policy *p, const struct peer *peer) {
        if (!p || !peer || peer->cls.runtime == RUNTIME_UNKNOWN || (unsigned) peer->cls.runtime >= _RUNTIME_MAX)
                return NULL;
        for (size_t i = 0; i < p->n_workloads; i++)
                if (workload_matches(&p->workloads[i], peer))
                        return &p->workloads[i];
        return NULL;
}

const struct grant *workload_grant(const struct workload *w, const char *secret) {
        if (!w || !secret)
                return NULL;
        for (size_t i = 0; i < w->n_grants; i++)
                if (strcmp(w->grants[i].name, secret) == 0)
                        return &w->grants[i];
        return NULL;
}

const struct workload *policy_workload(const struct policy *p, const char *name) {
        for (size_t i = 0; p && name && i < p->n_workloads; i++)
                if (strcmp(p->workloads[i].name, name) == 0)
                        return &p->workloads[i];
        return NULL;
}
