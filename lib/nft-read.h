/*
 * Reading PRaaS's table in a router namespace back (lib/nft-read.c) and
 * comparing it with what it should hold: the drift checks of the monitor's
 * verify and of a repair. The types (struct nft_state, nft_opts) are
 * nft.h's. Functions return 0 or -errno and, on error, set *cause (may be
 * NULL) to an allocated message the caller frees.
 */
#ifndef PRAAS_NFT_READ_H
#define PRAAS_NFT_READ_H

#include "nft.h"

/*
 * Reads the table back: everything in it, ours or not. A missing table is
 * st->table == false, not an error. The read is one consistent look: the
 * ruleset generation is read before and after, and a read the kernel
 * interrupted (NLM_F_DUMP_INTR, EINTR) or that another change overlapped
 * is redone, up to NFT_READ_TRIES times (then -EAGAIN).
 */
int nft_read(struct nft_conn *c, const struct nft_opts *o, struct nft_state *st, char **cause);
void nft_state_free(struct nft_state *st);

/*
 * Where nft_read_sink() hands each element as the kernel lists it, in no
 * order: a map element (masq false; its masquerade flag unset), or a
 * masquerade set's element (masq true: its key flags the map element of
 * that key). restart: the read is being redone (the table changed under
 * it), forget what came. elem returning -errno ends the read with it.
 */
struct nft_elem_sink {
	int (*elem)(void *arg, const struct nft_elem *e, bool masq);
	void (*restart)(void *arg);
	void *arg;
};
/*
 * nft_read() keeping no element: each goes to sink as it is read, and
 * st->elems stays empty. For a caller holding the wanted elements in a
 * form it can search: 100,000 elements are never held at once.
 */
int nft_read_sink(struct nft_conn *c, const struct nft_opts *o, struct nft_state *st,
        const struct nft_elem_sink *sink, char **cause);

/*
 * Fills st's table, chains, sets and rules as nft_sync() writes them for
 * opts with the maps of generation gen (elements untouched): what a sound
 * table reads back as. For tests, and for comparing.
 */
int nft_state_expect(struct nft_state *st, const struct nft_opts *o, int gen);

/* A rule's fingerprint (comment, then each expression): allocated, or NULL. */
struct nftnl_rule;
char *nft_rule_fingerprint(const struct nftnl_rule *r);

/*
 * Compares what nft_read() found with what opts and fwds call for: the
 * table (flags), exactly our chains (type, hook, priority, policy), exactly
 * our sets (types, flags), in each chain exactly our rules in our order
 * (by fingerprint), nothing else (no chain, set, object or flowtable we
 * did not write), and exactly the elements of fwds.
 * Returns 0 when they match, 1 on drift (with *cause saying how), -errno.
 */
int nft_compare(const struct nft_state *st, const struct nft_opts *o, const struct forwarding *fwds,
        size_t n, char **cause);
/*
 * A source of the wanted elements, in nft_elem_cmp() order, one at a
 * time: 1 with *e set (valid until the next call), 0 at the end, or
 * -errno with *cause.
 */
typedef int (*nft_elem_next)(void *arg, const struct nft_elem **e, char **cause);
/*
 * nft_compare() with the elements from a source: a caller holding many
 * forwardings in a form of its own need not expand them all at once.
 * The source's error is returned as is.
 */
int nft_compare_stream(const struct nft_state *st, const struct nft_opts *o, nft_elem_next next,
        void *arg, char **cause);

/*
 * nft_compare() without the elements: the table, chains, sets, rules and
 * nothing foreign; for a reader of nft_read_sink(), which compares the
 * elements itself. 0, 1 on drift (with *cause), or -errno.
 */
int nft_compare_rules(const struct nft_state *st, const struct nft_opts *o, char **cause);

#endif
