/*
 * The database's counts and verdicts for /healthz and /metrics (census.h).
 */
#include "census.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "array-grow.h"
#include "cause.h"
#include "engine.h"
#include "kernel.h"
#include "replicas.h"
#include "store.h"
#include "storeq.h"

/* A look at one connection, behind its gate; at most one queued. */
struct look {
	struct census *c;
	bool writes; /* a->store through a->storeq; else a->reads through a->readq */
	bool queued;
};

struct census {
	struct agent *a;
	bool queued;
	struct look reads, writes;
	int64_t counted_at_ms; /* when the last good count began (monotonic); -1: never */
	struct census_counts last;
};

/* ---- one node: the stored status ---- */

/* The DOWN ones by reason: one namespace check per run of a router. */
struct reasons {
	struct kernel *kernel;
	char router[FWD_NAME_MAX + 1];
	enum fwd_reason last;
	struct census_counts *c;
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

/*
 * Two counts, not a read of every forwarding (80 ms at 100,000); the
 * reasons only while some are DOWN.
 */
static int take_local(struct agent *a, struct store *store, struct census_counts *c, char **cause)
{
	struct reasons rs = {.kernel = a->kernel, .c = c};
	size_t down;
	int r;

	if ((r = store_count(store, NULL, &c->all, cause)) < 0 ||
	        (r = store_count_status(store, FWD_STATUS_DOWN, &down, cause)) < 0)
		return r;
	c->status[FWD_STATUS_ACTIVE] = c->all - down;
	c->status[FWD_STATUS_DOWN] = down;
	if (down > 0 && (r = store_foreach_all(store, count_reason, &rs, cause)) < 0)
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
	struct census_counts *c;
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

static int take_shared(struct agent *a, struct store *store, struct census_counts *c, char **cause)
{
	struct routers_read rr = {0};
	struct each e = {.c = c, .cause = cause};
	enum fwd_status all;
	int r;

	if ((r = store_foreach_router_count(store, add_router, &rr, cause)) < 0)
		goto out;
	if ((e.view = replicas_view_new(a, store)) == NULL) {
		r = cause_set(cause, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rr.n && r == 0; i++) {
		c->all += rr.v[i].n;
		if ((r = replicas_alike(e.view, rr.v[i].id, &all, cause)) < 0)
			break;
		if (r == 1) {
			c->status[all] += rr.v[i].n;
			if (all == FWD_STATUS_DOWN)
				c->reason[FWD_REASON_NAMESPACE_ABSENT] += rr.v[i].n;
			r = 0;
		} else {
			r = store_foreach_router(store, rr.v[i].id, count_shown, &e, cause);
		}
	}
out:
	replicas_view_free(e.view);
	free(rr.v);
	return r;
}

/* ---- the count and the probe, behind the gates ---- */

/* Now, monotonic, in milliseconds; -1 if the clock cannot be read (then every ask counts). */
static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void census_run(void *arg)
{
	struct census *c = arg;
	struct agent *a = c->a;
	struct census_counts n = {0};
	int64_t began = now_ms();
	char *cause = NULL;
	int r;

	r = store_is_shared(a->reads) ? take_shared(a, a->reads, &n, &cause)
	                              : take_local(a, a->reads, &n, &cause);
	if (r < 0) {
		c->last.r = r;
		snprintf(c->last.error, sizeof(c->last.error), "%s", cause ? cause : strerror(-r));
		free(cause);
		c->counted_at_ms = -1;
		return;
	}
	/* Field by field: the looks (look_run) may have ended while this one waited. */
	c->last.r = 0;
	c->last.all = n.all;
	memcpy(c->last.status, n.status, sizeof(n.status));
	memcpy(c->last.reason, n.reason, sizeof(n.reason));
	c->last.counted++;
	c->counted_at_ms = began;
}

static void census_done(void *arg)
{
	struct census *c = arg;

	c->queued = false;
}

/*
 * Each connection answers (MariaDB: the count may be minutes old, and the
 * reads and the writes each have their own): a clock read, or while
 * writes fail a real write (engine_write_check), so the verdict clears
 * once the cause is gone. SQLite: no statement.
 */
static void look_run(void *arg)
{
	struct look *l = arg;
	struct agent *a = l->c->a;
	struct census_look *out = l->writes ? &l->c->last.writes : &l->c->last.reads;
	char *cause = NULL;
	int64_t now_us;
	int r;

	if (l->writes && a->engine.write_failing) {
		(void)engine_write_check(&a->engine);
		return;
	}
	if ((r = store_clock(l->writes ? a->store : a->reads, &now_us, &cause)) == -ENOTSUP)
		r = 0;
	out->r = r;
	if (r < 0)
		snprintf(out->error, sizeof(out->error), "%s", cause ? cause : strerror(-r));
	free(cause);
}

static void look_done(void *arg)
{
	struct look *l = arg;

	l->queued = false;
}

static void look(struct look *l)
{
	if (l->queued)
		return;
	l->queued = true;
	if (storeq_run(l->writes ? l->c->a->storeq : l->c->a->readq, look_run, look_done, l) < 0)
		l->queued = false;
}

/* A good count younger than CENSUS_MAX_AGE_MS stands on a shared database. */
static bool count_due(const struct census *c)
{
	int64_t now;

	if (c->counted_at_ms < 0 || !store_is_shared(c->a->reads))
		return true;
	now = now_ms();
	return now < 0 || now - c->counted_at_ms >= CENSUS_MAX_AGE_MS;
}

/*
 * A connection that gave the database up fails every statement at once
 * until it connects again (store_unreachable): said now, not at the next
 * ask, and the last count no longer stands.
 */
static void mark_unreachable(
        struct census *c, struct store *store, int *r, char *error, size_t size)
{
	if (!store_unreachable(store))
		return;
	*r = -ENOTCONN;
	snprintf(error, size,
	        "the database does not answer (given up after database_timeout; "
	        "a new connection is tried in the background)");
	c->counted_at_ms = -1;
}

void census_probe(struct census *c)
{
	mark_unreachable(c, c->a->store, &c->last.writes.r, c->last.writes.error,
	        sizeof(c->last.writes.error));
	look(&c->reads);
	look(&c->writes);
}

void census_refresh(struct census *c)
{
	mark_unreachable(c, c->a->reads, &c->last.r, c->last.error, sizeof(c->last.error));
	if (c->queued || !count_due(c))
		return;
	c->queued = true;
	if (storeq_run(c->a->readq, census_run, census_done, c) < 0) {
		c->queued = false;
		c->last.r = -ENOMEM;
		snprintf(c->last.error, sizeof(c->last.error), "out of memory");
	}
}

const struct census_counts *census_last(const struct census *c)
{
	return &c->last;
}

int census_new(struct agent *a, struct census **out)
{
	struct census *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->a = a;
	c->counted_at_ms = -1;
	c->reads = (struct look){.c = c};
	c->writes = (struct look){.c = c, .writes = true};
	census_probe(c);
	census_refresh(c);
	*out = c;
	return 0;
}

void census_free(struct census *c)
{
	free(c);
}
