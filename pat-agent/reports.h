/*
 * What the monitor may report over the control socket, carried out on the
 * engine. Each op changes only forwardings that still match what the
 * monitor saw (the old address, the port id), so a forwarding created or
 * changed since its look is left alone.
 */
#ifndef PRAAS_REPORTS_H
#define PRAAS_REPORTS_H

#include "addr.h"
#include "fault.h"

struct agent;

/* Each returns 0 with *count the forwardings changed, or -1 with err. */
int reports_port_deleted(
        struct agent *a, const char *port_id, unsigned int *count, struct fault *err);
int reports_port_address_changed(struct agent *a, const char *port_id, const struct addr *old_ip,
        const struct addr *new_ip, unsigned int *count, struct fault *err);
int reports_router_deleted(
        struct agent *a, const char *router_id, unsigned int *count, struct fault *err);
int reports_gateway_changed(struct agent *a, const char *router_id, const struct addr *new_ip,
        unsigned int *count, struct fault *err);
/* router_id NULL: every router. *count: the forwardings written to the kernel. */
int reports_resync(struct agent *a, const char *router_id, unsigned int *count, struct fault *err);
/*
 * Compares the router's table with its forwardings in the store, here on
 * the agent's loop, where no change can come between the two reads (the
 * monitor's own look can only suspect). On drift the table is rewritten
 * (*count forwardings) and *drift (allocated, the caller frees) says how;
 * otherwise *drift is NULL and *count 0.
 */
int reports_verify(struct agent *a, const char *router_id, char **drift, unsigned int *count,
        struct fault *err);

#endif
