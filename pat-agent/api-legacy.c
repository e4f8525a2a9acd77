#include "api-legacy.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "audit.h"
#include "call.h"
#include "log.h"
#include "routers.h"
#include "store.h"

/* One legacy call in progress. */
struct legacy {
	struct call *call;
	struct agent *a;
	struct legacy_request req;
	struct caller caller;
	struct router_info router;
	struct target_port target; /* OpenStack mode, create */
};

/* Forwardings found for a (router, server ip, tcp, server port). */
struct found {
	uint16_t port;
	struct forwarding f;
	bool hit;
	/* listings */
	struct legacy_mapping *v;
	size_t n, cap;
};

static void after_router(struct legacy *l);
static void act(struct legacy *l);

static void reply(struct legacy *l, struct evbuffer *b)
{
	call_reply_legacy(l->call, b);
	evbuffer_free(b);
	free(l);
}

static void reply_error(struct legacy *l, const char *message)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || legacy_write_error(b, message) < 0) {
		struct apierr err;
		if (b)
			evbuffer_free(b);
		apierr_set(&err, 503, "praas.out_of_memory", "out of memory");
		call_reply_error(l->call, &err);
		free(l);
		return;
	}
	reply(l, b);
}

static void on_router(const struct router_info *info, const struct apierr *err, void *arg)
{
	struct legacy *l = arg;

	if (err != NULL) {
		reply_error(l, err->detail);
		return;
	}
	l->router = *info;
	after_router(l);
}

static void after_auth(struct legacy *l)
{
	struct apierr err;
	int r = routers_get(l->a->routers, l->req.router_id, &l->router, &err, on_router, l);

	if (r < 0)
		reply_error(l, err.detail);
	else if (r == 1)
		after_router(l);
}

static void on_auth(const struct caller *caller, const struct apierr *err, void *arg)
{
	struct legacy *l = arg;

	if (err != NULL) {
		reply_error(l, err->detail);
		return;
	}
	l->caller = *caller;
	after_auth(l);
}

void api_legacy(struct call *c, enum legacy_op op)
{
	struct legacy *l = calloc(1, sizeof(*l));
	struct addr peer;
	struct apierr err;
	char *error = NULL;
	int r;

	if (l == NULL) {
		apierr_set(&err, 503, "praas.out_of_memory", "out of memory");
		call_reply_error(c, &err);
		return;
	}
	l->call = c;
	l->a = call_agent(c);
	if (legacy_parse(op, call_query_string(c), &l->req, &error) < 0) {
		reply_error(l, error ? error : "out of memory");
		free(error);
		return;
	}
	r = auth_check(l->a->auth, call_header(c, "X-Auth-Token"), call_peer(c, &peer), true,
	        &l->caller, &err, on_auth, l);
	if (r < 0)
		reply_error(l, err.detail);
	else if (r == 1)
		after_auth(l);
}

static void on_target(const struct target_port *port, const struct apierr *err, void *arg)
{
	struct legacy *l = arg;
	char text[ADDR_STRLEN + 64], a[ADDR_STRLEN];
	struct apierr e;

	if (err != NULL) {
		reply_error(l, err->detail);
		return;
	}
	if (!auth_may(&l->caller, port->project_id)) {
		snprintf(text, sizeof(text), "server_ip %s belongs to another project's port",
		        addr_format(&port->addr, a, sizeof(a)));
		reply_error(l, text);
		return;
	}
	if (router_check_port(port, l->caller.admin, &e) < 0) {
		reply_error(l, e.detail);
		return;
	}
	l->target = *port;
	act(l);
}

