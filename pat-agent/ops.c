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

/* Forwardings collected first, changed after: a store iteration must not write. */
struct matches {
	struct forwarding *v;
	size_t n, cap;
	const struct addr *addr; /* keep only those with this internal (or external) address */
	bool external;
};

static int collect(const struct forwarding *f, void *arg)
{
	struct matches *m = arg;
	const struct addr *have = m->external ? &f->external_addr : &f->internal_addr;

	if (m->addr != NULL && !m->external && !addr_equal(have, m->addr))
		return 0;
	/* Re-keying a gateway: those of its family not already on the new address. */
	if (m->addr != NULL && m->external &&
	        (have->family != m->addr->family || addr_equal(have, m->addr)))
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct forwarding *v = reallocarray(m->v, cap, sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = *f;
	return 0;
}

static int read_error(struct apierr *err, int r, char *cause)
{
	apierr_set(err, 503, "praas.db_unavailable", "cannot read forwardings: %s",
	        cause ? cause : strerror(-r));
	free(cause);
	return -1;
}

int ops_port_deleted(struct agent *a, const char *port_id, unsigned int *count, struct apierr *err)
{
	struct matches m = {0};
	char *cause = NULL;
	int r;

	*count = 0;
	if ((r = store_foreach_port_id(a->store, port_id, collect, &m, &cause)) < 0) {
		free(m.v);
		return read_error(err, r, cause);
	}
	for (size_t i = 0; i < m.n; i++) {
		if (engine_delete(&a->engine, m.v[i].id, NULL, err) < 0 && err->status != 404) {
			free(m.v);
			return -1;
		}
		(*count)++;
	}
	free(m.v);
	return 0;
}

int ops_port_address_changed(struct agent *a, const char *port_id, const struct addr *old_ip,
        const struct addr *new_ip, unsigned int *count, struct apierr *err)
{
	struct matches m = {.addr = old_ip};
	char *cause = NULL;
	int r;

	*count = 0;
	if (old_ip->family != new_ip->family)
		return apierr_set(err, 400, "praas.bad_request",
		        "old_ip and new_ip are of different families");
	if ((r = store_foreach_port_id(a->store, port_id, collect, &m, &cause)) < 0) {
		free(m.v);
		return read_error(err, r, cause);
	}
	for (size_t i = 0; i < m.n; i++) {
		struct forwarding next = m.v[i];

		next.internal_addr = *new_ip;
		if (engine_update(&a->engine, &next, NULL, err) < 0) {
			free(m.v);
			return -1;
		}
		(*count)++;
	}
	free(m.v);
	return 0;
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
	struct matches m = {.addr = new_ip, .external = true};
	char *cause = NULL;
	int r;

	*count = 0;
	routers_forget(a->routers, router_id);
	if ((r = store_foreach_router(a->store, router_id, collect, &m, &cause)) < 0) {
		free(m.v);
		return read_error(err, r, cause);
	}
	for (size_t i = 0; i < m.n; i++) {
		struct forwarding next = m.v[i];

		next.external_addr = *new_ip;
		if (engine_update(&a->engine, &next, NULL, err) < 0) {
			free(m.v);
			return -1;
		}
		(*count)++;
	}
	free(m.v);
	return 0;
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
