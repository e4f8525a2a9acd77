#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"
#include "metrics.h"
#include "store.h"

static const char *const route_names[STATS_ROUTE_COUNT] = {
        [STATS_ROUTE_VERSION] = "version",
        [STATS_ROUTE_V1_LIST] = "v1_list",
        [STATS_ROUTE_V1_CREATE] = "v1_create",
        [STATS_ROUTE_V1_SHOW] = "v1_show",
        [STATS_ROUTE_V1_UPDATE] = "v1_update",
        [STATS_ROUTE_V1_DELETE] = "v1_delete",
        [STATS_ROUTE_V1_LIST_ALL] = "v1_list_all",
        [STATS_ROUTE_LEGACY_CREATE] = "legacy_create",
        [STATS_ROUTE_LEGACY_REMOVE] = "legacy_remove",
        [STATS_ROUTE_LEGACY_MODIFY] = "legacy_modify",
        [STATS_ROUTE_LEGACY_ROUTER_PAT] = "legacy_router_pat",
        [STATS_ROUTE_LEGACY_ROUTER_SERVER_PAT] = "legacy_router_server_pat",
        [STATS_ROUTE_HEALTHZ] = "healthz",
        [STATS_ROUTE_METRICS] = "metrics",
        [STATS_ROUTE_OTHER] = "other",
};
static const char *const code_names[] = {"2xx", "3xx", "4xx", "5xx"};
static const char *const result_names[] = {"ok", "error"};
static const char *const service_names[] = {"keystone", "neutron"};
static const char *const status_names[] = {"ACTIVE", "DOWN"};

static const struct metric_label route_label = {"route", route_names, STATS_ROUTE_COUNT};
static const struct metric_label code_label = {"code", code_names, 4};
static const struct metric_label result_label = {"result", result_names, 2};
static const struct metric_label service_label = {"service", service_names, 2};
static const struct metric_label status_label = {"status", status_names, 2};

struct stats {
	struct metrics *reg;
	struct metric *requests, *latency, *nft, *os_errors, *forwardings;
};

int stats_new(struct stats **out)
{
	const struct metric_label req_labels[] = {route_label, code_label};
	struct stats *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->reg = metrics_new()) == NULL)
		goto nomem;
	s->requests = metrics_add(s->reg, METRIC_COUNTER, "praas_http_requests_total",
	        "HTTP requests answered, by route and status class", req_labels, 2, NULL, 0);
	s->latency = metrics_add(s->reg, METRIC_HISTOGRAM, "praas_http_request_duration_seconds",
	        "Time from a request's arrival to its answer", &route_label, 1,
	        metrics_latency_buckets, metrics_latency_buckets_n);
	s->nft = metrics_add(s->reg, METRIC_HISTOGRAM, "praas_nft_batch_duration_seconds",
	        "Time of one nftables netlink transaction", &result_label, 1,
	        metrics_latency_buckets, metrics_latency_buckets_n);
	s->os_errors = metrics_add(s->reg, METRIC_COUNTER, "praas_openstack_errors_total",
	        "OpenStack calls that failed", &service_label, 1, NULL, 0);
	s->forwardings = metrics_add(s->reg, METRIC_GAUGE, "praas_forwardings",
	        "Port forwardings in the database, by status", &status_label, 1, NULL, 0);
	if (!s->requests || !s->latency || !s->nft || !s->os_errors || !s->forwardings)
		goto nomem;
	*out = s;
	return 0;
nomem:
	stats_free(s);
	return -ENOMEM;
}

void stats_free(struct stats *s)
{
	if (s == NULL)
		return;
	if (s->reg)
		metrics_free(s->reg);
	free(s);
}

void stats_request(struct stats *s, enum stats_route route, int status, double seconds)
{
	unsigned int idx[2] = {route, 0};

	idx[1] = status >= 500 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0;
	metric_inc(s->requests, idx);
	metric_observe(s->latency, idx, seconds);
}

void stats_nft_batch(struct stats *s, double seconds, bool ok)
{
	unsigned int idx = ok ? 0 : 1;

	metric_observe(s->nft, &idx, seconds);
}

void stats_openstack_error(struct stats *s, const char *service)
{
	unsigned int idx = strcmp(service, "keystone") == 0 ? 0 : 1;

	metric_inc(s->os_errors, &idx);
}

int stats_render(struct stats *s, struct store *store, struct evbuffer *out)
{
	size_t all, down;
	unsigned int idx;
	int r;

	/*
	 * A scrape is rare next to requests: counting here keeps the request
	 * path free. Two counts, not a read of every forwarding (80 ms of a
	 * blocked loop at 100,000).
	 */
	if ((r = store_count(store, NULL, &all, NULL)) < 0 ||
	        (r = store_count_status(store, FWD_STATUS_DOWN, &down, NULL)) < 0)
		return r;
	idx = 0;
	metric_set(s->forwardings, &idx, (double)(all - down));
	idx = 1;
	metric_set(s->forwardings, &idx, (double)down);
	return metrics_render(s->reg, out);
}
