/* http.h — libmicrohttpd on the Unix sockets, in external-epoll mode.
 *
 * Attests each connection as it is accepted and bounds what it may hold:
 * connections per identity, time to a complete request, and body memory,
 * judged on the route and the caller before a body byte is stored (see
 * http.c).  Collects bodies into guarded memory, hands complete requests
 * to api.c and sends its replies.  Runs inside the main loop: http_run()
 * when one of its epoll fds is readable or its timeout passed; the
 * timeout also covers the request deadlines and the audit's summaries. */
#pragma once

#include "server.h"

struct http;

/* The listeners, by index into http_start()'s fds: the OCI hook's serves
 * its one route and nothing else (api.h's request.hook_socket). */
enum http_listener { HTTP_ADMIN, HTTP_WORKLOAD, HTTP_HOOK, _HTTP_LISTENER_MAX };
/* One epoll fd per listener, and one for the parked watches' sockets. */
#define HTTP_EPOLL_FDS_MAX (_HTTP_LISTENER_MAX + 1)

/* Takes ownership of the listening fds (-1 for one not served). */
int http_start(struct server *s, const int fds[static _HTTP_LISTENER_MAX], struct http **ret);
/* The epoll fds to watch; returns how many (1..HTTP_EPOLL_FDS_MAX). */
size_t http_epoll_fds(const struct http *h, int fds[static HTTP_EPOLL_FDS_MAX]);
/* Milliseconds until http_run() must be called anyway; -1 for never. */
int http_timeout_ms(const struct http *h);
void http_run(struct http *h);
struct http *http_stop(struct http *h);
/* The most guarded (locked) memory request bodies and value replies can
 * hold at once under c's limits, in bytes. */
uint64_t http_locked_max(const struct config *c);
