/*
 * The monitor's forwardings, held compactly: a record of 40 bytes each
 * (router, port and external address interned in tables of their own,
 * the internal address as 16 bytes) where a struct forwarding takes ~650,
 * so 100,000 forwardings fit in a few megabytes. Beside each interned
 * port, what Neutron's listing said of it (listed, and its addresses), so
 * the listing itself need not be kept.
 *
 * Records can be cleared a chunk at a time (fwdset_clear_records()) while
 * what the routers' decisions need stays: each (router, external address)
 * pair seen, few however many records.
 *
 * Promises: fwdset_get() gives back what fwdset_add() took, for the
 * fields the monitor uses (no id, project, description, status, times or
 * host: the monitor reports ports and routers, never a forwarding by its
 * id); interning is O(1) expected per id (SipHash, random key); every
 * allocation failure is -ENOMEM with the records unchanged.
 */
#ifndef PRAAS_MONITOR_FWDSET_H
#define PRAAS_MONITOR_FWDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "fwd.h"

struct neutron_port;

#define FWDSET_NONE UINT32_MAX /* no port */

struct fwdset_rec {
	uint32_t router; /* index in the router names */
	uint32_t port;   /* index in the port names, or FWDSET_NONE */
	uint32_t ext;    /* index in the external addresses (a router's few) */
	uint8_t in[16];
	uint8_t in_family; /* AF_INET, AF_INET6, 0 */
	uint8_t protocol;
	bool masquerade;
	struct port_range external, internal;
};

/* Interned strings: index -> text, text -> index. */
struct fwdset_names {
	char *text; /* NUL-terminated strings, back to back */
	size_t used, text_cap;
	uint32_t *off; /* where name i starts in text */
	size_t n, cap;
	uint32_t *slots; /* open addressing: index + 1, 0 when free */
	size_t nslots;
};

/* What Neutron's listing said of one port. */
struct fwdset_port {
	uint32_t addr_off; /* its addresses: addrs[addr_off .. addr_off + naddr) */
	uint16_t naddr;
	bool listed;
};

struct fwdset {
	struct fwdset_rec *v;
	size_t n, cap;
	struct fwdset_names routers, ports;
	struct fwdset_names exts;  /* external addresses, as text */
	struct fwdset_names pairs; /* router and external address indexes, as text */
	struct addr *ext_addrs;    /* one per ext name, parsed */
	size_t ext_addrs_cap;
	struct fwdset_port *port_state; /* one per port name */
	size_t port_state_cap;
	struct addr *addrs;
	size_t naddrs, addrs_cap;
	uint8_t key[16];
};

/* An empty set (zeroed memory is one too, with a fixed hash key). */
void fwdset_init(struct fwdset *s);
void fwdset_free(struct fwdset *s);
/* A compact copy of f. 0, -EINVAL (id not a UUID) or -ENOMEM. */
int fwdset_add(struct fwdset *s, const struct forwarding *f);
/*
 * What fwdset_add() keeps of f across fwdset_clear_records(), alone: its
 * router (index in *router), external address and their pair, no record.
 * 0, -EINVAL (id not a UUID) or -ENOMEM.
 */
int fwdset_add_router(struct fwdset *s, const struct forwarding *f, uint32_t *router);
/* fwdset_add() of v[0..n), stopping at the first error. */
int fwdset_add_all(struct fwdset *s, const struct forwarding *v, size_t n);
/* Record i in full (fields the set does not hold are zero). */
void fwdset_get(const struct fwdset *s, size_t i, struct forwarding *out);
const char *fwdset_router_id(const struct fwdset *s, const struct fwdset_rec *r);
/* The record's external address (family 0: none). */
struct addr fwdset_ext(const struct fwdset *s, const struct fwdset_rec *r);
/* "" when the record has no port. */
const char *fwdset_port_id(const struct fwdset *s, const struct fwdset_rec *r);
/* An address from a record's family and bytes. */
struct addr fwdset_addr(uint8_t family, const uint8_t bytes[16]);
/* The index of a name, or FWDSET_NONE. */
uint32_t fwdset_find(const struct fwdset *s, const struct fwdset_names *t, const char *name);
const char *fwdset_name(const struct fwdset_names *t, uint32_t i);
/*
 * Neutron listed port p: its addresses are kept if the set forwards to
 * it (other ports cost nothing). 0 or -ENOMEM.
 */
int fwdset_note_port(struct fwdset *s, const struct neutron_port *p);
/* What was noted of port index i (listed false when never noted). */
const struct fwdset_port *fwdset_port_state(const struct fwdset *s, uint32_t i);

/*
 * Forgets the records, their ports and what Neutron said of them, keeping
 * the routers, external addresses and their pairs (and the memory, for the
 * next records): a cycle holds one chunk of records at a time.
 */
void fwdset_clear_records(struct fwdset *s);
/*
 * Replaces the records by one per (router, external address) pair of
 * every record added so far, without a port: what decide_scoped() needs
 * for DECIDE_ROUTERS. 0 or -ENOMEM.
 */
int fwdset_pairs_as_records(struct fwdset *s);
#endif
