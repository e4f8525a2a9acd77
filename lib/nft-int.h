/*
 * What lib/nft.c (changing the table) and lib/nft-read.c (reading it back)
 * share. Internal to those two files: everyone else goes through nft.h.
 */
#ifndef PRAAS_NFT_INT_H
#define PRAAS_NFT_INT_H

#include "nft.h"

#include <linux/netfilter/nf_tables.h>
#include <stdint.h>

struct mnl_socket;

struct nft_conn {
	struct mnl_socket *nl;
	uint32_t seq;
	/* Which generation of map names the rules of `table` use; -1: ask. */
	char table[NFT_TABLE_MAXNAMELEN];
	int gen;
};

const char *nft_table(const struct nft_opts *o);
int nft_check_opts(const struct nft_opts *o, char **cause);
/* Sets *cause to the words of a drift and returns 1. */
int nft_drift(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* nft_elem_cmp() for qsort(). */
int nft_elem_qsort_cmp(const void *a, const void *b);

/*
 * Only the rules: which generation is live (st->generation), for a plain
 * sync. A missing table is st->table false, not an error.
 */
int nft_read_rules(struct nft_conn *c, const char *table, struct nft_state *st, char **cause);
/* Everything but the elements, in one consistent look: what a repair removes. */
int nft_read_objects(
        struct nft_conn *c, const struct nft_opts *o, struct nft_state *st, char **cause);

#endif
