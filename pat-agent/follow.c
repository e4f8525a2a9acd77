/*
 * Every FOLLOW_PERIOD_MS the agent reads the routers whose revision
 * changed lately (store_changed_routers: one indexed query; an idle agent
 * reads nothing else, however many forwardings there are). For each
 * router on this node whose revision it has not seen yet, it reads the
 * router's change log from the last change it applied (its anchor) and
 * applies the other agents' changes as element deletes and adds in one nft
 * batch: the cost of the changes, not of the table. Its own changes it
 * skips: it applied them before answering.
 *
 * At start each router's newest logged change is read (one query, before
 * the read copy is filled and the routers are restored): a router
 * restored then, and every router in the read copy, is anchored there, so
 * its first change after the start costs that change, not the table.
 *
 * The whole table is rebuilt from the database instead when the agent
 * has no anchor for the router (one restored after the start, its first
 * change after its namespace went away, none logged at start), when its
 * anchor was trimmed from the log (a gap),
 * when more than FOLLOW_CHANGES_MAX changes wait (too far behind), or
 * when the kernel refuses the batch. The anchor for a rebuild is read
 * before it, so a change that lands during the rebuild is applied again
 * afterwards (an add changes nothing twice; a delete of what is already
 * gone fails, and rebuilds).
 *
 * A bump is visible only once its transaction commits, a moment after its
 * clock reading: each read looks back FOLLOW_MARGIN_US before the newest
 * change seen, and a router is rebuilt once per revision.
 */
#include "follow.h"

#include <errno.h>
#include <event2/event.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "array-grow.h"
#include "kernel.h"
#include "log.h"
#include "nft.h"
#include "readcopy.h"
#include "replicas.h"
#include "restore.h"
#include "stats.h"
#include "store.h"
#include "storeq.h"

#define FOLLOW_PERIOD_MS   500
#define FOLLOW_MARGIN_US   5000000
#define FOLLOW_BATCH       1000 /* store_changed_routers' most per read */
#define FOLLOW_CHANGES_MAX 2048 /* more waiting for one router: rebuild it */

struct seen {
	uint64_t revision;
	uint64_t anchor;  /* revision of the last logged change applied; 0: none */
	char router_id[]; /* the tree's key */
};

/* One router's changes read from its log, and the batch they make. */
struct pending {
	uint64_t anchor;
	bool anchored; /* the anchor's own row was there: nothing trimmed */
	struct store_change *v;
	size_t n, cap;
	struct nft_change *batch;
	size_t batch_cap;
};

struct changed {
	char router_id[FWD_NAME_MAX + 1];
	uint64_t revision;
};

struct follow {
	struct agent *a;
	struct event *timer;
	void *seen; /* tsearch tree of struct seen */
	int64_t newest_us;
	struct changed batch[FOLLOW_BATCH];
	size_t n;
	struct pending p;
	struct changed *start; /* each router's newest logged change at start, by id; till a tick */
	size_t start_n, start_cap;
	uint64_t polls, rebuilt, applied;
	bool failing; /* the last read failed: said once, not every period */
	bool queued;  /* a poll is in the store gate: the next tick does not pile another */
};

static int by_router(const void *x, const void *y)
{
	return strcmp(((const struct seen *)x)->router_id, ((const struct seen *)y)->router_id);
}

static int collect(const char *router_id, uint64_t revision, int64_t changed_us, void *arg)
{
	struct follow *fl = arg;

	if (changed_us > fl->newest_us)
		fl->newest_us = changed_us;
	if (fl->n == FOLLOW_BATCH)
		return 0;
	snprintf(fl->batch[fl->n].router_id, sizeof(fl->batch[fl->n].router_id), "%s", router_id);
	fl->batch[fl->n++].revision = revision;
	return 0;
}

/*
 * The router's entry when revision is new for it (recorded), NULL when it
 * was seen or memory ran out (a missed revision: the next one catches up).
 */
static struct seen *is_new(struct follow *fl, const struct changed *c)
{
	size_t len = strlen(c->router_id) + 1;
	struct seen *key = calloc(1, sizeof(*key) + len), **found;

	if (key == NULL)
		return NULL;
	memcpy(key->router_id, c->router_id, len);
	key->revision = c->revision;
	if ((found = tsearch(key, &fl->seen, by_router)) == NULL) {
		free(key);
		return NULL;
	}
	if (*found == key)
		return key;
	free(key);
	if ((*found)->revision == c->revision)
		return NULL;
	(*found)->revision = c->revision;
	return *found;
}

/* Rebuilds the router's table, anchored at the log's newest change read first. */
static void rebuild(struct follow *fl, struct seen *sn)
{
	char *cause = NULL;

	if (store_router_last_change(fl->a->store, sn->router_id, &sn->anchor, &cause) < 0) {
		log_warnx("follow: router %s: %s", sn->router_id, cause ? cause : "?");
		free(cause);
		sn->anchor = 0;
	}
	log_debug("follow: router %s at revision %llu: rebuilding", sn->router_id,
	        (unsigned long long)sn->revision);
	if (restore_router(fl->a, sn->router_id) < 0)
		sn->anchor = 0; /* refused: the router's next change rebuilds it again */
	fl->rebuilt++;
	stats_follow(fl->a->stats, true, 0);
}

