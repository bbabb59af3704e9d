/* protocol.h — what daemon, client and tests agree on: API paths, error
 * codes and their HTTP statuses, header names. */
#pragma once

#define API_PREFIX "/v1"

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

/* A lease id: this many lowercase hex digits (16 random bytes).  The
 * client checks ids against it before it sends one. */
#define LEASE_ID_LEN 32
