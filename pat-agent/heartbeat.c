#include "heartbeat.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "follow.h"
#include "gateway-ns.h"
#include "kernel.h"
#include "log.h"
#include "praas-build.h"
#include "store.h"
#include "storeq.h"

struct heartbeat {
	struct agent *a;
	struct event *timer;
	struct store_agent row;
	bool failing; /* the last write failed: said once, not every period */
	bool queued;  /* a beat is in the store gate: a later period does not pile another */
};

/*
 * The routers whose gateway namespace is on this node: a DVR router on a
 * dvr_snat node has both qrouter- and snat-, and counts once.
 */
static uint32_t count_routers(const struct agent *a)
{
	const char *prefix = a->cfg.namespace_prefix, *id;
	char other[FWD_NAME_MAX + 16];
	uint32_t n = 0;
	struct dirent *e;
	DIR *d;

	if ((d = opendir(a->cfg.netns_dir)) == NULL)
		return 0; /* no netns_dir yet: no router here */
	while ((e = readdir(d)) != NULL) {
		if ((id = gateway_ns_router(prefix, e->d_name)) == NULL)
			continue;
		if (strncmp(e->d_name, "snat-", 5) == 0 && strcmp(prefix, "snat-") != 0) {
			snprintf(other, sizeof(other), "%s%s", prefix, id);
			if (faccessat(dirfd(d), other, F_OK, 0) == 0)
				continue;
		}
		n++;
	}
	closedir(d);
	return n;
}

static void beat_run(void *arg)
{
	struct heartbeat *hb = arg;
	char *cause = NULL;
	int r;

	/* A change of this agent is being carried out: the next period's. */
	if (store_in_transaction(hb->a->store))
		return;
	hb->row.routers = count_routers(hb->a);
	hb->row.applied_us = follow_applied_us(hb->a->follow);
	if ((r = store_agent_beat(hb->a->store, &hb->row, &cause)) < 0) {
		if (!hb->failing)
			log_warnx("Failed to write this agent's heartbeat (again every %d ms, "
			          "quietly): %s",
			        HEARTBEAT_PERIOD_MS, cause ? cause : strerror(-r));
		hb->failing = true;
		free(cause);
		return;
	}
	if (hb->failing)
		log_info("This agent's heartbeat is written again");
	hb->failing = false;
}

static void beat_done(void *arg)
{
	struct heartbeat *hb = arg;

	hb->queued = false;
}

static void beat(evutil_socket_t fd, short what, void *arg)
{
	struct heartbeat *hb = arg;

	(void)fd;
	(void)what;
	if (hb->queued)
		return;
	hb->queued = true;
	if (storeq_run(hb->a->storeq, beat_run, beat_done, hb) < 0) {
		hb->queued = false;
		log_warnx("This agent's heartbeat: out of memory");
	}
}

int heartbeat_start(struct agent *a, struct heartbeat **out)
{
	const struct timeval period = {
	        HEARTBEAT_PERIOD_MS / 1000, HEARTBEAT_PERIOD_MS % 1000 * 1000};
	struct heartbeat *hb;
	char *cause = NULL;
	int r;

	*out = NULL;
	if ((hb = calloc(1, sizeof(*hb))) == NULL)
		return -ENOMEM;
	hb->a = a;
	snprintf(hb->row.host, sizeof(hb->row.host), "%s", kernel_host(a->kernel));
	snprintf(hb->row.version, sizeof(hb->row.version), "%s", PRAAS_VERSION);
	if ((r = store_clock(a->store, &hb->row.started_us, &cause)) == -ENOTSUP) {
		struct timespec ts;

		(void)clock_gettime(
		        CLOCK_REALTIME, &ts); /* SQLite: this node's clock is the database's */
		hb->row.started_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		r = 0;
	}
	free(cause);
	hb->timer = event_new(a->base, -1, EV_PERSIST, beat, hb);
	if (r < 0 || hb->timer == NULL || event_add(hb->timer, &period) < 0) {
		heartbeat_free(hb);
		return r < 0 ? r : -ENOMEM;
	}
	beat(-1, 0, hb);
	*out = hb;
	return 0;
}

void heartbeat_free(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	if (hb->timer)
		event_free(hb->timer);
	free(hb);
}

bool heartbeat_alive(int64_t age_us)
{
	return age_us <= (int64_t)HEARTBEAT_DEAD_MS * 1000;
}
