/*
 * Neutron writes, and network reads, for tests and test tools only:
 * PRaaS itself never changes Neutron (its agents only read routers, ports
 * and subnets, neutron.h).
 *
 * Promises: the same as neutron.h's for every call (one callback from the
 * loop unless cancelled; errors carry the call and OpenStack's words), and
 * a created object is handed to the callback decoded like a read one.
 */
#ifndef PRAAS_NEUTRON_WRITE_H
#define PRAAS_NEUTRON_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "neutron.h"

/*
 * Writes, for tests and tools (PRaaS itself never changes Neutron).
 * project_id NULL means the token's project (admin may name another).
 */
struct neutron_network_spec {
	const char *name;
	const char *project_id;
	bool router_external;
	bool shared;
	const char *provider_network_type;     /* e.g. "flat", or NULL */
	const char *provider_physical_network; /* e.g. "public", or NULL */
};
struct neutron_subnet_spec {
	const char *name;
	const char *network_id;
	const char *project_id;
	const char *cidr;
	int ip_version;         /* 4 or 6 */
	const char *gateway_ip; /* NULL: Neutron picks; "" : no gateway */
	bool enable_dhcp;
};
struct neutron_router_spec {
	const char *name;
	const char *project_id;
	const char *external_network_id; /* NULL: no gateway */
	const char *external_ip_address; /* NULL: Neutron picks */
};
struct neutron_fixed_ip_spec {
	const char *subnet_id;  /* NULL: any on the network */
	const char *ip_address; /* NULL: Neutron picks */
};
struct neutron_port_spec {
	const char *name;
	const char *network_id;
	const char *project_id;
	const char *device_id;
	const char *device_owner; /* e.g. "compute:nova" */
	const struct neutron_fixed_ip_spec *fixed_ips;
	size_t fixed_ips_len; /* 0: Neutron picks */
};

int neutron_network_create(struct neutron *n, const struct neutron_network_spec *spec,
        neutron_network_cb cb, void *arg, struct neutron_call **call);
int neutron_subnet_create(struct neutron *n, const struct neutron_subnet_spec *spec,
        neutron_subnet_cb cb, void *arg, struct neutron_call **call);
int neutron_router_create(struct neutron *n, const struct neutron_router_spec *spec,
        neutron_router_cb cb, void *arg, struct neutron_call **call);
/* Exactly one of subnet_id and port_id. */
int neutron_router_add_interface(struct neutron *n, const char *router_id, const char *subnet_id,
        const char *port_id, neutron_done_cb cb, void *arg, struct neutron_call **call);
int neutron_router_remove_interface(struct neutron *n, const char *router_id, const char *subnet_id,
        const char *port_id, neutron_done_cb cb, void *arg, struct neutron_call **call);
int neutron_port_create(struct neutron *n, const struct neutron_port_spec *spec, neutron_port_cb cb,
        void *arg, struct neutron_call **call);
/* Replaces the port's fixed_ips. */
int neutron_port_update_fixed_ips(struct neutron *n, const char *port_id,
        const struct neutron_fixed_ip_spec *fixed_ips, size_t fixed_ips_len, neutron_port_cb cb,
        void *arg, struct neutron_call **call);
/* resource: "ports", "routers", "networks", "subnets". A 404 is an error. */
int neutron_delete(struct neutron *n, const char *resource, const char *id, neutron_done_cb cb,
        void *arg, struct neutron_call **call);

/*
 * Network reads: the test lab finds and sweeps its networks; PRaaS itself
 * reads only routers, ports and subnets (neutron.h). Same returns as
 * neutron.h's reads.
 */
struct neutron_network_filter {
	const char *name;
	const char *project_id;
	int router_external; /* -1 any, 0 or 1 */
};
int neutron_network_get(struct neutron *n, const char *id, neutron_network_cb cb, void *arg,
        struct neutron_call **call);
int neutron_networks_list(struct neutron *n, const struct neutron_network_filter *f,
        neutron_networks_cb cb, void *arg, struct neutron_call **call);

#endif
