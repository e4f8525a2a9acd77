/*
 * PRaaS's OpenStack client (lib/keystone, lib/neutron over lib/http)
 * against the real Keystone and Neutron that test/openstack/start.sh runs
 * on 127.0.0.1:
 *
 * - tokens for admin, demo and alt_demo; their validation (and the cache);
 *   a garbage token rejected;
 * - the catalog's identity and network endpoints;
 * - as demo: a router with a gateway on the external network "public", a
 *   tenant network and subnet, a router interface; then the router's
 *   gateway fixed IP, its interfaces and their subnets' cidrs read back;
 * - a port standing in for a VM (device_owner compute:nova), found by its
 *   fixed IP and by its device;
 * - isolation: demo neither gets nor lists alt_demo's router or ports;
 * - pagination over at least 3 pages, and an id filter split in chunks;
 * - everything created is deleted at the end, even after failed checks,
 *   and the deletion itself is checked; leftovers of runs that were killed
 *   before their cleanup are swept at the start.
 *
 * Usage: test-openstack-real [clouds.yaml]; default $PRAAS_OS_CLOUDS_YAML,
 * else /etc/praas-openstack/clouds.yaml. Exits 77 when the OpenStack is not
 * running, 1 when a check failed. Ends with "N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oslab.h"

#define DEFAULT_CLOUDS "/etc/praas-openstack/clouds.yaml"
#define PAGE_PORTS     7 /* with a page size of 3: pages of 3, 3 and 1 */
#define PAGE_SIZE      3

/* What the cases create and hand to the next ones. */
struct state {
	char tag[48]; /* unique per run, in every name */
	/* the tenant subnet, its gateway, the VM's IP and an unused one: the
	 * third octet comes from the pid, so that runs in parallel (other
	 * build dirs) do not find each other's VM by fixed IP */
	char cidr[32], gw[32], vm_ip[32], unused_ip[32];
	char public_id[64];
	char net_id[64];
	char subnet_id[64];
	char router_id[64];
	char gateway_ip[64];
	char vm_port_id[64];
	char vm_device_id[64];
	char alt_router_id[64];
	char page_ids[PAGE_PORTS][64];
	size_t page_ids_len;
};

static void state_init(struct state *st)
{
	int octet = 1 + (int)(getpid() % 250);

	memset(st, 0, sizeof(*st));
	snprintf(st->tag, sizeof(st->tag), "praas-test-%ld-%ld", (long)getpid(), (long)time(NULL));
	snprintf(st->cidr, sizeof(st->cidr), "10.77.%d.0/24", octet);
	snprintf(st->gw, sizeof(st->gw), "10.77.%d.1", octet);
	snprintf(st->vm_ip, sizeof(st->vm_ip), "10.77.%d.10", octet);
	snprintf(st->unused_ip, sizeof(st->unused_ip), "10.77.%d.11", octet);
}

