/* The legacy (Proxy CLI) API: query strings in, the original's exact answers out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legacy-wire.h"
#include "query.h"

static char *text(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	char *s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	return s;
}

static void test_parse_create(void **state)
{
	struct legacy_request req;
	char *error = NULL, buf[ADDR_STRLEN];

	assert_int_equal(legacy_parse(LEGACY_CREATE,
	                         "server_ip=10.0.0.5&router_id=qrouter-8f3c1a2e-0000-4000-8000-"
	                         "000000000001&create_server_port=22&gateway=203.0.113.1",
	                         &req, &error),
	        0);
	assert_null(error);
	assert_int_equal(req.op, LEGACY_CREATE);
	assert_string_equal(req.router_id, "8f3c1a2e-0000-4000-8000-000000000001");
	assert_string_equal(addr_format(&req.server_ip, buf, sizeof(buf)), "10.0.0.5");
	assert_string_equal(addr_format(&req.gateway, buf, sizeof(buf)), "203.0.113.1");
	assert_int_equal(req.server_port, 22);

	/* Percent-encoding, a router id without prefix, unknown parameters ignored. */
	assert_int_equal(legacy_parse(LEGACY_MODIFY,
	                         "server_ip=2001%3Adb8%3A%3A5&router_id=r1&modify_server_port=22&"
	                         "modify_router_port=4100&gateway=2001:db8::1&x=1&&flag",
	                         &req, &error),
	        0);
	assert_string_equal(req.router_id, "r1");
	assert_string_equal(addr_format(&req.server_ip, buf, sizeof(buf)), "2001:db8::5");
	assert_int_equal(req.router_port, 4100);

	assert_int_equal(legacy_parse(LEGACY_ROUTER_PAT, "router_id=qrouter-r1", &req, &error), 0);
	assert_string_equal(req.router_id, "r1");
	/* router_pat takes no server_ip: one given is ignored, even a bad one. */
	assert_int_equal(
	        legacy_parse(LEGACY_ROUTER_PAT, "router_id=r1&server_ip=zz", &req, &error), 0);
	assert_int_equal(legacy_parse(LEGACY_ROUTER_SERVER_PAT, "server_ip=10.0.0.5&router_id=r1",
	                         &req, &error),
	        0);
	assert_int_equal(legacy_parse(LEGACY_REMOVE,
	                         "server_ip=10.0.0.5&router_id=r1&remove_server_port=65535&"
	                         "gateway=203.0.113.1",
	                         &req, &error),
	        0);
	assert_int_equal(req.server_port, 65535);
}

static const struct {
	enum legacy_op op;
	const char *query, *error;
} bad[] = {
        {LEGACY_CREATE, "", "server_ip: is required"},
        {LEGACY_CREATE, NULL, "server_ip: is required"},
        {LEGACY_CREATE, "server_ip=10.0.0.5&router_id=r1&gateway=203.0.113.1",
                "create_server_port: is required"},
        {LEGACY_CREATE, "server_ip=10.0.0.5&router_id=r1&create_server_port=22",
                "gateway: is required"},
        {LEGACY_CREATE, "server_ip=10.0.0.5&server_ip=10.0.0.6",
                "server_ip: is given more than once"},
        {LEGACY_CREATE, "server_ip=", "server_ip: is empty"},
        {LEGACY_CREATE, "server_ip", "server_ip: is empty"},
        {LEGACY_CREATE, "server_ip=10.0.0.300", "server_ip: is not an IPv4 or IPv6 address"},
        {LEGACY_CREATE, "gateway=gw", "gateway: is not an IPv4 or IPv6 address"},
        {LEGACY_CREATE, "router_id=qrouter-", "router_id: is not a router id"},
        {LEGACY_CREATE, "router_id=a/b", "router_id: is not a router id"},
        {LEGACY_CREATE, "router_id=a%2", "router_id: has a bad %-escape"},
        {LEGACY_CREATE, "router_id=a%zz", "router_id: has a bad %-escape"},
        {LEGACY_CREATE, "router_id=a%00b", "router_id: has a bad %-escape or a NUL"},
        {LEGACY_CREATE, "create_server_port=0", "create_server_port: is not a port"},
        {LEGACY_CREATE, "create_server_port=65536", "create_server_port: is not a port"},
        {LEGACY_CREATE, "create_server_port=22a", "create_server_port: is not a port"},
        {LEGACY_CREATE, "create_server_port=-22", "create_server_port: is not a port"},
        {LEGACY_CREATE, "create_server_port=+22", "create_server_port: is not a port"},
        {LEGACY_CREATE, "create_server_port=4000:4001", "create_server_port: is not a port"},
        {LEGACY_MODIFY, "server_ip=10.0.0.5&router_id=r1&modify_server_port=22&gateway=203.0.113.1",
                "modify_router_port: is required"},
        {LEGACY_MODIFY, "modify_router_port=99999", "modify_router_port: is not a port"},
        {LEGACY_REMOVE, "remove_server_port=x", "remove_server_port: is not a port"},
        {LEGACY_ROUTER_SERVER_PAT, "router_id=r1", "server_ip: is required"},
        {LEGACY_ROUTER_PAT, "", "router_id: is required"},
};

