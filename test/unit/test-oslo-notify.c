/*
 * Neutron's notifications read (lib/oslo-notify.c) and oslo's
 * transport_url (lib/transport-url.c): the payloads below are the shapes
 * the loopback Neutron (Zed) sent, captured from its bus, and older ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oslo-notify.h"
#include "transport-url.h"

#define PORT   "4b87e22e-7841-46de-8392-ed4e9c124cce"
#define ROUTER "3ff057a2-cea8-4bc4-b7c7-26f40bbfd924"

static int parse(const char *body, struct oslo_event *ev, char **cause)
{
	return oslo_notify_parse(body, strlen(body), ev, cause);
}

static void expect_event(const char *body, enum oslo_event_kind kind, const char *id)
{
	struct oslo_event ev;
	char *cause = NULL;

	assert_int_equal(parse(body, &ev, &cause), 0);
	assert_null(cause);
	assert_int_equal(ev.kind, kind);
	assert_string_equal(ev.id, id);
}

static void expect_invalid(const char *body, const char *words)
{
	struct oslo_event ev;
	char *cause = NULL;

	assert_int_equal(parse(body, &ev, &cause), -EINVAL);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, words);
	assert_int_equal(ev.kind, OSLO_EVENT_OTHER);
	free(cause);
}

static void test_envelope(void **state)
{
	expect_event("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"event_type\\\": "
	             "\\\"port.delete.end\\\", \\\"payload\\\": {\\\"port\\\": {\\\"id\\\": "
	             "\\\"" PORT "\\\", \\\"name\\\": \\\"\\\"}}}\"}",
	        OSLO_EVENT_PORT, PORT);
	/* The older driver (messaging): the message itself. */
	expect_event("{\"event_type\": \"port.delete.end\", \"payload\": {\"port_id\": \"" PORT
	             "\"}}",
	        OSLO_EVENT_PORT, PORT);
}

static void test_followed(void **state)
{
	expect_event(
	        "{\"event_type\": \"port.update.end\", \"payload\": {\"port\": {\"id\": \"" PORT
	        "\", \"fixed_ips\": []}}}",
	        OSLO_EVENT_PORT, PORT);
	expect_event("{\"event_type\": \"router.update.end\", \"payload\": {\"router\": {\"id\": "
	             "\"" ROUTER "\", \"external_gateway_info\": null}}}",
	        OSLO_EVENT_ROUTER, ROUTER);
	expect_event(
	        "{\"event_type\": \"router.delete.end\", \"payload\": {\"router_id\": \"" ROUTER
	        "\"}}",
	        OSLO_EVENT_ROUTER, ROUTER);
	expect_event("{\"event_type\": \"router.interface.delete\", \"payload\": "
	             "{\"router_interface\": {\"id\": \"" ROUTER "\", \"port_id\": \"" PORT "\"}}}",
	        OSLO_EVENT_ROUTER, ROUTER);
	expect_event("{\"event_type\": \"router.interface.delete.end\", \"payload\": "
	             "{\"router_interface\": {\"id\": \"" ROUTER "\"}}}",
	        OSLO_EVENT_ROUTER, ROUTER);
}

static void test_unfollowed(void **state)
{
	struct oslo_event ev;

	assert_int_equal(
	        parse("{\"event_type\": \"port.create.end\", \"payload\": {}}", &ev, NULL), 0);
	assert_int_equal(ev.kind, OSLO_EVENT_OTHER);
	assert_string_equal(ev.type, "port.create.end");
	/* A .start says nothing has happened yet. */
	assert_int_equal(
	        parse("{\"event_type\": \"port.delete.start\", \"payload\": {\"port_id\": \"" PORT
	              "\"}}",
	                &ev, NULL),
	        0);
	assert_int_equal(ev.kind, OSLO_EVENT_OTHER);
}

