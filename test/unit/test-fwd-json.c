/* A forwarding's JSON: rendering as Neutron does, request bodies, decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd-json.h"
#include "json-text.h"

static struct forwarding sample(void)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	strcpy(f.id, "01234567-89ab-4def-8123-456789abcdef");
	strcpy(f.router_id, "8f3c1a2e-0000-4000-8000-000000000001");
	strcpy(f.project_id, "demo");
	assert_int_equal(addr_parse("203.0.113.1", &f.external_addr), 0);
	assert_int_equal(addr_parse("10.0.0.11", &f.internal_addr), 0);
	f.protocol = IPPROTO_TCP;
	f.external = (struct port_range){4022, 4022};
	f.internal = (struct port_range){22, 22};
	strcpy(f.internal_port_id, "b1a9c2d3-0000-4000-8000-000000000002");
	strcpy(f.description, "ssh \"to\" vm\n\x01");
	f.created_at = 1795675120;
	f.updated_at = 1795675121;
	return f;
}

/* Renders f and parses the text back with json-c. */
static struct json_object *render(const struct forwarding *f)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *o;
	char why[96];
	size_t len;
	char *text;

	assert_non_null(b);
	assert_int_equal(fwd_json_write(b, f), 0);
	len = evbuffer_get_length(b);
	text = malloc(len + 1);
	assert_non_null(text);
	assert_int_equal(evbuffer_remove(b, text, len), (int)len);
	text[len] = '\0';
	if (json_text_parse(text, len, &o, why, sizeof(why)) < 0)
		fail_msg("rendered JSON does not parse (%s): %s", why, text);
	free(text);
	evbuffer_free(b);
	return o;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("key %s missing", key);
	return v;
}

