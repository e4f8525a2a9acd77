/*
 * One HTTP request being served (call.c), as the route handlers see it: its
 * captures, headers, query and body, and exactly one answer. The answer
 * may come later, after OpenStack calls; a call whose client went away
 * must still be answered (that only frees it).
 */
#ifndef PRAAS_CALL_H
#define PRAAS_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "fault.h"

struct agent;
struct call;
struct evbuffer;
struct httpd_req;

/* A route's handler: answers c exactly once, now or later. */
typedef void call_fn(struct call *c);

/* Serves the server's request r with fn (routes.c's dispatch). Out of memory: a 503. */
void call_serve(struct agent *a, struct httpd_req *r, call_fn *fn);

struct agent *call_agent(struct call *c);
/* A {capture} of the route's path by name, decoded; NULL if the route has none. */
const char *call_capture(struct call *c, const char *name);
const char *call_header(struct call *c, const char *name);
/* The raw query string (after '?'), or NULL. */
const char *call_query_string(struct call *c);
const char *call_body(struct call *c, size_t *len);
/* The request id the client gets in X-Openstack-Request-Id. */
const char *call_request_id(struct call *c);
/* The client's address into buf, or NULL when unknown. */
const struct addr *call_peer(struct call *c, struct addr *buf);

/* A header for the answer to come; -1 when it cannot be added. */
int call_add_header(struct call *c, const char *name, const char *value);
/* Answers status with body (JSON; moved out of body; NULL for none). */
void call_reply(struct call *c, int status, struct evbuffer *body);
/*
 * Answers status with a JSON body produced while the client reads it:
 * first now, then more(out, arg) each time the connection drained, until
 * it returns 0; done(arg, complete) once at the end. See
 * httpd_reply_stream() for the contract.
 */
void call_reply_stream(struct call *c, int status, struct evbuffer *first,
        int (*more)(struct evbuffer *out, void *arg), void (*done)(void *arg, bool complete),
        void *arg);
/* Answers plain text (Prometheus exposition format). */
void call_reply_text(struct call *c, int status, struct evbuffer *body);
/* Answers a fault in the API-SIG error format, worded by api_error_of(). */
void call_reply_error(struct call *c, const struct fault *err);
/* Answers a legacy call: always 200, the body as given. */
void call_reply_legacy(struct call *c, struct evbuffer *body);

#endif
