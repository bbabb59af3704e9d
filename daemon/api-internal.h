/* api-internal.h — what api.c shares with api-lease.c and api-hook.c, and
 * nobody else: the reply and body helpers, and their routes for the route
 * table. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "api.h"

void reply_json(struct reply *rep, unsigned status, json_t *j);
/* A CLOCK_REALTIME time as the API spells it (UTC, ISO 8601). */
json_t *time_json(int64_t usec);
/* A JSON object body, or {} when there is none; NULL with *rep filled. */
json_t *json_body(const struct request *req, struct reply *rep);
/* "ttl": "15m" or seconds; 0 when absent. */
int body_ttl(json_t *body, struct reply *rep, uint64_t *ret);
int body_keys_only(json_t *body, const char *const *allowed, struct reply *rep);

/* {"leases": [...]}: the leases of set as the lease routes show them. */
json_t *leases_json(const struct leasing *l, const struct lease_set *set);

void route_lease(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_leases(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_renew(struct server *s, const struct request *req, const char *id, struct reply *rep);
void route_revoke(struct server *s, const struct request *req, const char *id, struct reply *rep);
/* api-hook.c */
void route_hook_create_runtime(struct server *s, const struct request *req, const char *name, struct reply *rep);
