/*
 * The pat-agent's metrics, declared once: requests by route and status
 * class, request and nft batch latency, OpenStack call errors, and the
 * forwardings by status (read from the store when scraped).
 */
#ifndef PRAAS_STATS_H
#define PRAAS_STATS_H

#include <stdbool.h>

struct evbuffer;
struct metrics;
struct store;

/* Route labels, in the order of stats_routes[]. */
enum stats_route {
	STATS_ROUTE_VERSION,
	STATS_ROUTE_V1_LIST,
	STATS_ROUTE_V1_CREATE,
	STATS_ROUTE_V1_SHOW,
	STATS_ROUTE_V1_UPDATE,
	STATS_ROUTE_V1_DELETE,
	STATS_ROUTE_V1_LIST_ALL,
	STATS_ROUTE_LEGACY_CREATE,
	STATS_ROUTE_LEGACY_REMOVE,
	STATS_ROUTE_LEGACY_MODIFY,
	STATS_ROUTE_LEGACY_ROUTER_PAT,
	STATS_ROUTE_LEGACY_ROUTER_SERVER_PAT,
	STATS_ROUTE_HEALTHZ,
	STATS_ROUTE_METRICS,
	STATS_ROUTE_OTHER,
	STATS_ROUTE_COUNT,
};

struct stats;

int stats_new(struct stats **out);
void stats_free(struct stats *s);

void stats_request(struct stats *s, enum stats_route route, int status, double seconds);
void stats_nft_batch(struct stats *s, double seconds, bool ok);
void stats_openstack_error(struct stats *s, const char *service);

/* Renders every metric, with the forwardings counted from store now. 0 or -errno. */
int stats_render(struct stats *s, struct store *store, struct evbuffer *out);

#endif
