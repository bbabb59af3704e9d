/* runtime-records.c — a container's name, image and labels from its
 * runtime's own files, cached per container.
 *
 * Docker keeps one record per container, <data-root>/containers/<id>/
 * config.v2.json; Podman 4's libpod keeps its containers' configuration
 * (name, image, labels) in one bbolt database, <graph-root>/libpod/
 * bolt_state.db, and containers/storage lists them all (name, image, no
 * labels) in overlay-containers/containers.json, read where there is no
 * such database (Podman 5's sqlite backend).  Either is a fact
 * only when root alone could have written it: the file and its directory
 * root's and writable by nobody else, reached without following a
 * symbolic link.  Never logs: the reason goes to whoami and the audit. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "boltdb.h"
#include "runtime-records.h"
#include "secretd/cleanup.h"

#define DOCKER_RECORD_MAX (4 << 20)
#define PODMAN_RECORD_MAX (64 << 20)
#define SELECTOR_MAX 4096 /* a name, image or label value longer is refused */
#define LABELS_MAX 256

/* A record not believed is looked at again after this long: the caller's
 * every connection does not re-read it, and a fixed one is seen soon. */
#define RETRY_USEC (5 * 1000000ULL)

struct records_entry {
        char *identity;
        json_t *selectors;
        uint64_t retry_usec; /* 0: believed, kept for the container's life */
};

struct records_cache {
        struct records_entry *e;
        size_t n, next; /* next: the slot replaced when full */
};

int records_cache_new(struct records_cache **ret) {
        struct records_cache *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->e = calloc(RECORDS_CACHE_MAX, sizeof(*c->e));
        if (!c->e) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void records_cache_flush(struct records_cache *c) {
        for (size_t i = 0; c && i < c->n; i++) {
                free(c->e[i].identity);
                json_decref(c->e[i].selectors);
        }
        if (c)
                c->n = c->next = 0;
}

struct records_cache *records_cache_free(struct records_cache *c) {
        if (!c)
                return NULL;
        records_cache_flush(c);
        free(c->e);
        free(c);
        return NULL;
}

size_t records_cache_size(const struct records_cache *c) {
        return c ? c->n : 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static struct records_entry *cache_find(struct records_cache *c, const char *identity) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->e[i].identity, identity) == 0)
                        return &c->e[i];
        return NULL;
}

static json_t *cache_get(struct records_cache *c, const char *identity) {
        struct records_entry *e = cache_find(c, identity);

        return e && (e->retry_usec == 0 || now_usec() < e->retry_usec) ? e->selectors : NULL;
}

static int cache_put(struct records_cache *c, const char *identity, json_t *sel, bool believed) {
        struct records_entry *slot = cache_find(c, identity);
        char *id;

        if (slot) { /* a refusal looked at again */
                json_decref(slot->selectors);
                slot->selectors = json_incref(sel);
                slot->retry_usec = believed ? 0 : now_usec() + RETRY_USEC;
                return 0;
        }
        id = strdup(identity);
        if (!id)
                return -ENOMEM;
        if (c->n < RECORDS_CACHE_MAX) {
                slot = &c->e[c->n++];
        } else {
                slot = &c->e[c->next];
                c->next = (c->next + 1) % RECORDS_CACHE_MAX;
                free(slot->identity);
                json_decref(slot->selectors);
        }
        slot->identity = id;
        slot->selectors = json_incref(sel);
        slot->retry_usec = believed ? 0 : now_usec() + RETRY_USEC;
        return 0;
}

/* Parsers. */

