#include "http-server.h"

#include "query.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <strings.h>
#include <netinet/in.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "api-error.h"
#include "http-guard.h"
#include "http-tls.h"
#include "cause.h"
#include "log.h"
#include "metrics.h"

#define SEGS_MAX  16
#define SOCKS_MAX 4

struct segment {
	const char *text; /* literal text, or the capture's name */
	size_t len;
	bool capture;
};

struct route {
	struct segment seg[SEGS_MAX];
	size_t nseg;
	unsigned int label; /* index of its name among the metrics' route labels */
};

struct httpd_req {
	TAILQ_ENTRY(httpd_req) entry;
	struct httpd *srv;         /* NULL once the server is freed */
	struct evhttp_request *ev; /* NULL once the server is freed */
	size_t route;
	unsigned int label;
	char id[API_REQUEST_ID_LEN + 1];
	struct timespec start;
	char *body;
	size_t body_len;
	char path[HTTPD_PATH_MAX + 1];
	const char *query;
	size_t ncap;
	struct {
		const char *name;
		size_t namelen;
		char value[HTTPD_CAPTURE_MAX + 1];
	} cap[HTTPD_CAPTURES_MAX];
};

/* A streamed answer in progress (httpd_reply_stream). */
struct stream {
	LIST_ENTRY(stream) entry;
	struct httpd *srv;
	struct evhttp_request *ev;
	struct evbuffer *piece;
	struct event *check; /* notices a client gone: see on_check_gone() */
	httpd_more_fn *more;
	httpd_done_fn *done;
	void *arg;
};

struct httpd {
	struct event_base *base;
	struct evhttp *http;
	struct httpd_config cfg;
	struct guard *guard; /* the connections, before evhttp parses them */
	struct tls *tls;     /* NULL: plain HTTP */
	struct route *routes;
	struct evhttp_bound_socket *socks[SOCKS_MAX];
	size_t nsocks;
	uint16_t port;
	TAILQ_HEAD(, httpd_req) live;
	LIST_HEAD(, stream) streams;
	unsigned int in_flight; /* handed out, not answered */
	unsigned int unwritten; /* answered, not yet written out */
	bool shutting_down;
	void (*done)(void *arg);
	void *done_arg;
	struct event *grace, *check;
	/* metrics */
	const char **route_labels; /* unique route names, then "unmatched" */
	size_t nlabels;
	struct metric_label labels[2];
	struct metric *m_requests, *m_latency;
};

/* The status codes counted one by one; any other is "other". */
static const char *const code_labels[] = {"200", "201", "204", "400", "401", "403", "404", "405",
        "409", "413", "500", "503", "other"};
#define N_CODES (sizeof(code_labels) / sizeof(code_labels[0]))

/* ---- patterns ---- */

static int compile(const char *pattern, struct route *out)
{
	const char *p = pattern, *end;
	size_t ncap = 0;

	memset(out, 0, sizeof(*out));
	if (pattern == NULL || *p != '/')
		return -EINVAL;
	if (strcmp(pattern, "/") == 0)
		return 0;
	while (*p == '/') {
		p++;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p || out->nseg == SEGS_MAX)
			return -EINVAL;
		struct segment *s = &out->seg[out->nseg++];
		if (*p == '{' && end[-1] == '}' && end - p > 2) {
			s->text = p + 1;
			s->len = (size_t)(end - p - 2);
			s->capture = true;
			if (++ncap > HTTPD_CAPTURES_MAX)
				return -EINVAL;
		} else {
			s->text = p;
			s->len = (size_t)(end - p);
		}
		p = end;
	}
	return *p == '\0' ? 0 : -EINVAL;
}

/* Percent-decodes one segment into out; -EINVAL for bad escapes, '/', NUL or length. */
static int decode_segment(const char *s, size_t len, char *out, size_t size)
{
	int r = query_decode(s, len, false, out, size);

	if (r == 0 && (out[0] == '\0' || strchr(out, '/') != NULL))
		r = -EINVAL;
	return r;
}

