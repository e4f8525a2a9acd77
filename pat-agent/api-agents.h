/*
 * GET /v1/agents (admin only): every agent that shares this database, from
 * table agents (heartbeat.h), like `openstack network agent list`: host,
 * version, alive, started, last seen, routers hosted and how far behind
 * the newest router change it was at its last heartbeat. One read of the
 * agents' rows (one per node) and one of the newest change: nothing that
 * grows with the forwardings.
 */
#ifndef PRAAS_API_AGENTS_H
#define PRAAS_API_AGENTS_H

struct call;

void api_agents(struct call *c);

#endif