static void test_render_single(void **state)
{
	struct forwarding f = sample();
	struct json_object *o = render(&f);
	static const char *const keys[] = {"id", "router_id", "project_id", "external_ip_address",
	        "external_port", "external_port_range", "protocol", "internal_ip_address",
	        "internal_port", "internal_port_range", "internal_port_id", "masquerade",
	        "description", "status", "status_reason", "hosts", "created_at", "updated_at"};

	assert_int_equal(json_object_object_length(o), sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		member(o, keys[i]);
	assert_string_equal(json_object_get_string(member(o, "id")), f.id);
	assert_string_equal(
	        json_object_get_string(member(o, "external_ip_address")), "203.0.113.1");
	assert_true(json_object_is_type(member(o, "external_port"), json_type_int));
	assert_int_equal(json_object_get_int(member(o, "external_port")), 4022);
	assert_string_equal(json_object_get_string(member(o, "external_port_range")), "4022:4022");
	assert_int_equal(json_object_get_int(member(o, "internal_port")), 22);
	assert_string_equal(json_object_get_string(member(o, "internal_port_range")), "22:22");
	assert_string_equal(json_object_get_string(member(o, "protocol")), "tcp");
	assert_string_equal(json_object_get_string(member(o, "description")), f.description);
	assert_true(json_object_is_type(member(o, "masquerade"), json_type_boolean));
	assert_string_equal(json_object_get_string(member(o, "status")), "ACTIVE");
	assert_true(json_object_is_type(member(o, "status_reason"), json_type_null));
	/* Not held by this node's namespace: no host. */
	assert_int_equal(json_object_array_length(member(o, "hosts")), 0);
	json_object_put(o);
	/* Held: one host, its node and namespace. */
	snprintf(f.host, sizeof(f.host), "network-1");
	snprintf(f.host_namespace, sizeof(f.host_namespace), "snat-%s", f.router_id);
	o = render(&f);
	{
		struct json_object *h = json_object_array_get_idx(member(o, "hosts"), 0);

		assert_int_equal(json_object_array_length(member(o, "hosts")), 1);
		assert_string_equal(json_object_get_string(member(h, "host")), "network-1");
		assert_string_equal(
		        json_object_get_string(member(h, "namespace")), f.host_namespace);
	}
	json_object_put(o);
	f.host[0] = f.host_namespace[0] = '\0';
	/* DOWN with a reason: the reason's stable name, and it decodes back. */
	f.status = FWD_STATUS_DOWN;
	f.status_reason = FWD_REASON_NAMESPACE_ABSENT;
	o = render(&f);
	assert_string_equal(json_object_get_string(member(o, "status_reason")), "namespace_absent");
	json_object_put(o);
	f.status_reason = FWD_REASON_KERNEL_REFUSED;
	o = render(&f);
	assert_string_equal(json_object_get_string(member(o, "status_reason")), "kernel_refused");
	{
		struct forwarding back;
		char *why = NULL;

		memset(&back, 0, sizeof(back));
		assert_int_equal(fwd_json_decode(o, &back, &why), 0);
		assert_int_equal(back.status, FWD_STATUS_DOWN);
		assert_int_equal(back.status_reason, FWD_REASON_KERNEL_REFUSED);
	}
	assert_string_equal(
	        json_object_get_string(member(o, "created_at")), "2026-11-26T06:38:40Z");
	assert_string_equal(
	        json_object_get_string(member(o, "updated_at")), "2026-11-26T06:38:41Z");
	json_object_put(o);
}

static void test_render_range(void **state)
{
	struct forwarding f = sample();
	struct json_object *o;

	f.external = (struct port_range){5000, 5009};
	f.internal = (struct port_range){8080, 8080}; /* N:1 */
	f.internal_port_id[0] = '\0';
	f.external_addr.family = 0;
	f.protocol = IPPROTO_UDP;
	f.status = FWD_STATUS_DOWN;
	o = render(&f);
	assert_null(member(o, "external_port"));
	assert_string_equal(json_object_get_string(member(o, "external_port_range")), "5000:5009");
	assert_int_equal(json_object_get_int(member(o, "internal_port")), 8080);
	assert_null(member(o, "internal_port_id"));
	assert_null(member(o, "external_ip_address"));
	assert_string_equal(json_object_get_string(member(o, "protocol")), "udp");
	assert_string_equal(json_object_get_string(member(o, "status")), "DOWN");
	json_object_put(o);
}

/* The hand-written time and IPv4 formatting agree with the library's. */
static void test_render_formats(void **state)
{
	static const int64_t times[] = {0, 1, -1, -86400, -86401, 951782400, 951868799, 1795675120,
	        4102444800, 253402300799, -62135596800, 253402300800, INT64_MAX, INT64_MIN};
	static const char *const addrs[] = {"0.0.0.0", "255.255.255.255", "10.0.0.1", "192.0.2.10",
	        "2001:db8::5", "::ffff:10.0.0.1"};
	struct forwarding f = sample();
	char want[64];

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct json_object *o;

		f.created_at = times[i];
		o = render(&f);
		fwd_time_format(times[i], want, sizeof(want));
		if (strcmp(json_object_get_string(member(o, "created_at")), want) != 0)
			fail_msg("time %lld: rendered %s, want %s", (long long)times[i],
			        json_object_get_string(member(o, "created_at")), want);
		json_object_put(o);
	}
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct json_object *o;

		assert_int_equal(addr_parse(addrs[i], &f.internal_addr), 0);
		f.external_addr = f.internal_addr;
		o = render(&f);
		assert_string_equal(json_object_get_string(member(o, "internal_ip_address")),
		        addr_format(&f.internal_addr, want, sizeof(want)));
		assert_string_equal(json_object_get_string(member(o, "external_ip_address")), want);
		json_object_put(o);
	}
}

static void test_render_array(void **state)
{
	struct forwarding f[3] = {sample(), sample(), sample()};
	struct evbuffer *b = evbuffer_new();
	struct json_object *o;
	char why[96];

	assert_int_equal(fwd_json_write_array(b, f, 0), 0);
	assert_int_equal(fwd_json_write_array(b, f, 3), 0);
	evbuffer_add(b, "", 1);
	assert_memory_equal(evbuffer_pullup(b, -1), "[][", 3);
	const char *text = (const char *)evbuffer_pullup(b, -1) + 2;
	assert_int_equal(json_text_parse(text, strlen(text), &o, why, sizeof(why)), 0);
	assert_int_equal(json_object_array_length(o), 3);
	json_object_put(o);
	evbuffer_free(b);
}

static void test_decode_roundtrip(void **state)
{
	struct forwarding f = sample(), g;
	struct json_object *o;
	char *why;

	f.external = (struct port_range){5000, 5009};
	f.internal = (struct port_range){6000, 6009};
	f.masquerade = true;
	o = render(&f);
	assert_int_equal(fwd_json_decode(o, &g, &why), 0);
	assert_memory_equal(&f, &g, sizeof(f));
	json_object_put(o);

	o = json_tokener_parse("{\"id\":\"nope\"}");
	assert_int_equal(fwd_json_decode(o, &g, &why), -EINVAL);
	assert_non_null(strstr(why, "id:"));
	free(why);
	json_object_put(o);
}

