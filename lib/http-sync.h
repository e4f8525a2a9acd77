/*
 * Blocking use of the HTTP client, for the CLI and tests: a daemon never
 * calls these (they run the loop until one request ends).
 *
 * Promises: the result is a copy the caller owns; a request that could
 * not start or whose loop failed leaves nothing to free.
 */
#ifndef PRAAS_HTTP_SYNC_H
#define PRAAS_HTTP_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/*
 * Runs the loop until *done is true. 0, or -EIO when the loop fails or has
 * nothing left to wait for while *done is still false. For the CLI and tests.
 */
int http_wait(struct event_base *base, const bool *done);

/* The result of a blocking request, owned by the caller. */
struct http_result {
	long status;
	char *body;
	size_t body_len;
	char *subject_token;
	struct http_error *error; /* NULL on 2xx */
};

/*
 * Blocking convenience for the CLI: starts the request and runs the loop
 * until it ends. Returns 0 with *out filled (check out->error), or -errno
 * when it could not start.
 */
int http_request_sync(struct http_client *client, const char *method, const char *url,
        const char *const *headers, const char *body, struct http_result *out);
void http_result_free(struct http_result *res);

#endif
