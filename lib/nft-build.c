#include "nft-build.h"

#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* nft's datatype numbers, so `nft list` prints our maps in its own words. */
#define NFT_TYPE_IPADDR       7
#define NFT_TYPE_IP6ADDR      8
#define NFT_TYPE_INET_PROTO   12
#define NFT_TYPE_INET_SERVICE 13
#define NFT_TYPE_BITS         6
#define NFT_CONCAT2(a, b)     (((a) << NFT_TYPE_BITS) | (b))
#define NFT_CONCAT3(a, b, c)  ((NFT_CONCAT2(a, b) << NFT_TYPE_BITS) | (c))

/* Concatenations sit in 32-bit register slots: a 2-byte port takes 4. */
#define NFT_KEY4_LEN  12 /* addr(4) . proto(4) . port(4) */
#define NFT_KEY6_LEN  24 /* addr(16) . proto(4) . port(4) */
#define NFT_DATA4_LEN 8  /* addr(4) . port(4) */
#define NFT_DATA6_LEN 20 /* addr(16) . port(4) */

/* Elements per NEWSETELEM message: the element list is one attribute, < 64 KiB. */
#define NFT_ELEMS_PER_MSG 512

/*
 * Hairpin connections are marked with this conntrack label bit. Neutron
 * marks packets (meta mark 0x1/0x2, and ct mark 0xffff0000 for address
 * scopes) but never uses ct labels, so a label cannot disturb it.
 */
#define NFT_HAIRPIN_LABEL_BIT 100

static const char *const set_names[NFT_GENERATIONS][NFT_SET_KINDS] = {
        {"dnat4", "dnat6", "masq4", "masq6"},
        {"dnat4_b", "dnat6_b", "masq4_b", "masq6_b"},
};

static const struct {
	const char *name;
	uint32_t hook;
	int32_t prio;
} chain_defs[NFT_CHAIN_KINDS] = {
        /* dstnat - 10: before Neutron's iptables nat PREROUTING (-100) */
        [NFT_CHAIN_PREROUTING] = {"prerouting", NF_INET_PRE_ROUTING, -110},
        [NFT_CHAIN_OUTPUT] = {"output", NF_INET_LOCAL_OUT, -110},
        /*
         * srcnat + 10: after Neutron's own SNAT, so in a real qrouter its
         * hairpin SNAT to the gateway address wins and we only add what it
         * does not do.
         */
        [NFT_CHAIN_POSTROUTING] = {"postrouting", NF_INET_POST_ROUTING, 110},
};

static const char *const rule_names[NFT_RULE_KINDS] = {
        [NFT_RULE_PRE_HAIRPIN4] = "praas hairpin dnat ipv4",
        [NFT_RULE_PRE_DNAT4] = "praas dnat ipv4",
        [NFT_RULE_PRE_HAIRPIN6] = "praas hairpin dnat ipv6",
        [NFT_RULE_PRE_DNAT6] = "praas dnat ipv6",
        [NFT_RULE_OUT_DNAT4] = "praas local dnat ipv4",
        [NFT_RULE_OUT_DNAT6] = "praas local dnat ipv6",
        [NFT_RULE_POST_HAIRPIN] = "praas masquerade hairpin",
        [NFT_RULE_POST_MASQ4] = "praas masquerade ipv4 forwardings",
        [NFT_RULE_POST_MASQ6] = "praas masquerade ipv6 forwardings",
        [NFT_RULE_POST_ALL4] = "praas masquerade all ipv4",
        [NFT_RULE_POST_ALL6] = "praas masquerade all ipv6",
};

const char *nft_set_name(int gen, enum nft_set_kind kind)
{
	return set_names[gen][kind];
}

int nft_set_parse(const char *name, int *gen, enum nft_set_kind *kind)
{
	for (int g = 0; g < NFT_GENERATIONS; g++)
		for (int k = 0; k < NFT_SET_KINDS; k++)
			if (strcmp(name, set_names[g][k]) == 0) {
				*gen = g;
				*kind = (enum nft_set_kind)k;
				return 0;
			}
	return -1;
}

int nft_rule_parse(const char *comment)
{
	for (int i = 0; i < NFT_RULE_KINDS; i++)
		if (strcmp(comment, rule_names[i]) == 0)
			return i;
	return -1;
}

