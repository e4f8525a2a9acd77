#include "reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "restore.h"
#include "audit.h"
#include "kernel.h"
#include "log.h"
#include "nft-read.h"
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

static int read_error(struct fault *err, int r, char *cause)
{
	fault_set(err, r, FAULT_STORE, "cannot read forwardings: %s", cause ? cause : strerror(-r));
	free(cause);
	return -1;
}

/* One change of an op, as the group commit answered it. */
struct op_result {
	bool failed;
	struct fault err;
};

static void on_done(const struct fault *err, void *arg)
{
	struct op_result *res = arg;

	res->failed = err != NULL;
	if (err != NULL)
		res->err = *err;
}

/*
 * Counts the changes that went through into *count; the first refusal
 * (in order) is the op's error. With gone_is_done, a forwarding already
 * gone (deleted meanwhile) counts as done.
 */
static int tally(const struct op_result *res, size_t n, bool gone_is_done, unsigned int *count,
        struct fault *err)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		bool gone = res[i].failed && res[i].err.err == -ENOENT &&
		        res[i].err.cause == FAULT_FORWARDING;

		if (!res[i].failed || (gone_is_done && gone)) {
			(*count)++;
		} else if (r == 0) {
			*err = res[i].err;
			r = -1;
		}
	}
	return r;
}

static int no_memory(struct fault *err)
{
	return fault_no_memory(err);
}

/*
 * Re-points every collected forwarding at addr (its target, or its
 * external side): all submitted at once, so the group commit carries them
 * in as few transactions as it can (one fsync, one nft batch per 256).
 */
static int move_all(struct agent *a, struct fwd_list *l, const struct addr *addr, bool external,
        unsigned int *count, struct fault *err)
{
	struct forwarding *next = calloc(l->n ? l->n : 1, sizeof(*next));
	struct op_result *res = calloc(l->n ? l->n : 1, sizeof(*res));
	struct fwd_list cuts;
	int r;

	if (next == NULL || res == NULL) {
		free(next);
		free(res);
		return no_memory(err);
	}
	engine_bulk_begin(&a->engine, &cuts);
	for (size_t i = 0; i < l->n; i++) {
		next[i] = l->v[i];
		if (external)
			next[i].external_addr = *addr;
		else
			next[i].internal_addr = *addr;
		engine_submit_update(&a->engine, &next[i], on_done, &res[i]);
	}
	engine_flush(&a->engine);
	engine_bulk_end(&a->engine);
	for (size_t i = 0; i < l->n; i++)
		if (!res[i].failed)
			audit_log("monitor-retarget", "control", NULL, &next[i], &l->v[i]);
	r = tally(res, l->n, false, count, err);
	free(next);
	free(res);
	return r;
}

int reports_port_deleted(
        struct agent *a, const char *port_id, unsigned int *count, struct fault *err)
{
	struct fwd_list l = {0}, cuts;
	struct op_result *res;
	char *cause = NULL;
	int r;

	*count = 0;
	if ((r = store_foreach_port_id(a->store, port_id, fwd_list_add, &l, &cause)) < 0) {
		fwd_list_free(&l);
		return read_error(err, r, cause);
	}
	if ((res = calloc(l.n ? l.n : 1, sizeof(*res))) == NULL) {
		fwd_list_free(&l);
		return no_memory(err);
	}
	engine_bulk_begin(&a->engine, &cuts);
	for (size_t i = 0; i < l.n; i++)
		engine_submit_delete(&a->engine, l.v[i].id, on_done, &res[i]);
	engine_flush(&a->engine);
	engine_bulk_end(&a->engine);
	for (size_t i = 0; i < l.n; i++)
		if (!res[i].failed)
			audit_log("monitor-delete", "control", NULL, &l.v[i], NULL);
	/* One already gone (deleted meanwhile) is what was asked for. */
	r = tally(res, l.n, true, count, err);
	free(res);
	fwd_list_free(&l);
	return r;
}

int reports_port_address_changed(struct agent *a, const char *port_id, const struct addr *old_ip,
        const struct addr *new_ip, unsigned int *count, struct fault *err)
{
	struct matches m = {.internal = old_ip};
	char *cause = NULL;
	int r;

	*count = 0;
	if (old_ip->family != new_ip->family)
		return fault_set(
		        err, -EINVAL, FAULT_REQUEST, "old_ip and new_ip are of different families");
	if ((r = store_foreach_port_id(a->store, port_id, keep, &m, &cause)) < 0) {
		fwd_list_free(&m.list);
		return read_error(err, r, cause);
	}
	r = move_all(a, &m.list, new_ip, false, count, err);
	fwd_list_free(&m.list);
	return r;
}

