#include "routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "agent.h"
#include "api-error.h"
#include "api-legacy.h"
#include "api-ops.h"
#include "api-v1.h"
#include "call.h"
#include "http.h"
#include "kernel.h"
#include "log.h"
#include "osclient.h"
#include "stats.h"

#define MAX_CAPTURES 2
/* evhttp itself refuses bodies past this; we answer 413 in API-SIG below it. */
#define READ_MAX (1024 * 1024)

struct route {
	enum evhttp_cmd_type method;
	const char *pattern; /* "*" matches one path segment and captures it */
	void (*handler)(struct call *c);
	enum legacy_op legacy; /* for the legacy routes */
	enum stats_route stat;
	bool is_legacy;
};

struct call {
	struct agent *agent;
	struct evhttp_request *req; /* NULL once the client went away */
	struct evhttp_connection *conn;
	struct evkeyvalq query;
	bool query_parsed;
	char *captures[MAX_CAPTURES];
	char *body;
	size_t body_len;
	char request_id[API_REQUEST_ID_LEN + 1];
	enum stats_route stat;
	double started;
	bool sending; /* answered; the connection's close callback is now on_gone */
};

/*
 * Stopping: answers in flight get this long at most (systemd's
 * TimeoutStopSec is 30 s), and once all are answered their bytes get
 * FLUSH_GRACE to reach the clients (a peer that stops reading must not
 * hold the agent).
 */
#define STOP_GRACE  20
#define FLUSH_GRACE 2

/* The REST server's state, hung off the agent. */
struct httpd {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *grace;   /* ends the loop when stopping takes too long */
	unsigned int inflight; /* requests not yet answered */
	unsigned int sending;  /* answers not yet written out */
	bool stopping;
	bool flushing; /* stopping, and only bytes are left to send */
};

static void maybe_exit(struct agent *a);
static void on_grace(evutil_socket_t fd, short what, void *arg);

static void legacy_create(struct call *c)
{
	api_legacy(c, LEGACY_CREATE);
}
static void legacy_remove(struct call *c)
{
	api_legacy(c, LEGACY_REMOVE);
}
static void legacy_modify(struct call *c)
{
	api_legacy(c, LEGACY_MODIFY);
}
static void legacy_router_pat(struct call *c)
{
	api_legacy(c, LEGACY_ROUTER_PAT);
}
static void legacy_router_server_pat(struct call *c)
{
	api_legacy(c, LEGACY_ROUTER_SERVER_PAT);
}

static const struct route routes[] = {
        {EVHTTP_REQ_GET, "/", api_version, 0, STATS_ROUTE_VERSION, false},
        {EVHTTP_REQ_GET, "/v1/routers/*/port_forwardings", api_v1_list, 0, STATS_ROUTE_V1_LIST,
                false},
        {EVHTTP_REQ_POST, "/v1/routers/*/port_forwardings", api_v1_create, 0, STATS_ROUTE_V1_CREATE,
                false},
        {EVHTTP_REQ_GET, "/v1/routers/*/port_forwardings/*", api_v1_show, 0, STATS_ROUTE_V1_SHOW,
                false},
        {EVHTTP_REQ_PUT, "/v1/routers/*/port_forwardings/*", api_v1_update, 0,
                STATS_ROUTE_V1_UPDATE, false},
        {EVHTTP_REQ_DELETE, "/v1/routers/*/port_forwardings/*", api_v1_delete, 0,
                STATS_ROUTE_V1_DELETE, false},
        {EVHTTP_REQ_GET, "/v1/port_forwardings", api_v1_list_all, 0, STATS_ROUTE_V1_LIST_ALL,
                false},
        {EVHTTP_REQ_GET, "/healthz", api_healthz, 0, STATS_ROUTE_HEALTHZ, false},
        {EVHTTP_REQ_GET, "/metrics", api_metrics, 0, STATS_ROUTE_METRICS, false},
        {EVHTTP_REQ_POST, "/pat/create", legacy_create, LEGACY_CREATE, STATS_ROUTE_LEGACY_CREATE,
                true},
        {EVHTTP_REQ_POST, "/pat/remove", legacy_remove, LEGACY_REMOVE, STATS_ROUTE_LEGACY_REMOVE,
                true},
        {EVHTTP_REQ_POST, "/pat/modify", legacy_modify, LEGACY_MODIFY, STATS_ROUTE_LEGACY_MODIFY,
                true},
        {EVHTTP_REQ_GET, "/router_pat", legacy_router_pat, LEGACY_ROUTER_PAT,
                STATS_ROUTE_LEGACY_ROUTER_PAT, true},
        {EVHTTP_REQ_GET, "/router_server_pat", legacy_router_server_pat, LEGACY_ROUTER_SERVER_PAT,
                STATS_ROUTE_LEGACY_ROUTER_SERVER_PAT, true},
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "?";
	}
}

