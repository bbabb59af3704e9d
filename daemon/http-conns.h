/* http-conns.h — the connections http.c serves: who each one is, how many
 * one identity holds, and until when it may take to send its request.
 *
 * A connection is attested when it is accepted, before a byte of it is
 * read; a peer over limits.max_connections_per_peer (admins are not
 * counted), or one that cannot be attested, is refused: shut down, no
 * peer, audited.  Every connection not being answered is on one of two
 * lists, each in the order of its deadline: waiting (for a request line,
 * limits.idle_timeout from its accept or its last reply) and receiving
 * (headers and body, limits.request_timeout from the request line).  MHD's
 * own idle timeout restarts with every byte, so without these a peer
 * dribbling bytes would hold its slot for ever.  No MHD here: http.c says
 * when a connection opens, changes phase and closes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server.h"

enum phase { PHASE_WAITING, PHASE_RECEIVING, PHASE_ANSWERING, _PHASE_MAX };

struct conns;

struct conn {
        struct conns *cs;
        struct peer *peer; /* NULL: refused, the peer gets nothing */
        int fd;
        bool counted;      /* in cs->peers */
        bool shut;         /* shut down: nothing more is read or timed */
        bool hook;         /* accepted on the OCI hook's socket */
        enum phase phase;
        uint64_t since_usec; /* when this phase began */
        struct conn *prev, *next; /* on cs->lists[phase], not for PHASE_ANSWERING */
};

struct conn_list {
        struct conn *head, *tail;
};

struct peer_count; /* how many connections one identity holds */

struct conns {
        struct server *s;
        struct conn_list lists[PHASE_ANSWERING]; /* each in the order of since_usec */
        struct peer_count *peers;
        size_t n_peers, cap_peers;
        size_t open;       /* connections now */
        size_t peak;       /* the most open since memory was last handed back */
};

static inline uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void conns_init(struct conns *cs, struct server *s);
/* Once every connection has closed. */
void conns_done(struct conns *cs);

/* A connection accepted on fd, attested (or refused) and waiting for its
 * request line; NULL without memory (the caller refuses it). */
struct conn *conn_open(struct conns *cs, int fd, bool hook);
void conn_close(struct conn *cn);
/* Moves cn to phase, its deadline counted from now. */
void conn_enter(struct conn *cn, enum phase phase);
/* A connection we will not read from: the peer sees it close. */
void conn_refuse(struct conn *cn);

/* Shuts down every connection past its phase's deadline. */
void conns_sweep(struct conns *cs);
/* Milliseconds to the earliest deadline; -1 when no connection has one. */
int conns_next_ms(const struct conns *cs);
/* After a burst of connections has closed, hands the memory they held
 * back to the kernel. */
void conns_trim(struct conns *cs);
