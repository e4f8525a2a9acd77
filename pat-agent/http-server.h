/*
 * The REST front door of praas-pat-agent, on libevent's evhttp: binding,
 * a route table, request ids, API-SIG errors for what no handler sees,
 * body limits, latency metrics, answers given later, graceful shutdown.
 * Names use the prefix httpd_ (lib/http.c is the libcurl client).
 *
 * What it promises:
 * - Routes are "METHOD /literal/{capture}/..." patterns; a capture matches
 *   one non-empty path segment, percent-decoded, at most
 *   HTTPD_CAPTURE_MAX bytes, never containing '/' or NUL. A known path with
 *   another method gets 405 with an Allow header; an unknown path 404;
 *   both in the API-SIG format.
 * - Every answer carries X-Openstack-Request-Id ("req-" + UUID) and a
 *   Content-Type (application/json unless the handler says otherwise).
 * - Connections are counted, capped and timed by http-guard.h, which also
 *   checks each request head before evhttp parses it: a Content-Length
 *   over body_max (64 KiB) gets an API-SIG 413, a chunked body 411, an
 *   over-long head 431, a malformed one 400, TRACE and CONNECT 405, all
 *   with X-Openstack-Request-Id and without reaching a handler.
 * - A request with a body gets an API-SIG 415 unless its Content-Type is
 *   application/json (routes from form_first on also take a form or none).
 * - A handler answers now or later with exactly one httpd_reply_*() call;
 *   the request handle stays valid until then (libevent stops reading the
 *   connection while a request is being handled, so it is not freed under
 *   the handler).
 * - With tls_certificate and tls_key, every connection speaks TLS (see
 *   http-tls.h); httpd_reload_tls() reads them again for new connections.
 * - httpd_req_peer() is the TCP peer, unless the peer is one of
 *   trusted_proxies: then it is the client that proxy names, from the
 *   last X-Forwarded-For entry not itself a trusted proxy (or Forwarded's
 *   "for=" likewise, when there is no X-Forwarded-For). Several lines of
 *   the header are read in order as one list; of a list longer than 16
 *   hops the nearest 16 count. A trusted proxy's request whose header does
 *   not parse has no peer (-EINVAL): whatever the peer would grant is
 *   refused. Without trusted_proxies the headers are ignored.
 * - httpd_shutdown() stops accepting, lets answers still owed be given
 *   (new requests on open connections get 503 and "Connection: close"),
 *   and calls back once nothing is in flight or the grace time is over.
 */
#ifndef PRAAS_HTTP_SERVER_H
#define PRAAS_HTTP_SERVER_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct evbuffer;
struct event_base;
struct metrics;
struct httpd;
struct httpd_req;

#define HTTPD_BODY_MAX      (64 * 1024)
#define HTTPD_BODY_HARD_MAX (1024 * 1024)
#define HTTPD_HEAD_MAX      (16 * 1024)
#define HTTPD_CONNS_MAX     1000
#define HTTPD_CAPTURE_MAX   128
#define HTTPD_CAPTURES_MAX  4
#define HTTPD_PATH_MAX      2048

typedef void httpd_handler(struct httpd_req *r, void *arg);

struct httpd_route {
	const char *name; /* metrics label: "v1_create" */
	enum evhttp_cmd_type method;
	const char *pattern; /* "/v1/routers/{router_id}/port_forwardings/{id}" */
	httpd_handler *fn;
	const void *data; /* the route's own, for fn: httpd_req_route_entry(r)->data */
};

struct httpd_config {
	const struct httpd_route *routes; /* kept by pointer: must outlive the server */
	size_t nroutes;
	void *arg;                   /* passed to every handler */
	struct metrics *metrics;     /* NULL: no metrics */
	size_t body_max;             /* 0: HTTPD_BODY_MAX */
	int idle_timeout;            /* seconds; 0: 30 */
	double shutdown_grace;       /* seconds; 0: 10 */
	unsigned int max_conns;      /* open at once; 0: HTTPD_CONNS_MAX */
	double request_timeout;      /* seconds to read a head and body; 0: 10 */
	size_t form_first;           /* routes from this index on also take a form or an
	                                untyped body (the legacy API); 0: none */
	const char *tls_certificate; /* both or neither; NULL: plain HTTP */
	const char *tls_key;
	const struct cidr *trusted_proxies; /* kept by pointer: must outlive the server */
	size_t trusted_proxies_len;
};

