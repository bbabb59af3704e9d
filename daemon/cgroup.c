/* cgroup.c — cgroup paths → runtime identities, from a table of patterns.
 *
 * Owns the pattern table (DESIGN section 3), the parsers of
 * /proc/<pid>/cgroup and /proc/self/mountinfo, and the ownership walk that
 * exposes delegated subtrees.  A name alone proves nothing: an odd path
 * matches no pattern, and attest.c runs cgroup_find_delegated_owner() on
 * every match.  Never logs; reads only the text and directories it is
 * given. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, O_PATH, AT_EMPTY_PATH; the Makefile defines it too */
#endif
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "secretd/cleanup.h"

/* More lines than any kernel prints; bounds the duplicate check. */
#define PROC_CGROUP_LINES_MAX 1024

static const struct runtime_info runtimes[_RUNTIME_MAX] = {
        [RUNTIME_UNKNOWN]    = { "unknown",    RUNTIME_SCOPE_NONE,      false, false, false },
        [RUNTIME_HOST]       = { "host",       RUNTIME_SCOPE_HOST_USER, false, true,  true },
        [RUNTIME_DOCKER]     = { "docker",     RUNTIME_SCOPE_CONTAINER, true,  false, false },
        [RUNTIME_PODMAN]     = { "podman",     RUNTIME_SCOPE_CONTAINER, true,  false, false },
        [RUNTIME_KUBERNETES] = { "kubernetes", RUNTIME_SCOPE_POD,       true,  false, false },
        [RUNTIME_CRIO]       = { "crio",       RUNTIME_SCOPE_CONTAINER, true,  false, false },
        [RUNTIME_SYSTEMD]    = { "systemd",    RUNTIME_SCOPE_UNIT,      false, true,  true },
        [RUNTIME_ROOTLESS]   = { "rootless",   RUNTIME_SCOPE_DELEGATED, false, true,  false },
};

const struct runtime_info *runtime_info(enum runtime r) {
        return &runtimes[(unsigned) r < _RUNTIME_MAX ? r : RUNTIME_UNKNOWN];
}

const struct runtime_info *runtime_of_directory(const char *dir_name) {
        for (size_t i = 0; i < _RUNTIME_MAX; i++) {
                size_t n = strlen(runtimes[i].name);

                if (runtimes[i].scope != RUNTIME_SCOPE_NONE && strncmp(dir_name, runtimes[i].name, n) == 0 &&
                    dir_name[n] == '-')
                        return &runtimes[i];
        }
        return NULL;
}

const char *runtime_to_string(enum runtime r) {
        if ((unsigned) r >= _RUNTIME_MAX)
                return NULL;
        return runtimes[r].name;
}

int runtime_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < _RUNTIME_MAX; i++)
                if (strcmp(s, runtimes[i].name) == 0)
                        return (int) i;
        return -EINVAL;
}

enum id_kind {
        ID_HEX64,               /* exactly 64 lowercase hex digits, the id */
        ID_UNIT,                /* a unit name; the id is the whole component */
};

enum {
        IN_POD = 1 << 0,        /* the component above is a kubernetes pod's */
        IN_SYSTEM_SLICE = 1 << 1, /* below /system.slice, through slices only */
};

/* A component is prefix + id + suffix, whole.  Tried in order on each
 * component from the root down; the first component that matches a
 * container row decides, so the outermost container wins.  A unit is only
 * where the walk stands: a container below it (podman --cgroup-parent=
 * /system.slice/x.service) is that container, not the unit, and the unit
 * decides only when nothing below it is one. */
struct pattern {
        enum runtime runtime;   /* RUNTIME_HOST: a runtime's helper, not a container */
        const char *prefix;
        enum id_kind id;
        const char *suffix;
        const char *parent;     /* the component above must be exactly this; NULL: any */
        unsigned flags;
};