/* Matches path against a route, filling the captures of r. */
static bool match(const struct route *rt, const char *path, struct httpd_req *r)
{
	const char *p = path, *end;
	size_t i = 0;

	r->ncap = 0;
	if (strcmp(path, "/") == 0)
		return rt->nseg == 0;
	while (*p == '/') {
		p++;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (i == rt->nseg)
			return false;
		const struct segment *s = &rt->seg[i++];
		if (s->capture) {
			if (decode_segment(p, (size_t)(end - p), r->cap[r->ncap].value,
			            sizeof(r->cap[r->ncap].value)) < 0)
				return false;
			r->cap[r->ncap].name = s->text;
			r->cap[r->ncap].namelen = s->len;
			r->ncap++;
		} else if ((size_t)(end - p) != s->len || memcmp(p, s->text, s->len) != 0) {
			return false;
		}
		p = end;
	}
	return i == rt->nseg;
}

/* ---- answers ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	default:
		return api_error_title(status);
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void observe(struct httpd *s, const struct httpd_req *r, int status)
{
	char code[8];
	unsigned int idx[2];
	int c;

	if (s->m_requests == NULL)
		return;
	snprintf(code, sizeof(code), "%d", status);
	c = metric_label_index(&s->labels[1], code);
	idx[0] = r->label;
	idx[1] = c < 0 ? (unsigned int)(N_CODES - 1) : (unsigned int)c;
	metric_inc(s->m_requests, idx);
	/* By route only: with the status too, a scrape would be 15 times larger. */
	metric_observe(s->m_latency, idx, seconds_since(&r->start));
}

static void maybe_done(struct httpd *s)
{
	if (s->shutting_down && s->done != NULL && s->in_flight == 0 && s->unwritten == 0)
		event_active(s->check, 0, 0);
}

static void on_written(struct evhttp_request *ev, void *arg)
{
	struct httpd *s = arg;

	guard_written(s->guard, ev);
	s->unwritten--;
	maybe_done(s);
}

static void reply(struct httpd_req *r, int status, const char *content_type, struct evbuffer *body)
{
	struct httpd *s = r->srv;
	struct evkeyvalq *h;

	if (s != NULL && r->ev != NULL) {
		h = evhttp_request_get_output_headers(r->ev);
		if (evhttp_add_header(h, "X-Openstack-Request-Id", r->id) < 0 ||
		        (content_type && evhttp_add_header(h, "Content-Type", content_type) < 0) ||
		        (s->shutting_down && evhttp_add_header(h, "Connection", "close") < 0))
			log_warnx("http: cannot add headers to an answer");
		s->unwritten++;
		evhttp_request_set_on_complete_cb(r->ev, on_written, s);
		evhttp_send_reply(r->ev, status, reason(status), status == 204 ? NULL : body);
		observe(s, r, status);
		TAILQ_REMOVE(&s->live, r, entry);
		s->in_flight--;
		maybe_done(s);
	}
	free(r->body);
	free(r);
}

void httpd_reply_json(struct httpd_req *r, int status, struct evbuffer *body)
{
	reply(r, status, "application/json", body);
}

void httpd_reply_typed(
        struct httpd_req *r, int status, const char *content_type, struct evbuffer *body)
{
	reply(r, status, content_type, body);
}

void httpd_reply_empty(struct httpd_req *r, int status)
{
	reply(r, status, "application/json", NULL);
}

void httpd_reply_error(struct httpd_req *r, int status, const char *code, const char *fmt, ...)
{
	struct evbuffer *body = evbuffer_new();
	char *detail = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	if (body == NULL || api_error_write(body, status, code, detail, r->id) < 0) {
		/* Out of memory: the status alone still tells the client. */
		if (body != NULL)
			evbuffer_drain(body, evbuffer_get_length(body));
	}
	reply(r, status, "application/json", body);
	free(detail);
	if (body != NULL)
		evbuffer_free(body);
}

/* ---- streamed answers ---- */