/*
 * Matches path against pattern segment by segment; "*" captures a
 * non-empty segment (percent-decoded). Returns true on a match.
 */
static bool match(const char *pattern, const char *path, char **captures)
{
	unsigned int n = 0;

	while (*pattern && *path) {
		if (*pattern == '*') {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);
			char *raw;

			if (len == 0 || n == MAX_CAPTURES || (raw = strndup(path, len)) == NULL)
				return false;
			captures[n] = evhttp_uridecode(raw, 0, NULL);
			free(raw);
			if (captures[n++] == NULL)
				return false;
			pattern++;
			path += len;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

static void free_captures(char **captures)
{
	for (unsigned int i = 0; i < MAX_CAPTURES; i++) {
		free(captures[i]);
		captures[i] = NULL;
	}
}

static void call_free(struct call *c)
{
	struct agent *a = c->agent;
	struct httpd *h = a->httpd;

	if (c->conn != NULL && !c->sending)
		evhttp_connection_set_closecb(c->conn, NULL, NULL);
	if (c->query_parsed)
		evhttp_clear_headers(&c->query);
	free_captures(c->captures);
	free(c->body);
	free(c);
	h->inflight--;
	maybe_exit(a);
}

/* The client hung up before its answer: remember, so the answer only frees. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	struct call *c = arg;

	c->req = NULL;
	c->conn = NULL;
}

/* An answer is out of our buffers: the client has all of it. */
static void on_sent(struct evhttp_request *req, void *arg)
{
	struct agent *a = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);

	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	a->httpd->sending--;
	maybe_exit(a);
}

/* The client went away before it had the whole answer: it is sent as far as it goes. */
static void on_gone(struct evhttp_connection *conn, void *arg)
{
	struct agent *a = arg;

	a->httpd->sending--;
	maybe_exit(a);
}

static void answer(struct call *c, int status, const char *type, struct evbuffer *body)
{
	struct evkeyvalq *out;

	if (c->req != NULL) {
		out = evhttp_request_get_output_headers(c->req);
		evhttp_add_header(out, "X-Openstack-Request-Id", c->request_id);
		if (type != NULL)
			evhttp_add_header(out, "Content-Type", type);
		/* The loop must not end on SIGTERM before this answer is written. */
		evhttp_request_set_on_complete_cb(c->req, on_sent, c->agent);
		if (c->conn != NULL)
			evhttp_connection_set_closecb(c->conn, on_gone, c->agent);
		c->sending = true;
		c->agent->httpd->sending++;
		evhttp_send_reply(c->req, status, NULL, status == 204 ? NULL : body);
		stats_request(c->agent->stats, c->stat, status, now() - c->started);
	}
	call_free(c);
}

void call_reply(struct call *c, int status, struct evbuffer *body)
{
	answer(c, status, body ? "application/json" : NULL, body);
}

void call_reply_text(struct call *c, int status, struct evbuffer *body)
{
	answer(c, status, "text/plain; version=0.0.4; charset=utf-8", body);
}

void call_reply_legacy(struct call *c, struct evbuffer *body)
{
	answer(c, 200, "application/json", body);
}

void call_reply_error(struct call *c, const struct apierr *err)
{
	struct evbuffer *b = evbuffer_new();

	if (b != NULL && api_error_write(b, err->status, err->code, err->detail, c->request_id) < 0)
		evbuffer_drain(b, evbuffer_get_length(b));
	if (err->status >= 500)
		log_warnx("%s: %d %s", c->request_id, err->status, err->detail);
	else
		log_debug("%s: %d %s", c->request_id, err->status, err->detail);
	answer(c, err->status, "application/json", b);
	if (b != NULL)
		evbuffer_free(b);
}

struct agent *call_agent(struct call *c)
{
	return c->agent;
}

const char *call_capture(struct call *c, unsigned int i)
{
	return i < MAX_CAPTURES ? c->captures[i] : NULL;
}

const char *call_header(struct call *c, const char *name)
{
	return c->req ? evhttp_find_header(evhttp_request_get_input_headers(c->req), name) : NULL;
}

const char *call_query_string(struct call *c)
{
	return c->req ? evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req)) : NULL;
}

