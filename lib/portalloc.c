#include "portalloc.h"

#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "log.h"

/* 64^3 bits cover any range of 16-bit ports. */
#define LEVELS_MAX 3
#define WORD_BITS  64u
#define FULL       (~(uint64_t)0)

/*
 * A bitmap with summary levels: bit j of level l+1 is set when word j of
 * level l is full. Bits past the end are set at every level, so a zero bit
 * found anywhere always leads down to a real free port.
 */
struct bits {
	unsigned int nbits, levels;
	unsigned int nwords[LEVELS_MAX];
	uint64_t *w[LEVELS_MAX];
	unsigned long *steps; /* the allocator's word counter */
};

struct pa_key {
	char router_id[FWD_NAME_MAX + 1];
	struct addr ext;
	uint8_t protocol;
	bool have_cursor;
	unsigned int cursor; /* offset in the range where the next search starts */
	struct bits *bits;   /* NULL until built from the store */
};

struct portalloc {
	struct store *store;
	struct port_range range;
	void *keys; /* tsearch tree of struct pa_key */
	unsigned long steps;
};

static struct bits *bits_new(unsigned int nbits, unsigned long *steps)
{
	unsigned int total = 0, levels = 0, n = nbits;
	unsigned int nwords[LEVELS_MAX];
	struct bits *b;
	uint64_t *p;

	do {
		n = (n + WORD_BITS - 1) / WORD_BITS;
		nwords[levels++] = n;
		total += n;
	} while (n > 1 && levels < LEVELS_MAX);
	if (n > 1)
		return NULL; /* more than 64^3 bits: not a port range */
	if ((b = calloc(1, sizeof(*b) + total * sizeof(uint64_t))) == NULL)
		return NULL;
	b->nbits = nbits;
	b->levels = levels;
	b->steps = steps;
	p = (uint64_t *)(b + 1);
	for (unsigned int l = 0, below = nbits; l < levels; below = nwords[l++]) {
		b->nwords[l] = nwords[l];
		b->w[l] = p;
		p += nwords[l];
		/* Padding: positions past `below` (bits, or words of the level below). */
		for (unsigned int i = below; i < nwords[l] * WORD_BITS; i++)
			b->w[l][i / WORD_BITS] |= (uint64_t)1 << (i % WORD_BITS);
	}
	return b;
}

static void bits_set(struct bits *b, unsigned int i)
{
	for (unsigned int l = 0; l < b->levels; l++, i /= WORD_BITS) {
		uint64_t *w = &b->w[l][i / WORD_BITS];

		(*b->steps)++;
		*w |= (uint64_t)1 << (i % WORD_BITS);
		if (*w != FULL)
			return;
	}
}

static void bits_clear(struct bits *b, unsigned int i)
{
	for (unsigned int l = 0; l < b->levels; l++, i /= WORD_BITS) {
		uint64_t *w = &b->w[l][i / WORD_BITS];
		bool was_full = *w == FULL;

		(*b->steps)++;
		*w &= ~((uint64_t)1 << (i % WORD_BITS));
		if (!was_full)
			return;
	}
}

/* The first zero bit at or after i, or -1: up until a summary has room, then down. */
static long bits_find_zero(const struct bits *b, unsigned int i)
{
	unsigned int l = 0, idx = i, w;
	uint64_t m;

	for (;;) {
		w = idx / WORD_BITS;
		if (w >= b->nwords[l])
			return -1;
		(*b->steps)++;
		m = ~b->w[l][w] & (FULL << (idx % WORD_BITS));
		if (m) {
			idx = w * WORD_BITS + (unsigned int)__builtin_ctzll(m);
			break;
		}
		if (++l == b->levels)
			return -1;
		idx = w + 1; /* the next word of the level below, as a bit one level up */
	}
	while (l-- > 0) {
		(*b->steps)++;
		idx = idx * WORD_BITS + (unsigned int)__builtin_ctzll(~b->w[l][idx]);
	}
	return idx;
}

