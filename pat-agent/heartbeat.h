/*
 * The agent's heartbeat: every HEARTBEAT_PERIOD_MS one row of table agents
 * (store_agent_beat) says this node's agent is alive, its version, when it
 * started, how many routers its node hosts and the newest router change
 * it has applied. GET /v1/agents reads the rows; an agent whose row is
 * older than HEARTBEAT_DEAD_MS is shown dead.
 *
 * Cost: one single-row write per period (0.1 a second: with follow.c's
 * 2.5, an idle agent stays within 5 queries a second), whatever the
 * number of forwardings; counting the node's routers reads netns_dir (its
 * namespaces, not the forwardings).
 */
#ifndef PRAAS_HEARTBEAT_H
#define PRAAS_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#define HEARTBEAT_PERIOD_MS 10000
#define HEARTBEAT_DEAD_MS   (3 * HEARTBEAT_PERIOD_MS)

struct agent;
struct heartbeat;

/* Writes the first heartbeat now and then every period. 0 or -errno. */
int heartbeat_start(struct agent *a, struct heartbeat **out);
void heartbeat_free(struct heartbeat *hb);
/* Whether a row last seen age_us ago (the database's clock) is a live agent's. */
bool heartbeat_alive(int64_t age_us);

#endif
