#include "replicas.h"

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "array-grow.h"
#include "heartbeat.h"
#include "kernel.h"
#include "log.h"
#include "store.h"

/* ---- written: this node's rows ---- */

int replicas_own(struct store *s, struct kernel *k, const char *router_id, char **cause)
{
	char ns[FWD_NAME_MAX + 16];

	if (!store_is_shared(s) || kernel_namespace(k, router_id, ns, sizeof(ns)) < 0)
		return 0;
	return store_replica_own(s, router_id, kernel_host(k), ns, cause);
}

uint64_t replicas_before(struct agent *a, const char *router_id)
{
	uint64_t revision = 0;
	char *cause = NULL;

	if (store_is_shared(a->store) &&
	        store_router_revision(a->store, router_id, &revision, &cause) < 0) {
		log_warnx("Router %s: %s", router_id, cause ? cause : "?");
		free(cause);
	}
	return revision;
}

/* Logs a failed write once per call: the next change or rebuild writes the row again. */
static void said(const char *router_id, int r, char *cause)
{
	if (r < 0)
		log_warnx("Router %s: this node's replica state: %s", router_id,
		        cause ? cause : strerror(-r));
	free(cause);
}

void replicas_rebuilt(
        struct agent *a, const char *router_id, uint64_t revision, const char *refused)
{
	char ns[FWD_NAME_MAX + 16], *cause = NULL;
	const char *host = kernel_host(a->kernel);
	int r;

	if (!store_is_shared(a->store))
		return;
	if (kernel_namespace(a->kernel, router_id, ns, sizeof(ns)) < 0) {
		replicas_gone(a, router_id);
		return;
	}
	if (refused == NULL)
		r = store_replica_applied(a->store, router_id, host, ns, revision, &cause);
	else
		r = store_replica_refused(a->store, router_id, host, ns, revision, refused, &cause);
	said(router_id, r, cause);
}

void replicas_followed(struct agent *a, const char *router_id, uint64_t revision)
{
	replicas_rebuilt(a, router_id, revision, NULL);
}

void replicas_gone(struct agent *a, const char *router_id)
{
	char *cause = NULL;

	if (store_is_shared(a->store))
		said(router_id ? router_id : "*",
		        store_replica_drop(a->store, router_id, kernel_host(a->kernel), &cause),
		        cause);
}

/* ---- read: status at an answer ---- */

struct router_rows {
	uint64_t revision;       /* the router's now */
	struct store_replica *v; /* its live replicas */
	size_t n, cap;
	char router_id[]; /* the tree's key */
};

struct replicas_view {
	struct agent *a;
	struct store *store;    /* what it reads: the caller's connection */
	void *routers;          /* tsearch tree of struct router_rows: one read per router */
	struct fwd_host *hosts; /* the last shown forwarding's */
	size_t hosts_cap;
	bool local; /* the database away: see show_local() */
};

static int by_router(const void *x, const void *y)
{
	return strcmp(((const struct router_rows *)x)->router_id,
	        ((const struct router_rows *)y)->router_id);
}

static void rows_free(void *p)
{
	struct router_rows *rr = p;

	free(rr->v);
	free(rr);
}

struct replicas_view *replicas_view_new(struct agent *a, struct store *store)
{
	struct replicas_view *v = calloc(1, sizeof(*v));

	if (v != NULL) {
		v->a = a;
		v->store = store;
	}
	return v;
}

void replicas_view_free(struct replicas_view *v)
{
	if (v == NULL)
		return;
	tdestroy(v->routers, rows_free);
	free(v->hosts);
	free(v);
}

/* Keeps the replicas of live agents only: a dead one's row says nothing now. */
static int keep_live(const struct store_replica *rp, void *arg)
{
	struct router_rows *rr = arg;
	struct store_replica *grown;

	if (!heartbeat_alive(rp->age_us))
		return 0;
	if ((grown = array_grow(rr->v, &rr->cap, rr->n, sizeof(*grown), 4)) == NULL)
		return -ENOMEM;
	rr->v = grown;
	rr->v[rr->n++] = *rp;
	return 0;
}

/* The router's live replicas: read once per view. */
static int rows_of(
        struct replicas_view *v, const char *router_id, struct router_rows **out, char **cause)
{
	size_t len = strlen(router_id) + 1;
	struct router_rows *rr = calloc(1, sizeof(*rr) + len), **found;
	int r;

