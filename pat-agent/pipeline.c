#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "auth.h"

struct pipeline_request *pipeline_of(struct runner *r)
{
	return runner_of(r, struct pipeline_request, run);
}

static void on_auth(const struct caller *caller, const struct fault *err, void *arg)
{
	struct pipeline_request *req = arg;

	if (err != NULL) {
		runner_refuse(&req->run, err);
		return;
	}
	req->caller = *caller;
	runner_resume(&req->run);
}

enum runner_verdict pipeline_authenticate(struct runner *r)
{
	struct pipeline_request *req = pipeline_of(r);
	int v = auth_check(req->a->auth, req->token, req->peer.family ? &req->peer : NULL,
	        req->legacy, &req->caller, &r->fault, on_auth, req);

	return v < 0 ? RUNNER_REFUSED : v == 1 ? RUNNER_NEXT : RUNNER_WAIT;
}

static void on_router(const struct router_info *info, const struct fault *err, void *arg)
{
	struct pipeline_request *req = arg;

	if (err != NULL) {
		runner_refuse(&req->run, err);
		return;
	}
	req->router = *info;
	runner_resume(&req->run);
}

enum runner_verdict pipeline_resolve_router(struct runner *r)
{
	struct pipeline_request *req = pipeline_of(r);
	int v = routers_get(
	        req->a->routers, req->router_id, &req->router, &r->fault, on_router, req);

	return v < 0 ? RUNNER_REFUSED : v == 1 ? RUNNER_NEXT : RUNNER_WAIT;
}

enum runner_verdict pipeline_may_act(struct runner *r)
{
	struct pipeline_request *req = pipeline_of(r);

	if (auth_may(&req->caller, req->router.project_id))
		return RUNNER_NEXT;
	fault_set(&r->fault, -EPERM, FAULT_PROJECT, "router %s belongs to another project",
	        req->router_id);
	return RUNNER_REFUSED;
}

static void on_target(const struct target_port *port, const struct fault *err, void *arg)
{
	struct pipeline_request *req = arg;
	char a[ADDR_STRLEN];
	struct fault f;

	if (err != NULL) {
		runner_refuse(&req->run, err);
		return;
	}
	if (!auth_may(&req->caller, port->project_id)) {
		fault_set(&f, -EPERM, FAULT_PROJECT, "%s belongs to port %s of another project",
		        addr_format(&port->addr, a, sizeof(a)), port->id);
		runner_refuse(&req->run, &f);
		return;
	}
	if (router_check_port(port, req->caller.admin, &f) < 0) {
		runner_refuse(&req->run, &f);
		return;
	}
	req->target = *port;
	runner_resume(&req->run);
}

enum runner_verdict pipeline_resolve_target(struct runner *r)
{
	struct pipeline_request *req = pipeline_of(r);
	const char *port_id = req->target_port_id[0] ? req->target_port_id : NULL;
	const struct addr *a = req->target_addr.family ? &req->target_addr : NULL;

	if (routers_have_ports(req->a->routers))
		return routers_find_target(req->a->routers, &req->router, a, port_id, &r->fault,
		               on_target, req) < 0
		        ? RUNNER_REFUSED
		        : RUNNER_WAIT;
	/* Stored, it would name a port nobody checked: refused even beside an address. */
	if (port_id != NULL) {
		fault_set(&r->fault, -EINVAL, FAULT_REQUEST,
		        "internal_port_id: standalone mode has no Neutron ports; give "
		        "internal_ip_address only");
		return RUNNER_REFUSED;
	}
	if (a == NULL) {
		fault_set(&r->fault, -EINVAL, FAULT_REQUEST, "%s: required", req->target_field);
		return RUNNER_REFUSED;
	}
	if (router_check_address(&req->router, a, req->target_field, &r->fault) < 0)
		return RUNNER_REFUSED;
	memset(&req->target, 0, sizeof(req->target));
	req->target.addr = *a;
	return RUNNER_NEXT;
}
