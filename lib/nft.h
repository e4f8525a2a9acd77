/*
 * The nft messages of PRaaS's own nf_tables table in a router namespace
 * (libnftnl + libmnl over netlink, never the nft binary).
 *
 *   table inet praas {
 *     map dnat4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
 *     map dnat6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service }
 *     set masq4 { type ipv4_addr . inet_proto . inet_service }    per-forwarding masquerade
 *     set masq6 { type ipv6_addr . inet_proto . inet_service }
 *     chain prerouting  { type nat hook prerouting priority -110 (dstnat - 10)
 *       hairpin: from a side where daddr is not local, mark the conntrack, then dnat
 *       dnat ip to ip daddr . meta l4proto . th dport map @dnat4, same for ip6 }
 *     chain output      { type nat hook output priority -110: the same dnat rules }
 *     chain postrouting { type nat hook postrouting priority 110 (srcnat + 10)
 *       masquerade marked hairpin connections, those whose original destination
 *       is in @masq4/@masq6, and with the global flag every one in @dnat4/@dnat6 }
 *   }
 *
 * One element per forwarded port (ranges are expanded), so a new
 * connection costs one hash lookup however many forwardings there are.
 * Every change is one netlink transaction. PRaaS never touches another
 * table. Reading a table back and comparing it is nft-read.h; the names
 * of its chains and rules, nft-build.h. Functions return 0 or -errno
 * and, on error, set *cause (may be NULL) to an allocated message the
 * caller frees, naming what was being done and the kernel's answer.
 */
#ifndef PRAAS_NFT_H
#define PRAAS_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "fwd.h"

#define NFT_TABLE_DEFAULT "praas"
/* Up to this many elements a resync is one transaction. */
#define NFT_ONESHOT_MAX 4096
/* Elements per transaction when filling fresh maps in a split resync. */
#define NFT_BATCH_DEFAULT 4096
/* nft_apply() returns this when it had to recreate a flushed table. */
#define NFT_REBUILT 1

struct nft_opts {
	const char *table;        /* NULL: NFT_TABLE_DEFAULT */
	bool masquerade;          /* global: source-NAT every forwarded connection */
	unsigned int oneshot_max; /* 0: NFT_ONESHOT_MAX */
	unsigned int batch_max;   /* 0: NFT_BATCH_DEFAULT */
	/*
	 * nft_sync(): first read the whole table and remove, in the same
	 * transaction, whatever PRaaS did not write (a repair of drift). Off,
	 * a sync reads only the rules (a restore: one look fewer per router)
	 * and foreign chains, sets and objects stay until a repair.
	 */
	bool remove_foreign;
};

/* One forwarded port, as one map element (plus masq set element). */
struct nft_elem {
	uint8_t protocol;
	struct addr ext;
	uint16_t ext_port;
	struct addr in;
	uint16_t in_port;
	bool masquerade;
};

/* Chains of the table (prerouting, output, postrouting). */
#define NFT_CHAINS 3
/* Rules kept per chain for comparing: more than PRaaS writes means drift anyway. */
#define NFT_RULES_KEPT 16
/* Foreign objects kept by name for removal; more are counted, removed by a rebuild. */
#define NFT_FOREIGN_KEPT 64
/* A dump the kernel interrupted (the ruleset changed meanwhile) is redone this often. */
#define NFT_READ_TRIES 32

/* An object in the table that PRaaS did not write. */
enum nft_foreign_kind {
	NFT_FOREIGN_RULES, /* the rules of a foreign chain (flushed before it goes) */
	NFT_FOREIGN_CHAIN,
	NFT_FOREIGN_SET,
	NFT_FOREIGN_OBJECT,
	NFT_FOREIGN_FLOWTABLE,
};

struct nft_foreign {
	enum nft_foreign_kind kind;
	uint32_t type; /* an object's NFT_OBJECT_* type */
	char name[256];
};

/*
 * What nft_read() found. Rules are kept as fingerprints: the comment and
 * every expression with its attributes, as libnftnl prints them, so two
 * rules match only when they do the same thing.
 */