/* 0, or a negative errno with *cause allocated (a bad pattern, no memory). */
int httpd_new(
        struct event_base *base, const struct httpd_config *cfg, struct httpd **out, char **cause);
/*
 * Listens on address (IPv4 or IPv6 literal, or a name) and port (0 picks
 * one: see httpd_port()). May be called more than once. 0 or -errno with
 * *cause allocated.
 */
int httpd_bind(struct httpd *s, const char *address, uint16_t port, char **cause);
/*
 * Reads tls_certificate and tls_key again, for connections accepted from
 * now on. 0 (also without TLS), or -errno with *cause allocated: the
 * certificate in use stays.
 */
int httpd_reload_tls(struct httpd *s, char **cause);
/* The SHA-256 fingerprint of the certificate served, or NULL without TLS. */
const char *httpd_tls_fingerprint(const struct httpd *s);
/* The port of the first bound socket. */
uint16_t httpd_port(const struct httpd *s);
/* Requests handed to handlers and not yet answered. */
unsigned int httpd_in_flight(const struct httpd *s);
/*
 * Stops accepting; done(arg) runs from the loop once every request is
 * answered and written, or after shutdown_grace seconds.
 */
void httpd_shutdown(struct httpd *s, void (*done)(void *arg), void *arg);
/* Frees the server; requests still held by handlers become inert. */
void httpd_free(struct httpd *s);

/* ---- the request ---- */

/* The value of {name} in the matched pattern, or NULL. */
const char *httpd_req_capture(const struct httpd_req *r, const char *name);
/* The raw query string (after '?'), or NULL. */
const char *httpd_req_query(const struct httpd_req *r);
const char *httpd_req_header(const struct httpd_req *r, const char *name);
/* The body, NUL-terminated (len excludes the NUL); "" when none. */
const char *httpd_req_body(const struct httpd_req *r, size_t *len);
const char *httpd_req_id(const struct httpd_req *r);
/*
 * The client's address (IPv4-mapped IPv6 unmapped): the peer, or whom a
 * trusted proxy names (see above). 0, -ENOTCONN, or -EINVAL (a trusted
 * proxy's forwarding header that does not parse).
 */
int httpd_req_peer(const struct httpd_req *r, struct addr *out);
/* The route matched: an element of cfg.routes. */
const struct httpd_route *httpd_req_route_entry(const struct httpd_req *r);

/* ---- answers: each ends the request and frees r ---- */

/* status with a JSON body (the buffer is drained; NULL for none). */
void httpd_reply_json(struct httpd_req *r, int status, struct evbuffer *body);
/* status with a body of another type ("text/plain; version=0.0.4"). */
void httpd_reply_typed(
        struct httpd_req *r, int status, const char *content_type, struct evbuffer *body);
/* 204 No Content and the like. */
void httpd_reply_empty(struct httpd_req *r, int status);
/* An API-SIG error; code NULL picks the default for status. */
void httpd_reply_error(struct httpd_req *r, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/*
 * A streamed JSON answer, for bodies too large to hold for a client that
 * may never read them. The status, headers and first (non-empty) go now;
 * then more(out, arg) is called each time everything handed to the
 * connection has reached the socket, and appends the next piece: it
 * returns 1 (more to come; out must not be empty), 0 (that was the last:
 * the answer ends) or -errno (the connection is closed without ending the
 * answer, so the client sees it cut short: the status is already sent).
 * A client that stops reading thus holds at most one piece plus the
 * socket's send buffer, capped at HTTPD_STREAM_SNDBUF (the kernel doubles
 * it), and is dropped by the idle timeout.
 * done(arg, complete) is called exactly once, when the answer ended
 * (complete) or was abandoned: the client went away (noticed within
 * HTTPD_STREAM_CHECK_MS), more() failed, or the server was freed. HTTP/1.1
 * clients get chunked encoding; HTTP/1.0 ones a body ended by closing.
 */
#define HTTPD_STREAM_CHECK_MS 1000
#define HTTPD_STREAM_SNDBUF   (256 * 1024)
typedef int httpd_more_fn(struct evbuffer *out, void *arg);
typedef void httpd_done_fn(void *arg, bool complete);
void httpd_reply_stream(struct httpd_req *r, int status, struct evbuffer *first,
        httpd_more_fn *more, httpd_done_fn *done, void *arg);
/* Adds a header to the answer to come. 0 or -ENOMEM (or -ENOTCONN). */
int httpd_req_add_header(struct httpd_req *r, const char *name, const char *value);

#endif
