/*
 * Keystone v3 on the caller's loop: our own project-scoped token, the
 * service catalog's endpoints, and authenticated requests to other
 * services. Validating callers' tokens is keystone-validate.h's; what a
 * token document says is keystone-token.h's.
 *
 * Promises:
 * - One token request at a time; calls that need a token wait for it.
 * - The token is kept until KEYSTONE_TOKEN_MARGIN seconds (settable)
 *   before its expires_at, then re-issued before the next call.
 * - An authenticated call answered 401 re-issues the token once and is
 *   retried once; a second 401 is the caller's error.
 * - Callbacks are called from the loop, never from inside the function that
 *   started the call (a cache hit too), and not at all once cancelled.
 */
#ifndef PRAAS_KEYSTONE_H
#define PRAAS_KEYSTONE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "clouds.h"
#include "http.h"
#include "keystone-token.h"

#define KEYSTONE_TOKEN_MARGIN     60  /* seconds before expiry to renew */
#define KEYSTONE_CACHE_MAX_AGE    300 /* seconds */
#define KEYSTONE_CACHE_MAX_TOKENS 1024
#define KEYSTONE_NEGATIVE_TTL     5    /* seconds a refused token is refused unasked */
#define KEYSTONE_NEGATIVE_SLOTS   4096 /* refused tokens remembered at most */
#define KEYSTONE_MAX_VALIDATIONS  32   /* validation calls in progress at once */
#define KEYSTONE_VALIDATION_QUEUE 256  /* validations waiting for a slot */
#define KEYSTONE_QUEUE_WAIT       10   /* seconds a validation waits for a slot */
struct keystone;
struct keystone_call;

struct keystone_stats {
	unsigned int tokens_issued;   /* successful POST /v3/auth/tokens */
	unsigned int token_failures;  /* failed ones */
	unsigned int reauth_on_401;   /* re-issues caused by a 401 */
	unsigned int validations;     /* GET /v3/auth/tokens sent */
	unsigned int cache_hits;      /* validations answered from the cache */
	unsigned int cache_evictions; /* entries dropped because the cache was full */
	unsigned int negative_hits;   /* validations refused from the refused-token table */
	unsigned int coalesced;       /* validations that shared another one's call */
	unsigned int queued;          /* validations that waited for a slot */
	unsigned int busy;            /* validations failed -EBUSY (queue full or wait over) */
};

/*
 * Sets opts->verify and opts->cacert (borrowed from c) as the cloud says,
 * for the http_client the keystone will use.
 */
void keystone_http_options(const struct cloud *c, struct http_options *opts);

/*
 * A Keystone client for cloud (copied) over http (borrowed; it must outlive
 * the keystone). 0, or -errno with *cause set (-EINVAL: the cloud lacks a
 * required field or auth_url is not http(s); -ENOMEM).
 */
int keystone_new(
        struct http_client *http, const struct cloud *cloud, struct keystone **out, char **cause);
/* Cancels every pending call (no callbacks) and frees. */
void keystone_free(struct keystone *ks);

/* err is NULL on success; the token and catalog are then held. */
typedef void (*keystone_auth_cb)(const struct http_error *err, void *arg);

/*
 * Makes sure a valid token is held, issuing one if needed. 0 or -errno
 * (-ENOMEM); then cb is called once.
 */
int keystone_authenticate(
        struct keystone *ks, keystone_auth_cb cb, void *arg, struct keystone_call **call);

/* Our current token, or NULL when none is held (or it expired). */
const char *keystone_token(const struct keystone *ks);
/* What our current token says, or NULL. */
const struct keystone_token_info *keystone_token_info(const struct keystone *ks);

/*
 * The endpoint URL of service_type ("network", "identity", "praas") in the
 * held token's catalog, for the cloud's interface (default public) and
 * region (any region when the cloud names none). Returns 0 with *url
 * allocated (no trailing '/'), -ENOENT when the catalog has no such endpoint
 * (with *cause naming type, interface and region), -ENOTCONN when no token is
 * held, -ENOMEM.
 */
int keystone_endpoint(
        const struct keystone *ks, const char *service_type, char **url, char **cause);

/*
 * An authenticated request: gets a token if needed, resolves service_type's
 * endpoint and sends method endpoint+path with X-Auth-Token; on a 401 it
 * re-issues the token once and retries. With service_type NULL, path is a
 * full URL. body is NULL or JSON. cb gets the final answer (see http_cb).
 * 0 or -errno (-EINVAL, -ENOMEM); then cb is called once.
 */
int keystone_request(struct keystone *ks, const char *service_type, const char *method,
        const char *path, const char *body, http_cb cb, void *arg, struct keystone_call **call);

/* Stops a pending call; its callback will not be called. */
void keystone_call_cancel(struct keystone_call *call);

const struct keystone_stats *keystone_stats(const struct keystone *ks);
/* Calls started and not yet ended. */
unsigned int keystone_pending(const struct keystone *ks);

#endif
