/*
 * Neutron writes: networks, subnets, routers, ports, interfaces. Only the
 * tests and test tools call these (test/openstack, test/integration's
 * fake client): PRaaS itself never changes Neutron. They stay in the
 * library because they share its call machinery (neutron-int.h).
 */
#include "neutron-write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "neutron-int.h"
#include "neutron-query.h"

static void jadd_str(struct json_object *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_object_add(o, key, json_object_new_string(value));
}

/* {"<single>": inner} */
static struct json_object *wrap(const char *single, struct json_object *inner)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, single, inner);
	return o;
}

int neutron_network_create(struct neutron *n, const struct neutron_network_spec *spec,
        neutron_network_cb cb, void *arg, struct neutron_call **handle)
{
	struct json_object *o;

	if (cb == NULL || spec == NULL)
		return -EINVAL;
	o = json_object_new_object();
	jadd_str(o, "name", spec->name);
	jadd_str(o, "project_id", spec->project_id);
	json_object_object_add(
	        o, "router:external", json_object_new_boolean(spec->router_external));
	json_object_object_add(o, "shared", json_object_new_boolean(spec->shared));
	jadd_str(o, "provider:network_type", spec->provider_network_type);
	jadd_str(o, "provider:physical_network", spec->provider_physical_network);
	return neutron_call_start(n, NC_ONE, &neutron_res_networks, "POST",
	        strdup("/v2.0/networks"), wrap("network", o), (void (*)(void))cb, arg, handle);
}

int neutron_subnet_create(struct neutron *n, const struct neutron_subnet_spec *spec,
        neutron_subnet_cb cb, void *arg, struct neutron_call **handle)
{
	struct json_object *o;

	if (cb == NULL || spec == NULL || !neutron_id_ok(spec->network_id) || spec->cidr == NULL)
		return -EINVAL;
	o = json_object_new_object();
	jadd_str(o, "name", spec->name);
	jadd_str(o, "network_id", spec->network_id);
	jadd_str(o, "project_id", spec->project_id);
	jadd_str(o, "cidr", spec->cidr);
	json_object_object_add(
	        o, "ip_version", json_object_new_int(spec->ip_version ? spec->ip_version : 4));
	if (spec->gateway_ip != NULL)
		json_object_object_add(o, "gateway_ip",
		        spec->gateway_ip[0] ? json_object_new_string(spec->gateway_ip) : NULL);
	json_object_object_add(o, "enable_dhcp", json_object_new_boolean(spec->enable_dhcp));
	return neutron_call_start(n, NC_ONE, &neutron_res_subnets, "POST", strdup("/v2.0/subnets"),
	        wrap("subnet", o), (void (*)(void))cb, arg, handle);
}

static struct json_object *gateway_json(const char *network_id, const char *ip)
{
	struct json_object *gw = json_object_new_object();

	jadd_str(gw, "network_id", network_id);
	if (ip != NULL) {
		struct json_object *ips = json_object_new_array(), *one = json_object_new_object();

		jadd_str(one, "ip_address", ip);
		json_object_array_add(ips, one);
		json_object_object_add(gw, "external_fixed_ips", ips);
	}
	return gw;
}

int neutron_router_create(struct neutron *n, const struct neutron_router_spec *spec,
        neutron_router_cb cb, void *arg, struct neutron_call **handle)
{
	struct json_object *o;

	if (cb == NULL || spec == NULL)
		return -EINVAL;
	o = json_object_new_object();
	jadd_str(o, "name", spec->name);
	jadd_str(o, "project_id", spec->project_id);
	if (spec->external_network_id != NULL)
		json_object_object_add(o, "external_gateway_info",
		        gateway_json(spec->external_network_id, spec->external_ip_address));
	return neutron_call_start(n, NC_ONE, &neutron_res_routers, "POST", strdup("/v2.0/routers"),
	        wrap("router", o), (void (*)(void))cb, arg, handle);
}

static int router_interface(struct neutron *n, const char *action, const char *router_id,
        const char *subnet_id, const char *port_id, neutron_done_cb cb, void *arg,
        struct neutron_call **handle)
{
	struct json_object *o;
	char suffix[64];

	if (cb == NULL || !neutron_id_ok(router_id) || (subnet_id == NULL) == (port_id == NULL))
		return -EINVAL;
	o = json_object_new_object();
	jadd_str(o, "subnet_id", subnet_id);
	jadd_str(o, "port_id", port_id);
	snprintf(suffix, sizeof(suffix), "/%s", action);
	return neutron_call_start(n, NC_DONE, &neutron_res_routers, "PUT",
	        neutron_obj_path("routers", router_id, suffix), o, (void (*)(void))cb, arg, handle);
}

