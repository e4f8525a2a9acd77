#include "kcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "nft-read.h"

struct kcheck {
	const struct fwdset *s;
	const struct fwdset_rec *v;
	size_t n;
	size_t want, want_masq; /* elements the records call for */
	size_t seen, seen_masq; /* and those the kernel listed */
	char *drift;            /* the first difference, or NULL */
};

#define CMP(x, y) ((x) < (y) ? -1 : (x) > (y))

/* The record's keys against an element's: fwdset_sort()'s order, a port in a range. */
static int key_cmp(const struct kcheck *k, const struct fwdset_rec *r, const struct nft_elem *e)
{
	struct addr ext = fwdset_ext(k->s, r);
	int d;

	if (ext.family != e->ext.family)
		return CMP(ext.family, e->ext.family);
	if ((d = memcmp(ext.u.bytes, e->ext.u.bytes, addr_len(&ext))) != 0)
		return d;
	if (r->protocol != e->protocol)
		return CMP(r->protocol, e->protocol);
	if (e->ext_port < r->external.lo)
		return 1;
	return e->ext_port > r->external.hi ? -1 : 0;
}

static const struct fwdset_rec *find(const struct kcheck *k, const struct nft_elem *e)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = key_cmp(k, &k->v[mid], e);
		if (d == 0)
			return &k->v[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What record r calls for at the element's external port. */
static struct nft_elem wanted(const struct kcheck *k, const struct fwdset_rec *r, uint16_t port)
{
	struct forwarding f = {.external = r->external, .internal = r->internal};
	struct nft_elem w;

	memset(&w, 0, sizeof(w));
	w.protocol = r->protocol;
	w.ext = fwdset_ext(k->s, r);
	w.ext_port = port;
	w.in = fwdset_addr(r->in_family, r->in);
	w.in_port = fwd_internal_port_for(&f, port);
	return w;
}

static void note(
        struct kcheck *k, const char *what, const struct nft_elem *e, const struct nft_elem *w)
{
	char buf[160], buf2[160];

	if (k->drift != NULL)
		return;
	if (asprintf(&k->drift, "%s %s%s%s", what, nft_elem_format(e, buf, sizeof(buf)),
	            w ? " should be " : "", w ? nft_elem_format(w, buf2, sizeof(buf2)) : "") < 0)
		k->drift = NULL;
}

static int on_elem(void *arg, const struct nft_elem *e, bool masq)
{
	struct kcheck *k = arg;
	const struct fwdset_rec *r = find(k, e);
	struct nft_elem w;

	if (r == NULL) {
		note(k, masq ? "unexpected masquerade element" : "unexpected element", e, NULL);
		return 0;
	}
	if (masq) {
		if (!r->masquerade)
			note(k, "unexpected masquerade element", e, NULL);
		k->seen_masq++;
		return 0;
	}
	w = wanted(k, r, e->ext_port);
	if (nft_elem_cmp(&w, e) != 0)
		note(k, "element", e, &w);
	k->seen++;
	return 0;
}

static void on_restart(void *arg)
{
	struct kcheck *k = arg;

	free(k->drift);
	k->drift = NULL;
	k->seen = k->seen_masq = 0;
}

/*
 * What the records call for, and whether they are sound: each valid
 * (what nft_sync() would refuse, nft_expand_one() refuses), no port
 * forwarded twice (neighbours in the sorted run overlap).
 */
static int count_wanted(struct kcheck *k, char **cause)
{
	struct nft_elem *buf = NULL;
	struct forwarding f;
	size_t cap = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < k->n; i++) {
		const struct fwdset_rec *a = &k->v[i];
		size_t len = port_range_len(&a->external);
		if (len > cap) {
			struct nft_elem *b = reallocarray(buf, len, sizeof(*b));
			if (b == NULL) {
				r = cause_errno(cause, -ENOMEM, "expand %zu forwarded ports", len);
				break;
			}
			buf = b;
			cap = len;
		}
		fwdset_get(k->s, (size_t)(a - k->s->v), &f);
		if ((r = nft_expand_one(&f, buf, cause)) < 0)
			break;
		if (i > 0 && a->ext == a[-1].ext && a->protocol == a[-1].protocol &&
		        a->external.lo <= a[-1].external.hi) {
			char text[160];
			r = cause_errno(cause, -EEXIST, "port forwarded twice (%s)",
			        nft_elem_format(&buf[0], text, sizeof(text)));
		}
		k->want += len;
		k->want_masq += a->masquerade ? len : 0;
	}
	free(buf);
	return r;
}

int kcheck_table(struct nft_conn *conn, const struct nft_opts *o, const struct fwdset *s,
        const struct fwdset_rec *run, size_t n, char **cause)
{
	struct kcheck k = {.s = s, .v = run, .n = n};
	struct nft_elem_sink sink = {.elem = on_elem, .restart = on_restart, .arg = &k};
	struct nft_state st;
	int r;

	*cause = NULL;
	if ((r = count_wanted(&k, cause)) < 0)
		return r;
	if ((r = nft_read_sink(conn, o, &st, &sink, cause)) < 0) {
		free(k.drift);
		return r;
	}
	r = nft_compare_rules(&st, o, cause);
	nft_state_free(&st);
	if (r != 0) {
		free(k.drift);
		return r;
	}
	if (k.drift == NULL && k.seen != k.want)
		r = asprintf(&k.drift, "%zu elements where %zu are wanted", k.seen, k.want);
	else if (k.drift == NULL && k.seen_masq != k.want_masq)
		r = asprintf(&k.drift, "%zu masquerade elements where %zu are wanted", k.seen_masq,
		        k.want_masq);
	if (r < 0)
		return cause_errno(cause, -ENOMEM, "describe a drift");
	*cause = k.drift;
	return k.drift != NULL ? 1 : 0;
}
