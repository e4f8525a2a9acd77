#include "api-legacy.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "array-grow.h"
#include "audit.h"
#include "call.h"
#include "log.h"
#include "pipeline.h"
#include "readcopy.h"
#include "routers.h"
#include "store.h"
#include "storeq.h"

/* One legacy call in progress. */
struct legacy {
	struct pipeline_request req; /* router_id, caller, router, target */
	struct call *call;
	struct legacy_request q;
	struct evbuffer *answer; /* step_decide's, sent by on_finish */
	/* The change step_decide chose, carried out by step_commit. */
	enum { CHANGE_NONE, CHANGE_CREATE, CHANGE_DELETE, CHANGE_UPDATE } change;
	struct forwarding f;    /* create: the new one; modify: the next */
	struct forwarding prev; /* remove, modify: the one found */
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

static struct legacy *legacy_of(struct runner *r)
{
	return runner_of(r, struct legacy, req.run);
}

static void reply(struct legacy *l, struct evbuffer *b)
{
	call_reply_legacy(l->call, b);
	evbuffer_free(b);
	free(l);
}

/* {"status":"ERROR"...}, or USED: the legacy table's word for the fault. */
static void reply_fault(struct legacy *l, const struct fault *fault)
{
	struct evbuffer *b = evbuffer_new();
	struct fault err;

	if (b == NULL || legacy_write_fault(b, &l->q, fault, l->prev.external.lo) < 0) {
		if (b)
			evbuffer_free(b);
		fault_no_memory(&err);
		call_reply_error(l->call, &err);
		free(l);
		return;
	}
	reply(l, b);
}

/* The router exists and is the caller's; gateway and server_ip must match it. */
static enum runner_verdict step_check(struct runner *r)
{
	struct legacy *l = legacy_of(r);
	const struct legacy_request *q = &l->q;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	const struct addr *gw;

	if (q->op != LEGACY_ROUTER_SERVER_PAT) {
		gw = router_gateway(&l->req.router, q->gateway.family);
		if (gw == NULL || !addr_equal(gw, &q->gateway)) {
			fault_set(&r->fault, -EINVAL, FAULT_REQUEST,
			        "gateway %s is not the gateway address of router %s%s%s",
			        addr_format(&q->gateway, a, sizeof(a)), q->router_id,
			        gw ? ", which is " : "", gw ? addr_format(gw, b, sizeof(b)) : "");
			return RUNNER_REFUSED;
		}
	}
	if (router_subnet_of(&l->req.router, &q->server_ip) < 0) {
		fault_set(&r->fault, -EINVAL, FAULT_REQUEST,
		        "server_ip %s is not on a subnet attached to router %s",
		        addr_format(&q->server_ip, a, sizeof(a)), q->router_id);
		return RUNNER_REFUSED;
	}
	return RUNNER_NEXT;
}

static enum runner_verdict step_decide(struct runner *r);
static enum runner_verdict step_commit(struct runner *r);

/* The answer to a change the group commit carried out, with its audit line. */
static int write_changed(struct legacy *l)
{
	const char *rid = call_request_id(l->call);

	switch (l->change) {
	case CHANGE_CREATE:
		audit_log("create", rid, &l->req.caller, &l->f, NULL);
		return legacy_write_created(l->answer, &l->q, l->f.external.lo);
	case CHANGE_DELETE:
		audit_log("delete", rid, &l->req.caller, &l->prev, NULL);
		return legacy_write_removed(l->answer, &l->q, l->prev.external.lo);
	case CHANGE_UPDATE:
		audit_log("update", rid, &l->req.caller, &l->f, &l->prev);
		return legacy_write_modified(l->answer, &l->q, l->prev.external.lo);
	default:
		return 0; /* step_decide answered */
	}
}

static void on_finish(struct runner *r, const struct fault *fault)
{
	struct legacy *l = legacy_of(r);
	struct fault oom;

	if (fault == NULL && write_changed(l) < 0) {
		fault_no_memory(&oom);
		fault = &oom;
	}
	if (fault != NULL) {
		if (l->answer != NULL)
			evbuffer_free(l->answer);
		reply_fault(l, fault);
		return;
	}
	reply(l, l->answer);
}

/* ---- the ops: their steps, in order ---- */

static const struct runner_step create_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(pipeline_resolve_router), RUNNER_STEP(pipeline_may_act),
        RUNNER_STEP(step_check), RUNNER_STEP(pipeline_resolve_target), RUNNER_STEP(step_decide),
        RUNNER_STEP(step_commit)};