static struct evkeyvalq *query(struct call *c)
{
	const char *q = call_query_string(c);

	if (!c->query_parsed) {
		TAILQ_INIT(&c->query);
		c->query_parsed = true;
		if (q != NULL && evhttp_parse_query_str(q, &c->query) < 0)
			evhttp_clear_headers(&c->query);
	}
	return &c->query;
}

const char *call_query(struct call *c, const char *name)
{
	return evhttp_find_header(query(c), name);
}

const char *call_query_unknown(struct call *c, const char *const *names)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, query(c), next)
	{
		const char *const *n;
		for (n = names; *n && strcmp(*n, kv->key) != 0; n++)
			;
		if (*n == NULL)
			return kv->key;
	}
	return NULL;
}

const char *call_body(struct call *c, size_t *len)
{
	*len = c->body_len;
	return c->body;
}

const struct sockaddr *call_peer(struct call *c)
{
	struct evhttp_connection *conn = c->req ? evhttp_request_get_connection(c->req) : NULL;

	return conn ? evhttp_connection_get_addr(conn) : NULL;
}

/* Copies the body out, NUL-terminated; -E2BIG past ROUTES_BODY_MAX. */
static int read_body(struct call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);

	if (len > ROUTES_BODY_MAX)
		return -E2BIG;
	c->body = malloc(len + 1);
	if (c->body == NULL)
		return -ENOMEM;
	if (evbuffer_remove(in, c->body, len) != (int)len)
		return -EIO;
	c->body[len] = '\0';
	c->body_len = len;
	return 0;
}

/* The routes whose path matches, for 405's Allow. */
static void allowed(struct agent *a, const char *path, char *buf, size_t len)
{
	char *caps[MAX_CAPTURES] = {NULL, NULL};

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if ((routes[i].is_legacy && !a->cfg.legacy_api) ||
		        !match(routes[i].pattern, path, caps)) {
			free_captures(caps);
			continue;
		}
		free_captures(caps);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "",
		        method_name(routes[i].method));
	}
}

static void dispatch(struct call *c, const char *path, enum evhttp_cmd_type method)
{
	struct agent *a = c->agent;
	char allow[128];
	struct apierr err;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];

		if (r->method != method || (r->is_legacy && !a->cfg.legacy_api))
			continue;
		if (!match(r->pattern, path, c->captures)) {
			free_captures(c->captures);
			continue;
		}
		c->stat = r->stat;
		r->handler(c);
		return;
	}
	allowed(a, path, allow, sizeof(allow));
	if (allow[0] != '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Allow", allow);
		apierr_set(&err, 405, "praas.method_not_allowed",
		        "%s is not allowed here (allowed: %s)", method_name(method), allow);
	} else {
		apierr_set(&err, 404, "praas.not_found", "no such resource");
	}
	call_reply_error(c, &err);
}

/*
 * Answers go out at once. With Nagle's algorithm the last segment of a
 * multi-segment answer (a list) waits for the client's delayed ACK: 40 ms
 * added to every large answer.
 */
