/*
 * The monitor's look at one router's table without holding its
 * forwardings: what they call for is summed up as they are listed, a page
 * at a time (kcheck_want_add()), into an order-independent keyed digest and
 * a count (SipHash of each element, summed mod 2^64, under the cycle's
 * random key); the elements the kernel lists are summed up the same way as
 * they come (nft_read_sink()), and the two compared. A cycle thus holds a
 * few dozen bytes per router, not a record per forwarding, and a look costs
 * one hash per element.
 *
 * Equal digests and counts mean the same elements but with a chance of
 * 2^-64 per comparison; a difference is only ever a suspect the pat-agent
 * verifies (reconcile.c), so a collision could only hide a drift for as
 * long as the key (one cycle) lasts.
 */
#ifndef PRAAS_MONITOR_KCHECK_H
#define PRAAS_MONITOR_KCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "fwd.h"
#include "nft.h"
#include "siphash.h"

/* What a router's forwardings call for, or what its table holds. */
struct kcheck_sum {
	uint64_t map, masq;   /* sums of the elements' keyed hashes */
	uint64_t nmap, nmasq; /* how many of each */
	char *unsound;        /* why a forwarding cannot be in a table, or NULL */
};

/* Adds f's elements (map and masquerade) to w. 0 or -ENOMEM. */
int kcheck_want_add(
        struct kcheck_sum *w, const uint8_t key[SIPHASH_KEY_LEN], const struct forwarding *f);
void kcheck_sum_free(struct kcheck_sum *w);

/*
 * Reads the table on conn and compares it (rules by nft_compare_rules(),
 * elements by their sum) with want, summed under key. 0 when it is what
 * they call for, 1 when not (*cause says how), -errno with *cause: the
 * read failed, or a forwarding is unsound.
 */
int kcheck_table(struct nft_conn *conn, const struct nft_opts *o,
        const uint8_t key[SIPHASH_KEY_LEN], const struct kcheck_sum *want, char **cause);

#endif