int nft_chain_parse(const char *name)
{
	for (int i = 0; i < NFT_CHAIN_KINDS; i++)
		if (strcmp(name, chain_defs[i].name) == 0)
			return i;
	return -1;
}

enum nft_chain_kind nft_rule_chain(enum nft_rule_kind kind)
{
	switch (kind) {
	case NFT_RULE_PRE_HAIRPIN4:
	case NFT_RULE_PRE_DNAT4:
	case NFT_RULE_PRE_HAIRPIN6:
	case NFT_RULE_PRE_DNAT6:
		return NFT_CHAIN_PREROUTING;
	case NFT_RULE_OUT_DNAT4:
	case NFT_RULE_OUT_DNAT6:
		return NFT_CHAIN_OUTPUT;
	default:
		return NFT_CHAIN_POSTROUTING;
	}
}

const char *nft_chain_name(unsigned int i)
{
	return i < NFT_CHAIN_KINDS ? chain_defs[i].name : NULL;
}

const char *nft_rule_name(unsigned int i)
{
	return i < NFT_RULE_KINDS ? rule_names[i] : NULL;
}

uint32_t nft_rules_expected(const struct nft_opts *o)
{
	uint32_t all = (1u << NFT_RULE_KINDS) - 1;

	if (!o->masquerade)
		all &= ~((1u << NFT_RULE_POST_ALL4) | (1u << NFT_RULE_POST_ALL6));
	return all;
}

void nft_chain_def(enum nft_chain_kind kind, uint32_t *hook, int32_t *prio)
{
	*hook = chain_defs[kind].hook;
	*prio = chain_defs[kind].prio;
}

void nft_set_def(enum nft_set_kind kind, struct nft_set_def *d)
{
	bool v6 = kind == NFT_SET_DNAT6 || kind == NFT_SET_MASQ6;
	bool map = kind == NFT_SET_DNAT4 || kind == NFT_SET_DNAT6;
	uint32_t addr_type = v6 ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR;

	d->flags = map ? NFT_SET_MAP : 0;
	d->key_type = NFT_CONCAT3(addr_type, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE);
	d->key_len = v6 ? NFT_KEY6_LEN : NFT_KEY4_LEN;
	d->data_type = map ? NFT_CONCAT2(addr_type, NFT_TYPE_INET_SERVICE) : 0;
	d->data_len = map ? (v6 ? NFT_DATA6_LEN : NFT_DATA4_LEN) : 0;
}

/* ---- tables, chains, sets ---- */

int nft_build_table(struct nft_batch *b, const char *table, bool del)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (t == NULL)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	/* Flags 0 on an existing table clears what someone set, e.g. dormant. */
	if (!del)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = nft_batch_msg(b, del ? NFT_MSG_DELTABLE : NFT_MSG_NEWTABLE, NFPROTO_INET,
	        del ? 0 : NLM_F_CREATE, "%s table inet %s", del ? "delete" : "add", table);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

int nft_build_chain(struct nft_batch *b, const char *table, enum nft_chain_kind kind)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (c == NULL)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain_defs[kind].name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, chain_defs[kind].hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, chain_defs[kind].prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_batch_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE,
	        "add chain inet %s %s { type nat hook %s priority %d; }", table,
	        chain_defs[kind].name, chain_defs[kind].name, chain_defs[kind].prio);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nlh ? 0 : -ENOMEM;
}

int nft_build_flush_chain(struct nft_batch *b, const char *table, enum nft_chain_kind kind)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (r == NULL)
		return -ENOMEM;
	/* A rule delete naming only the chain deletes all its rules. */
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain_defs[kind].name);
	nlh = nft_batch_msg(b, NFT_MSG_DELRULE, NFPROTO_INET, 0, "flush chain inet %s %s", table,
	        chain_defs[kind].name);
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

/* A set object naming table and set, as every set message starts. */
static struct nftnl_set *set_named(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s != NULL) {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	}
	return s;
}