int neutron_router_add_interface(struct neutron *n, const char *router_id, const char *subnet_id,
        const char *port_id, neutron_done_cb cb, void *arg, struct neutron_call **handle)
{
	return router_interface(
	        n, "add_router_interface", router_id, subnet_id, port_id, cb, arg, handle);
}

int neutron_router_remove_interface(struct neutron *n, const char *router_id, const char *subnet_id,
        const char *port_id, neutron_done_cb cb, void *arg, struct neutron_call **handle)
{
	return router_interface(
	        n, "remove_router_interface", router_id, subnet_id, port_id, cb, arg, handle);
}

static struct json_object *fixed_ips_json(const struct neutron_fixed_ip_spec *ips, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *one = json_object_new_object();

		jadd_str(one, "subnet_id", ips[i].subnet_id);
		jadd_str(one, "ip_address", ips[i].ip_address);
		json_object_array_add(arr, one);
	}
	return arr;
}

int neutron_port_create(struct neutron *n, const struct neutron_port_spec *spec, neutron_port_cb cb,
        void *arg, struct neutron_call **handle)
{
	struct json_object *o;

	if (cb == NULL || spec == NULL || !neutron_id_ok(spec->network_id))
		return -EINVAL;
	o = json_object_new_object();
	jadd_str(o, "name", spec->name);
	jadd_str(o, "network_id", spec->network_id);
	jadd_str(o, "project_id", spec->project_id);
	jadd_str(o, "device_id", spec->device_id);
	jadd_str(o, "device_owner", spec->device_owner);
	if (spec->fixed_ips_len > 0)
		json_object_object_add(
		        o, "fixed_ips", fixed_ips_json(spec->fixed_ips, spec->fixed_ips_len));
	return neutron_call_start(n, NC_ONE, &neutron_res_ports, "POST", strdup("/v2.0/ports"),
	        wrap("port", o), (void (*)(void))cb, arg, handle);
}

int neutron_port_update_fixed_ips(struct neutron *n, const char *port_id,
        const struct neutron_fixed_ip_spec *fixed_ips, size_t fixed_ips_len, neutron_port_cb cb,
        void *arg, struct neutron_call **handle)
{
	struct json_object *o;

	if (cb == NULL || !neutron_id_ok(port_id))
		return -EINVAL;
	o = json_object_new_object();
	json_object_object_add(o, "fixed_ips", fixed_ips_json(fixed_ips, fixed_ips_len));
	return neutron_call_start(n, NC_ONE, &neutron_res_ports, "PUT",
	        neutron_obj_path("ports", port_id, ""), wrap("port", o), (void (*)(void))cb, arg,
	        handle);
}

int neutron_delete(struct neutron *n, const char *resource, const char *id, neutron_done_cb cb,
        void *arg, struct neutron_call **handle)
{
	static const struct nres *const all[] = {&neutron_res_ports, &neutron_res_routers,
	        &neutron_res_networks, &neutron_res_subnets};

	if (cb == NULL || !neutron_id_ok(id) || resource == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(resource, all[i]->collection) == 0)
			return neutron_call_start(n, NC_DONE, all[i], "DELETE",
			        neutron_obj_path(resource, id, ""), NULL, (void (*)(void))cb, arg,
			        handle);
	return -EINVAL;
}

/* ---- network reads, for the test lab ---- */

int neutron_network_get(struct neutron *n, const char *id, neutron_network_cb cb, void *arg,
        struct neutron_call **handle)
{
	return neutron_get_start(n, &neutron_res_networks, id, (void (*)(void))cb, arg, handle);
}

int neutron_networks_list(struct neutron *n, const struct neutron_network_filter *f,
        neutron_networks_cb cb, void *arg, struct neutron_call **handle)
{
	struct neutron_query q = {0};
	int r;

	if (cb == NULL)
		return -EINVAL;
	if (f != NULL) {
		neutron_query_add(&q, "name", f->name);
		neutron_query_add(&q, "project_id", f->project_id);
		if (f->router_external >= 0)
			neutron_query_add(
			        &q, "router:external", f->router_external ? "True" : "False");
	}
	r = neutron_list_start(
	        n, &neutron_res_networks, &q, NULL, 0, NULL, (void (*)(void))cb, arg, handle);
	free(q.s);
	return r;
}
