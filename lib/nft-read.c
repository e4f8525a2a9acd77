/*
 * Reading table inet praas back, whole, and comparing it with what
 * nft_sync() writes (nft-read.h: nft_read, nft_compare). Anything in the
 * table PRaaS did not write is drift: foreign chains, sets, objects,
 * flowtables, rules in our chains, our objects defined otherwise, the
 * table's flags. A read is one consistent look at the ruleset.
 */
#include "nft-read.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array-grow.h"
#include "cause.h"
#include "log.h"
#include "nft-batch.h"
#include "nft-build.h"
#include "nft-int.h"

_Static_assert(NFT_CHAINS == NFT_CHAIN_KINDS, "nft.h and nft-build.h agree on the chains");

struct nft_read_ctx {
	const char *table;
	struct nft_state *st;
	uint32_t gens;          /* bit g: some rule looks up a set of generation g */
	bool fingerprints;      /* keep each rule's fingerprint (for comparing) */
	enum nft_set_kind kind; /* elements being read */
	const char *set;
	struct nft_elem *elems;
	size_t n, cap;
	const struct nft_elem_sink *sink; /* or the elements are kept in elems */
	struct nft_elem one;              /* with a sink: the element being handed */
	int err;
};

/* Notes the first way one of our objects is defined otherwise than we define it. */
static void note_odd(struct nft_read_ctx *x, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void note_odd(struct nft_read_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->st->odd != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&x->st->odd, fmt, ap) < 0)
		x->st->odd = NULL;
	va_end(ap);
	if (x->st->odd == NULL)
		x->err = -ENOMEM;
}

static void note_foreign(
        struct nft_read_ctx *x, enum nft_foreign_kind kind, uint32_t type, const char *name)
{
	struct nft_state *st = x->st;
	struct nft_foreign *f;

	st->nforeign++;
	if (st->nkept == NFT_FOREIGN_KEPT) {
		st->foreign_overflow = true;
		return;
	}
	if (st->foreign == NULL &&
	        (st->foreign = calloc(NFT_FOREIGN_KEPT, sizeof(*st->foreign))) == NULL) {
		x->err = -ENOMEM;
		return;
	}
	f = &st->foreign[st->nkept++];
	f->kind = kind;
	f->type = type;
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
}

/*
 * A dump's request payload naming our table: a sets dump then fails with
 * ENOENT if it is not there; a rules dump is limited to it (the kernel
 * filters; so do we).
 */
#define TABLE_FILTER(fn, kind, table_attr)                                                         \
	static void fn(struct nlmsghdr *nlh, void *arg)                                            \
	{                                                                                          \
		struct nft_read_ctx *x = arg;                                                      \
		struct nftnl_##kind *o = nftnl_##kind##_alloc();                                   \
                                                                                                   \
		if (o == NULL) {                                                                   \
			x->err = -ENOMEM;                                                          \
			return;                                                                    \
		}                                                                                  \
		nftnl_##kind##_set_str(o, table_attr, x->table);                                   \
		nftnl_##kind##_nlmsg_build_payload(nlh, o);                                        \
		nftnl_##kind##_free(o);                                                            \
	}
TABLE_FILTER(fill_set_table, set, NFTNL_SET_TABLE)
TABLE_FILTER(fill_rule_table, rule, NFTNL_RULE_TABLE)

static bool same_table(const char *t, const struct nft_read_ctx *x)
{
	return t != NULL && strcmp(t, x->table) == 0;
}

static uint32_t set_u32(const struct nftnl_set *s, uint16_t attr)
{
	return nftnl_set_is_set(s, attr) ? nftnl_set_get_u32(s, attr) : 0;
}

/*
 * The start every dump callback below shares: the message parsed into a
 * fresh libnftnl object, or NULL with errno ENOMEM or EPROTO (the callback
 * then returns MNL_CB_ERROR). One parser per kind of message.
 */