static int parse(
        const char *body, enum fwd_json_op op, struct forwarding *f, unsigned *given, char **why)
{
	return fwd_json_parse_request(body, strlen(body), op, f, given, why);
}

static void test_parse_create(void **state)
{
	struct forwarding f;
	unsigned given;
	char *why = NULL;
	char ip[ADDR_STRLEN];

	assert_int_equal(parse("{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.11\","
	                       "\"internal_port\":22}}",
	                         FWD_JSON_CREATE, &f, &given, &why),
	        0);
	assert_null(why);
	assert_int_equal(given, FWD_JSON_INTERNAL_IP_ADDRESS | FWD_JSON_INTERNAL_PORT);
	assert_int_equal(f.protocol, IPPROTO_TCP);
	assert_int_equal(f.internal.lo, 22);
	assert_int_equal(f.internal.hi, 22);
	assert_string_equal(addr_format(&f.internal_addr, ip, sizeof(ip)), "10.0.0.11");

	assert_int_equal(
	        parse(" {\"port_forwarding\":{\"internal_port_id\":\"abc-1\","
	              "\"internal_port_range\":\"80:89\",\"external_port_range\":\"8080:8089\","
	              "\"protocol\":\"udp\",\"masquerade\":true,\"description\":\"web\","
	              "\"external_port\":null,\"internal_port\":null}} \n",
	                FWD_JSON_CREATE, &f, &given, &why),
	        0);
	assert_int_equal(given,
	        FWD_JSON_INTERNAL_PORT_ID | FWD_JSON_INTERNAL_PORT_RANGE |
	                FWD_JSON_EXTERNAL_PORT_RANGE | FWD_JSON_PROTOCOL | FWD_JSON_MASQUERADE |
	                FWD_JSON_DESCRIPTION);
	assert_int_equal(f.protocol, IPPROTO_UDP);
	assert_int_equal(f.external.lo, 8080);
	assert_int_equal(f.external.hi, 8089);
	assert_int_equal(f.internal.hi, 89);
	assert_true(f.masquerade);
	assert_string_equal(f.description, "web");
	assert_string_equal(f.internal_port_id, "abc-1");

	/* Many external ports onto one internal port, and the N:N form. */
	assert_int_equal(parse("{\"port_forwarding\":{\"internal_ip_address\":\"2001:db8::5\","
	                       "\"internal_port\":22,\"external_port_range\":\"4000:4009\"}}",
	                         FWD_JSON_CREATE, &f, &given, &why),
	        0);
	assert_int_equal(parse("{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\","
	                       "\"internal_port_range\":\"22:22\",\"external_port\":4022}}",
	                         FWD_JSON_CREATE, &f, &given, &why),
	        0);
}

