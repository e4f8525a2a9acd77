/*
 * The pat-agent's own metrics, declared once: nft batch latency, OpenStack
 * call errors, the group commit's transactions and changes, the other agents' changes followed
 * (tables rebuilt, changes applied), the forwardings by the status the API
 * answers and the others by status_reason (census.h, when scraped). The HTTP server adds its
 * request counters and latencies to the same registry.
 */
#ifndef PRAAS_STATS_H
#define PRAAS_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct agent;
struct evbuffer;
struct metrics;

struct stats;

int stats_new(struct stats **out);
void stats_free(struct stats *s);

/* The registry, for the HTTP server to declare its request metrics in. */
struct metrics *stats_registry(struct stats *s);
void stats_nft_batch(struct stats *s, double seconds, bool ok);
/* One transaction of the group commit, carrying changes creates, updates and deletes. */
void stats_group_commit(struct stats *s, size_t changes);
void stats_openstack_error(struct stats *s, const char *service);
/* follow.c brought a router up to date: rebuilt whole, or applied changes one by one. */
void stats_follow(struct stats *s, bool rebuilt, size_t applied);

/*
 * How old the forwardings' figures may be on a shared database (MariaDB),
 * where counting them reads each router's replicas: scrapes come every
 * 15-60 s, and two within this share one count.
 */
#define STATS_CENSUS_MAX_AGE_MS 5000

/*
 * Renders every metric, with the forwardings counted by the status the
 * API answers (census.h): now on one node, at most STATS_CENSUS_MAX_AGE_MS
 * old across nodes. 0 or -errno (the database could not be read).
 */
int stats_render(struct stats *s, struct agent *a, struct evbuffer *out);

#endif