int nft_build_set(struct nft_batch *b, const char *table, int gen, enum nft_set_kind kind, bool del)
{
	static uint32_t set_id;
	bool map = kind == NFT_SET_DNAT4 || kind == NFT_SET_DNAT6;
	struct nftnl_set *s = set_named(table, set_names[gen][kind]);
	struct nlmsghdr *nlh;

	if (s == NULL)
		return -ENOMEM;
	if (!del) {
		struct nft_set_def d;
		nft_set_def(kind, &d);
		nftnl_set_set_u32(s, NFTNL_SET_ID, ++set_id);
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d.flags);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d.key_type);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d.key_len);
		if (map) {
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, d.data_type);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, d.data_len);
		}
	}
	nlh = nft_batch_msg(b, del ? NFT_MSG_DELSET : NFT_MSG_NEWSET, NFPROTO_INET,
	        del ? 0 : NLM_F_CREATE, "%s %s inet %s %s", del ? "delete" : "add",
	        map ? "map" : "set", table, set_names[gen][kind]);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

/* A DELSETELEM naming only the set empties it ("flush set"). */
int nft_build_flush_set(struct nft_batch *b, const char *table, int gen, enum nft_set_kind kind)
{
	struct nftnl_set *s = set_named(table, set_names[gen][kind]);
	struct nlmsghdr *nlh;

	if (s == NULL)
		return -ENOMEM;
	nlh = nft_batch_msg(b, NFT_MSG_DELSETELEM, NFPROTO_INET, 0, "flush set inet %s %s", table,
	        set_names[gen][kind]);
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

/*
 * Removes an object PRaaS did not write from its table: a foreign chain
 * is flushed first (deleting a chain with rules fails), and the caller
 * orders the kinds so nothing is still referenced when it goes.
 */
int nft_build_drop_foreign(struct nft_batch *b, const char *table, const struct nft_foreign *f)
{
	struct nlmsghdr *nlh = NULL;

	switch (f->kind) {
	case NFT_FOREIGN_RULES: {
		struct nftnl_rule *r = nftnl_rule_alloc();
		if (r == NULL)
			return -ENOMEM;
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, f->name);
		nlh = nft_batch_msg(b, NFT_MSG_DELRULE, NFPROTO_INET, 0,
		        "flush chain inet %s %s (not ours)", table, f->name);
		if (nlh)
			nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		break;
	}
	case NFT_FOREIGN_CHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();
		if (c == NULL)
			return -ENOMEM;
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, f->name);
		nlh = nft_batch_msg(b, NFT_MSG_DELCHAIN, NFPROTO_INET, 0,
		        "delete chain inet %s %s (not ours)", table, f->name);
		if (nlh)
			nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
		break;
	}
	case NFT_FOREIGN_SET: {
		struct nftnl_set *s = set_named(table, f->name);
		if (s == NULL)
			return -ENOMEM;
		nlh = nft_batch_msg(b, NFT_MSG_DELSET, NFPROTO_INET, 0,
		        "delete set inet %s %s (not ours)", table, f->name);
		if (nlh)
			nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		break;
	}
	case NFT_FOREIGN_OBJECT: {
		struct nftnl_obj *o = nftnl_obj_alloc();
		if (o == NULL)
			return -ENOMEM;
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, f->name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, f->type);
		nlh = nft_batch_msg(b, NFT_MSG_DELOBJ, NFPROTO_INET, 0,
		        "delete object inet %s %s (not ours)", table, f->name);
		if (nlh)
			nftnl_obj_nlmsg_build_payload(nlh, o);
		nftnl_obj_free(o);
		break;
	}
	case NFT_FOREIGN_FLOWTABLE: {
		struct nftnl_flowtable *ft = nftnl_flowtable_alloc();
		if (ft == NULL)
			return -ENOMEM;
		nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_TABLE, table);
		nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_NAME, f->name);
		nlh = nft_batch_msg(b, NFT_MSG_DELFLOWTABLE, NFPROTO_INET, 0,
		        "delete flowtable inet %s %s (not ours)", table, f->name);
		if (nlh)
			nftnl_flowtable_nlmsg_build_payload(nlh, ft);
		nftnl_flowtable_free(ft);
		break;
	}
	default:
		return -EINVAL;
	}
	return nlh ? 0 : -ENOMEM;
}

/* ---- expressions: one builder each ---- */

static int expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