static const struct pattern patterns[] = {
        /* helpers are host processes, and nothing below them is a container */
        { RUNTIME_HOST,       "libpod-conmon-",  ID_HEX64, ".scope",   NULL,     0 },
        { RUNTIME_HOST,       "crio-conmon-",    ID_HEX64, ".scope",   NULL,     0 },
        { RUNTIME_KUBERNETES, "cri-containerd-", ID_HEX64, ".scope",   NULL,     IN_POD },
        { RUNTIME_KUBERNETES, "crio-",           ID_HEX64, ".scope",   NULL,     IN_POD },
        { RUNTIME_KUBERNETES, "docker-",         ID_HEX64, ".scope",   NULL,     IN_POD },
        { RUNTIME_KUBERNETES, "",                ID_HEX64, "",         NULL,     IN_POD },
        { RUNTIME_DOCKER,     "docker-",         ID_HEX64, ".scope",   NULL,     0 },
        { RUNTIME_DOCKER,     "",                ID_HEX64, "",         "docker", 0 },
        { RUNTIME_PODMAN,     "libpod-",         ID_HEX64, ".scope",   NULL,     0 },
        { RUNTIME_PODMAN,     "libpod-",         ID_HEX64, "",         NULL,     0 },
        { RUNTIME_CRIO,       "crio-",           ID_HEX64, ".scope",   NULL,     0 },
        { RUNTIME_SYSTEMD,    "",                ID_UNIT,  ".service", NULL,     IN_SYSTEM_SLICE },
};

/* A piece of a larger string, not NUL-terminated. */
struct span {
        const char *s;
        size_t len;
};

static bool span_eq(struct span c, const char *s) {
        return c.len == strlen(s) && memcmp(c.s, s, c.len) == 0;
}

static bool span_has_prefix(struct span c, const char *s) {
        size_t n = strlen(s);

        return c.len >= n && memcmp(c.s, s, n) == 0;
}

static bool span_has_suffix(struct span c, const char *s) {
        size_t n = strlen(s);

        return c.len >= n && memcmp(c.s + c.len - n, s, n) == 0;
}

static bool span_contains(struct span c, const char *s) {
        return memmem(c.s, c.len, s, strlen(s)) != NULL;
}

static bool is_hex64(struct span c) {
        if (c.len != CONTAINER_ID_LEN)
                return false;
        for (size_t i = 0; i < c.len; i++)
                if (!((c.s[i] >= '0' && c.s[i] <= '9') || (c.s[i] >= 'a' && c.s[i] <= 'f')))
                        return false;
        return true;
}

/* The characters systemd allows in a unit name. */
static bool is_unit_name(struct span c) {
        for (size_t i = 0; i < c.len; i++) {
                char ch = c.s[i];

                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      strchr(":-_.\\@", ch)))
                        return false;
        }
        return true;
}

/* Where the classification stands when it reaches component cur. */
struct walk {
        struct span cur;
        struct span parent;     /* .s == NULL while cur is the first component */
        size_t end;             /* offset of the end of cur in the path */
        bool system_slice;      /* the components above: system.slice, then slices */
        bool kubepods;          /* a component above contains "kubepods" */
        bool parent_is_pod;
        char pod_uid[64];       /* the parent's, when parent_is_pod */
};

/* A kubernetes pod's cgroup: "pod<uid>" (cgroupfs driver) or
 * "…-pod<uid_with_underscores>.slice" (systemd driver).  On success the
 * uid, with '-', is written to ret_uid. */
static bool parse_pod(struct span c, char ret_uid[64]) {
        struct span uid = {};
        bool slice = span_has_suffix(c, ".slice");
        char buf[64];

        if (slice) {
                c.len -= strlen(".slice");
                for (size_t i = c.len; i >= 4 && !uid.s; i--)
                        if (memcmp(c.s + i - 4, "-pod", 4) == 0)
                                uid = (struct span) { c.s + i, c.len - i };
        } else if (span_has_prefix(c, "pod"))
                uid = (struct span) { c.s + 3, c.len - 3 };
        if (!uid.s || uid.len == 0 || uid.len >= sizeof(buf))
                return false;
        for (size_t i = 0; i < uid.len; i++) {
                char ch = uid.s[i];

                if (ch == (slice ? '_' : '-'))
                        ch = '-';
                else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                        return false;
                buf[i] = ch;
        }
        buf[uid.len] = '\0';
        memcpy(ret_uid, buf, uid.len + 1);
        return true;
}

