#include "nft.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cause.h"
#include "log.h"
#include "netns.h"
#include "nft-batch.h"
#include "nft-build.h"
#include "nft-int.h"
#include "nft-read.h"

int nft_drift(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return 1;
	free(*cause);
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) < 0)
		*cause = NULL;
	va_end(ap);
	return 1;
}

/* Prefixes *cause with context: "<what>: <cause>". */
static int nft_wrap(char **cause, int err, const char *what)
{
	char *n;

	if (cause == NULL)
		return err;
	if (*cause == NULL)
		return cause_errno(cause, err, "%s", what);
	if (asprintf(&n, "%s: %s", what, *cause) >= 0) {
		free(*cause);
		*cause = n;
	}
	return err;
}

const char *nft_table(const struct nft_opts *o)
{
	return o->table ? o->table : NFT_TABLE_DEFAULT;
}

int nft_check_opts(const struct nft_opts *o, char **cause)
{
	const char *t = nft_table(o);

	if (*t == '\0' || strlen(t) >= NFT_TABLE_MAXNAMELEN)
		return cause_errno(cause, -EINVAL, "table name \"%s\"", t);
	return 0;
}

/* ---- connection ---- */

int nft_open(const char *netns_dir, const char *name, struct nft_conn **out, char **cause)
{
	struct nft_conn *c;
	int one = 1, r;

	if (cause)
		*cause = NULL;
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate nft connection");
	r = netns_open_netlink(netns_dir, name, NETLINK_NETFILTER, &c->nl, cause);
	if (r < 0) {
		free(c);
		return r;
	}
	/* Errors come back with the kernel's own words, without our message. */
	if (mnl_socket_setsockopt(c->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	        mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_debug("nft: extended acks not available: %s", strerror(errno));
	c->seq = (uint32_t)time(NULL);
	c->gen = -1;
	*out = c;
	return 0;
}

void nft_close(struct nft_conn *c)
{
	if (c == NULL)
		return;
	mnl_socket_close(c->nl);
	free(c);
}

static void nft_cache(struct nft_conn *c, const char *table, int gen)
{
	snprintf(c->table, sizeof(c->table), "%s", table);
	c->gen = gen;
}

static int nft_cached_gen(const struct nft_conn *c, const char *table)
{
	return strcmp(c->table, table) == 0 ? c->gen : -1;
}

/* ---- elements ---- */

int nft_elem_key_cmp(const struct nft_elem *a, const struct nft_elem *b)
{
	int r;

	if (a->ext.family != b->ext.family)
		return a->ext.family < b->ext.family ? -1 : 1;
	if ((r = memcmp(a->ext.u.bytes, b->ext.u.bytes, addr_len(&a->ext))) != 0)
		return r;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->ext_port != b->ext_port)
		return a->ext_port < b->ext_port ? -1 : 1;
	return 0;
}

int nft_elem_cmp(const struct nft_elem *a, const struct nft_elem *b)
{
	int r;

	if ((r = nft_elem_key_cmp(a, b)) != 0)
		return r;
	if (a->in.family != b->in.family)
		return a->in.family < b->in.family ? -1 : 1;
	if ((r = memcmp(a->in.u.bytes, b->in.u.bytes, addr_len(&a->in))) != 0)
		return r;
	if (a->in_port != b->in_port)
		return a->in_port < b->in_port ? -1 : 1;
	return (int)a->masquerade - (int)b->masquerade;
}

int nft_elem_qsort_cmp(const void *a, const void *b)
{
	return nft_elem_cmp(a, b);
}

const char *nft_elem_format(const struct nft_elem *e, char *buf, size_t len)
{
	char ext[ADDR_STRLEN], in[ADDR_STRLEN];

	snprintf(buf, len, "%s %s %u -> %s %u%s", fwd_protocol_name(e->protocol),
	        addr_format(&e->ext, ext, sizeof(ext)), e->ext_port,
	        addr_format(&e->in, in, sizeof(in)), e->in_port,
	        e->masquerade ? " masquerade" : "");
	return buf;
}

int nft_fwd_check(const struct forwarding *f, char **cause)
{
	const char *why;

	if (fwd_validate(f, &why) < 0)
		return cause_errno(cause, -EINVAL, "forwarding %s: %s", f->id, why);
	if (f->external_addr.family != f->internal_addr.family)
		return cause_errno(
		        cause, -EINVAL, "forwarding %s: no external address of its family", f->id);
	return 0;
}

int nft_expand_one(const struct forwarding *f, struct nft_elem *v, char **cause)
{
	int r;

	if ((r = nft_fwd_check(f, cause)) < 0)
		return r;
	for (unsigned int p = f->external.lo; p <= f->external.hi; p++)
		nft_elem_at(f, (uint16_t)p, v++);
	return 0;
}

void nft_elem_at(const struct forwarding *f, uint16_t port, struct nft_elem *e)
{
	e->protocol = f->protocol;
	e->ext = f->external_addr;
	e->ext_port = port;
	e->in = f->internal_addr;
	e->in_port = fwd_internal_port_for(f, port);
	e->masquerade = f->masquerade;
}

/* Sorts v and refuses a port forwarded twice. */
static int elems_sort(struct nft_elem *v, size_t n, char **cause)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), nft_elem_qsort_cmp);
	for (size_t i = 1; i < n; i++)
		if (nft_elem_key_cmp(&v[i - 1], &v[i]) == 0) {
			char buf[160];
			nft_elem_format(&v[i], buf, sizeof(buf));
			return cause_errno(cause, -EEXIST, "port forwarded twice (%s)", buf);
		}
	return 0;
}

