/* http-conns.c — the connections http.c serves (see http-conns.h). */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http-conns.h"

/* A burst: this many connections open at once, then (almost) all closed. */
#define TRIM_BURST 64

struct peer_count {
        char *identity;
        unsigned n;
};

/* A refused connection has no attested peer; what SO_PEERCRED said at
 * connect() still tells the audit who it was. */
static void audit_refused(struct server *s, int fd, int r) {
        static char unattested[] = "unattested";
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        struct peer who = { .pidfd = -1, .identity = unattested };
        char reason[128];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                who.pid = cred.pid;
                who.uid = cred.uid;
                who.gid = cred.gid;
        }
        if (r == -ESRCH)
                snprintf(reason, sizeof(reason), "peer exited before it was attested");
        else if (r == -EPERM)
                snprintf(reason, sizeof(reason), "the peer changed its credentials between connect() and "
                                                 "attestation (setuid exec)");
        else
                snprintf(reason, sizeof(reason), "attestation failed: %s", strerror(-r));
        audit_record(s->audit, &(struct audit_event) {
                .action = "connect", .allowed = false, .peer = &who, .reason = reason,
        });
}

static void list_remove(struct conn_list *l, struct conn *cn) {
        if (cn->prev)
                cn->prev->next = cn->next;
        else
                l->head = cn->next;
        if (cn->next)
                cn->next->prev = cn->prev;
        else
                l->tail = cn->prev;
        cn->prev = cn->next = NULL;
}

/* Moves cn to phase, its deadline counted from now.  Both lists stay in
 * deadline order: a phase's timeout is one value for all, so its list in
 * the order connections entered it is the order of their deadlines. */
void conn_enter(struct conn *cn, enum phase phase) {
        struct conn_list *l;

        if (cn->phase != PHASE_ANSWERING)
                list_remove(&cn->cs->lists[cn->phase], cn);
        cn->phase = phase;
        cn->since_usec = mono_usec();
        if (phase == PHASE_ANSWERING)
                return;
        l = &cn->cs->lists[phase];
        cn->prev = l->tail;
        if (l->tail)
                l->tail->next = cn;
        else
                l->head = cn;
        l->tail = cn;
}

static uint64_t phase_timeout(const struct conns *cs, enum phase phase) {
        return phase == PHASE_WAITING ? cs->s->config->idle_timeout_usec : cs->s->config->request_timeout_usec;
}

static struct peer_count *peer_count_find(struct conns *cs, const char *identity) {
        for (size_t i = 0; i < cs->n_peers; i++)
                if (strcmp(cs->peers[i].identity, identity) == 0)
                        return &cs->peers[i];
        return NULL;
}

/* Counts one more connection of cn's peer, unless it is over its bound:
 * -EMFILE then (and nothing counted). */
static int peer_count_add(struct conns *cs, struct conn *cn) {
        struct peer_count *pc = peer_count_find(cs, cn->peer->identity);

        if (pc && pc->n >= cs->s->config->max_connections_per_peer)
                return -EMFILE;
        if (!pc) {
                if (cs->n_peers == cs->cap_peers) {
                        size_t cap = cs->cap_peers ? cs->cap_peers * 2 : 16;
                        struct peer_count *v = reallocarray(cs->peers, cap, sizeof(*v));

                        if (!v)
                                return -ENOMEM;
                        cs->peers = v;
                        cs->cap_peers = cap;
                }
                pc = &cs->peers[cs->n_peers];
                *pc = (struct peer_count) { .identity = strdup(cn->peer->identity) };
                if (!pc->identity)
                        return -ENOMEM;
                cs->n_peers++;
        }
        pc->n++;
        cn->counted = true;
        return 0;
}

static void peer_count_remove(struct conns *cs, struct conn *cn) {
        struct peer_count *pc = cn->counted ? peer_count_find(cs, cn->peer->identity) : NULL;

        if (!pc)
                return;
        cn->counted = false;
        if (--pc->n > 0)
                return;
        free(pc->identity);
        *pc = cs->peers[--cs->n_peers];
}

/* A connection we will not read from: the peer sees it close. */
void conn_refuse(struct conn *cn) {
        (void) shutdown(cn->fd, SHUT_RDWR);
        cn->shut = true;
        conn_enter(cn, PHASE_ANSWERING); /* off the lists: nothing more to time */
}

