/*
 * Neutron's objects decoded from json-c: only the members PRaaS reads
 * (the fields= a listing asks for), each type-checked.
 */
#include "neutron-decode.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* A string member: 0 with *out allocated or NULL (absent or null);
 * -EPROTO when it is there but not a string. */
static int take_str(struct json_object *o, const char *key, char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EPROTO;
	*out = strdup(json_object_get_string(v));
	return *out == NULL ? -ENOMEM : 0;
}

static int take_bool(struct json_object *o, const char *key, bool *out)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EPROTO;
	*out = json_object_get_boolean(v);
	return 0;
}

/* id is the one member every object must have. */
static int take_id(struct json_object *o, char **out)
{
	int r = take_str(o, "id", out);

	if (r == 0 && *out == NULL)
		return -EPROTO;
	return r;
}

/* project_id, or tenant_id from servers that predate it. */
static int take_project(struct json_object *o, char **out)
{
	int r = take_str(o, "project_id", out);

	if (r == 0 && *out == NULL)
		r = take_str(o, "tenant_id", out);
	return r;
}

static void fixed_ips_clear(struct neutron_fixed_ip *ips, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ips[i].subnet_id);
		free(ips[i].ip_address);
	}
	free(ips);
}

static int take_fixed_ips(
        struct json_object *o, const char *key, struct neutron_fixed_ip **out, size_t *len)
{
	struct json_object *arr;
	size_t n;
	int r = 0;

	*out = NULL;
	*len = 0;
	if (!json_object_object_get_ex(o, key, &arr) || arr == NULL)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -EPROTO;
	n = json_object_array_length(arr);
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct json_object *ip = json_object_array_get_idx(arr, i);
		struct neutron_fixed_ip *f = &(*out)[i];

		if (!json_object_is_type(ip, json_type_object)) {
			r = -EPROTO;
			break;
		}
		(*len)++;
		if ((r = take_str(ip, "subnet_id", &f->subnet_id)) == 0 &&
		        (r = take_str(ip, "ip_address", &f->ip_address)) == 0 &&
		        f->ip_address != NULL && addr_parse(f->ip_address, &f->addr) < 0)
			f->addr.family = 0;
	}
	if (r < 0) {
		fixed_ips_clear(*out, *len);
		*out = NULL;
		*len = 0;
	}
	return r;
}

static int decode_check(struct json_object *obj)
{
	return obj != NULL && json_object_is_type(obj, json_type_object) ? 0 : -EPROTO;
}

void neutron_router_clear(struct neutron_router *r)
{
	free(r->id);
	free(r->name);
	free(r->project_id);
	free(r->status);
	free(r->gateway_network_id);
	fixed_ips_clear(r->gateway_ips, r->gateway_ips_len);
	memset(r, 0, sizeof(*r));
}

int neutron_router_decode(struct json_object *obj, struct neutron_router *out)
{
	struct json_object *gw;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_check(obj)) < 0)
		return r;
	if ((r = take_id(obj, &out->id)) == 0 && (r = take_str(obj, "name", &out->name)) == 0 &&
	        (r = take_project(obj, &out->project_id)) == 0 &&
	        (r = take_str(obj, "status", &out->status)) == 0 &&
	        (r = take_bool(obj, "distributed", &out->distributed)) == 0 &&
	        (r = take_bool(obj, "ha", &out->ha)) == 0 &&
	        json_object_object_get_ex(obj, "external_gateway_info", &gw) && gw != NULL) {
		if (!json_object_is_type(gw, json_type_object)) {
			r = -EPROTO;
		} else {
			out->has_gateway = true;
			if ((r = take_str(gw, "network_id", &out->gateway_network_id)) == 0)
				r = take_fixed_ips(gw, "external_fixed_ips", &out->gateway_ips,
				        &out->gateway_ips_len);
		}
	}
	if (r < 0)
		neutron_router_clear(out);
	return r;
}

void neutron_port_clear(struct neutron_port *p)
{
	free(p->id);
	free(p->name);
	free(p->device_id);
	free(p->device_owner);
	free(p->network_id);
	free(p->project_id);
	free(p->mac_address);
	free(p->status);
	fixed_ips_clear(p->fixed_ips, p->fixed_ips_len);
	memset(p, 0, sizeof(*p));
}

