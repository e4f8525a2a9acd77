/*
 * Standalone mode: a router's addresses as PRaaS needs them, from its
 * gateway namespace's interfaces and, for an HA router, from its
 * keepalived configuration.
 *
 * On an HA standby keepalived has not put the VIPs on qg- and qr- yet: the
 * gateway address and the tenant subnets' addresses are only in
 * <ha_confs_path>/<router_id>/keepalived.conf (lib/keepalived-conf.h).
 * Those of qg- and qr- devices are added to the list, each once, so the
 * standby is checked and programmed exactly as the master is, and its
 * forwardings keep the gateway address while the VIP is elsewhere.
 */
#ifndef PRAAS_ROUTER_ADDRS_H
#define PRAAS_ROUTER_ADDRS_H

#include <stddef.h>

struct kernel;
struct iface_addr;

/*
 * As kernel_interfaces() (same errors: -ENOENT without the namespace),
 * plus the router's keepalived VIPs. A keepalived.conf that cannot be read
 * or parsed adds nothing and is no error: *warning (allocated, the caller
 * frees) then says why; it is NULL otherwise.
 */
int router_addrs_read(struct kernel *k, const char *ha_confs_path, const char *router_id,
        struct iface_addr **out, size_t *n, char **warning);

#endif
