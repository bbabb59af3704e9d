/* http-framing.c — a request's framing judged against RFC 9112 (see
 * http-framing.h).
 *
 * libmicrohttpd 0.9.75 is lenient where a proxy in front of us may not be:
 * it ends a line at a bare LF, keeps "Name " (space before the colon) as a
 * different name, cuts a field at a NUL, joins obs-fold lines, and counts
 * nothing twice.  Two parsers that frame one byte stream differently are
 * how a request gets smuggled, so what MHD accepted is judged again here,
 * on the bytes it left in its read buffer, and refused unless it is
 * RFC 9112 with no leniency.  Never logs; never reads past the header
 * block MHD reports. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-framing.h"

/* RFC 9110 section 5.6.2: the characters of a field name. */
static bool is_tchar(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

struct header_walk {
        const char *pos;   /* where the next field line must begin */
        const char *end;   /* the end of the header block */
        struct http_framing *counts;
        bool bad;
};

/* One field line, judged on the bytes MHD left in its read buffer: it
 * turns each CRLF into two NULs and the colon into one, and keeps the key
 * and value in place.  So a line that begins anywhere but where the last
 * one ended was moved (MHD joins an obs-fold continuation into a copy) or
 * ended early (a NUL cuts MHD's strings short; a bare LF leaves one NUL
 * where CRLF leaves two). */
static enum MHD_Result header_walk_one(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                       const char *value, size_t value_size) {
        struct header_walk *w = cls;
        const char *p;

        (void) kind;
        w->bad = key != w->pos || key_size == 0 || !value || value <= key + key_size ||
                 (size_t) (w->end - value) < value_size + 2;
        for (p = key; !w->bad && p < key + key_size; p++)
                w->bad = !is_tchar(*p); /* also "Name : value": RFC 9112 section 5.1 */
        for (p = key + key_size + 1; !w->bad && p < value; p++)
                w->bad = *p != ' ' && *p != '\t';
        /* field-value: visible characters, SP, HT, obs-text; a bare CR is a CTL */
        for (p = value; !w->bad && p < value + value_size; p++)
                w->bad = ((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f;
        if (w->bad || key[key_size] != '\0' || value[value_size] != '\0' || value[value_size + 1] != '\0') {
                w->bad = true;
                return MHD_NO;
        }
        w->pos = value + value_size + 2;
        if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
                w->counts->host++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                w->counts->content_length++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
                w->counts->transfer_encoding++;
        return MHD_YES;
}

const char *http_framing_check(struct MHD_Connection *c, const char *url, const char *method, const char *version,
                               struct http_framing *ret) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        size_t vlen = strlen(version);
        struct header_walk walk, *w = &walk;

        *ret = (struct http_framing) {};
        if (!info)
                return "the request has no header block";
        *w = (struct header_walk) { .end = method + info->header_size, .counts = ret };
        if (version < method || (size_t) (w->end - version) < vlen + 2 || version[vlen + 1] != '\0')
                return "the request line must end in CRLF";
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || *p == 0x7f)
                        return "the request target has a control character";
        if (!strchr(url, '?') && MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0 &&
            url + strlen(url) + 1 != version)
                return "the request target has a NUL";
        w->pos = version + vlen + 2;
        MHD_get_connection_values_n(c, MHD_HEADER_KIND, header_walk_one, w);
        if (w->bad)
                return "malformed header field: a field line is 'name: value' CRLF, the name a token, the value "
                       "without NUL or bare CR, no obs-fold";
        if (w->pos + 2 != w->end || w->pos[0] != '\0' || w->pos[1] != '\0')
                return "the header block must end in CRLF CRLF";
        if (ret->host > 1)
                return "give the Host header once";
        return NULL;
}

int http_content_length(struct MHD_Connection *c, size_t *ret, bool *ret_has) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long n;
        char *end;

        if (!cl) {
                *ret = 0;
                *ret_has = false;
                return 0;
        }
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno || *end || end == cl || cl[0] < '0' || cl[0] > '9' || n > SIZE_MAX)
                return -EINVAL;
        *ret = (size_t) n;
        *ret_has = true;
        return 0;
}

