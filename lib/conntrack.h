/*
 * Conntrack cleanup after a forwarding is removed or retargeted.
 *
 * Deleting a map element does not cut a session: its conntrack entry
 * keeps the NAT binding until the entry goes. conntrack_flush_forwardings()
 * deletes the entries whose original destination is a forwarding's
 * external address, protocol and one of its external ports, in the
 * namespace the handle was opened in. Call it after the nft change, so a
 * packet arriving in between cannot recreate an entry with the old target.
 */
#ifndef PRAAS_CONNTRACK_H
#define PRAAS_CONNTRACK_H

#include <stddef.h>

#include "fwd.h"

struct conntrack;

/* Opens ctnetlink in netns_dir/name (NULL: here). 0 or -errno with *cause. */
int conntrack_open(const char *netns_dir, const char *name, struct conntrack **out, char **cause);
void conntrack_close(struct conntrack *ct);

/*
 * Deletes the entries of the n forwardings f (see above): one dump per
 * address family whatever n is, each entry matched in O(log n), so bulk
 * changes (a router deleted, a gateway re-keyed) do not stall the caller.
 * Returns how many were deleted, or -errno with *cause. Entries that
 * vanish meanwhile are not an error.
 */
int conntrack_flush_forwardings(
        struct conntrack *ct, const struct forwarding *f, size_t n, char **cause);

#endif
