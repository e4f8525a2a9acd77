/*
 * What the pat-agent knows of routers (the router facts): a router's
 * project, its gateway addresses and the subnets attached to it, and
 * which Neutron port holds a given address there. The one place that
 * knows the agent's mode: routers_new() picks a backend once at start
 * (routers-backend.h), Neutron in OpenStack mode (routers-neutron.c) or
 * the namespace's qg-/qr- interfaces in standalone mode
 * (routers-local.c), and the request flow asks it (routers_have_ports,
 * routers_have_owners, routers_follow_gateways) instead of testing the
 * mode.
 *
 * Both backends keep answers per router: Neutron's for a few seconds (the
 * monitor's gateway_changed and router_deleted drop an entry at once), a
 * namespace's while an address watch there has seen no change; either
 * way a request on a known router costs O(1) work.
 */
#ifndef PRAAS_ROUTERS_H
#define PRAAS_ROUTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "fault.h"
#include "fwd.h"

struct kernel;
struct neutron;
struct routers;

#define ROUTERS_MAX_SUBNETS 64
#define ROUTERS_MAX_OWN     64

struct router_info {
	char id[FWD_NAME_MAX + 1];
	char project_id[FWD_NAME_MAX + 1]; /* "" in standalone mode */
	struct addr gateway4, gateway6;    /* family 0 when absent */
	struct cidr subnets[ROUTERS_MAX_SUBNETS];
	char subnet_ids[ROUTERS_MAX_SUBNETS][FWD_NAME_MAX + 1]; /* "" in standalone mode */
	size_t subnets_len;
	/*
	 * Standalone mode: every address of the namespace's own interfaces,
	 * which a forwarding must never target (the router is not a VM).
	 */
	struct addr own[ROUTERS_MAX_OWN];
	size_t own_len;
};

/* The Neutron port holding an address on a router's subnet. */
struct target_port {
	char id[FWD_NAME_MAX + 1];
	char project_id[FWD_NAME_MAX + 1];
	char device_owner[FWD_NAME_MAX + 1]; /* "" when the port has none */
	struct addr addr;
};

/* info and err are valid during the call; exactly one is non-NULL. */
typedef void (*routers_cb)(const struct router_info *info, const struct fault *err, void *arg);
typedef void (*target_cb)(const struct target_port *port, const struct fault *err, void *arg);

/* neutron NULL: standalone. kernel and neutron are borrowed. 0 or -errno. */
int routers_new(struct kernel *kernel, struct neutron *neutron, struct routers **out);
void routers_free(struct routers *rs);
/*
 * Standalone: where HA routers' keepalived.conf files are (config
 * ha_confs_path; borrowed, must outlive rs). Default /var/lib/neutron/ha_confs.
 */
void routers_set_ha_confs_path(struct routers *rs, const char *path);

/*
 * Whether a forwarding's target is a Neutron port (routers_find_target);
 * otherwise it is an address checked with router_check_address().
 */
bool routers_have_ports(const struct routers *rs);
/*
 * Whether routers belong to projects, so that reading or deleting a
 * router's forwardings needs the router looked up (its owner); otherwise
 * they can be read and deleted while the router is absent.
 */
bool routers_have_owners(const struct routers *rs);
/* Whether the agent itself follows gateway moves (gateways.c): no monitor reports them. */
bool routers_follow_gateways(const struct routers *rs);

/*
 * Looks a router up. From the cache (and always in standalone mode) the
 * answer comes at once: the return value is 1 and *info is filled (or
 * err, returning -1). Otherwise it returns 0 and cb is called later, once. router_id must be
 * checked (a UUID, or a namespace suffix in standalone mode) before.
 */
int routers_get(struct routers *rs, const char *router_id, struct router_info *info,
        struct fault *err, routers_cb cb, void *arg);

/* Forgets what is cached of a router (its gateway changed, it was deleted). */
void routers_forget(struct routers *rs, const char *router_id);

/* The gateway address of a's family, or NULL. */
const struct addr *router_gateway(const struct router_info *info, int family);
/* The index of the router subnet a lies on, or -1. */
int router_subnet_of(const struct router_info *info, const struct addr *a);

/*
 * Standalone mode: whether a may be a forwarding's target. It must lie in
 * a subnet of a qr- interface and be none of the router's own addresses,
 * nor a subnet's network address (IPv6: its Subnet-Router anycast
 * address) or IPv4 broadcast address. field names the request's field in
 * the message. 0, or -1 with a 400 in err saying which rule refused it.
 */
int router_check_address(
        const struct router_info *info, const struct addr *a, const char *field, struct fault *err);

/*
 * OpenStack mode: whether a Neutron port may be a forwarding's target.
 * Forwardings lead to VMs: a port owned by "compute:*" is one; a port
 * without an owner (made by hand, e.g. for a VM of another tool) only
 * when the caller is admin; any other owner (network:dhcp,
 * network:router_interface, network:router_gateway, network:floatingip,
 * a load balancer's port...) is infrastructure. 0, or -1 with a 400.
 */
int router_check_port(const struct target_port *port, bool admin, struct fault *err);

/*
 * Finds the Neutron port that holds address a on one of the router's
 * subnets, or checks that port_id (when not NULL) holds a there; a NULL
 * address asks for port_id's address on those subnets. Always
 * asynchronous; without ports (routers_have_ports) it refuses with a 400.
 * Returns 0, or -1 with err filled when it could not start.
 */
int routers_find_target(struct routers *rs, const struct router_info *info, const struct addr *a,
        const char *port_id, struct fault *err, target_cb cb, void *arg);

#endif
