/*
 * The sums the monitor checks a router's table against
 * (monitor-agent/kcheck.c): summed a page at a time in the pat-agent's
 * order, they must not depend on it, and every field of an element must
 * count, or a drift would pass unseen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "kcheck.h"

static const uint8_t key[SIPHASH_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static struct forwarding fwd(const char *gw, int protocol, uint16_t lo, uint16_t hi, bool masq)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "f0000000-0000-4000-8000-%012u", (unsigned)lo);
	snprintf(f.router_id, sizeof(f.router_id), "11111111-1111-4111-8111-111111111111");
	assert_int_equal(addr_parse(gw, &f.external_addr), 0);
	assert_int_equal(addr_parse(strchr(gw, ':') ? "fd00::5" : "10.0.0.5", &f.internal_addr), 0);
	f.protocol = (uint8_t)protocol;
	f.masquerade = masq;
	f.external = (struct port_range){lo, hi};
	f.internal = (struct port_range){22, 22};
	return f;
}

static struct kcheck_sum sum_of(const struct forwarding *v, size_t n)
{
	struct kcheck_sum s;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(kcheck_want_add(&s, key, &v[i]), 0);
	assert_null(s.unsound);
	return s;
}

/* Any order of the same forwardings: the same sums and counts. */
static void test_order_free(void **state)
{
	struct forwarding a[] = {
	        fwd("203.0.113.5", IPPROTO_TCP, 80, 80, false),
	        fwd("203.0.113.5", IPPROTO_UDP, 1000, 1009, true),
	        fwd("2001:db8::7", IPPROTO_TCP, 443, 443, true),
	};
	struct forwarding b[] = {a[2], a[0], a[1]};
	struct kcheck_sum x = sum_of(a, 3), y = sum_of(b, 3);

	(void)state;
	assert_int_equal(x.nmap, 12); /* one element per external port */
	assert_int_equal(x.nmasq, 11);
	assert_memory_equal(&x, &y, sizeof(x));
}

/* Whatever field of an element differs, the sum does, the counts not. */
static void test_fields_count(void **state)
{
	struct forwarding base = fwd("203.0.113.5", IPPROTO_TCP, 80, 81, true), f[6];
	struct kcheck_sum want = sum_of(&base, 1), got;

	(void)state;
	for (size_t i = 0; i < 6; i++)
		f[i] = base;
	assert_int_equal(addr_parse("203.0.113.6", &f[0].external_addr), 0);
	f[1].protocol = IPPROTO_UDP;
	f[2].external = (struct port_range){82, 83};
	assert_int_equal(addr_parse("10.0.0.6", &f[3].internal_addr), 0);
	f[4].internal = (struct port_range){23, 23};
	f[5].internal = (struct port_range){8080, 8081}; /* a range: port for port */
	for (size_t i = 0; i < 6; i++) {
		got = sum_of(&f[i], 1);
		assert_int_equal(got.nmap, want.nmap);
		assert_int_equal(got.nmasq, want.nmasq);
		assert_true(got.map != want.map);
		if (i != 3 && i != 4 && i != 5) /* the masquerade element is the key alone */
			assert_true(got.masq != want.masq);
		else
			assert_true(got.masq == want.masq);
	}
	/* masquerade off: the map sum stays, the masquerade elements go */
	f[0] = base;
	f[0].masquerade = false;
	got = sum_of(&f[0], 1);
	assert_true(got.map == want.map);
	assert_int_equal(got.nmasq, 0);
}

/* A forwarding no table can hold makes the router's check fail, saying why. */
static void test_unsound(void **state)
{
	struct forwarding f = fwd("2001:db8::7", IPPROTO_TCP, 80, 80, false);
	struct kcheck_sum s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(addr_parse("10.0.0.5", &f.internal_addr), 0); /* families differ */
	assert_int_equal(kcheck_want_add(&s, key, &f), 0);
	assert_non_null(s.unsound);
	assert_non_null(strstr(s.unsound, "family"));
	kcheck_sum_free(&s);
	assert_null(s.unsound);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_free),
	        cmocka_unit_test(test_fields_count),
	        cmocka_unit_test(test_unsound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