static const struct bad_body {
	const char *body, *why;
} bad_create[] = {
        {"", "body: is empty"},
        {"   ", "body: is empty"},
        {"{", "body: is not valid JSON"},
        {"{\"port_forwarding\":{}", "body: is not valid JSON"},
        {"{\"port_forwarding\":{}} x", "body: is not valid JSON"},
        {"[1]", "body: must be a JSON object"},
        {"12", "body: must be a JSON object"},
        {"null", "body: must be a JSON object"},
        {"{}", "port_forwarding: is required"},
        {"{\"port_forwarding\":null}", "port_forwarding: must be an object"},
        {"{\"port_forwarding\":[]}", "port_forwarding: must be an object"},
        {"{\"port_forwarding\":{},\"x\":1}", "x: is not expected"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\"}}",
                "internal_port: is required"},
        {"{\"port_forwarding\":{\"internal_port\":22}}", "internal_ip_address: is required"},
        {"{\"port_forwarding\":{\"internal_port\":\"22\"}}", "internal_port: must be an integer"},
        {"{\"port_forwarding\":{\"internal_port\":22.0}}", "internal_port: must be an integer"},
        {"{\"port_forwarding\":{\"internal_port\":0}}", "internal_port: must be from 1 to 65535"},
        {"{\"port_forwarding\":{\"external_port\":65536}}",
                "external_port: must be from 1 to 65535"},
        {"{\"port_forwarding\":{\"external_port\":-1}}", "external_port: must be from 1 to 65535"},
        {"{\"port_forwarding\":{\"external_port\":99999999999999999999}}", "external_port:"},
        {"{\"port_forwarding\":{\"external_port_range\":\"10:5\"}}",
                "external_port_range: has its first port above its last"},
        {"{\"port_forwarding\":{\"external_port_range\":\"10-20\"}}",
                "external_port_range: is not a port or a range"},
        {"{\"port_forwarding\":{\"internal_port_range\":\"0:5\"}}",
                "internal_port_range: has a port outside 1-65535"},
        {"{\"port_forwarding\":{\"internal_port_range\":22}}",
                "internal_port_range: must be a string"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\",\"internal_port\":22,"
         "\"external_port\":1,\"external_port_range\":\"1:1\"}}",
                "not both"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\",\"internal_port\":22,"
         "\"internal_port_range\":\"22:22\"}}",
                "not both"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\","
         "\"internal_port_range\":\"22:23\",\"external_port_range\":\"4000:4009\"}}",
                "internal_port_range: must be one port or as long as external_port_range"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.1\","
         "\"internal_port_range\":\"22:23\",\"external_port\":4000}}",
                "internal_port_range: must be one port"},
        {"{\"port_forwarding\":{\"protocol\":\"icmp\"}}", "protocol: must be \"tcp\" or \"udp\""},
        {"{\"port_forwarding\":{\"protocol\":\"TCP\"}}", "protocol:"},
        {"{\"port_forwarding\":{\"protocol\":6}}", "protocol: must be a string"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.256\"}}",
                "internal_ip_address: is not an IPv4 or IPv6 address"},
        {"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.0/24\"}}",
                "internal_ip_address: is not"},
        {"{\"port_forwarding\":{\"internal_port_id\":\"a/b\"}}", "internal_port_id: must be"},
        {"{\"port_forwarding\":{\"masquerade\":\"yes\"}}", "masquerade: must be true or false"},
        {"{\"port_forwarding\":{\"description\":5}}", "description: must be a string"},
        {"{\"port_forwarding\":{\"description\":\"a\\u0000b\"}}", "description: contains a NUL"},
        {"{\"port_forwarding\":{\"description\":\"\xff\"}}", "body:"},
        {"{\"port_forwarding\":{\"colour\":\"blue\"}}",
                "colour: is not a field of port_forwarding"},
        {"{\"port_forwarding\":{\"id\":\"x\"}}", "id: is read-only"},
        {"{\"port_forwarding\":{\"router_id\":\"x\"}}", "router_id: is read-only"},
        {"{\"port_forwarding\":{\"project_id\":\"x\"}}", "project_id: is read-only"},
        {"{\"port_forwarding\":{\"external_ip_address\":\"203.0.113.1\"}}",
                "external_ip_address: is read-only"},
        {"{\"port_forwarding\":{\"status\":\"ACTIVE\"}}", "status: is read-only"},
        {"{\"port_forwarding\":{\"created_at\":null}}", "created_at: is read-only"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                "body: is nested too deeply"},
};

static void expect_bad(const char *body, enum fwd_json_op op, const char *want)
{
	struct forwarding f;
	unsigned given;
	char *why = NULL;

	if (parse(body, op, &f, &given, &why) != -EINVAL)
		fail_msg("accepted: %s", body);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("%s: why \"%s\" lacks \"%s\"", body, why, want);
	free(why);
}

static void test_parse_create_errors(void **state)
{
	char big[300], body[400];

	for (size_t i = 0; i < sizeof(bad_create) / sizeof(bad_create[0]); i++)
		expect_bad(bad_create[i].body, FWD_JSON_CREATE, bad_create[i].why);

	memset(big, 'a', 256);
	big[256] = '\0';
	snprintf(body, sizeof(body), "{\"port_forwarding\":{\"description\":\"%s\"}}", big);
	expect_bad(body, FWD_JSON_CREATE, "description: is longer than 255");
	big[255] = '\0';
	snprintf(body, sizeof(body),
	        "{\"port_forwarding\":{\"description\":\"%s\",\"internal_port\":1,"
	        "\"internal_ip_address\":\"10.0.0.1\"}}",
	        big);
	struct forwarding f;
	unsigned given;
	char *why;
	assert_int_equal(parse(body, FWD_JSON_CREATE, &f, &given, &why), 0);
	assert_int_equal(strlen(f.description), 255);

	/* The length cap holds even if the HTTP layer let a larger body through. */
	char *huge = calloc(1, FWD_JSON_BODY_MAX + 2);
	assert_non_null(huge);
	memset(huge, ' ', FWD_JSON_BODY_MAX + 1);
	assert_int_equal(fwd_json_parse_request(
	                         huge, FWD_JSON_BODY_MAX + 1, FWD_JSON_CREATE, &f, &given, &why),
	        -EINVAL);
	assert_non_null(strstr(why, "larger than"));
	free(why);
	free(huge);
}