#define DUMP_PARSER(fn, kind, parse)                                                               \
	static struct nftnl_##kind *fn(const struct nlmsghdr *nlh)                                 \
	{                                                                                          \
		struct nftnl_##kind *o = nftnl_##kind##_alloc();                                   \
                                                                                                   \
		if (o == NULL) {                                                                   \
			errno = ENOMEM;                                                            \
			return NULL;                                                               \
		}                                                                                  \
		if (parse(nlh, o) < 0) {                                                           \
			nftnl_##kind##_free(o);                                                    \
			errno = EPROTO;                                                            \
			return NULL;                                                               \
		}                                                                                  \
		return o;                                                                          \
	}
DUMP_PARSER(parse_table, table, nftnl_table_nlmsg_parse)
DUMP_PARSER(parse_chain, chain, nftnl_chain_nlmsg_parse)
DUMP_PARSER(parse_set, set, nftnl_set_nlmsg_parse)
DUMP_PARSER(parse_elems, set, nftnl_set_elems_nlmsg_parse)
DUMP_PARSER(parse_rule, rule, nftnl_rule_nlmsg_parse)
DUMP_PARSER(parse_obj, obj, nftnl_obj_nlmsg_parse)
DUMP_PARSER(parse_flowtable, flowtable, nftnl_flowtable_nlmsg_parse)
DUMP_PARSER(parse_gen, gen, nftnl_gen_nlmsg_parse)

/*
 * Our sets by name, checked against their definition; any other is
 * foreign. An anonymous set belongs to a (foreign) rule and goes with it.
 */
static int set_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_read_ctx *x = arg;
	struct nftnl_set *s = parse_set(nlh);
	struct nft_set_def d;
	enum nft_set_kind kind;
	const char *name;
	uint32_t flags;
	int gen;

	if (s == NULL)
		return MNL_CB_ERROR;
	if (!same_table(nftnl_set_get_str(s, NFTNL_SET_TABLE), x))
		goto out;
	name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	flags = set_u32(s, NFTNL_SET_FLAGS);
	if (name == NULL || nft_set_parse(name, &gen, &kind) < 0) {
		if (flags & NFT_SET_ANONYMOUS)
			x->st->nforeign++;
		else
			note_foreign(x, NFT_FOREIGN_SET, 0, name);
		goto out;
	}
	x->st->sets[gen] |= 1u << kind;
	nft_set_def(kind, &d);
	if (flags != d.flags || set_u32(s, NFTNL_SET_KEY_TYPE) != d.key_type ||
	        set_u32(s, NFTNL_SET_KEY_LEN) != d.key_len ||
	        set_u32(s, NFTNL_SET_DATA_TYPE) != d.data_type ||
	        set_u32(s, NFTNL_SET_DATA_LEN) != d.data_len)
		note_odd(x, "set %s is not defined as PRaaS defines it (flags 0x%x)", name, flags);
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Our chains by name, checked against their definition; any other is foreign. */
static int chain_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_read_ctx *x = arg;
	struct nftnl_chain *c = parse_chain(nlh);
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
	int k;

	if (c == NULL)
		return MNL_CB_ERROR;
	if (!same_table(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), x))
		goto out;
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (name == NULL || (k = nft_chain_parse(name)) < 0) {
		note_foreign(x, NFT_FOREIGN_CHAIN, 0, name);
		goto out;
	}
	x->st->chains |= 1u << k;
	nft_chain_def((enum nft_chain_kind)k, &hook, &prio);
	type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) || type == NULL ||
	        strcmp(type, "nat") != 0 || nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != hook ||
	        nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != prio)
		note_odd(x, "chain %s is not a nat chain on its hook at priority %d", name, prio);
	else if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) &&
	        nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_ACCEPT)
		note_odd(x, "chain %s has policy drop", name);
out:
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

/*
 * A dump callback for a kind of which only what is in our table counts:
 * the message parsed, then seen(x, object) when the object is in it.
 */
