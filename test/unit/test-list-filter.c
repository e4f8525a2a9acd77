/* v1 listing filters and the query-string splitter under them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list-filter.h"
#include "query.h"

static struct forwarding fwd(const char *router, uint8_t proto, const char *ip, uint16_t lo,
        uint16_t hi, const char *port_id)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	strcpy(f.router_id, router);
	f.protocol = proto;
	addr_parse(ip, &f.internal_addr);
	f.external = (struct port_range){lo, hi};
	f.internal = (struct port_range){22, 22};
	strcpy(f.internal_port_id, port_id);
	return f;
}

static void test_parse_and_match(void **state)
{
	struct list_filter f;
	struct forwarding a = fwd("r1", IPPROTO_TCP, "10.0.0.5", 4022, 4022, "p1");
	struct forwarding b = fwd("r2", IPPROTO_UDP, "10.0.0.6", 5000, 5009, "p2");
	char *why = NULL;

	assert_int_equal(list_filter_parse(NULL, false, &f, &why), 0);
	assert_int_equal(f.given, 0);
	assert_true(list_filter_match(&f, &a));

	assert_int_equal(list_filter_parse("protocol=udp&external_port=5003&fields=id&limit=5",
	                         false, &f, &why),
	        0);
	assert_int_equal(f.given, LIST_FILTER_PROTOCOL | LIST_FILTER_EXTERNAL_PORT);
	assert_int_equal(f.page.limit, 5);
	assert_false(list_filter_match(&f, &a));
	assert_true(list_filter_match(&f, &b));

	assert_int_equal(list_filter_parse("internal_ip_address=10.0.0.5&internal_port_id=p1",
	                         false, &f, &why),
	        0);
	assert_true(list_filter_match(&f, &a));
	assert_false(list_filter_match(&f, &b));

	assert_int_equal(list_filter_parse("router_id=r2", true, &f, &why), 0);
	assert_false(list_filter_match(&f, &a));
	assert_true(list_filter_match(&f, &b));
	/* status, on both listings; as shown (upper case) only. */
	b.status = FWD_STATUS_DOWN;
	assert_int_equal(list_filter_parse("status=DOWN", false, &f, &why), 0);
	assert_int_equal(f.given, LIST_FILTER_STATUS);
	assert_false(list_filter_match(&f, &a));
	assert_true(list_filter_match(&f, &b));
	assert_int_equal(list_filter_parse("status=ACTIVE&router_id=r1", true, &f, &why), 0);
	assert_true(list_filter_match(&f, &a));
	assert_false(list_filter_match(&f, &b));
	assert_int_equal(list_filter_parse("status=down", false, &f, &why), -EINVAL);
	assert_non_null(strstr(why, "status: must be ACTIVE, BUILD, ERROR or DOWN"));
	free(why);
	why = NULL;
	assert_int_equal(list_filter_parse("status=FAILED", true, &f, &why), -EINVAL);
	free(why);
	why = NULL;
	/* Across nodes an answer works out BUILD and ERROR too: both are filters. */
	assert_int_equal(list_filter_parse("status=BUILD", false, &f, &why), 0);
	assert_int_equal(f.status, FWD_STATUS_BUILD);
	assert_false(list_filter_match(&f, &a));
	assert_int_equal(list_filter_parse("status=ERROR", false, &f, &why), 0);
	assert_int_equal(f.status, FWD_STATUS_ERROR);
}

static void test_paging(void **state)
{
	struct list_filter f;
	char *why = NULL;

	/* None given: no limit (the server's maximum), no marker, ascending. */
	assert_int_equal(list_filter_parse("protocol=tcp", false, &f, &why), 0);
	assert_int_equal(f.page.given, 0);
	assert_int_equal(f.page.limit, 0);
	assert_string_equal(f.page.marker, "");
	assert_false(f.page.reverse);
	assert_false(f.page.descending);

	assert_int_equal(list_filter_parse("limit=25&marker=0A1B2C3D-0000-4000-8000-00000000000F"
	                                   "&page_reverse=True&sort_key=id&sort_dir=desc",
	                         true, &f, &why),
	        0);
	assert_int_equal(f.given, 0); /* paging is not filtering */
	assert_int_equal(f.page.given,
	        LIST_PAGE_LIMIT | LIST_PAGE_MARKER | LIST_PAGE_REVERSE | LIST_PAGE_SORT_KEY |
	                LIST_PAGE_SORT_DIR);
	assert_int_equal(f.page.limit, 25);
	/* Ids are stored in lower case, and the page is cut by comparing them. */
	assert_string_equal(f.page.marker, "0a1b2c3d-0000-4000-8000-00000000000f");
	assert_true(f.page.reverse);
	assert_true(f.page.descending);

	/* Neutron: limit=0 is "the maximum"; an empty marker is none. */
	assert_int_equal(
	        list_filter_parse("limit=0&marker=&page_reverse=false", false, &f, &why), 0);
	assert_int_equal(f.page.limit, 0);
	assert_string_equal(f.page.marker, "");
	assert_false(f.page.reverse);

	/* A huge limit saturates rather than wraps: it is cut to the maximum. */
	assert_int_equal(list_filter_parse("limit=99999999999999999999999", false, &f, &why), 0);
	assert_int_equal(f.page.limit, UINT32_MAX);
	assert_int_equal(list_filter_parse("limit=4294967296", false, &f, &why), 0);
	assert_int_equal(f.page.limit, UINT32_MAX);
}