static void no_delay(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("Failed to set TCP_NODELAY: %s", strerror(errno));
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct agent *a = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct call *c = calloc(1, sizeof(*c));
	struct apierr err;
	int r;

	if (c == NULL) {
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	a->httpd->inflight++;
	no_delay(req);
	c->agent = a;
	c->req = req;
	c->started = now();
	c->stat = STATS_ROUTE_OTHER;
	if (api_request_id(c->request_id) < 0)
		snprintf(c->request_id, sizeof(c->request_id), "req-unknown");
	/* One request at a time per connection: its close callback is this call's. */
	c->conn = evhttp_request_get_connection(req);
	if (c->conn != NULL)
		evhttp_connection_set_closecb(c->conn, on_close, c);
	if ((r = read_body(c)) < 0) {
		apierr_set(&err, r == -E2BIG ? 413 : 503,
		        r == -E2BIG ? "praas.body_too_large" : "praas.out_of_memory",
		        r == -E2BIG ? "the body is larger than 65536 bytes"
		                    : "cannot read the body");
		call_reply_error(c, &err);
		return;
	}
	dispatch(c, path ? path : "/", evhttp_request_get_command(req));
}

static void on_batch(double seconds, bool ok, void *arg)
{
	stats_nft_batch(arg, seconds, ok);
}

/*
 * A failed OpenStack call, counted when OpenStack failed us: no answer, a
 * 5xx, or our own credentials refused. A 404 or 400 is an answer about the
 * data asked for (a deleted port, a user's bad token), not an outage.
 */
static void on_openstack_error(const char *url, const struct http_error *err, void *arg)
{
	struct agent *a = arg;
	const char *auth_url = a->os->cloud.auth_url;

	if (err->status != 0 && err->status < 500 && err->status != 401 && err->status != 403)
		return;
	stats_openstack_error(a->stats,
	        auth_url && strncmp(url, auth_url, strlen(auth_url)) == 0 ? "keystone" : "neutron");
}

int routes_open(struct agent *a, char **cause)
{
	struct httpd *h = calloc(1, sizeof(*h));

	*cause = NULL;
	if (h == NULL)
		return -ENOMEM;
	a->httpd = h;
	if (stats_new(&a->stats) < 0 || (h->http = evhttp_new(a->base)) == NULL ||
	        (h->grace = evtimer_new(a->base, on_grace, a)) == NULL)
		return -ENOMEM;
	kernel_set_batch_cb(a->kernel, on_batch, a->stats);
	if (a->os != NULL)
		http_client_set_error_observer(a->os->http, on_openstack_error, a);
	evhttp_set_max_body_size(h->http, READ_MAX);
	evhttp_set_max_headers_size(h->http, 64 * 1024);
	evhttp_set_timeout(h->http, 60);
	evhttp_set_allowed_methods(h->http,
	        EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(h->http, on_request, a);
	h->sock = evhttp_bind_socket_with_handle(h->http, a->cfg.listen, (uint16_t)a->cfg.port_app);
	if (h->sock == NULL) {
		int r = errno ? -errno : -EADDRINUSE;
		if (asprintf(cause, "cannot bind: %s", strerror(-r)) < 0)
			*cause = NULL;
		return r;
	}
	return 0;
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct httpd *h = a->httpd;

	if (h->inflight > 0)
		log_warnx("Stopping with %u request%s unanswered after %d s", h->inflight,
		        h->inflight == 1 ? "" : "s", STOP_GRACE);
	else
		log_warnx("Stopping with %u answer%s not fully sent", h->sending,
		        h->sending == 1 ? "" : "s");
	event_base_loopexit(a->base, NULL);
}

static void arm_grace(struct agent *a, int seconds)
{
	struct timeval tv = {seconds, 0};

	if (a->httpd->grace == NULL || evtimer_add(a->httpd->grace, &tv) < 0)
		event_base_loopexit(a->base, NULL); /* no timer: don't risk hanging */
}

/* While stopping: ends the loop once every answer is written out. */
static void maybe_exit(struct agent *a)
{
	struct httpd *h = a->httpd;

	if (!h->stopping)
		return;
	if (h->inflight == 0 && h->sending == 0) {
		event_base_loopexit(a->base, NULL);
	} else if (h->inflight == 0 && !h->flushing) {
		h->flushing = true;
		arm_grace(a, FLUSH_GRACE); /* only bytes left to send: a shorter wait */
	}
}

void routes_stop(struct agent *a)
{
	struct httpd *h = a->httpd;

	if (h == NULL || h->http == NULL) {
		event_base_loopexit(a->base, NULL);
		return;
	}
	if (h->stopping)
		return;
	h->stopping = true;
	if (h->sock != NULL) {
		evhttp_del_accept_socket(h->http, h->sock);
		h->sock = NULL;
	}
	arm_grace(a, STOP_GRACE);
	maybe_exit(a);
}

void routes_close(struct agent *a)
{
	struct httpd *h = a->httpd;

	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->grace != NULL)
		event_free(h->grace);
	stats_free(a->stats);
	a->stats = NULL;
	free(h);
	a->httpd = NULL;
}