int nft_expand(
        const struct forwarding *fwds, size_t n, struct nft_elem **out, size_t *nout, char **cause)
{
	struct nft_elem *v;
	size_t total = 0, k = 0;
	int r;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		if ((r = nft_fwd_check(&fwds[i], cause)) < 0)
			return r;
		total += port_range_len(&fwds[i].external);
	}
	if (total == 0)
		return 0;
	if ((v = calloc(total, sizeof(*v))) == NULL)
		return cause_errno(cause, -ENOMEM, "expand %zu forwarded ports", total);
	for (size_t i = 0; i < n; i++) {
		nft_expand_one(&fwds[i], v + k, NULL); /* checked above */
		k += port_range_len(&fwds[i].external);
	}
	if ((r = elems_sort(v, total, cause)) < 0) {
		free(v);
		return r;
	}
	*out = v;
	*nout = total;
	return 0;
}

/* ---- changing ---- */

/* The generation the table's rules use now; -1 if the table is missing or broken. */
static int nft_discover(struct nft_conn *c, const char *table, int *gen)
{
	struct nft_state st;
	int r;

	*gen = nft_cached_gen(c, table);
	if (*gen >= 0)
		return 0;
	if ((r = nft_read_rules(c, table, &st, NULL)) < 0)
		return r;
	*gen = st.generation;
	nft_state_free(&st);
	if (*gen >= 0)
		nft_cache(c, table, *gen);
	return 0;
}

static int send_batch(struct nft_conn *c, struct nft_batch *b, int err, char **cause)
{
	if (err < 0) {
		nft_batch_free(b);
		return cause_errno(cause, err, "build nf_tables batch");
	}
	err = nft_batch_send(b, c->nl, cause);
	nft_batch_free(b);
	return err;
}

/*
 * A missing or broken table is rebuilt from nothing: add table; delete
 * table; add table { chains }, with the maps of generation 0, their
 * elements and the rules in the same transaction when `whole`. Nothing
 * works in a broken table, so nothing is lost by deleting it.
 */
