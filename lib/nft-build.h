/*
 * Builders for the objects of PRaaS's nf_tables table (see nft.h for the
 * ruleset they make): each adds its messages to a batch under the words
 * of the nft command it equals. Internal to lib/nft.c, but for the names
 * of the chains and rules (the bits of struct nft_state), which tools and
 * tests print.
 */
#ifndef PRAAS_NFT_BUILD_H
#define PRAAS_NFT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-batch.h"
#include "nft.h"

/*
 * Two generations of map and set names ("dnat4" and "dnat4_b", ...) so a
 * split resync can fill fresh maps beside the live ones.
 */
#define NFT_GENERATIONS 2

enum nft_set_kind {
	NFT_SET_DNAT4,
	NFT_SET_DNAT6,
	NFT_SET_MASQ4,
	NFT_SET_MASQ6,
	NFT_SET_KINDS,
};

enum nft_chain_kind {
	NFT_CHAIN_PREROUTING,
	NFT_CHAIN_OUTPUT,
	NFT_CHAIN_POSTROUTING,
	NFT_CHAIN_KINDS,
};

/* Rule bits of nft_state.rules; the comment on each rule is its name. */
enum nft_rule_kind {
	NFT_RULE_PRE_HAIRPIN4,
	NFT_RULE_PRE_DNAT4,
	NFT_RULE_PRE_HAIRPIN6,
	NFT_RULE_PRE_DNAT6,
	NFT_RULE_OUT_DNAT4,
	NFT_RULE_OUT_DNAT6,
	NFT_RULE_POST_HAIRPIN,
	NFT_RULE_POST_MASQ4,
	NFT_RULE_POST_MASQ6,
	NFT_RULE_POST_ALL4,
	NFT_RULE_POST_ALL6,
	NFT_RULE_KINDS,
};

/* What nft_build_set() and nft_build_chain() write, for comparing with a read-back. */
struct nft_set_def {
	uint32_t flags, key_type, key_len, data_type, data_len;
};
void nft_set_def(enum nft_set_kind kind, struct nft_set_def *d);
void nft_chain_def(enum nft_chain_kind kind, uint32_t *hook, int32_t *prio);

const char *nft_set_name(int gen, enum nft_set_kind kind);
/* The generation and kind a set name belongs to; -1 if not ours. */
int nft_set_parse(const char *name, int *gen, enum nft_set_kind *kind);
/* The rule kind whose name is comment; -1 if none. */
int nft_rule_parse(const char *comment);
int nft_chain_parse(const char *name);
/* The chain a rule kind belongs in. */
enum nft_chain_kind nft_rule_chain(enum nft_rule_kind kind);

/* add table inet T / delete table inet T */
int nft_build_table(struct nft_batch *b, const char *table, bool del);
/* add chain inet T C { type nat hook H priority P; } */
int nft_build_chain(struct nft_batch *b, const char *table, enum nft_chain_kind chain);
/* flush chain inet T C */
int nft_build_flush_chain(struct nft_batch *b, const char *table, enum nft_chain_kind chain);
/* add map/set inet T S { ... } / delete map/set */
int nft_build_set(
        struct nft_batch *b, const char *table, int gen, enum nft_set_kind kind, bool del);
/* flush set inet T S */
int nft_build_flush_set(struct nft_batch *b, const char *table, int gen, enum nft_set_kind kind);
/* every rule of every chain for generation gen */
int nft_build_rules(struct nft_batch *b, const char *table, int gen, bool masquerade);

struct nftnl_rule;
/*
 * Where nft_make_rules() puts each rule, in the order they are written:
 * fn owns r (frees it) and returns 0 or -errno, which stops the making.
 */
struct nft_rule_sink {
	int (*fn)(struct nftnl_rule *r, enum nft_chain_kind chain, enum nft_rule_kind kind,
	        void *arg);
	void *arg;
};
/* The rules nft_build_rules() writes, as libnftnl objects: for it and for comparing. */
int nft_make_rules(const char *table, int gen, bool masquerade, const struct nft_rule_sink *sink);

/* flush and delete a foreign chain, delete a foreign set, object or flowtable */
int nft_build_drop_foreign(struct nft_batch *b, const char *table, const struct nft_foreign *f);

/*
 * add element (del false) or delete element (del true): elems into the
 * dnat maps of generation gen, and those with masquerade into the masq
 * sets.
 */
int nft_build_elems(struct nft_batch *b, const char *table, int gen, const struct nft_elem *elems,
        size_t n, bool del);

/* Decodes a map element (key and data as the kernel holds them). */
int nft_elem_decode(enum nft_set_kind kind, const void *key, uint32_t klen, const void *data,
        uint32_t dlen, struct nft_elem *out);

/* Names for the bits of nft_state.chains and .rules; NULL past the end. */
const char *nft_chain_name(unsigned int i);
const char *nft_rule_name(unsigned int i);
/* The rules bits opts call for. */
uint32_t nft_rules_expected(const struct nft_opts *o);

#endif