#define OURS_CB(cb, kind, table_attr, seen)                                                        \
	static int cb(const struct nlmsghdr *nlh, void *arg)                                       \
	{                                                                                          \
		struct nft_read_ctx *x = arg;                                                      \
		struct nftnl_##kind *o = parse_##kind(nlh);                                        \
                                                                                                   \
		if (o == NULL)                                                                     \
			return MNL_CB_ERROR;                                                       \
		if (same_table(nftnl_##kind##_get_str(o, table_attr), x))                          \
			seen(x, o);                                                                \
		nftnl_##kind##_free(o);                                                            \
		return MNL_CB_OK;                                                                  \
	}

static void table_seen(struct nft_read_ctx *x, const struct nftnl_table *t)
{
	if (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS))
		x->st->table_flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
}

/* PRaaS writes no stateful objects: every one in the table is foreign (libnftnl's obj getters take
 * no const). */
static void obj_seen(struct nft_read_ctx *x, struct nftnl_obj *o)
{
	note_foreign(x, NFT_FOREIGN_OBJECT, nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE),
	        nftnl_obj_get_str(o, NFTNL_OBJ_NAME));
}

/* Nor flowtables. */
static void flowtable_seen(struct nft_read_ctx *x, const struct nftnl_flowtable *f)
{
	note_foreign(x, NFT_FOREIGN_FLOWTABLE, 0, nftnl_flowtable_get_str(f, NFTNL_FLOWTABLE_NAME));
}

OURS_CB(table_cb, table, NFTNL_TABLE_NAME, table_seen)
OURS_CB(obj_cb, obj, NFTNL_OBJ_TABLE, obj_seen)
OURS_CB(flowtable_cb, flowtable, NFTNL_FLOWTABLE_TABLE, flowtable_seen)

static int udata_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		tb[0] = attr;
	return 0;
}

/* The rule's comment, or "" when it has none. */
static const char *rule_comment(const struct nftnl_rule *r)
{
	const struct nftnl_udata *tb[1] = {NULL};
	const void *ud;
	uint32_t udlen = 0;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return "";
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud == NULL || nftnl_udata_parse(ud, udlen, udata_cb, tb) < 0 || tb[0] == NULL)
		return "";
	return nftnl_udata_get(tb[0]);
}

struct fp_ctx {
	FILE *f;
};

/*
 * Registers as the kernel names them when it dumps a rule: a 32-bit
 * register on a 128-bit boundary (NFT_REG32_00, _04, ...) comes back as
 * that 128-bit register (NFT_REG_1, _2, ...).
 */
static void fp_registers(FILE *f, const char *text)
{
	const char *p = text, *hit;

	while ((hit = strstr(p, "reg ")) != NULL) {
		char *end;
		unsigned long r = strtoul(hit + 4, &end, 10);
		fwrite(p, 1, (size_t)(hit - p) + 4, f);
		if (end == hit + 4) {
			p = hit + 4;
			continue;
		}
		if (r >= NFT_REG32_00 && r <= NFT_REG32_15 && (r - NFT_REG32_00) % 4 == 0)
			r = (r - NFT_REG32_00) / 4 + NFT_REG_1;
		fprintf(f, "%lu", r);
		p = end;
	}
	fputs(p, f);
}

static int fp_expr(struct nftnl_expr *e, void *data)
{
	struct fp_ctx *fc = data;
	char buf[1024];

	if (nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0) < 0)
		buf[0] = '\0';
	fprintf(fc->f, " [%s ", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	fp_registers(fc->f, buf);
	fputc(']', fc->f);
	return 0;
}

char *nft_rule_fingerprint(const struct nftnl_rule *r)
{
	struct fp_ctx fc;
	char *out = NULL;
	size_t len = 0;

	if ((fc.f = open_memstream(&out, &len)) == NULL)
		return NULL;
	fprintf(fc.f, "\"%s\"", rule_comment(r));
	nftnl_expr_foreach((struct nftnl_rule *)r, fp_expr, &fc);
	if (fclose(fc.f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct nft_read_ctx *x = data;
	enum nft_set_kind kind;
	int gen;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup") == 0 &&
	        nft_set_parse(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), &gen, &kind) == 0)
		x->gens |= 1u << gen;
	return 0;
}

