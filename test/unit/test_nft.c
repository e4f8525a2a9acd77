/* Unit tests for the pure parts of lib/nft: expansion, comparison, element decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-build.h"
#include "nft-read.h"

static struct forwarding fwd(const char *proto, const char *ext, uint16_t elo, uint16_t ehi,
        const char *in, uint16_t ilo, uint16_t ihi, bool masq)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "test");
	f.protocol = (uint8_t)fwd_protocol_parse(proto);
	assert_int_equal(addr_parse(ext, &f.external_addr), 0);
	assert_int_equal(addr_parse(in, &f.internal_addr), 0);
	f.external = (struct port_range){elo, ehi};
	f.internal = (struct port_range){ilo, ihi};
	f.masquerade = masq;
	return f;
}

static void test_expand_single(void **state)
{
	struct forwarding f = fwd("tcp", "203.0.113.1", 4022, 4022, "10.0.0.5", 22, 22, false);
	struct nft_elem *v;
	size_t n;
	char buf[160];

	assert_int_equal(nft_expand(&f, 1, &v, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(
	        nft_elem_format(&v[0], buf, sizeof(buf)), "tcp 203.0.113.1 4022 -> 10.0.0.5 22");
	free(v);
}

static void test_expand_ranges(void **state)
{
	struct forwarding f[2] = {
	        fwd("udp", "2001:db8:1::1", 5000, 5002, "2001:db8:2::5", 6000, 6002, true),
	        fwd("tcp", "203.0.113.1", 7000, 7003, "10.0.0.5", 80, 80, false),
	};
	struct nft_elem *v;
	size_t n;

	assert_int_equal(nft_expand(f, 2, &v, &n, NULL), 0);
	assert_int_equal(n, 7);
	/* sorted: IPv4 first */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(v[i].ext_port, 7000 + i);
		assert_int_equal(v[i].in_port, 80); /* N:1 */
		assert_false(v[i].masquerade);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[4 + i].ext.family, AF_INET6);
		assert_int_equal(v[4 + i].ext_port, 5000 + i);
		assert_int_equal(v[4 + i].in_port, 6000 + i); /* N:N */
		assert_true(v[4 + i].masquerade);
	}
	free(v);
}

