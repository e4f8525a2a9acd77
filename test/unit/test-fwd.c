/* The forwarding model: port ranges, validation, UUIDs, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include <time.h>

#include "fwd.h"

/* The one port parser: the legacy API's ports and each end of a range. */
static void test_port_parse(void **state)
{
	static const char *const bad[] = {"", "0", "65536", "99999", "123456", "-1", "+22", " 22",
	        "22 ", "2x", "0x16", "22:23"};
	const char *why;
	uint16_t p = 0;

	assert_int_equal(port_parse("1", &p, &why), 0);
	assert_int_equal(p, 1);
	assert_int_equal(port_parse("65535", &p, &why), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(port_parse("00022", &p, &why), 0);
	assert_int_equal(p, 22);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = 7;
		if (port_parse(bad[i], &p, &why) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(why);
		assert_int_equal(p, 7);
	}
	assert_int_equal(port_parse(NULL, &p, &why), -EINVAL);
	assert_string_equal(why, "is empty");
	assert_int_equal(port_parse("65536", &p, &why), -EINVAL);
	assert_string_equal(why, "is not a port: outside 1-65535");
}

static void test_port_range_parse(void **state)
{
	struct port_range r;
	const char *why;

	assert_int_equal(port_range_parse("22", &r, &why), 0);
	assert_int_equal(r.lo, 22);
	assert_int_equal(r.hi, 22);
	assert_int_equal(port_range_parse("4000:4100", &r, &why), 0);
	assert_int_equal(r.lo, 4000);
	assert_int_equal(r.hi, 4100);
	assert_int_equal(port_range_len(&r), 101);
	assert_int_equal(port_range_parse("1:65535", &r, &why), 0);

	static const struct {
		const char *text, *why;
	} bad[] = {
	        {"", "empty"},
	        {"0", "outside 1-65535"},
	        {"65536", "outside 1-65535"},
	        {"4100:4000", "first port above"},
	        {"-1", "not a port"},
	        {"+22", "not a port"},
	        {" 22", "not a port"},
	        {"22:", "not a port"},
	        {":22", "not a port"},
	        {"1:2:3", "not a port"},
	        {"0x16", "not a port"},
	        {"000022", "not a port"},
	        {"22a", "not a port"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(port_range_parse(bad[i].text, &r, &why), -EINVAL);
		assert_non_null(why);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("\"%s\": why \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
	}
}

static void test_overlap(void **state)
{
	struct port_range a = {10, 20}, b = {20, 30}, c = {21, 30};

	assert_true(port_range_overlap(&a, &b));
	assert_true(port_range_overlap(&b, &a));
	assert_false(port_range_overlap(&a, &c));
}

static struct forwarding valid_fwd(void)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	f.protocol = IPPROTO_TCP;
	f.external = (struct port_range){4000, 4009};
	f.internal = (struct port_range){22, 31};
	assert_int_equal(addr_parse("203.0.113.1", &f.external_addr), 0);
	assert_int_equal(addr_parse("10.0.0.11", &f.internal_addr), 0);
	return f;
}

static void test_validate(void **state)
{
	struct forwarding f = valid_fwd();
	const char *why;

	assert_int_equal(fwd_validate(&f, &why), 0);
	assert_int_equal(fwd_internal_port_for(&f, 4003), 25);

	f.internal = (struct port_range){22, 22}; /* N:1 */
	assert_int_equal(fwd_validate(&f, &why), 0);
	assert_int_equal(fwd_internal_port_for(&f, 4009), 22);

	f.internal = (struct port_range){22, 23};
	assert_int_equal(fwd_validate(&f, &why), -EINVAL);
	assert_non_null(strstr(why, "internal_port_range"));

	f = valid_fwd();
	f.protocol = IPPROTO_ICMP;
	assert_int_equal(fwd_validate(&f, &why), -EINVAL);
	assert_non_null(strstr(why, "protocol"));

	f = valid_fwd();
	assert_int_equal(addr_parse("2001:db8::5", &f.internal_addr), 0);
	assert_int_equal(fwd_validate(&f, &why), -EINVAL);
	assert_non_null(strstr(why, "family"));
}

static void test_protocol(void **state)
{
	assert_int_equal(fwd_protocol_parse("tcp"), IPPROTO_TCP);
	assert_int_equal(fwd_protocol_parse("udp"), IPPROTO_UDP);
	assert_int_equal(fwd_protocol_parse("TCP"), -EINVAL);
	assert_int_equal(fwd_protocol_parse("icmp"), -EINVAL);
	assert_string_equal(fwd_protocol_name(IPPROTO_UDP), "udp");
}

static void test_uuid(void **state)
{
	char a[FWD_ID_LEN + 1], b[FWD_ID_LEN + 1];

	assert_int_equal(fwd_uuid_generate(a), 0);
	assert_int_equal(fwd_uuid_generate(b), 0);
	assert_true(fwd_uuid_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_false(fwd_uuid_valid("not-a-uuid"));
	assert_false(fwd_uuid_valid("0123456789abcdef0123456789abcdef0123"));
	assert_true(fwd_uuid_valid("01234567-89ab-cdef-0123-456789abcdef"));
	assert_false(fwd_uuid_valid("01234567-89ab-cdef-0123-456789abcdeg"));
}

static void test_time(void **state)
{
	char buf[32];

	assert_string_equal(fwd_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(fwd_time_format(1795675120, buf, sizeof(buf)), "2026-11-26T06:38:40Z");
	/* The formatter is its own calendar: leap days, century rules, the last second. */
	assert_string_equal(fwd_time_format(951782400, buf, sizeof(buf)), "2000-02-29T00:00:00Z");
	assert_string_equal(fwd_time_format(4107542399, buf, sizeof(buf)), "2100-02-28T23:59:59Z");
	assert_string_equal(fwd_time_format(4107542400, buf, sizeof(buf)), "2100-03-01T00:00:00Z");
	assert_string_equal(fwd_time_format(1709164800, buf, sizeof(buf)), "2024-02-29T00:00:00Z");
	assert_string_equal(
	        fwd_time_format(253402300799, buf, sizeof(buf)), "9999-12-31T23:59:59Z");
	/* Out of the four-digit range: the real year, signed (ISO 8601 expanded),
	 * never a date that is not the time. */
	assert_string_equal(
	        fwd_time_format(253402300800, buf, sizeof(buf)), "+10000-01-01T00:00:00Z");
	assert_string_equal(fwd_time_format(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	assert_string_equal(
	        fwd_time_format(-62167219200, buf, sizeof(buf)), "0000-01-01T00:00:00Z");
	assert_string_equal(
	        fwd_time_format(-62167219201, buf, sizeof(buf)), "-0001-12-31T23:59:59Z");
	/* The ends of int64_t: no overflow (UBSan watches), and FWD_TIME_MAX holds them. */
	assert_true(sizeof(buf) >= FWD_TIME_MAX);
	assert_string_equal(
	        fwd_time_format(INT64_MAX, buf, sizeof(buf)), "+292277026596-12-04T15:30:07Z");
	assert_string_equal(
	        fwd_time_format(INT64_MIN, buf, sizeof(buf)), "-292277022657-01-27T08:29:52Z");
	/* A buffer too small: truncated like snprintf, never overrun. */
	assert_string_equal(fwd_time_format(0, buf, 10), "1970-01-0");
	assert_string_equal(fwd_time_format(253402300800, buf, 7), "+10000");
	buf[0] = 'x';
	assert_ptr_equal(fwd_time_format(0, buf, 0), buf);
	assert_int_equal(buf[0], 'x');
	/* Years past 9999 agree with glibc's calendar. */
	for (int64_t t = 253402300800 - 86400 * 400; t < 253402300800 * 40;
	        t += 86399 * 997 + 3601) {
		time_t tt = (time_t)t;
		struct tm tm;
		char want[40];

		assert_non_null(gmtime_r(&tt, &tm));
		assert_int_not_equal(strftime(want, sizeof(want),
		                             tm.tm_year + 1900 > 9999 ? "+%Y-%m-%dT%H:%M:%SZ"
		                                                      : "%Y-%m-%dT%H:%M:%SZ",
		                             &tm),
		        0);
		assert_string_equal(fwd_time_format(t, buf, sizeof(buf)), want);
	}
	for (int64_t t = 0; t < 4102444800; t += 86399 * 7 + 3601) {
		time_t tt = (time_t)t;
		struct tm tm;
		char want[32];

		assert_non_null(gmtime_r(&tt, &tm));
		assert_int_not_equal(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
		assert_string_equal(fwd_time_format(t, buf, sizeof(buf)), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_port_parse),
	        cmocka_unit_test(test_port_range_parse),
	        cmocka_unit_test(test_overlap),
	        cmocka_unit_test(test_validate),
	        cmocka_unit_test(test_protocol),
	        cmocka_unit_test(test_uuid),
	        cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