/* The first set bit in [i, end), or -1. */
static long bits_find_set(const struct bits *b, unsigned int i, unsigned int end)
{
	while (i < end) {
		unsigned int w = i / WORD_BITS;
		uint64_t m = b->w[0][w] & (FULL << (i % WORD_BITS));

		(*b->steps)++;
		if (m) {
			unsigned int at = w * WORD_BITS + (unsigned int)__builtin_ctzll(m);
			return at < end ? (long)at : -1;
		}
		i = (w + 1) * WORD_BITS;
	}
	return -1;
}

/*
 * The first start p in [from, last] of count zero bits, or -1. Each round
 * either succeeds or moves past a set bit, so it ends after at most one
 * round per free hole in the window.
 */
static long bits_find_run(
        const struct bits *b, unsigned int from, unsigned int last, unsigned int count)
{
	long p, q;

	for (unsigned int i = from; i <= last; i = (unsigned int)q + 1) {
		if ((p = bits_find_zero(b, i)) < 0 || p > (long)last)
			return -1;
		if ((q = bits_find_set(b, (unsigned int)p, (unsigned int)p + count)) < 0)
			return p;
	}
	return -1;
}

static int key_cmp(const void *x, const void *y)
{
	const struct pa_key *a = x, *b = y;
	int c;

	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->ext.family != b->ext.family)
		return a->ext.family < b->ext.family ? -1 : 1;
	c = memcmp(&a->ext.u, &b->ext.u, addr_len(&a->ext));
	return c ? c : strcmp(a->router_id, b->router_id);
}

static void key_init(
        struct pa_key *k, const char *router_id, const struct addr *ext, uint8_t protocol)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->router_id, sizeof(k->router_id), "%s", router_id);
	k->ext.family = ext->family;
	memcpy(&k->ext.u, &ext->u, addr_len(ext));
	k->protocol = protocol;
}

static struct pa_key *key_find(struct portalloc *pa, const struct forwarding *f)
{
	struct pa_key probe;
	void *node;

	key_init(&probe, f->router_id, &f->external_addr, f->protocol);
	node = tfind(&probe, &pa->keys, key_cmp);
	return node ? *(struct pa_key **)node : NULL;
}

/* Marks (or frees) f's external ports that lie in the range. */
static void key_mark(
        struct portalloc *pa, struct pa_key *k, const struct port_range *ext, bool taken)
{
	unsigned int lo = ext->lo > pa->range.lo ? ext->lo : pa->range.lo;
	unsigned int hi = ext->hi < pa->range.hi ? ext->hi : pa->range.hi;

	for (unsigned int p = lo; p <= hi && lo <= hi; p++) {
		if (taken)
			bits_set(k->bits, p - pa->range.lo);
		else
			bits_clear(k->bits, p - pa->range.lo);
	}
}

static void hook_added(const struct forwarding *f, void *arg)
{
	struct portalloc *pa = arg;
	struct pa_key *k = key_find(pa, f);

	if (k && k->bits)
		key_mark(pa, k, &f->external, true);
}

static void hook_removed(const struct forwarding *f, void *arg)
{
	struct portalloc *pa = arg;
	struct pa_key *k = key_find(pa, f);

	if (k && k->bits)
		key_mark(pa, k, &f->external, false);
}

static void drop_bits(const void *node, VISIT which, int depth)
{
	struct pa_key *k = *(struct pa_key *const *)node;

	if (which == postorder || which == leaf) {
		free(k->bits);
		k->bits = NULL;
	}
}

void portalloc_reset(struct portalloc *pa)
{
	twalk(pa->keys, drop_bits);
}

static void hook_rolled_back(void *arg)
{
	log_debug("portalloc: transaction rolled back; rebuilding from the store");
	portalloc_reset(arg);
}

static const struct store_hooks hooks = {
        .added = hook_added,
        .removed = hook_removed,
        .rolled_back = hook_rolled_back,
};

struct build {
	struct portalloc *pa;
	struct pa_key *key;
	bool any;
	int64_t newest_at;   /* created_at of the newest forwarding */
	uint16_t newest_end; /* and its last external port */
};

static int build_cb(const struct forwarding *f, void *arg)
{
	struct build *bd = arg;

	key_mark(bd->pa, bd->key, &f->external, true);
	/* Rows come by port, so on a tie the higher port wins. */
	if (!bd->any || f->created_at >= bd->newest_at) {
		bd->any = true;
		bd->newest_at = f->created_at;
		bd->newest_end = f->external.hi;
	}
	return 0;
}