/* Keeps a rule of one of our chains: its fingerprint, in order. */
static int keep_rule(struct nft_state *st, int chain, const struct nftnl_rule *r)
{
	size_t i = st->nrules[chain]++;

	if (i >= NFT_RULES_KEPT)
		return 0;
	return (st->rule_fp[chain][i] = nft_rule_fingerprint(r)) ? 0 : -ENOMEM;
}

/*
 * Every rule of our chains is kept by fingerprint; a rule's comment names
 * its kind, which counts only in its own chain. Rules of foreign chains go
 * with their chain.
 */
static int rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_read_ctx *x = arg;
	struct nftnl_rule *r = parse_rule(nlh);
	const char *chain;
	int kind, ck;

	if (r == NULL)
		return MNL_CB_ERROR;
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (!same_table(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), x) || chain == NULL ||
	        (ck = nft_chain_parse(chain)) < 0)
		goto out;
	if (!x->fingerprints)
		x->st->nrules[ck]++;
	else if (keep_rule(x->st, ck, r) < 0) {
		nftnl_rule_free(r);
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	nftnl_expr_foreach(r, expr_cb, x);
	kind = nft_rule_parse(rule_comment(r));
	if (kind >= 0 && nft_rule_chain((enum nft_rule_kind)kind) == (enum nft_chain_kind)ck)
		x->st->rules |= 1u << kind;
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* The slot of the next element: the end of elems, or one reused with a sink. */
static struct nft_elem *elem_slot(struct nft_read_ctx *x)
{
	struct nft_elem *v;

	if (x->sink != NULL)
		return &x->one;
	if ((v = array_grow(x->elems, &x->cap, x->n, sizeof(*v), 256)) == NULL)
		return NULL;
	x->elems = v;
	return &v[x->n];
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct nft_read_ctx *x = data;
	const void *key, *val = NULL;
	uint32_t klen = 0, dlen = 0;
	struct nft_elem *v = elem_slot(x);
	int r;

	if (v == NULL) {
		x->err = -ENOMEM;
		return -1;
	}
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA))
		val = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
	if (key == NULL || nft_elem_decode(x->kind, key, klen, val, dlen, v) < 0) {
		x->err = -EPROTO;
		return -1;
	}
	if (x->sink == NULL) {
		x->n++;
		return 0;
	}
	r = x->sink->elem(x->sink->arg, v, x->kind == NFT_SET_MASQ4 || x->kind == NFT_SET_MASQ6);
	if (r < 0) {
		x->err = r;
		return -1;
	}
	return 0;
}

static int elems_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_read_ctx *x = arg;
	struct nftnl_set *s = parse_elems(nlh);
	int r = MNL_CB_OK;

	if (s == NULL)
		return MNL_CB_ERROR;
	if (nftnl_set_elem_foreach(s, elem_cb, x) < 0) {
		errno = -x->err;
		r = MNL_CB_ERROR;
	}
	nftnl_set_free(s);
	return r;
}

static void fill_set(struct nlmsghdr *nlh, void *arg)
{
	struct nft_read_ctx *x = arg;
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL) {
		x->err = -ENOMEM;
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, x->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, x->set);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
}

static int read_elems(struct nft_conn *c, struct nft_read_ctx *x, int gen, enum nft_set_kind kind)
{
	int r;

	if (!(x->st->sets[gen] & (1u << kind)))
		return 0;
	x->kind = kind;
	x->set = nft_set_name(gen, kind);
	r = nft_dump(c->nl, &c->seq, NFT_MSG_GETSETELEM, NFPROTO_INET, fill_set, elems_cb, x);
	return r < 0 ? r : x->err;
}

/* The generation the rules use: all of ours there and all looking up one generation. */
static void settle_generation(struct nft_read_ctx *x)
{
	uint32_t need = nft_rules_expected(&(struct nft_opts){.masquerade = false});

	x->st->generation = -1;
	if ((x->st->rules & need) == need && (x->gens == 1 || x->gens == 2))
		x->st->generation = x->gens == 1 ? 0 : 1;
}

