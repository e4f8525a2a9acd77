#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "kernel.h"
#include "log.h"
#include "routers.h"
#include "store.h"

/*
 * Forwardings are collected first and changed after: a store iteration
 * must not write. keep() picks those still as the monitor saw them.
 */
struct matches {
	struct fwd_list list;
	const struct addr *internal; /* keep those targeting this address */
	const struct addr *gateway;  /* keep those of its family not already on it */
};

static int keep(const struct forwarding *f, void *arg)
{
	struct matches *m = arg;

	if (m->internal != NULL && !addr_equal(&f->internal_addr, m->internal))
		return 0;
	if (m->gateway != NULL &&
	        (f->external_addr.family != m->gateway->family ||
	                addr_equal(&f->external_addr, m->gateway)))
		return 0;
	return fwd_list_add(f, &m->list);
}

static int read_error(struct apierr *err, int r, char *cause)
{
	apierr_set(err, 503, "praas.db_unavailable", "cannot read forwardings: %s",
	        cause ? cause : strerror(-r));
	free(cause);
	return -1;
}

/* Re-points every collected forwarding at addr (its target, or its external side). */
static int move_all(struct agent *a, struct fwd_list *l, const struct addr *addr, bool external,
        unsigned int *count, struct apierr *err)
{
	struct fwd_list cuts;
	int r = 0;

	engine_bulk_begin(&a->engine, &cuts);
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		struct forwarding next = l->v[i];

		if (external)
			next.external_addr = *addr;
		else
			next.internal_addr = *addr;
		if ((r = engine_update(&a->engine, &next, NULL, err)) == 0)
			(*count)++;
	}
	engine_bulk_end(&a->engine);
	return r;
}

int ops_port_deleted(struct agent *a, const char *port_id, unsigned int *count, struct apierr *err)
{
	struct fwd_list l = {0}, cuts;
	char *cause = NULL;
	int r;

	*count = 0;
	if ((r = store_foreach_port_id(a->store, port_id, fwd_list_add, &l, &cause)) < 0) {
		fwd_list_free(&l);
		return read_error(err, r, cause);
	}
	engine_bulk_begin(&a->engine, &cuts);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		/* One already gone (deleted meanwhile) is what was asked for. */
		if (engine_delete(&a->engine, l.v[i].id, NULL, err) < 0 && err->status != 404)
			r = -1;
		else
			(*count)++;
	}
	engine_bulk_end(&a->engine);
	fwd_list_free(&l);
	return r;
}

int ops_port_address_changed(struct agent *a, const char *port_id, const struct addr *old_ip,
        const struct addr *new_ip, unsigned int *count, struct apierr *err)
{
	struct matches m = {.internal = old_ip};
	char *cause = NULL;
	int r;

	*count = 0;
	if (old_ip->family != new_ip->family)
		return apierr_set(err, 400, "praas.bad_request",
		        "old_ip and new_ip are of different families");
	if ((r = store_foreach_port_id(a->store, port_id, keep, &m, &cause)) < 0) {
		fwd_list_free(&m.list);
		return read_error(err, r, cause);
	}
	r = move_all(a, &m.list, new_ip, false, count, err);
	fwd_list_free(&m.list);
	return r;
}

int ops_router_deleted(
        struct agent *a, const char *router_id, unsigned int *count, struct apierr *err)
{
	routers_forget(a->routers, router_id);
	return engine_delete_router(&a->engine, router_id, count, err);
}

int ops_gateway_changed(struct agent *a, const char *router_id, const struct addr *new_ip,
        unsigned int *count, struct apierr *err)
{
	struct matches m = {.gateway = new_ip};
	char *cause = NULL;
	int r;

	*count = 0;
	routers_forget(a->routers, router_id);
	if ((r = store_foreach_router(a->store, router_id, keep, &m, &cause)) < 0) {
		fwd_list_free(&m.list);
		return read_error(err, r, cause);
	}
	r = move_all(a, &m.list, new_ip, true, count, err);
	fwd_list_free(&m.list);
	return r;
}

int ops_resync(struct agent *a, const char *router_id, unsigned int *count, struct apierr *err)
{
	*count = 0;
	if (router_id == NULL) {
		if (restore_all(a) < 0)
			return apierr_set(err, 503, "praas.resync_failed",
			        "the resync of every router failed: see the agent's log");
		return 0;
	}
	if (!kernel_router_present(a->kernel, router_id))
		return apierr_set(err, 404, "praas.router_not_found",
		        "router %s has no namespace on this node", router_id);
	if (engine_sync_router(&a->engine, router_id, err) < 0)
		return -1;
	*count = 1;
	return 0;
}
