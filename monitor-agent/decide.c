#include "decide.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "array-grow.h"
#include "neutron.h"

/* Appends; duplicates are dropped once, at the end (actions_dedup), not here. */
static int push(struct actions *a, const struct action *act)
{
	struct action *v = array_grow(a->v, &a->cap, a->n, sizeof(*v), 16);

	if (v == NULL)
		return -ENOMEM;
	a->v = v;
	a->v[a->n++] = *act;
	return 0;
}

/* A total order on actions: what they report, then for which id and address. */
static int cmp_action(const void *pa, const void *pb)
{
	const struct action *a = pa, *b = pb;
	int r;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((r = strcmp(a->id, b->id)) != 0)
		return r;
	if (a->old_ip.family != b->old_ip.family)
		return a->old_ip.family < b->old_ip.family ? -1 : 1;
	return memcmp(a->old_ip.u.bytes, b->old_ip.u.bytes, addr_len(&a->old_ip));
}

/*
 * Many forwardings lead to one conclusion (ten ports forwarded to one VM):
 * sorting then dropping neighbours keeps that O(N log N), where a search
 * of what was already pushed would be O(N^2) for 10,000 forwardings.
 */
static void actions_dedup(struct actions *a)
{
	size_t out = 0;

	if (a->n == 0)
		return;
	qsort(a->v, a->n, sizeof(*a->v), cmp_action);
	for (size_t i = 0; i < a->n; i++)
		if (out == 0 || cmp_action(&a->v[out - 1], &a->v[i]) != 0)
			a->v[out++] = a->v[i];
	a->n = out;
}

void actions_free(struct actions *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, distinct. */
static size_t uniq(const char **v, size_t n)
{
	size_t out = 0;

	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || strcmp(v[out - 1], v[i]) != 0)
			v[out++] = v[i];
	return out;
}

int decide_ids(const struct forwarding *fwds, size_t n, const char ***port_ids, size_t *nports,
        const char ***router_ids, size_t *nrouters)
{
	const char **p = calloc(n + 1, sizeof(*p)), **r = calloc(n + 1, sizeof(*r));
	size_t np = 0, nr = 0;

	if (p == NULL || r == NULL) {
		free(p);
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (fwds[i].internal_port_id[0] != '\0')
			p[np++] = fwds[i].internal_port_id;
		if (fwds[i].router_id[0] != '\0')
			r[nr++] = fwds[i].router_id;
	}
	*port_ids = p;
	*nports = uniq(p, np);
	*router_ids = r;
	*nrouters = uniq(r, nr);
	return 0;
}

/*
 * Listings indexed by id, so each forwarding costs O(log N) to check:
 * 10,000 forwardings must not mean 10,000 x 10,000 comparisons.
 */
struct entry {
	const char *id;
	const void *ptr;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

static struct entry *index_build(const void *base, size_t len, size_t size, size_t id_offset)
{
	struct entry *e = calloc(len + 1, sizeof(*e));

	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		const char *obj = (const char *)base + i * size;
		e[i].id = *(char *const *)(obj + id_offset);
		e[i].ptr = obj;
		if (e[i].id == NULL)
			e[i].id = "";
	}
	qsort(e, len, sizeof(*e), cmp_entry);
	return e;
}

static const void *index_find(const struct entry *e, size_t len, const char *id)
{
	struct entry key = {.id = id};
	const struct entry *hit = bsearch(&key, e, len, sizeof(*e), cmp_entry);

	return hit ? hit->ptr : NULL;
}

/* The first address of a family among fixed IPs, or NULL. */
static const struct addr *first_of(const struct neutron_fixed_ip *ips, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (ips[i].addr.family == family)
			return &ips[i].addr;
	return NULL;
}

static bool holds(const struct neutron_fixed_ip *ips, size_t n, const struct addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (addr_equal(&ips[i].addr, a))
			return true;
	return false;
}

static int check_port(
        const struct forwarding *f, const struct entry *ports, size_t nports, struct actions *out)
{
	const struct neutron_port *p = index_find(ports, nports, f->internal_port_id);
	const struct addr *now;
	struct action act;

	memset(&act, 0, sizeof(act));
	strcpy(act.id, f->internal_port_id);
	if (p == NULL) {
		act.kind = ACTION_PORT_SUSPECT;
		return push(out, &act);
	}
	if (holds(p->fixed_ips, p->fixed_ips_len, &f->internal_addr))
		return 0;
	/* The VM moved: follow it to its address of the same family, if it has one. */
	now = first_of(p->fixed_ips, p->fixed_ips_len, f->internal_addr.family);
	if (now == NULL)
		return 0;
	act.kind = ACTION_PORT_MOVED;
	act.old_ip = f->internal_addr;
	act.new_ip = *now;
	return push(out, &act);
}

static int check_router(const struct forwarding *f, const struct entry *routers, size_t nrouters,
        struct actions *out)
{
	const struct neutron_router *r = index_find(routers, nrouters, f->router_id);
	const struct addr *now;
	struct action act;

	memset(&act, 0, sizeof(act));
	strcpy(act.id, f->router_id);
	if (r == NULL) {
		act.kind = ACTION_ROUTER_SUSPECT;
		return push(out, &act);
	}
	if (f->external_addr.family == 0 ||
	        holds(r->gateway_ips, r->gateway_ips_len, &f->external_addr))
		return 0;
	/* A router without a gateway keeps its forwardings: they come back with it. */
	now = first_of(r->gateway_ips, r->gateway_ips_len, f->external_addr.family);
	if (now == NULL)
		return 0;
	act.kind = ACTION_GATEWAY_CHANGED;
	act.old_ip = f->external_addr;
	act.new_ip = *now;
	return push(out, &act);
}

int decide(const struct forwarding *fwds, size_t n, const struct neutron_ports *ports,
        const struct neutron_routers *routers, struct actions *out)
{
	return decide_scoped(fwds, n, ports, routers, DECIDE_ALL, out);
}

int decide_scoped(const struct forwarding *fwds, size_t n, const struct neutron_ports *ports,
        const struct neutron_routers *routers, unsigned int scope, struct actions *out)
{
	size_t np = ports ? ports->len : 0, nr = routers ? routers->len : 0;
	struct entry *pi, *ri;
	int r = -ENOMEM;

	memset(out, 0, sizeof(*out));
	pi = index_build(ports ? ports->v : NULL, np, sizeof(struct neutron_port),
	        offsetof(struct neutron_port, id));
	ri = index_build(routers ? routers->v : NULL, nr, sizeof(struct neutron_router),
	        offsetof(struct neutron_router, id));
	if (pi == NULL || ri == NULL)
		goto out;
	r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((scope & DECIDE_PORTS) && fwds[i].internal_port_id[0] != '\0')
			r = check_port(&fwds[i], pi, np, out);
		if (r == 0 && (scope & DECIDE_ROUTERS))
			r = check_router(&fwds[i], ri, nr, out);
	}
out:
	free(pi);
	free(ri);
	if (r < 0)
		actions_free(out);
	else
		actions_dedup(out);
	return r;
}