/* The router exists and is the caller's; gateway and server_ip must match it. */
static void after_router(struct legacy *l)
{
	const struct legacy_request *q = &l->req;
	char a[ADDR_STRLEN], b[ADDR_STRLEN], msg[256];
	const struct addr *gw;
	struct apierr err;

	if (!auth_may(&l->caller, l->router.project_id)) {
		snprintf(msg, sizeof(msg), "router %s belongs to another project", q->router_id);
		reply_error(l, msg);
		return;
	}
	if (q->op == LEGACY_ROUTER_PAT) {
		act(l);
		return;
	}
	if (q->op != LEGACY_ROUTER_SERVER_PAT) {
		gw = router_gateway(&l->router, q->gateway.family);
		if (gw == NULL || !addr_equal(gw, &q->gateway)) {
			snprintf(msg, sizeof(msg),
			        "gateway %s is not the gateway address of router %s%s%s",
			        addr_format(&q->gateway, a, sizeof(a)), q->router_id,
			        gw ? ", which is " : "", gw ? addr_format(gw, b, sizeof(b)) : "");
			reply_error(l, msg);
			return;
		}
	}
	if (router_subnet_of(&l->router, &q->server_ip) < 0) {
		snprintf(msg, sizeof(msg), "server_ip %s is not on a subnet attached to router %s",
		        addr_format(&q->server_ip, a, sizeof(a)), q->router_id);
		reply_error(l, msg);
		return;
	}
	/* Standalone: the namespace's own and subnet-edge addresses are no VMs. */
	if (q->op == LEGACY_CREATE && !routers_have_ports(l->a->routers) &&
	        router_check_address(&l->router, &q->server_ip, "server_ip", &err) < 0) {
		reply_error(l, err.detail);
		return;
	}
	if (q->op == LEGACY_CREATE && routers_have_ports(l->a->routers)) {
		if (routers_find_target(
		            l->a->routers, &l->router, &q->server_ip, NULL, &err, on_target, l) < 0)
			reply_error(l, err.detail);
		return;
	}
	act(l);
}

/* ---- finding what the Proxy CLI names ---- */

static int find_port(const struct forwarding *f, void *arg)
{
	struct found *fd = arg;

	if (f->protocol != IPPROTO_TCP || fd->port < f->internal.lo || fd->port > f->internal.hi)
		return 0;
	fd->f = *f;
	fd->hit = true;
	return 1;
}

