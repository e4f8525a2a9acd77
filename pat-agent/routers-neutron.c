/*
 * The OpenStack backend of routers.h: a router's project and gateway from
 * Neutron's router, its subnets from its interfaces (both asked at once),
 * targets from Neutron's ports. Answers are kept CACHE_SECONDS per router
 * (router-cache.h); the monitor's gateway_changed and router_deleted
 * forget them at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kernel.h"
#include "log.h"
#include "neutron.h"
#include "router-cache.h"
#include "routers-backend.h"

#define CACHE_SECONDS 10
#define CACHE_MAX     256

/* One router lookup in flight: the router and its interfaces, fetched together. */
struct lookup {
	struct routers_state *rs;
	routers_cb cb;
	void *arg;
	struct router_info info;
	int pending;
	struct fault err;
	bool failed;
};

struct target_lookup {
	struct router_info info;
	struct addr want; /* family 0: any address of the port on the router */
	char port_id[FWD_NAME_MAX + 1];
	target_cb cb;
	void *arg;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t cache_capacity(void)
{
	return CACHE_MAX;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, FWD_NAME_MAX + 1, "%s", src ? src : "");
}

static void neutron_failure(struct fault *err, const struct http_error *herr, const char *what)
{
	if (herr->code == -ENOENT)
		fault_set(err, -ENOENT, FAULT_ROUTER, "%s: not found in Neutron", what);
	else
		fault_set(err, herr->code, FAULT_NEUTRON, "%s: Neutron: %s", what,
		        herr->message ? herr->message : strerror(-herr->code));
}

static void lookup_done(struct lookup *lk)
{
	if (--lk->pending > 0)
		return;
	if (lk->failed) {
		lk->cb(NULL, &lk->err, lk->arg);
	} else if (lk->info.gateway4.family == 0 && lk->info.gateway6.family == 0) {
		fault_set(&lk->err, -EADDRNOTAVAIL, FAULT_GATEWAY,
		        "router %s has no external gateway address", lk->info.id);
		lk->cb(NULL, &lk->err, lk->arg);
	} else {
		router_cache_put(lk->rs->cache, &lk->info, now(), -1, 0, 0);
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

static int get(struct routers_state *rs, const char *router_id, struct router_info *info,
        struct fault *err, routers_cb cb, void *arg)
{
	struct router_cache_entry *hit = router_cache_find(rs->cache, router_id);
	struct lookup *lk;

	if (hit != NULL && now() - hit->fetched < CACHE_SECONDS) {
		*info = hit->info;
		return 1;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return fault_no_memory(err);
	lk->rs = rs;
	lk->cb = cb;
	lk->arg = arg;
	lk->pending = 2;
	copy_id(lk->info.id, router_id);
	if (neutron_router_get(rs->neutron, router_id, on_router, lk, NULL) < 0) {
		free(lk);
		return fault_set(err, -EIO, FAULT_NEUTRON, "cannot ask Neutron");
	}
	if (neutron_router_interfaces(rs->neutron, router_id, on_interfaces, lk, NULL) < 0) {
		/* on_router will still come; make it the last one. */
		lk->pending--;
		lk->failed = true;
		fault_set(&lk->err, -EIO, FAULT_NEUTRON, "cannot ask Neutron");
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
	struct fault err;

	if (herr != NULL && herr->code != -ENOENT)
		fault_set(&err, herr->code, FAULT_NEUTRON, "port lookup: Neutron: %s",
		        herr->message ? herr->message : strerror(-herr->code));
	else if (tl->port_id[0] && herr != NULL)
		fault_set(&err, -EINVAL, FAULT_REQUEST, "internal_port_id: no Neutron port %s",
		        tl->port_id);
	else if (tl->port_id[0])
		fault_set(&err, -EINVAL, FAULT_REQUEST,
		        "internal_port_id: port %s has no address %s on a subnet attached to "
		        "router %s",
		        tl->port_id, tl->want.family ? addr_format(&tl->want, a, sizeof(a)) : "",
		        tl->info.id);
	else
		fault_set(&err, -EINVAL, FAULT_REQUEST,
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

static int find_target(struct routers_state *rs, const struct router_info *info,
        const struct addr *a, const char *port_id, struct fault *err, target_cb cb, void *arg)
{
	struct target_lookup *tl = calloc(1, sizeof(*tl));
	char text[ADDR_STRLEN];
	int r;

	if (tl == NULL)
		return fault_no_memory(err);
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
		return fault_set(err, r, FAULT_NEUTRON, "cannot ask Neutron: %s", strerror(-r));
	}
	return 0;
}

const struct routers_backend routers_neutron_backend = {
        .name = "neutron",
        .has_ports = true,
        .has_owners = true,
        .follows_gateways = false,
        .cache_capacity = cache_capacity,
        .get = get,
        .find_target = find_target,
};
