/* cgroup.h — a caller's cgroup path → which container or service it is.
 *
 * Pure text work (classification, /proc/<pid>/cgroup, mountinfo) plus one
 * walk of the cgroup2 tree that reports delegated (non-root-owned)
 * directories.  The runtimes are recognised from a table of patterns in
 * cgroup.c: a new runtime is one line there.  Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum runtime {
        RUNTIME_UNKNOWN,        /* an odd path: matches no container policy */
        RUNTIME_HOST,
        RUNTIME_DOCKER,
        RUNTIME_PODMAN,
        RUNTIME_KUBERNETES,
        RUNTIME_CRIO,
        RUNTIME_SYSTEMD,
        RUNTIME_ROOTLESS,       /* never from cgroup_classify(): a delegated subtree */
        _RUNTIME_MAX,
};

/* How a runtime's callers are named: attest.c spells their identity and
 * leasing their scope's directory from it. */
enum runtime_scope {
        RUNTIME_SCOPE_NONE,      /* unknown: identity "unknown", no directory */
        RUNTIME_SCOPE_HOST_USER, /* "host:uid1000", host-uid1000 */
        RUNTIME_SCOPE_UNIT,      /* "systemd:backup.service", systemd-backup.service */
        RUNTIME_SCOPE_CONTAINER, /* "docker:<id>", docker-<id> */
        RUNTIME_SCOPE_POD,       /* "kubernetes:<pod>/<id>", kubernetes-<id> */
        RUNTIME_SCOPE_DELEGATED, /* "rootless:uid1000", rootless-uid1000-<id> (or -cg<hash>) */
        _RUNTIME_SCOPE_MAX,
};

/* One row per runtime (cgroup.c): everything attest, leasing and policy
 * decide by runtime.  A new runtime is a row here and its patterns. */
struct runtime_info {
        const char *name;        /* "docker": config, audit, identity and directory prefix */
        enum runtime_scope scope;
        bool container_id;       /* its id is a container's: `id` match keys apply */
        bool host_process;       /* a process of the host's: may be admin */
        bool host_directory;     /* its directory sits in secrets_root itself, not
                                  * in "containers" (served to nobody else) */
};

/* r's row; the unknown one when r is out of range. */
const struct runtime_info *runtime_info(enum runtime r);
/* The row whose directory spelling "<name>-…" starts dir_name, or NULL. */
const struct runtime_info *runtime_of_directory(const char *dir_name);
/* "unknown", "host", "docker", …; NULL when r is out of range. */
const char *runtime_to_string(enum runtime r);
/* The enum value for a name from runtime_to_string(), or -EINVAL. */
int runtime_from_string(const char *s);

#define CONTAINER_ID_LEN 64
#define CGROUP_PATH_MAX 4096

struct cgroup_class {
        enum runtime runtime;
        char id[256];           /* 64-hex container id, or the unit name for systemd
                                 * ("backup.service"); "" for host/unknown */
        char pod_uid[64];       /* kubernetes pod uid with '-' (systemd-driver '_'
                                 * turned back), else "" */
        size_t match_len;       /* length of the prefix of the path that is the
                                 * container's (or unit's) own cgroup directory,
                                 * e.g. "/system.slice/docker-<id>.scope"; 0 for
                                 * host/unknown */
};

/* Classifies a cgroup path as seen from the cgroup2 root, e.g.
 * "/system.slice/docker-<64hex>.scope/init.scope".  The outermost container
 * in the path wins, and sub-cgroups below it belong to it; a system service
 * is the identity only when no container is below it (a container started
 * with --cgroup-parent=/system.slice/x.service is that container).
 * An odd path (relative, "." or ".." or empty components, control
 * characters, longer than CGROUP_PATH_MAX, a component longer than
 * NAME_MAX) is RUNTIME_UNKNOWN.  Always returns 0 and fills *ret. */
int cgroup_classify(const char *path, struct cgroup_class *ret);

/* From the text of /proc/<pid>/cgroup: the path of the unified "0::" line;
 * where that is "/" or absent (hybrid hosts), the "name=systemd" line's.
 * -ENOENT when neither line exists; -EINVAL on malformed text, and on a
 * hierarchy that appears twice (a cgroup name with a newline in it forging
 * a line).  *ret_path is malloc'd. */
int cgroup_path_from_proc(const char *text, char **ret_path);

/* From the text of /proc/self/mountinfo: the unescaped mount point of the
 * first cgroup2 mount whose root is "/" (a bind mount of a subtree is not
 * the hierarchy the paths in /proc/<pid>/cgroup are relative to).
 * -ENOENT when there is none; -EINVAL on malformed text.  *ret_mount is
 * malloc'd. */
int cgroup2_mount_from_mountinfo(const char *text, char **ret_mount);

/* Walks from the cgroup2 root fd down each component of path[0..match_len)
 * (the root itself is not checked), without following symlinks.  Returns 1
 * and sets *ret_owner to the owner of the first directory on the way,
 * the matched one included, that uid 0 does not own; 0 when root owns them
 * all (or match_len is 0); -errno on error: -ENOENT when a directory
 * vanished, -EINVAL for a path or match_len that cannot come from
 * cgroup_classify(). */
int cgroup_find_delegated_owner(int cgroup2_root_fd, const char *path, size_t match_len, uid_t *ret_owner);