static int keep_change(const struct store_change *c, void *arg)
{
	struct pending *p = arg;
	struct store_change *v;

	if (c->revision == p->anchor) {
		p->anchored = true;
		return 0;
	}
	if ((v = array_grow(p->v, &p->cap, p->n, sizeof(*v), 64)) == NULL)
		return -ENOMEM;
	p->v = v;
	p->v[p->n++] = *c;
	return 0;
}

/* The other agents' changes in p as one batch; whether one was added DOWN. */
static int batch_build(struct pending *p, size_t *n, bool *down)
{
	struct nft_change *b;

	*n = 0;
	*down = false;
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].mine)
			continue;
		if ((b = array_grow(p->batch, &p->batch_cap, *n, sizeof(*b), 64)) == NULL)
			return -ENOMEM;
		p->batch = b;
		b[*n].del = p->v[i].added ? NULL : &p->v[i].f;
		b[*n].add = p->v[i].added ? &p->v[i].f : NULL;
		*down |= p->v[i].added && p->v[i].f.status != FWD_STATUS_ACTIVE;
		(*n)++;
	}
	return 0;
}

/* Applies p's batch to the router; false when only a rebuild will do. */
static bool apply(struct follow *fl, struct seen *sn)
{
	struct agent *a = fl->a;
	struct pending *p = &fl->p;
	char *cause = NULL;
	size_t n;
	bool down;
	int r;

	if ((r = batch_build(p, &n, &down)) < 0)
		return false;
	if (n > 0 && (r = kernel_change_many(a->kernel, sn->router_id, p->batch, n, &cause)) < 0) {
		log_info("follow: router %s: the kernel refused %zu change%s (%s): rebuilding",
		        sn->router_id, n, n == 1 ? "" : "s", cause ? cause : strerror(-r));
		free(cause);
		return false;
	}
	/* Added by an agent whose node does not host it: programmed here, so ACTIVE. */
	if (down &&
	        store_set_router_status(a->store, sn->router_id, FWD_STATUS_ACTIVE, &cause) < 0) {
		log_warnx("follow: router %s: %s", sn->router_id, cause ? cause : "?");
		free(cause);
	}
	if (p->n > 0)
		sn->anchor = p->v[p->n - 1].revision;
	/*
	 * Once per router and poll that read changes, its own included: its own
	 * write moved its replica only if it was up to date then, and a write
	 * refused for a conflict bumps the revision with nothing logged.
	 */
	if (p->n > 0)
		replicas_followed(
		        a, sn->router_id, sn->anchor > sn->revision ? sn->anchor : sn->revision);
	fl->applied += n;
	stats_follow(a->stats, false, n);
	return true;
}

/* Brings one changed router of this node up to date: its log, else a rebuild. */
static void follow_router(struct follow *fl, struct seen *sn)
{
	struct pending *p = &fl->p;
	char *cause = NULL;
	int r;

	if (sn->anchor == 0) {
		rebuild(fl, sn);
		return;
	}
	p->anchor = sn->anchor;
	p->anchored = false;
	p->n = 0;
	r = store_router_changes(fl->a->store, sn->router_id, sn->anchor, FOLLOW_CHANGES_MAX + 1,
	        keep_change, p, &cause);
	if (r < 0) {
		log_warnx("follow: router %s: %s", sn->router_id, cause ? cause : strerror(-r));
		free(cause);
		sn->revision = 0; /* seen again next time */
		return;
	}
	if (!p->anchored || p->n >= FOLLOW_CHANGES_MAX || !apply(fl, sn))
		rebuild(fl, sn);
}

static void tick_run(void *arg)
{
	struct follow *fl = arg;
	struct agent *a = fl->a;
	char *cause = NULL;
	bool ok = true;
	int r;

	/* The start's restores are over: their anchors are in fl->seen. */
	free(fl->start);
	fl->start = NULL;
	fl->start_n = fl->start_cap = 0;
	/* A change of this agent is being carried out: its end is the next tick's. */
	if (store_in_transaction(a->store))
		return;
	fl->n = 0;
	fl->polls++;
	r = store_changed_routers(a->store, fl->newest_us - FOLLOW_MARGIN_US, collect, fl, &cause);
	if (r < 0) {
		if (!fl->failing)
			log_warnx("Failed to read the routers' revisions (again every %d ms, "
			          "quietly): %s",
			        FOLLOW_PERIOD_MS, cause ? cause : strerror(-r));
		fl->failing = true;
		free(cause);
		return;
	}
	if (fl->failing)
		log_info("The routers' revisions are read again");
	fl->failing = false;
	readcopy_poll_begin(a->readcopy);
	for (size_t i = 0; i < fl->n; i++) {
		struct seen *sn = is_new(fl, &fl->batch[i]);

		if (sn == NULL)
			continue;
		if (kernel_router_present(a->kernel, sn->router_id))
			follow_router(fl, sn);
		else
			sn->anchor = 0; /* its namespace's arrival rebuilds it */
		/*
		 * Every router, not only this node's: any agent answers any
		 * tenant's reads. After the kernel's: it waits for nobody.
		 */
		if (readcopy_router(a->readcopy, sn->router_id) < 0) {
			ok = false;
			sn->revision = 0; /* seen again next time */
		}
	}
	readcopy_poll_end(a->readcopy, ok);
}

