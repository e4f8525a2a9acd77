#include "call.h"

#include <stdio.h>
#include <stdlib.h>

#include "api-error.h"
#include "http-server.h"
#include "log.h"

/* A handler's view of one request: the agent and the server's handle. */
struct call {
	struct agent *agent;
	struct httpd_req *req;
};

void call_serve(struct agent *a, struct httpd_req *r, call_fn *fn)
{
	struct call *c = malloc(sizeof(*c));

	if (c == NULL) {
		httpd_reply_error(r, 503, "praas.out_of_memory", "out of memory");
		return;
	}
	c->agent = a;
	c->req = r;
	fn(c);
}

/* Every answer goes through here: the call ends with it. */
static void done(struct call *c)
{
	free(c);
}

struct agent *call_agent(struct call *c)
{
	return c->agent;
}

const char *call_capture(struct call *c, const char *name)
{
	return httpd_req_capture(c->req, name);
}

const char *call_header(struct call *c, const char *name)
{
	return httpd_req_header(c->req, name);
}

const char *call_query_string(struct call *c)
{
	return httpd_req_query(c->req);
}

const char *call_body(struct call *c, size_t *len)
{
	return httpd_req_body(c->req, len);
}

const char *call_request_id(struct call *c)
{
	return httpd_req_id(c->req);
}

const struct addr *call_peer(struct call *c, struct addr *buf)
{
	return httpd_req_peer(c->req, buf) == 0 ? buf : NULL;
}

int call_add_header(struct call *c, const char *name, const char *value)
{
	return httpd_req_add_header(c->req, name, value);
}

void call_reply(struct call *c, int status, struct evbuffer *body)
{
	if (status == 204 || body == NULL)
		httpd_reply_empty(c->req, status);
	else
		httpd_reply_json(c->req, status, body);
	done(c);
}

void call_reply_stream(struct call *c, int status, struct evbuffer *first,
        int (*more)(struct evbuffer *out, void *arg), void (*fin)(void *arg, bool complete),
        void *arg)
{
	httpd_reply_stream(c->req, status, first, more, fin, arg);
	done(c);
}

void call_reply_text(struct call *c, int status, struct evbuffer *body)
{
	httpd_reply_typed(c->req, status, "text/plain; version=0.0.4; charset=utf-8", body);
	done(c);
}

void call_reply_legacy(struct call *c, struct evbuffer *body)
{
	httpd_reply_json(c->req, 200, body);
	done(c);
}

void call_reply_error(struct call *c, const struct fault *err)
{
	struct api_error_answer ans = api_error_of(err);
	char secs[16];

	/* An answer with Retry-After is load shedding, logged where it is decided
	 * (at a bounded rate), not once per refused request. */
	if (ans.status >= 500 && ans.retry_after == 0)
		log_warnx("%s: %d %s", httpd_req_id(c->req), ans.status, err->detail);
	/* Without the header the answer still stands: it is only advice. */
	if (ans.retry_after > 0) {
		snprintf(secs, sizeof(secs), "%d", ans.retry_after);
		(void)httpd_req_add_header(c->req, "Retry-After", secs);
	}
	httpd_reply_error(c->req, ans.status, ans.code, "%s", err->detail);
	done(c);
}
