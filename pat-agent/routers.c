#include "routers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ifaddr.h"
#include "kernel.h"
#include "log.h"
#include "neutron.h"
#include "router-addrs.h"

#define CACHE_SECONDS 10
#define CACHE_MAX     256

struct cache_entry {
	struct router_info info;
	time_t fetched;
};

struct routers {
	struct event_base *base;
	struct kernel *kernel;
	struct neutron *neutron;
	const char *ha_confs_path; /* borrowed; standalone HA routers' keepalived.conf */
	struct cache_entry *cache; /* CACHE_MAX slots, id "" when free */
};

/* One router lookup in flight: the router and its interfaces, fetched together. */
struct lookup {
	struct routers *rs;
	routers_cb cb;
	void *arg;
	struct router_info info;
	int pending;
	struct apierr err;
	bool failed;
};

struct target_lookup {
	struct router_info info;
	struct addr want; /* family 0: any address of the port on the router */
	char port_id[FWD_NAME_MAX + 1];
	target_cb cb;
	void *arg;
};

int routers_new(struct event_base *base, struct kernel *kernel, struct neutron *neutron,
        struct routers **out)
{
	struct routers *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return -ENOMEM;
	rs->cache = calloc(CACHE_MAX, sizeof(*rs->cache));
	if (rs->cache == NULL) {
		free(rs);
		return -ENOMEM;
	}
	rs->base = base;
	rs->kernel = kernel;
	rs->neutron = neutron;
	rs->ha_confs_path = "/var/lib/neutron/ha_confs";
	*out = rs;
	return 0;
}

void routers_set_ha_confs_path(struct routers *rs, const char *path)
{
	rs->ha_confs_path = path;
}

