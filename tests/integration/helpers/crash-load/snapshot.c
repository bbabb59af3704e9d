/* snapshot.c — what the daemon left on disk after a restart, read before
 * its lease list is: every file and directory under the secrets root (with
 * each file's content; a set's link with its generation's parts, encoded
 * as the store holds them, and no generation that no link points at), the
 * tmpfs mounts there, the lease records, and a
 * check that the state directory keeps no temporary file of a write in
 * flight.  It only reads; check.c judges what it found. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash-load.h"

struct snapshot snap;

/* File name under dfd, malloc()ed with one spare byte for a NUL; no data
 * when it cannot be opened or read (a lease that expired meanwhile). */
struct value read_file(int dfd, const char *name) {
        struct value v = {};
        uint8_t buf[VALUE_MAX + 16];
        ssize_t n;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return v;
        n = read(fd, buf, sizeof(buf));
        close(fd);
        if (n < 0)
                return v;
        v.len = (size_t) n;
        v.data = malloc(v.len + 1);
        if (!v.data)
                fail("out of memory");
        memcpy(v.data, buf, v.len);
        return v;
}

static bool is_dot(const char *name) {
        return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static void check_temp_dir(int dfd, const char *inst) {
        int fd = openat(dfd, ".tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d)
                fail("%s/%s/.tmp is not a directory", secrets_root, inst);
        while ((de = readdir(d)))
                if (!is_dot(de->d_name))
                        fail("%s/%s/.tmp keeps a write in flight after restart: %s", secrets_root, inst, de->d_name);
        closedir(d);
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The parts of generation directory gen (under dfd), as the canonical
 * set encoding: whatever is there, sorted by name, so that a generation
 * missing a part, or holding one of another version, reads differently. */
static struct value read_generation(int dfd, const char *gen) {
        struct value v = {};
        char *names[64];
        size_t n = 0, cap = 64 + 2 * (VALUE_MAX + 64);
        struct dirent *de;
        int gfd = openat(dfd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = gfd >= 0 ? fdopendir(gfd) : NULL;

        if (!d)
                return v;
        while ((de = readdir(d)) && n < 64)
                if (!is_dot(de->d_name) && !(names[n++] = strdup(de->d_name)))
                        fail("out of memory");
        qsort(names, n, sizeof(names[0]), cmp_names);
        v.data = malloc(cap);
        if (!v.data)
                fail("out of memory");
        for (size_t i = 0; i < n; i++) {
                struct value part = read_file(dirfd(d), names[i]);

                if (v.len + strlen(names[i]) + 24 + part.len + 1 < cap) {
                        v.len += (size_t) sprintf((char *) v.data + v.len, "%s %zu\n", names[i], part.len);
                        if (part.len)
                                memcpy(v.data + v.len, part.data, part.len);
                        v.len += part.len;
                        v.data[v.len++] = '\n';
                }
                free(part.data);
                free(names[i]);
        }
        closedir(d);
        return v;
}

/* A set's link at name: ".sets/<name>.<16 hex>", read through. */
static struct value read_set_link(int dfd, const char *inst, const char *name, char *gen, size_t len) {
        char link[600];
        ssize_t n = readlinkat(dfd, name, link, sizeof(link) - 1);
        size_t nl = strlen(name);
        int sets;
        struct value v;

        if (n < 0)
                return (struct value) {};
        link[n] = '\0';
        if (strncmp(link, ".sets/", 6) != 0 || strncmp(link + 6, name, nl) != 0 || link[6 + nl] != '.' ||
            strlen(link + 7 + nl) != 16 || strspn(link + 7 + nl, "0123456789abcdef") != 16)
                fail("%s/%s/%s links to '%s', not a generation of its own", secrets_root, inst, name, link);
        copy(gen, len, link + 6);
        sets = openat(dfd, ".sets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sets < 0)
                fail("%s/%s/%s links into a missing .sets", secrets_root, inst, name);
        v = read_generation(sets, gen);
        close(sets);
        return v;
}

/* Each generation in inst's .sets is the target of one of its links. */
static void check_generations(int dfd, const char *inst, char linked[][300], int n_linked) {
        int fd = openat(dfd, ".sets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d)
                fail("%s/%s/.sets is not a directory", secrets_root, inst);
        while ((de = readdir(d))) {
                bool found = false;

                if (is_dot(de->d_name))
                        continue;
                for (int k = 0; k < n_linked && !found; k++)
                        found = strcmp(linked[k], de->d_name) == 0;
                if (!found)
                        fail("%s/%s/.sets/%s: a generation no link points at (left by a crash)", secrets_root,
                             inst, de->d_name);
                snap.n_gens++;
        }
        closedir(d);
}

/* The files of instance directory inst under root, with their contents. */
static void snapshot_files(DIR *root, const char *inst) {
        char linked[N_NAMES][300];
        int n_linked = 0;
        bool has_sets = false;
        struct dirent *fe;
        DIR *d;
        int dfd;

        dfd = openat(dirfd(root), inst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                fail("%s/%s is not a directory", secrets_root, inst);
        d = fdopendir(dfd);
        while (d && (fe = readdir(d))) {
                struct entry *e = &snap.files[snap.n_files];

                if (is_dot(fe->d_name))
                        continue;
                /* the temp directory: a restart leaves no write in flight there */
                if (strcmp(fe->d_name, ".tmp") == 0) {
                        check_temp_dir(dfd, inst);
                        continue;
                }
                if (strcmp(fe->d_name, ".sets") == 0) {
                        has_sets = true;
                        continue;
                }
                if (snap.n_files == 4096 || n_linked == N_NAMES)
                        fail("too many files");
                copy(e->inst, sizeof(e->inst), inst);
                copy(e->file, sizeof(e->file), fe->d_name);
                e->content = fe->d_type == DT_LNK ? read_set_link(dfd, inst, fe->d_name, linked[n_linked++], 300)
                                                  : read_file(dfd, fe->d_name);
                e->seen = false;
                snap.n_files++;
        }
        if (has_sets)
                check_generations(dfd, inst, linked, n_linked);
        if (d)
                closedir(d);
}

/* The instance directories in root, and their files. */
static void snapshot_dirs(DIR *root, bool top) {
        struct dirent *de;

        while ((de = readdir(root))) {
                if (is_dot(de->d_name))
                        continue;
                /* containers' directories are one level down (0700) */
                if (top && strcmp(de->d_name, "containers") == 0) {
                        int fd = openat(dirfd(root), "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;

                        if (!sub)
                                fail("%s/containers is not a directory", secrets_root);
                        snapshot_dirs(sub, false);
                        closedir(sub);
                        continue;
                }
                if (snap.n_dirs == 64)
                        fail("too many directories under %s", secrets_root);
                copy(snap.dirs[snap.n_dirs++], sizeof(snap.dirs[0]), de->d_name);
                snapshot_files(root, de->d_name);
        }
}

static void snapshot_secrets_root(void) {
        DIR *root;

        root = opendir(secrets_root);
        if (!root)
                fail("opendir %s: %m", secrets_root);
        snapshot_dirs(root, true);
        closedir(root);
}

/* The mount points under the secrets root, relative to it. */
static void snapshot_mounts(void) {
        char line[8192];
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                fail("mountinfo: %m");
        while (fgets(line, sizeof(line), f)) {
                char mp[4096];
                size_t rl = strlen(secrets_root);

                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                if (strncmp(mp, secrets_root, rl) != 0 || mp[rl] != '/')
                        continue;
                if (snap.n_mounts == 64)
                        fail("too many mounts under %s", secrets_root);
                copy(snap.mounts[snap.n_mounts++], sizeof(snap.mounts[0]),
                     mp + rl + 1 + (strncmp(mp + rl + 1, "containers/", 11) == 0 ? 11 : 0));
        }
        fclose(f);
}

static void snapshot_records(void) {
        struct dirent *de;
        DIR *d;

        d = opendir(records_dir);
        if (!d)
                fail("opendir %s: %m", records_dir);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && snap.n_records < 1024)
                        copy(snap.records[snap.n_records++], sizeof(snap.records[0]), de->d_name);
        closedir(d);
}

/* A restart finishes or drops every write that was in flight. */
static void check_state_dir(void) {
        struct dirent *de;
        DIR *d;

        d = opendir(state_dir);
        if (!d)
                fail("opendir %s: %m", state_dir);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        fail("state_dir keeps a write in flight after restart: %s", de->d_name);
        closedir(d);
}

/* Everything on disk, before the lease list: between the two, leases can
 * only go (expire), never come, since no requests run meanwhile. */
void snapshot(void) {
        for (int i = 0; i < snap.n_files; i++)
                free(snap.files[i].content.data);
        snap.n_files = snap.n_dirs = snap.n_mounts = snap.n_records = snap.n_gens = 0;
        snapshot_secrets_root();
        snapshot_mounts();
        snapshot_records();
        check_state_dir();
}
