#include "fwdset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "array-grow.h"
#include "neutron.h"
#include "siphash.h"

void fwdset_init(struct fwdset *s)
{
	memset(s, 0, sizeof(*s));
	/* A fixed key is only weaker against crafted ids, never wrong. */
	if (getrandom(s->key, sizeof(s->key), GRND_NONBLOCK) != (ssize_t)sizeof(s->key))
		memset(s->key, 0, sizeof(s->key));
}

static void names_free(struct fwdset_names *t)
{
	free(t->text);
	free(t->off);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

void fwdset_free(struct fwdset *s)
{
	free(s->v);
	names_free(&s->routers);
	names_free(&s->ports);
	names_free(&s->exts);
	names_free(&s->pairs);
	free(s->ext_addrs);
	free(s->port_state);
	free(s->addrs);
	memset(s, 0, sizeof(*s));
}

const char *fwdset_name(const struct fwdset_names *t, uint32_t i)
{
	return i < t->n ? t->text + t->off[i] : "";
}

/* The slot that holds name, or the free slot where it would go. */
static size_t names_slot(const struct fwdset *s, const struct fwdset_names *t, const char *name)
{
	size_t mask = t->nslots - 1;
	size_t h = (size_t)siphash24(s->key, name, strlen(name)) & mask;

	while (t->slots[h] != 0 && strcmp(fwdset_name(t, t->slots[h] - 1), name) != 0)
		h = (h + 1) & mask;
	return h;
}

uint32_t fwdset_find(const struct fwdset *s, const struct fwdset_names *t, const char *name)
{
	uint32_t v;

	if (t->nslots == 0)
		return FWDSET_NONE;
	v = t->slots[names_slot(s, t, name)];
	return v == 0 ? FWDSET_NONE : v - 1;
}

/* Keeps the table at most half full: doubles and re-slots. */
static int names_rehash(const struct fwdset *s, struct fwdset_names *t)
{
	size_t nslots = t->nslots ? t->nslots * 2 : 64;
	uint32_t *old = t->slots;

	if ((t->slots = calloc(nslots, sizeof(*t->slots))) == NULL) {
		t->slots = old;
		return -ENOMEM;
	}
	t->nslots = nslots;
	for (uint32_t i = 0; i < t->n; i++)
		t->slots[names_slot(s, t, fwdset_name(t, i))] = i + 1;
	free(old);
	return 0;
}

/* The index of name, added if new. */
static int names_intern(
        const struct fwdset *s, struct fwdset_names *t, const char *name, uint32_t *out)
{
	size_t len = strlen(name) + 1, h;
	char *text;
	uint32_t *off;

	if ((*out = fwdset_find(s, t, name)) != FWDSET_NONE)
		return 0;
	if (t->n >= UINT32_MAX - 1 || t->used + len > UINT32_MAX)
		return -ENOMEM;
	if ((t->n + 1) * 2 > t->nslots && names_rehash(s, t) < 0)
		return -ENOMEM;
	while (t->used + len > t->text_cap) {
		size_t cap = t->text_cap ? t->text_cap * 2 : 1024;
		if ((text = realloc(t->text, cap)) == NULL)
			return -ENOMEM;
		t->text = text;
		t->text_cap = cap;
	}
	if ((off = array_grow(t->off, &t->cap, t->n, sizeof(*off), 64)) == NULL)
		return -ENOMEM;
	t->off = off;
	h = names_slot(s, t, name);
	memcpy(t->text + t->used, name, len);
	t->off[t->n] = (uint32_t)t->used;
	t->used += len;
	t->slots[h] = (uint32_t)++t->n;
	*out = (uint32_t)(t->n - 1);
	return 0;
}

/*
 * The index of an external address, interned as its text (a router has
 * one or two: 100,000 records share a few), its parsed form beside it.
 */
static int ext_intern(struct fwdset *s, const struct addr *a, uint32_t *out)
{
	char text[64];
	size_t n = s->exts.n;
	struct addr *v;

	if ((v = array_grow(s->ext_addrs, &s->ext_addrs_cap, n, sizeof(*v), 16)) == NULL)
		return -ENOMEM;
	s->ext_addrs = v;
	if (names_intern(s, &s->exts, addr_format(a, text, sizeof(text)), out) < 0)
		return -ENOMEM;
	if (s->exts.n > n) { /* a new one */
		struct addr *e = &s->ext_addrs[n];
		/* Only the address's own bytes: records sort by them (cmp_rec). */
		memset(e, 0, sizeof(*e));
		e->family = a->family;
		memcpy(e->u.bytes, a->u.bytes, addr_len(a));
	}
	return 0;
}

/* Room for the Neutron answer of one more port name. */
static int port_state_reserve(struct fwdset *s)
{
	struct fwdset_port *v;

	if ((v = array_grow(s->port_state, &s->port_state_cap, s->ports.n, sizeof(*v), 64)) == NULL)
		return -ENOMEM;
	s->port_state = v;
	return 0;
}

/*
 * The (router, external address) pair, interned as text: what the router
 * decisions need of the records, kept when the records are cleared.
 */
static int pair_intern(struct fwdset *s, uint32_t router, uint32_t ext)
{
	char text[32];
	uint32_t i;

	snprintf(text, sizeof(text), "%x/%x", router, ext);
	return names_intern(s, &s->pairs, text, &i);
}

/* fwdset_add_router() giving the external address's index too. */
static int add_router(struct fwdset *s, const struct forwarding *f, uint32_t *router, uint32_t *ext)
{
	if (!fwd_uuid_valid(f->id))
		return -EINVAL;
	if (names_intern(s, &s->routers, f->router_id, router) < 0 ||
	        ext_intern(s, &f->external_addr, ext) < 0 || pair_intern(s, *router, *ext) < 0)
		return -ENOMEM;
	return 0;
}

int fwdset_add_router(struct fwdset *s, const struct forwarding *f, uint32_t *router)
{
	uint32_t ext;

	return add_router(s, f, router, &ext);
}

int fwdset_add(struct fwdset *s, const struct forwarding *f)
{
	struct fwdset_rec *v, r;
	size_t nports = s->ports.n;
	int e;

	memset(&r, 0, sizeof(r));
	if ((e = add_router(s, f, &r.router, &r.ext)) < 0)
		return e;
	r.port = FWDSET_NONE;
	if (f->internal_port_id[0] != '\0' &&
	        (port_state_reserve(s) < 0 ||
	                names_intern(s, &s->ports, f->internal_port_id, &r.port) < 0))
		return -ENOMEM;
	if (s->ports.n > nports) /* a new port: not listed by Neutron yet */
		memset(&s->port_state[nports], 0, sizeof(*s->port_state));
	memcpy(r.in, f->internal_addr.u.bytes, addr_len(&f->internal_addr));
	r.in_family = (uint8_t)f->internal_addr.family;
	r.protocol = f->protocol;
	r.masquerade = f->masquerade;
	r.external = f->external;
	r.internal = f->internal;
	if ((v = array_grow(s->v, &s->cap, s->n, sizeof(*v), 256)) == NULL)
		return -ENOMEM;
	s->v = v;
	s->v[s->n++] = r;
	return 0;
}

int fwdset_add_all(struct fwdset *s, const struct forwarding *v, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = fwdset_add(s, &v[i]);
	return r;
}

struct addr fwdset_addr(uint8_t family, const uint8_t bytes[16])
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.u.bytes, bytes, sizeof(a.u.bytes));
	return a;
}

