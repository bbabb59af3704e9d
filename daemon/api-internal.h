/* api-internal.h — what api.c shares with api-lease.c and api-hook.c, and
 * nobody else: the reply and body helpers, and their routes for the route
 * table. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "api.h"

void reply_json(struct reply *rep, unsigned status, json_t *j);
/* The value of query parameter key, or NULL. */
const char *query_get(const struct request *req, const char *key);
/* A decimal in [0, max]; -EINVAL otherwise (also for NULL). */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* The reply for a store error about name. */
void store_error(struct server *s, struct reply *rep, int r, const char *name);
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
/* api-watch.c: how long a watch waits unless told, and at most */
#define WATCH_TIMEOUT_DEFAULT_USEC (30 * UINT64_C(1000000))
#define WATCH_TIMEOUT_MAX_USEC (3600 * UINT64_C(1000000))
void route_watch(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_health(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_whoami(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_status(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_metrics(struct server *s, const struct request *req, const char *name, struct reply *rep);
void route_leases_watch(struct server *s, const struct request *req, const char *name, struct reply *rep);

/* api-set.c.  The kind of value req's body is: a set when its
 * Content-Type is SET_CONTENT_TYPE, and then *ret_set its canonical
 * encoding (to store instead of the body); false with rep filled when the
 * set is malformed. */
bool body_value(const struct request *req, struct reply *rep, enum store_kind *ret_kind, struct secbuf **ret_set);
/* rep->value, a set's encoding, becomes its part named part (404 when
 * there is none). */
void reply_set_part(struct reply *rep, const char *name, const char *part);
/* [{"name","size"}] of a set's encoding. */
json_t *set_parts_json(const struct secbuf *value);
/* api-hook.c */
void route_hook_create_runtime(struct server *s, const struct request *req, const char *name, struct reply *rep);