static bool selector_ok(const char *s) {
        size_t n = strnlen(s, SELECTOR_MAX + 1);

        if (n == 0 || n > SELECTOR_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static int set_selector(json_t *sel, const char *key, const char *value) {
        if (!value)
                return 0;
        if (!selector_ok(value))
                return -EBADMSG;
        return json_object_set_new(sel, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

/* "Config.Labels": an object of strings, or null. */
static int set_labels(json_t *sel, json_t *labels) {
        json_t *out, *v;
        const char *k;

        if (!labels || json_is_null(labels))
                labels = NULL;
        else if (!json_is_object(labels) || json_object_size(labels) > LABELS_MAX)
                return -EBADMSG;
        out = json_object();
        if (!out)
                return -ENOMEM;
        json_object_foreach(labels, k, v) {
                if (!json_is_string(v) || !selector_ok(k) || strlen(json_string_value(v)) > SELECTOR_MAX ||
                    strlen(json_string_value(v)) != json_string_length(v)) {
                        json_decref(out);
                        return -EBADMSG;
                }
                json_object_set(out, k, v);
        }
        return json_object_set_new(sel, "labels", out) < 0 ? -ENOMEM : 0;
}

static int parse_fail(json_t *sel, int r, const char **why, const char *reason) {
        json_decref(sel);
        *why = r == -ENOMEM ? "out of memory" : reason;
        return r == -ENOMEM ? r : -EBADMSG;
}

int records_parse_docker(const char *text, size_t len, const char *id, json_t **ret, const char **why) {
        _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *sel, *config;
        const char *name, *rid;
        int r;

        if (!json_is_object(root))
                return parse_fail(NULL, -EBADMSG, why, "the record is not a JSON object");
        rid = json_string_value(json_object_get(root, "ID"));
        if (!rid || strcmp(rid, id) != 0)
                return parse_fail(NULL, -EBADMSG, why, "the record is of another container");
        config = json_object_get(root, "Config");
        name = json_string_value(json_object_get(root, "Name"));
        if (!json_is_object(config) || !name)
                return parse_fail(NULL, -EBADMSG, why, "the record has no Name or Config");
        sel = json_object();
        if (!sel)
                return parse_fail(NULL, -ENOMEM, why, NULL);
        r = set_selector(sel, "name", name[0] == '/' ? name + 1 : name); /* docker spells it "/web" */
        if (r >= 0)
                r = set_selector(sel, "image", json_string_value(json_object_get(config, "Image")));
        if (r >= 0)
                r = set_selector(sel, "image_id", json_string_value(json_object_get(root, "Image")));
        if (r >= 0)
                r = set_labels(sel, json_object_get(config, "Labels"));
        if (r < 0)
                return parse_fail(sel, r, why, "the record's name, image or labels are malformed");
        *ret = sel;
        return 0;
}

/* containers/storage keeps the bare digest; Docker and the policy spell
 * an image id "sha256:<digest>". */
static int podman_image_id(const char *image, char *buf, size_t size) {
        if (strlen(image) > 64 || strspn(image, "0123456789abcdef") != strlen(image))
                return -EBADMSG;
        snprintf(buf, size, "sha256:%s", image);
        return 0;
}

/* One element of containers.json: its first name, and its metadata
 * (itself a JSON string) for the image name. */
static int podman_selectors(json_t *c, json_t **ret, const char **why) {
        _cleanup_(json_decrefp) json_t *meta = NULL;
        json_t *sel = json_object();
        const char *image, *metatext = json_string_value(json_object_get(c, "metadata"));
        char image_id[80];
        int r;

        if (!sel)
                return parse_fail(NULL, -ENOMEM, why, NULL);
        if (metatext)
                meta = json_loads(metatext, JSON_REJECT_DUPLICATES, NULL);
        r = set_selector(sel, "name", json_string_value(json_array_get(json_object_get(c, "names"), 0)));
        if (r >= 0 && json_is_object(meta))
                r = set_selector(sel, "image", json_string_value(json_object_get(meta, "image-name")));
        image = json_string_value(json_object_get(c, "image"));
        if (r >= 0 && image) {
                r = podman_image_id(image, image_id, sizeof(image_id));
                if (r >= 0)
                        r = set_selector(sel, "image_id", image_id);
        }
        if (r >= 0)
                r = set_labels(sel, NULL);
        if (r < 0)
                return parse_fail(sel, r, why, "the record's name or image is malformed");
        *ret = sel;
        return 0;
}

int records_parse_podman(const char *text, size_t len, const char *id, json_t **ret, const char **why) {
        _cleanup_(json_decrefp) json_t *root = json_loadb(text, len, 0, NULL);
        json_t *c;
        size_t i;

        if (!json_is_array(root))
                return parse_fail(NULL, -EBADMSG, why, "the record is not a JSON array");
        json_array_foreach(root, i, c) {
                const char *cid = json_string_value(json_object_get(c, "id"));

                if (cid && strcmp(cid, id) == 0)
                        return podman_selectors(c, ret, why);
        }
        return parse_fail(NULL, -EBADMSG, why, "the record does not list the container");
}

/* libpod's own record (Podman 4's bolt_state.db, bucket ctr/<id>, key
 * config): the container's name, image and labels as `podman run` set
 * them. */
int records_parse_libpod(const uint8_t *db, size_t len, const char *id, json_t **ret, const char **why) {
        const char *const path[] = { "ctr", id, "config" };
        _cleanup_(json_decrefp) json_t *root = NULL;
        const uint8_t *v;
        const char *rid, *image;
        char image_id[80];
        size_t vlen;
        json_t *sel;
        int r = bolt_get(db, len, path, ELEMENTSOF(path), &v, &vlen);

        if (r < 0)
                return parse_fail(NULL, -EBADMSG, why, r == -ENOENT ? "the record does not list the container"
                                                                   : "the record is not a sound bolt database");
        root = json_loadb((const char *) v, vlen, JSON_REJECT_DUPLICATES, NULL);
        rid = json_string_value(json_object_get(root, "id"));
        if (!rid || strcmp(rid, id) != 0)
                return parse_fail(NULL, -EBADMSG, why, "the record is of another container");
        sel = json_object();
        if (!sel)
                return parse_fail(NULL, -ENOMEM, why, NULL);
        r = set_selector(sel, "name", json_string_value(json_object_get(root, "name")));
        if (r >= 0)
                r = set_selector(sel, "image", json_string_value(json_object_get(root, "rootfsImageName")));
        image = json_string_value(json_object_get(root, "rootfsImageID"));
        if (r >= 0 && image) {
                r = podman_image_id(image, image_id, sizeof(image_id));
                if (r >= 0)
                        r = set_selector(sel, "image_id", image_id);
        }
        if (r >= 0)
                r = set_labels(sel, json_object_get(root, "labels"));
        if (r < 0)
                return parse_fail(sel, r, why, "the record's name, image or labels are malformed");
        *ret = sel;
        return 0;
}

int records_add_kubernetes(json_t *sel, json_t *annotations) {
        static const struct {
                const char *annotation, *key;
        } keys[] = {
                { "io.kubernetes.pod.namespace", "namespace" },
                { "io.kubernetes.pod.name", "pod" },
                { "io.kubernetes.container.name", "container" },
        };

        for (size_t i = 0; annotations && i < ELEMENTSOF(keys); i++) {
                const char *v = json_string_value(json_object_get(annotations, keys[i].annotation));

                if (v && selector_ok(v) && json_object_set_new(sel, keys[i].key, json_string(v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Reading a record root alone could have written. */

/* Where openat2 is missing (a kernel before 5.6, or valgrind), the same
 * walk one component at a time, each opened without following a link. */
static int open_walk(int dfd, const char *path, int flags) {
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL, *comp, *next;
        int fd, at = dfd;

        if (!copy)
                return -ENOMEM;
        if (path[0] == '/') {
                at = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (at < 0)
                        return -errno;
        }
        for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
                next = strtok_r(NULL, "/", &save);
                if (strcmp(comp, "..") == 0)
                        fd = -1, errno = EXDEV;
                else
                        fd = openat(at, comp, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
                if (at != dfd)
                        close(at);
                if (fd < 0)
                        return -errno;
                at = fd;
        }
        return at == dfd ? -EINVAL : at;
}

static int open_trusted(int dfd, const char *path, uint64_t flags, bool want_dir, const char **why) {
        struct open_how how = { .flags = flags | O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
                                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        struct stat st;
        int fd = (int) syscall(SYS_openat2, dfd, path, &how, sizeof(how));

        if (fd < 0 && errno == ENOSYS) {
                fd = open_walk(dfd, path, (int) flags | O_RDONLY);
                if (fd < 0)
                        errno = fd == -ENOTDIR ? ELOOP : -fd; /* O_DIRECTORY|O_NOFOLLOW on a link */
        }

        if (fd < 0) {
                *why = errno == ELOOP ? "the path to the record has a symbolic link"
                       : errno == ENOENT ? "there is no record of the container"
                                         : "the record cannot be opened";
                return -errno;
        }
        if (fstat(fd, &st) < 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
                close(fd);
                *why = "the record is not a regular file in a directory";
                return -EBADMSG;
        }
        if (st.st_uid != 0 || (st.st_mode & 022) != 0) {
                close(fd);
                *why = "the record or its directory is not root's alone (owner, or writable by others)";
                return -EPERM;
        }
        return fd;
}

static int read_trusted(const char *dir, const char *file, size_t max, char **ret, size_t *ret_len,
                        const char **why) {
        _cleanup_close_ int dfd = open_trusted(AT_FDCWD, dir, O_DIRECTORY, true, why);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (dfd < 0)
                return dfd;
        fd = open_trusted(dfd, file, 0, false, why);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0 || (size_t) st.st_size > max) {
                *why = "the record is too large";
                return -EFBIG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* one read: the runtime replaces its records by rename, never in place */
        n = pread(fd, buf, (size_t) st.st_size + 1, 0);
        if (n < 0 || n > st.st_size) {
                *why = "the record cannot be read";
                return n < 0 ? -errno : -EBADMSG;
        }
        *ret_len = (size_t) n;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int record_selectors(const struct records_where *w, const struct peer *p, json_t **ret, const char **why) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        size_t len;
        int r;

        if (p->cls.runtime == RUNTIME_DOCKER) {
                if (asprintf(&dir, "%s/containers/%s", w->docker_data_root, p->cls.id) < 0)
                        return -ENOMEM;
                r = read_trusted(dir, "config.v2.json", DOCKER_RECORD_MAX, &text, &len, why);
                return r < 0 ? r : records_parse_docker(text, len, p->cls.id, ret, why);
        }
        /* libpod's database has the labels; without one (another database
         * backend), containers/storage's list has the name and image */
        if (asprintf(&dir, "%s/libpod", w->podman_storage_root) < 0)
                return -ENOMEM;
        r = read_trusted(dir, "bolt_state.db", PODMAN_RECORD_MAX, &text, &len, why);
        if (r != -ENOENT)
                return r < 0 ? r : records_parse_libpod((const uint8_t *) text, len, p->cls.id, ret, why);
        free(dir);
        free(text);
        dir = text = NULL;
        if (asprintf(&dir, "%s/overlay-containers", w->podman_storage_root) < 0)
                return -ENOMEM;
        r = read_trusted(dir, "containers.json", PODMAN_RECORD_MAX, &text, &len, why);
        return r < 0 ? r : records_parse_podman(text, len, p->cls.id, ret, why);
}

static json_t *unavailable(const char *why) {
        return json_pack("{s:s}", "unavailable", why);
}

int records_attach(struct records_cache *c, const struct records_where *w, struct peer *p) {
        _cleanup_(json_decrefp) json_t *sel = NULL;
        const char *why = NULL;
        json_t *cached;
        int r;

        json_decref(p->selectors);
        p->selectors = NULL;
        if (p->cls.runtime != RUNTIME_DOCKER && p->cls.runtime != RUNTIME_PODMAN) {
                if (!json_object_get(p->annotations, "io.kubernetes.pod.name"))
                        return 0;
                sel = json_object();
                if (!sel || records_add_kubernetes(sel, p->annotations) < 0)
                        return -ENOMEM;
                p->selectors = TAKE_PTR(sel);
                return 0;
        }
        cached = cache_get(c, p->identity);
        if (cached) {
                sel = json_incref(cached);
        } else {
                r = record_selectors(w, p, &sel, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        sel = unavailable(why);
                if (!sel || cache_put(c, p->identity, sel, r >= 0) < 0)
                        return -ENOMEM;
        }
        if (p->annotations && !json_object_get(sel, "unavailable")) {
                json_t *copy = json_copy(sel);

                json_decref(sel);
                sel = copy;
                if (!sel || records_add_kubernetes(sel, p->annotations) < 0)
                        return -ENOMEM;
        }
        p->selectors = TAKE_PTR(sel);
        return 0;
}

const char *records_unavailable(const struct peer *p) {
        return json_string_value(json_object_get(p->selectors, "unavailable"));
}