static int add_mapping(struct found *fd, const struct forwarding *f, uint16_t ext)
{
	if (fd->n == fd->cap) {
		size_t cap = fd->cap ? fd->cap * 2 : 64;
		struct legacy_mapping *v = reallocarray(fd->v, cap, sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		fd->v = v;
		fd->cap = cap;
	}
	fd->v[fd->n].server_ip = f->internal_addr;
	fd->v[fd->n].server_port = fwd_internal_port_for(f, ext);
	fd->v[fd->n].router_port = ext;
	fd->n++;
	return 0;
}

/*
 * Every forwarded TCP port, one mapping each: a range gives one per port.
 * The listings are JSON objects keyed by the server's port, which can hold
 * one router port each: a v1 forwarding of one server port from several
 * router ports (an external range onto one internal port) would repeat a key
 * and a parser would keep one of its values. Such a forwarding is left out of
 * the legacy view (documented in api.md); v1 lists it. No other key repeats:
 * a server address and port belong to one forwarding (engine.c refuses a
 * second).
 */
static int collect(const struct forwarding *f, void *arg)
{
	int r = 0;

	if (f->protocol != IPPROTO_TCP)
		return 0;
	if (port_range_len(&f->internal) == 1 && port_range_len(&f->external) > 1)
		return 0;
	for (unsigned int p = f->external.lo; r == 0 && p <= f->external.hi; p++)
		r = add_mapping(arg, f, (uint16_t)p);
	return r;
}

static int lookup(struct legacy *l, struct found *fd)
{
	char *cause = NULL;
	int r;

	memset(fd, 0, sizeof(*fd));
	fd->port = l->req.server_port;
	r = store_foreach_internal_addr(
	        l->a->store, l->req.router_id, &l->req.server_ip, find_port, fd, &cause);
	free(cause);
	return r < 0 ? r : 0;
}

/* The external port a server port is reached by, in a forwarding that holds it. */
static uint16_t router_port_of(const struct found *fd)
{
	const struct forwarding *f = &fd->f;

	if (port_range_len(&f->internal) == 1)
		return f->external.lo;
	return (uint16_t)(f->external.lo + (fd->port - f->internal.lo));
}

/* ---- the operations ---- */

static int do_create(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	struct forwarding f;
	struct apierr err;

	if (fd->hit)
		return legacy_write_already(b, &l->req, router_port_of(fd));
	memset(&f, 0, sizeof(f));
	snprintf(f.router_id, sizeof(f.router_id), "%s", l->req.router_id);
	snprintf(f.project_id, sizeof(f.project_id), "%s", l->router.project_id);
	snprintf(f.internal_port_id, sizeof(f.internal_port_id), "%s", l->target.id);
	snprintf(f.description, sizeof(f.description), "legacy /pat/create");
	f.protocol = IPPROTO_TCP;
	f.external_addr = l->req.gateway;
	f.internal_addr = l->req.server_ip;
	f.internal = (struct port_range){l->req.server_port, l->req.server_port};
	if (engine_create(&l->a->engine, &f, true, &err) < 0)
		return legacy_write_error(b, err.detail);
	audit_log("create", call_request_id(l->call), &l->caller, &f, NULL);
	return legacy_write_created(b, &l->req, f.external.lo);
}

static bool whole(const struct found *fd)
{
	return port_range_len(&fd->f.internal) == 1 && port_range_len(&fd->f.external) == 1;
}

static int do_remove(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	struct apierr err;

	if (!fd->hit)
		return legacy_write_not_created(b, &l->req);
	if (!whole(fd))
		return legacy_write_error(b,
		        "that server port is part of a port range "
		        "forwarding: remove it with the v1 API");
	if (engine_delete(&l->a->engine, fd->f.id, NULL, &err) < 0)
		return legacy_write_error(b, err.detail);
	audit_log("delete", call_request_id(l->call), &l->caller, &fd->f, NULL);
	return legacy_write_removed(b, &l->req, fd->f.external.lo);
}

static int do_modify(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	struct forwarding next;
	struct apierr err;
	uint16_t old;

	if (!fd->hit)
		return legacy_write_not_created(b, &l->req);
	if (!whole(fd))
		return legacy_write_error(b,
		        "that server port is part of a port range "
		        "forwarding: change it with the v1 API");
	old = fd->f.external.lo;
	/* The original answers USED for any router port already forwarded,
	 * the forwarding's own included, and changes nothing. */
	if (old == l->req.router_port)
		return legacy_write_used(b, &l->req, old);
	next = fd->f;
	next.external = (struct port_range){l->req.router_port, l->req.router_port};
	if (engine_update(&l->a->engine, &next, NULL, &err) < 0) {
		if (err.status == 409 && strcmp(err.code, "praas.port_in_use") == 0)
			return legacy_write_used(b, &l->req, old);
		return legacy_write_error(b, err.detail);
	}
	audit_log("update", call_request_id(l->call), &l->caller, &next, &fd->f);
	return legacy_write_modified(b, &l->req, old);
}

static int do_listing(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	char *cause = NULL;
	int r;

	memset(fd, 0, sizeof(*fd));
	if (l->req.op == LEGACY_ROUTER_PAT)
		r = store_foreach_router(l->a->store, l->req.router_id, collect, fd, &cause);
	else
		r = store_foreach_internal_addr(
		        l->a->store, l->req.router_id, &l->req.server_ip, collect, fd, &cause);
	if (r < 0) {
		r = legacy_write_error(b, cause ? cause : "cannot read forwardings");
	} else if (l->req.op == LEGACY_ROUTER_PAT) {
		r = legacy_write_router_pat(b, fd->v, fd->n);
	} else {
		r = legacy_write_router_server_pat(b, fd->v, fd->n);
	}
	free(cause);
	free(fd->v);
	return r;
}

static void act(struct legacy *l)
{
	struct evbuffer *b = evbuffer_new();
	struct found fd;
	int r;

	if (b == NULL) {
		reply_error(l, "out of memory");
		return;
	}
	if (l->req.op == LEGACY_ROUTER_PAT || l->req.op == LEGACY_ROUTER_SERVER_PAT) {
		r = do_listing(l, b, &fd);
	} else if ((r = lookup(l, &fd)) < 0) {
		r = legacy_write_error(b, "cannot read forwardings");
	} else if (l->req.op == LEGACY_CREATE) {
		r = do_create(l, b, &fd);
	} else if (l->req.op == LEGACY_REMOVE) {
		r = do_remove(l, b, &fd);
	} else {
		r = do_modify(l, b, &fd);
	}
	if (r < 0) {
		evbuffer_free(b);
		reply_error(l, "out of memory");
		return;
	}
	reply(l, b);
}
