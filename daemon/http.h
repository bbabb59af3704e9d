/* http.h — libmicrohttpd on the two Unix sockets, in external-epoll mode.
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

/* Takes ownership of the listening fds (-1 for one not served). */
int http_start(struct server *s, int admin_fd, int workload_fd, struct http **ret);
/* The epoll fds to watch; returns how many (0..2). */
size_t http_epoll_fds(const struct http *h, int fds[static 2]);
/* Milliseconds until http_run() must be called anyway; -1 for never. */
int http_timeout_ms(const struct http *h);
void http_run(struct http *h);
struct http *http_stop(struct http *h);
/* The most guarded (locked) memory request bodies and value replies can
 * hold at once under c's limits, in bytes. */
uint64_t http_locked_max(const struct config *c);