static const struct runner_step change_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(pipeline_resolve_router), RUNNER_STEP(pipeline_may_act),
        RUNNER_STEP(step_check), RUNNER_STEP(step_decide), RUNNER_STEP(step_commit)};
static const struct runner_step router_pat_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(pipeline_resolve_router), RUNNER_STEP(pipeline_may_act),
        RUNNER_STEP(step_decide), RUNNER_STEP(step_commit)};

/* Each op's steps. */
static const struct {
	const struct runner_step *steps;
	size_t n;
} ops[] = {
        [LEGACY_CREATE] = {RUNNER_STEPS(create_steps)},
        [LEGACY_REMOVE] = {RUNNER_STEPS(change_steps)},
        [LEGACY_MODIFY] = {RUNNER_STEPS(change_steps)},
        [LEGACY_ROUTER_PAT] = {RUNNER_STEPS(router_pat_steps)},
        /* step_check looks at server_ip only for this one */
        [LEGACY_ROUTER_SERVER_PAT] = {RUNNER_STEPS(change_steps)},
};

void api_legacy(struct call *c, enum legacy_op op)
{
	struct legacy *l = calloc(1, sizeof(*l));
	struct fault err;
	char *error = NULL;
	int r;

	if (l == NULL) {
		fault_no_memory(&err);
		call_reply_error(c, &err);
		return;
	}
	l->call = c;
	l->req.a = call_agent(c);
	l->req.legacy = true;
	l->req.token = call_header(c, "X-Auth-Token");
	if (call_peer(c, &l->req.peer) == NULL)
		memset(&l->req.peer, 0, sizeof(l->req.peer));
	if ((r = legacy_parse(op, call_query_string(c), &l->q, &error)) < 0) {
		if (r == -ENOMEM || error == NULL)
			fault_no_memory(&err);
		else
			fault_set(&err, r, FAULT_REQUEST, "%s", error);
		free(error);
		reply_fault(l, &err);
		return;
	}
	snprintf(l->req.router_id, sizeof(l->req.router_id), "%s", l->q.router_id);
	l->req.target_addr = l->q.server_ip;
	l->req.target_field = "server_ip";
	runner_start(&l->req.run, ops[op].steps, ops[op].n, on_finish);
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
	struct legacy_mapping *v = array_grow(fd->v, &fd->cap, fd->n, sizeof(*v), 64);

	if (v == NULL)
		return -ENOMEM;
	fd->v = v;
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
	fd->port = l->q.server_port;
	r = store_foreach_internal_addr(
	        l->req.a->reads, l->req.router_id, &l->q.server_ip, find_port, fd, &cause);
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
	struct forwarding *f = &l->f;

	if (fd->hit)
		return legacy_write_already(b, &l->q, router_port_of(fd));
	memset(f, 0, sizeof(*f));
	snprintf(f->router_id, sizeof(f->router_id), "%s", l->req.router_id);
	snprintf(f->project_id, sizeof(f->project_id), "%s", l->req.router.project_id);
	snprintf(f->internal_port_id, sizeof(f->internal_port_id), "%s", l->req.target.id);
	snprintf(f->description, sizeof(f->description), "legacy /pat/create");
	f->protocol = IPPROTO_TCP;
	f->external_addr = l->q.gateway;
	f->internal_addr = l->q.server_ip;
	f->internal = (struct port_range){l->q.server_port, l->q.server_port};
	l->change = CHANGE_CREATE;
	return 0;
}

static bool whole(const struct found *fd)
{
	return port_range_len(&fd->f.internal) == 1 && port_range_len(&fd->f.external) == 1;
}

static int do_remove(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	if (!fd->hit)
		return legacy_write_not_created(b, &l->q);
	if (!whole(fd))
		return legacy_write_error(b,
		        "that server port is part of a port range "
		        "forwarding: remove it with the v1 API");
	l->prev = fd->f;
	l->change = CHANGE_DELETE;
	return 0;
}

