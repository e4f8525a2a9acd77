/*
 * Decoding of Neutron objects and Keystone token bodies as the real
 * services write them, and the refusal of shapes they never write; plus
 * the small HTTP helpers the errors rely on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "http.h"
#include "keystone.h"
#include "neutron.h"

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static void test_port(void **state)
{
	struct json_object *o = parse(
	        "{\"id\":\"p1\",\"name\":\"vm\",\"network_id\":\"n1\",\"tenant_id\":\"t1\","
	        "\"project_id\":\"t1\",\"device_id\":\"d1\",\"device_owner\":\"compute:nova\","
	        "\"mac_address\":\"fa:16:3e:00:00:01\",\"status\":\"ACTIVE\",\"admin_state_up\":"
	        "true,"
	        "\"fixed_ips\":[{\"subnet_id\":\"s4\",\"ip_address\":\"10.0.0.5\"},"
	        "{\"subnet_id\":\"s6\",\"ip_address\":\"2001:db8::5\"}],"
	        "\"security_groups\":[],\"binding:vnic_type\":\"normal\"}");
	struct neutron_port p;

	assert_int_equal(neutron_port_decode(o, &p), 0);
	assert_string_equal(p.id, "p1");
	assert_string_equal(p.device_owner, "compute:nova");
	assert_string_equal(p.project_id, "t1");
	assert_int_equal(p.fixed_ips_len, 2);
	assert_string_equal(p.fixed_ips[0].subnet_id, "s4");
	assert_int_equal(p.fixed_ips[0].addr.family, AF_INET);
	assert_int_equal(p.fixed_ips[1].addr.family, AF_INET6);
	neutron_port_clear(&p);
	json_object_put(o);

	/* fields= answers: only some members; tenant_id alone (old servers). */
	o = parse("{\"id\":\"p2\",\"tenant_id\":\"t2\"}");
	assert_int_equal(neutron_port_decode(o, &p), 0);
	assert_string_equal(p.project_id, "t2");
	assert_null(p.device_id);
	assert_int_equal(p.fixed_ips_len, 0);
	neutron_port_clear(&p);
	json_object_put(o);
}

static void test_router(void **state)
{
	struct json_object *o = parse(
	        "{\"id\":\"r1\",\"name\":\"router1\",\"project_id\":\"p\",\"status\":\"ACTIVE\","
	        "\"external_gateway_info\":{\"network_id\":\"pub\",\"enable_snat\":true,"
	        "\"external_fixed_ips\":[{\"subnet_id\":\"s\",\"ip_address\":\"203.0.113.10\"}]}}");
	struct neutron_router r;

	assert_int_equal(neutron_router_decode(o, &r), 0);
	assert_true(r.has_gateway);
	assert_string_equal(r.gateway_network_id, "pub");
	assert_int_equal(r.gateway_ips_len, 1);
	assert_string_equal(r.gateway_ips[0].ip_address, "203.0.113.10");
	assert_false(r.distributed); /* not shown (not admin): not DVR */
	assert_false(r.ha);
	neutron_router_clear(&r);
	json_object_put(o);

	/* The kind, as an admin sees it (issue 13); a non-boolean is refused. */
	o = parse(
	        "{\"id\":\"r3\",\"distributed\":true,\"ha\":false,\"external_gateway_info\":null}");
	assert_int_equal(neutron_router_decode(o, &r), 0);
	assert_true(r.distributed);
	assert_false(r.ha);
	neutron_router_clear(&r);
	json_object_put(o);
	o = parse("{\"id\":\"r4\",\"ha\":\"yes\"}");
	assert_int_equal(neutron_router_decode(o, &r), -EPROTO);
	json_object_put(o);

	o = parse("{\"id\":\"r2\",\"external_gateway_info\":null}");
	assert_int_equal(neutron_router_decode(o, &r), 0);
	assert_false(r.has_gateway);
	assert_int_equal(r.gateway_ips_len, 0);
	neutron_router_clear(&r);
	json_object_put(o);
}

static void test_subnet_network(void **state)
{
	struct json_object *o = parse(
	        "{\"id\":\"s1\",\"cidr\":\"2001:db8:1::/64\",\"ip_version\":6,\"gateway_ip\":null,"
	        "\"network_id\":\"n\"}");
	struct neutron_subnet s;
	struct neutron_network n;

	assert_int_equal(neutron_subnet_decode(o, &s), 0);
	assert_int_equal(s.ip_version, 6);
	assert_null(s.gateway_ip);
	assert_int_equal(s.cidr.prefixlen, 64);
	assert_int_equal(s.cidr.addr.family, AF_INET6);
	neutron_subnet_clear(&s);
	json_object_put(o);

	o = parse("{\"id\":\"n1\",\"name\":\"public\",\"router:external\":true,\"shared\":false}");
	assert_int_equal(neutron_network_decode(o, &n), 0);
	assert_true(n.router_external);
	assert_false(n.shared);
	neutron_network_clear(&n);
	json_object_put(o);
}