static void test_malformed(void **state)
{
	char big[OSLO_NOTIFY_MAX_BODY + 2];
	struct oslo_event ev;
	char *cause = NULL;

	expect_invalid("not json", "the body");
	expect_invalid("[1, 2]", "not a JSON object");
	expect_invalid("{\"oslo.message\": 42}", "oslo.message is not a string");
	expect_invalid("{\"oslo.message\": \"{\\\"event_type\\\": 7\"}", "oslo.message");
	expect_invalid("{\"payload\": {}}", "no event_type");
	expect_invalid(
	        "{\"event_type\": \"port.delete.end\", \"payload\": []}", "no payload object");
	expect_invalid("{\"event_type\": \"port.delete.end\", \"payload\": {\"port\": {}}}",
	        "names no id");
	expect_invalid("{\"event_type\": \"port.delete.end\", \"payload\": {\"port_id\": "
	               "\"../../x\"}}",
	        "the id is not");
	expect_invalid(
	        "{\"event_type\": \"router.delete.end\", \"payload\": {\"router_id\": \"\"}}",
	        "the id is not");
	expect_invalid("{\"event_type\": \"port.delete.end\", \"payload\": {\"port_id\": "
	               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
	        "the id is not");
	expect_invalid("{\"event_type\": \"x\"} trailing", "the body");
	memset(big, ' ', sizeof(big));
	assert_int_equal(oslo_notify_parse(big, sizeof(big), &ev, &cause), -EINVAL);
	assert_non_null(strstr(cause, "larger than"));
	free(cause);
}

static void test_url(void **state)
{
	struct transport_url u;
	char *cause = NULL;

	assert_int_equal(transport_url_parse("rabbit://praas:s%40cret@10.0.0.1:5673,"
	                                     "other:pw@[2001:db8::2],10.0.0.3/prod%2Fvhost?ssl=1",
	                         &u, &cause),
	        0);
	assert_int_equal(u.n, 3);
	assert_string_equal(u.hosts[0].user, "praas");
	assert_string_equal(u.hosts[0].password, "s@cret");
	assert_string_equal(u.hosts[0].host, "10.0.0.1");
	assert_int_equal(u.hosts[0].port, 5673);
	assert_string_equal(u.hosts[1].host, "2001:db8::2");
	assert_int_equal(u.hosts[1].port, 5672);
	/* Without credentials: the previous host's (oslo's reading). */
	assert_string_equal(u.hosts[2].user, "other");
	assert_string_equal(u.hosts[2].password, "pw");
	assert_string_equal(u.vhost, "prod/vhost");
	transport_url_free(&u);

	assert_int_equal(transport_url_parse("rabbit://a:b@h:1/", &u, NULL), 0);
	assert_string_equal(u.vhost, "/");
	transport_url_free(&u);
	assert_int_equal(transport_url_parse("amqp://a:b@h", &u, NULL), 0);
	assert_string_equal(u.vhost, "/");
	assert_int_equal(u.hosts[0].port, 5672);
	transport_url_free(&u);
}

static void expect_bad_url(const char *text, const char *words)
{
	struct transport_url u;
	char *cause = NULL;

	assert_int_equal(transport_url_parse(text, &u, &cause), -EINVAL);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, words);
	assert_null(strstr(cause, "s3cret")); /* a password is never quoted */
	assert_int_equal(u.n, 0);
	free(cause);
}

static void test_bad_url(void **state)
{
	expect_bad_url("http://a:s3cret@h/", "not rabbit://");
	expect_bad_url("rabbit://h:5672/", "no USER:PASS@");
	expect_bad_url("rabbit:///", "no host");
	expect_bad_url("rabbit://a:s3cret@h:0/", "not 1-65535");
	expect_bad_url("rabbit://a:s3cret@h:65536/", "not 1-65535");
	expect_bad_url("rabbit://a:s3cret@h:12x/", "not 1-65535");
	expect_bad_url("rabbit://a:s3cret@[::1/", "lacks its ']'");
	expect_bad_url("rabbit://a:s3cret@h:1,/", "a host is empty");
	expect_bad_url("rabbit://a%zz:s3cret@h/", "%-escape");
	expect_bad_url("rabbit://a%00:s3cret@h/", "%-escape");
	expect_bad_url("rabbit://a:s3cret@h/v%2", "%-escape");
	expect_bad_url("rabbit://as3cret@h/", "USER:PASS");
	expect_bad_url("rabbit://a:s3cret@h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h/", "more than 16");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_envelope),
	        cmocka_unit_test(test_followed),
	        cmocka_unit_test(test_unfollowed),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_url),
	        cmocka_unit_test(test_bad_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