	if (rr == NULL)
		return -ENOMEM;
	memcpy(rr->router_id, router_id, len);
	if ((found = tfind(rr, &v->routers, by_router)) != NULL) {
		free(rr);
		*out = *found;
		return 0;
	}
	r = store_foreach_replica(v->store, router_id, &rr->revision, keep_live, rr, cause);
	if (r < 0 || tsearch(rr, &v->routers, by_router) == NULL) {
		rows_free(rr);
		return r < 0 ? r : -ENOMEM;
	}
	*out = rr;
	return 0;
}

/* One replica's state of a forwarding last written at revision. */
static enum fwd_status replica_status(const struct store_replica *rp, uint64_t revision)
{
	if (rp->applied >= revision)
		return FWD_STATUS_ACTIVE;
	return rp->failed >= revision ? FWD_STATUS_ERROR : FWD_STATUS_BUILD;
}

/* ERROR over BUILD over ACTIVE: the worst replica is the forwarding's. */
static enum fwd_status worse(enum fwd_status a, enum fwd_status b)
{
	if (a == FWD_STATUS_ERROR || b == FWD_STATUS_ERROR)
		return FWD_STATUS_ERROR;
	return a == FWD_STATUS_BUILD || b == FWD_STATUS_BUILD ? FWD_STATUS_BUILD
	                                                      : FWD_STATUS_ACTIVE;
}

static int show_shared(struct replicas_view *v, struct forwarding *f, char **cause)
{
	struct router_rows *rr;
	struct fwd_host *h;
	/* Not read back after this agent's own write: the router's revision is at least it. */
	uint64_t revision;
	int r;

	if ((r = rows_of(v, f->router_id, &rr, cause)) < 0)
		return r;
	revision = f->revision != 0 ? f->revision : rr->revision;
	do { /* room for rr->n: doubled until it fits */
		if ((h = array_grow(v->hosts, &v->hosts_cap, rr->n, sizeof(*h), 4)) == NULL)
			return -ENOMEM;
		v->hosts = h;
	} while (v->hosts_cap < rr->n);
	f->status = rr->n > 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	for (size_t i = 0; i < rr->n; i++) {
		snprintf(h[i].host, sizeof(h[i].host), "%s", rr->v[i].host);
		snprintf(h[i].ns, sizeof(h[i].ns), "%s", rr->v[i].ns);
		h[i].status = replica_status(&rr->v[i], revision);
		h[i].error = h[i].status == FWD_STATUS_ERROR ? rr->v[i].error : NULL;
		f->status = worse(f->status, h[i].status);
	}
	f->hosts = h;
	f->n_hosts = rr->n;
	f->status_reason = f->status == FWD_STATUS_DOWN ? FWD_REASON_NAMESPACE_ABSENT
	        : f->status == FWD_STATUS_ERROR         ? FWD_REASON_KERNEL_REFUSED
	        : f->status == FWD_STATUS_BUILD         ? FWD_REASON_APPLYING
	                                                : FWD_REASON_NONE;
	return 0;
}

int replicas_alike(
        struct replicas_view *v, const char *router_id, enum fwd_status *status, char **cause)
{
	struct router_rows *rr;
	int r;

	if ((r = rows_of(v, router_id, &rr, cause)) < 0)
		return r;
	for (size_t i = 0; i < rr->n; i++)
		if (replica_status(&rr->v[i], rr->revision) != FWD_STATUS_ACTIVE)
			return 0;
	*status = rr->n > 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	return 1;
}

void replicas_view_local(struct replicas_view *v)
{
	v->local = true;
}

/*
 * The database away (a read copy answering): what this node knows. A
 * router it hosts is ACTIVE here (its table is the one this agent keeps
 * from the same changes); another's forwarding keeps the status last
 * stored with it. Other nodes' replicas cannot be read: hosts lists this
 * node's only.
 */
static void show_local(struct replicas_view *v, struct forwarding *f)
{
	if (kernel_router_present(v->a->kernel, f->router_id))
		f->status = FWD_STATUS_ACTIVE;
	kernel_explain(v->a->kernel, f);
	kernel_hosts(v->a->kernel, f);
}

int replicas_show(struct replicas_view *v, struct forwarding *shown, char **cause)
{
	if (v->local) {
		show_local(v, shown);
		return 0;
	}
	if (store_is_shared(v->a->store))
		return show_shared(v, shown, cause);
	kernel_explain(v->a->kernel, shown);
	kernel_hosts(v->a->kernel, shown);
	return 0;
}
