#include "routers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "router-cache.h"
#include "routers-backend.h"

struct routers {
	const struct routers_backend *be;
	struct routers_state st;
};

int routers_new(struct kernel *kernel, struct neutron *neutron, struct routers **out)
{
	struct routers *rs = calloc(1, sizeof(*rs));
	int r;

	if (rs == NULL)
		return -ENOMEM;
	rs->be = neutron != NULL ? &routers_neutron_backend : &routers_local_backend;
	rs->st.neutron = neutron;
	rs->st.kernel = kernel;
	rs->st.ha_confs_path = "/var/lib/neutron/ha_confs";
	if ((r = router_cache_new(rs->be->cache_capacity(), &rs->st.cache)) < 0) {
		free(rs);
		return r;
	}
	*out = rs;
	return 0;
}

void routers_set_ha_confs_path(struct routers *rs, const char *path)
{
	rs->st.ha_confs_path = path;
}

void routers_free(struct routers *rs)
{
	if (rs == NULL)
		return;
	router_cache_free(rs->st.cache);
	free(rs);
}

bool routers_have_ports(const struct routers *rs)
{
	return rs->be->has_ports;
}

bool routers_have_owners(const struct routers *rs)
{
	return rs->be->has_owners;
}

bool routers_follow_gateways(const struct routers *rs)
{
	return rs->be->follows_gateways;
}

int routers_get(struct routers *rs, const char *router_id, struct router_info *info,
        struct fault *err, routers_cb cb, void *arg)
{
	return rs->be->get(&rs->st, router_id, info, err, cb, arg);
}

void routers_forget(struct routers *rs, const char *router_id)
{
	router_cache_forget(rs->st.cache, router_id);
}

int routers_find_target(struct routers *rs, const struct router_info *info, const struct addr *a,
        const char *port_id, struct fault *err, target_cb cb, void *arg)
{
	if (rs->be->find_target == NULL)
		return fault_set(err, -EINVAL, FAULT_REQUEST,
		        "router %s: the %s backend has no ports", info->id, rs->be->name);
	return rs->be->find_target(&rs->st, info, a, port_id, err, cb, arg);
}

const struct addr *router_gateway(const struct router_info *info, int family)
{
	const struct addr *gw = family == AF_INET ? &info->gateway4 : &info->gateway6;

	return gw->family == family ? gw : NULL;
}

int router_subnet_of(const struct router_info *info, const struct addr *a)
{
	for (size_t i = 0; i < info->subnets_len; i++)
		if (cidr_contains(&info->subnets[i], a))
			return (int)i;
	return -1;
}

/* Whether every host bit of a in net is `bit` (0: the network address, 1: broadcast). */
static bool host_bits_all(const struct cidr *net, const struct addr *a, int bit)
{
	size_t len = addr_len(a);

	for (size_t i = 0; i < len * 8; i++) {
		int b = (a->u.bytes[i / 8] >> (7 - i % 8)) & 1;

		if (i >= net->prefixlen && b != bit)
			return false;
	}
	return true;
}

int router_check_address(
        const struct router_info *info, const struct addr *a, const char *field, struct fault *err)
{
	char text[ADDR_STRLEN], net[ADDR_STRLEN + 8]; /* "address/prefixlen" */
	const struct cidr *s;
	struct addr base;
	unsigned int hostbits;
	int i = router_subnet_of(info, a);

	addr_format(a, text, sizeof(text));
	if (i < 0)
		return fault_set(err, -EINVAL, FAULT_REQUEST,
		        "%s: %s is not on a subnet attached to router %s", field, text, info->id);
	for (size_t k = 0; k < info->own_len; k++)
		if (addr_equal(&info->own[k], a))
			return fault_set(err, -EINVAL, FAULT_TARGET,
			        "%s: %s is an address of router %s itself; forwardings may target "
			        "VMs only",
			        field, text, info->id);
	s = &info->subnets[i];
	hostbits = (unsigned int)addr_len(a) * 8 - s->prefixlen;
	base = s->addr;
	for (size_t b = s->prefixlen; b < addr_len(a) * 8; b++)
		base.u.bytes[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
	snprintf(net, sizeof(net), "%s/%u", addr_format(&base, text, sizeof(text)), s->prefixlen);
	addr_format(a, text, sizeof(text));
	/* /31 and /32 (IPv4, RFC 3021) and /127, /128 have no such addresses. */
	if (hostbits >= 2 && host_bits_all(s, a, 0))
		return fault_set(err, -EINVAL, FAULT_TARGET,
		        "%s: %s is the network address of subnet %s (%s); forwardings may target "
		        "VMs only",
		        field, text, net,
		        a->family == AF_INET6 ? "Subnet-Router anycast" : "no host");
	if (a->family == AF_INET && hostbits >= 2 && host_bits_all(s, a, 1))
		return fault_set(err, -EINVAL, FAULT_TARGET,
		        "%s: %s is the broadcast address of subnet %s; forwardings may target VMs "
		        "only",
		        field, text, net);
	return 0;
}

int router_check_port(const struct target_port *port, bool admin, struct fault *err)
{
	char text[ADDR_STRLEN];

	addr_format(&port->addr, text, sizeof(text));
	if (strncmp(port->device_owner, "compute:", 8) == 0)
		return 0;
	if (port->device_owner[0] == '\0') {
		if (admin)
			return 0;
		return fault_set(err, -EINVAL, FAULT_TARGET,
		        "port %s (%s) has no device_owner: only an admin may forward to a port "
		        "without an owner; forwardings may target VM ports (compute:*)",
		        port->id, text);
	}
	return fault_set(err, -EINVAL, FAULT_TARGET,
	        "port %s (%s) is a %s port; forwardings may target VM ports (compute:*) only",
	        port->id, text, port->device_owner);
}
