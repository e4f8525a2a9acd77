/*
 * The monitor's compact forwardings (monitor-agent/fwdset.c): a record
 * small enough for 100,000 in a few megabytes, what goes in comes back
 * out, and a chunk's records are dropped while what the routers'
 * decisions need stays.
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
 * A cycle drops each chunk's records once decided: what the routers'
 * decisions need (their external addresses) stays, the ports go, and the
 * next chunk reuses the memory.
 */
static void test_clear_records(void **state)
{
	struct forwarding in[] = {
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_TCP, 10),
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_UDP, 30),
	        fwd(ROUTER_2, "2001:db8::1", IPPROTO_TCP, 50),
	};
	struct forwarding next = fwd(ROUTER_1, "203.0.113.2", IPPROTO_TCP, 70);
	struct forwarding out;
	struct fwdset s;

	(void)state;
	fwdset_init(&s);
	assert_int_equal(fwdset_add_all(&s, in, 3), 0);
	fwdset_clear_records(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.ports.n, 0);
	assert_int_equal(fwdset_find(&s, &s.ports, PORT_A), FWDSET_NONE);
	assert_int_equal(s.routers.n, 2);
	/* The next chunk: its port is interned again, not listed yet. */
	assert_int_equal(fwdset_add(&s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ports.n, 1);
	assert_false(fwdset_port_state(&s, s.v[0].port)->listed);
	fwdset_get(&s, 0, &out);
	assert_string_equal(out.internal_port_id, PORT_A);
	assert_string_equal(out.router_id, ROUTER_1);
	fwdset_free(&s);
}

/* Every (router, external address) pair of every chunk, once, without a port. */
static void test_pairs_as_records(void **state)
{
	struct forwarding in[] = {
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_TCP, 10),
	        fwd(ROUTER_1, "203.0.113.9", IPPROTO_UDP, 30),
	        fwd(ROUTER_2, "2001:db8::1", IPPROTO_TCP, 50),
	        fwd(ROUTER_1, "203.0.113.2", IPPROTO_TCP, 70),
	        fwd(ROUTER_2, "2001:db8::1", IPPROTO_UDP, 90),
	};
	const size_t pair[3] = {0, 2, 3}; /* the distinct pairs of in */
	bool seen[3] = {false, false, false};
	struct forwarding out;
	struct fwdset s;

	(void)state;
	fwdset_init(&s);
	assert_int_equal(fwdset_add_all(&s, in, 3), 0);
	fwdset_clear_records(&s);
	assert_int_equal(fwdset_add_all(&s, in + 3, 2), 0);
	assert_int_equal(fwdset_pairs_as_records(&s), 0);
	assert_int_equal(s.n, 3);
	for (size_t i = 0; i < s.n; i++) {
		fwdset_get(&s, i, &out);
		assert_int_equal(s.v[i].port, FWDSET_NONE);
		assert_string_equal(out.internal_port_id, "");
		for (size_t k = 0; k < 3; k++)
			if (addr_equal(&out.external_addr, &in[pair[k]].external_addr) &&
			        strcmp(out.router_id, in[pair[k]].router_id) == 0) {
				assert_false(seen[k]);
				seen[k] = true;
			}
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	fwdset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_record_size),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_bad_id),
	        cmocka_unit_test(test_clear_records),
	        cmocka_unit_test(test_pairs_as_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