/* Reads the rules of the table: their kinds and the generation they use. */
static int read_rules(struct nft_conn *c, struct nft_read_ctx *x)
{
	int r;

	r = nft_dump(c->nl, &c->seq, NFT_MSG_GETRULE, NFPROTO_INET, fill_rule_table, rule_cb, x);
	if (r < 0 || (r = x->err) < 0)
		return r;
	settle_generation(x);
	return 0;
}

/* Folds the masq sets' elements into the map elements they flag. */
static void merge_masq(struct nft_read_ctx *x, size_t nmap)
{
	struct nft_elem *maps = x->elems, *masq = x->elems + nmap;
	size_t nmasq = x->n - nmap;

	if (nmap > 1)
		qsort(maps, nmap, sizeof(*maps), nft_elem_qsort_cmp);
	for (size_t i = 0; i < nmasq; i++) {
		struct nft_elem *m = NULL;
		size_t lo = 0, hi = nmap;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int d = nft_elem_key_cmp(&maps[mid], &masq[i]);
			if (d == 0) {
				m = &maps[mid];
				break;
			}
			if (d < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (m == NULL)
			x->st->orphans++;
		else
			m->masquerade = true;
	}
	x->n = nmap;
}

static int gen_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_gen *g = parse_gen(nlh);

	if (g == NULL)
		return MNL_CB_ERROR;
	*(uint32_t *)arg = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

/* The ruleset generation: it moves on with every committed transaction. */
static int read_genid(struct nft_conn *c, uint32_t *id)
{
	uint32_t portid = mnl_socket_get_portid(c->nl), s = c->seq++;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	ssize_t n;
	int r;

	/* Not a dump: the answer is the generation, then the ack. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, s);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		errno = EPROTO;
		r = mnl_cb_run(buf, (size_t)n, s, portid, gen_cb, id);
		if (r < 0)
			return errno ? -errno : -EPROTO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

/*
 * One pass over the table: everything but the elements (what nft_sync()
 * needs), then the elements of the live maps when elems. -errno without
 * words: the caller decides whether to try again.
 */
static int read_once(struct nft_conn *c, const char *table, struct nft_state *st, bool elems,
        const struct nft_elem_sink *sink)
{
	/* Fingerprints serve only a comparison, which wants the elements too. */
	struct nft_read_ctx x = {.table = table, .st = st, .fingerprints = elems, .sink = sink};
	size_t nmap;
	int r, gen;

	r = nft_dump(c->nl, &c->seq, NFT_MSG_GETSET, NFPROTO_INET, fill_set_table, set_cb, &x);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = x.err) < 0)
		return r;
	st->table = true;
	if ((r = nft_dump(c->nl, &c->seq, NFT_MSG_GETTABLE, NFPROTO_INET, NULL, table_cb, &x)) <
	                0 ||
	        (r = nft_dump(c->nl, &c->seq, NFT_MSG_GETCHAIN, NFPROTO_INET, NULL, chain_cb, &x)) <
	                0 ||
	        (r = x.err) < 0 ||
	        (r = nft_dump(c->nl, &c->seq, NFT_MSG_GETOBJ, NFPROTO_INET, NULL, obj_cb, &x)) <
	                0 ||
	        (r = x.err) < 0 ||
	        (r = nft_dump(c->nl, &c->seq, NFT_MSG_GETFLOWTABLE, NFPROTO_INET, NULL,
	                 flowtable_cb, &x)) < 0 ||
	        (r = x.err) < 0 || (r = read_rules(c, &x)) < 0)
		return r;
	if (!elems)
		return 0;
	gen = st->generation >= 0 ? st->generation : (st->sets[0] ? 0 : 1);
	if ((r = read_elems(c, &x, gen, NFT_SET_DNAT4)) < 0 ||
	        (r = read_elems(c, &x, gen, NFT_SET_DNAT6)) < 0)
		goto fail;
	nmap = x.n;
	if ((r = read_elems(c, &x, gen, NFT_SET_MASQ4)) < 0 ||
	        (r = read_elems(c, &x, gen, NFT_SET_MASQ6)) < 0)
		goto fail;
	if (sink != NULL) /* the sink had them all, masquerade ones included */
		return 0;
	merge_masq(&x, nmap);
	st->elems = x.elems;
	st->n = x.n;
	return 0;
fail:
	free(x.elems);
	return r;
}