/* meta KEY => reg */
static int expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return expr_add(r, e);
}

/* cmp reg OP data */
static int expr_cmp(
        struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return expr_add(r, e);
}

/* payload load LEN bytes at BASE + OFFSET => reg */
static int expr_payload(
        struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return expr_add(r, e);
}

/* lookup reg in @set [=> dreg]; a map needs a dreg even when only testing */
static int expr_lookup(struct nftnl_rule *r, uint32_t sreg, int dreg, const char *set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		if (dreg >= 0)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	}
	return expr_add(r, e);
}

/* dnat FAMILY to addr reg : port reg */
static int expr_dnat(struct nftnl_rule *r, uint32_t family, uint32_t reg_addr, uint32_t reg_port)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_port);
	}
	return expr_add(r, e);
}

/* fib FLAGS RESULT => reg */
static int expr_fib(struct nftnl_rule *r, uint32_t flags, uint32_t result, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, flags);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, result);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, dreg);
	}
	return expr_add(r, e);
}

/* ct [original] KEY => reg; dir < 0 for keys without a direction */
static int expr_ct_get(struct nftnl_rule *r, uint32_t key, int dir, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		if (dir >= 0)
			nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)dir);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	}
	return expr_add(r, e);
}

/* ct KEY set reg */
static int expr_ct_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, sreg);
	}
	return expr_add(r, e);
}

/* immediate data => reg */
static int expr_immediate(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	}
	return expr_add(r, e);
}

/* reg = (reg & mask) ^ 0 */
static int expr_bitwise_and(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return expr_add(r, e);
}

/* masquerade */
static int expr_masq(struct nftnl_rule *r)
{
	return expr_add(r, nftnl_expr_alloc("masq"));
}

/* ---- statements made of expressions ---- */

/* meta nfproto ipv4|ipv6 */
static int stmt_nfproto(struct nftnl_rule *r, bool v6)
{
	uint8_t proto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	int e;

	if ((e = expr_meta(r, NFT_META_NFPROTO, NFT_REG_1)) < 0)
		return e;
	return expr_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof(proto));
}

/* ip daddr . meta l4proto . th dport => reg 1 (the map key) */
static int stmt_packet_key(struct nftnl_rule *r, bool v6)
{
	int e;

	if ((e = expr_payload(
	             r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG32_00)) < 0 ||
	        (e = expr_meta(r, NFT_META_L4PROTO, v6 ? NFT_REG32_04 : NFT_REG32_01)) < 0)
		return e;
	return expr_payload(
	        r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, v6 ? NFT_REG32_05 : NFT_REG32_02);
}

/* ct original ip daddr . meta l4proto . ct original proto-dst => reg 1 */
static int stmt_original_key(struct nftnl_rule *r, bool v6)
{
	int e;

	if ((e = expr_ct_get(r, v6 ? NFT_CT_DST_IP6 : NFT_CT_DST_IP, IP_CT_DIR_ORIGINAL,
	             NFT_REG32_00)) < 0 ||
	        (e = expr_meta(r, NFT_META_L4PROTO, v6 ? NFT_REG32_04 : NFT_REG32_01)) < 0)
		return e;
	return expr_ct_get(
	        r, NFT_CT_PROTO_DST, IP_CT_DIR_ORIGINAL, v6 ? NFT_REG32_05 : NFT_REG32_02);
}

/* ct status dnat */
static int stmt_ct_dnat(struct nftnl_rule *r)
{
	uint32_t mask = IPS_DST_NAT, zero = 0;
	int e;

	if ((e = expr_ct_get(r, NFT_CT_STATUS, -1, NFT_REG_1)) < 0 ||
	        (e = expr_bitwise_and(r, NFT_REG_1, &mask, sizeof(mask))) < 0)
		return e;
	return expr_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void hairpin_label(uint32_t words[4])
{
	memset(words, 0, 16);
	words[NFT_HAIRPIN_LABEL_BIT / 32] = 1u << (NFT_HAIRPIN_LABEL_BIT % 32);
}

/*
 * fib daddr . iif type != local: the destination address is not on the
 * interface the packet came in by, so the client is on the inside (a VM
 * on a tenant network reaching the gateway address). Its connection is
 * DNATed back towards the inside, and the VM would answer the client
 * directly unless the router also source-NATs it: label it for
 * postrouting.
 */
static int stmt_hairpin_test(struct nftnl_rule *r)
{
	uint32_t local = RTN_LOCAL;
	int e;

	if ((e = expr_fib(
	             r, NFTA_FIB_F_DADDR | NFTA_FIB_F_IIF, NFT_FIB_RESULT_ADDRTYPE, NFT_REG_1)) < 0)
		return e;
	return expr_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &local, sizeof(local));
}