/* Shapes Neutron never writes are -EPROTO, and leave nothing allocated. */
static void test_bad_shapes(void **state)
{
	static const char *const ports[] = {
	        "{\"name\":\"no id\"}",
	        "{\"id\":5}",
	        "{\"id\":\"p\",\"fixed_ips\":{}}",
	        "{\"id\":\"p\",\"fixed_ips\":[5]}",
	        "{\"id\":\"p\",\"fixed_ips\":[{\"ip_address\":7}]}",
	        "{\"id\":\"p\",\"device_owner\":[]}",
	        "[]",
	};
	struct neutron_port p;
	struct neutron_router r;
	struct neutron_subnet s;
	struct neutron_network n;
	struct json_object *o;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		o = parse(ports[i]);
		assert_int_equal(neutron_port_decode(o, &p), -EPROTO);
		assert_null(p.id);
		json_object_put(o);
	}
	o = parse("{\"id\":\"r\",\"external_gateway_info\":\"x\"}");
	assert_int_equal(neutron_router_decode(o, &r), -EPROTO);
	json_object_put(o);
	o = parse("{\"id\":\"s\",\"ip_version\":\"4\"}");
	assert_int_equal(neutron_subnet_decode(o, &s), -EPROTO);
	json_object_put(o);
	o = parse("{\"id\":\"n\",\"router:external\":\"yes\"}");
	assert_int_equal(neutron_network_decode(o, &n), -EPROTO);
	json_object_put(o);
	assert_int_equal(neutron_port_decode(NULL, &p), -EPROTO);
}

static void test_token(void **state)
{
	static const char body[] =
	        "{\"token\":{\"methods\":[\"password\"],"
	        "\"user\":{\"domain\":{\"id\":\"default\"},\"id\":\"u1\",\"name\":\"demo\"},"
	        "\"audit_ids\":[\"x\"],\"expires_at\":\"2030-01-02T03:04:05.000000Z\","
	        "\"issued_at\":\"2030-01-02T02:04:05.000000Z\","
	        "\"project\":{\"domain\":{\"id\":\"default\"},\"id\":\"p1\",\"name\":\"demo\"},"
	        "\"is_domain\":false,\"roles\":[{\"id\":\"r1\",\"name\":\"member\"},"
	        "{\"id\":\"r2\",\"name\":\"reader\"}]}}";
	struct keystone_token_info info;
	char *cause = NULL;

	assert_int_equal(keystone_token_info_parse(body, strlen(body), &info, &cause), 0);
	assert_string_equal(info.user_id, "u1");
	assert_string_equal(info.project_id, "p1");
	assert_int_equal(info.roles_len, 2);
	assert_true(keystone_token_has_role(&info, "reader"));
	assert_false(keystone_token_has_role(&info, "admin"));
	assert_int_equal(info.expires_at, 1893553445);
	assert_int_equal(info.expires_at - info.issued_at, 3600);
	keystone_token_info_clear(&info);

	assert_int_equal(keystone_token_info_parse(
	                         "{\"token\":{\"user\":{\"id\":\"u\"}}}", 31, &info, &cause),
	        -EPROTO);
	assert_non_null(strstr(cause, "expires_at"));
	free(cause);
	assert_int_equal(keystone_token_info_parse("{\"tok", 5, &info, &cause), -EPROTO);
	free(cause);
}

static void test_http_helpers(void **state)
{
	char *s = http_escape("ip_address=10.0.0.5 /x");
	struct http_error *e;

	assert_string_equal(s, "ip_address%3D10.0.0.5%20%2Fx");
	free(s);
	s = http_call_name("GET",
	        "http://h:9696/v2.0/ports?fields=id&fields=name&device_id=d"
	        "&limit=5");
	assert_string_equal(s, "GET /v2.0/ports?device_id=d&limit=5");
	free(s);
	s = http_call_name("DELETE", "/v2.0/ports/x");
	assert_string_equal(s, "DELETE /v2.0/ports/x");
	free(s);
	assert_int_equal(http_status_errno(204), 0);
	assert_int_equal(http_status_errno(404), -ENOENT);
	assert_int_equal(http_status_errno(503), -EIO);
	e = http_error_new(-ENOENT, 404, "GET /v2.0/ports/x", "Port %s could not be found.", "x");
	s = http_error_string(e);
	assert_string_equal(s, "GET /v2.0/ports/x: HTTP 404: Port x could not be found.");
	free(s);
	http_error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_port),
	        cmocka_unit_test(test_router),
	        cmocka_unit_test(test_subnet_network),
	        cmocka_unit_test(test_bad_shapes),
	        cmocka_unit_test(test_token),
	        cmocka_unit_test(test_http_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