void fwdset_get(const struct fwdset *s, size_t i, struct forwarding *out)
{
	const struct fwdset_rec *r = &s->v[i];

	memset(out, 0, sizeof(*out));
	snprintf(out->router_id, sizeof(out->router_id), "%s", fwdset_router_id(s, r));
	snprintf(out->internal_port_id, sizeof(out->internal_port_id), "%s", fwdset_port_id(s, r));
	out->external_addr = fwdset_ext(s, r);
	out->internal_addr = fwdset_addr(r->in_family, r->in);
	out->protocol = r->protocol;
	out->masquerade = r->masquerade;
	out->external = r->external;
	out->internal = r->internal;
}

const char *fwdset_router_id(const struct fwdset *s, const struct fwdset_rec *r)
{
	return fwdset_name(&s->routers, r->router);
}

struct addr fwdset_ext(const struct fwdset *s, const struct fwdset_rec *r)
{
	static const struct addr none;

	return r->ext < s->exts.n ? s->ext_addrs[r->ext] : none;
}

const char *fwdset_port_id(const struct fwdset *s, const struct fwdset_rec *r)
{
	return r->port == FWDSET_NONE ? "" : fwdset_name(&s->ports, r->port);
}

int fwdset_note_port(struct fwdset *s, const struct neutron_port *p)
{
	uint32_t i = p->id ? fwdset_find(s, &s->ports, p->id) : FWDSET_NONE;
	struct fwdset_port *st;
	size_t n = p->fixed_ips_len > UINT16_MAX ? UINT16_MAX : p->fixed_ips_len;

	if (i == FWDSET_NONE)
		return 0;
	st = &s->port_state[i];
	/* Listed twice (a page boundary moved): the last answer holds. */
	st->listed = true;
	st->naddr = 0;
	if (n == 0)
		return 0;
	if (s->naddrs + n > s->addrs_cap) {
		size_t cap = s->addrs_cap ? s->addrs_cap : 256;
		struct addr *a;
		while (cap < s->naddrs + n)
			cap *= 2;
		if ((a = reallocarray(s->addrs, cap, sizeof(*a))) == NULL)
			return -ENOMEM;
		s->addrs = a;
		s->addrs_cap = cap;
	}
	st->addr_off = (uint32_t)s->naddrs;
	st->naddr = (uint16_t)n;
	for (size_t k = 0; k < n; k++)
		s->addrs[s->naddrs++] = p->fixed_ips[k].addr;
	return 0;
}

const struct fwdset_port *fwdset_port_state(const struct fwdset *s, uint32_t i)
{
	static const struct fwdset_port none;

	return i < s->ports.n ? &s->port_state[i] : &none;
}

void fwdset_clear_records(struct fwdset *s)
{
	struct fwdset_names *t = &s->ports;

	s->n = 0;
	s->naddrs = 0;
	t->n = 0;
	t->used = 0;
	if (t->slots != NULL)
		memset(t->slots, 0, t->nslots * sizeof(*t->slots));
}

int fwdset_pairs_as_records(struct fwdset *s)
{
	struct fwdset_rec *v, r;

	fwdset_clear_records(s);
	for (uint32_t i = 0; i < s->pairs.n; i++) {
		memset(&r, 0, sizeof(r));
		if (sscanf(fwdset_name(&s->pairs, i), "%x/%x", &r.router, &r.ext) != 2)
			return -EINVAL; /* cannot be: pair_intern() wrote it */
		r.port = FWDSET_NONE;
		if ((v = array_grow(s->v, &s->cap, s->n, sizeof(*v), 256)) == NULL)
			return -ENOMEM;
		s->v = v;
		s->v[s->n++] = r;
	}
	return 0;
}