/* Ends st: done() once, and st is freed. */
static void stream_end(struct stream *st, bool complete)
{
	httpd_done_fn *done = st->done;
	void *arg = st->arg;

	struct httpd *s = st->srv;

	LIST_REMOVE(st, entry);
	event_free(st->check);
	evbuffer_free(st->piece);
	free(st);
	done(arg, complete);
	/*
	 * Pieces of many streams, freed at once (stalled clients dropped
	 * together), leave free memory that glibc keeps: give it back.
	 */
	if (LIST_EMPTY(&s->streams))
		(void)malloc_trim(0); /* returns only whether anything was released */
}

/*
 * Abandons st. A request libevent detached from its connection (client
 * gone) is ours to free; one still on its connection goes with it.
 */
static void stream_abort(struct stream *st)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(st->ev);

	st->srv->unwritten--;
	if (conn == NULL)
		evhttp_send_reply_end(st->ev); /* no connection: only frees the request */
	else
		evhttp_connection_free(conn);
	maybe_done(st->srv);
	stream_end(st, false);
}

static void on_drained(struct evhttp_connection *conn, void *arg);

/* Hands the next piece to the connection, or ends the answer. */
static void stream_next(struct stream *st)
{
	int r;

	do
		r = st->more(st->piece, st->arg);
	while (r > 0 && evbuffer_get_length(st->piece) == 0);
	if (r < 0) {
		stream_abort(st);
		return;
	}
	if (evbuffer_get_length(st->piece) > 0)
		evhttp_send_reply_chunk_with_cb(st->ev, st->piece, r > 0 ? on_drained : NULL, st);
	if (r == 0) {
		/* on_written() takes the unwritten count once the end is out. */
		evhttp_request_set_on_complete_cb(st->ev, on_written, st->srv);
		evhttp_send_reply_end(st->ev);
		stream_end(st, true);
	}
}

/* libevent calls this when the connection's output buffer is empty. */
static void on_drained(struct evhttp_connection *conn, void *arg)
{
	stream_next(arg);
}

/*
 * libevent tells nobody when the client of an answer still being written
 * goes away or times out: it detaches the request from the connection and
 * frees the connection, whose close callback is the one other hook (and
 * one per connection, better left to connection accounting). A slow poll
 * of the request finds it.
 */
static void on_check_gone(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;

	if (evhttp_request_get_connection(st->ev) == NULL)
		stream_abort(st);
}

/*
 * The kernel's share of what a stalled client holds: Linux grows a TCP
 * send buffer up to tcp_wmem's maximum (4 MB by default; 2 MB was seen on
 * loopback against a client with a 4 KiB window) unless it is set. 256
 * KiB (the kernel doubles it) still fills a 1 Gb/s link at 2 ms.
 */
static void cap_send_buffer(struct evhttp_request *ev)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int size = HTTPD_STREAM_SNDBUF;

	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		log_debug("http: cannot cap a stream's send buffer: %s", strerror(errno));
}

void httpd_reply_stream(struct httpd_req *r, int status, struct evbuffer *first,
        httpd_more_fn *more, httpd_done_fn *done, void *arg)
{
	struct timeval tv = {0, HTTPD_STREAM_CHECK_MS * 1000};
	struct httpd *s = r->srv;
	struct stream *st = NULL;
	struct evkeyvalq *h;

	if (s == NULL || r->ev == NULL) {
		free(r->body);
		free(r);
		done(arg, false);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->piece = evbuffer_new()) == NULL ||
	        (st->check = event_new(s->base, -1, EV_PERSIST, on_check_gone, st)) == NULL ||
	        event_add(st->check, &tv) < 0) {
		if (st != NULL) {
			if (st->check != NULL)
				event_free(st->check);
			if (st->piece != NULL)
				evbuffer_free(st->piece);
			free(st);
		}
		httpd_reply_error(r, 503, NULL, "out of memory");
		done(arg, false);
		return;
	}
	*st = (struct stream){.srv = s,
	        .ev = r->ev,
	        .piece = st->piece,
	        .check = st->check,
	        .more = more,
	        .done = done,
	        .arg = arg};
	LIST_INSERT_HEAD(&s->streams, st, entry);
	h = evhttp_request_get_output_headers(r->ev);
	if (evhttp_add_header(h, "X-Openstack-Request-Id", r->id) < 0 ||
	        evhttp_add_header(h, "Content-Type", "application/json") < 0 ||
	        (s->shutting_down && evhttp_add_header(h, "Connection", "close") < 0))
		log_warnx("http: cannot add headers to an answer");
	/*
	 * HTTP/1.0 has no chunks: the body ends when the connection closes. A
	 * 1.0 "keep-alive" would make libevent announce Content-Length: 0.
	 */
	if (r->ev->major == 1 && r->ev->minor == 0)
		evhttp_remove_header(evhttp_request_get_input_headers(r->ev), "Connection");
	cap_send_buffer(r->ev);
	s->unwritten++;
	evhttp_send_reply_start(r->ev, status, reason(status));
	observe(s, r, status);
	TAILQ_REMOVE(&s->live, r, entry);
	s->in_flight--;
	free(r->body);
	free(r);
	if (first == NULL || evbuffer_get_length(first) == 0)
		stream_next(st);
	else
		evhttp_send_reply_chunk_with_cb(st->ev, first, on_drained, st);
}