static int do_modify(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	uint16_t old;

	if (!fd->hit)
		return legacy_write_not_created(b, &l->q);
	if (!whole(fd))
		return legacy_write_error(b,
		        "that server port is part of a port range "
		        "forwarding: change it with the v1 API");
	old = fd->f.external.lo;
	/* The original answers USED for any router port already forwarded,
	 * the forwarding's own included, and changes nothing. */
	if (old == l->q.router_port)
		return legacy_write_used(b, &l->q, old);
	l->prev = fd->f;
	l->f = fd->f;
	l->f.external = (struct port_range){l->q.router_port, l->q.router_port};
	l->change = CHANGE_UPDATE;
	return 0;
}

static int list_from(struct legacy *l, struct store *s, struct found *fd, char **cause)
{
	memset(fd, 0, sizeof(*fd));
	if (l->q.op == LEGACY_ROUTER_PAT)
		return store_foreach_router(s, l->req.router_id, collect, fd, cause);
	return store_foreach_internal_addr(
	        s, l->req.router_id, &l->q.server_ip, collect, fd, cause);
}

/* The database unreachable: from the read copy (X-PRaaS-Stale says how old). */
static int do_listing(struct legacy *l, struct evbuffer *b, struct found *fd)
{
	struct store *copy;
	char *cause = NULL;
	int r = list_from(l, l->req.a->reads, fd, &cause);

	if (r < 0 && (copy = readcopy_fallback(l->req.a, l->call, r)) != NULL) {
		free(cause);
		cause = NULL;
		free(fd->v);
		r = list_from(l, copy, fd, &cause);
	}
	if (r < 0) {
		r = legacy_write_error(b, cause ? cause : "cannot read forwardings");
	} else if (l->q.op == LEGACY_ROUTER_PAT) {
		r = legacy_write_router_pat(b, fd->v, fd->n);
	} else {
		r = legacy_write_router_server_pat(b, fd->v, fd->n);
	}
	free(cause);
	free(fd->v);
	return r;
}

/*
 * Reads what the op names and decides: an answer now (a listing, CREATED,
 * NO CREATED, USED...) into l->answer, or a change for step_commit.
 */
static enum runner_verdict decide_now(struct runner *r)
{
	struct legacy *l = legacy_of(r);
	struct evbuffer *b = evbuffer_new();
	struct found fd;
	int e;

	if (b == NULL)
		return fault_no_memory(&r->fault), RUNNER_REFUSED;
	if (l->q.op == LEGACY_ROUTER_PAT || l->q.op == LEGACY_ROUTER_SERVER_PAT) {
		e = do_listing(l, b, &fd);
	} else if ((e = lookup(l, &fd)) < 0) {
		e = legacy_write_error(b, "cannot read forwardings");
	} else if (l->q.op == LEGACY_CREATE) {
		e = do_create(l, b, &fd);
	} else if (l->q.op == LEGACY_REMOVE) {
		e = do_remove(l, b, &fd);
	} else {
		e = do_modify(l, b, &fd);
	}
	if (e < 0) {
		evbuffer_free(b);
		return fault_no_memory(&r->fault), RUNNER_REFUSED;
	}
	l->answer = b;
	return RUNNER_NEXT;
}

/* Through the store gate (storeq.h): on MariaDB the loop goes on while it reads. */
static enum runner_verdict step_decide(struct runner *r)
{
	return storeq_step(legacy_of(r)->req.a->readq, r, decide_now);
}

static void on_committed(const struct fault *err, void *arg)
{
	struct legacy *l = arg;

	if (err != NULL)
		runner_refuse(&l->req.run, err);
	else
		runner_resume(&l->req.run);
}

/* The change, if any: answered after the group commit at the end of this loop turn. */
static enum runner_verdict step_commit(struct runner *r)
{
	struct legacy *l = legacy_of(r);
	struct engine *e = &l->req.a->engine;

	switch (l->change) {
	case CHANGE_CREATE:
		engine_submit_create(e, &l->f, true, on_committed, l);
		return RUNNER_WAIT;
	case CHANGE_DELETE:
		engine_submit_delete(e, l->prev.id, on_committed, l);
		return RUNNER_WAIT;
	case CHANGE_UPDATE:
		engine_submit_update(e, &l->f, on_committed, l);
		return RUNNER_WAIT;
	default:
		return RUNNER_NEXT;
	}
}
