/*
 * Neutron's routers, ports, subnets and networks as PRaaS sees them, and
 * their decoding from the JSON Neutron answers with.
 *
 * Promises:
 * - A decoder accepts an object only when every member it reads has the
 *   type Neutron documents (absent or null optional members are NULL);
 *   anything else is -EPROTO and leaves nothing to free.
 * - Addresses are kept as Neutron wrote them and also parsed (family 0
 *   when they do not parse), so a caller never parses them again.
 */
#ifndef PRAAS_NEUTRON_DECODE_H
#define PRAAS_NEUTRON_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct json_object;

struct neutron_fixed_ip {
	char *subnet_id;
	char *ip_address; /* as Neutron wrote it */
	struct addr addr; /* parsed; family 0 if it did not parse */
};

struct neutron_router {
	char *id;
	char *name;
	char *project_id; /* project_id, or tenant_id on old servers */
	char *status;
	bool has_gateway; /* external_gateway_info is not null */
	/* The kind (admin-only attributes; false when not shown): issue 13. */
	bool distributed; /* DVR: its gateway lives in snat-<id> */
	bool ha;          /* keepalived replicas of qrouter-<id> */
	char *gateway_network_id;
	struct neutron_fixed_ip *gateway_ips; /* external_fixed_ips */
	size_t gateway_ips_len;
};

struct neutron_port {
	char *id;
	char *name;
	char *device_id;
	char *device_owner;
	char *network_id;
	char *project_id;
	char *mac_address;
	char *status;
	struct neutron_fixed_ip *fixed_ips;
	size_t fixed_ips_len;
};

struct neutron_subnet {
	char *id;
	char *name;
	char *network_id;
	char *project_id;
	char *cidr_text;
	struct cidr cidr; /* parsed; addr.family 0 if it did not parse */
	int ip_version;   /* 4 or 6 */
	char *gateway_ip; /* NULL when the subnet has none */
};

struct neutron_network {
	char *id;
	char *name;
	char *project_id;
	char *status;
	bool router_external;
	bool shared;
};

/* Lists own their elements. */
struct neutron_routers {
	struct neutron_router *v;
	size_t len;
};
struct neutron_ports {
	struct neutron_port *v;
	size_t len;
};
struct neutron_subnets {
	struct neutron_subnet *v;
	size_t len;
};
struct neutron_networks {
	struct neutron_network *v;
	size_t len;
};

/* A router's interfaces and the subnets they sit on. */
struct neutron_router_interfaces {
	struct neutron_ports ports;     /* device_owner network:router_interface* */
	struct neutron_subnets subnets; /* every subnet named in their fixed_ips */
};

/*
 * Decoding of one object: obj is the inner object (what is under "port").
 * 0, -EPROTO on a bad shape (*out then cleared), -ENOMEM.
 */
int neutron_router_decode(struct json_object *obj, struct neutron_router *out);
int neutron_port_decode(struct json_object *obj, struct neutron_port *out);
int neutron_subnet_decode(struct json_object *obj, struct neutron_subnet *out);
int neutron_network_decode(struct json_object *obj, struct neutron_network *out);

/* Frees the element's strings (not the element itself). */
void neutron_router_clear(struct neutron_router *r);
void neutron_port_clear(struct neutron_port *p);
void neutron_subnet_clear(struct neutron_subnet *s);
void neutron_network_clear(struct neutron_network *n);
/* Free a heap result handed to a callback. NULL is fine. */
void neutron_router_free(struct neutron_router *r);
void neutron_port_free(struct neutron_port *p);
void neutron_subnet_free(struct neutron_subnet *s);
void neutron_network_free(struct neutron_network *n);
void neutron_routers_free(struct neutron_routers *l);
void neutron_ports_free(struct neutron_ports *l);
void neutron_subnets_free(struct neutron_subnets *l);
void neutron_networks_free(struct neutron_networks *l);
void neutron_router_interfaces_free(struct neutron_router_interfaces *ifs);

/* The device_owner values of router interfaces. */
bool neutron_is_router_interface(const char *device_owner);

#endif
