/* fuse-hang.c — a FUSE file system that never answers.
 *
 *   fuse-hang MOUNTPOINT READY_FILE
 *
 * Opens /dev/fuse, mounts a FUSE file system on MOUNTPOINT with mount(2)
 * and then reads nothing and answers nothing, not even FUSE_INIT: every
 * access to MOUNTPOINT (open, stat of its root, …) waits in the kernel for
 * as long as this process keeps /dev/fuse open.  Creates READY_FILE once
 * mounted, then sleeps until SIGTERM or SIGKILL.  Killing it closes
 * /dev/fuse, which aborts the connection and lets every waiting request
 * fail (ENOTCONN); the mount itself stays until someone unmounts it. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
        char opts[128];
        int fd, ready;

        if (argc != 3) {
                fprintf(stderr, "usage: fuse-hang MOUNTPOINT READY_FILE\n");
                return 2;
        }
        /* not O_CLOEXEC: nothing is exec'd, and the fd must stay open */
        fd = open("/dev/fuse", O_RDWR);
        if (fd < 0) {
                perror("fuse-hang: /dev/fuse");
                return 1;
        }
        snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
        if (mount("fuse-hang", argv[1], "fuse.fuse-hang", MS_NOSUID | MS_NODEV, opts) < 0) {
                perror("fuse-hang: mount");
                return 1;
        }
        ready = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (ready < 0) {
                perror("fuse-hang: ready file");
                return 1;
        }
        close(ready);
        for (;;)
                pause();
}