static const struct {
	const char *query;
	bool all;
	const char *why;
} bad[] = {
        {"limit=-1", false, "limit: must be an integer 0 or greater, not '-1'"},
        {"limit=1.5", false, "limit: must be an integer 0 or greater"},
        {"limit=", false, "limit: must be an integer 0 or greater, not empty"},
        {"limit=%zz", false, "limit: has a bad %-escape"},
        {"limit=1&limit=2", false, "limit: is given more than once"},
        {"marker=42", true, "marker: must be a port forwarding id (a UUID)"},
        {"marker=0a1b2c3d-0000-4000-8000-00000000000g", true, "marker: must be a port"},
        {"page_reverse=yes", false, "page_reverse: must be true or false"},
        {"sort_key=external_port", true, "sort_key: 'external_port' is not supported"},
        {"sort_key=id&sort_key=id", true, "sort_key: is given more than once"},
        {"sort_dir=up", true, "sort_dir: must be asc or desc"},
        {"router_id=r1", false, "router_id: is not a filter of this listing"},
        {"colour=red", true, "colour: is not a filter of this listing (router_id,"},
        {"protocol=icmp", false, "protocol: must be tcp or udp"},
        {"protocol=tcp&protocol=udp", false, "protocol: is given more than once"},
        {"external_port=0", false, "external_port: must be a port"},
        {"external_port=4000:4001", false, "external_port: must be a port"},
        {"internal_ip_address=x", false, "internal_ip_address: is not an IPv4"},
        {"internal_port_id=a%2Fb", false, "internal_port_id: is not an id"},
        {"internal_port_id=a%zz", false, "internal_port_id: has a bad %-escape"},
        {"%zz=1", false, "(undecodable): is not a filter"},
};

static void test_errors(void **state)
{
	struct list_filter f;
	char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (list_filter_parse(bad[i].query, bad[i].all, &f, &why) != -EINVAL)
			fail_msg("accepted: %s", bad[i].query);
		if (why == NULL || strstr(why, bad[i].why) == NULL)
			fail_msg("%s: why \"%s\" lacks \"%s\"", bad[i].query, why, bad[i].why);
		free(why);
	}
	char *big = malloc(QUERY_MAX + 2);
	memset(big, 'a', QUERY_MAX + 1);
	big[QUERY_MAX + 1] = '\0';
	assert_int_equal(list_filter_parse(big, false, &f, &why), -EINVAL);
	assert_non_null(strstr(why, "longer than"));
	free(why);
	free(big);
}

struct seen {
	char text[512];
};

static int collect(const struct query_pair *p, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "[%s|%d|%d|%s|%d]", p->key, p->key_ok,
	        p->has_value, p->value, p->value_ok);
	return strcmp(p->key, "stop") == 0 ? -EINTR : 0;
}

static void test_query(void **state)
{
	struct seen s = {""};

	assert_int_equal(query_foreach("a=1&&b&c=x+y%20z&d=%41%zz&=v&e=", collect, &s), 0);
	assert_string_equal(s.text,
	        "[a|1|1|1|1][b|1|0||1][c|1|1|x y z|1][d|1|1||0][|1|1|v|1]"
	        "[e|1|1||1]");
	s.text[0] = '\0';
	assert_int_equal(query_foreach("a=1&stop=1&z=2", collect, &s), -EINTR);
	assert_string_equal(s.text, "[a|1|1|1|1][stop|1|1|1|1]");
	s.text[0] = '\0';
	assert_int_equal(query_foreach("k%00=1&x=%00", collect, &s), 0);
	assert_string_equal(s.text, "[|0|1|1|1][x|1|1||0]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_and_match),
	        cmocka_unit_test(test_paging),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