int httpd_req_add_header(struct httpd_req *r, const char *name, const char *value)
{
	if (r->ev == NULL)
		return -ENOTCONN;
	return evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value) < 0
	        ? -ENOMEM
	        : 0;
}

/* ---- dispatch ---- */

/* "GET, PUT" of the routes whose pattern matches path; "" when none does. */
static void allowed_methods(
        struct httpd *s, const char *path, struct httpd_req *scratch, char *out, size_t size)
{
	static const struct {
		enum evhttp_cmd_type m;
		const char *name;
	} names[] = {{EVHTTP_REQ_GET, "GET"}, {EVHTTP_REQ_POST, "POST"}, {EVHTTP_REQ_PUT, "PUT"},
	        {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_PATCH, "PATCH"},
	        {EVHTTP_REQ_HEAD, "HEAD"}, {EVHTTP_REQ_OPTIONS, "OPTIONS"}};
	unsigned int seen = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->cfg.nroutes; i++)
		if (match(&s->routes[i], path, scratch))
			seen |= (unsigned int)s->cfg.routes[i].method;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (seen & (unsigned int)names[i].m)
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "",
			        names[i].name);
}

static void route_request(struct httpd *s, struct httpd_req *r)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(r->ev);
	char allow[64];

	for (size_t i = 0; i < s->cfg.nroutes; i++) {
		if (s->cfg.routes[i].method != method || !match(&s->routes[i], r->path, r))
			continue;
		r->route = i;
		r->label = s->routes[i].label;
		s->cfg.routes[i].fn(r, s->cfg.arg); /* answers now or later */
		return;
	}
	allowed_methods(s, r->path, r, allow, sizeof(allow));
	r->ncap = 0;
	if (allow[0] == '\0') {
		httpd_reply_error(r, 404, NULL, "no resource at this path");
		return;
	}
	if (httpd_req_add_header(r, "Allow", allow) < 0)
		log_warnx("http: cannot add an Allow header");
	httpd_reply_error(r, 405, NULL, "allowed methods here: %s", allow);
}

/* "application/json; charset=utf-8" is "application/json": the type before parameters. */
static bool media_type_is(const char *value, const char *type)
{
	size_t n = strlen(type);

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, type, n) != 0)
		return false;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	return *value == '\0' || *value == ';';
}

/*
 * A body must say it is JSON. A browser may send a cross-site "simple"
 * request (text/plain, a form) without asking first: refusing what is not
 * application/json keeps such a page from creating anything. Routes from
 * form_first on (the legacy API, whose parameters are in the query) also
 * take a form or no type, as the Proxy CLI's HTTP library may send either.
 */
static bool media_type_ok(struct httpd *s, struct httpd_req *r)
{
	const char *ct = httpd_req_header(r, "Content-Type");
	bool form_ok = false;

	for (size_t i = s->cfg.form_first; i > 0 && i < s->cfg.nroutes; i++)
		if (match(&s->routes[i], r->path, r))
			form_ok = true;
	r->ncap = 0;
	if (ct != NULL && media_type_is(ct, "application/json"))
		return true;
	if (form_ok && (ct == NULL || media_type_is(ct, "application/x-www-form-urlencoded")))
		return true;
	httpd_reply_error(
	        r, 415, NULL, "the body must be application/json, not %s", ct ? ct : "untyped");
	return false;
}

