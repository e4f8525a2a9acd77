/* Unit tests for the pure parts of lib/nft: expansion, comparison, element decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-build.h"
#include "nft.h"

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

	st.chains = (1u << 3) - 1;
	st.rules = nft_rules_expected(o);
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
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