/*
 * A consistent look: the ruleset generation did not move during the read
 * and no dump was interrupted. A table that changes under the read (a
 * resync, someone's nft) is read again rather than reported half old and
 * half new, or skipped.
 */
static int read_consistent(struct nft_conn *c, const struct nft_opts *o, struct nft_state *st,
        bool elems, const struct nft_elem_sink *sink, char **cause)
{
	const char *t = nft_table(o);
	uint32_t before = 0, after = 0;
	int r = -EAGAIN;

	for (int i = 0; i < NFT_READ_TRIES; i++) {
		memset(st, 0, sizeof(*st));
		st->generation = -1;
		if (sink != NULL && i > 0)
			sink->restart(sink->arg);
		if ((r = read_genid(c, &before)) < 0)
			return cause_errno(cause, r, "read the ruleset generation");
		r = read_once(c, t, st, elems, sink);
		if (r == 0 && (r = read_genid(c, &after)) < 0) {
			nft_state_free(st);
			return cause_errno(cause, r, "read the ruleset generation");
		}
		if (r == 0 && before == after)
			return 0;
		nft_state_free(st);
		if (r < 0 && r != -EINTR && r != -ENOENT && r != -EAGAIN)
			return cause_errno(cause, r, "list table inet %s", t);
		/* ENOENT: a set went between listing it and reading its elements. */
		log_debug("nft: table inet %s changed while being read (%s); reading again", t,
		        r < 0 ? strerror(-r) : "new ruleset generation");
		r = -EAGAIN;
	}
	nft_state_free(st);
	return cause_errno(cause, r, "list table inet %s: it kept changing while being read", t);
}

int nft_read_objects(
        struct nft_conn *c, const struct nft_opts *o, struct nft_state *st, char **cause)
{
	return read_consistent(c, o, st, false, NULL, cause);
}

int nft_read_sink(struct nft_conn *c, const struct nft_opts *o, struct nft_state *st,
        const struct nft_elem_sink *sink, char **cause)
{
	int r;

	if (cause)
		*cause = NULL;
	memset(st, 0, sizeof(*st));
	st->generation = -1;
	if ((r = nft_check_opts(o, cause)) < 0)
		return r;
	return read_consistent(c, o, st, true, sink, cause);
}

int nft_read(struct nft_conn *c, const struct nft_opts *o, struct nft_state *st, char **cause)
{
	return nft_read_sink(c, o, st, NULL, cause);
}

int nft_read_rules(struct nft_conn *c, const char *table, struct nft_state *st, char **cause)
{
	struct nft_read_ctx x = {.table = table, .st = st};
	int r;

	memset(st, 0, sizeof(*st));
	st->generation = -1;
	r = read_rules(c, &x);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		nft_state_free(st);
		return cause_errno(cause, r, "list rules of table inet %s", table);
	}
	st->table = true;
	return 0;
}

void nft_state_free(struct nft_state *st)
{
	free(st->elems);
	st->elems = NULL;
	st->n = 0;
	for (int k = 0; k < NFT_CHAINS; k++) {
		for (size_t i = 0; i < NFT_RULES_KEPT; i++) {
			free(st->rule_fp[k][i]);
			st->rule_fp[k][i] = NULL;
		}
		st->nrules[k] = 0;
	}
	free(st->odd);
	st->odd = NULL;
	free(st->foreign);
	st->foreign = NULL;
	st->nforeign = st->nkept = 0;
	st->foreign_overflow = false;
}