/* ct label set praas-hairpin (the value sits in reg 3, clear of the map data) */
static int stmt_hairpin_mark(struct nftnl_rule *r)
{
	uint32_t words[4];
	int e;

	hairpin_label(words);
	if ((e = expr_immediate(r, NFT_REG_3, words, sizeof(words))) < 0)
		return e;
	return expr_ct_set(r, NFT_CT_LABELS, NFT_REG_3);
}

/* ct label praas-hairpin */
static int stmt_hairpin_match(struct nftnl_rule *r)
{
	uint32_t words[4], zero[4] = {0};
	int e;

	hairpin_label(words);
	if ((e = expr_ct_get(r, NFT_CT_LABELS, -1, NFT_REG_1)) < 0 ||
	        (e = expr_bitwise_and(r, NFT_REG_1, words, sizeof(words))) < 0)
		return e;
	return expr_cmp(r, NFT_REG_1, NFT_CMP_NEQ, zero, sizeof(zero));
}

/* ---- rules ---- */

static struct nftnl_rule *rule_new(
        const char *table, enum nft_chain_kind chain, enum nft_rule_kind kind)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *u;

	if (r == NULL)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain_defs[chain].name);
	/* The comment names the rule, for `nft list` and for nft_read(). */
	u = nftnl_udata_buf_alloc(128);
	if (u == NULL || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, rule_names[kind])) {
		nftnl_udata_buf_free(u);
		nftnl_rule_free(r);
		return NULL;
	}
	nftnl_rule_set_data(
	        r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return r;
}

/* Hands r (always consumed) to the sink, unless building it failed. */
static int rule_commit(const struct nft_rule_sink *sink, struct nftnl_rule *r, int err,
        enum nft_chain_kind chain, enum nft_rule_kind kind)
{
	if (err < 0) {
		nftnl_rule_free(r);
		return err;
	}
	return sink->fn(r, chain, kind, sink->arg);
}

/*
 * [hairpin: fib daddr . iif type != local ... ct label set praas-hairpin]
 * dnat ip to ip daddr . meta l4proto . th dport map @dnat4
 */
static int rule_dnat(const struct nft_rule_sink *b, const char *table, int gen,
        enum nft_chain_kind chain, enum nft_rule_kind kind, bool v6, bool hairpin)
{
	struct nftnl_rule *r = rule_new(table, chain, kind);
	const char *map = set_names[gen][v6 ? NFT_SET_DNAT6 : NFT_SET_DNAT4];
	int e;

	if (r == NULL)
		return -ENOMEM;
	if ((e = stmt_nfproto(r, v6)) == 0 && hairpin)
		e = stmt_hairpin_test(r);
	if (e == 0)
		e = stmt_packet_key(r, v6);
	if (e == 0)
		e = expr_lookup(r, NFT_REG_1, NFT_REG_1, map);
	if (e == 0 && hairpin)
		e = stmt_hairpin_mark(r);
	if (e == 0)
		e = expr_dnat(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, NFT_REG_1,
		        v6 ? NFT_REG32_04 : NFT_REG32_01);
	return rule_commit(b, r, e, chain, kind);
}

/* ct label praas-hairpin masquerade */
static int rule_masq_hairpin(const struct nft_rule_sink *b, const char *table)
{
	struct nftnl_rule *r = rule_new(table, NFT_CHAIN_POSTROUTING, NFT_RULE_POST_HAIRPIN);
	int e;

	if (r == NULL)
		return -ENOMEM;
	if ((e = stmt_hairpin_match(r)) == 0)
		e = expr_masq(r);
	return rule_commit(b, r, e, NFT_CHAIN_POSTROUTING, NFT_RULE_POST_HAIRPIN);
}