static void test_expand_rejects(void **state)
{
	struct forwarding dup[2] = {
	        fwd("tcp", "203.0.113.1", 7000, 7003, "10.0.0.5", 80, 80, false),
	        fwd("tcp", "203.0.113.1", 7003, 7003, "10.0.0.6", 80, 80, false),
	};
	struct forwarding mixed = fwd("tcp", "203.0.113.1", 1, 1, "2001:db8::1", 1, 1, false);
	struct forwarding badlen = fwd("tcp", "203.0.113.1", 1, 3, "10.0.0.1", 1, 2, false);
	struct forwarding noext = fwd("tcp", "203.0.113.1", 1, 1, "10.0.0.1", 1, 1, false);
	struct nft_elem *v;
	size_t n;
	char *cause = NULL;

	assert_int_equal(nft_expand(dup, 2, &v, &n, &cause), -EEXIST);
	assert_non_null(strstr(cause, "7003"));
	free(cause);
	cause = NULL;
	assert_int_equal(nft_expand(&mixed, 1, &v, &n, &cause), -EINVAL);
	free(cause);
	cause = NULL;
	assert_int_equal(nft_expand(&badlen, 1, &v, &n, &cause), -EINVAL);
	free(cause);
	cause = NULL;
	noext.external_addr.family = 0;
	assert_int_equal(nft_expand(&noext, 1, &v, &n, &cause), -EINVAL);
	assert_non_null(strstr(cause, "external"));
	free(cause);
	/* no forwardings: no elements, no allocation */
	assert_int_equal(nft_expand(NULL, 0, &v, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static struct nft_state good_state(const struct forwarding *f, size_t n, const struct nft_opts *o)
{
	struct nft_state st = {.table = true, .generation = 0};

	assert_int_equal(nft_state_expect(&st, o, 0), 0);
	assert_int_equal(st.rules, nft_rules_expected(o));
	assert_int_equal(nft_expand(f, n, &st.elems, &st.n, NULL), 0);
	return st;
}

static void test_compare(void **state)
{
	struct forwarding f[2] = {
	        fwd("tcp", "203.0.113.1", 4022, 4022, "10.0.0.5", 22, 22, false),
	        fwd("udp", "203.0.113.1", 53, 54, "10.0.0.5", 53, 53, true),
	};
	struct nft_opts o = {0}, om = {.masquerade = true};
	struct nft_state st = good_state(f, 2, &o);
	char *cause = NULL;

	assert_int_equal(nft_compare(&st, &o, f, 2, &cause), 0);
	assert_null(cause);
	/* one forwarding fewer: an unexpected element */
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "unexpected element udp 203.0.113.1 53"));
	free(cause);
	/* another target */
	f[0].internal.lo = f[0].internal.hi = 23;
	assert_int_equal(nft_compare(&st, &o, f, 2, &cause), 1);
	assert_non_null(strstr(cause, "should be tcp 203.0.113.1 4022 -> 10.0.0.5 23"));
	free(cause);
	/* one forwarding more: a missing element */
	struct forwarding three[3] = {
	        f[0], f[1], fwd("tcp", "203.0.113.1", 9, 9, "10.0.0.5", 9, 9, false)};
	three[0].internal.lo = three[0].internal.hi = 22;
	assert_int_equal(nft_compare(&st, &o, three, 3, &cause), 1);
	assert_non_null(strstr(cause, "missing element tcp 203.0.113.1 9 -> 10.0.0.5 9"));
	free(cause);
	f[0].internal.lo = f[0].internal.hi = 22;
	/* the masquerade flag counts */
	f[1].masquerade = false;
	assert_int_equal(nft_compare(&st, &o, f, 2, &cause), 1);
	free(cause);
	f[1].masquerade = true;
	/* global masquerade wants two more rules */
	assert_int_equal(nft_compare(&st, &om, f, 2, &cause), 1);
	assert_non_null(strstr(cause, "masquerade all ipv4"));
	free(cause);
	/* and a table written with it is sound for it */
	struct nft_state stm = good_state(f, 2, &om);
	assert_int_equal(nft_compare(&stm, &om, f, 2, &cause), 0);
	nft_state_free(&stm);
	/* a missing chain, a missing table */
	st.chains &= ~2u;
	assert_int_equal(nft_compare(&st, &o, f, 2, &cause), 1);
	assert_non_null(strstr(cause, "chain output"));
	free(cause);
	st.table = false;
	assert_int_equal(nft_compare(&st, &o, f, 2, &cause), 1);
	assert_non_null(strstr(cause, "missing"));
	free(cause);
	nft_state_free(&st);
}

/* A source of elements for nft_compare_stream: an array, failing at fail_at. */
struct source {
	const struct nft_elem *v;
	size_t n, i, fail_at;
	unsigned int calls;
};

static int source_next(void *arg, const struct nft_elem **e, char **cause)
{
	struct source *s = arg;

	s->calls++;
	if (s->fail_at > 0 && s->i + 1 == s->fail_at) {
		*cause = strdup("the source failed");
		return -EEXIST;
	}
	if (s->i == s->n)
		return 0;
	*e = &s->v[s->i++];
	return 1;
}

/* Elements from a source judge as nft_compare does; a source's error comes back as is. */
static void test_compare_stream(void **state)
{
	struct forwarding f[2] = {
	        fwd("tcp", "203.0.113.1", 4022, 4022, "10.0.0.5", 22, 22, false),
	        fwd("udp", "203.0.113.1", 53, 54, "10.0.0.5", 53, 53, true),
	};
	struct nft_opts o = {0};
	struct nft_state st = good_state(f, 2, &o);
	struct nft_elem *v;
	size_t n;
	char *cause = NULL;

	assert_int_equal(nft_expand(f, 2, &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(
	        nft_compare_stream(&st, &o, source_next, &(struct source){.v = v, .n = n}, &cause),
	        0);
	assert_null(cause);
	/* one element fewer: unexpected, as from nft_compare */
	assert_int_equal(nft_compare_stream(&st, &o, source_next,
	                         &(struct source){.v = v, .n = n - 1}, &cause),
	        1);
	assert_non_null(strstr(cause, "unexpected element"));
	free(cause);
	/* a changed target */
	v[0].in_port = 23;
	assert_int_equal(
	        nft_compare_stream(&st, &o, source_next, &(struct source){.v = v, .n = n}, &cause),
	        1);
	assert_non_null(strstr(cause, "should be"));
	free(cause);
	v[0].in_port = 22;
	/* the source fails on its second element: that error, nothing judged after */
	struct source bad = {.v = v, .n = n, .fail_at = 2};
	assert_int_equal(nft_compare_stream(&st, &o, source_next, &bad, &cause), -EEXIST);
	assert_string_equal(cause, "the source failed");
	assert_int_equal(bad.calls, 2);
	free(cause);
	free(v);
	nft_state_free(&st);
}

/* One more rule in a chain, or ours in another order or changed: drift. */
static void test_compare_foreign_rules(void **state)
{
	struct forwarding f[1] = {fwd("tcp", "203.0.113.1", 4022, 4022, "10.0.0.5", 22, 22, false)};
	struct nft_opts o = {0};
	struct nft_state st = good_state(f, 1, &o);
	char *cause = NULL, *saved;

	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 0);
	/* nft insert rule inet praas prerouting tcp dport 10000 drop */
	assert_int_equal(st.nrules[0], 4);
	st.rule_fp[0][4] = st.rule_fp[0][3];
	st.rule_fp[0][3] = st.rule_fp[0][2];
	st.rule_fp[0][2] = st.rule_fp[0][1];
	st.rule_fp[0][1] = st.rule_fp[0][0];
	st.rule_fp[0][0] = strdup("\"\" [payload load 2b @ transport header + 2 => reg 1 ] "
	                          "[cmp eq reg 1 0x00001027 ] [immediate reg 0 drop ]");
	st.nrules[0] = 5;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "chain prerouting has 5 rules, PRaaS writes 4"));
	free(cause);
	/* the same count: one of ours replaced by it (its comment copied) */
	free(st.rule_fp[0][1]);
	st.rule_fp[0][1] = st.rule_fp[0][0];
	st.rule_fp[0][0] = NULL;
	memmove(&st.rule_fp[0][0], &st.rule_fp[0][1], 4 * sizeof(char *));
	st.rule_fp[0][4] = NULL;
	st.nrules[0] = 4;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "rule 1 of chain prerouting is not the one PRaaS writes"));
	free(cause);
	nft_state_free(&st);
	/* ours, in another order */
	st = good_state(f, 1, &o);
	saved = st.rule_fp[2][0];
	st.rule_fp[2][0] = st.rule_fp[2][1];
	st.rule_fp[2][1] = saved;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "rule 1 of chain postrouting"));
	free(cause);
	nft_state_free(&st);
}

