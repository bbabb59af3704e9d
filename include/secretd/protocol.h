/* protocol.h — what daemon, client and tests agree on: API routes, error
 * codes and their HTTP statuses, header names, and the grammars of secret
 * names and lease ids.  The functions are daemon/protocol.c's, linked
 * into both secretd and secretctl, so both sides check the same thing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define API_PREFIX "/v1"

/* The routes.  A "{name}" segment is a secret name, an "{id}" segment a
 * lease id; the daemon's route table matches them, the client fills them
 * in with api_path(). */
#define API_ROUTE_HEALTH API_PREFIX "/health"
#define API_ROUTE_WHOAMI API_PREFIX "/whoami"
#define API_ROUTE_SECRETS API_PREFIX "/secrets"
#define API_ROUTE_SECRET API_ROUTE_SECRETS "/{name}"
#define API_ROUTE_SECRET_META API_ROUTE_SECRET "/meta"
#define API_ROUTE_SECRET_ROTATE API_ROUTE_SECRET "/rotate"
#define API_ROUTE_SECRET_WATCH API_ROUTE_SECRET "/watch"
#define API_ROUTE_RELOAD API_PREFIX "/reload"
#define API_ROUTE_STATUS API_PREFIX "/status"
#define API_ROUTE_METRICS "/metrics" /* where Prometheus looks: no prefix */
#define API_ROUTE_LEASES API_PREFIX "/leases"
#define API_ROUTE_LEASE API_ROUTE_LEASES "/{id}"
#define API_ROUTE_LEASES_WATCH API_ROUTE_LEASES "/watch"
#define API_ROUTE_LEASE_RENEW API_ROUTE_LEASE "/renew"
/* The OCI createRuntime hook's one request, on the hook socket only: the
 * body is the runtime's state JSON (ociVersion, id, pid, bundle, ...) as
 * the hook read it from stdin, at most HOOK_STATE_MAX bytes.  The reply:
 * 200 {"container": ID, "workload": NAME or null, "mounted": PATH or null,
 * "leases": [...]}; any other status is a refusal whose error message the
 * hook prints, and the runtime does not start the container. */
#define API_ROUTE_HOOK_CREATE_RUNTIME API_PREFIX "/hook/create-runtime"
#define HOOK_STATE_MAX (64 * 1024)
/* The OCI annotation a hook reads to decide nothing itself: the policy
 * decides; this one only names, for a workload that matches on it, which
 * workload the container asks to be (see "annotations" in a match). */
#define HOOK_ANNOTATION_WORKLOAD "io.secretd.workload"

/* Writes route into buf with its "{…}" segment replaced by arg (ignored
 * when the route has none) and, when query is not NULL, "?query" after
 * it.  The caller has checked arg against its grammar.  Returns 0, or
 * -EINVAL (a "{…}" segment and no arg) or -ENAMETOOLONG (buf too small;
 * buf then holds an empty string). */
int api_path(char *buf, size_t size, const char *route, const char *arg, const char *query);

/* Error codes in {"error":{"code":..., "message":...}}.  Stable: clients
 * and scripts branch on them. */
enum api_error {
        API_ERR_BAD_REQUEST,      /* 400 */
        API_ERR_INVALID_NAME,     /* 400 */
        API_ERR_INVALID_VERSION,  /* 400 */
        API_ERR_INVALID_JSON,     /* 400 */
        API_ERR_CONFIG_INVALID,   /* 400: a reload found a broken file */
        API_ERR_FORBIDDEN,        /* 403 */
        API_ERR_NOT_FOUND,        /* 404 */
        API_ERR_METHOD_NOT_ALLOWED, /* 405 */
        API_ERR_CONFLICT,         /* 409 */
        API_ERR_TOO_LARGE,        /* 413 */
        API_ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 */
        API_ERR_TOO_MANY_REQUESTS, /* 429 */
        API_ERR_INTERNAL,         /* 500 */
        API_ERR_SECRET_DAMAGED,   /* 500: that secret's file does not open */
        API_ERR_UNAVAILABLE,      /* 503 */
        _API_ERR_MAX
};

#define SECRET_VERSION_HEADER "X-Secret-Version"

/* A secret name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.  The store's files are
 * named after it, and the client checks it so that a name can never add a
 * path segment or a query to a URL. */
#define SECRET_NAME_MAX 128
#define SECRET_NAME_GRAMMAR "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
bool secret_name_valid(const char *name); /* false for NULL */

/* A lease id: this many lowercase hex digits (16 random bytes).  The
 * client checks ids against it before it sends one: an id the daemon could
 * never have made is a usage error there, not a request that fails. */
#define LEASE_ID_LEN 32
bool lease_id_valid(const char *id); /* false for NULL */