void routers_free(struct routers *rs)
{
	if (rs == NULL)
		return;
	free(rs->cache);
	free(rs);
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
        const struct router_info *info, const struct addr *a, const char *field, struct apierr *err)
{
	char text[ADDR_STRLEN], net[ADDR_STRLEN + 8]; /* "address/prefixlen" */
	const struct cidr *s;
	struct addr base;
	unsigned int hostbits;
	int i = router_subnet_of(info, a);

	addr_format(a, text, sizeof(text));
	if (i < 0)
		return apierr_set(err, 400, "praas.bad_request",
		        "%s: %s is not on a subnet attached to router %s", field, text, info->id);
	for (size_t k = 0; k < info->own_len; k++)
		if (addr_equal(&info->own[k], a))
			return apierr_set(err, 400, "praas.bad_target",
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
		return apierr_set(err, 400, "praas.bad_target",
		        "%s: %s is the network address of subnet %s (%s); forwardings may target "
		        "VMs only",
		        field, text, net,
		        a->family == AF_INET6 ? "Subnet-Router anycast" : "no host");
	if (a->family == AF_INET && hostbits >= 2 && host_bits_all(s, a, 1))
		return apierr_set(err, 400, "praas.bad_target",
		        "%s: %s is the broadcast address of subnet %s; forwardings may target VMs "
		        "only",
		        field, text, net);
	return 0;
}

int router_check_port(const struct target_port *port, bool admin, struct apierr *err)
{
	char text[ADDR_STRLEN];

	addr_format(&port->addr, text, sizeof(text));
	if (strncmp(port->device_owner, "compute:", 8) == 0)
		return 0;
	if (port->device_owner[0] == '\0') {
		if (admin)
			return 0;
		return apierr_set(err, 400, "praas.bad_target",
		        "port %s (%s) has no device_owner: only an admin may forward to a port "
		        "without an owner; forwardings may target VM ports (compute:*)",
		        port->id, text);
	}
	return apierr_set(err, 400, "praas.bad_target",
	        "port %s (%s) is a %s port; forwardings may target VM ports (compute:*) only",
	        port->id, text, port->device_owner);
}

static struct cache_entry *cache_find(struct routers *rs, const char *id)
{
	for (size_t i = 0; i < CACHE_MAX; i++)
		if (strcmp(rs->cache[i].info.id, id) == 0)
			return &rs->cache[i];
	return NULL;
}

/* A free or expired slot, else the oldest: the cache never grows. */
static void cache_put(struct routers *rs, const struct router_info *info)
{
	struct cache_entry *slot = cache_find(rs, info->id), *oldest = &rs->cache[0];

	for (size_t i = 0; slot == NULL && i < CACHE_MAX; i++) {
		if (rs->cache[i].info.id[0] == '\0')
			slot = &rs->cache[i];
		else if (rs->cache[i].fetched < oldest->fetched)
			oldest = &rs->cache[i];
	}
	if (slot == NULL)
		slot = oldest;
	slot->info = *info;
	slot->fetched = time(NULL);
}

void routers_forget(struct routers *rs, const char *router_id)
{
	struct cache_entry *e = cache_find(rs, router_id);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

/* Standalone: the namespace's own interfaces say it all. */
static int get_standalone(
        struct routers *rs, const char *router_id, struct router_info *info, struct apierr *err)
{
	struct iface_addr *ifs = NULL;
	const struct iface_addr *gw;
	char *warning = NULL;
	size_t n = 0;
	int r;

	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", router_id);
	/* An HA standby's gateway and subnets are in its keepalived.conf (router-addrs.h). */
	r = router_addrs_read(rs->kernel, rs->ha_confs_path, router_id, &ifs, &n, &warning);
	if (warning != NULL) {
		log_warnx("Router %s: %s", router_id, warning);
		free(warning);
	}
	if (r == -ENOENT)
		return apierr_set(err, 404, "praas.router_not_found",
		        "router %s: its namespace is not on this node", router_id);
	if (r < 0)
		return apierr_set(err, 503, "praas.kernel_unavailable",
		        "router %s: cannot read its interfaces: %s", router_id, strerror(-r));
	if ((gw = ifaddr_find(ifs, n, "qg-", AF_INET)) != NULL)
		info->gateway4 = gw->net.addr;
	if ((gw = ifaddr_find(ifs, n, "qg-", AF_INET6)) != NULL)
		info->gateway6 = gw->net.addr;
	for (size_t i = 0; i < n; i++) {
		/* A DVR router's snat- namespace is on its subnets through sg- ports. */
		if ((strncmp(ifs[i].ifname, "qr-", 3) == 0 ||
		            strncmp(ifs[i].ifname, "sg-", 3) == 0) &&
		        info->subnets_len < ROUTERS_MAX_SUBNETS)
			info->subnets[info->subnets_len++] = ifs[i].net;
		if (info->own_len < ROUTERS_MAX_OWN)
			info->own[info->own_len++] = ifs[i].net.addr;
	}
	free(ifs);
	/*
	 * A namespace being (re)built gets its interfaces and addresses one by
	 * one after it appears: without a gateway or a subnet yet it is not a
	 * bad request, it is not ready. Retry in a moment.
	 */
	if (info->gateway4.family == 0 && info->gateway6.family == 0)
		return apierr_set(err, 503, "praas.router_not_ready",
		        "router %s has no gateway address yet (no address on a qg- interface); "
		        "retry when its namespace is configured",
		        router_id);
	if (info->subnets_len == 0)
		return apierr_set(err, 503, "praas.router_not_ready",
		        "router %s has no subnet yet (no address on a qr- or sg- interface); retry "
		        "when "
		        "its namespace is configured",
		        router_id);
	return 1;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, FWD_NAME_MAX + 1, "%s", src ? src : "");
}

static void neutron_failure(struct apierr *err, const struct http_error *herr, const char *what)
{
	if (herr->code == -ENOENT)
		apierr_set(err, 404, "praas.router_not_found", "%s: not found in Neutron", what);
	else
		apierr_set(err, 503, "praas.neutron_unavailable", "%s: Neutron: %s", what,
		        herr->message ? herr->message : strerror(-herr->code));
}

static void lookup_done(struct lookup *lk)
{
	if (--lk->pending > 0)
		return;
	if (lk->failed) {
		lk->cb(NULL, &lk->err, lk->arg);
	} else if (lk->info.gateway4.family == 0 && lk->info.gateway6.family == 0) {
		apierr_set(&lk->err, 409, "praas.no_gateway",
		        "router %s has no external gateway address", lk->info.id);
		lk->cb(NULL, &lk->err, lk->arg);
	} else {
		cache_put(lk->rs, &lk->info);
		lk->cb(&lk->info, NULL, lk->arg);
	}
	free(lk);
}

static void on_router(struct neutron_router *r, const struct http_error *herr, void *arg)
{
	struct lookup *lk = arg;

	if (herr != NULL && !lk->failed) {
		neutron_failure(&lk->err, herr, "router");
		snprintf(lk->err.detail + strlen(lk->err.detail),
		        sizeof(lk->err.detail) - strlen(lk->err.detail), " (router %s)",
		        lk->info.id);
		lk->failed = true;
	}
	if (r != NULL) {
		copy_id(lk->info.project_id, r->project_id);
		/*
		 * Neutron says DVR: only its snat- namespace is ever written here,
		 * even while it is away (kernel_mark_dvr); an HA router needs
		 * nothing, every replica being a qrouter- one.
		 */
		if (r->distributed && kernel_mark_dvr(lk->rs->kernel, lk->info.id) < 0)
			log_warnx("Router %s: out of memory", lk->info.id);
		for (size_t i = 0; i < r->gateway_ips_len; i++) {
			const struct addr *a = &r->gateway_ips[i].addr;
			struct addr *slot =
			        a->family == AF_INET ? &lk->info.gateway4 : &lk->info.gateway6;
			if (a->family != 0 && slot->family == 0)
				*slot = *a;
		}
		neutron_router_free(r);
	}
	lookup_done(lk);
}

static void on_interfaces(
        struct neutron_router_interfaces *ifs, const struct http_error *herr, void *arg)
{
	struct lookup *lk = arg;

	if (herr != NULL && !lk->failed) {
		neutron_failure(&lk->err, herr, "router interfaces");
		lk->failed = true;
	}
	if (ifs != NULL) {
		for (size_t i = 0; i < ifs->subnets.len && i < ROUTERS_MAX_SUBNETS; i++) {
			const struct neutron_subnet *s = &ifs->subnets.v[i];
			if (s->cidr.addr.family == 0)
				continue;
			lk->info.subnets[lk->info.subnets_len] = s->cidr;
			copy_id(lk->info.subnet_ids[lk->info.subnets_len], s->id);
			lk->info.subnets_len++;
		}
		neutron_router_interfaces_free(ifs);
	}
	lookup_done(lk);
}

int routers_get(struct routers *rs, const char *router_id, struct router_info *info,
        struct apierr *err, routers_cb cb, void *arg)
{
	struct cache_entry *hit;
	struct lookup *lk;

	if (rs->neutron == NULL)
		return get_standalone(rs, router_id, info, err);
	hit = cache_find(rs, router_id);
	if (hit != NULL && time(NULL) - hit->fetched < CACHE_SECONDS) {
		*info = hit->info;
		return 1;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return apierr_set(err, 503, "praas.out_of_memory", "out of memory");
	lk->rs = rs;
	lk->cb = cb;
	lk->arg = arg;
	lk->pending = 2;
	copy_id(lk->info.id, router_id);
	if (neutron_router_get(rs->neutron, router_id, on_router, lk, NULL) < 0) {
		free(lk);
		return apierr_set(err, 503, "praas.neutron_unavailable", "cannot ask Neutron");
	}
	if (neutron_router_interfaces(rs->neutron, router_id, on_interfaces, lk, NULL) < 0) {
		/* on_router will still come; make it the last one. */
		lk->pending--;
		lk->failed = true;
		apierr_set(&lk->err, 503, "praas.neutron_unavailable", "cannot ask Neutron");
	}
	return 0;
}

/* The port's address on one of the router's subnets, matching want when given. */
static bool port_address_on(
        const struct neutron_port *p, const struct target_lookup *tl, struct addr *out)
{
	for (size_t i = 0; i < p->fixed_ips_len; i++) {
		const struct neutron_fixed_ip *ip = &p->fixed_ips[i];
		bool subnet = false;

		for (size_t s = 0; s < tl->info.subnets_len; s++)
			if (ip->subnet_id && strcmp(ip->subnet_id, tl->info.subnet_ids[s]) == 0)
				subnet = true;
		if (!subnet || ip->addr.family == 0)
			continue;
		if (tl->want.family != 0 && !addr_equal(&tl->want, &ip->addr))
			continue;
		*out = ip->addr;
		return true;
	}
	return false;
}

static void target_found(
        struct target_lookup *tl, const struct neutron_port *p, const struct addr *a)
{
	struct target_port t;

	memset(&t, 0, sizeof(t));
	copy_id(t.id, p->id);
	copy_id(t.project_id, p->project_id);
	copy_id(t.device_owner, p->device_owner);
	t.addr = *a;
	tl->cb(&t, NULL, tl->arg);
}

static void target_missing(struct target_lookup *tl, const struct http_error *herr)
{
	char a[ADDR_STRLEN];
	struct apierr err;

	if (herr != NULL && herr->code != -ENOENT)
		apierr_set(&err, 503, "praas.neutron_unavailable", "port lookup: Neutron: %s",
		        herr->message ? herr->message : strerror(-herr->code));
	else if (tl->port_id[0] && herr != NULL)
		apierr_set(&err, 400, "praas.bad_request", "internal_port_id: no Neutron port %s",
		        tl->port_id);
	else if (tl->port_id[0])
		apierr_set(&err, 400, "praas.bad_request",
		        "internal_port_id: port %s has no address %s on a subnet attached to "
		        "router %s",
		        tl->port_id, tl->want.family ? addr_format(&tl->want, a, sizeof(a)) : "",
		        tl->info.id);
	else
		apierr_set(&err, 400, "praas.bad_request",
		        "internal_ip_address: no Neutron port holds %s on a subnet attached to "
		        "router %s",
		        addr_format(&tl->want, a, sizeof(a)), tl->info.id);
	tl->cb(NULL, &err, tl->arg);
}

static void on_port(struct neutron_port *p, const struct http_error *herr, void *arg)
{
	struct target_lookup *tl = arg;
	struct addr a;

	if (p != NULL && port_address_on(p, tl, &a))
		target_found(tl, p, &a);
	else
		target_missing(tl, herr);
	neutron_port_free(p);
	free(tl);
}

static void on_ports(struct neutron_ports *l, const struct http_error *herr, void *arg)
{
	struct target_lookup *tl = arg;
	struct addr a;
	size_t i;

	for (i = 0; l != NULL && i < l->len; i++)
		if (port_address_on(&l->v[i], tl, &a))
			break;
	if (l != NULL && i < l->len)
		target_found(tl, &l->v[i], &a);
	else
		target_missing(tl, herr);
	neutron_ports_free(l);
	free(tl);
}

int routers_find_target(struct routers *rs, const struct router_info *info, const struct addr *a,
        const char *port_id, struct apierr *err, target_cb cb, void *arg)
{
	struct target_lookup *tl = calloc(1, sizeof(*tl));
	char text[ADDR_STRLEN];
	int r;

	if (tl == NULL)
		return apierr_set(err, 503, "praas.out_of_memory", "out of memory");
	tl->info = *info;
	tl->cb = cb;
	tl->arg = arg;
	if (a != NULL)
		tl->want = *a;
	if (port_id != NULL) {
		copy_id(tl->port_id, port_id);
		r = neutron_port_get(rs->neutron, port_id, on_port, tl, NULL);
	} else {
		struct neutron_port_filter f = {.ip_address = addr_format(a, text, sizeof(text))};
		r = neutron_ports_list(rs->neutron, &f, on_ports, tl, NULL);
	}
	if (r < 0) {
		free(tl);
		return apierr_set(err, 503, "praas.neutron_unavailable", "cannot ask Neutron: %s",
		        strerror(-r));
	}
	return 0;
}
