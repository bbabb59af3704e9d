/* fileio.h — the few file helpers several modules need: whole reads and
 * writes that survive EINTR and short transfers, and making a parent
 * directory with an exact mode (our umask is 077). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* -errno on failure; a file that ends early is -EBADMSG. */
int read_full(int fd, void *buf, size_t n);
int write_full(int fd, const void *buf, size_t n);
/* The whole of a small text file (path under dfd, never through a final
 * symlink), NUL-terminated, malloc'd; -EFBIG past max bytes. */
int read_text_at(int dfd, const char *path, size_t max, char **ret);
/* Creates the directory holding path (one level) with mode, exactly; an
 * existing one is left as it is. */
int mkdir_parent(const char *path, mode_t mode);