static void conn_attest(struct conns *cs, struct conn *cn) {
        struct server *s = cs->s;
        char reason[128];
        int r;

        /* Attest now, before a single request byte is read. */
        r = attest_peer(&s->attest, cn->fd, &cn->peer);
        if (r < 0) {
                s->metrics.refused_connections++;
                audit_refused(s, cn->fd, r);
                return conn_refuse(cn);
        }
        if (server_attach_selectors(s, cn->peer) < 0) {
                s->metrics.refused_connections++;
                cn->peer = peer_free(cn->peer);
                return conn_refuse(cn);
        }
        if (attest_peer_admin(&s->attest, cn->peer))
                return; /* trusted with the whole daemon: not bounded per peer */
        r = peer_count_add(cs, cn);
        if (r >= 0)
                return;
        if (r == -EMFILE)
                snprintf(reason, sizeof(reason), "over limits.max_connections_per_peer (%" PRIu64 ")",
                         s->config->max_connections_per_peer);
        else
                snprintf(reason, sizeof(reason), "cannot count the connection: %s", strerror(-r));
        audit_record(s->audit, &(struct audit_event) {
                .action = "connect", .allowed = false, .peer = cn->peer, .reason = reason,
        });
        cn->peer = peer_free(cn->peer);
        conn_refuse(cn);
}

/* Shuts down every connection past its phase's deadline; the lists are in
 * deadline order, so this looks at one connection more than it ends. */
void conns_sweep(struct conns *cs) {
        uint64_t now = mono_usec();

        for (enum phase p = 0; p < PHASE_ANSWERING; p++) {
                uint64_t timeout = phase_timeout(cs, p);
                struct conn *cn;

                while ((cn = cs->lists[p].head) && cn->since_usec + timeout <= now) {
                        if (p == PHASE_RECEIVING && cn->peer)
                                audit_record(cs->s->audit, &(struct audit_event) {
                                        .action = "request", .allowed = false, .peer = cn->peer,
                                        .reason = "the request did not arrive within limits.request_timeout",
                                });
                        conn_refuse(cn);
                }
        }
}

/* Milliseconds to the earliest deadline; -1 when no connection has one. */
int conns_next_ms(const struct conns *cs) {
        uint64_t now = mono_usec();
        int next = -1;

        for (enum phase p = 0; p < PHASE_ANSWERING; p++) {
                const struct conn *cn = cs->lists[p].head;
                uint64_t end;
                int ms;

                if (!cn)
                        continue;
                end = cn->since_usec + phase_timeout(cs, p);
                ms = end <= now ? 0 : (int) ((end - now + 999) / 1000);
                if (next < 0 || ms < next)
                        next = ms;
        }
        return next;
}


void conns_init(struct conns *cs, struct server *s) {
        *cs = (struct conns) { .s = s };
}

void conns_done(struct conns *cs) {
        free(cs->peers); /* empty: every connection has closed */
        cs->peers = NULL;
        cs->n_peers = cs->cap_peers = 0;
}

struct conn *conn_open(struct conns *cs, int fd, bool hook) {
        struct conn *cn = calloc(1, sizeof(*cn));

        if (!cn)
                return NULL;
        *cn = (struct conn) { .cs = cs, .fd = fd, .hook = hook, .phase = PHASE_ANSWERING };
        cs->s->connections++;
        if (++cs->open > cs->peak)
                cs->peak = cs->open;
        conn_enter(cn, PHASE_WAITING);
        conn_attest(cs, cn);
        return cn;
}

void conn_close(struct conn *cn) {
        struct conns *cs = cn->cs;

        if (cn->phase != PHASE_ANSWERING)
                list_remove(&cs->lists[cn->phase], cn);
        peer_count_remove(cs, cn);
        peer_free(cn->peer);
        free(cn);
        cs->s->connections--;
        cs->open--;
}

/* Each connection's MHD memory pool (32 KiB) comes from the heap, and glibc
 * keeps what is freed: after a thousand parked watches hang up the daemon
 * would stay 9 MB larger, and a little larger again after each such burst,
 * as new long-lived allocations pin the freed space.  Once the burst is
 * over, malloc_trim() gives the free pages back. */
void conns_trim(struct conns *cs) {
        if (cs->peak < TRIM_BURST || cs->open > cs->peak / 8)
                return;
        (void) malloc_trim(0);
        cs->peak = cs->open;
}
