#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "fwd.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

static const char *const result_names[] = {"ok", "error"};
static const char *const service_names[] = {"keystone", "neutron"};
/* In enum fwd_status's order. */
static const char *const status_names[] = {"ACTIVE", "DOWN", "BUILD", "ERROR"};
/* In enum fwd_reason's order, from FWD_REASON_NAMESPACE_ABSENT. */
static const char *const reason_names[] = {"namespace_absent", "kernel_refused", "applying"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(NELEM(status_names) == FWD_STATUS_ERROR + 1, "a name per enum fwd_status");
_Static_assert(NELEM(reason_names) == FWD_REASON_APPLYING, "a name per enum fwd_reason but NONE");

static const struct metric_label result_label = {"result", result_names, 2};
static const struct metric_label service_label = {"service", service_names, 2};
static const struct metric_label status_label = {"status", status_names, NELEM(status_names)};
static const struct metric_label reason_label = {"reason", reason_names, NELEM(reason_names)};

struct stats {
	struct metrics *reg;
	struct metric *nft, *os_errors, *forwardings, *by_reason;
	struct metric *commits, *committed; /* the group commit's transactions and changes */
	struct metric *rebuilds, *followed; /* follow.c: whole tables, and single changes */
	struct metric *statements;          /* sent to the database */
	uint64_t statements_seen;           /* the store's count at the last scrape */
};

int stats_new(struct stats **out)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->reg = metrics_new()) == NULL)
		goto nomem;
	s->nft = metrics_add(s->reg, METRIC_HISTOGRAM, "praas_nft_batch_duration_seconds",
	        "Time of one nftables netlink transaction", &result_label, 1,
	        metrics_latency_buckets, metrics_latency_buckets_n);
	s->os_errors = metrics_add(s->reg, METRIC_COUNTER, "praas_openstack_errors_total",
	        "OpenStack calls that failed", &service_label, 1, NULL, 0);
	s->forwardings = metrics_add(s->reg, METRIC_GAUGE, "praas_forwardings",
	        "Port forwardings in the database, by the status the API answers", &status_label, 1,
	        NULL, 0);
	s->by_reason = metrics_add(s->reg, METRIC_GAUGE, "praas_forwardings_by_reason",
	        "Port forwardings not ACTIVE, by status_reason", &reason_label, 1, NULL, 0);
	s->commits = metrics_add(s->reg, METRIC_COUNTER, "praas_group_commit_transactions_total",
	        "Store transactions (one fsync each) of the group commit", NULL, 0, NULL, 0);
	s->committed = metrics_add(s->reg, METRIC_COUNTER, "praas_group_commit_changes_total",
	        "Creates, updates and deletes carried by those transactions", NULL, 0, NULL, 0);
	s->rebuilds = metrics_add(s->reg, METRIC_COUNTER, "praas_follow_rebuilds_total",
	        "Router tables rebuilt whole from the shared database after another agent's change",
	        NULL, 0, NULL, 0);
	s->followed = metrics_add(s->reg, METRIC_COUNTER, "praas_follow_changes_applied_total",
	        "Other agents' changes applied one by one from the shared database's change log",
	        NULL, 0, NULL, 0);
	s->statements = metrics_add(s->reg, METRIC_COUNTER, "praas_db_statements_total",
	        "Statements sent to the database, transactions' BEGIN and COMMIT included", NULL, 0,
	        NULL, 0);
	if (!s->nft || !s->os_errors || !s->forwardings || !s->by_reason || !s->commits ||
	        !s->committed || !s->rebuilds || !s->followed || !s->statements)
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

struct metrics *stats_registry(struct stats *s)
{
	return s->reg;
}

void stats_nft_batch(struct stats *s, double seconds, bool ok)
{
	unsigned int idx = ok ? 0 : 1;

	metric_observe(s->nft, &idx, seconds);
}

void stats_follow(struct stats *s, bool rebuilt, size_t applied)
{
	if (rebuilt)
		metric_inc(s->rebuilds, NULL);
	if (applied > 0)
		metric_add(s->followed, NULL, (double)applied);
}

void stats_group_commit(struct stats *s, size_t changes)
{
	metric_inc(s->commits, NULL);
	metric_add(s->committed, NULL, (double)changes);
}

void stats_openstack_error(struct stats *s, const char *service)
{
	unsigned int idx = strcmp(service, "keystone") == 0 ? 0 : 1;

	metric_inc(s->os_errors, &idx);
}

int stats_render(struct stats *s, struct store *store, struct store *reads, struct census *census,
        struct evbuffer *out)
{
	const struct census_counts *c;
	uint64_t statements =
	        store_statements(store) + (reads != store ? store_statements(reads) : 0);
	unsigned int idx;

	/* Read first, so a scrape's own counts below are not in its answer. */
	metric_add(s->statements, NULL, (double)(statements - s->statements_seen));
	s->statements_seen = statements;
	/*
	 * A scrape is rare next to requests: counting when asked keeps the
	 * request path free (census.h: at once on SQLite; on MariaDB the last
	 * count, a new one behind the read gate, so a scrape never waits).
	 */
	census_refresh(census);
	c = census_last(census);
	if (c->r < 0) {
		log_warnx("/metrics: %s", c->error);
		return c->r;
	}
	for (idx = 0; idx < NELEM(status_names); idx++)
		metric_set(s->forwardings, &idx, (double)c->status[idx]);
	for (idx = 0; idx < NELEM(reason_names); idx++)
		metric_set(
		        s->by_reason, &idx, (double)c->reason[idx + FWD_REASON_NAMESPACE_ABSENT]);
	return metrics_render(s->reg, out);
}
