/*
 * Keystone v3 on the caller's loop: our own project-scoped token, the
 * service catalog, authenticated requests to other services, and
 * validation of callers' tokens.
 *
 * Promises:
 * - One token request at a time; calls that need a token wait for it.
 * - The token is kept until KEYSTONE_TOKEN_MARGIN seconds (settable)
 *   before its expires_at, then re-issued before the next call.
 * - An authenticated call answered 401 re-issues the token once and is
 *   retried once; a second 401 is the caller's error.
 * - Validated caller tokens are cached until their expiry and at most
 *   keystone_cache max_age (default 300 s), in a cache of bounded size
 *   (default 1024; the entry closest to expiry is dropped when full).
 *   Failures are never cached.
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

#define KEYSTONE_TOKEN_MARGIN     60  /* seconds before expiry to renew */
#define KEYSTONE_CACHE_MAX_AGE    300 /* seconds */
#define KEYSTONE_CACHE_MAX_TOKENS 1024

struct keystone;
struct keystone_call;

/* What a token says about its holder. */
struct keystone_token_info {
	char *user_id;
	char *user_name;
	char *project_id;
	char *project_name;
	char **roles; /* role names */
	size_t roles_len;
	time_t expires_at;
	time_t issued_at;
};

struct keystone_stats {
	unsigned int tokens_issued;   /* successful POST /v3/auth/tokens */
	unsigned int token_failures;  /* failed ones */
	unsigned int reauth_on_401;   /* re-issues caused by a 401 */
	unsigned int validations;     /* GET /v3/auth/tokens sent */
	unsigned int cache_hits;      /* validations answered from the cache */
	unsigned int cache_evictions; /* entries dropped because the cache was full */
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

void keystone_set_token_margin(struct keystone *ks, int seconds);
void keystone_set_cache_limits(struct keystone *ks, int max_age_seconds, size_t max_tokens);
/* Drops the token we hold, so the next call issues a new one. */
void keystone_forget_token(struct keystone *ks);
/* Drops every cached validation. */
void keystone_cache_clear(struct keystone *ks);

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

/*
 * info is valid only during the callback (the cache owns it). A token
 * Keystone does not know, or that expired or was revoked, gives
 * err->code == -EKEYREJECTED (Keystone said 404 for it); any other error
 * means Keystone could not be asked or refused us (a 503 for the caller).
 */
typedef void (*keystone_validate_cb)(
        const struct keystone_token_info *info, const struct http_error *err, void *arg);

/*
 * Validates a caller's token: GET /v3/auth/tokens with X-Auth-Token = ours
 * and X-Subject-Token = theirs, answered from the cache when it can be.
 * 0 or -errno (-EINVAL for an empty or over-long token, -ENOMEM).
 */
int keystone_validate(struct keystone *ks, const char *subject_token, keystone_validate_cb cb,
        void *arg, struct keystone_call **call);

/* Stops a pending call; its callback will not be called. */
void keystone_call_cancel(struct keystone_call *call);

bool keystone_token_has_role(const struct keystone_token_info *info, const char *role);
const struct keystone_stats *keystone_stats(const struct keystone *ks);
/* Calls started and not yet ended. */
unsigned int keystone_pending(const struct keystone *ks);

/*
 * Decodes a token body ({"token": {...}}) into *info (allocated strings;
 * free with keystone_token_info_clear). 0, or -EPROTO with *cause.
 */
int keystone_token_info_parse(
        const char *body, size_t len, struct keystone_token_info *info, char **cause);
void keystone_token_info_clear(struct keystone_token_info *info);

#endif
