/* api.h — the routes: a parsed request in, a reply out.
 *
 * Independent of the HTTP library: http.c fills a struct request from the
 * wire and turns a struct reply into a response, so the routes can be
 * driven directly by tests and fuzzers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"
#include "secretd/protocol.h"
#include "secretd/secbuf.h"
#include "server.h"

#define API_QUERY_MAX 8

struct request {
        const char *method;
        const char *path;            /* not percent-decoded: names need no escapes */
        const char *content_type;    /* NULL when absent */
        const char *query_keys[API_QUERY_MAX];
        const char *query_values[API_QUERY_MAX]; /* NULL for a key without '=' */
        size_t n_query;
        const struct secbuf *body;   /* NULL when the request had none */
        const struct peer *peer;
        bool hook_socket;            /* on the OCI hook's socket, where its
                                      * route is the only one, and only there */
        bool wait_over;              /* a parked watch woken by its timeout
                                      * (or a hang-up, or the stop): answer now */
};

struct reply {
        unsigned status;
        json_t *json;           /* JSON body, or */
        struct secbuf *value;   /* a secret's raw bytes, or */
        char *text;             /* text/plain (metrics) */
        uint64_t version;       /* X-Secret-Version when value is set */
        bool value_is_set;      /* value is a whole set's encoding */
        const char *allow;      /* Allow header for 405 */
        const char *route;      /* route template, for metrics */
        bool close;             /* end the connection after this reply */
        /* no answer yet: park the request until wait_secret changes or
         * wait_usec passes, then hand it to api_handle() again (http.c) */
        bool wait;
        uint64_t wait_usec;
        char wait_secret[SECRET_NAME_MAX + 1];
};

/* Routes req; always fills *rep (an error reply when anything failed). */
void api_handle(struct server *s, const struct request *req, struct reply *rep);
/* The largest lease or renewal body: POLICY_GRANTS_MAX names of
 * STORE_NAME_MAX bytes, quoted and comma-separated, and room for a ttl. */
#define API_JSON_BODY_MAX (1024 * (STORE_NAME_MAX + 3) + 1024)
/* Before any body byte is read: false with *rep filled (404, 405, or 403
 * audited) when the route does not exist or this peer may not call it;
 * else true with the largest body the route takes (0: none). */
bool api_route_admit(struct server *s, const struct request *req, struct reply *rep, size_t *ret_max_body);
/* An error reply; message is printf-style and never carries a value. */
void api_error(struct reply *rep, enum api_error code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void reply_done(struct reply *rep);
/* Appends one line to reply's top-level "warnings" array (made when absent);
 * never a value in it. */
void api_warning(json_t *reply, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

unsigned api_error_status(enum api_error code);
const char *api_error_code(enum api_error code);
