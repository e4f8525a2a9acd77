/*
 * keepalived.conf as Neutron's L3 agent writes it for an HA router: the
 * qg- and qr- addresses of both VIP blocks, those without a device left
 * out, and every malformed input refused with the line that is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keepalived-conf.h"

/* The shape of neutron/agent/linux/keepalived.py's output (Zed). */
static const char neutron_conf[] =
        "global_defs {\n"
        "    notification_email_from neutron@openstack.local\n"
        "    router_id neutron\n"
        "}\n"
        "vrrp_instance VR_1 {\n"
        "    state BACKUP\n"
        "    interface ha-8e4d1b3c-9a\n"
        "    virtual_router_id 1\n"
        "    priority 50\n"
        "    garp_master_delay 60\n"
        "    nopreempt\n"
        "    advert_int 2\n"
        "    track_interface {\n"
        "        ha-8e4d1b3c-9a\n"
        "    }\n"
        "    virtual_ipaddress {\n"
        "        169.254.0.1/24 dev ha-8e4d1b3c-9a\n"
        "    }\n"
        "    virtual_ipaddress_excluded {\n"
        "        10.0.0.1/24 dev qr-0d1f7a6b-3c\n"
        "        203.0.113.5/24 dev qg-5b9e2c41-7d\n"
        "        2001:db8:1::5/64 dev qg-5b9e2c41-7d\n"
        "        fe80::f816:3eff:fe3b:1/64 dev qr-0d1f7a6b-3c scope link\n"
        "    }\n"
        "    virtual_routes {\n"
        "        0.0.0.0/0 via 203.0.113.254 dev qg-5b9e2c41-7d\n"
        "    }\n"
        "}\n";

static int parse(const char *text, struct iface_addr **v, size_t *n, char **cause)
{
	return keepalived_conf_parse(text, strlen(text), v, n, cause);
}

static void test_neutron_shape(void **state)
{
	struct iface_addr *v = NULL;
	char *cause = NULL, buf[ADDR_STRLEN];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse(neutron_conf, &v, &n, &cause), 0);
	assert_null(cause);
	/* The ha- VIP, three excluded ones, and the link-local one; no route. */
	assert_int_equal(n, 5);
	assert_string_equal(v[0].ifname, "ha-8e4d1b3c-9a");
	assert_string_equal(v[1].ifname, "qr-0d1f7a6b-3c");
	assert_string_equal(addr_format(&v[1].net.addr, buf, sizeof(buf)), "10.0.0.1");
	assert_int_equal(v[1].net.prefixlen, 24);
	assert_string_equal(v[2].ifname, "qg-5b9e2c41-7d");
	assert_string_equal(addr_format(&v[2].net.addr, buf, sizeof(buf)), "203.0.113.5");
	assert_string_equal(addr_format(&v[3].net.addr, buf, sizeof(buf)), "2001:db8:1::5");
	assert_int_equal(v[3].net.prefixlen, 64);
	free(v);
}

static void test_layouts(void **state)
{
	struct iface_addr *v = NULL;
	char *cause = NULL;
	size_t n = 0;

	(void)state;
	/* Braces glued to words, entries on the brace's line, comments, CRLF. */
	assert_int_equal(parse("vrrp_instance X{virtual_ipaddress_excluded{203.0.113.9/24 dev "
	                       "qg-a # the gateway\r\n192.0.2.1 dev qr-b}}\n! done",
	                         &v, &n, &cause),
	        0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].ifname, "qg-a");
	assert_string_equal(v[1].ifname, "qr-b");
	assert_int_equal(v[1].net.prefixlen, 32); /* a bare address is a host prefix */
	free(v);
	/* Without dev: keepalived's own interface, never qg-/qr-: left out. */
	assert_int_equal(parse("virtual_ipaddress {\n 203.0.113.9/24\n}\n", &v, &n, &cause), 0);
	assert_int_equal(n, 0);
	free(v);
	/* Addresses outside the VIP blocks are not VIPs. */
	assert_int_equal(parse("virtual_routes {\n 0.0.0.0/0 via 203.0.113.1 dev qg-a\n}\n"
	                       "unicast_peer {\n 169.254.192.2\n}\n",
	                         &v, &n, &cause),
	        0);
	assert_int_equal(n, 0);
	free(v);
	/* An empty file, and one with only comments. */
	assert_int_equal(parse("", &v, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("# nothing\n", &v, &n, &cause), 0);
	assert_int_equal(n, 0);
}

