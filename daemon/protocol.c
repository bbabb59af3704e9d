/* protocol.c — the few functions of protocol.h: the grammars of secret
 * names and lease ids, and filling in a route.  Linked into secretd and
 * secretctl alike (Makefile), so that neither side spells a grammar of its
 * own.  Pure functions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "secretd/protocol.h"

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

bool secret_name_valid(const char *name) {
        size_t n;

        if (!name || !name[0] || !strchr(ALNUM, name[0]))
                return false;
        n = strlen(name);
        return n <= SECRET_NAME_MAX && strspn(name, ALNUM "._-") == n;
}

bool lease_id_valid(const char *id) {
        return id && strlen(id) == LEASE_ID_LEN && strspn(id, "0123456789abcdef") == LEASE_ID_LEN;
}

int api_path(char *buf, size_t size, const char *route, const char *arg, const char *query) {
        const char *open = strchr(route, '{'), *close = open ? strchr(open, '}') : NULL;
        int n;

        if (size > 0)
                buf[0] = '\0';
        if (open && (!close || !arg))
                return -EINVAL;
        if (open)
                n = snprintf(buf, size, "%.*s%s%s%s%s", (int) (open - route), route, arg, close + 1,
                             query ? "?" : "", query ? query : "");
        else
                n = snprintf(buf, size, "%s%s%s", route, query ? "?" : "", query ? query : "");
        if (n < 0 || (size_t) n >= size) {
                if (size > 0)
                        buf[0] = '\0';
                return -ENAMETOOLONG;
        }
        return 0;
}