/* Reads the path, query and body; answers itself (false) when they are unfit. */
static bool read_request(struct httpd *s, struct httpd_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t body_max = s->cfg.body_max ? s->cfg.body_max : HTTPD_BODY_MAX;

	if (path == NULL || *path == '\0')
		path = "/";
	if (strlen(path) > HTTPD_PATH_MAX) {
		httpd_reply_error(r, 404, NULL, "path longer than %d bytes", HTTPD_PATH_MAX);
		return false;
	}
	strcpy(r->path, path);
	r->query = uri ? evhttp_uri_get_query(uri) : NULL;
	r->body_len = evbuffer_get_length(in);
	if (r->body_len > body_max) {
		httpd_reply_error(r, 413, NULL, "request body larger than %zu bytes", body_max);
		return false;
	}
	if ((r->body = malloc(r->body_len + 1)) == NULL) {
		httpd_reply_error(r, 503, NULL, "out of memory");
		return false;
	}
	if (evbuffer_copyout(in, r->body, r->body_len) != (ev_ssize_t)r->body_len) {
		httpd_reply_error(r, 400, NULL, "cannot read the request body");
		return false;
	}
	r->body[r->body_len] = '\0';
	return r->body_len == 0 || media_type_ok(s, r);
}

/*
 * Answers go out at once. With Nagle's algorithm the last segment of a
 * multi-segment answer (a list) waits for the client's delayed ACK: 40 ms
 * added to every large answer.
 */
static void no_delay(struct evhttp_request *ev)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
}

static void on_request(struct evhttp_request *ev, void *arg)
{
	struct httpd *s = arg;
	struct httpd_req *r = calloc(1, sizeof(*r));

	if (r == NULL || api_request_id(r->id) < 0) {
		free(r);
		evhttp_send_error(ev, 503, NULL);
		return;
	}
	r->srv = s;
	r->ev = ev;
	no_delay(ev);
	r->label = (unsigned int)(s->nlabels - 1); /* "unmatched" until routed */
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	TAILQ_INSERT_TAIL(&s->live, r, entry);
	s->in_flight++;
	if (s->shutting_down) {
		httpd_reply_error(r, 503, NULL, "the agent is shutting down");
		return;
	}
	if (read_request(s, r))
		route_request(s, r);
}

/* ---- the server ---- */

static int setup_metrics(struct httpd *s)
{
	s->route_labels = calloc(s->cfg.nroutes + 1, sizeof(*s->route_labels));
	if (s->route_labels == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->cfg.nroutes; i++) {
		size_t j;
		for (j = 0; j < s->nlabels && strcmp(s->route_labels[j], s->cfg.routes[i].name);
		        j++)
			;
		if (j == s->nlabels)
			s->route_labels[s->nlabels++] = s->cfg.routes[i].name;
		s->routes[i].label = (unsigned int)j;
	}
	s->route_labels[s->nlabels++] = "unmatched";
	if (s->cfg.metrics == NULL)
		return 0;
	s->labels[0] = (struct metric_label){"route", s->route_labels, s->nlabels};
	s->labels[1] = (struct metric_label){"code", code_labels, N_CODES};
	s->m_requests = metrics_add(s->cfg.metrics, METRIC_COUNTER, "praas_http_requests_total",
	        "HTTP requests answered, by route and status code.", s->labels, 2, NULL, 0);
	s->m_latency =
	        metrics_add(s->cfg.metrics, METRIC_HISTOGRAM, "praas_http_request_duration_seconds",
	                "Time from a request's arrival to its answer, by route.", s->labels, 1,
	                metrics_latency_buckets, metrics_latency_buckets_n);
	return s->m_requests && s->m_latency ? 0 : -errno;
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *s = arg;
	void (*done)(void *) = s->done;

	bool busy = s->in_flight > 0 || s->unwritten > 0;

	/* The grace timer ends the wait even if something is still in flight. */
	if (done == NULL || (busy && !(what & EV_TIMEOUT)))
		return;
	s->done = NULL;
	evtimer_del(s->grace);
	done(s->done_arg);
}