static void tick_done(void *arg)
{
	struct follow *fl = arg;

	fl->queued = false;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct follow *fl = arg;

	if (fl->queued)
		return;
	fl->queued = true;
	if (storeq_run(fl->a->storeq, tick_run, tick_done, fl) < 0) {
		fl->queued = false;
		log_warnx("Following the other agents: out of memory");
	}
}

static int keep_start(const char *router_id, uint64_t revision, int64_t changed_us, void *arg)
{
	struct follow *fl = arg;
	struct changed *v;

	(void)changed_us;
	if ((v = array_grow(fl->start, &fl->start_cap, fl->start_n, sizeof(*v), 64)) == NULL)
		return -ENOMEM;
	fl->start = v;
	snprintf(v[fl->start_n].router_id, sizeof(v[0].router_id), "%s", router_id);
	v[fl->start_n++].revision = revision;
	return 0;
}

static int by_id(const void *x, const void *y)
{
	return strcmp(
	        ((const struct changed *)x)->router_id, ((const struct changed *)y)->router_id);
}

/*
 * Each router's newest logged change, read before the read copy is filled
 * and the routers restored: the anchors of both (a change landing between
 * is applied again after, as after a rebuild). Without them (out of
 * memory, a failed read) each router's first change rebuilds it, as before.
 */
static void read_start(struct follow *fl)
{
	char *cause = NULL;
	int r;

	if ((r = store_last_changes(fl->a->store, keep_start, fl, &cause)) < 0) {
		log_warnx("follow: the routers' last changes: %s", cause ? cause : strerror(-r));
		free(cause);
		fl->start_n = 0;
		return;
	}
	if (fl->start_n > 0) /* none logged yet: fl->start is NULL, which qsort() may not take */
		qsort(fl->start, fl->start_n, sizeof(*fl->start), by_id);
}

int follow_start(struct agent *a, struct follow **out)
{
	const struct timeval period = {0, FOLLOW_PERIOD_MS * 1000};
	struct follow *fl;
	char *cause = NULL;
	int64_t now_us, copied_us = 0;
	int r;

	*out = NULL;
	if ((r = store_clock(a->store, &now_us, &cause)) == -ENOTSUP) {
		free(cause);
		return 0; /* SQLite: this agent is the only writer */
	}
	if (r < 0) {
		log_warnx("Cannot follow the other agents: %s", cause ? cause : strerror(-r));
		free(cause);
		return r;
	}
	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return -ENOMEM;
	fl->a = a;
	read_start(fl);
	readcopy_open(a, &a->readcopy, &copied_us);
	for (size_t i = 0; i < fl->start_n; i++)
		readcopy_anchor(a->readcopy, fl->start[i].router_id, fl->start[i].revision);
	/*
	 * Read before restore_all() (which tells follow_restored()) and before
	 * the copy: what lands after either is read again at the first tick.
	 */
	fl->newest_us = a->readcopy != NULL && copied_us < now_us ? copied_us : now_us;
	fl->timer = event_new(a->base, -1, EV_PERSIST, tick, fl);
	if (fl->timer == NULL || event_add(fl->timer, &period) < 0) {
		follow_free(fl);
		return -ENOMEM;
	}
	*out = fl;
	return 0;
}

void follow_restored(struct follow *fl, const char *router_id)
{
	struct changed key, *c;
	struct seen *sn;

	if (fl == NULL || fl->start_n == 0 ||
	        snprintf(key.router_id, sizeof(key.router_id), "%s", router_id) >=
	                (int)sizeof(key.router_id))
		return;
	c = bsearch(&key, fl->start, fl->start_n, sizeof(*fl->start), by_id);
	/* Revision 0: the router's next revision is new (its log is read from the anchor). */
	key.revision = 0;
	if (c != NULL && (sn = is_new(fl, &key)) != NULL)
		sn->anchor = c->revision;
}

void follow_free(struct follow *fl)
{
	if (fl == NULL)
		return;
	if (fl->timer)
		event_free(fl->timer);
	tdestroy(fl->seen, free);
	free(fl->start);
	free(fl->p.v);
	free(fl->p.batch);
	free(fl);
}

uint64_t follow_polls(const struct follow *fl)
{
	return fl ? fl->polls : 0;
}

uint64_t follow_rebuilt(const struct follow *fl)
{
	return fl ? fl->rebuilt : 0;
}

uint64_t follow_applied(const struct follow *fl)
{
	return fl ? fl->applied : 0;
}

int64_t follow_applied_us(const struct follow *fl)
{
	return fl ? fl->newest_us : 0;
}
