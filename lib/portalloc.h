/*
 * External port allocation from router_port_range, per (router, external
 * address, protocol): "which port do I give a forwarding that names none".
 *
 * Cost: each key holds a bitmap of the range (one bit per port, set when
 * taken) with summary levels above it, a bit per 64-bit word below that is
 * set when the word is full. Finding the next free port walks up until a
 * summary word has a zero bit and back down: at most 2 x 3 word reads for a
 * 65,535-port range, however many ports are taken. Taking or freeing a
 * port touches at most 3 words. A run of N consecutive ports costs at most
 * one pass over the range's words (1,024) plus one step per free hole met.
 * A key's bitmap (at most 8 KiB) is built on first use from the store,
 * one indexed read of that key's forwardings.
 *
 * Consistency with the store: the allocator is a cache of the store, never
 * a second truth. portalloc_new() installs store hooks: every insert,
 * update and delete marks or frees its ports as it happens inside the
 * transaction, and a rollback (store_rollback(), a failed commit, an I/O
 * error) drops the cached bitmaps, which are rebuilt from the store on
 * next use. So a rolled-back insert never leaks a port, a port taken by a
 * forwarding that named its own external port is never handed out, and the
 * caller only has to insert what portalloc_find() returned:
 *
 *	store_begin();
 *	portalloc_find(pa, router, gw, IPPROTO_TCP, 1, &f.external);
 *	store_insert(store, &f, ...);      // marks f.external taken
 *	if (kernel refused) store_rollback(); else store_commit();
 *
 * portalloc_find() does not reserve: two finds without an insert between
 * them may return the same ports.
 *
 * Order: round-robin. A search starts after the last port handed out for
 * that key and wraps to the start of the range, so a just-freed port is
 * not reused at once (conntrack entries of the old forwarding may linger).
 * After a restart it starts after the newest forwarding's ports.
 */
#ifndef PRAAS_PORTALLOC_H
#define PRAAS_PORTALLOC_H

#include <stdint.h>

#include "addr.h"
#include "fwd.h"
#include "store.h"

struct portalloc;

/*
 * An allocator over range for store s; installs s's hooks (one allocator
 * per store). Free it before closing the store.
 */
int portalloc_new(struct store *s, const struct port_range *range, struct portalloc **out);
/* Removes the hooks and frees. NULL is fine. */
void portalloc_free(struct portalloc *pa);

/*
 * Finds count consecutive free external ports for the key and writes them
 * to *out. Returns 0, -ENOSPC when no such run is free ("exhausted", and
 * *cause says so), -EINVAL for count 0, or a store error.
 */
int portalloc_find(struct portalloc *pa, const char *router_id, const struct addr *ext,
        uint8_t protocol, unsigned int count, struct port_range *out, char **cause);

/* Drops every cached bitmap; they are rebuilt from the store on next use. */
void portalloc_reset(struct portalloc *pa);

/*
 * Bitmap words read or written since the allocator was made, for tests
 * that check the cost of an operation.
 */
unsigned long portalloc_steps(const struct portalloc *pa);

#endif