/* What the kernel fills in when it takes an expression, as it dumps it back. */
static int kernel_view(struct nftnl_expr *e, void *data)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t flags = 0;

	if (strcmp(name, "lookup") == 0 && !nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	if (strcmp(name, "nat") != 0 || nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS))
		return 0;
	/* a range of one: max = min; flags say which parts are given */
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX,
		        nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN));
		flags |= NF_NAT_RANGE_MAP_IPS;
	}
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MIN)) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX,
		        nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN));
		flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	return 0;
}

static int expect_rule(
        struct nftnl_rule *r, enum nft_chain_kind chain, enum nft_rule_kind kind, void *arg)
{
	struct nft_state *st = arg;
	int e;

	nftnl_expr_foreach(r, kernel_view, NULL);
	e = keep_rule(st, (int)chain, r);

	st->rules |= 1u << kind;
	nftnl_rule_free(r);
	return e;
}

int nft_state_expect(struct nft_state *st, const struct nft_opts *o, int gen)
{
	int r;

	for (int k = 0; k < NFT_CHAINS; k++) {
		for (size_t i = 0; i < NFT_RULES_KEPT; i++) {
			free(st->rule_fp[k][i]);
			st->rule_fp[k][i] = NULL;
		}
		st->nrules[k] = 0;
	}
	st->table = true;
	st->table_flags = 0;
	st->generation = gen;
	st->chains = (1u << NFT_CHAINS) - 1;
	st->rules = 0;
	st->sets[gen] = (1u << NFT_SET_KINDS) - 1;
	st->sets[1 - gen] = 0;
	r = nft_make_rules(
	        nft_table(o), gen, o->masquerade, &(struct nft_rule_sink){expect_rule, st});
	return r;
}

static const char *foreign_word(enum nft_foreign_kind k)
{
	switch (k) {
	case NFT_FOREIGN_CHAIN:
		return "chain";
	case NFT_FOREIGN_SET:
		return "set";
	case NFT_FOREIGN_OBJECT:
		return "object";
	case NFT_FOREIGN_FLOWTABLE:
		return "flowtable";
	default:
		return "rules";
	}
}

/* Exactly our rules, in our order, in each of our chains. */
static int compare_rule_lists(const struct nft_state *st, const struct nft_opts *o, char **cause)
{
	struct nft_state want = {0};
	int r = 0;

	if ((r = nft_state_expect(&want, o, st->generation)) < 0) {
		nft_state_free(&want);
		return cause_errno(cause, r, "build the expected rules");
	}
	for (int k = 0; r == 0 && k < NFT_CHAINS; k++) {
		if (st->nrules[k] != want.nrules[k]) {
			r = nft_drift(cause, "chain %s has %zu rules, PRaaS writes %zu",
			        nft_chain_name((unsigned int)k), st->nrules[k], want.nrules[k]);
			break;
		}
		for (size_t i = 0; r == 0 && i < want.nrules[k]; i++)
			if (st->rule_fp[k][i] == NULL ||
			        strcmp(st->rule_fp[k][i], want.rule_fp[k][i]) != 0)
				r = nft_drift(cause,
				        "rule %zu of chain %s is not the one PRaaS writes: %.160s",
				        i + 1, nft_chain_name((unsigned int)k),
				        st->rule_fp[k][i] ? st->rule_fp[k][i] : "?");
	}
	nft_state_free(&want);
	return r;
}

