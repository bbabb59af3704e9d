/* materialize.h — a workload instance's directory of secret files.
 *
 * One directory per instance under secrets_root, named "<runtime>-<id>".
 * As root it is its own tmpfs (size- and inode-limited, nosuid, nodev,
 * noexec, and noswap where the kernel has it) made with fsopen/fsmount and kept open as a mount fd; without
 * root it is a plain directory.  Files are written temp → owner → mode →
 * rename, all relative to the opened directory, refusing symlinks.  Never
 * logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mdir;

/* Each instance directory holds, beside its files, this directory (0700,
 * the daemon's) where writes are made before their rename: a watcher of
 * the instance directory sees one IN_MOVED_TO per change and nothing
 * else.  Not a file name anyone can lease (mdir_name_valid()). */
#define MDIR_TEMP_DIR ".tmp"
/* And this one (0711, the daemon's) holds the generations of its sets
 * (mdir_write_set()); no name anyone can lease either. */
#define MDIR_SETS_DIR ".sets"

/* Opens (creating, and mounting when privileged) root/name.  An existing
 * directory is adopted only when it is the tmpfs we would make (after a
 * restart); otherwise -EEXIST. */
int mdir_open(int root_fd, const char *name, uint64_t tmpfs_size, bool privileged, struct mdir **ret);
/* Whether the tmpfs we make is noswap: 1; 0 when the kernel refuses the
 * option (before Linux 6.4, or outside the initial user namespace) and
 * its pages may be swapped out; -errno when that cannot be told (no tmpfs
 * can be opened).  Cheap after the first call. */
int mdir_noswap_supported(void);
/* Whether name is fit to be an instance directory: one path component. */
bool mdir_name_valid(const char *name);
/* Atomically puts len bytes at file, owned uid:gid with mode. */
int mdir_write(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid, mode_t mode);
/* A set (secretd/secret-set.h: data is its encoding) at file: a
 * directory of its parts, each owned uid:gid with mode, that replaces what
 * was at file in one rename, so that a reader opening file/PART sees one
 * whole version.  -EBADMSG when data is no set's encoding. */
int mdir_write_set(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                   mode_t mode);
/* mdir_file_current() for a set: every part there as written, no other. */
bool mdir_set_current(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                      mode_t mode);
/* Removes every set generation no link points at: what a crash between
 * building one and switching to it, or between the switch and removing
 * the old one, left behind (a restart's reconciliation). */
void mdir_sets_prune(struct mdir *m);
/* -ENOENT when the file (or set) is not there. */
int mdir_remove(struct mdir *m, const char *file);
/* Whether file is there as mdir_write(data, len, uid, gid, mode) left
 * it, content included (anyone who could write it must not make a renewal
 * keep what they wrote): a renewal of an unchanged version need not write
 * it again. */
bool mdir_file_current(struct mdir *m, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                       mode_t mode);
/* Where and as whom a clone is mounted: in the mount namespace of ns_fd
 * (a pidfd or a namespace fd), with the file-system identity uid:gid
 * there, the namespace owner's (0:0 for one of the host's user namespace,
 * else the host uid and gid its root maps to). */
struct mdir_where {
        int ns_fd;
        uid_t uid;
        gid_t gid;
        /* NULL: path is from the namespace's root.  Else the directory
         * there it is taken from: a container's rootfs before pivot_root
         * (the OCI hook), when "/" in its namespace is still the host's.
         * It is looked up by path there (runc bind-mounts the rootfs onto
         * itself: only the path finds the top mount, the one pivot_root
         * takes), without following a symlink, and must be the very
         * directory root_fd is (device and inode). */
        const char *root;
        int root_fd;
        /* Refuse (-EEXIST) a mount point that already holds anything, or
         * is a mount itself, rather than cover it: the hook's mount comes
         * before the container ever looked there (Podman's own --secret
         * files are mounted below /run/secrets). */
        bool only_empty;
};
/* Bind-mounts a read-only (nosuid, nodev, noexec) clone of the tmpfs at
 * path there, creating the mount point, in a short-lived child (setns
 * refuses threaded callers) given two seconds (-ETIMEDOUT, then it is
 * killed).  -EROFS / -EACCES / … when the mount point cannot be made
 * there; nothing is left half-made.  Only for a tmpfs instance
 * (-EOPNOTSUPP otherwise). */
int mdir_inject(struct mdir *m, const struct mdir_where *where, const char *path);
/* Best effort: unmounts m's clone at path in that namespace again (the
 * container may be gone already, which is fine; what else is at path
 * stays). */
void mdir_eject(struct mdir *m, int ns_fd, const char *path);
/* Unmounts and removes the directory; frees m. */
int mdir_destroy(struct mdir *m);
/* Closes without removing anything (daemon exit: leases outlive us). */
struct mdir *mdir_close(struct mdir *m);
int mdir_fd(const struct mdir *m);
bool mdir_is_mount(const struct mdir *m);