static void refused_len(const char *text, size_t len, const char *words)
{
	struct iface_addr *v = (struct iface_addr *)0x1;
	char *cause = NULL;
	size_t n = 7;

	assert_int_equal(keepalived_conf_parse(text, len, &v, &n, &cause), -EINVAL);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("'%s' does not say '%s'", cause, words);
	assert_null(v);
	assert_int_equal(n, 0);
	free(cause);
}

static void refused(const char *text, const char *words)
{
	refused_len(text, strlen(text), words);
}

static void test_refused(void **state)
{
	(void)state;
	refused("virtual_ipaddress {\n 203.0.113.300/24 dev qg-a\n}\n",
	        "line 2: '203.0.113.300/24'");
	refused("virtual_ipaddress {\n 203.0.113.3/33 dev qg-a\n}\n", "not an address");
	refused("virtual_ipaddress {\n 203.0.113.3/24 dev\n}\n", "line 2: 'dev' without");
	refused("virtual_ipaddress {\n 203.0.113.3/24 dev qg-0123456789abcdef\n}\n",
	        "longer than 15 bytes");
	refused("}\n", "line 1: '}' closes nothing");
	refused("vrrp_instance X {\n virtual_ipaddress {\n", "2 braces left open");
	refused("a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7\n",
	        "more than 32 words");
	refused_len("x\0y\n", 4, "line 1: a NUL byte");
}

static void test_too_many(void **state)
{
	size_t cap = (KEEPALIVED_CONF_MAX_VIPS + 2) * 32 + 64, len = 0;
	char *text = malloc(cap), *cause = NULL;
	struct iface_addr *v = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "virtual_ipaddress {\n");
	for (int i = 0; i <= KEEPALIVED_CONF_MAX_VIPS; i++)
		len += (size_t)snprintf(
		        text + len, cap - len, "10.%d.%d.1/24 dev qr-a\n", i / 256, i % 256);
	len += (size_t)snprintf(text + len, cap - len, "}\n");
	assert_int_equal(keepalived_conf_parse(text, len, &v, &n, &cause), -EINVAL);
	assert_non_null(strstr(cause, "more than 4096 addresses"));
	free(cause);
	free(text);
}

static void test_read(void **state)
{
	char dir[] = "/tmp/praas-kaconf-XXXXXX", path[64], *cause = NULL;
	struct iface_addr *v = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keepalived.conf", dir);
	/* Absent: not an HA router. No cause. */
	assert_int_equal(keepalived_conf_read(path, &v, &n, &cause), -ENOENT);
	assert_null(cause);
	assert_non_null(f = fopen(path, "w"));
	fputs(neutron_conf, f);
	fclose(f);
	assert_int_equal(keepalived_conf_read(path, &v, &n, &cause), 0);
	assert_int_equal(n, 5);
	free(v);
	/* A parse error names the file. */
	assert_non_null(f = fopen(path, "w"));
	fputs("virtual_ipaddress {\n nonsense dev qg-a\n}\n", f);
	fclose(f);
	assert_int_equal(keepalived_conf_read(path, &v, &n, &cause), -EINVAL);
	assert_non_null(strstr(cause, path));
	assert_non_null(strstr(cause, "line 2"));
	free(cause);
	cause = NULL;
	/* Over the cap: refused before it is read. */
	assert_int_equal(truncate(path, KEEPALIVED_CONF_MAX + 1), 0);
	assert_int_equal(keepalived_conf_read(path, &v, &n, &cause), -EFBIG);
	assert_non_null(strstr(cause, "larger than"));
	free(cause);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_neutron_shape),
	        cmocka_unit_test(test_layouts),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_too_many),
	        cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