static int compare_rules(const struct nft_state *st, const struct nft_opts *o, char **cause)
{
	uint32_t want = nft_rules_expected(o);

	if (!st->table)
		return nft_drift(cause, "table inet %s is missing", nft_table(o));
	if (st->table_flags != 0)
		return nft_drift(cause, "table inet %s has flags 0x%x (dormant: no rule works)",
		        nft_table(o), st->table_flags);
	if (st->nforeign > 0)
		return nft_drift(cause, "%zu object%s PRaaS did not write, e.g. %s %s",
		        st->nforeign, st->nforeign == 1 ? "" : "s",
		        st->nkept ? foreign_word(st->foreign[0].kind) : "anonymous",
		        st->nkept ? st->foreign[0].name : "set");
	if (st->odd != NULL)
		return nft_drift(cause, "%s", st->odd);
	for (unsigned int i = 0; nft_chain_name(i); i++)
		if (!(st->chains & (1u << i)))
			return nft_drift(cause, "chain %s is missing", nft_chain_name(i));
	for (unsigned int i = 0; nft_rule_name(i); i++) {
		bool has = st->rules & (1u << i), wants = want & (1u << i);
		if (has != wants)
			return nft_drift(cause, "rule \"%s\" is %s", nft_rule_name(i),
			        has ? "present but not wanted" : "missing");
	}
	if (st->generation < 0)
		return nft_drift(cause, "rules do not all use the same maps");
	for (int k = 0; k < NFT_SET_KINDS; k++) {
		if (!(st->sets[st->generation] & (1u << k)))
			return nft_drift(cause, "set %s is missing",
			        nft_set_name(st->generation, (enum nft_set_kind)k));
		if (st->sets[1 - st->generation] & (1u << k))
			return nft_drift(cause, "set %s is left over",
			        nft_set_name(1 - st->generation, (enum nft_set_kind)k));
	}
	if (st->orphans > 0)
		return nft_drift(
		        cause, "%zu masquerade elements without a map element", st->orphans);
	return compare_rule_lists(st, o, cause);
}

/* The elements: a merge of two sorted lists, the wanted one from a source. */
static int compare_elems(const struct nft_state *st, nft_elem_next next, void *arg, char **cause)
{
	const struct nft_elem *w = NULL;
	size_t j = 0;
	char buf[160];
	int r = 0, got;

	if ((got = next(arg, &w, cause)) < 0)
		return got;
	while (r == 0 && (got > 0 || j < st->n)) {
		int d = got == 0 ? 1 : j == st->n ? -1 : nft_elem_cmp(w, &st->elems[j]);
		if (d != 0 && got > 0 && j < st->n && nft_elem_key_cmp(w, &st->elems[j]) == 0) {
			char buf2[160];
			r = nft_drift(cause, "element %s should be %s",
			        nft_elem_format(&st->elems[j], buf, sizeof(buf)),
			        nft_elem_format(w, buf2, sizeof(buf2)));
		} else if (d < 0)
			r = nft_drift(
			        cause, "missing element %s", nft_elem_format(w, buf, sizeof(buf)));
		else if (d > 0)
			r = nft_drift(cause, "unexpected element %s",
			        nft_elem_format(&st->elems[j], buf, sizeof(buf)));
		if (r == 0 && d <= 0 && (got = next(arg, &w, cause)) < 0)
			return got;
		j += d >= 0;
	}
	return r ? 1 : 0;
}

/* An array as a source. */
struct elem_array {
	const struct nft_elem *v;
	size_t n, i;
};

static int array_next(void *arg, const struct nft_elem **e, char **cause)
{
	struct elem_array *a = arg;

	if (a->i == a->n)
		return 0;
	*e = &a->v[a->i++];
	return 1;
}

int nft_compare_stream(const struct nft_state *st, const struct nft_opts *o, nft_elem_next next,
        void *arg, char **cause)
{
	int r;

	if ((r = nft_compare_rules(st, o, cause)) != 0)
		return r;
	return compare_elems(st, next, arg, cause);
}

int nft_compare_rules(const struct nft_state *st, const struct nft_opts *o, char **cause)
{
	if (cause)
		*cause = NULL;
	return compare_rules(st, o, cause);
}

int nft_compare(const struct nft_state *st, const struct nft_opts *o, const struct forwarding *fwds,
        size_t n, char **cause)
{
	struct nft_elem *want;
	size_t nwant;
	int r;

	if (cause)
		*cause = NULL;
	if ((r = compare_rules(st, o, cause)) != 0)
		return r;
	if ((r = nft_expand(fwds, n, &want, &nwant, cause)) < 0)
		return r;
	r = compare_elems(st, array_next, &(struct elem_array){want, nwant, 0}, cause);
	free(want);
	return r;
}
