/*
 * Every FOLLOW_PERIOD_MS the agent reads the routers whose revision
 * changed lately (store_changed_routers: one indexed query; an idle agent
 * reads nothing else, however many forwardings there are) and rebuilds
 * the table of each router that is on this node and whose revision it has
 * not seen yet. Its own changes come back too, and are applied again: the
 * rebuild writes the router's whole table from the database, so doing it
 * twice changes nothing.
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
#include "kernel.h"
#include "log.h"
#include "restore.h"
#include "store.h"

#define FOLLOW_PERIOD_MS 400
#define FOLLOW_MARGIN_US 5000000
#define FOLLOW_BATCH     1000 /* store_changed_routers' most per read */

struct seen {
	uint64_t revision;
	char router_id[]; /* the tree's key */
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
	uint64_t polls, rebuilt;
	bool failing; /* the last read failed: said once, not every period */
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

/* Whether revision is new for router_id; records it. -ENOMEM if it cannot. */
static int is_new(struct follow *fl, const struct changed *c)
{
	size_t len = strlen(c->router_id) + 1;
	struct seen *key = malloc(sizeof(*key) + len), **found;

	if (key == NULL)
		return -ENOMEM;
	memcpy(key->router_id, c->router_id, len);
	key->revision = c->revision;
	if ((found = tsearch(key, &fl->seen, by_router)) == NULL) {
		free(key);
		return -ENOMEM;
	}
	if (*found == key)
		return 1;
	free(key);
	if ((*found)->revision == c->revision)
		return 0;
	(*found)->revision = c->revision;
	return 1;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct follow *fl = arg;
	struct agent *a = fl->a;
	char *cause = NULL;
	int r;

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
	for (size_t i = 0; i < fl->n; i++) {
		if ((r = is_new(fl, &fl->batch[i])) <= 0)
			continue;
		if (!kernel_router_present(a->kernel, fl->batch[i].router_id))
			continue;
		log_debug("follow: router %s at revision %llu: rebuilding", fl->batch[i].router_id,
		        (unsigned long long)fl->batch[i].revision);
		restore_router(a, fl->batch[i].router_id);
		fl->rebuilt++;
	}
}

int follow_start(struct agent *a, struct follow **out)
{
	const struct timeval period = {0, FOLLOW_PERIOD_MS * 1000};
	struct follow *fl;
	char *cause = NULL;
	int64_t now_us;
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
	fl->newest_us = now_us; /* restore_all() applied everything before */
	fl->timer = event_new(a->base, -1, EV_PERSIST, tick, fl);
	if (fl->timer == NULL || event_add(fl->timer, &period) < 0) {
		follow_free(fl);
		return -ENOMEM;
	}
	*out = fl;
	return 0;
}

void follow_free(struct follow *fl)
{
	if (fl == NULL)
		return;
	if (fl->timer)
		event_free(fl->timer);
	tdestroy(fl->seen, free);
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

int64_t follow_applied_us(const struct follow *fl)
{
	return fl ? fl->newest_us : 0;
}