static int sync_rebuild(struct nft_conn *c, const struct nft_opts *o, const struct nft_elem *v,
        size_t n, bool whole, char **cause)
{
	const char *t = nft_table(o);
	struct nft_batch *b = nft_batch_new(&c->seq);
	int e = 0;

	if (b == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	if ((e = nft_build_table(b, t, false)) == 0 && (e = nft_build_table(b, t, true)) == 0)
		e = nft_build_table(b, t, false);
	for (int k = 0; e == 0 && k < NFT_CHAIN_KINDS; k++)
		e = nft_build_chain(b, t, (enum nft_chain_kind)k);
	for (int k = 0; e == 0 && whole && k < NFT_SET_KINDS; k++)
		e = nft_build_set(b, t, 0, (enum nft_set_kind)k, false);
	if (e == 0 && whole && (e = nft_build_elems(b, t, 0, v, n, false)) == 0)
		e = nft_build_rules(b, t, 0, o->masquerade);
	if ((e = send_batch(c, b, e, cause)) == 0)
		nft_cache(c, t, 0);
	return e;
}

/* No maps of generation gen, whether or not there were: add; delete. */
static int build_no_sets(struct nft_batch *b, const char *t, int gen)
{
	int e = 0;

	for (int k = 0; e == 0 && k < NFT_SET_KINDS; k++)
		if ((e = nft_build_set(b, t, gen, (enum nft_set_kind)k, false)) == 0)
			e = nft_build_set(b, t, gen, (enum nft_set_kind)k, true);
	return e;
}

/* Empty maps of generation gen, whether or not stale ones were there. */
static int build_fresh_sets(struct nft_batch *b, const char *t, int gen)
{
	int e = build_no_sets(b, t, gen);

	for (int k = 0; e == 0 && k < NFT_SET_KINDS; k++)
		e = nft_build_set(b, t, gen, (enum nft_set_kind)k, false);
	return e;
}

/*
 * Removes what PRaaS did not write (st: the table as read before). Runs
 * after our chains were flushed, and in this order, so nothing is still
 * referenced when it goes: foreign chains' rules, foreign sets, foreign
 * chains, objects, flowtables.
 */
static int build_drop_foreign(struct nft_batch *b, const char *t, const struct nft_state *st)
{
	static const enum nft_foreign_kind order[] = {
	        NFT_FOREIGN_SET, NFT_FOREIGN_CHAIN, NFT_FOREIGN_OBJECT, NFT_FOREIGN_FLOWTABLE};
	int e = 0;

	for (size_t i = 0; e == 0 && st != NULL && i < st->nkept; i++)
		if (st->foreign[i].kind == NFT_FOREIGN_CHAIN) {
			struct nft_foreign rules = st->foreign[i];
			rules.kind = NFT_FOREIGN_RULES;
			e = nft_build_drop_foreign(b, t, &rules);
		}
	for (size_t k = 0; e == 0 && st != NULL && k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; e == 0 && i < st->nkept; i++)
			if (st->foreign[i].kind == order[k])
				e = nft_build_drop_foreign(b, t, &st->foreign[i]);
	return e;
}

/* The rules move to the maps of generation gen; what is not ours goes. */
static int build_switch(
        struct nft_batch *b, const struct nft_opts *o, int gen, const struct nft_state *st)
{
	const char *t = nft_table(o);
	int e = 0;

	for (int k = 0; e == 0 && k < NFT_CHAIN_KINDS; k++)
		if ((e = nft_build_chain(b, t, (enum nft_chain_kind)k)) == 0)
			e = nft_build_flush_chain(b, t, (enum nft_chain_kind)k);
	if (e == 0)
		e = nft_build_rules(b, t, gen, o->masquerade);
	return e == 0 ? build_drop_foreign(b, t, st) : e;
}

static int drop_sets(struct nft_conn *c, const char *t, int gen, char **cause)
{
	struct nft_batch *b = nft_batch_new(&c->seq);
	int e = 0;

	if (b == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	for (int k = 0; e == 0 && k < NFT_SET_KINDS; k++)
		e = nft_build_set(b, t, gen, (enum nft_set_kind)k, true);
	return send_batch(c, b, e, cause);
}

/*
 * Up to oneshot_max elements on a sound table: one transaction rewrites
 * the live maps in place (flush set; add element ...) and the rules. The
 * maps stay the same objects, so a packet that met the old rules and does
 * its lookup after the commit finds the re-added element, live in the new
 * generation. Maps of the other generation left by a split resync that
 * died half way go in the same transaction, after the rules were rewritten
 * (a foreign rule might have used them), and so does anything in the table
 * PRaaS did not write (st).
 */
static int sync_in_place(struct nft_conn *c, const struct nft_opts *o, const struct nft_elem *v,
        size_t n, int gen, const struct nft_state *st, char **cause)
{
	const char *t = nft_table(o);
	struct nft_batch *b = nft_batch_new(&c->seq);
	int e;

	if (b == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	e = nft_build_table(b, t, false);
	for (int k = 0; e == 0 && k < NFT_SET_KINDS; k++)
		e = nft_build_flush_set(b, t, gen, (enum nft_set_kind)k);
	if (e == 0 && (e = nft_build_elems(b, t, gen, v, n, false)) == 0 &&
	        (e = build_switch(b, o, gen, st)) == 0)
		e = build_no_sets(b, t, 1 - gen);
	return send_batch(c, b, e, cause);
}

/*
 * More than oneshot_max elements: fresh maps of generation gen are filled
 * batch_max elements at a time (no transaction holds the netlink lock for
 * long) while the maps of generation cur (-1: none) keep serving, then one
 * small transaction switches the rules to them.
 *
 * The old maps go in a transaction of their own, after the switch. Why:
 * deleting a map deactivates its elements in the next generation, and a
 * packet that entered the chain under the old rules but looks the old map
 * up just after the commit flipped the generation would miss them and its
 * connection would get no DNAT (measured: about one refused connection in
 * 200 resyncs under a steady stream of new connections).
 */
static int sync_generation(struct nft_conn *c, const struct nft_opts *o, const struct nft_elem *v,
        size_t n, int cur, int gen, const struct nft_state *st, char **cause)
{
	const char *t = nft_table(o);
	size_t step = o->batch_max ? o->batch_max : NFT_BATCH_DEFAULT;
	struct nft_batch *b = nft_batch_new(&c->seq);
	int e, r;

	if (b == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	if ((e = nft_build_table(b, t, false)) == 0)
		e = build_fresh_sets(b, t, gen);
	if ((r = send_batch(c, b, e, cause)) < 0)
		return r;
	for (size_t i = 0; i < n; i += step) {
		if ((b = nft_batch_new(&c->seq)) == NULL)
			return cause_errno(cause, -ENOMEM, "allocate batch");
		e = nft_build_elems(b, t, gen, v + i, n - i < step ? n - i : step, false);
		if ((r = send_batch(c, b, e, cause)) < 0)
			return r;
	}
	if ((b = nft_batch_new(&c->seq)) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	if ((r = send_batch(c, b, build_switch(b, o, gen, st), cause)) < 0)
		return r;
	nft_cache(c, t, gen);
	return cur >= 0 ? drop_sets(c, t, cur, cause) : 0;
}

/* A missing, broken or unrepairable table: rebuilt, whole or then filled. */
static int sync_from_scratch(struct nft_conn *c, const struct nft_opts *o, const struct nft_elem *v,
        size_t n, bool whole, char **cause)
{
	int r = sync_rebuild(c, o, v, n, whole, cause);

	return r == 0 && !whole ? sync_generation(c, o, v, n, -1, 0, NULL, cause) : r;
}

int nft_sync(struct nft_conn *c, const struct nft_opts *o, const struct forwarding *fwds, size_t n,
        char **cause)
{
	size_t oneshot = o->oneshot_max ? o->oneshot_max : NFT_ONESHOT_MAX;
	const char *t = nft_table(o);
	struct nft_state st;
	struct nft_elem *v;
	size_t nv;
	int cur, r;

	if (cause)
		*cause = NULL;
	if ((r = nft_check_opts(o, cause)) < 0 || (r = nft_expand(fwds, n, &v, &nv, cause)) < 0)
		return r;
	/* Ask the kernel, not the cache, which maps are live (and what else is there). */
	c->gen = -1;
	if ((r = o->remove_foreign ? nft_read_objects(c, o, &st, cause)
	                           : nft_read_rules(c, t, &st, cause)) < 0) {
		free(v);
		return nft_wrap(cause, r, "resync");
	}
	cur = st.foreign_overflow ? -1 : st.generation;
	if (cur >= 0 && nv <= oneshot) {
		if ((r = sync_in_place(c, o, v, nv, cur, &st, cause)) == 0) {
			nft_cache(c, t, cur);
		} else {
			/* e.g. a chain recreated by hand with another priority */
			log_warnx("nft: %s; rebuilding table inet %s",
			        cause && *cause ? *cause : strerror(-r), t);
			if (cause) {
				free(*cause);
				*cause = NULL;
			}
			r = sync_from_scratch(c, o, v, nv, true, cause);
		}
	} else if (cur >= 0) {
		log_debug("nft: split resync of %zu elements into generation %d", nv, 1 - cur);
		r = sync_generation(c, o, v, nv, cur, 1 - cur, &st, cause);
	} else {
		r = sync_from_scratch(c, o, v, nv, nv <= oneshot, cause);
	}
	nft_state_free(&st);
	c->gen = r == 0 ? c->gen : -1;
	free(v);
	if (r < 0)
		nft_wrap(cause, r, "resync");
	return r;
}

/* A change's elements, expanded. */
struct expanded {
	struct nft_elem *dv, *av;
	size_t dn, an;
};

static void expanded_free(struct expanded *x, size_t n)
{
	for (size_t i = 0; x != NULL && i < n; i++) {
		free(x[i].dv);
		free(x[i].av);
	}
	free(x);
}

/*
 * Deleting is "add element; delete element" (nft's idiom for a delete
 * that does not fail on a missing element): the add is a no-op when the
 * element is there with the same target. Changes are built in order, so
 * one transaction applies them as one after the other would.
 */
static int apply_once(struct nft_conn *c, const char *t, int gen, const struct expanded *x,
        size_t n, char **cause)
{
	struct nft_batch *b = nft_batch_new(&c->seq);
	int e = 0;

	if (b == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	for (size_t i = 0; e == 0 && i < n; i++) {
		if (x[i].dn > 0 && (e = nft_build_elems(b, t, gen, x[i].dv, x[i].dn, false)) == 0)
			e = nft_build_elems(b, t, gen, x[i].dv, x[i].dn, true);
		if (e == 0 && x[i].an > 0)
			e = nft_build_elems(b, t, gen, x[i].av, x[i].an, false);
	}
	return send_batch(c, b, e, cause);
}

/* The generation the rules use, after rebuilding a missing or broken table empty. */
static int discover_or_rebuild(
        struct nft_conn *c, const struct nft_opts *o, int *gen, int *rebuilt, char **cause)
{
	const char *t = nft_table(o);
	int r;

	if ((r = nft_discover(c, t, gen)) < 0)
		return cause_errno(cause, r, "list rules of table inet %s", t);
	if (*gen >= 0)
		return 0;
	if ((r = sync_rebuild(c, o, NULL, 0, true, cause)) < 0)
		return r;
	*gen = 0;
	*rebuilt = NFT_REBUILT;
	return 0;
}

static int apply_elems(struct nft_conn *c, const struct nft_opts *o, const struct expanded *x,
        size_t n, char **cause)
{
	const char *t = nft_table(o);
	int gen, r, rebuilt = 0;

	if ((r = discover_or_rebuild(c, o, &gen, &rebuilt, cause)) < 0)
		return r;
	r = apply_once(c, t, gen, x, n, cause);
	if (r != -ENOENT || rebuilt)
		return r < 0 ? r : rebuilt;
	/*
	 * The table or a map went away under us (someone flushed the ruleset,
	 * or another resync switched maps): find out which, rebuild if need
	 * be, and retry once.
	 */
	log_debug("nft: %s; retrying", cause && *cause ? *cause : "ENOENT");
	c->gen = -1;
	free(cause ? *cause : NULL);
	if (cause)
		*cause = NULL;
	if ((r = discover_or_rebuild(c, o, &gen, &rebuilt, cause)) < 0)
		return r;
	r = apply_once(c, t, gen, x, n, cause);
	return r < 0 ? r : rebuilt;
}

int nft_apply_many(struct nft_conn *c, const struct nft_opts *o, const struct nft_change *v,
        size_t n, char **cause)
{
	struct expanded *x;
	int r;

	if (cause)
		*cause = NULL;
	if ((r = nft_check_opts(o, cause)) < 0)
		return r;
	if ((x = calloc(n > 0 ? n : 1, sizeof(*x))) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate %zu changes", n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((v[i].del && (r = nft_expand(v[i].del, 1, &x[i].dv, &x[i].dn, cause)) < 0) ||
		        (v[i].add && (r = nft_expand(v[i].add, 1, &x[i].av, &x[i].an, cause)) < 0))
			break;
	if (r == 0)
		r = apply_elems(c, o, x, n, cause);
	if (r < 0) {
		c->gen = -1;
		nft_wrap(cause, r,
		        n > 1                          ? "apply a batch of changes"
		                : n == 0               ? "apply nothing"
		                : v[0].del && v[0].add ? "replace forwarding"
		                : v[0].del             ? "remove forwarding"
		                                       : "add forwarding");
	}
	expanded_free(x, n);
	return r;
}

int nft_apply(struct nft_conn *c, const struct nft_opts *o, const struct forwarding *del,
        const struct forwarding *add, char **cause)
{
	struct nft_change one = {.del = del, .add = add};

	return nft_apply_many(c, o, &one, 1, cause);
}

int nft_drop(struct nft_conn *c, const struct nft_opts *o, char **cause)
{
	const char *t = nft_table(o);
	struct nft_batch *b;
	int e, r;

	if (cause)
		*cause = NULL;
	if ((r = nft_check_opts(o, cause)) < 0)
		return r;
	if ((b = nft_batch_new(&c->seq)) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate batch");
	/* add; delete: no error when it was not there */
	if ((e = nft_build_table(b, t, false)) == 0)
		e = nft_build_table(b, t, true);
	c->gen = -1;
	return send_batch(c, b, e, cause);
}