static void copy_id(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static bool has_id_router(const struct neutron_routers *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return true;
	return false;
}

static bool has_id_port(const struct neutron_ports *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return true;
	return false;
}

/* A call that failed: one FAIL with its words, and false. */
static bool failed(struct oslab *lab, struct res *r, const char *what)
{
	check_ok(lab, r->err, what);
	res_clear(r);
	return false;
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ----------------------------------------------------------- Keystone */

static void token_case(struct oslab *lab, struct oscloud *c, const char *project, bool admin)
{
	const struct keystone_token_info *info;
	struct res r;

	if (!SYNC(lab, r, keystone_authenticate(c->ks, cb_auth, &r, NULL))) {
		failed(lab, &r, "token issue");
		return;
	}
	res_clear(&r);
	info = keystone_token_info(c->ks);
	check(lab, keystone_token(c->ks) != NULL && info != NULL, "%s: token issued", c->name);
	if (info == NULL)
		return;
	check(lab, str_eq(info->project_name, project) && info->project_id != NULL,
	        "%s: token scoped to project %s", c->name, project);
	check(lab, info->expires_at > time(NULL) + 600, "%s: token valid for more than 10 min",
	        c->name);
	if (admin)
		check(lab, keystone_token_has_role(info, "admin"), "%s: role admin", c->name);
	else
		check(lab,
		        keystone_token_has_role(info, "member") &&
		                !keystone_token_has_role(info, "admin"),
		        "%s: role member and not admin", c->name);
}

static void validate_case(struct oslab *lab, struct oscloud *c, const char *user)
{
	const struct keystone_token_info *own = keystone_token_info(c->ks);
	const char *token = keystone_token(c->ks);
	struct res r;

	if (token == NULL || own == NULL) {
		check(lab, false, "%s: no token to validate", c->name);
		return;
	}
	/* PRaaS validates its callers with its own (admin) token */
	if (!SYNC(lab, r, keystone_validate(lab->admin.ks, token, cb_validate, &r, NULL))) {
		failed(lab, &r, "validate a token");
		return;
	}
	check(lab,
	        str_eq(r.info.user_name, user) && str_eq(r.info.project_id, own->project_id) &&
	                str_eq(r.info.user_id, own->user_id),
	        "%s's token validates to user %s, project %s", c->name, user, own->project_id);
	check(lab, r.info.expires_at == own->expires_at, "%s's validated expiry is the token's",
	        c->name);
	check(lab, keystone_token_has_role(&r.info, str_eq(user, "admin") ? "admin" : "member"),
	        "%s's validated roles", c->name);
	res_clear(&r);
}

static void garbage_case(struct oslab *lab)
{
	struct res r;

	SYNC(lab, r,
	        keystone_validate(
	                lab->admin.ks, "gAAAAABgarbage-not-a-token", cb_validate, &r, NULL));
	check(lab, r.err != NULL && r.err->code == -EKEYREJECTED,
	        "garbage token rejected (-EKEYREJECTED), got %d status %ld",
	        r.err != NULL ? r.err->code : 0, r.err != NULL ? r.err->status : 200L);
	res_clear(&r);
}

static void cache_case(struct oslab *lab)
{
	const struct keystone_stats *st = keystone_stats(lab->admin.ks);
	unsigned int hits = st->cache_hits, sent = st->validations;
	struct res r;

	SYNC(lab, r,
	        keystone_validate(
	                lab->admin.ks, keystone_token(lab->demo.ks), cb_validate, &r, NULL));
	check(lab, r.err == NULL && str_eq(r.info.user_name, "demo"),
	        "second validation of demo's token succeeds");
	check(lab, st->cache_hits == hits + 1 && st->validations == sent,
	        "second validation answered from the cache (hits %u->%u, sent %u->%u)", hits,
	        st->cache_hits, sent, st->validations);
	res_clear(&r);
}

static void catalog_case(struct oslab *lab)
{
	char *url = NULL, *cause = NULL;
	char want[512];
	int r;

	snprintf(want, sizeof(want), "%s", lab->demo.cloud.auth_url);
	if (strlen(want) > 0 && want[strlen(want) - 1] == '/')
		want[strlen(want) - 1] = '\0';
	r = keystone_endpoint(lab->demo.ks, "identity", &url, &cause);
	check(lab, r == 0 && str_eq(url, want), "catalog: identity endpoint %s (want %s)",
	        url != NULL ? url : cause, want);
	free(url);
	free(cause);
	url = cause = NULL;
	r = keystone_endpoint(lab->demo.ks, "network", &url, &cause);
	check(lab,
	        r == 0 && url != NULL && strncmp(url, "http://127.0.0.1:", 17) == 0 &&
	                strstr(url, "/v3") == NULL,
	        "catalog: network endpoint %s", url != NULL ? url : cause);
	free(url);
	free(cause);
	url = cause = NULL;
	r = keystone_endpoint(lab->demo.ks, "praas-no-such-service", &url, &cause);
	check(lab, r == -ENOENT && url == NULL && cause != NULL,
	        "catalog: unknown service type is -ENOENT (%s)", cause != NULL ? cause : "");
	free(url);
	free(cause);
}

/* ------------------------------------------------------------ Neutron */

static bool find_public(struct oslab *lab, struct state *st)
{
	struct neutron_network_filter f = {.name = "public", .router_external = 1};
	struct neutron_networks *l;
	struct res r;
	bool ok;

	if (!SYNC(lab, r, neutron_networks_list(lab->demo.nt, &f, cb_networks, &r, NULL)))
		return failed(lab, &r, "list external networks");
	l = r.obj;
	ok = check(lab, l->len == 1 && l->v[0].router_external,
	        "demo sees exactly one external network \"public\" (%zu)", l->len);
	if (ok)
		copy_id(st->public_id, sizeof(st->public_id), l->v[0].id);
	neutron_networks_free(l);
	return ok;
}

static bool make_tenant_net(struct oslab *lab, struct state *st)
{
	char name[96];
	struct neutron_network_spec ns = {.name = name};
	struct neutron_subnet_spec ss = {.name = name, .cidr = st->cidr, .ip_version = 4};
	struct neutron_subnet *s;
	struct res r;

	snprintf(name, sizeof(name), "%s-net", st->tag);
	if (!SYNC(lab, r, neutron_network_create(lab->demo.nt, &ns, cb_network, &r, NULL)))
		return failed(lab, &r, "demo creates a network");
	copy_id(st->net_id, sizeof(st->net_id), ((struct neutron_network *)r.obj)->id);
	oslab_created(lab, &lab->demo, "networks", st->net_id, NULL);
	check(lab,
	        str_eq(((struct neutron_network *)r.obj)->project_id,
	                keystone_token_info(lab->demo.ks)->project_id),
	        "network belongs to project demo");
	neutron_network_free(r.obj);

	ss.network_id = st->net_id;
	if (!SYNC(lab, r, neutron_subnet_create(lab->demo.nt, &ss, cb_subnet, &r, NULL)))
		return failed(lab, &r, "demo creates a subnet");
	s = r.obj;
	copy_id(st->subnet_id, sizeof(st->subnet_id), s->id);
	check(lab,
	        str_eq(s->cidr_text, st->cidr) && s->cidr.prefixlen == 24 &&
	                str_eq(s->gateway_ip, st->gw),
	        "subnet %s, gateway %s", st->cidr, st->gw);
	neutron_subnet_free(s);
	return true;
}

static bool make_router(struct oslab *lab, struct state *st)
{
	char name[96];
	struct neutron_router_spec rs = {.name = name, .external_network_id = st->public_id};
	struct neutron_router *rt;
	struct cidr pub;
	struct res r;
	bool ok;

	snprintf(name, sizeof(name), "%s-router", st->tag);
	if (!SYNC(lab, r, neutron_router_create(lab->demo.nt, &rs, cb_router, &r, NULL)))
		return failed(lab, &r, "demo creates a router with a gateway");
	rt = r.obj;
	copy_id(st->router_id, sizeof(st->router_id), rt->id);
	oslab_created(lab, &lab->demo, "routers", rt->id, NULL);
	if (cidr_parse("172.24.4.0/24", &pub) < 0)
		return check(lab, false, "cidr_parse"), neutron_router_free(rt), false;
	ok = check(lab,
	        rt->has_gateway && str_eq(rt->gateway_network_id, st->public_id) &&
	                rt->gateway_ips_len == 1 && cidr_contains(&pub, &rt->gateway_ips[0].addr),
	        "router created with a gateway on public, IP %s in 172.24.4.0/24",
	        rt->gateway_ips_len > 0 ? rt->gateway_ips[0].ip_address : "(none)");
	if (ok)
		copy_id(st->gateway_ip, sizeof(st->gateway_ip), rt->gateway_ips[0].ip_address);
	neutron_router_free(rt);

	if (!SYNC(lab, r,
	            neutron_router_add_interface(
	                    lab->demo.nt, st->router_id, st->subnet_id, NULL, cb_done, &r, NULL)))
		return failed(lab, &r, "add a router interface");
	oslab_created(lab, &lab->demo, "interface", st->router_id, st->subnet_id);
	return check(lab, true, "router interface added on the subnet") && ok;
}

static void read_router(struct oslab *lab, struct state *st)
{
	struct neutron_router *rt;
	struct res r;

	if (!SYNC(lab, r, neutron_router_get(lab->demo.nt, st->router_id, cb_router, &r, NULL))) {
		failed(lab, &r, "get the router");
		return;
	}
	rt = r.obj;
	check(lab,
	        str_eq(rt->id, st->router_id) && rt->has_gateway && rt->gateway_ips_len == 1 &&
	                str_eq(rt->gateway_ips[0].ip_address, st->gateway_ip) &&
	                str_eq(rt->project_id, keystone_token_info(lab->demo.ks)->project_id),
	        "router read back: gateway fixed IP %s, project demo", st->gateway_ip);
	neutron_router_free(rt);
}

static void read_interfaces(struct oslab *lab, struct state *st)
{
	struct neutron_router_interfaces *ifs;
	const struct neutron_port *p;
	struct res r;

	if (!SYNC(lab, r,
	            neutron_router_interfaces(
	                    lab->demo.nt, st->router_id, cb_interfaces, &r, NULL))) {
		failed(lab, &r, "router interfaces");
		return;
	}
	ifs = r.obj;
	p = ifs->ports.len == 1 ? &ifs->ports.v[0] : NULL;
	check(lab,
	        p != NULL && neutron_is_router_interface(p->device_owner) &&
	                str_eq(p->device_id, st->router_id) && p->fixed_ips_len == 1 &&
	                str_eq(p->fixed_ips[0].ip_address, st->gw) &&
	                str_eq(p->fixed_ips[0].subnet_id, st->subnet_id),
	        "one interface port, %s on our subnet (%zu ports)", st->gw, ifs->ports.len);
	check(lab,
	        ifs->subnets.len == 1 && str_eq(ifs->subnets.v[0].id, st->subnet_id) &&
	                str_eq(ifs->subnets.v[0].cidr_text, st->cidr) &&
	                ifs->subnets.v[0].cidr.addr.family != 0,
	        "the interface's subnet has cidr %s (%zu subnets)", st->cidr, ifs->subnets.len);
	neutron_router_interfaces_free(ifs);
}

static void random_uuid(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static bool make_vm_port(struct oslab *lab, struct state *st)
{
	char name[96];
	struct neutron_fixed_ip_spec ip = {.subnet_id = st->subnet_id, .ip_address = st->vm_ip};
	struct neutron_port_spec ps = {.name = name,
	        .network_id = st->net_id,
	        .device_id = st->vm_device_id,
	        .device_owner = "compute:nova",
	        .fixed_ips = &ip,
	        .fixed_ips_len = 1};
	struct neutron_port *p;
	struct res r;

	snprintf(name, sizeof(name), "%s-vm", st->tag);
	random_uuid(st->vm_device_id, sizeof(st->vm_device_id));
	if (!SYNC(lab, r, neutron_port_create(lab->demo.nt, &ps, cb_port, &r, NULL)))
		return failed(lab, &r, "demo creates a compute:nova port");
	p = r.obj;
	copy_id(st->vm_port_id, sizeof(st->vm_port_id), p->id);
	oslab_created(lab, &lab->demo, "ports", p->id, NULL);
	check(lab,
	        str_eq(p->device_owner, "compute:nova") && str_eq(p->device_id, st->vm_device_id) &&
	                p->fixed_ips_len == 1 && str_eq(p->fixed_ips[0].ip_address, st->vm_ip),
	        "VM port created: compute:nova, %s", st->vm_ip);
	neutron_port_free(p);
	return true;
}

static void ports_lookup(struct oslab *lab, struct oscloud *c, const struct neutron_port_filter *f,
        const char *want_id, const char *what)
{
	struct neutron_ports *l;
	struct res r;

	if (!SYNC(lab, r, neutron_ports_list(c->nt, f, cb_ports, &r, NULL))) {
		failed(lab, &r, what);
		return;
	}
	l = r.obj;
	if (want_id != NULL)
		check(lab,
		        l->len == 1 && str_eq(l->v[0].id, want_id) &&
		                str_eq(l->v[0].device_owner, "compute:nova") &&
		                l->v[0].fixed_ips_len == 1,
		        "%s: exactly the VM port (%zu found)", what, l->len);
	else
		check(lab, l->len == 0, "%s: nothing (%zu found)", what, l->len);
	neutron_ports_free(l);
}

static void vm_lookups(struct oslab *lab, struct state *st)
{
	struct neutron_port_filter by_ip = {.ip_address = st->vm_ip, .network_id = st->net_id};
	struct neutron_port_filter by_ip_only = {.ip_address = st->vm_ip};
	struct neutron_port_filter by_dev = {.device_id = st->vm_device_id};
	struct neutron_port_filter other = {.ip_address = st->unused_ip, .network_id = st->net_id};
	struct res r;

	ports_lookup(lab, &lab->demo, &by_ip, st->vm_port_id, "demo: ports by fixed IP + network");
	ports_lookup(lab, &lab->demo, &by_ip_only, st->vm_port_id, "demo: ports by fixed IP");
	ports_lookup(lab, &lab->demo, &by_dev, st->vm_port_id, "demo: ports by device_id");
	ports_lookup(lab, &lab->demo, &other, NULL, "demo: ports by an unused fixed IP");
	ports_lookup(lab, &lab->alt, &by_ip_only, NULL, "alt_demo: demo's VM IP");

	if (SYNC(lab, r, neutron_port_get(lab->demo.nt, st->vm_port_id, cb_port, &r, NULL))) {
		struct neutron_port *p = r.obj;

		check(lab,
		        str_eq(p->network_id, st->net_id) && str_eq(p->device_id, st->vm_device_id),
		        "VM port read back by id");
		neutron_port_free(p);
	} else {
		check_ok(lab, r.err, "get the VM port");
	}
	res_clear(&r);
}

static void isolation_case(struct oslab *lab, struct state *st)
{
	char name[96];
	struct neutron_router_spec rs = {.name = name};
	const char *ids[1];
	struct neutron_router_filter f = {.ids = ids, .ids_len = 1};
	struct neutron_routers *l;
	struct res r;

	snprintf(name, sizeof(name), "%s-alt-router", st->tag);
	if (!SYNC(lab, r, neutron_router_create(lab->alt.nt, &rs, cb_router, &r, NULL))) {
		failed(lab, &r, "alt_demo creates a router");
		return;
	}
	copy_id(st->alt_router_id, sizeof(st->alt_router_id), ((struct neutron_router *)r.obj)->id);
	oslab_created(lab, &lab->alt, "routers", st->alt_router_id, NULL);
	neutron_router_free(r.obj);

	SYNC(lab, r, neutron_router_get(lab->demo.nt, st->alt_router_id, cb_router, &r, NULL));
	check(lab, r.obj == NULL && r.err != NULL && r.err->code == -ENOENT && r.err->status == 404,
	        "demo gets alt_demo's router: 404 (%ld)", r.err != NULL ? r.err->status : 200L);
	neutron_router_free(r.obj);
	res_clear(&r);

	if (SYNC(lab, r, neutron_routers_list(lab->demo.nt, NULL, cb_routers, &r, NULL))) {
		l = r.obj;
		check(lab, has_id_router(l, st->router_id) && !has_id_router(l, st->alt_router_id),
		        "demo's router list has its router, not alt_demo's (%zu routers)", l->len);
		neutron_routers_free(l);
	} else {
		check_ok(lab, r.err, "demo lists routers");
	}
	res_clear(&r);

	ids[0] = st->alt_router_id;
	if (SYNC(lab, r, neutron_routers_list(lab->demo.nt, &f, cb_routers, &r, NULL))) {
		l = r.obj;
		check(lab, l->len == 0, "demo lists alt_demo's router by id: nothing (%zu)",
		        l->len);
		neutron_routers_free(l);
	} else {
		check_ok(lab, r.err, "demo lists routers by id");
	}
	res_clear(&r);

	if (SYNC(lab, r, neutron_routers_list(lab->admin.nt, NULL, cb_routers, &r, NULL))) {
		l = r.obj;
		check(lab, has_id_router(l, st->router_id) && has_id_router(l, st->alt_router_id),
		        "admin lists both routers");
		neutron_routers_free(l);
	} else {
		check_ok(lab, r.err, "admin lists routers");
	}
	res_clear(&r);
}

static bool make_page_ports(struct oslab *lab, struct state *st)
{
	struct neutron_port_spec ps = {.network_id = st->net_id};
	char name[96];
	struct res r;
	size_t i;

	ps.name = name;
	for (i = 0; i < PAGE_PORTS; i++) {
		snprintf(name, sizeof(name), "%s-page-%zu", st->tag, i);
		if (!SYNC(lab, r, neutron_port_create(lab->demo.nt, &ps, cb_port, &r, NULL)))
			return failed(lab, &r, "create a port to page over");
		copy_id(st->page_ids[i], sizeof(st->page_ids[i]),
		        ((struct neutron_port *)r.obj)->id);
		st->page_ids_len = i + 1;
		oslab_created(lab, &lab->demo, "ports", st->page_ids[i], NULL);
		neutron_port_free(r.obj);
	}
	return check(lab, true, "%d ports created to page over", PAGE_PORTS);
}

/* Lists with filter f; checks every page id came back once, and the calls made. */
static void page_list(struct oslab *lab, struct state *st, const struct neutron_port_filter *f,
        size_t want_len, unsigned int min_requests, const char *what)
{
	unsigned int before = neutron_stats(lab->demo.nt)->requests, made;
	struct neutron_ports *l;
	struct res r;
	size_t i, found = 0;

	if (!SYNC(lab, r, neutron_ports_list(lab->demo.nt, f, cb_ports, &r, NULL))) {
		failed(lab, &r, what);
		return;
	}
	made = neutron_stats(lab->demo.nt)->requests - before;
	l = r.obj;
	for (i = 0; i < st->page_ids_len; i++)
		found += has_id_port(l, st->page_ids[i]);
	check(lab, l->len == want_len && found == st->page_ids_len && made >= min_requests,
	        "%s: %zu ports (want %zu, %zu of ours) in %u requests (want >= %u)", what, l->len,
	        want_len, found, made, min_requests);
	neutron_ports_free(l);
}

static void pagination_case(struct oslab *lab, struct state *st)
{
	const char *ids[PAGE_PORTS];
	struct neutron_port_filter by_ids = {.ids = ids, .ids_len = PAGE_PORTS};
	struct neutron_port_filter by_net = {.network_id = st->net_id};
	size_t i;

	if (!make_page_ports(lab, st))
		return;
	for (i = 0; i < PAGE_PORTS; i++)
		ids[i] = st->page_ids[i];
	neutron_set_page_size(lab->demo.nt, PAGE_SIZE);
	/* 7 ids, 3 a page: pages of 3, 3, 1 */
	page_list(lab, st, &by_ids, PAGE_PORTS, 3, "ids, limit 3");
	/* the network also holds the router interface and the VM port: 9 */
	page_list(lab, st, &by_net, PAGE_PORTS + 2, 3, "network, limit 3");
	/* a URL bound that fits about two ids: the filter is split and merged */
	neutron_set_max_url(lab->demo.nt, 300);
	neutron_set_page_size(lab->demo.nt, NEUTRON_DEFAULT_PAGE_SIZE);
	page_list(lab, st, &by_ids, PAGE_PORTS, 3, "ids split over short URLs");
	neutron_set_max_url(lab->demo.nt, NEUTRON_DEFAULT_MAX_URL);
}

/* After cleanup nothing of ours is left: admin sees none of it. */
static void cleanup_verified(struct oslab *lab, struct state *st)
{
	const char *gone[] = {st->router_id, st->alt_router_id};
	struct neutron_port_filter by_net = {.network_id = st->net_id};
	struct res r;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (gone[i][0] == '\0')
			continue;
		SYNC(lab, r, neutron_router_get(lab->admin.nt, gone[i], cb_router, &r, NULL));
		check(lab, r.err != NULL && r.err->code == -ENOENT, "after cleanup: router %s gone",
		        gone[i]);
		neutron_router_free(r.obj);
		res_clear(&r);
	}
	if (st->net_id[0] == '\0')
		return;
	SYNC(lab, r, neutron_network_get(lab->admin.nt, st->net_id, cb_network, &r, NULL));
	check(lab, r.err != NULL && r.err->code == -ENOENT, "after cleanup: network gone");
	neutron_network_free(r.obj);
	res_clear(&r);
	if (SYNC(lab, r, neutron_ports_list(lab->admin.nt, &by_net, cb_ports, &r, NULL)))
		check(lab, ((struct neutron_ports *)r.obj)->len == 0,
		        "after cleanup: no ports left");
	else
		check_ok(lab, r.err, "after cleanup: list ports");
	neutron_ports_free(r.obj);
	res_clear(&r);
}

static void run(struct oslab *lab, struct state *st)
{
	token_case(lab, &lab->admin, "admin", true);
	token_case(lab, &lab->demo, "demo", false);
	token_case(lab, &lab->alt, "alt_demo", false);
	validate_case(lab, &lab->admin, "admin");
	validate_case(lab, &lab->demo, "demo");
	validate_case(lab, &lab->alt, "alt_demo");
	garbage_case(lab);
	cache_case(lab);
	catalog_case(lab);

	if (!find_public(lab, st) || !make_tenant_net(lab, st) || !make_router(lab, st))
		return;
	read_router(lab, st);
	read_interfaces(lab, st);
	if (make_vm_port(lab, st))
		vm_lookups(lab, st);
	isolation_case(lab, st);
	pagination_case(lab, st);
}

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : getenv("PRAAS_OS_CLOUDS_YAML");
	struct oslab lab;
	struct state st;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (file == NULL || *file == '\0')
		file = DEFAULT_CLOUDS;
	rc = oslab_open(&lab, file);
	if (rc != 0) {
		oslab_close(&lab);
		return rc;
	}
	oslab_sweep(&lab);
	state_init(&st);
	run(&lab, &st);
	oslab_cleanup(&lab);
	cleanup_verified(&lab, &st);
	oslab_close(&lab);
	printf("%d passed, %d failed\n", lab.passed, lab.failed);
	return lab.failed == 0 ? 0 : 1;
}
