/* Addresses and prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static void test_parse_format(void **state)
{
	struct addr a;
	char buf[ADDR_STRLEN];

	assert_int_equal(addr_parse("203.0.113.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "203.0.113.7");
	assert_int_equal(addr_parse("0.10.100.255", &a), 0);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "0.10.100.255");
	assert_int_equal(addr_parse("255.255.255.255", &a), 0);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "255.255.255.255");
	assert_string_equal(addr_format(&a, buf, 15), "-"); /* too small: as inet_ntop */
	assert_int_equal(addr_parse("2001:DB8:0::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(addr_parse("203.0.113", &a), -EINVAL);
	assert_int_equal(addr_parse("203.0.113.7/24", &a), -EINVAL);
	assert_int_equal(addr_parse("", &a), -EINVAL);
	assert_int_equal(addr_parse(NULL, &a), -EINVAL);
}

static void test_cidr(void **state)
{
	struct cidr n;
	struct addr in, out, v6;

	assert_int_equal(cidr_parse("198.51.100.0/25", &n), 0);
	assert_int_equal(addr_parse("198.51.100.127", &in), 0);
	assert_int_equal(addr_parse("198.51.100.128", &out), 0);
	assert_int_equal(addr_parse("2001:db8::1", &v6), 0);
	assert_true(cidr_contains(&n, &in));
	assert_false(cidr_contains(&n, &out));
	assert_false(cidr_contains(&n, &v6));

	assert_int_equal(cidr_parse("2001:db8::/32", &n), 0);
	assert_true(cidr_contains(&n, &v6));
	assert_int_equal(cidr_parse("0.0.0.0/0", &n), 0);
	assert_true(cidr_contains(&n, &out));
	assert_int_equal(cidr_parse("198.51.100.128", &n), 0);
	assert_int_equal(n.prefixlen, 32);
	assert_true(cidr_contains(&n, &out));

	assert_int_equal(cidr_parse("10.0.0.0/33", &n), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.0/", &n), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.0/-1", &n), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.0/8x", &n), -EINVAL);
	assert_int_equal(cidr_parse("::/129", &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_format),
	        cmocka_unit_test(test_cidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