int neutron_port_decode(struct json_object *obj, struct neutron_port *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_check(obj)) < 0)
		return r;
	if ((r = take_id(obj, &out->id)) < 0 || (r = take_str(obj, "name", &out->name)) < 0 ||
	        (r = take_str(obj, "device_id", &out->device_id)) < 0 ||
	        (r = take_str(obj, "device_owner", &out->device_owner)) < 0 ||
	        (r = take_str(obj, "network_id", &out->network_id)) < 0 ||
	        (r = take_project(obj, &out->project_id)) < 0 ||
	        (r = take_str(obj, "mac_address", &out->mac_address)) < 0 ||
	        (r = take_str(obj, "status", &out->status)) < 0 ||
	        (r = take_fixed_ips(obj, "fixed_ips", &out->fixed_ips, &out->fixed_ips_len)) < 0)
		neutron_port_clear(out);
	return r;
}

void neutron_subnet_clear(struct neutron_subnet *s)
{
	free(s->id);
	free(s->name);
	free(s->network_id);
	free(s->project_id);
	free(s->cidr_text);
	free(s->gateway_ip);
	memset(s, 0, sizeof(*s));
}

int neutron_subnet_decode(struct json_object *obj, struct neutron_subnet *out)
{
	struct json_object *v;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_check(obj)) < 0)
		return r;
	if ((r = take_id(obj, &out->id)) < 0 || (r = take_str(obj, "name", &out->name)) < 0 ||
	        (r = take_str(obj, "network_id", &out->network_id)) < 0 ||
	        (r = take_project(obj, &out->project_id)) < 0 ||
	        (r = take_str(obj, "cidr", &out->cidr_text)) < 0 ||
	        (r = take_str(obj, "gateway_ip", &out->gateway_ip)) < 0)
		goto fail;
	if (json_object_object_get_ex(obj, "ip_version", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int)) {
			r = -EPROTO;
			goto fail;
		}
		out->ip_version = json_object_get_int(v);
	}
	if (out->cidr_text != NULL && cidr_parse(out->cidr_text, &out->cidr) < 0)
		memset(&out->cidr, 0, sizeof(out->cidr));
	return 0;
fail:
	neutron_subnet_clear(out);
	return r;
}

void neutron_network_clear(struct neutron_network *n)
{
	free(n->id);
	free(n->name);
	free(n->project_id);
	free(n->status);
	memset(n, 0, sizeof(*n));
}

int neutron_network_decode(struct json_object *obj, struct neutron_network *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_check(obj)) < 0)
		return r;
	if ((r = take_id(obj, &out->id)) < 0 || (r = take_str(obj, "name", &out->name)) < 0 ||
	        (r = take_project(obj, &out->project_id)) < 0 ||
	        (r = take_str(obj, "status", &out->status)) < 0 ||
	        (r = take_bool(obj, "router:external", &out->router_external)) < 0 ||
	        (r = take_bool(obj, "shared", &out->shared)) < 0)
		neutron_network_clear(out);
	return r;
}

/* The free functions of each type, written once. */
#define NEUTRON_FREES(type, list)                                                                  \
	void neutron_##type##_free(struct neutron_##type *x)                                       \
	{                                                                                          \
		if (x == NULL)                                                                     \
			return;                                                                    \
		neutron_##type##_clear(x);                                                         \
		free(x);                                                                           \
	}                                                                                          \
	void neutron_##list##_free(struct neutron_##list *l)                                       \
	{                                                                                          \
		if (l == NULL)                                                                     \
			return;                                                                    \
		for (size_t i = 0; i < l->len; i++)                                                \
			neutron_##type##_clear(&l->v[i]);                                          \
		free(l->v);                                                                        \
		free(l);                                                                           \
	}
NEUTRON_FREES(router, routers)
NEUTRON_FREES(port, ports)
NEUTRON_FREES(subnet, subnets)
NEUTRON_FREES(network, networks)
#undef NEUTRON_FREES

void neutron_router_interfaces_free(struct neutron_router_interfaces *ifs)
{
	if (ifs == NULL)
		return;
	for (size_t i = 0; i < ifs->ports.len; i++)
		neutron_port_clear(&ifs->ports.v[i]);
	free(ifs->ports.v);
	for (size_t i = 0; i < ifs->subnets.len; i++)
		neutron_subnet_clear(&ifs->subnets.v[i]);
	free(ifs->subnets.v);
	free(ifs);
}

bool neutron_is_router_interface(const char *owner)
{
	return owner != NULL &&
	        (strcmp(owner, "network:router_interface") == 0 ||
	                strcmp(owner, "network:router_interface_distributed") == 0 ||
	                strcmp(owner, "network:ha_router_replicated_interface") == 0);
}
