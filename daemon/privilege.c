/* privilege.c — process hardening: fds, dumps, capabilities, locked
 * memory.
 *
 * Capabilities are set with the raw capset(2) interface: the daemon needs
 * one fixed set and nothing else from libcap.  Never logs: main.c says
 * what a result means. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privilege.h"
#include "secretd/cleanup.h"

/* What the daemon keeps when it runs as root, and why. */
static const int privilege_kept[] = {
        CAP_SYS_ADMIN,       /* mount tmpfs per workload, setns into containers */
        CAP_SYS_CHROOT,      /* setns(CLONE_NEWNS) requires it as well */
        CAP_SYS_PTRACE,      /* read peers' /proc/<pid>/ns and exe links */
        CAP_CHOWN,           /* hand secret files to the caller's uid/gid */
        CAP_FOWNER,          /* set modes on files owned by callers */
        CAP_DAC_OVERRIDE,    /* reach directories in containers' namespaces */
        CAP_DAC_READ_SEARCH, /* walk cgroup trees owned by other users */
        CAP_SETUID,          /* setfsuid() for mkdir inside user namespaces */
        CAP_SETGID,          /* setfsgid(), the same */
        CAP_KILL,            /* on_rotate signals to workloads */
};

int privilege_sanitize_fds(void) {
        umask(0077);
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) >= 0)
                        continue;
                int nfd = open("/dev/null", O_RDWR);
                if (nfd < 0)
                        return -errno;
                if (nfd != fd) {
                        /* a lower fd was also closed: it got this one first */
                        safe_close(nfd);
                        return -EBADF;
                }
        }
        return 0;
}

int privilege_no_dumps(void) {
        const struct rlimit none = { 0, 0 };

        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -errno;
        if (setrlimit(RLIMIT_CORE, &none) < 0)
                return -errno;
        return 0;
}

static bool kept(int cap) {
        for (size_t i = 0; i < ELEMENTSOF(privilege_kept); i++)
                if (privilege_kept[i] == cap)
                        return true;
        return false;
}

int privilege_drop(void) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};
        int last;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (geteuid() != 0)
                return 0;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        for (last = 0; prctl(PR_CAPBSET_READ, last, 0, 0, 0) >= 0; last++)
                ;
        for (int cap = 0; cap < last; cap++) {
                if (kept(cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }
        if (syscall(SYS_capget, &hdr, data) < 0)
                return -errno;
        for (int cap = 0; cap < 64; cap++)
                if (!kept(cap)) {
                        data[cap / 32].effective &= ~(1u << (cap % 32));
                        data[cap / 32].permitted &= ~(1u << (cap % 32));
                }
        data[0].inheritable = data[1].inheritable = 0;
        if (syscall(SYS_capset, &hdr, data) < 0)
                return -errno;
        return 0;
}

static bool effective_cap(int cap) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        if (syscall(SYS_capget, &hdr, data) < 0)
                return false;
        return data[cap / 32].effective & (1u << (cap % 32));
}

/* The kernel's answer, by the raw syscalls: ASan's mlock() interceptor
 * does nothing and returns 0. */
static int lock_one_page(void) {
        long page = sysconf(_SC_PAGESIZE);
        size_t n = page > 0 ? (size_t) page : 4096;
        void *p;
        int r = 0;

        p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        if (syscall(SYS_mlock, p, n) < 0)
                r = -errno;
        else
                (void) syscall(SYS_munlock, p, n);
        (void) munmap(p, n);
        return r;
}

int privilege_memlock(uint64_t want, uint64_t *ret_limit) {
        struct rlimit rl;
        uint64_t limit;
        int r;

        if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                return -errno;
        if (rl.rlim_cur != rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                        return -errno;
        }
        r = lock_one_page();
        if (r < 0)
                return r;
        /* with CAP_IPC_LOCK the kernel does not apply the limit */
        limit = rl.rlim_cur == RLIM_INFINITY || effective_cap(CAP_IPC_LOCK) ? UINT64_MAX : (uint64_t) rl.rlim_cur;
        *ret_limit = limit;
        return limit < want ? 1 : 0;
}