int httpd_new(
        struct event_base *base, const struct httpd_config *cfg, struct httpd **out, char **cause)
{
	struct httpd *s;
	int r;

	*out = NULL;
	*cause = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	        (s->routes = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof(*s->routes))) == NULL ||
	        (s->http = evhttp_new(base)) == NULL ||
	        (s->grace = evtimer_new(base, on_check, s)) == NULL ||
	        (s->check = event_new(base, -1, 0, on_check, s)) == NULL) {
		httpd_free(s);
		return cause_set(cause, -ENOMEM, "out of memory");
	}
	s->base = base;
	s->cfg = *cfg;
	TAILQ_INIT(&s->live);
	LIST_INIT(&s->streams);
	if (cfg->tls_certificate != NULL && cfg->tls_key != NULL &&
	        (r = tls_new(cfg->tls_certificate, cfg->tls_key, &s->tls, cause)) < 0) {
		httpd_free(s);
		return r;
	}
	struct guard_config gc = {
	        .metrics = cfg->metrics,
	        .tls = s->tls,
	        .max_conns = cfg->max_conns ? cfg->max_conns : HTTPD_CONNS_MAX,
	        .request_timeout = cfg->request_timeout > 0 ? cfg->request_timeout : 10,
	        .head_max = HTTPD_HEAD_MAX,
	        .body_max = cfg->body_max ? cfg->body_max : HTTPD_BODY_MAX,
	};
	if (guard_new(base, s->http, &gc, &s->guard) < 0) {
		httpd_free(s);
		return cause_set(cause, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < cfg->nroutes; i++) {
		if (compile(cfg->routes[i].pattern, &s->routes[i]) < 0 ||
		        cfg->routes[i].fn == NULL || cfg->routes[i].name == NULL) {
			r = cause_set(cause, -EINVAL, "bad route pattern \"%s\"",
			        cfg->routes[i].pattern ? cfg->routes[i].pattern : "(null)");
			httpd_free(s);
			return r;
		}
	}
	if ((r = setup_metrics(s)) < 0) {
		httpd_free(s);
		return cause_set(cause, r, "cannot declare the HTTP metrics");
	}
	evhttp_set_allowed_methods(s->http,
	        EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	                EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	/*
	 * libevent's own limits, above the guard's, which answers first and in
	 * our format: these only back it up.
	 */
	evhttp_set_max_body_size(s->http, HTTPD_BODY_HARD_MAX);
	evhttp_set_max_headers_size(s->http, 4 * HTTPD_HEAD_MAX);
	evhttp_set_timeout(s->http, cfg->idle_timeout > 0 ? cfg->idle_timeout : 30);
	evhttp_set_gencb(s->http, on_request, s);
	*out = s;
	return 0;
}

int httpd_bind(struct httpd *s, const char *address, uint16_t port, char **cause)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*cause = NULL;
	if (s->nsocks == SOCKS_MAX)
		return cause_set(cause, -ENOSPC, "too many listening sockets");
	sock = evhttp_bind_socket_with_handle(s->http, address, port);
	if (sock == NULL)
		return cause_set(cause, errno ? -errno : -EADDRNOTAVAIL,
		        "cannot listen on %s port %u: %s", address, port,
		        errno ? strerror(errno) : "bad address");
	s->socks[s->nsocks++] = sock;
	guard_listener(s->guard, evhttp_bound_socket_get_listener(sock));
	if (s->port == 0 &&
	        getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                         : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int httpd_reload_tls(struct httpd *s, char **cause)
{
	*cause = NULL;
	return s->tls != NULL ? tls_reload(s->tls, cause) : 0;
}

const char *httpd_tls_fingerprint(const struct httpd *s)
{
	return s->tls != NULL ? tls_fingerprint(s->tls) : NULL;
}

uint16_t httpd_port(const struct httpd *s)
{
	return s->port;
}

unsigned int httpd_in_flight(const struct httpd *s)
{
	return s->in_flight;
}

void httpd_shutdown(struct httpd *s, void (*done)(void *arg), void *arg)
{
	struct timeval tv;
	double grace = s->cfg.shutdown_grace > 0 ? s->cfg.shutdown_grace : 10;

	s->shutting_down = true;
	for (size_t i = 0; i < s->nsocks; i++) {
		guard_unlisten(s->guard, evhttp_bound_socket_get_listener(s->socks[i]));
		evhttp_del_accept_socket(s->http, s->socks[i]);
	}
	s->nsocks = 0;
	s->done = done;
	s->done_arg = arg;
	tv.tv_sec = (time_t)grace;
	tv.tv_usec = (suseconds_t)((grace - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->grace, &tv);
	maybe_done(s);
}

void httpd_free(struct httpd *s)
{
	struct httpd_req *r;
	struct stream *st;

	if (s == NULL)
		return;
	/* Streams: their requests still on a connection go with it below. */
	while ((st = LIST_FIRST(&s->streams)) != NULL) {
		if (evhttp_request_get_connection(st->ev) == NULL)
			evhttp_send_reply_end(st->ev);
		stream_end(st, false);
	}
	/* Handles still held by handlers: answering them later only frees them. */
	while ((r = TAILQ_FIRST(&s->live)) != NULL) {
		TAILQ_REMOVE(&s->live, r, entry);
		r->srv = NULL;
		r->ev = NULL;
	}
	if (s->http != NULL)
		evhttp_free(s->http);
	guard_free(s->guard);
	tls_free(s->tls);
	if (s->grace != NULL)
		event_free(s->grace);
	if (s->check != NULL)
		event_free(s->check);
	free(s->route_labels);
	free(s->routes);
	free(s);
}

/* ---- request accessors ---- */

const char *httpd_req_capture(const struct httpd_req *r, const char *name)
{
	for (size_t i = 0; i < r->ncap; i++)
		if (strlen(name) == r->cap[i].namelen &&
		        memcmp(name, r->cap[i].name, r->cap[i].namelen) == 0)
			return r->cap[i].value;
	return NULL;
}

const char *httpd_req_query(const struct httpd_req *r)
{
	return r->query;
}

const char *httpd_req_header(const struct httpd_req *r, const char *name)
{
	return r->ev ? evhttp_find_header(evhttp_request_get_input_headers(r->ev), name) : NULL;
}

const char *httpd_req_body(const struct httpd_req *r, size_t *len)
{
	if (len != NULL)
		*len = r->body ? r->body_len : 0;
	return r->body ? r->body : "";
}

const char *httpd_req_id(const struct httpd_req *r)
{
	return r->id;
}

const struct httpd_route *httpd_req_route_entry(const struct httpd_req *r)
{
	return r->srv != NULL ? &r->srv->cfg.routes[r->route] : NULL;
}

/* An address of the socket API as ours, IPv4-mapped IPv6 unmapped. */
static int from_sockaddr(const struct sockaddr *sa, struct addr *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return -ENOTCONN;
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		out->u.v4 = ((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(a6->s6_addr, mapped, 12) == 0) {
			out->family = AF_INET;
			memcpy(&out->u.v4, a6->s6_addr + 12, 4);
		} else {
			out->family = AF_INET6;
			out->u.v6 = *a6;
		}
	} else {
		return -ENOTCONN;
	}
	return 0;
}

static bool is_trusted_proxy(const struct httpd *s, const struct addr *a)
{
	for (size_t i = 0; i < s->cfg.trusted_proxies_len; i++)
		if (cidr_contains(&s->cfg.trusted_proxies[i], a))
			return true;
	return false;
}

/*
 * One node of X-Forwarded-For ("192.0.2.1", "2001:db8::1") or of
 * Forwarded's for= ("192.0.2.1", "\"[2001:db8::1]:4711\"", "192.0.2.1:4711").
 * An obfuscated or "unknown" node does not parse: -EINVAL.
 */
static int parse_node(const char *p, size_t len, struct addr *out)
{
	char buf[INET6_ADDRSTRLEN + 16];
	const char *colon;

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (p[0] == '[') {
		const char *close = memchr(p, ']', len);
		if (close == NULL)
			return -EINVAL;
		len = (size_t)(close - p - 1);
		p++;
	} else if ((colon = memchr(p, ':', len)) != NULL &&
	        memchr(colon + 1, ':', len - (size_t)(colon + 1 - p)) == NULL) {
		len = (size_t)(colon - p); /* IPv4 with a port */
	}
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return addr_parse(buf, out) < 0 ? -EINVAL : 0;
}

/*
 * Appends the hops of one forwarding header line to hops[*n], nearest
 * last; beyond max the farthest are dropped (the nearest decide).
 * X-Forwarded-For is "a, b, c"; Forwarded is "for=a;proto=https, for=b",
 * and elements without for= are skipped. -EINVAL for a node that does
 * not parse.
 */
static int parse_hops(const char *value, bool forwarded, struct addr *hops, size_t max, size_t *n)
{
	const char *p = value;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *node = p;
		size_t nlen = len;

		if (forwarded) {
			const char *q = p, *qend = p + len;
			node = NULL;
			while (q < qend) {
				const char *semi = memchr(q, ';', (size_t)(qend - q));
				const char *pend = semi ? semi : qend;
				while (q < pend && (*q == ' ' || *q == '\t'))
					q++;
				if (pend - q > 4 && strncasecmp(q, "for=", 4) == 0) {
					node = q + 4;
					nlen = (size_t)(pend - q - 4);
				}
				q = semi ? semi + 1 : qend;
			}
		}
		if (node != NULL) {
			if (*n == max) {
				memmove(hops, hops + 1, (max - 1) * sizeof(*hops));
				(*n)--;
			}
			if (parse_node(node, nlen, &hops[*n]) < 0)
				return -EINVAL;
			(*n)++;
		}
		p = end ? end + 1 : p + len;
	}
	return 0;
}

#define HOPS_MAX 16

/*
 * Every line of header name, in order: a proxy may append a line of its
 * own (HAProxy's option forwardfor) rather than extend the client's, and
 * the client's would come first. 0 (none), or the hops found, or -EINVAL.
 */
static int header_hops(
        const struct httpd_req *r, const char *name, bool forwarded, struct addr *hops, size_t *n)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->ev);
	struct evkeyval *kv;
	bool seen = false;

	*n = 0;
	TAILQ_FOREACH(kv, h, next)
	{
		if (strcasecmp(kv->key, name) != 0)
			continue;
		seen = true;
		if (parse_hops(kv->value, forwarded, hops, HOPS_MAX, n) < 0)
			return -EINVAL;
	}
	if (seen && *n == 0)
		return -EINVAL; /* present, but names nobody */
	return 0;
}

int httpd_req_peer(const struct httpd_req *r, struct addr *out)
{
	struct evhttp_connection *c = r->ev ? evhttp_request_get_connection(r->ev) : NULL;
	struct addr hops[HOPS_MAX];
	size_t n = 0;
	int err;

	if ((err = from_sockaddr(c ? evhttp_connection_get_addr(c) : NULL, out)) < 0)
		return err;
	if (r->srv == NULL || !is_trusted_proxy(r->srv, out))
		return 0;
	/*
	 * The proxy appends the address it saw; what the client sent comes
	 * before it and may be forged. Walk back from the nearest hop past
	 * the trusted proxies: the first one not trusted is the client.
	 */
	if ((err = header_hops(r, "X-Forwarded-For", false, hops, &n)) == 0 && n == 0)
		err = header_hops(r, "Forwarded", true, hops, &n);
	if (err < 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	if (n == 0)
		return 0; /* the proxy's own request (or a local client of it) */
	for (size_t i = n; i-- > 0;)
		if (i == 0 || !is_trusted_proxy(r->srv, &hops[i])) {
			*out = hops[i];
			return 0;
		}
	return 0;
}
