/* api-set.c — sets in the API (secretd/secret-set.h): which kind a PUT or
 * rotate stores, a set's body made canonical (the parts sorted, so that
 * the same parts sent in another order are an unchanged rotation), and
 * one part of a set read on its own. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api-internal.h"
#include "secretd/secret-set.h"

static bool is_set_type(const char *type) {
        size_t n = strlen(SET_CONTENT_TYPE);

        return type && strncasecmp(type, SET_CONTENT_TYPE, n) == 0 && (type[n] == '\0' || type[n] == ';');
}

bool body_value(const struct request *req, struct reply *rep, enum store_kind *ret_kind, struct secbuf **ret_set) {
        struct secret_set set;
        const char *why = NULL;

        *ret_set = NULL;
        if (!is_set_type(req->content_type)) {
                *ret_kind = STORE_VALUE;
                return true;
        }
        *ret_kind = STORE_SET;
        if (set_parse(req->body->data, req->body->len, &set, &why) < 0) {
                api_error(rep, API_ERR_BAD_REQUEST, "not a set: %s (each part is NAME SP SIZE LF BYTES LF)", why);
                return false;
        }
        if (set_encode(&set, ret_set) < 0) {
                api_error(rep, API_ERR_INTERNAL, "out of memory");
                return false;
        }
        return true;
}

void reply_set_part(struct reply *rep, const char *name, const char *part) {
        struct secret_set set;
        const struct set_part *p;
        struct secbuf *one;
        const char *why;

        if (set_parse(rep->value->data, rep->value->len, &set, &why) < 0 || !(p = set_find(&set, part))) {
                rep->value = secbuf_free(rep->value);
                return api_error(rep, API_ERR_NOT_FOUND, "set '%s' has no part '%s'", name, part);
        }
        one = secbuf_dup(p->data, p->len);
        secbuf_free(rep->value);
        rep->value = one;
        if (!one)
                return api_error(rep, API_ERR_INTERNAL, "out of memory");
}

json_t *set_parts_json(const struct secbuf *value) {
        struct secret_set set;
        const char *why;
        json_t *a;

        if (set_parse(value->data, value->len, &set, &why) < 0)
                return json_array();
        a = json_array();
        for (size_t i = 0; a && i < set.n; i++)
                json_array_append_new(a, json_pack("{s:s,s:I}", "name", set.parts[i].name, "size",
                                                   (json_int_t) set.parts[i].len));
        return a;
}