static void test_parse_update(void **state)
{
	struct forwarding f, stored = sample();
	unsigned given;
	char *why = NULL;

	assert_int_equal(parse("{\"port_forwarding\":{}}", FWD_JSON_UPDATE, &f, &given, &why), 0);
	assert_int_equal(given, 0);
	assert_int_equal(
	        parse("{\"port_forwarding\":{\"external_port\":4100,\"description\":\"x\"}}",
	                FWD_JSON_UPDATE, &f, &given, &why),
	        0);
	assert_int_equal(given, FWD_JSON_EXTERNAL_PORT | FWD_JSON_DESCRIPTION);
	fwd_json_apply(&stored, &f, given);
	assert_int_equal(stored.external.lo, 4100);
	assert_int_equal(stored.external.hi, 4100);
	assert_int_equal(stored.internal.lo, 22);
	assert_string_equal(stored.description, "x");
	assert_string_equal(stored.router_id, "8f3c1a2e-0000-4000-8000-000000000001");

	expect_bad("{\"port_forwarding\":{\"id\":\"01234567-89ab-4def-8123-456789abcdef\"}}",
	        FWD_JSON_UPDATE, "id: is read-only");
	expect_bad("{\"port_forwarding\":{\"status\":\"DOWN\"}}", FWD_JSON_UPDATE,
	        "status: is read-only");
	expect_bad("{\"port_forwarding\":{\"external_port\":1,\"external_port_range\":\"1:2\"}}",
	        FWD_JSON_UPDATE, "not both");
	expect_bad(
	        "{\"port_forwarding\":{\"external_port\":0}}", FWD_JSON_UPDATE, "external_port:");
}

static void test_name_valid(void **state)
{
	char long_name[FWD_NAME_MAX + 2];

	assert_true(fwd_json_name_valid("8f3c1a2e-0000-4000-8000-000000000001"));
	assert_true(fwd_json_name_valid("a.b_c-D"));
	assert_false(fwd_json_name_valid(""));
	assert_false(fwd_json_name_valid(NULL));
	assert_false(fwd_json_name_valid("a b"));
	assert_false(fwd_json_name_valid("a/b"));
	assert_false(fwd_json_name_valid("\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name));
	long_name[FWD_NAME_MAX] = '\0';
	assert_true(fwd_json_name_valid(long_name));
	long_name[FWD_NAME_MAX] = 'a';
	long_name[FWD_NAME_MAX + 1] = '\0';
	assert_false(fwd_json_name_valid(long_name));
}

static void test_write_string(void **state)
{
	struct evbuffer *b = evbuffer_new();

	assert_int_equal(json_text_write_string(b, "a\"b\\c\n\t\r\x1f\x7f\xc3\xa9"), 0);
	evbuffer_add(b, "", 1);
	assert_string_equal(
	        (char *)evbuffer_pullup(b, -1), "\"a\\\"b\\\\c\\n\\t\\r\\u001f\x7f\xc3\xa9\"");
	evbuffer_free(b);
}

static void test_text_parse(void **state)
{
	struct json_object *o;
	char why[96];

	assert_int_equal(json_text_parse("12", 2, &o, why, sizeof(why)), 0);
	assert_int_equal(json_object_get_int(o), 12);
	json_object_put(o);
	assert_int_equal(json_text_parse("{\"a\":1}\n", 8, &o, why, sizeof(why)), 0);
	json_object_put(o);
	/* Length is honoured: what follows len is not read. */
	assert_int_equal(json_text_parse("{\"a\":1}garbage", 7, &o, why, sizeof(why)), 0);
	json_object_put(o);
	assert_int_equal(json_text_parse("{\"a\":1,}", 8, &o, why, sizeof(why)), -EINVAL);
	assert_null(o);
	assert_int_equal(json_text_parse("{\"a\":1} {}", 10, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "is not valid JSON"));
	assert_int_equal(json_text_parse("\"\xc3\x28\"", 4, &o, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_render_single),
	        cmocka_unit_test(test_render_range),
	        cmocka_unit_test(test_render_formats),
	        cmocka_unit_test(test_render_array),
	        cmocka_unit_test(test_decode_roundtrip),
	        cmocka_unit_test(test_parse_create),
	        cmocka_unit_test(test_parse_create_errors),
	        cmocka_unit_test(test_parse_update),
	        cmocka_unit_test(test_name_valid),
	        cmocka_unit_test(test_write_string),
	        cmocka_unit_test(test_text_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