/* Whether row p matches the walk's current component; if so, the id. */
static bool pattern_match(const struct pattern *p, const struct walk *w, struct span *ret_id) {
        size_t pl = strlen(p->prefix), sl = strlen(p->suffix);
        struct span c = w->cur, body;

        if ((p->flags & IN_POD) && !w->parent_is_pod)
                return false;
        if ((p->flags & IN_SYSTEM_SLICE) && !w->system_slice)
                return false;
        if (p->parent && !(w->parent.s && span_eq(w->parent, p->parent)))
                return false;
        if (c.len < pl + sl || !span_has_prefix(c, p->prefix) || !span_has_suffix(c, p->suffix))
                return false;
        body = (struct span) { c.s + pl, c.len - pl - sl };
        switch (p->id) {
        case ID_HEX64:
                if (!is_hex64(body))
                        return false;
                *ret_id = body;
                return true;
        case ID_UNIT:
                if (body.len == 0 || !is_unit_name(c))
                        return false;
                *ret_id = c;
                return true;
        }
        return false;
}

/* Moves past the current component: it becomes the parent. */
static void walk_step(struct walk *w) {
        struct span c = w->cur;

        if (!w->parent.s)
                w->system_slice = span_eq(c, "system.slice");
        else
                w->system_slice = w->system_slice && c.len > strlen(".slice") && span_has_suffix(c, ".slice");
        if (span_contains(c, "kubepods"))
                w->kubepods = true;
        w->parent_is_pod = w->kubepods && parse_pod(c, w->pod_uid);
        w->parent = c;
}

/* path[0..n): absolute, at most CGROUP_PATH_MAX long, no empty, ".", ".."
 * or over-long components, no control characters.  "/" is sane. */
static bool path_is_sane(const char *path, size_t n) {
        if (n == 0 || n > CGROUP_PATH_MAX || path[0] != '/')
                return false;
        if (n == 1)
                return true;
        for (size_t i = 1; i <= n;) {
                const char *slash = memchr(path + i, '/', n - i);
                struct span c = { path + i, slash ? (size_t) (slash - (path + i)) : n - i };

                if (c.len == 0 || c.len > NAME_MAX || span_eq(c, ".") || span_eq(c, ".."))
                        return false;
                for (size_t k = 0; k < c.len; k++)
                        if ((unsigned char) c.s[k] < 0x20 || c.s[k] == 0x7f)
                                return false;
                i += c.len + 1;
        }
        return true;
}

static void class_from_match(const struct pattern *p, const struct walk *w, struct span id,
                             struct cgroup_class *ret) {
        *ret = (struct cgroup_class) { .runtime = p->runtime };
        if (p->runtime == RUNTIME_HOST)
                return;
        /* components are at most NAME_MAX long, so the id always fits */
        assert(id.len < sizeof(ret->id));
        memcpy(ret->id, id.s, id.len);
        ret->id[id.len] = '\0';
        if (p->runtime == RUNTIME_KUBERNETES)
                memcpy(ret->pod_uid, w->pod_uid, sizeof(ret->pod_uid));
        ret->match_len = w->end;
}

/* The row that matches the walk's current component, or NULL. */
static const struct pattern *component_match(const struct walk *w, struct span *ret_id) {
        for (size_t i = 0; i < ELEMENTSOF(patterns); i++)
                if (pattern_match(&patterns[i], w, ret_id))
                        return &patterns[i];
        return NULL;
}

