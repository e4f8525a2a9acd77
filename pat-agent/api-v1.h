/*
 * The v1 REST API, modeled on Neutron's port forwarding:
 *
 *   GET    /v1/routers/{router_id}/port_forwardings
 *   POST   /v1/routers/{router_id}/port_forwardings
 *   GET    /v1/routers/{router_id}/port_forwardings/{id}
 *   PUT    /v1/routers/{router_id}/port_forwardings/{id}
 *   DELETE /v1/routers/{router_id}/port_forwardings/{id}
 *   GET    /v1/port_forwardings
 *
 * The front door only: each op is a table of steps for the runner
 * (runner.h) - authenticate, parse, look the router up (ownership,
 * gateway, subnets), resolve the target, validate, commit to the engine -
 * and a refusal is answered in the API-SIG format (api_error_of()).
 */
#ifndef PRAAS_API_V1_H
#define PRAAS_API_V1_H

struct call;

void api_v1_list(struct call *c);
void api_v1_create(struct call *c);
void api_v1_show(struct call *c);
void api_v1_update(struct call *c);
void api_v1_delete(struct call *c);
void api_v1_list_all(struct call *c);

#endif
