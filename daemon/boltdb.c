/* boltdb.c — a bbolt B+tree walked for one key (the format of
 * go.etcd.io/bbolt: page 0 and 1 are metas, the newer valid one names the
 * root bucket; a bucket is a tree of branch and leaf pages, or a page
 * inline in its parent's value when small).  Little-endian, as bbolt
 * writes it on the machines we run on. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "boltdb.h"

#define PAGE_HEADER 16 /* id u64, flags u16, count u16, overflow u32 */
#define ELEMENT 16     /* branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32 */
#define FLAG_BRANCH 0x01
#define FLAG_LEAF 0x02
#define FLAG_META 0x04
#define LEAF_BUCKET 0x01
#define MAGIC 0xED0CDAEDu
#define DEPTH_MAX 64 /* a tree deeper than this is not one bbolt wrote */

struct bolt {
        const uint8_t *db;
        size_t len, page_size;
};

static uint64_t get64(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

static uint32_t get32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

static uint16_t get16(const uint8_t *p) {
        uint16_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

/* FNV-1a, 64 bits: bbolt's checksum of a meta up to its checksum field. */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

/* The root bucket's page from the newer of the two sound metas. */
static int root_page(struct bolt *b, uint64_t *ret) {
        uint64_t best_tx = 0;
        bool found = false;

        /* the meta is at offset PAGE_HEADER of pages 0 and 1; its page size
         * says where page 1 is, so page 0's is read first */
        for (size_t i = 0; i < 2; i++) {
                size_t off = i * b->page_size;
                const uint8_t *m = b->db + off + PAGE_HEADER;

                if (i == 0 && b->len >= PAGE_HEADER + 64)
                        b->page_size = get32(b->db + PAGE_HEADER + 8);
                if (b->page_size < 1024 || b->page_size > (1 << 16) || off + PAGE_HEADER + 64 > b->len)
                        return -EBADMSG;
                m = b->db + i * b->page_size + PAGE_HEADER;
                if (!(get16(m - PAGE_HEADER + 8) & FLAG_META) || get32(m) != MAGIC || get32(m + 4) != 2 ||
                    get32(m + 8) != b->page_size || fnv1a(m, 56) != get64(m + 56))
                        continue;
                if (!found || get64(m + 48) > best_tx) {
                        best_tx = get64(m + 48);
                        *ret = get64(m + 16);
                        found = true;
                }
        }
        return found ? 0 : -EBADMSG;
}

/* A page of count elements starting at p, within [base, base + size). */
struct page {
        const uint8_t *p, *end;
        uint16_t flags, count;
};

static int page_at(const struct bolt *b, const uint8_t *p, const uint8_t *end, struct page *ret) {
        if (p < b->db || (size_t) (end - p) < PAGE_HEADER)
                return -EBADMSG;
        *ret = (struct page) { .p = p, .end = end, .flags = get16(p + 8), .count = get16(p + 10) };
        if ((size_t) (end - p - PAGE_HEADER) / ELEMENT < ret->count || !(ret->flags & (FLAG_BRANCH | FLAG_LEAF)))
                return -EBADMSG;
        return 0;
}

static int page_id(const struct bolt *b, uint64_t id, struct page *ret) {
        if (id < 2 || id >= b->len / b->page_size)
                return -EBADMSG;
        /* a page's values may run on into its overflow pages: to the end */
        return page_at(b, b->db + id * b->page_size, b->db + b->len, ret);
}

/* Element i's key (and a leaf's value), checked to lie within the page. */
static int element(const struct page *pg, uint16_t i, const uint8_t **key, size_t *klen, const uint8_t **val,
                   size_t *vlen, uint64_t *ref) {
        const uint8_t *e = pg->p + PAGE_HEADER + (size_t) i * ELEMENT;
        bool branch = pg->flags & FLAG_BRANCH;
        uint64_t pos = get32(e + (branch ? 0 : 4)), ks = get32(e + (branch ? 4 : 8)), vs = branch ? 0 : get32(e + 12);

        if (pos + ks + vs > (uint64_t) (pg->end - e))
                return -EBADMSG;
        *key = e + pos;
        *klen = ks;
        *val = e + pos + ks;
        *vlen = vs;
        *ref = branch ? get64(e + 8) : get32(e);
        return 0;
}

static int keycmp(const uint8_t *k, size_t klen, const char *want) {
        size_t wl = strlen(want);
        int c = memcmp(k, want, klen < wl ? klen : wl);

        return c ? c : (klen > wl) - (klen < wl);
}

/* The leaf element named want in the tree at pg. */
static int lookup(const struct bolt *b, struct page pg, const char *want, unsigned depth, const uint8_t **val,
                  size_t *vlen, uint32_t *flags) {
        const uint8_t *key;
        size_t klen;
        uint64_t ref;
        int r;

        for (; depth < DEPTH_MAX; depth++) {
                uint64_t child = 0;

                if (pg.count == 0)
                        return pg.flags & FLAG_LEAF ? -ENOENT : -EBADMSG;
                for (uint16_t i = 0; i < pg.count; i++) {
                        r = element(&pg, i, &key, &klen, val, vlen, &ref);
                        if (r < 0)
                                return r;
                        if (pg.flags & FLAG_LEAF) {
                                if (keycmp(key, klen, want) == 0) {
                                        *flags = (uint32_t) ref;
                                        return 0;
                                }
                        } else if (i == 0 || keycmp(key, klen, want) <= 0) {
                                child = ref; /* the last branch whose first key is not after want */
                        }
                }
                if (pg.flags & FLAG_LEAF)
                        return -ENOENT;
                r = page_id(b, child, &pg);
                if (r < 0)
                        return r;
        }
        return -EBADMSG;
}

int bolt_get(const uint8_t *db, size_t len, const char *const *path, size_t n, const uint8_t **ret,
             size_t *ret_len) {
        struct bolt b = { .db = db, .len = len };
        struct page pg;
        uint64_t root;
        uint32_t flags;
        int r = root_page(&b, &root);

        if (r < 0)
                return r;
        r = page_id(&b, root, &pg);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const uint8_t *v;
                size_t vlen;

                r = lookup(&b, pg, path[i], 0, &v, &vlen, &flags);
                if (r < 0)
                        break;
                if (i == n - 1) {
                        if (flags & LEAF_BUCKET)
                                return -ENOENT; /* a bucket, not a value */
                        *ret = v;
                        *ret_len = vlen;
                        return 0;
                }
                if (!(flags & LEAF_BUCKET) || vlen < 16)
                        return -ENOENT;
                /* a bucket: its root page, or 0 and the page inline after the header */
                r = get64(v) ? page_id(&b, get64(v), &pg) : page_at(&b, v + 16, v + vlen, &pg);
        }
        return r;
}