/* Chains, sets, objects we did not write; our own defined otherwise; a dormant table. */
static void test_compare_foreign_objects(void **state)
{
	struct forwarding f[1] = {fwd("tcp", "203.0.113.1", 4022, 4022, "10.0.0.5", 22, 22, false)};
	struct nft_opts o = {0};
	struct nft_state st = good_state(f, 1, &o);
	char *cause = NULL;

	st.foreign = calloc(NFT_FOREIGN_KEPT, sizeof(*st.foreign));
	assert_non_null(st.foreign);
	st.foreign[0].kind = NFT_FOREIGN_CHAIN;
	strcpy(st.foreign[0].name, "sneaky");
	st.nforeign = st.nkept = 1;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "1 object PRaaS did not write, e.g. chain sneaky"));
	free(cause);
	st.foreign[0].kind = NFT_FOREIGN_SET;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "set sneaky"));
	free(cause);
	st.nforeign = st.nkept = 0;
	/* an anonymous set is counted, not named */
	st.nforeign = 1;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "anonymous set"));
	free(cause);
	st.nforeign = 0;
	st.table_flags = 1;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "dormant"));
	free(cause);
	st.table_flags = 0;
	st.odd = strdup("chain output has policy drop");
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "policy drop"));
	free(cause);
	free(st.odd);
	st.odd = NULL;
	/* maps of the other generation left over, or one of ours missing */
	st.sets[1] = 1;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "set dnat4_b is left over"));
	free(cause);
	st.sets[1] = 0;
	st.sets[0] &= ~2u;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 1);
	assert_non_null(strstr(cause, "set dnat6 is missing"));
	free(cause);
	st.sets[0] |= 2u;
	assert_int_equal(nft_compare(&st, &o, f, 1, &cause), 0);
	nft_state_free(&st);
}

