/*
 * Standalone mode: follows each router's gateway address, the address on
 * its qg- interface, as the monitor's gateway_changed does with Neutron:
 * when it moves, the router's forwardings are re-keyed to the new address
 * (the nft elements are keyed by it) within a second.
 *
 * Every second it walks the (router, external address) pairs of the
 * stored forwardings, at most GATEWAYS_PER_TICK routers per tick and
 * round robin beyond that, so a tick's work is bounded however many
 * routers there are. Only routers with forwardings are read; each read
 * opens a netlink socket in the namespace, dumps its addresses and closes
 * it: no descriptor is held per namespace between ticks.
 */
#ifndef PRAAS_GATEWAYS_H
#define PRAAS_GATEWAYS_H

struct agent;
struct gateways;

#define GATEWAYS_PER_TICK 256

/* Starts the timer on a->base. 0 or -errno. */
int gateways_new(struct agent *a, struct gateways **out);
/* NULL is fine. */
void gateways_free(struct gateways *g);

#endif
