/* etcd-watch.h — what other hosts change in the shared store, as it
 * happens: a watch of the etcd prefix (see etcd-watch.c), delivered to the
 * event loop as small events through a pipe.  Only names and revisions
 * pass; the loop reads the sealed blob itself. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "secretd/protocol.h" /* SECRET_NAME_MAX */

enum etcd_event_type {
        ETCD_EVENT_PUT,    /* name has a new blob at rev */
        ETCD_EVENT_DELETE, /* name is gone at rev */
        ETCD_EVENT_RESYNC, /* the watch (re)started where events may have been missed: compare everything */
        ETCD_EVENT_LIVE,   /* the watch is in place: from now on no change goes unheard */
        ETCD_EVENT_LOST,   /* the stream broke: changes may go unheard until LIVE again */
};

struct etcd_event {
        enum etcd_event_type type;
        uint64_t rev;
        char name[SECRET_NAME_MAX + 1];
        char why[96]; /* RESYNC: a sentence for the log */
};

struct etcd_watch;

/* Starts watching o's prefix from now (a RESYNC comes first, once the
 * watch is in place).  The endpoints are tried in turn; a lost stream is
 * resumed from the revision after the last event, or, when etcd compacted
 * past it, restarted with a RESYNC. */
int etcd_watch_start(const struct etcd_options *o, struct etcd_watch **ret);
/* Readable when events wait. */
int etcd_watch_fd(const struct etcd_watch *w);
/* The next waiting event: 1, or 0 when none waits. */
int etcd_watch_next(struct etcd_watch *w, struct etcd_event *ret);
/* Stops the watch (within about a second) and frees it. */
void etcd_watch_stop(struct etcd_watch *w);