struct nft_state {
	bool table;             /* the table exists */
	uint32_t table_flags;   /* e.g. NFT_TABLE_F_DORMANT: set by someone else */
	int generation;         /* which map names the rules use (0 or 1), -1 if none */
	uint32_t chains;        /* bit i: chain i of nft_chain_name() present */
	uint32_t rules;         /* bit i: rule i of nft_rule_name() present */
	uint32_t sets[2];       /* bit k of [gen]: that set of ours is present */
	struct nft_elem *elems; /* sorted, masquerade from the masq sets */
	size_t n;
	size_t orphans; /* masq set elements with no map element */
	/* per chain of ours, in kernel order: how many rules, the first NFT_RULES_KEPT */
	size_t nrules[NFT_CHAINS];
	char *rule_fp[NFT_CHAINS][NFT_RULES_KEPT];
	/* our chains and sets defined otherwise than we define them, in words; NULL: none */
	char *odd;
	/* objects we did not write: how many, and the first NFT_FOREIGN_KEPT */
	size_t nforeign;
	size_t nkept;          /* of foreign[] */
	bool foreign_overflow; /* more than NFT_FOREIGN_KEPT named: only a rebuild clears them */
	struct nft_foreign *foreign;
};

struct nft_conn;

/*
 * Opens a netfilter netlink socket in netns_dir/name (NULL: here).
 * *out is freed with nft_close().
 */
int nft_open(const char *netns_dir, const char *name, struct nft_conn **out, char **cause);
void nft_close(struct nft_conn *c);

/*
 * Makes the table hold exactly fwds (n of them), with the chains and
 * rules for opts (and, with opts->remove_foreign, nothing else). Atomic as packets see it: up to
 * oneshot_max elements, one transaction rewrites the live maps and rules in place; more are filled
 * into fresh maps in transactions of at most batch_max elements, one transaction switches the rules
 * to them, and a last one deletes the old maps. A missing or broken table is rebuilt.
 */
int nft_sync(struct nft_conn *c, const struct nft_opts *o, const struct forwarding *fwds, size_t n,
        char **cause);

/*
 * One change in one transaction: removes del's elements (if del) and adds
 * add's (if add); both together is a retarget. Removing elements that are
 * already gone is not an error; adding a port already forwarded elsewhere
 * is (-EEXIST). When the table turns out to be missing (flushed), it is
 * recreated empty and the change retried once; the result is then
 * NFT_REBUILT and the caller must nft_sync() the other forwardings.
 */
int nft_apply(struct nft_conn *c, const struct nft_opts *o, const struct forwarding *del,
        const struct forwarding *add, char **cause);

/* One change of a batch: del's elements out, add's in (either may be NULL). */
struct nft_change {
	const struct forwarding *del;
	const struct forwarding *add;
};

/*
 * nft_apply() of v[0..n) in order, in one transaction: all of them or none.
 * A later change sees the earlier ones (a forwarding changed twice ends as
 * the second change left it). The group commit's kernel half.
 */
int nft_apply_many(struct nft_conn *c, const struct nft_opts *o, const struct nft_change *v,
        size_t n, char **cause);

/* Removes the table. Not an error if it is not there. */
int nft_drop(struct nft_conn *c, const struct nft_opts *o, char **cause);

/*
 * Expands forwardings into sorted elements, one per external port.
 * -EINVAL (with *cause) for a forwarding that fwd_validate() refuses or
 * that has no external address.
 */
int nft_expand(
        const struct forwarding *fwds, size_t n, struct nft_elem **out, size_t *nout, char **cause);
/*
 * The port_range_len(&f->external) elements of f, in order, written at v;
 * -EINVAL as nft_expand(). For a caller expanding one forwarding at a time.
 */
int nft_expand_one(const struct forwarding *f, struct nft_elem *v, char **cause);
/* Whether f can be in a table (what nft_expand_one() refuses): 0 or -EINVAL with *cause. */
int nft_fwd_check(const struct forwarding *f, char **cause);
/* The element of f at external port port (within f->external), unchecked. */
void nft_elem_at(const struct forwarding *f, uint16_t port, struct nft_elem *e);
/* Orders elements by key alone (address, protocol, port). */
int nft_elem_key_cmp(const struct nft_elem *a, const struct nft_elem *b);
int nft_elem_cmp(const struct nft_elem *a, const struct nft_elem *b);
/* "tcp 203.0.113.1 4022 -> 10.0.0.5 22 masquerade" */
const char *nft_elem_format(const struct nft_elem *e, char *buf, size_t len);

#endif
