/*
 * Blocking use of the HTTP client, for the CLI and tests: run the loop
 * until one request has ended and keep a copy of its answer.
 */
#include "http-sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

int http_wait(struct event_base *base, const bool *done)
{
	while (!*done) {
		int r = event_base_loop(base, EVLOOP_ONCE);

		if (r != 0 && !*done)
			return -EIO;
	}
	return 0;
}

struct http_sync {
	struct http_result *out;
	bool done;
	int r;
};

static void http_sync_cb(const struct http_response *resp, const struct http_error *err, void *arg)
{
	struct http_sync *s = arg;

	s->done = true;
	if (resp != NULL) {
		s->out->status = resp->status;
		s->out->body = malloc(resp->body_len + 1);
		if (s->out->body == NULL) {
			s->r = -ENOMEM;
			return;
		}
		memcpy(s->out->body, resp->body, resp->body_len + 1);
		s->out->body_len = resp->body_len;
		if (resp->subject_token != NULL &&
		        (s->out->subject_token = strdup(resp->subject_token)) == NULL)
			s->r = -ENOMEM;
	}
	if (err != NULL && (s->out->error = http_error_copy(err)) == NULL)
		s->r = -ENOMEM;
}

int http_request_sync(struct http_client *c, const char *method, const char *url,
        const char *const *headers, const char *body, struct http_result *out)
{
	struct http_sync s = {.out = out};
	struct http_request *req;
	int r;

	memset(out, 0, sizeof(*out));
	r = http_request(c, method, url, headers, body, http_sync_cb, &s, &req);
	if (r < 0)
		return r;
	if ((r = http_wait(http_client_base(c), &s.done)) < 0) {
		http_request_cancel(req);
		return r;
	}
	if (s.r < 0) {
		http_result_free(out);
		return s.r;
	}
	return 0;
}

void http_result_free(struct http_result *res)
{
	free(res->body);
	free(res->subject_token);
	http_error_free(res->error);
	memset(res, 0, sizeof(*res));
}
