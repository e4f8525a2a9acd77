/*
 * The monitor's compact forwardings (monitor-agent/fwdset.c): a record
 * small enough for 100,000 in a few megabytes, what goes in comes back
 * out, and the sort puts each router's records in the order of its
 * table's elements (external address, protocol, port), which the kernel
 * compare streams in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fwdset.h"

#define ROUTER_1 "11111111-1111-4111-8111-111111111111"
#define ROUTER_2 "22222222-2222-4222-8222-222222222222"
#define PORT_A   "0a0a0a0a-0000-4000-8000-00000000000a"

static struct forwarding fwd(const char *router, const char *gw, int protocol, uint16_t port)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "f0000000-0000-4000-8000-%012u", (unsigned)port);
	snprintf(f.router_id, sizeof(f.router_id), "%s", router);
	snprintf(f.internal_port_id, sizeof(f.internal_port_id), "%s", PORT_A);
	assert_int_equal(addr_parse(gw, &f.external_addr), 0);
	assert_int_equal(addr_parse("10.0.0.5", &f.internal_addr), 0);
	f.protocol = (uint8_t)protocol;
	f.masquerade = port % 2 == 0;
	f.external = (struct port_range){port, port};
	f.internal = (struct port_range){22, 22};
	return f;
}

/*
 * 40 bytes a record (it was 68 with the id and both addresses inline):
 * 100,000 forwardings take 4 MB of records.
 */
static void test_record_size(void **state)
{
	(void)state;
	assert_true(sizeof(struct fwdset_rec) <= 40);
}

/* Every field the monitor uses comes back; the external addresses are shared. */
static void test_round_trip(void **state)
{
	struct forwarding in[3] = {
	        fwd(ROUTER_1, "203.0.113.5", IPPROTO_TCP, 8080),
	        fwd(ROUTER_1, "203.0.113.5", IPPROTO_UDP, 8081),
	        fwd(ROUTER_2, "2001:db8::7", IPPROTO_TCP, 443),
	};
	struct fwdset s;
	struct forwarding out;

	(void)state;
	in[1].internal = (struct port_range){1000, 1000};
	in[1].internal_port_id[0] = '\0';
	fwdset_init(&s);
	assert_int_equal(fwdset_add_all(&s, in, 3), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.exts.n, 2); /* one per distinct external address */
	for (size_t i = 0; i < 3; i++) {
		fwdset_get(&s, i, &out);
		assert_string_equal(out.router_id, in[i].router_id);
		assert_string_equal(out.internal_port_id, in[i].internal_port_id);
		assert_true(addr_equal(&out.external_addr, &in[i].external_addr));
		assert_true(addr_equal(&out.internal_addr, &in[i].internal_addr));
		assert_int_equal(out.protocol, in[i].protocol);
		assert_int_equal(out.masquerade, in[i].masquerade);
		assert_memory_equal(&out.external, &in[i].external, sizeof(out.external));
		assert_memory_equal(&out.internal, &in[i].internal, sizeof(out.internal));
	}
	fwdset_free(&s);
}

static void test_bad_id(void **state)
{
	struct forwarding f = fwd(ROUTER_1, "203.0.113.5", IPPROTO_TCP, 80);
	struct fwdset s;

	(void)state;
	snprintf(f.id, sizeof(f.id), "not-a-uuid");
	fwdset_init(&s);
	assert_int_equal(fwdset_add(&s, &f), -EINVAL);
	assert_int_equal(s.n, 0);
	fwdset_free(&s);
}

/*
 * A router's run is ordered by external address (by its bytes, whatever
 * order the addresses were interned in), then protocol, then port.
 */
static void test_sort(void **state)
{
	struct forwarding in[] = {
	        fwd(ROUTER_2, "203.0.113.9", IPPROTO_TCP, 10),
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_UDP, 30),
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_TCP, 50),
	        fwd(ROUTER_1, "203.0.113.2", IPPROTO_UDP, 70),
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_TCP, 20),
	        fwd(ROUTER_1, "203.0.113.2", IPPROTO_TCP, 90),
	        fwd(ROUTER_1, "203.0.113.10", IPPROTO_TCP, 5),
	};
	/* ROUTER_1's, expected: .2 tcp 90, .2 udp 70, .9 tcp 20, .9 tcp 50, .9 udp 30, .10 tcp 5 */
	const uint16_t want[] = {90, 70, 20, 50, 30, 5};
	const struct fwdset_rec *run;
	struct fwdset s;
	size_t len;

	(void)state;
	fwdset_init(&s);
	assert_int_equal(fwdset_add_all(&s, in, sizeof(in) / sizeof(in[0])), 0);
	fwdset_sort(&s);
	run = fwdset_router_run(&s, fwdset_find(&s, &s.routers, ROUTER_1), &len);
	assert_int_equal(len, 6);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(run[i].external.lo, want[i]);
	run = fwdset_router_run(&s, fwdset_find(&s, &s.routers, ROUTER_2), &len);
	assert_int_equal(len, 1);
	assert_int_equal(run[0].external.lo, 10);
	fwdset_free(&s);
}

/* 100,000 records in random order come out sorted (the heapsort's bounds). */
static void test_sort_many(void **state)
{
	struct fwdset s;
	struct forwarding f;
	uint32_t x = 12345;

	(void)state;
	fwdset_init(&s);
	for (unsigned i = 0; i < 100000; i++) {
		x = x * 1103515245u + 12345u;
		f = fwd((x >> 16) % 3 ? ROUTER_1 : ROUTER_2,
		        (x >> 8) % 2 ? "203.0.113.5" : "2001:db8::1",
		        (x >> 4) % 2 ? IPPROTO_TCP : IPPROTO_UDP, (uint16_t)(x >> 16));
		assert_int_equal(fwdset_add(&s, &f), 0);
	}
	fwdset_sort(&s);
	for (size_t i = 1; i < s.n; i++) {
		struct forwarding a, b;
		fwdset_get(&s, i - 1, &a);
		fwdset_get(&s, i, &b);
		if (s.v[i - 1].router != s.v[i].router) {
			assert_true(s.v[i - 1].router < s.v[i].router);
			continue;
		}
		if (a.external_addr.family != b.external_addr.family) {
			assert_true(a.external_addr.family < b.external_addr.family);
			continue;
		}
		if (a.protocol != b.protocol) {
			assert_true(a.protocol < b.protocol);
			continue;
		}
		assert_true(a.external.lo <= b.external.lo);
	}
	fwdset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_record_size),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_bad_id),
	        cmocka_unit_test(test_sort),
	        cmocka_unit_test(test_sort_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