/*
 * ct status dnat ct original ip daddr . meta l4proto . ct original proto-dst @SET masquerade
 * The original destination is the forwarding's own key, so the set says
 * exactly which forwardings are masqueraded; with a dnat map as SET
 * (global masquerade) it is all of them and nothing else, not Neutron's
 * floating IPs.
 */
static int rule_masq_set(const struct nft_rule_sink *b, const char *table, enum nft_rule_kind kind,
        bool v6, const char *set, bool map)
{
	struct nftnl_rule *r = rule_new(table, NFT_CHAIN_POSTROUTING, kind);
	int e;

	if (r == NULL)
		return -ENOMEM;
	if ((e = stmt_nfproto(r, v6)) == 0)
		e = stmt_ct_dnat(r);
	if (e == 0)
		e = stmt_original_key(r, v6);
	if (e == 0)
		e = expr_lookup(r, NFT_REG_1, map ? NFT_REG_1 : -1, set);
	if (e == 0)
		e = expr_masq(r);
	return rule_commit(b, r, e, NFT_CHAIN_POSTROUTING, kind);
}

int nft_make_rules(const char *table, int gen, bool masquerade, const struct nft_rule_sink *b)
{
	const char *const *s = set_names[gen];
	int e;

	if ((e = rule_dnat(b, table, gen, NFT_CHAIN_PREROUTING, NFT_RULE_PRE_HAIRPIN4, false,
	             true)) < 0 ||
	        (e = rule_dnat(b, table, gen, NFT_CHAIN_PREROUTING, NFT_RULE_PRE_DNAT4, false,
	                 false)) < 0 ||
	        (e = rule_dnat(b, table, gen, NFT_CHAIN_PREROUTING, NFT_RULE_PRE_HAIRPIN6, true,
	                 true)) < 0 ||
	        (e = rule_dnat(b, table, gen, NFT_CHAIN_PREROUTING, NFT_RULE_PRE_DNAT6, true,
	                 false)) < 0 ||
	        (e = rule_dnat(b, table, gen, NFT_CHAIN_OUTPUT, NFT_RULE_OUT_DNAT4, false, false)) <
	                0 ||
	        (e = rule_dnat(b, table, gen, NFT_CHAIN_OUTPUT, NFT_RULE_OUT_DNAT6, true, false)) <
	                0 ||
	        (e = rule_masq_hairpin(b, table)) < 0 ||
	        (e = rule_masq_set(b, table, NFT_RULE_POST_MASQ4, false, s[NFT_SET_MASQ4], false)) <
	                0 ||
	        (e = rule_masq_set(b, table, NFT_RULE_POST_MASQ6, true, s[NFT_SET_MASQ6], false)) <
	                0)
		return e;
	if (!masquerade)
		return 0;
	if ((e = rule_masq_set(b, table, NFT_RULE_POST_ALL4, false, s[NFT_SET_DNAT4], true)) < 0)
		return e;
	return rule_masq_set(b, table, NFT_RULE_POST_ALL6, true, s[NFT_SET_DNAT6], true);
}

struct batch_sink {
	struct nft_batch *b;
	const char *table;
};

