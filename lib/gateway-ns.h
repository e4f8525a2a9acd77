/*
 * Which namespace holds a router's gateway port on this node, the one
 * PRaaS programs:
 *   - DVR routers: snat-<router_id> (on a dvr_snat node); the qrouter-
 *     namespace of the same router on that node is never programmed;
 *   - legacy and HA routers: <namespace_prefix><router_id> (qrouter-), on
 *     every replica of an HA router, the standbys included.
 * The kind is learnt from the namespaces themselves, the same way in both
 * modes: a router with a snat- namespace here is DVR here. The namespaces
 * a DVR router has on compute nodes (qrouter- without a qg- device) are not
 * told apart: PRaaS runs on network nodes (agent_mode legacy or dvr_snat),
 * not on compute nodes (docs/operator-guide.md).
 */
#ifndef PRAAS_GATEWAY_NS_H
#define PRAAS_GATEWAY_NS_H

#include <stddef.h>

#define GATEWAY_NS_DVR_PREFIX "snat-"

/*
 * Writes the name of router_id's gateway namespace under netns_dir into
 * buf: snat-<id> when that namespace is there, else prefix + id (whether
 * or not it is there). 0, or -EINVAL when the name cannot be one.
 */
int gateway_ns_name(
        const char *netns_dir, const char *prefix, const char *router_id, char *buf, size_t len);

/*
 * The router id a namespace name stands for (prefix + id or snat- + id;
 * a pointer into name), or NULL if it is neither.
 */
const char *gateway_ns_router(const char *prefix, const char *name);

#endif
