/*
 * The target rules of routers.c (issue 10, defect 7): standalone addresses
 * (subnet, own, network, broadcast, /31 and /127 edge cases) and Neutron
 * port owners (compute:*, none, infrastructure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api-error.h"
#include "routers.h"

static void add_subnet(struct router_info *info, const char *addr, unsigned int prefixlen)
{
	struct cidr *c = &info->subnets[info->subnets_len++];

	assert_int_equal(addr_parse(addr, &c->addr), 0);
	c->prefixlen = prefixlen;
	info->own[info->own_len++] = c->addr;
}

static struct router_info standalone(void)
{
	struct router_info info;

	memset(&info, 0, sizeof(info));
	strcpy(info.id, "r1");
	add_subnet(&info, "10.0.0.1", 24);
	add_subnet(&info, "2001:db8:2::1", 64);
	add_subnet(&info, "10.9.0.0", 31); /* RFC 3021: both addresses are hosts */
	assert_int_equal(addr_parse("203.0.113.1", &info.gateway4), 0);
	info.own[info.own_len++] = info.gateway4;
	return info;
}

/* 0 when accepted, else the status; the code and detail are checked when want is given. */
static int check(
        const struct router_info *info, const char *text, const char *code, const char *words)
{
	struct fault err;
	struct addr a;
	int r;

	assert_int_equal(addr_parse(text, &a), 0);
	memset(&err, 0, sizeof(err));
	r = router_check_address(info, &a, "internal_ip_address", &err);
	if (r == 0)
		return 0;
	if (code != NULL)
		assert_string_equal(api_error_of(&err).code, code);
	if (words != NULL && strstr(err.detail, words) == NULL)
		fail_msg("'%s' not in '%s'", words, err.detail);
	assert_non_null(strstr(err.detail, "internal_ip_address: "));
	return api_error_of(&err).status;
}

static void test_standalone_addresses(void **state)
{
	struct router_info info = standalone();

	(void)state;
	assert_int_equal(check(&info, "10.0.0.5", NULL, NULL), 0);
	assert_int_equal(check(&info, "10.0.0.254", NULL, NULL), 0);
	assert_int_equal(check(&info, "2001:db8:2::5", NULL, NULL), 0);
	assert_int_equal(
	        check(&info, "10.0.0.1", "praas.bad_target", "address of router r1 itself"), 400);
	assert_int_equal(check(&info, "2001:db8:2::1", "praas.bad_target", "itself"), 400);
	assert_int_equal(check(&info, "10.0.0.0", "praas.bad_target",
	                         "network address of subnet 10.0.0.0/24"),
	        400);
	assert_int_equal(check(&info, "10.0.0.255", "praas.bad_target",
	                         "broadcast address of subnet 10.0.0.0/24"),
	        400);
	assert_int_equal(
	        check(&info, "2001:db8:2::", "praas.bad_target", "Subnet-Router anycast"), 400);
	/* IPv6 has no broadcast: the all-ones host is an ordinary address. */
	assert_int_equal(check(&info, "2001:db8:2::ffff:ffff:ffff:ffff", NULL, NULL), 0);
	assert_int_equal(check(&info, "10.9.0.1", NULL, NULL), 0);
	assert_int_equal(check(&info, "203.0.113.1", "praas.bad_request", "not on a subnet"), 400);
	assert_int_equal(check(&info, "192.0.2.1", "praas.bad_request", "not on a subnet"), 400);
}

static int port(const char *owner, bool admin, const char *words)
{
	struct target_port p;
	struct fault err;

	memset(&p, 0, sizeof(p));
	strcpy(p.id, "port-1");
	snprintf(p.device_owner, sizeof(p.device_owner), "%s", owner);
	assert_int_equal(addr_parse("10.0.0.2", &p.addr), 0);
	memset(&err, 0, sizeof(err));
	if (router_check_port(&p, admin, &err) == 0)
		return 0;
	assert_string_equal(api_error_of(&err).code, "praas.bad_target");
	if (words != NULL && strstr(err.detail, words) == NULL)
		fail_msg("'%s' not in '%s'", words, err.detail);
	return api_error_of(&err).status;
}

static void test_port_owners(void **state)
{
	(void)state;
	assert_int_equal(port("compute:nova", false, NULL), 0);
	assert_int_equal(port("compute:az-2", false, NULL), 0);
	assert_int_equal(port("", true, NULL), 0);
	assert_int_equal(port("", false, "only an admin"), 400);
	assert_int_equal(
	        port("network:dhcp", false, "port-1 (10.0.0.2) is a network:dhcp port"), 400);
	assert_int_equal(port("network:dhcp", true, "network:dhcp"), 400);
	assert_int_equal(port("network:router_interface", false, "network:router_interface"), 400);
	assert_int_equal(port("network:router_gateway", true, NULL), 400);
	assert_int_equal(port("network:floatingip", true, NULL), 400);
	assert_int_equal(port("computer", false, NULL), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_standalone_addresses),
	        cmocka_unit_test(test_port_owners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