int cgroup_classify(const char *path, struct cgroup_class *ret) {
        struct cgroup_class unit = { .runtime = RUNTIME_HOST };
        struct walk w = {};

        assert(path);
        assert(ret);

        if (!path_is_sane(path, strnlen(path, CGROUP_PATH_MAX + 1))) {
                *ret = (struct cgroup_class) { .runtime = RUNTIME_UNKNOWN };
                return 0;
        }
        for (const char *p = path + 1; *p != '\0';) {
                const struct pattern *row;
                struct span id;

                w.cur = (struct span) { p, strcspn(p, "/") };
                w.end = (size_t) (p - path) + w.cur.len;
                row = component_match(&w, &id);
                if (row && row->runtime == RUNTIME_SYSTEMD && unit.runtime == RUNTIME_HOST) {
                        class_from_match(row, &w, id, &unit); /* unless a container is below it */
                } else if (row && row->runtime == RUNTIME_HOST) {
                        /* a runtime's helper: the unit's, if it is in one */
                        if (unit.runtime == RUNTIME_HOST)
                                class_from_match(row, &w, id, &unit);
                        break;
                } else if (row && row->runtime != RUNTIME_SYSTEMD) {
                        class_from_match(row, &w, id, ret);
                        return 0;
                }
                walk_step(&w);
                p += w.cur.len;
                if (*p == '/')
                        p++;
        }
        *ret = unit;
        return 0;
}

/* One line of /proc/<pid>/cgroup: "hierarchy-id:controllers:path". */
struct proc_line {
        unsigned long id;
        struct span controllers;
        struct span path;
};

static int parse_proc_line(struct span l, struct proc_line *ret) {
        const char *c1, *c2, *end = l.s + l.len;
        unsigned long id = 0;

        c1 = memchr(l.s, ':', l.len);
        if (!c1 || c1 == l.s || c1 - l.s > 10)
                return -EINVAL;
        for (const char *p = l.s; p < c1; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                id = id * 10 + (unsigned long) (*p - '0');
        }
        if (id > INT_MAX)
                return -EINVAL;
        /* the path is the rest of the line: it may contain ':' itself */
        c2 = memchr(c1 + 1, ':', (size_t) (end - (c1 + 1)));
        if (!c2 || c2 + 1 == end)
                return -EINVAL;
        *ret = (struct proc_line) {
                .id = id,
                .controllers = { c1 + 1, (size_t) (c2 - (c1 + 1)) },
                .path = { c2 + 1, (size_t) (end - (c2 + 1)) },
        };
        return 0;
}

static bool controllers_have(struct span list, const char *name) {
        for (const char *p = list.s, *end = list.s + list.len; p <= end;) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                const char *e = comma ? comma : end;

                if (span_eq((struct span) { p, (size_t) (e - p) }, name))
                        return true;
                p = e + 1;
        }
        return false;
}

int cgroup_path_from_proc(const char *text, char **ret_path) {
        unsigned long ids[PROC_CGROUP_LINES_MAX];
        struct proc_line unified = {}, named = {};
        struct span use;
        size_t n = 0;
        char *path;
        int r;

        assert(text);
        assert(ret_path);

        for (const char *p = text; *p != '\0';) {
                struct span l = { p, strcspn(p, "\n") };
                struct proc_line pl;

                r = parse_proc_line(l, &pl);
                if (r < 0)
                        return r;
                /* a cgroup name may hold a newline: a repeated hierarchy is
                 * a forged line, not a second truth */
                if (n == ELEMENTSOF(ids))
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        if (ids[i] == pl.id)
                                return -EINVAL;
                ids[n++] = pl.id;
                if (pl.id == 0) {
                        if (pl.controllers.len != 0)
                                return -EINVAL;
                        unified = pl;
                } else if (controllers_have(pl.controllers, "name=systemd")) {
                        if (named.path.s)
                                return -EINVAL;
                        named = pl;
                }
                p += l.len;
                if (*p == '\n')
                        p++;
        }
        if (unified.path.s && !span_eq(unified.path, "/"))
                use = unified.path;
        else if (named.path.s)
                use = named.path;
        else if (unified.path.s)
                use = unified.path;
        else
                return -ENOENT;
        path = strndup(use.s, use.len);
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        return 0;
}

/* Splits the next space-separated field off a mountinfo line. */
static int next_field(const char **p, const char *eol, struct span *ret) {
        const char *s = *p, *e;

        if (s >= eol)
                return -EINVAL;
        e = memchr(s, ' ', (size_t) (eol - s));
        if (!e)
                e = eol;
        if (e == s)
                return -EINVAL;
        *ret = (struct span) { s, (size_t) (e - s) };
        *p = e < eol ? e + 1 : e;
        return 0;
}