/* A 32-bit register on a 128-bit boundary reads back as that 128-bit register. */
static void test_fingerprint_registers(void **state)
{
	struct nftnl_rule *a = nftnl_rule_alloc(), *b = nftnl_rule_alloc();
	struct nftnl_expr *ea = nftnl_expr_alloc("payload"), *eb = nftnl_expr_alloc("payload");
	char *fa, *fb;

	assert_non_null(a);
	assert_non_null(b);
	nftnl_expr_set_u32(ea, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(ea, NFTNL_EXPR_PAYLOAD_OFFSET, 16);
	nftnl_expr_set_u32(ea, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_u32(ea, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG32_00);
	nftnl_expr_set_u32(eb, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(eb, NFTNL_EXPR_PAYLOAD_OFFSET, 16);
	nftnl_expr_set_u32(eb, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_u32(eb, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(a, ea);
	nftnl_rule_add_expr(b, eb);
	fa = nft_rule_fingerprint(a);
	fb = nft_rule_fingerprint(b);
	assert_string_equal(fa, fb);
	/* another offset is another rule */
	nftnl_expr_set_u32(eb, NFTNL_EXPR_PAYLOAD_OFFSET, 12);
	free(fb);
	fb = nft_rule_fingerprint(b);
	assert_string_not_equal(fa, fb);
	free(fa);
	free(fb);
	nftnl_rule_free(a);
	nftnl_rule_free(b);
}

static void test_decode(void **state)
{
	/* 203.0.113.1 . tcp . 4022 : 10.0.0.5 . 22, in 32-bit register slots */
	const uint8_t key[12] = {203, 0, 113, 1, 6, 0, 0, 0, 0x0f, 0xb6, 0, 0};
	const uint8_t data[8] = {10, 0, 0, 5, 0, 22, 0, 0};
	struct nft_elem e;
	char buf[160];

	assert_int_equal(nft_elem_decode(NFT_SET_DNAT4, key, 12, data, 8, &e), 0);
	assert_string_equal(
	        nft_elem_format(&e, buf, sizeof(buf)), "tcp 203.0.113.1 4022 -> 10.0.0.5 22");
	assert_int_equal(nft_elem_decode(NFT_SET_MASQ4, key, 12, NULL, 0, &e), 0);
	assert_true(e.masquerade);
	/* lengths that do not fit the set are refused */
	assert_int_equal(nft_elem_decode(NFT_SET_DNAT6, key, 12, data, 8, &e), -EPROTO);
	assert_int_equal(nft_elem_decode(NFT_SET_DNAT4, key, 12, data, 4, &e), -EPROTO);
}

static void test_names(void **state)
{
	int gen;
	enum nft_set_kind kind;

	assert_string_equal(nft_set_name(0, NFT_SET_DNAT4), "dnat4");
	assert_int_equal(nft_set_parse("dnat6_b", &gen, &kind), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(kind, NFT_SET_DNAT6);
	assert_int_equal(nft_set_parse("other", &gen, &kind), -1);
	for (unsigned int i = 0; nft_rule_name(i); i++)
		assert_int_equal(nft_rule_parse(nft_rule_name(i)), (int)i);
	assert_int_equal(nft_chain_parse("output"), NFT_CHAIN_OUTPUT);
	assert_null(nft_chain_name(3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_expand_single),
	        cmocka_unit_test(test_expand_ranges),
	        cmocka_unit_test(test_expand_rejects),
	        cmocka_unit_test(test_compare),
	        cmocka_unit_test(test_compare_stream),
	        cmocka_unit_test(test_compare_foreign_rules),
	        cmocka_unit_test(test_compare_foreign_objects),
	        cmocka_unit_test(test_fingerprint_registers),
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
