/*
 * HTTP client for the OpenStack APIs: libcurl's multi interface driven by
 * the caller's libevent loop, so a slow or dead server never blocks it.
 *
 * Promises:
 * - Every request ends in exactly one callback, called from the loop and
 *   never from inside http_request() itself, unless it is cancelled first
 *   (then the callback is never called).
 * - Connect and total timeouts (per attempt) always apply; TLS peers are
 *   verified unless the options say otherwise.
 * - A response body larger than max_body is rejected (-EMSGSIZE) as soon as
 *   its size is known; memory stays bounded by max_body per request.
 * - Redirects are never followed: a 3xx answer is an error (-EPROTO) that
 *   names the Location it pointed to.
 * - Idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried with
 *   exponential backoff on connection errors (refused, reset, nothing
 *   received, connect timeout) and on 502, 503 and 504 answers; nothing
 *   else is retried. POST never is.
 */
#ifndef PRAAS_HTTP_H
#define PRAAS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "http-error.h"

struct event_base;
struct http_client;
struct http_request;

struct http_options {
	long connect_timeout_ms; /* per attempt; default 5000 */
	long total_timeout_ms;   /* per attempt, whole exchange; default 30000 */
	size_t max_body;         /* bytes; default HTTP_DEFAULT_MAX_BODY */
	int max_retries;         /* retries after the first attempt; default 3 */
	long retry_base_ms;      /* first backoff; doubled each retry; default 250 */
	long retry_max_ms;       /* cap on one backoff; default 4000 */
	bool verify;             /* verify the TLS peer and host name; default true */
	const char *cacert;      /* CA bundle file; NULL: the system's (copied) */
	const char *user_agent;  /* default "praas/VERSION" (copied) */
};

#define HTTP_DEFAULT_MAX_BODY (16u * 1024 * 1024)

/*
 * One answer. Valid only during the callback. body is NUL-terminated
 * (body_len excludes the NUL); header values are NULL when absent.
 */
struct http_response {
	long status;
	const char *body;
	size_t body_len;
	const char *subject_token; /* X-Subject-Token */
	const char *request_id;    /* X-Openstack-Request-Id */
	const char *content_type;
	int attempts; /* 1 + retries made */
};

/*
 * resp is non-NULL whenever an HTTP answer arrived (also with an error
 * status); err is NULL exactly when the status was 2xx.
 */
typedef void (*http_cb)(const struct http_response *resp, const struct http_error *err, void *arg);

/* Fills opts with the defaults above. */
void http_options_default(struct http_options *opts);

/*
 * A client for one loop. opts may be NULL (defaults); strings are copied.
 * 0 or -errno (-ENOMEM, -EIO when libcurl cannot start).
 */
int http_client_new(
        struct event_base *base, const struct http_options *opts, struct http_client **out);
/* Cancels every pending request (no callbacks) and frees the client. */
void http_client_free(struct http_client *client);
struct event_base *http_client_base(const struct http_client *client);
/* Requests started and not yet ended (for tests and shutdown). */
unsigned int http_client_pending(const struct http_client *client);

/*
 * Called for every request that ends in an error (after its retries), just
 * before its callback: how a daemon counts failed calls. url is the
 * request's URL, valid during the call. NULL fn: none.
 */
typedef void (*http_error_observer)(const char *url, const struct http_error *err, void *arg);
void http_client_set_error_observer(struct http_client *client, http_error_observer fn, void *arg);

/*
 * Starts a request. headers is NULL or a NULL-terminated array of
 * "Name: value" lines; body is NULL or a JSON text (sent with
 * Content-Type: application/json). Accept: application/json is always sent.
 * *handle, when handle is not NULL, is valid until the callback starts
 * or http_request_cancel() returns. 0 or -errno (-EINVAL for a bad method
 * or URL, -ENOMEM); on error the callback is not called.
 */
int http_request(struct http_client *client, const char *method, const char *url,
        const char *const *headers, const char *body, http_cb cb, void *arg,
        struct http_request **handle);

/* Stops a pending request; its callback will not be called. */
void http_request_cancel(struct http_request *req);

/* Percent-encodes text for a URL query or path segment (allocated, or NULL). */
char *http_escape(const char *text);

#endif
