/* fleet.h — applying what other hosts changed in the shared store (etcd)
 * to this host's leases and watchers, event by event (fleet.c). */
#pragma once

#include "etcd-watch.h"

struct server;

void fleet_apply(struct server *s, const struct etcd_event *ev);