int reports_router_deleted(
        struct agent *a, const char *router_id, unsigned int *count, struct fault *err)
{
	struct fwd_list l = {0};
	char *cause = NULL;
	int r;

	routers_forget(a->routers, router_id);
	/* Read first for the audit trail: the deletion is one transaction. */
	if ((r = store_foreach_router(a->store, router_id, fwd_list_add, &l, &cause)) < 0) {
		fwd_list_free(&l);
		*count = 0;
		return read_error(err, r, cause);
	}
	if ((r = engine_delete_router(&a->engine, router_id, count, err)) == 0)
		for (size_t i = 0; i < l.n; i++)
			audit_log("monitor-delete", "control", NULL, &l.v[i], NULL);
	fwd_list_free(&l);
	return r;
}

int reports_gateway_changed(struct agent *a, const char *router_id, const struct addr *new_ip,
        unsigned int *count, struct fault *err)
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

static int count_active(const struct forwarding *f, void *arg)
{
	unsigned int *n = arg;

	*n += f->status == FWD_STATUS_ACTIVE;
	return 0;
}

static int count_all(const struct forwarding *f, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

int reports_resync(struct agent *a, const char *router_id, unsigned int *count, struct fault *err)
{
	unsigned int n = 0;
	char *cause = NULL;
	int r;

	*count = 0;
	if (router_id == NULL) {
		if (restore_all(a) < 0)
			return fault_set(err, -EIO, FAULT_RESYNC,
			        "the resync of every router failed: see the agent's log");
		/* Those now in a kernel table: what the resync wrote. */
		if ((r = store_foreach_all(a->store, count_active, count, &cause)) < 0)
			return read_error(err, r, cause);
		return 0;
	}
	if (!kernel_router_present(a->kernel, router_id))
		return fault_set(err, -ENOENT, FAULT_ROUTER,
		        "router %s has no namespace on this node", router_id);
	if ((r = store_foreach_router(a->store, router_id, count_all, &n, &cause)) < 0)
		return read_error(err, r, cause);
	/* Asked by hand: a repair, removing what is not ours too. */
	if (engine_repair_router(&a->engine, router_id, err) < 0)
		return -1;
	*count = n;
	return 0;
}

/* Reads the router's table and compares it with l: 0 same, 1 drift (*cause how), -1 err. */
static int compare_router(struct agent *a, const char *router_id, const struct fwd_list *l,
        char **cause, struct fault *err)
{
	struct nft_state st;
	int r;

	if ((r = kernel_read(a->kernel, router_id, &st, cause)) < 0) {
		fault_set(err, r, FAULT_TABLE, "cannot read the table of router %s: %s", router_id,
		        *cause ? *cause : strerror(-r));
		free(*cause);
		*cause = NULL;
		return -1;
	}
	r = nft_compare(&st, kernel_nft_opts(a->kernel), l->v, l->n, cause);
	nft_state_free(&st);
	if (r < 0) {
		fault_set(err, r, FAULT_TABLE, "cannot compare the table of router %s: %s",
		        router_id, *cause ? *cause : strerror(-r));
		free(*cause);
		*cause = NULL;
		return -1;
	}
	return r;
}

int reports_verify(struct agent *a, const char *router_id, char **drift, unsigned int *count,
        struct fault *err)
{
	struct fwd_list l = {0};
	char *cause = NULL;
	int r;

	*drift = NULL;
	*count = 0;
	if (!kernel_router_present(a->kernel, router_id))
		return fault_set(err, -ENOENT, FAULT_ROUTER,
		        "router %s has no namespace on this node", router_id);
	if ((r = store_foreach_router(a->store, router_id, fwd_list_add, &l, &cause)) < 0) {
		fwd_list_free(&l);
		return read_error(err, r, cause);
	}
	if ((r = compare_router(a, router_id, &l, &cause, err)) <= 0) {
		fwd_list_free(&l);
		return r;
	}
	*drift = cause ? cause : strdup("?");
	cause = NULL;
	if ((r = engine_repair_router(&a->engine, router_id, err)) == 0) {
		*count = (unsigned int)l.n;
		/*
		 * A difference that a rewrite does not remove is ours: a read-back
		 * that does not match what this kernel dumps. Say so, loudly, rather
		 * than rewrite the table every period in silence.
		 */
		if (compare_router(a, router_id, &l, &cause, err) == 1)
			log_warnx("The table of router %s still differs after a rewrite (%s): "
			          "PRaaS's read-back does not match this kernel; please report it",
			        router_id, cause ? cause : "?");
		free(cause);
	}
	fwd_list_free(&l);
	return r;
}