/* "id parent major:minor root mount-point options [optional…] - fstype
 * source super-options" */
static int parse_mountinfo_line(struct span l, struct span *ret_root, struct span *ret_mount,
                                struct span *ret_fstype) {
        const char *p = l.s, *eol = l.s + l.len;
        struct span f[6], x, fstype;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                r = next_field(&p, eol, &f[i]);
                if (r < 0)
                        return r;
        }
        do {
                r = next_field(&p, eol, &x);
                if (r < 0)
                        return r;
        } while (!span_eq(x, "-"));
        r = next_field(&p, eol, &fstype);
        if (r >= 0)
                r = next_field(&p, eol, &x); /* source */
        if (r >= 0)
                r = next_field(&p, eol, &x); /* super options */
        if (r < 0)
                return r;
        *ret_root = f[3];
        *ret_mount = f[4];
        *ret_fstype = fstype;
        return 0;
}

static bool is_octal(char c) {
        return c >= '0' && c <= '7';
}

/* The kernel writes ' ', '\t', '\n' and '\\' in mountinfo as \ooo. */
static int unescape_octal(struct span c, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t k = 0;

        s = malloc(c.len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < c.len; i++) {
                unsigned v;

                if (c.s[i] != '\\') {
                        s[k++] = c.s[i];
                        continue;
                }
                if (c.len - i < 4 || !is_octal(c.s[i + 1]) || !is_octal(c.s[i + 2]) || !is_octal(c.s[i + 3]))
                        return -EINVAL;
                v = (unsigned) (c.s[i + 1] - '0') * 64 + (unsigned) (c.s[i + 2] - '0') * 8 +
                    (unsigned) (c.s[i + 3] - '0');
                if (v == 0 || v > 0xff)
                        return -EINVAL;
                s[k++] = (char) v;
                i += 3;
        }
        s[k] = '\0';
        *ret = TAKE_PTR(s);
        return 0;
}

int cgroup2_mount_from_mountinfo(const char *text, char **ret_mount) {
        int r;

        assert(text);
        assert(ret_mount);

        for (const char *p = text; *p != '\0';) {
                struct span l = { p, strcspn(p, "\n") }, root, mnt, fstype;
                _cleanup_free_ char *m = NULL;

                r = parse_mountinfo_line(l, &root, &mnt, &fstype);
                if (r < 0)
                        return r;
                p += l.len;
                if (*p == '\n')
                        p++;
                if (!span_eq(fstype, "cgroup2") || !span_eq(root, "/"))
                        continue;
                r = unescape_octal(mnt, &m);
                if (r < 0)
                        return r;
                if (m[0] != '/')
                        return -EINVAL;
                *ret_mount = TAKE_PTR(m);
                return 0;
        }
        return -ENOENT;
}

int cgroup_find_delegated_owner(int cgroup2_root_fd, const char *path, size_t match_len, uid_t *ret_owner) {
        _cleanup_close_ int fd = -1;

        assert(path);
        assert(ret_owner);

        if (match_len == 0)
                return 0;
        if (cgroup2_root_fd < 0)
                return -EBADF;
        if (strnlen(path, match_len + 1) < match_len || (path[match_len] != '\0' && path[match_len] != '/') ||
            !path_is_sane(path, match_len))
                return -EINVAL;
        for (size_t i = 1; i < match_len;) {
                const char *slash = memchr(path + i, '/', match_len - i);
                size_t len = slash ? (size_t) (slash - (path + i)) : match_len - i;
                char name[NAME_MAX + 1];
                struct stat st;
                int nfd;

                assert(len <= NAME_MAX); /* path_is_sane() */
                memcpy(name, path + i, len);
                name[len] = '\0';
                /* stat what we descend into, not a name that may be
                 * replaced in between */
                nfd = openat(fd >= 0 ? fd : cgroup2_root_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return -errno;
                safe_close(fd);
                fd = nfd;
                if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (st.st_uid != 0) {
                        *ret_owner = st.st_uid;
                        return 1;
                }
                i += len + 1;
        }
        return 0;
}
