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

#include "routers.h"

struct routers_backend {
	const char *name;
	bool has_ports;        /* targets are Neutron ports (find_target) */
	bool has_owners;       /* routers belong to projects */
	bool follows_gateways; /* no monitor: the agent follows gateway moves itself */
	int (*get)(void *st, const char *router_id, struct router_info *info, struct apierr *err,
	        routers_cb cb, void *arg);
	void (*forget)(void *st, const char *router_id);
	/* NULL when !has_ports. */
	int (*find_target)(void *st, const struct router_info *info, const struct addr *a,
	        const char *port_id, struct apierr *err, target_cb cb, void *arg);
	void (*free)(void *st);
};

extern const struct routers_backend routers_neutron_backend;
extern const struct routers_backend routers_local_backend;

/* The backends' states; neutron and kernel are borrowed. 0 or -errno. */
int routers_neutron_new(struct neutron *neutron, void **out);
int routers_local_new(struct kernel *kernel, void **out);

#endif
