#include "decide.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
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

int actions_merge(struct actions *dst, struct actions *src)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < src->n; i++)
		r = push(dst, &src->v[i]);
	actions_free(src);
	if (r == 0)
		actions_dedup(dst);
	return r;
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

int decide_ids(const struct fwdset *s, const char ***port_ids, size_t *nports,
        const char ***router_ids, size_t *nrouters)
{
	const char **p = calloc(s->ports.n + 1, sizeof(*p));
	const char **r = calloc(s->routers.n + 1, sizeof(*r));
	size_t np = 0, nr = 0;

	if (p == NULL || r == NULL) {
		free(p);
		free(r);
		return -ENOMEM;
	}
	/* The tables hold each name once: only sorting is left. */
	for (uint32_t i = 0; i < s->ports.n; i++)
		p[np++] = fwdset_name(&s->ports, i);
	for (uint32_t i = 0; i < s->routers.n; i++)
		if (*fwdset_name(&s->routers, i) != '\0')
			r[nr++] = fwdset_name(&s->routers, i);
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

/*
 * Addresses at a stride: a port's (struct addr, back to back in the set)
 * and a router's (in struct neutron_fixed_ip) are searched by one code.
 */
struct addrs {
	const char *base;
	size_t n, stride;
};

static const struct addr *addrs_at(const struct addrs *v, size_t i)
{
	return (const struct addr *)(v->base + i * v->stride);
}

/* The first address of a family, or NULL. */
static const struct addr *first_of(const struct addrs *v, int family)
{
	for (size_t i = 0; i < v->n; i++)
		if (addrs_at(v, i)->family == family)
			return addrs_at(v, i);
	return NULL;
}

static bool holds(const struct addrs *v, const struct addr *a)
{
	for (size_t i = 0; i < v->n; i++)
		if (addr_equal(addrs_at(v, i), a))
			return true;
	return false;
}

/* The forwarding has moved, or not, from old to the first of v of its family. */
static int check_moved(enum action_kind kind, const char *id, const struct addr *old,
        const struct addrs *v, struct actions *out)
{
	const struct addr *now;
	struct action act;

	if (holds(v, old) || (now = first_of(v, old->family)) == NULL)
		return 0;
	memset(&act, 0, sizeof(act));
	act.kind = kind;
	snprintf(act.id, sizeof(act.id), "%s", id);
	act.old_ip = *old;
	act.new_ip = *now;
	return push(out, &act);
}

static int suspect(enum action_kind kind, const char *id, struct actions *out)
{
	struct action act;

	memset(&act, 0, sizeof(act));
	act.kind = kind;
	snprintf(act.id, sizeof(act.id), "%s", id);
	return push(out, &act);
}

static int check_port(const struct fwdset *s, const struct fwdset_rec *f, struct actions *out)
{
	const struct fwdset_port *p = fwdset_port_state(s, f->port);
	struct addr in = fwdset_addr(f->in_family, f->in);
	struct addrs v = {p->naddr ? (const char *)(s->addrs + p->addr_off) : NULL, p->naddr,
	        sizeof(struct addr)};

	if (!p->listed)
		return suspect(ACTION_PORT_SUSPECT, fwdset_port_id(s, f), out);
	/* The VM moved: follow it to its address of the same family, if it has one. */
	return check_moved(ACTION_PORT_MOVED, fwdset_port_id(s, f), &in, &v, out);
}

static int check_router(const struct fwdset *s, const struct fwdset_rec *f,
        const struct entry *routers, size_t nrouters, struct actions *out)
{
	const char *id = fwdset_router_id(s, f);
	const struct neutron_router *r = index_find(routers, nrouters, id);
	struct addr ext = fwdset_ext(s, f);
	struct addrs v;

	if (r == NULL)
		return suspect(ACTION_ROUTER_SUSPECT, id, out);
	if (ext.family == 0 || r->gateway_ips_len == 0)
		return 0;
	/* A router without a gateway keeps its forwardings: they come back with it. */
	v = (struct addrs){(const char *)&r->gateway_ips[0].addr, r->gateway_ips_len,
	        sizeof(struct neutron_fixed_ip)};
	return check_moved(ACTION_GATEWAY_CHANGED, id, &ext, &v, out);
}

int decide(const struct fwdset *s, const struct neutron_routers *routers, struct actions *out)
{
	return decide_scoped(s, routers, DECIDE_ALL, out);
}

int decide_scoped(const struct fwdset *s, const struct neutron_routers *routers, unsigned int scope,
        struct actions *out)
{
	size_t nr = routers ? routers->len : 0;
	struct entry *ri;
	int r = -ENOMEM;

	memset(out, 0, sizeof(*out));
	ri = index_build(routers ? routers->v : NULL, nr, sizeof(struct neutron_router),
	        offsetof(struct neutron_router, id));
	if (ri == NULL)
		goto out;
	r = 0;
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		if ((scope & DECIDE_PORTS) && s->v[i].port != FWDSET_NONE)
			r = check_port(s, &s->v[i], out);
		if (r == 0 && (scope & DECIDE_ROUTERS))
			r = check_router(s, &s->v[i], ri, nr, out);
	}
out:
	free(ri);
	if (r < 0)
		actions_free(out);
	else
		actions_dedup(out);
	return r;
}
