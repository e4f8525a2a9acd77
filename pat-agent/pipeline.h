/*
 * The steps every front door's requests share, and the typed request they
 * work on. A front door (api-v1.c, api-legacy.c) parses its wire format
 * into a struct pipeline_request embedded in its own, lists its steps in a
 * table for the runner (runner.h), mixing these with its own, and renders
 * the outcome.
 *
 * What it promises: each step either passes, waits (and resumes the
 * runner exactly once), or refuses with a fault; none answers a client.
 */
#ifndef PRAAS_PIPELINE_H
#define PRAAS_PIPELINE_H

#include <stdbool.h>

#include "addr.h"
#include "caller.h"
#include "fwd.h"
#include "routers.h"
#include "runner.h"

struct agent;

struct pipeline_request {
	struct runner run;
	struct agent *a;
	/* What the front door parsed. */
	bool legacy;       /* a tokenless caller from legacy_trusted passes */
	const char *token; /* X-Auth-Token, borrowed; NULL when absent */
	struct addr peer;  /* family 0: unknown */
	char router_id[FWD_NAME_MAX + 1];
	struct addr target_addr;               /* the target asked for; family 0: none */
	char target_port_id[FWD_NAME_MAX + 1]; /* the target's Neutron port; "": none */
	const char *target_field;              /* the request's name for target_addr */
	/* What the steps learned. */
	struct caller caller;
	struct router_info router;
	struct target_port target; /* resolve_target: the port (OpenStack) or the address */
};

/* The request a step's runner carries. */
struct pipeline_request *pipeline_of(struct runner *r);

/* Turns the credentials into req->caller (auth.h); may wait for Keystone. */
enum runner_verdict pipeline_authenticate(struct runner *r);
/* Fills req->router (routers.h); may wait for Neutron. */
enum runner_verdict pipeline_resolve_router(struct runner *r);
/* The caller may act on the router: its project's, or admin. */
enum runner_verdict pipeline_may_act(struct runner *r);
/*
 * Resolves target_addr and/or target_port_id into req->target. OpenStack:
 * the Neutron port holding it on the router's subnets, of a project the
 * caller may use and a VM's (router_check_port); may wait for Neutron.
 * Without ports (standalone): none may be named; the address must be one a forwarding
 * may target (router_check_address).
 */
enum runner_verdict pipeline_resolve_target(struct runner *r);

#endif
