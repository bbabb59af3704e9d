/* http-framing.h — RFC 9112 framing checks on a request libmicrohttpd
 * has parsed (its request line and header block, before any body). */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* How often the fields that frame a request appeared. */
struct http_framing {
        unsigned host, content_length, transfer_encoding;
};

/* In the first handler call (url, method and version as MHD passed them:
 * method is where its copy of the request begins): NULL when the request
 * line and every field line are well formed, with the counts in *ret;
 * else a sentence saying what is wrong (a constant, never request bytes). */
const char *http_framing_check(struct MHD_Connection *c, const char *url, const char *method, const char *version,
                               struct http_framing *ret);
/* The announced body size: 0 and *ret_has false without Content-Length;
 * -EINVAL for one that is not a plain decimal number. */
int http_content_length(struct MHD_Connection *c, size_t *ret, bool *ret_has);
