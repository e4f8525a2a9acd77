#include "census.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "array-grow.h"
#include "cause.h"
#include "kernel.h"
#include "replicas.h"
#include "store.h"

/* ---- one node: the stored status ---- */

/* The DOWN ones by reason: one namespace check per run of a router. */
struct reasons {
	struct kernel *kernel;
	char router[FWD_NAME_MAX + 1];
	enum fwd_reason last;
	struct census *c;
};

static int count_reason(const struct forwarding *f, void *arg)
{
	struct reasons *rs = arg;
	struct forwarding shown;

	if (f->status != FWD_STATUS_DOWN)
		return 0;
	if (strcmp(rs->router, f->router_id) != 0) {
		shown = *f;
		kernel_explain(rs->kernel, &shown);
		rs->last = shown.status_reason;
		snprintf(rs->router, sizeof(rs->router), "%s", f->router_id);
	}
	rs->c->reason[rs->last]++;
	return 0;
}

static int take_local(struct agent *a, struct census *c, char **cause)
{
	struct reasons rs = {.kernel = a->kernel, .c = c};
	size_t all, down;
	int r;

	if ((r = store_count(a->store, NULL, &all, cause)) < 0 ||
	        (r = store_count_status(a->store, FWD_STATUS_DOWN, &down, cause)) < 0)
		return r;
	c->status[FWD_STATUS_ACTIVE] = all - down;
	c->status[FWD_STATUS_DOWN] = down;
	if (down > 0 && (r = store_foreach_all(a->store, count_reason, &rs, cause)) < 0)
		return r;
	return 0;
}

/* ---- many nodes: across live nodes ---- */

struct router_count {
	char id[FWD_NAME_MAX + 1];
	size_t n;
};

struct routers_read {
	struct router_count *v;
	size_t n, cap;
};

/* Collected first: no statement stays open while each router's replicas are read. */
static int add_router(const char *router_id, size_t n, void *arg)
{
	struct routers_read *rr = arg;
	struct router_count *grown;

	if ((grown = array_grow(rr->v, &rr->cap, rr->n, sizeof(*grown), 64)) == NULL)
		return -ENOMEM;
	rr->v = grown;
	snprintf(rr->v[rr->n].id, sizeof(rr->v[rr->n].id), "%s", router_id);
	rr->v[rr->n++].n = n;
	return 0;
}

struct each {
	struct replicas_view *view;
	struct census *c;
	char **cause;
};

static int count_shown(const struct forwarding *f, void *arg)
{
	struct each *e = arg;
	struct forwarding shown = *f;
	int r;

	if ((r = replicas_show(e->view, &shown, e->cause)) < 0)
		return r;
	e->c->status[shown.status]++;
	e->c->reason[shown.status_reason]++;
	return 0;
}

static int take_shared(struct agent *a, struct census *c, char **cause)
{
	struct routers_read rr = {0};
	struct each e = {.c = c, .cause = cause};
	enum fwd_status all;
	int r;

	if ((r = store_foreach_router_count(a->store, add_router, &rr, cause)) < 0)
		goto out;
	if ((e.view = replicas_view_new(a)) == NULL) {
		r = cause_set(cause, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rr.n && r == 0; i++) {
		if ((r = replicas_alike(e.view, rr.v[i].id, &all, cause)) < 0)
			break;
		if (r == 1) {
			c->status[all] += rr.v[i].n;
			if (all == FWD_STATUS_DOWN)
				c->reason[FWD_REASON_NAMESPACE_ABSENT] += rr.v[i].n;
			r = 0;
		} else {
			r = store_foreach_router(a->store, rr.v[i].id, count_shown, &e, cause);
		}
	}
out:
	replicas_view_free(e.view);
	free(rr.v);
	return r;
}

int census_take(struct agent *a, struct census *c, char **cause)
{
	memset(c, 0, sizeof(*c));
	return store_is_shared(a->store) ? take_shared(a, c, cause) : take_local(a, c, cause);
}
