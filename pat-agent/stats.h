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

struct census;
struct evbuffer;
struct metrics;
struct store;

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
 * Renders every metric, with the forwardings by the status the API
 * answers as census counted them (census.h: now on SQLite, the last count
 * on MariaDB) and the statements of store and reads (MariaDB's second
 * connection; the same on SQLite). 0 or -errno (the count failed).
 */
int stats_render(struct stats *s, struct store *store, struct store *reads, struct census *census,
        struct evbuffer *out);

#endif
