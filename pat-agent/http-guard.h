/*
 * The connections of the REST port, kept in hand before evhttp parses
 * anything: how many are open, how long a request may take to arrive,
 * and the request head checked on its way in. http-server.c installs it
 * on its evhttp; names use the prefix guard_.
 *
 * What it promises:
 * - At most max_conns connections are open at once (fewer when the
 *   descriptor limit leaves no room: a quarter of it, at least 128, stays
 *   for the database, namespaces, the control socket and OpenStack
 *   calls). At the cap a new connection closes the one idle the longest;
 *   when none is idle (all have a request in progress), the new one gets
 *   an API-SIG 503 and is closed.
 * - A request's head and body must arrive within request_timeout of its
 *   first byte, however slowly they trickle in: after it, an API-SIG 408
 *   and the connection is closed.
 * - evhttp sees only whole, well-formed request heads: a head over
 *   head_max bytes (431), a malformed request line, target or header
 *   (400), an Expect other than 100-continue (417), an unknown method
 *   (501), TRACE or CONNECT (405), a chunked body (411), a Content-Length
 *   over body_max or not a number (413, 400) are answered here with an
 *   API-SIG error and X-Openstack-Request-Id, then the connection is
 *   closed after a short linger.
 * - accept() failing for other than a retriable reason (EMFILE, ENFILE,
 *   ENOBUFS, ENOMEM) pauses accepting, without spinning, until a connection closes
 *   or a second passes; it is logged at most once per 10 s, with a count.
 * - With a metrics registry: praas_http_connections (open now),
 *   praas_http_connections_closed_total{reason} (what the guard closed and
 *   why) and praas_http_accept_paused_total.
 * - With TLS (cfg.tls), each connection is an OpenSSL bufferevent and the
 *   checks above read the decrypted stream: a refusal is written through
 *   the connection's TLS session. A TLS client over the cap, which has not
 *   finished its handshake, is closed without an answer.
 * - Pipelined requests are read as they arrive. A refusal on a connection
 *   that still owes an answer writes nothing into it: the rest of its input
 *   is dropped and it is closed once the answer is out.
 */
#ifndef PRAAS_HTTP_GUARD_H
#define PRAAS_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct evhttp_request;
struct evconnlistener;
struct guard;
struct metrics;
struct tls;

struct guard_config {
	struct metrics *metrics; /* NULL: none */
	struct tls *tls;         /* NULL: plain HTTP; kept by pointer, may be reloaded */
	unsigned int max_conns;
	double request_timeout; /* seconds */
	size_t head_max;        /* bytes of request line and headers */
	size_t body_max;        /* largest Content-Length let through */
};

/* Installs the guard on http (evhttp_set_bevcb). 0 or -ENOMEM. */
int guard_new(struct event_base *base, struct evhttp *http, const struct guard_config *cfg,
        struct guard **out);
/* Watches a listener of http for accept() errors. */
void guard_listener(struct guard *g, struct evconnlistener *lev);
/* Forgets a listener (before it is freed). */
void guard_unlisten(struct guard *g, struct evconnlistener *lev);
/* The answer to req was written: its connection is idle again. */
void guard_written(struct guard *g, struct evhttp_request *req);
/* Frees the guard; call after evhttp_free() of its evhttp. */
void guard_free(struct guard *g);

#endif
