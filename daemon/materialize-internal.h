/* materialize-internal.h — what materialize.c and materialize-set.c (a
 * set's directory) share: the instance directory's fds and the file
 * writing both do. */
#pragma once

#include "materialize.h"

struct mdir {
        int root_fd;  /* borrowed: secrets_root */
        char *name;
        int dfd;      /* the directory itself */
        int tmp_dfd;  /* its MDIR_TEMP_DIR, where writes are made before the rename */
        int sets_dfd; /* its MDIR_SETS_DIR, -1 until a set needs it */
        bool no_sets; /* MDIR_SETS_DIR was found absent (and none was made since) */
        int mnt_fd;   /* the tmpfs mount (fsmount), -1 when a plain directory */
};

/* Writes len bytes into the new file fd, then gives it owner and mode. */
int mdir_fill(int fd, const uint8_t *data, size_t len, uid_t uid, gid_t gid, mode_t mode);
/* Gives the new file or directory fd owner uid:gid, when that is not
 * already its creator's (an unprivileged daemon keeps its own). */
int mdir_own(int fd, uid_t uid, gid_t gid);
/* A symlink to target under a free name (into name) in the temp
 * directory, to be renamed into place. */
int mdir_symlink_temp(struct mdir *m, const char *target, char name[static 32]);
/* mdir_file_current() for file in the directory dfd. */
bool mdir_file_current_at(int dfd, const char *file, const uint8_t *data, size_t len, uid_t uid, gid_t gid,
                          mode_t mode);
/* Removes the generations of file, once it is no set's link any more. */
void mdir_set_forget(struct mdir *m, const char *file);
/* Removes every set's generations and MDIR_SETS_DIR itself. */
void mdir_sets_clear(struct mdir *m);