static void test_parse_bad(void **state)
{
	struct legacy_request req;
	char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		if (legacy_parse(bad[i].op, bad[i].query, &req, &error) != -EINVAL)
			fail_msg("accepted: %s", bad[i].query);
		if (error == NULL || strstr(error, bad[i].error) == NULL)
			fail_msg(
			        "%s: error \"%s\" lacks \"%s\"", bad[i].query, error, bad[i].error);
		free(error);
	}

	char *big = malloc(QUERY_MAX + 2);
	memset(big, 'a', QUERY_MAX + 1);
	big[QUERY_MAX + 1] = '\0';
	assert_int_equal(legacy_parse(LEGACY_CREATE, big, &req, &error), -EINVAL);
	assert_non_null(strstr(error, "query: longer than"));
	free(error);
	free(big);
}

static struct legacy_request request(enum legacy_op op, uint16_t server_port, uint16_t router_port)
{
	struct legacy_request r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	strcpy(r.router_id, "r1");
	addr_parse("10.0.0.5", &r.server_ip);
	addr_parse("203.0.113.1", &r.gateway);
	r.server_port = server_port;
	r.router_port = router_port;
	return r;
}

static void expect(struct evbuffer *b, const char *want)
{
	char *got = text(b);

	assert_string_equal(got, want);
	free(got);
}

/*
 * The Proxy CLI prints "message" verbatim: the seven messages and the status
 * words are the original PRaaS's last release's (praas/pat_agent.py, v10.1).
 */
static void test_answers(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct legacy_request c = request(LEGACY_CREATE, 22, 0);
	struct legacy_request r = request(LEGACY_REMOVE, 22, 0);
	struct legacy_request m = request(LEGACY_MODIFY, 22, 4100);

	assert_int_equal(legacy_write_created(b, &c, 4022), 0);
	expect(b,
	        "{\"status\":\"SUCCESS\",\"create_router_port\":\"4022\",\"server_ip\":\"10.0.0."
	        "5\","
	        "\"create_server_port\":\"22\",\"gateway\":\"203.0.113.1\","
	        "\"message\":\"Create PAT connection successfully\"}");
	assert_int_equal(legacy_write_already(b, &c, 4022), 0);
	expect(b,
	        "{\"status\":\"CREATED\",\"created_server_port\":\"22\",\"created_router_port\":"
	        "\"4022\",\"server_ip\":\"10.0.0.5\",\"gateway\":\"203.0.113.1\","
	        "\"message\":\"Server port has been established already\"}");
	assert_int_equal(legacy_write_removed(b, &r, 4022), 0);
	expect(b,
	        "{\"status\":\"REMOVED\",\"remove_router_port\":\"4022\",\"server_ip\":\"10.0.0."
	        "5\","
	        "\"remove_server_port\":\"22\",\"gateway\":\"203.0.113.1\","
	        "\"message\":\"Remove PAT connection successfully\"}");
	assert_int_equal(legacy_write_not_created(b, &r), 0);
	expect(b,
	        "{\"status\":\"NO "
	        "CREATED\",\"remove_server_port\":\"22\",\"server_ip\":\"10.0.0.5\","
	        "\"gateway\":\"203.0.113.1\",\"message\":\"The remove port has not been "
	        "established yet\"}");
	assert_int_equal(legacy_write_not_created(b, &m), 0);
	expect(b,
	        "{\"status\":\"NO "
	        "CREATED\",\"modify_server_port\":\"22\",\"server_ip\":\"10.0.0.5\","
	        "\"gateway\":\"203.0.113.1\",\"message\":\"Server port has not established yet\"}");
	assert_int_equal(legacy_write_modified(b, &m, 4022), 0);
	expect(b,
	        "{\"status\":\"SUCCESS\",\"modified_router_port\":\"4022\",\"modify_router_port\":"
	        "\"4100\",\"server_ip\":\"10.0.0.5\",\"modify_server_port\":\"22\",\"gateway\":"
	        "\"203.0.113.1\",\"message\":\"Modify PAT connection successfully\"}");
	assert_int_equal(legacy_write_used(b, &m, 4022), 0);
	expect(b,
	        "{\"status\":\"USED\",\"modified_router_port\":\"4022\",\"server_ip\":\"10.0.0.5\","
	        "\"modify_server_port\":\"22\",\"modify_router_port\":\"4100\",\"gateway\":"
	        "\"203.0.113.1\",\"message\":\"New router port has been used already\"}");
	assert_int_equal(legacy_write_error(b, "router \"r1\" not found"), 0);
	expect(b, "{\"status\":\"ERROR\",\"message\":\"router \\\"r1\\\" not found\"}");

	struct legacy_mapping maps[3];
	memset(maps, 0, sizeof(maps));
	addr_parse("10.0.0.5", &maps[0].server_ip);
	maps[0].server_port = 22;
	maps[0].router_port = 4022;
	addr_parse("10.0.0.6", &maps[1].server_ip);
	maps[1].server_port = 80;
	maps[1].router_port = 4080;
	addr_parse("2001:db8::5", &maps[2].server_ip);
	maps[2].server_port = 443;
	maps[2].router_port = 4443;
	assert_int_equal(legacy_write_router_pat(b, maps, 3), 0);
	expect(b,
	        "{\"10.0.0.5:22\":\"4022\",\"10.0.0.6:80\":\"4080\",\"[2001:db8::5]:443\":"
	        "\"4443\"}");
	assert_int_equal(legacy_write_router_server_pat(b, maps, 2), 0);
	expect(b, "{\"22\":\"4022\",\"80\":\"4080\"}");
	assert_int_equal(legacy_write_router_pat(b, maps, 0), 0);
	expect(b, "{}");
	assert_string_equal(legacy_path(LEGACY_ROUTER_SERVER_PAT), "/router_server_pat");
	assert_string_equal(legacy_method(LEGACY_MODIFY), "POST");
	evbuffer_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_create),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
