#include "gateways.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "ifaddr.h"
#include "kernel.h"
#include "log.h"
#include "reports.h"
#include "router-addrs.h"
#include "store.h"
#include "storeq.h"

struct gateways {
	struct agent *a;
	struct event *timer;
	/* Where the walk resumes: the last pair looked at ("", "": the start). */
	char after_router[FWD_NAME_MAX + 1];
	char after_ext[ADDR_STRLEN];
	bool queued; /* a tick is in the store gate: the next does not pile another */
};

/* The interfaces of the router read last in this tick, reused for its other pair. */
struct seen {
	char router_id[FWD_NAME_MAX + 1];
	struct iface_addr *ifs;
	size_t n;
	int error; /* < 0: unreadable (absent, or being torn down) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether ext is still an address of one of the router's qg- interfaces. */
static bool on_gateway(const struct seen *s, const struct addr *ext)
{
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->ifs[i].ifname, "qg-", 3) == 0 &&
		        addr_equal(&s->ifs[i].net.addr, ext))
			return true;
	return false;
}

static void read_router(struct gateways *g, struct seen *s, const char *router_id)
{
	char *warning = NULL;

	if (strcmp(s->router_id, router_id) == 0)
		return;
	free(s->ifs);
	memset(s, 0, sizeof(*s));
	snprintf(s->router_id, sizeof(s->router_id), "%s", router_id);
	/* A router without a namespace here has DOWN forwardings: nothing to follow. */
	if (!kernel_router_present(g->a->kernel, router_id)) {
		s->error = -ENOENT;
		return;
	}
	/* An HA standby keeps its forwardings: its gateway is a VIP held elsewhere now. */
	s->error = router_addrs_read(
	        g->a->kernel, g->a->cfg.ha_confs_path, router_id, &s->ifs, &s->n, &warning);
	if (warning != NULL) {
		log_debug("Gateway check: router %s: %s", router_id, warning);
		free(warning);
	}
	if (s->error < 0 && s->error != -ENOENT)
		log_debug("Gateway check: cannot read the addresses of router %s: %s", router_id,
		        strerror(-s->error));
}

/* One (router, external address) pair: re-key it if its address left the qg- interface. */
static void check_pair(struct gateways *g, struct seen *s, const char *router_id, const char *ext)
{
	char from[ADDR_STRLEN], to[ADDR_STRLEN];
	const struct iface_addr *gw;
	struct fault err;
	unsigned int count = 0;
	struct addr old;

	if (ext[0] == '\0' || addr_parse(ext, &old) < 0)
		return;
	read_router(g, s, router_id);
	if (s->error < 0 || on_gateway(s, &old))
		return;
	/* No gateway of that family now: the forwardings wait for one, as with Neutron. */
	if ((gw = ifaddr_find(s->ifs, s->n, "qg-", old.family)) == NULL)
		return;
	addr_format(&old, from, sizeof(from));
	addr_format(&gw->net.addr, to, sizeof(to));
	if (reports_gateway_changed(g->a, router_id, &gw->net.addr, &count, &err) < 0) {
		log_warnx("Router %s's gateway moved from %s to %s; re-keying failed: %s",
		        router_id, from, to, err.detail);
		return;
	}
	log_info("Router %s's gateway moved from %s to %s: %u forwarding%s re-keyed", router_id,
	        from, to, count, count == 1 ? "" : "s");
}

static void tick_run(void *arg)
{
	struct gateways *g = arg;
	char router_id[FWD_NAME_MAX + 1], ext[ADDR_STRLEN], *cause = NULL;
	struct seen s = {0};
	size_t routers = 0;
	double started = now();
	int r = 0;

	while (routers < GATEWAYS_PER_TICK) {
		r = store_next_external(
		        g->a->store, g->after_router, g->after_ext, router_id, ext, &cause);
		if (r <= 0)
			break;
		if (strcmp(router_id, s.router_id) != 0)
			routers++;
		check_pair(g, &s, router_id, ext);
		snprintf(g->after_router, sizeof(g->after_router), "%s", router_id);
		snprintf(g->after_ext, sizeof(g->after_ext), "%s", ext);
	}
	if (r < 0) {
		log_warnx("Gateway check: %s", cause ? cause : strerror(-r));
		free(cause);
	}
	/* At the end (or on an error) the next tick starts over. */
	if (r <= 0)
		g->after_router[0] = g->after_ext[0] = '\0';
	free(s.ifs);
	log_debug("Gateway check: %zu router%s in %.3f ms", routers, routers == 1 ? "" : "s",
	        (now() - started) * 1e3);
}

static void tick_done(void *arg)
{
	struct gateways *g = arg;

	g->queued = false;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct gateways *g = arg;

	if (g->queued)
		return;
	g->queued = true;
	if (storeq_run(g->a->storeq, tick_run, tick_done, g) < 0) {
		g->queued = false;
		log_warnx("Gateway check: out of memory");
	}
}

int gateways_new(struct agent *a, struct gateways **out)
{
	struct gateways *g = calloc(1, sizeof(*g));
	const struct timeval period = {1, 0};

	if (g == NULL)
		return -ENOMEM;
	g->a = a;
	g->timer = event_new(a->base, -1, EV_PERSIST, on_tick, g);
	if (g->timer == NULL || event_add(g->timer, &period) < 0) {
		gateways_free(g);
		return -ENOMEM;
	}
	*out = g;
	return 0;
}

void gateways_free(struct gateways *g)
{
	if (g == NULL)
		return;
	if (g->timer != NULL)
		event_free(g->timer);
	free(g);
}