/* Builds a key's bitmap from the store; the first build also sets the cursor. */
static int key_build(struct portalloc *pa, struct pa_key *k, char **cause)
{
	struct build bd = {.pa = pa, .key = k};
	int r;

	if ((k->bits = bits_new(port_range_len(&pa->range), &pa->steps)) == NULL)
		return cause_set(cause, -ENOMEM, "port allocator: out of memory");
	r = store_foreach_external(
	        pa->store, k->router_id, &k->ext, k->protocol, build_cb, &bd, cause);
	if (r < 0) {
		free(k->bits);
		k->bits = NULL;
		return r;
	}
	if (!k->have_cursor && bd.any && bd.newest_end >= pa->range.lo &&
	        bd.newest_end < pa->range.hi)
		k->cursor = bd.newest_end + 1u - pa->range.lo;
	k->have_cursor = true;
	return 0;
}

/* The key's state, created and built as needed. */
static int key_get(struct portalloc *pa, const char *router_id, const struct addr *ext,
        uint8_t protocol, struct pa_key **out, char **cause)
{
	struct pa_key *k, **node;

	if ((k = malloc(sizeof(*k))) == NULL)
		goto nomem;
	key_init(k, router_id, ext, protocol);
	if ((node = tsearch(k, &pa->keys, key_cmp)) == NULL) {
		free(k);
		goto nomem;
	}
	if (*node != k)
		free(k); /* it was there already */
	k = *node;
	*out = k;
	return k->bits ? 0 : key_build(pa, k, cause);
nomem:
	/* A constant return: the compiler then knows *out is set on success. */
	cause_set(cause, -ENOMEM, "port allocator: out of memory");
	return -ENOMEM;
}

int portalloc_find(struct portalloc *pa, const char *router_id, const struct addr *ext,
        uint8_t protocol, unsigned int count, struct port_range *out, char **cause)
{
	unsigned int len = port_range_len(&pa->range), last, c;
	struct pa_key *k;
	char buf[12];
	long p;
	int r;

	if (count == 0 || strlen(router_id) > FWD_NAME_MAX)
		return cause_invalid(cause, "port allocator: invalid request");
	if (count > len)
		goto exhausted;
	if ((r = key_get(pa, router_id, ext, protocol, &k, cause)) < 0)
		return r;
	last = len - count;
	c = k->cursor <= last ? k->cursor : 0;
	p = bits_find_run(k->bits, c, last, count);
	if (p < 0 && c > 0)
		p = bits_find_run(k->bits, 0, c - 1, count); /* wrap */
	if (p < 0)
		goto exhausted;
	out->lo = (uint16_t)(pa->range.lo + p);
	out->hi = (uint16_t)(out->lo + count - 1);
	k->cursor = (unsigned int)p + count < len ? (unsigned int)p + count : 0;
	return 0;
exhausted:
	return cause_set(cause, -ENOSPC,
	        "no %u free consecutive %s port%s left in router_port_range %s", count,
	        fwd_protocol_name(protocol), count == 1 ? "" : "s",
	        port_range_format(&pa->range, buf, sizeof(buf)));
}

int portalloc_new(struct store *s, const struct port_range *range, struct portalloc **out)
{
	struct portalloc *pa;

	if (range->lo == 0 || range->lo > range->hi)
		return -EINVAL;
	if ((pa = calloc(1, sizeof(*pa))) == NULL)
		return -ENOMEM;
	pa->store = s;
	pa->range = *range;
	store_set_hooks(s, &hooks, pa);
	*out = pa;
	return 0;
}

static void key_free(void *node)
{
	struct pa_key *k = node;

	free(k->bits);
	free(k);
}

void portalloc_free(struct portalloc *pa)
{
	if (pa == NULL)
		return;
	store_set_hooks(pa->store, NULL, NULL);
	tdestroy(pa->keys, key_free);
	free(pa);
}

unsigned long portalloc_steps(const struct portalloc *pa)
{
	return pa->steps;
}
