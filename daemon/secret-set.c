/* secret-set.c — the encoding of a set's parts (see secretd/secret-set.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secretd/secret-set.h"

/* SIZE: decimal, no sign, no leading zero, never more than is left (so
 * that it cannot overflow either). */
static int parse_size(const uint8_t **p, const uint8_t *end, size_t *ret) {
        const uint8_t *q = *p;
        size_t v = 0;

        if (q == end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
                return -EBADMSG;
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
                v = v * 10 + (size_t) (*q - '0');
                if (v > (size_t) (end - *p))
                        return -EBADMSG;
        }
        *p = q;
        *ret = v;
        return 0;
}

static int part_cmp(const void *a, const void *b) {
        return strcmp(((const struct set_part *) a)->name, ((const struct set_part *) b)->name);
}

/* One "NAME SP SIZE LF BYTES LF" from *p. */
static int parse_part(const uint8_t **p, const uint8_t *end, struct set_part *part, const char **why) {
        const uint8_t *q = *p, *sp = memchr(q, ' ', (size_t) (end - q));
        size_t name_len;

        if (!sp || (name_len = (size_t) (sp - q)) > SECRET_NAME_MAX) {
                *why = "a part must begin with its name (at most 128 bytes) and a space";
                return -EBADMSG;
        }
        memcpy(part->name, q, name_len);
        part->name[name_len] = '\0';
        if (!secret_name_valid(part->name)) {
                *why = "a part's name must match " SECRET_NAME_GRAMMAR;
                return -EBADMSG;
        }
        q = sp + 1;
        if (parse_size(&q, end, &part->len) < 0 || q == end || *q != '\n') {
                *why = "a part's name must be followed by a space, its size in decimal and a newline";
                return -EBADMSG;
        }
        q++;
        if ((size_t) (end - q) < part->len + 1 || q[part->len] != '\n') {
                *why = "a part's bytes must be as many as its size says, then a newline";
                return -EBADMSG;
        }
        part->data = q;
        *p = q + part->len + 1;
        return 0;
}

int set_parse(const uint8_t *buf, size_t len, struct secret_set *ret, const char **ret_why) {
        const uint8_t *p = buf, *end = buf + len;
        struct secret_set s = { .n = 0 };
        int r;

        while (p < end) {
                if (s.n == SET_PARTS_MAX) {
                        *ret_why = "a set has at most 32 parts";
                        return -EBADMSG;
                }
                r = parse_part(&p, end, &s.parts[s.n], ret_why);
                if (r < 0)
                        return r;
                s.n++;
        }
        if (s.n == 0) {
                *ret_why = "a set has at least one part";
                return -EBADMSG;
        }
        qsort(s.parts, s.n, sizeof(s.parts[0]), part_cmp);
        for (size_t i = 1; i < s.n; i++)
                if (strcmp(s.parts[i - 1].name, s.parts[i].name) == 0) {
                        *ret_why = "two parts of a set have the same name";
                        return -EBADMSG;
                }
        *ret = s;
        return 0;
}

int set_encode(const struct secret_set *s, struct secbuf **ret) {
        struct set_part sorted[SET_PARTS_MAX];
        struct secbuf *b;
        size_t len = 0;
        uint8_t *p;

        if (s->n == 0 || s->n > SET_PARTS_MAX)
                return -EINVAL;
        memcpy(sorted, s->parts, s->n * sizeof(sorted[0]));
        qsort(sorted, s->n, sizeof(sorted[0]), part_cmp);
        for (size_t i = 0; i < s->n; i++)
                len += strlen(sorted[i].name) + 1 + 20 + 1 + sorted[i].len + 1;
        b = secbuf_new(len);
        if (!b)
                return -ENOMEM;
        p = b->data;
        for (size_t i = 0; i < s->n; i++) {
                p += sprintf((char *) p, "%s %zu\n", sorted[i].name, sorted[i].len);
                memcpy(p, sorted[i].data, sorted[i].len);
                p += sorted[i].len;
                *p++ = '\n';
        }
        secbuf_truncate(b, (size_t) (p - b->data));
        *ret = b;
        return 0;
}

const struct set_part *set_find(const struct secret_set *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->parts[i].name, name) == 0)
                        return &s->parts[i];
        return NULL;
}
