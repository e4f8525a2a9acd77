#include "http-guard.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "api-error.h"
#include "http-tls.h"
#include "log.h"
#include "metrics.h"
#include "nofile.h"

#define LISTENERS_MAX 4
#define LINGER        1.0  /* seconds a refused client gets to read our answer */
#define PAUSE_RETRY   1.0  /* seconds before accepting again without a close */
#define LOG_EVERY     10.0 /* seconds between two lines about accept() */
#define REAP_SOON     0.02 /* seconds after a shutdown before its descriptor is looked at */

/* Where a connection's byte stream is, read as evhttp will read it. */
enum parse_state {
	P_START,   /* between requests */
	P_LINE,    /* the request line */
	P_HEADERS, /* header lines, up to the empty one */
	P_BODY,    /* body_left more bytes */
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct guard *g;
	struct bufferevent *bev; /* evhttp's; we hold a reference until it lets go */
	enum parse_state ps;
	double since;            /* the current request's first byte, or idle since */
	unsigned int unanswered; /* requests read whole, not yet answered */
	size_t head_len;         /* bytes of the current head so far */
	char *line;              /* the line being read, not NUL-terminated */
	size_t line_len, line_cap;
	bool no_body; /* HEAD: evhttp reads no body */
	bool have_len;
	uint64_t body_len, body_left;
	bool reject;  /* over the cap with nothing idle to close: answer 503 */
	bool closing; /* answered by us or evicted: input dropped */
	bool shut;    /* both directions shut down */
	double closing_since;
};

struct guard {
	struct event_base *base;
	struct guard_config cfg;
	unsigned int cap;
	TAILQ_HEAD(, conn) conns;
	unsigned int nconns, nclosing;
	struct event *tick; /* deadlines, lingers, descriptors to give back: every tick_s */
	struct event *now;  /* the same pass, at once */
	struct event *soon; /* the same pass, in REAP_SOON */
	struct evconnlistener *lev[LISTENERS_MAX];
	size_t nlev;
	struct evhttp *http;
	bool paused, listed;
	double paused_at, logged_at;
	unsigned long suppressed;
	LIST_ENTRY(guard) entry;
	struct metric *m_open, *m_closed, *m_paused; /* NULL without a registry */
	struct metric_label reasons;
};

/* Why the guard closed a connection: praas_http_connections_closed_total{reason}. */
enum close_reason { R_IDLE, R_CAP, R_TIMEOUT, R_REFUSED };
static const char *const reason_names[] = {"idle_at_cap", "over_cap", "request_timeout", "refused"};

static void count_close(struct guard *g, enum close_reason r)
{
	unsigned int idx = (unsigned int)r;

	if (g->m_closed != NULL)
		metric_inc(g->m_closed, &idx);
}

static void count_open(struct guard *g)
{
	if (g->m_open != NULL)
		metric_set(g->m_open, NULL, (double)(g->nconns - g->nclosing));
}

/*
 * libevent hands a listener's error callback the evhttp it serves, not
 * us: the guards of this process, to find ours (there is one per agent).
 */
static LIST_HEAD(, guard) guards = LIST_HEAD_INITIALIZER(guards);

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool is_idle(const struct conn *c)
{
	return !c->closing && c->ps == P_START && c->unanswered == 0;
}

static void mark_closing(struct guard *g, struct conn *c)
{
	struct timeval tv = {0, (suseconds_t)(REAP_SOON * 1e6)};

	if (!c->closing) {
		c->closing = true;
		c->closing_since = now();
		g->nclosing++;
		count_open(g);
	}
	free(c->line);
	c->line = NULL;
	c->line_len = c->line_cap = 0;
	/*
	 * evhttp sees the end of the stream on its next read: look again after
	 * that (not later and later while closes keep coming).
	 */
	if (!evtimer_pending(g->soon, NULL))
		evtimer_add(g->soon, &tv);
}

/* Both directions shut: evhttp reads EOF and frees the connection itself. */
static void shut(struct guard *g, struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (!c->shut && fd >= 0)
		(void)shutdown(fd, SHUT_RDWR); /* an error means it is gone already */
	c->shut = true;
	mark_closing(g, c);
}