static int batch_rule(
        struct nftnl_rule *r, enum nft_chain_kind chain, enum nft_rule_kind kind, void *arg)
{
	struct batch_sink *bs = arg;
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(bs->b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND,
	        "add rule inet %s %s (%s)", bs->table, chain_defs[chain].name, rule_names[kind]);
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int nft_build_rules(struct nft_batch *b, const char *table, int gen, bool masquerade)
{
	struct batch_sink bs = {.b = b, .table = table};

	return nft_make_rules(table, gen, masquerade, &(struct nft_rule_sink){batch_rule, &bs});
}

/* ---- elements ---- */

/* key: addr . proto . port, each in 32-bit slots, padding zeroed */
static uint32_t elem_key(const struct nft_elem *e, uint8_t *key)
{
	size_t alen = addr_len(&e->ext);
	uint16_t port = htons(e->ext_port);

	memset(key, 0, NFT_KEY6_LEN);
	memcpy(key, e->ext.u.bytes, alen);
	key[alen] = e->protocol;
	memcpy(key + alen + 4, &port, 2);
	return (uint32_t)alen + 8;
}

/* data: addr . port */
static uint32_t elem_data(const struct nft_elem *e, uint8_t *data)
{
	size_t alen = addr_len(&e->in);
	uint16_t port = htons(e->in_port);

	memset(data, 0, NFT_DATA6_LEN);
	memcpy(data, e->in.u.bytes, alen);
	memcpy(data + alen, &port, 2);
	return (uint32_t)alen + 4;
}

int nft_elem_decode(enum nft_set_kind kind, const void *key, uint32_t klen, const void *data,
        uint32_t dlen, struct nft_elem *out)
{
	bool v6 = kind == NFT_SET_DNAT6 || kind == NFT_SET_MASQ6;
	bool map = kind == NFT_SET_DNAT4 || kind == NFT_SET_DNAT6;
	size_t alen = v6 ? 16 : 4;
	const uint8_t *k = key, *d = data;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (klen != (v6 ? NFT_KEY6_LEN : NFT_KEY4_LEN) ||
	        (map && dlen != (v6 ? NFT_DATA6_LEN : NFT_DATA4_LEN)))
		return -EPROTO;
	out->ext.family = out->in.family = v6 ? AF_INET6 : AF_INET;
	memcpy(out->ext.u.bytes, k, alen);
	out->protocol = k[alen];
	memcpy(&port, k + alen + 4, 2);
	out->ext_port = ntohs(port);
	if (map) {
		memcpy(out->in.u.bytes, d, alen);
		memcpy(&port, d + alen, 2);
		out->in_port = ntohs(port);
	} else {
		out->in.family = 0;
		out->masquerade = true;
	}
	return 0;
}

static bool elem_in_set(const struct nft_elem *e, enum nft_set_kind kind)
{
	bool v6 = e->ext.family == AF_INET6;

	switch (kind) {
	case NFT_SET_DNAT4:
		return !v6;
	case NFT_SET_DNAT6:
		return v6;
	case NFT_SET_MASQ4:
		return !v6 && e->masquerade;
	case NFT_SET_MASQ6:
		return v6 && e->masquerade;
	default:
		return false;
	}
}

/* One NEWSETELEM/DELSETELEM message with up to NFT_ELEMS_PER_MSG of elems. */
static int elems_msg(struct nft_batch *b, const char *table, const char *set, bool map,
        const struct nft_elem **v, size_t n, bool del)
{
	struct nftnl_set *s = set_named(table, set);
	uint8_t key[NFT_KEY6_LEN], data[NFT_DATA6_LEN];
	struct nlmsghdr *nlh;
	char first[128];

	if (s == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		if (e == NULL) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, elem_key(v[i], key));
		if (map)
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, elem_data(v[i], data));
		nftnl_set_elem_add(s, e);
	}
	nft_elem_format(v[0], first, sizeof(first));
	nlh = nft_batch_msg(b, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, NFPROTO_INET,
	        del ? 0 : NLM_F_CREATE, "%s %zu element%s %s %s %s (first: %s)",
	        del ? "delete" : "add", n, n == 1 ? "" : "s", del ? "from" : "to",
	        map ? "map" : "set", set, first);
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

int nft_build_elems(struct nft_batch *b, const char *table, int gen, const struct nft_elem *elems,
        size_t n, bool del)
{
	const struct nft_elem *chunk[NFT_ELEMS_PER_MSG];

	for (int k = 0; k < NFT_SET_KINDS; k++) {
		bool map = k == NFT_SET_DNAT4 || k == NFT_SET_DNAT6;
		size_t cn = 0;
		int e;

		for (size_t i = 0; i < n; i++) {
			if (!elem_in_set(&elems[i], (enum nft_set_kind)k))
				continue;
			chunk[cn++] = &elems[i];
			if (cn == NFT_ELEMS_PER_MSG) {
				if ((e = elems_msg(
				             b, table, set_names[gen][k], map, chunk, cn, del)) < 0)
					return e;
				cn = 0;
			}
		}
		if (cn > 0 && (e = elems_msg(b, table, set_names[gen][k], map, chunk, cn, del)) < 0)
			return e;
	}
	return 0;
}
