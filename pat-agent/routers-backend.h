/*
 * The two backends behind routers.h, one chosen once at start by
 * routers_new(): routers-neutron.c (OpenStack mode: Neutron's answers)
 * and routers-local.c (standalone mode: the namespace's own qg-/qr-
 * interfaces). Each says, besides its answers, what its mode implies for
 * the request flow (ports, owners, who follows gateways), so no caller
 * tests the mode itself. Only routers.c and the backends include this.
 */
#ifndef PRAAS_ROUTERS_BACKEND_H
#define PRAAS_ROUTERS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "routers.h"

struct router_cache;

/*
 * What a backend works with, made and freed by routers.c: its source
 * (borrowed; the other one NULL) and the facts it keeps, which routers.c
 * also forgets on demand.
 */
struct routers_state {
	struct neutron *neutron;
	struct kernel *kernel;
	const char *ha_confs_path; /* standalone HA routers' keepalived.conf (borrowed) */
	struct router_cache *cache;
};

struct routers_backend {
	const char *name;
	bool has_ports;        /* targets are Neutron ports (find_target) */
	bool has_owners;       /* routers belong to projects */
	bool follows_gateways; /* no monitor: the agent follows gateway moves itself */
	size_t (*cache_capacity)(void);
	int (*get)(struct routers_state *st, const char *router_id, struct router_info *info,
	        struct fault *err, routers_cb cb, void *arg);
	/* NULL when !has_ports. */
	int (*find_target)(struct routers_state *st, const struct router_info *info,
	        const struct addr *a, const char *port_id, struct fault *err, target_cb cb,
	        void *arg);
};

extern const struct routers_backend routers_neutron_backend;
extern const struct routers_backend routers_local_backend;

#endif