/*
 * Answers a request evhttp never saw whole, straight on the socket: the
 * connection has nothing else queued (while an answer is still owed on it,
 * nothing is written: see below), and the answer is far smaller than a
 * socket buffer. Over TLS it goes through the connection's session, whose
 * handshake is done (we read its plaintext); nothing is pending in it, as
 * the connection owes no answer. Then FIN; the client's remaining bytes are read
 * and dropped for LINGER seconds, so that closing does not reset the
 * connection before the client has read the answer.
 */
static void refuse(struct guard *g, struct conn *c, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void refuse(struct guard *g, struct conn *c, int status, const char *fmt, ...)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	struct evbuffer *body = evbuffer_new(), *all = evbuffer_new();
	char id[API_REQUEST_ID_LEN + 1], *detail = NULL;
	va_list ap;

	if (c->unanswered > 0) {
		/*
		 * evhttp still owes this connection an answer: writing ours now
		 * would cut into it. Drop the rest; close once it is written.
		 */
		mark_closing(g, c);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	if (fd >= 0 && body != NULL && all != NULL && api_request_id(id) == 0 &&
	        api_error_write(body, status, NULL, detail, id) == 0 &&
	        evbuffer_add_printf(all,
	                "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                "X-Openstack-Request-Id: %s\r\nContent-Length: %zu\r\n"
	                "Connection: close\r\n\r\n",
	                status, api_error_title(status), id, evbuffer_get_length(body)) >= 0 &&
	        evbuffer_add_buffer(all, body) == 0) {
		size_t len = evbuffer_get_length(all);
		unsigned char *p = evbuffer_pullup(all, -1);
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		/* Best effort: a client that stopped reading loses the answer, not us. */
		if (p != NULL && ssl == NULL && send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("http: cannot send a %d: %s", status, strerror(errno));
		/* Before its handshake a TLS client cannot be answered: closed only. */
		if (p != NULL && ssl != NULL && SSL_is_init_finished(ssl)) {
			if (SSL_write(ssl, p, (int)len) <= 0)
				log_debug("http: cannot send a %d over TLS", status);
			else
				(void)SSL_shutdown(ssl); /* close_notify: the answer is whole */
			ERR_clear_error();
		}
	}
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	log_debug("http: refused a request: %d %s", status, detail ? detail : "");
	free(detail);
	count_close(g, status == 503 && c->reject ? R_CAP : status == 408 ? R_TIMEOUT : R_REFUSED);
	if (body != NULL)
		evbuffer_free(body);
	if (all != NULL)
		evbuffer_free(all);
	mark_closing(g, c);
}

/* ---- the request stream ---- */

static const char *const methods[] = {
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", NULL};

static bool is_token_char(unsigned char ch)
{
	return ch > 32 && ch < 127 && strchr("()<>@,;:\\\"/[]?={}", ch) == NULL;
}

/* The request line: 0, or the status to refuse with and *why. */
static int check_request_line(struct conn *c, const char *l, size_t len, const char **why)
{
	const char *sp1 = memchr(l, ' ', len), *sp2, *end = l + len;
	size_t mlen;
	bool known = false;

	*why = "malformed request line";
	if (sp1 == NULL || sp1 == l)
		return 400;
	mlen = (size_t)(sp1 - l);
	for (size_t i = 0; i < mlen; i++)
		if (!is_token_char((unsigned char)l[i]))
			return 400;
	if ((mlen == 5 && memcmp(l, "TRACE", 5) == 0) ||
	        (mlen == 7 && memcmp(l, "CONNECT", 7) == 0)) {
		*why = "TRACE and CONNECT are not served here";
		return 405;
	}
	for (const char *const *m = methods; *m; m++)
		if (strlen(*m) == mlen && memcmp(*m, l, mlen) == 0)
			known = true;
	if (!known) {
		*why = "unknown method";
		return 501;
	}
	c->no_body = mlen == 4 && memcmp(l, "HEAD", 4) == 0; /* as evhttp: no body read */
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || end - sp2 - 1 != 8 ||
	        (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return 400;
	*why = "malformed request target";
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p == 127)
			return 400;
	/* What evhttp would refuse with its HTML page: the same parser, asked first. */
	size_t tlen = (size_t)(sp2 - sp1 - 1);
	char *target = strndup(sp1 + 1, tlen);
	struct evhttp_uri *uri;
	if (target == NULL) {
		*why = "out of memory";
		return 503;
	}
	uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	bool origin = target[0] == '/' || strcmp(target, "*") == 0 ||
	        (uri != NULL && evhttp_uri_get_scheme(uri) != NULL);
	free(target);
	if (uri == NULL)
		return 400;
	evhttp_uri_free(uri);
	return origin ? 0 : 400;
}

/* One header line, "name: value": 0, or the status to refuse with and *why. */
static int check_header(struct conn *c, const char *l, size_t len, const char **why)
{
	const char *colon = memchr(l, ':', len), *v, *vend = l + len;
	size_t nlen;
	uint64_t n = 0;

	/* Continuation lines (obsolete folding) are refused too: RFC 9112 5.2. */
	if (colon == NULL || colon == l) {
		*why = "malformed header line";
		return 400;
	}
	for (const char *p = l; p < colon; p++)
		if (!is_token_char((unsigned char)*p)) {
			*why = "malformed header name";
			return 400;
		}
	for (const char *p = colon + 1; p < vend; p++)
		if (((unsigned char)*p < 32 && *p != '\t') || *p == 127) {
			*why = "control character in a header value";
			return 400;
		}
	nlen = (size_t)(colon - l);
	for (v = colon + 1; v < vend && (*v == ' ' || *v == '\t'); v++)
		;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	if (nlen == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0) {
		*why = "a body needs a Content-Length (chunked bodies are not taken)";
		return 411;
	}
	if (nlen == 6 && strncasecmp(l, "Expect", 6) == 0 &&
	        ((size_t)(vend - v) != 12 || strncasecmp(v, "100-continue", 12) != 0)) {
		*why = "the only expectation taken is 100-continue";
		return 417;
	}
	if (nlen != 14 || strncasecmp(l, "Content-Length", 14) != 0)
		return 0;
	*why = "Content-Length is not a number";
	if (v == vend)
		return 400;
	for (const char *p = v; p < vend; p++) {
		if (*p < '0' || *p > '9')
			return 400;
		if (n > (UINT64_MAX - 9) / 10) {
			*why = "request body too large";
			return 413;
		}
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (c->have_len && n != c->body_len) {
		*why = "two different Content-Lengths";
		return 400;
	}
	c->have_len = true;
	c->body_len = n;
	return 0;
}

/* A whole line of the head (without its CR LF). 0, or refused. */
static int on_line(struct guard *g, struct conn *c, const char *l, size_t len)
{
	const char *why = NULL;
	int status;

	if (c->ps == P_LINE) {
		status = check_request_line(c, l, len, &why);
		c->ps = P_HEADERS;
	} else if (len > 0) {
		status = check_header(c, l, len, &why);
	} else if (c->body_len > g->cfg.body_max) {
		status = 413;
		why = "request body too large";
	} else {
		/* The empty line: the head is whole. */
		status = 0;
		c->body_left = c->no_body ? 0 : c->body_len;
		c->ps = P_BODY;
		free(c->line);
		c->line = NULL;
		c->line_cap = 0;
	}
	if (status != 0) {
		if (status == 413)
			refuse(g, c, 413, "%s: at most %zu bytes", why, g->cfg.body_max);
		else
			refuse(g, c, status, "%s", why);
		return -1;
	}
	return 0;
}

static int line_add(struct conn *c, const char *p, size_t n)
{
	if (c->line_len + n > c->line_cap) {
		size_t cap = c->line_cap ? c->line_cap : 256;
		char *nl;
		while (cap < c->line_len + n)
			cap *= 2;
		if ((nl = realloc(c->line, cap)) == NULL)
			return -ENOMEM;
		c->line = nl;
		c->line_cap = cap;
	}
	memcpy(c->line + c->line_len, p, n);
	c->line_len += n;
	return 0;
}

/*
 * Reads n new bytes of the stream, as evhttp is about to. -1 once the
 * connection is refused.
 */
static int on_bytes(struct guard *g, struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		switch (c->ps) {
		case P_START:
			/*
			 * RFC 9112 2.2 lets a server skip blank lines before a
			 * request; evhttp does not, and would answer in HTML.
			 */
			if (*p == '\r' || *p == '\n') {
				refuse(g, c, 400, "a blank line before the request line");
				return -1;
			}
			c->ps = P_LINE;
			c->since = now();
			c->head_len = 0;
			c->line_len = 0;
			c->have_len = false;
			c->body_len = 0;
			c->no_body = false;
			continue;
		case P_LINE:
		case P_HEADERS: {
			const char *nl = memchr(p, '\n', n);
			size_t take = nl ? (size_t)(nl - p) + 1 : n;

			if (c->head_len + take > g->cfg.head_max) {
				refuse(g, c, 431, "request head larger than %zu bytes",
				        g->cfg.head_max);
				return -1;
			}
			c->head_len += take;
			if (line_add(c, p, nl ? take - 1 : take) < 0) {
				refuse(g, c, 503, "out of memory");
				return -1;
			}
			p += take;
			n -= take;
			if (nl == NULL)
				continue;
			size_t len = c->line_len;
			if (len > 0 && c->line[len - 1] == '\r')
				len--;
			c->line_len = 0;
			if (on_line(g, c, c->line, len) < 0)
				return -1;
			if (c->ps == P_BODY && c->body_left == 0)
				goto whole;
			continue;
		}
		case P_BODY: {
			size_t take = n < c->body_left ? n : (size_t)c->body_left;
			p += take;
			n -= take;
			c->body_left -= take;
			if (c->body_left == 0)
				goto whole;
			continue;
		}
		}
	whole:
		c->unanswered++;
		c->ps = P_START;
		c->since = now();
	}
	return 0;
}

/*
 * Called on every change of a connection's input buffer, synchronously:
 * new bytes are read here before evhttp's read callback parses them, so a
 * refusal comes first and evhttp finds the buffer empty.
 */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct guard *g = c->g;
	struct evbuffer_ptr at;
	struct evbuffer_iovec vec[8];
	size_t off, left = info->n_added;

	if (left == 0 || g == NULL)
		return;
	if (c->closing) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		return;
	}
	/* The new bytes are the last n_added of the buffer. */
	off = evbuffer_get_length(buf) - left;
	while (left > 0) {
		int nv;
		if (evbuffer_ptr_set(buf, &at, off, EVBUFFER_PTR_SET) < 0 ||
		        (nv = evbuffer_peek(buf, (ev_ssize_t)left, &at, vec, 8)) <= 0)
			return;
		for (int i = 0; i < nv && i < 8 && left > 0; i++) {
			size_t n = vec[i].iov_len < left ? vec[i].iov_len : left;
			if (on_bytes(g, c, vec[i].iov_base, n) < 0) {
				evbuffer_drain(buf, evbuffer_get_length(buf));
				return;
			}
			off += n;
			left -= n;
		}
	}
}

/* ---- the connections ---- */

static void resume(struct guard *g)
{
	if (!g->paused)
		return;
	g->paused = false;
	for (size_t i = 0; i < g->nlev; i++)
		if (evconnlistener_enable(g->lev[i]) < 0)
			log_warnx("http: cannot resume accepting connections");
}

/* Gives our reference back: the descriptor is closed once libevent is done with it. */
static void release(struct guard *g, struct conn *c)
{
	TAILQ_REMOVE(&g->conns, c, entry);
	g->nconns--;
	if (c->closing)
		g->nclosing--;
	count_open(g);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
	bufferevent_decref(c->bev);
	free(c->line);
	free(c);
}

/* evhttp frees a connection by dropping its callbacks and its reference. */
static bool let_go(const struct conn *c)
{
	bufferevent_event_cb ecb = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb == NULL;
}

static struct conn *find(struct guard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct conn *c;

	if (bev == NULL)
		return NULL;
	TAILQ_FOREACH(c, &g->conns, entry)
	if (c->bev == bev)
		return c;
	return NULL;
}

/* Makes room for one more: the connection idle the longest goes. */
static bool make_room(struct guard *g)
{
	struct conn *c, *next, *oldest = NULL;

	if (g->nconns - g->nclosing < g->cap)
		return true;
	/* Connections evhttp already closed count until the next pass: not at the cap. */
	for (c = TAILQ_FIRST(&g->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (let_go(c))
			release(g, c);
		else if (is_idle(c) && (oldest == NULL || c->since < oldest->since))
			oldest = c;
	}
	if (g->nconns - g->nclosing < g->cap)
		return true;
	if (oldest == NULL)
		return false;
	shut(g, oldest);
	count_close(g, R_IDLE);
	return true;
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
	struct guard *g = arg;
	struct conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = NULL;

	/* NULL lets evhttp make its own: served, but not counted (out of memory only). */
	if (c == NULL)
		return NULL;
	if (g->cfg.tls != NULL) {
		/*
		 * evhttp sets the descriptor once it returns; the session
		 * shakes hands then. Its input buffer holds plaintext, which
		 * on_input() reads like a plain connection's.
		 */
		SSL *ssl = tls_ssl_new(g->cfg.tls);
		if (ssl != NULL &&
		        (bev = bufferevent_openssl_socket_new(base, -1, ssl,
		                 BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
			SSL_free(ssl);
		/* A client gone without close_notify is a close, not an error. */
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (bev == NULL || evbuffer_add_cb(bufferevent_get_input(bev), on_input, c) == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		free(c);
		return NULL;
	}
	/* Ours too: we learn that evhttp freed it (callbacks gone) and close it then. */
	bufferevent_incref(bev);
	c->g = g;
	c->bev = bev;
	c->since = now();
	if (!make_room(g)) {
		/*
		 * The socket is set only after we return: refuse from the loop.
		 * Closing already, so that the next one does not take it for idle.
		 */
		c->reject = true;
		mark_closing(g, c);
		event_active(g->now, EV_TIMEOUT, 0);
	}
	TAILQ_INSERT_TAIL(&g->conns, c, entry);
	g->nconns++;
	count_open(g);
	return bev;
}

/* Deadlines, lingers, refusals, descriptors to give back: one pass over all. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	double t = now();
	struct conn *c, *next;
	bool freed = false;

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&g->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (let_go(c)) {
			release(g, c);
			freed = true;
		} else if (c->reject) {
			refuse(g, c, 503, "too many connections (%u open)", g->cap);
			c->reject = false;
		} else if (c->closing) {
			if (!c->shut && c->unanswered == 0 && t - c->closing_since > LINGER)
				shut(g, c);
		} else if (c->ps != P_START && t - c->since > g->cfg.request_timeout) {
			refuse(g, c, 408, "the request did not arrive within %g s",
			        g->cfg.request_timeout);
		}
	}
	if (freed || (g->paused && t - g->paused_at >= PAUSE_RETRY))
		resume(g);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct guard *g;
	double t = now();

	LIST_FOREACH(g, &guards, entry)
	if (g->http == arg)
		break;
	if (g == NULL) {
		log_warnx("http: accept() failed: %s", strerror(err));
		return;
	}
	/* Out of descriptors or memory: accepting again at once would only spin. */
	evconnlistener_disable(lev);
	g->paused = true;
	g->paused_at = t;
	if (g->m_paused != NULL)
		metric_inc(g->m_paused, NULL);
	if (t - g->logged_at < LOG_EVERY) {
		g->suppressed++;
		return;
	}
	log_warnx("http: accept() failed: %s; accepting paused until a connection closes "
	          "(%lu more failures since the last line)",
	        strerror(err), g->suppressed);
	g->logged_at = t;
	g->suppressed = 0;
}

/* ---- the guard ---- */

int guard_new(struct event_base *base, struct evhttp *http, const struct guard_config *cfg,
        struct guard **out)
{
	struct guard *g = calloc(1, sizeof(*g));
	rlim_t soft = nofile_soft(), reserve = soft / 4 > 128 ? soft / 4 : 128;
	double tick_s;
	struct timeval tv;

	*out = NULL;
	if (g == NULL)
		return -ENOMEM;
	g->base = base;
	g->http = http;
	g->cfg = *cfg;
	g->logged_at = -LOG_EVERY;
	TAILQ_INIT(&g->conns);
	g->cap = cfg->max_conns;
	if (soft > reserve + 16 && (rlim_t)g->cap > soft - reserve) {
		g->cap = (unsigned int)(soft - reserve);
		log_info("http: at most %u connections (max_connections %u, but only %llu open "
		         "files allowed)",
		        g->cap, cfg->max_conns, (unsigned long long)soft);
	}
	if (g->cap == 0)
		g->cap = 1;
	if (cfg->metrics != NULL) {
		g->reasons = (struct metric_label){
		        "reason", reason_names, sizeof(reason_names) / sizeof(reason_names[0])};
		g->m_open = metrics_add(cfg->metrics, METRIC_GAUGE, "praas_http_connections",
		        "REST connections open now.", NULL, 0, NULL, 0);
		g->m_closed = metrics_add(cfg->metrics, METRIC_COUNTER,
		        "praas_http_connections_closed_total",
		        "REST connections the agent closed itself, by reason.", &g->reasons, 1,
		        NULL, 0);
		g->m_paused = metrics_add(cfg->metrics, METRIC_COUNTER,
		        "praas_http_accept_paused_total",
		        "Times accepting REST connections was paused for lack of descriptors.",
		        NULL, 0, NULL, 0);
		if (g->m_open == NULL || g->m_closed == NULL || g->m_paused == NULL) {
			guard_free(g);
			return -ENOMEM;
		}
	}
	if ((g->tick = event_new(base, -1, EV_PERSIST, on_tick, g)) == NULL ||
	        (g->now = event_new(base, -1, 0, on_tick, g)) == NULL ||
	        (g->soon = evtimer_new(base, on_tick, g)) == NULL) {
		guard_free(g);
		return -ENOMEM;
	}
	/*
	 * Deadlines are kept to within a quarter of the timeout; descriptors
	 * of connections closed by their clients are given back within 0.25 s.
	 */
	tick_s = cfg->request_timeout / 4 < 0.25 ? cfg->request_timeout / 4 : 0.25;
	if (tick_s < 0.05)
		tick_s = 0.05;
	tv.tv_sec = (time_t)tick_s;
	tv.tv_usec = (suseconds_t)((tick_s - (double)tv.tv_sec) * 1e6);
	if (event_add(g->tick, &tv) < 0) {
		guard_free(g);
		return -ENOMEM;
	}
	evhttp_set_bevcb(http, on_new_conn, g);
	LIST_INSERT_HEAD(&guards, g, entry);
	g->listed = true;
	*out = g;
	return 0;
}

void guard_listener(struct guard *g, struct evconnlistener *lev)
{
	if (g->nlev < LISTENERS_MAX)
		g->lev[g->nlev++] = lev;
	evconnlistener_set_error_cb(lev, on_accept_error);
}

void guard_unlisten(struct guard *g, struct evconnlistener *lev)
{
	for (size_t i = 0; i < g->nlev; i++)
		if (g->lev[i] == lev) {
			g->lev[i] = g->lev[--g->nlev];
			return;
		}
}

void guard_written(struct guard *g, struct evhttp_request *req)
{
	struct conn *c = find(g, req);

	if (c == NULL)
		return;
	if (c->unanswered > 0)
		c->unanswered--;
	if (c->closing && c->unanswered == 0)
		c->closing_since = now(); /* the linger starts once the answers are out */
	if (is_idle(c))
		c->since = now();
}

void guard_free(struct guard *g)
{
	struct conn *c;

	if (g == NULL)
		return;
	/* After evhttp_free(): every connection is let go; give ours back. */
	while ((c = TAILQ_FIRST(&g->conns)) != NULL)
		release(g, c);
	if (g->listed)
		LIST_REMOVE(g, entry);
	if (g->tick != NULL)
		event_free(g->tick);
	if (g->now != NULL)
		event_free(g->now);
	if (g->soon != NULL)
		event_free(g->soon);
	free(g);
}
