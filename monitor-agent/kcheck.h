/*
 * The monitor's look at one router's table: the elements the kernel lists,
 * each as it comes (nft_read_sink()), against the router's records in the
 * set, searched (a sorted run: fwdset_sort()). Nothing is expanded or
 * kept but counts, so a look costs O(log N) per element and no memory in
 * the table's size (100,000 elements read into an array took ~7 MB).
 *
 * Each element the kernel lists must be one a record calls for, and as
 * many as they call for: a map holds a key once, so that is the same set.
 */
#ifndef PRAAS_MONITOR_KCHECK_H
#define PRAAS_MONITOR_KCHECK_H

#include <stddef.h>

#include "fwdset.h"
#include "nft.h"

/*
 * Reads the table on conn and compares it (rules by nft_compare_rules(),
 * elements as above) with run[0..n) of s. 0 when it is what they call
 * for, 1 when not (*cause says how), -errno with *cause: the read
 * failed, or the records are unsound (a port forwarded twice).
 */
int kcheck_table(struct nft_conn *conn, const struct nft_opts *o, const struct fwdset *s,
        const struct fwdset_rec *run, size_t n, char **cause);

#endif
