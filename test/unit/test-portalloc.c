/*
 * lib/portalloc: round-robin order, wrap, exhaustion, runs of ports,
 * independence of keys, consistency with the store across rollbacks and
 * updates, a randomized check against a naive model, and the cost with
 * 60,000 ports taken.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "portalloc.h"
#include "store-util.h"
#include "store.h"

#define R1 "11111111-1111-4111-8111-111111111111"
#define R2 "22222222-2222-4222-8222-222222222222"
#define GW "203.0.113.10"

struct ctx {
	struct tmpdb db;
	struct store *s;
	struct portalloc *pa;
	struct addr gw;
	unsigned int vm; /* next internal address, so inserts never conflict inside */
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || tmpdb_make(&c->db) < 0 || store_open(c->db.path, &c->s, NULL) < 0 ||
	        addr_parse(GW, &c->gw) < 0)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	portalloc_free(c->pa);
	store_close(c->s);
	tmpdb_remove(&c->db);
	free(c);
	return 0;
}

static void new_alloc(struct ctx *c, uint16_t lo, uint16_t hi)
{
	struct port_range r = {lo, hi};

	portalloc_free(c->pa);
	c->pa = NULL;
	assert_int_equal(portalloc_new(c->s, &r, &c->pa), 0);
}

/* A TCP forwarding on router to a fresh VM address, external ext. */
static struct forwarding fwd_to_vm(
        struct ctx *c, const char *router, const char *gw, uint8_t proto, struct port_range ext)
{
	char in[32];
	unsigned int n = c->vm++;

	snprintf(in, sizeof(in), "10.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255, n & 255);
	return fwd_make(router, gw, proto, ext.lo, ext.hi, in, 22, 22);
}

static void insert_ok(struct ctx *c, struct forwarding *f)
{
	char *cause = NULL;
	int r = store_insert(c->s, f, NULL, &cause);

	if (r < 0)
		fail_msg("store_insert: %d %s", r, cause ? cause : "");
}

static struct forwarding put(struct ctx *c, uint16_t lo, uint16_t hi)
{
	struct forwarding f = fwd_to_vm(c, R1, GW, IPPROTO_TCP, (struct port_range){lo, hi});

	insert_ok(c, &f);
	return f;
}

/* Finds count ports on R1/GW/tcp; returns the first or -errno. */
static int find(struct ctx *c, unsigned int count)
{
	struct port_range out;
	char *cause = NULL;
	int r;

	r = portalloc_find(c->pa, R1, &c->gw, IPPROTO_TCP, count, &out, &cause);
	if (r < 0) {
		assert_non_null(cause);
		free(cause);
		return r;
	}
	assert_int_equal(out.hi - out.lo + 1, count);
	return out.lo;
}

/* Finds one port and takes it. */
static int take(struct ctx *c)
{
	int p = find(c, 1);

	if (p > 0)
		put(c, (uint16_t)p, (uint16_t)p);
	return p;
}

static void test_exhaustion(void **state)
{
	struct ctx *c = *state;
	struct port_range out;
	char *cause = NULL;

	new_alloc(c, 4000, 4004);
	for (int p = 4000; p <= 4004; p++)
		assert_int_equal(take(c), p);
	assert_int_equal(portalloc_find(c->pa, R1, &c->gw, IPPROTO_TCP, 1, &out, &cause), -ENOSPC);
	assert_non_null(strstr(cause, "4000:4004"));
	free(cause);
	assert_int_equal(find(c, 1), -ENOSPC); /* and again: no state was damaged */
	assert_int_equal(find(c, 0), -EINVAL);
}

static void test_round_robin_and_wrap(void **state)
{
	struct ctx *c = *state;
	struct forwarding first;
	char id[FWD_ID_LEN + 1];

	new_alloc(c, 4000, 4004);
	assert_int_equal(find(c, 1), 4000);
	first = put(c, 4000, 4000);
	memcpy(id, first.id, sizeof(id));
	assert_int_equal(take(c), 4001);
	assert_int_equal(store_delete(c->s, id, NULL, NULL), 0);
	/* 4000 is free again but the search goes on from 4002. */
	assert_int_equal(take(c), 4002);
	assert_int_equal(take(c), 4003);
	assert_int_equal(take(c), 4004);
	assert_int_equal(take(c), 4000); /* wrapped */
	assert_int_equal(find(c, 1), -ENOSPC);
}

static void test_chosen_ports_skipped(void **state)
{
	struct ctx *c = *state;

	new_alloc(c, 4000, 4009);
	put(c, 3990, 4000); /* before the key is built: read from the store */
	assert_int_equal(take(c), 4001);
	put(c, 4002, 4003); /* after: seen through the store hook */
	assert_int_equal(take(c), 4004);
	put(c, 4008, 4100); /* reaching out of router_port_range */
	assert_int_equal(take(c), 4005);
	assert_int_equal(take(c), 4006);
	assert_int_equal(take(c), 4007);
	assert_int_equal(find(c, 1), -ENOSPC);
}

static void test_rollback_no_leak(void **state)
{
	struct ctx *c = *state;
	struct forwarding f, g;
	int p;

	new_alloc(c, 4000, 4000);
	/* kernel refused: the insert is rolled back, the port is free */
	assert_int_equal(store_begin(c->s, NULL), 0);
	assert_int_equal(take(c), 4000);
	assert_int_equal(find(c, 1), -ENOSPC); /* taken inside the transaction */
	assert_int_equal(store_rollback(c->s, NULL), 0);
	assert_int_equal(find(c, 1), 4000);

	/* refused by the store (internal port in use): nothing taken either */
	g = put(c, 5000, 5000); /* outside the range */
	p = find(c, 1);
	assert_int_equal(p, 4000);
	f = fwd_make(R1, GW, IPPROTO_TCP, (uint16_t)p, (uint16_t)p, "10.0.0.0", 22, 22);
	f.internal_addr = g.internal_addr;
	assert_int_equal(store_insert(c->s, &f, NULL, NULL), -EEXIST);
	assert_int_equal(find(c, 1), 4000);

	/* committed: taken */
	assert_int_equal(store_begin(c->s, NULL), 0);
	assert_int_equal(take(c), 4000);
	assert_int_equal(store_commit(c->s, NULL), 0);
	assert_int_equal(find(c, 1), -ENOSPC);
}

static void test_ranges(void **state)
{
	struct ctx *c = *state;

	new_alloc(c, 4000, 4009);
	put(c, 4001, 4001);
	put(c, 4005, 4005);
	assert_int_equal(find(c, 3), 4006); /* the search starts after the newest */
	put(c, 4006, 4008);
	assert_int_equal(find(c, 3), 4002); /* wrapped: 4000 alone is too short */
	put(c, 4002, 4004);
	/* free: 4000 and 4009 */
	assert_int_equal(find(c, 2), -ENOSPC);
	assert_int_equal(find(c, 1), 4009);
	assert_int_equal(find(c, 1), 4000); /* not reserved: finds move on regardless */
	assert_int_equal(find(c, 11), -ENOSPC);
	new_alloc(c, 4000, 4009);
	assert_int_equal(find(c, 10), -ENOSPC);

	/* a whole range that is free */
	new_alloc(c, 1, 65535);
	assert_int_equal(find(c, 65535 - 4008), 4009);
}

static void test_keys_independent(void **state)
{
	struct ctx *c = *state;
	struct port_range out;
	struct forwarding f;
	struct addr v6;

	new_alloc(c, 4000, 4000);
	assert_int_equal(take(c), 4000);
	assert_int_equal(find(c, 1), -ENOSPC);
	assert_int_equal(portalloc_find(c->pa, R1, &c->gw, IPPROTO_UDP, 1, &out, NULL), 0);
	assert_int_equal(out.lo, 4000);
	assert_int_equal(portalloc_find(c->pa, R2, &c->gw, IPPROTO_TCP, 1, &out, NULL), 0);
	assert_int_equal(addr_parse("2001:db8::1", &v6), 0);
	assert_int_equal(portalloc_find(c->pa, R1, &v6, IPPROTO_TCP, 1, &out, NULL), 0);
	f = fwd_make(R1, "2001:db8::1", IPPROTO_TCP, 4000, 4000, "2001:db8:1::5", 22, 22);
	insert_ok(c, &f);
	assert_int_equal(portalloc_find(c->pa, R1, &v6, IPPROTO_TCP, 1, &out, NULL), -ENOSPC);
	assert_int_equal(portalloc_find(c->pa, R1, &c->gw, IPPROTO_UDP, 1, &out, NULL), 0);
}

static void test_update_moves(void **state)
{
	struct ctx *c = *state;
	struct forwarding f;

	new_alloc(c, 4000, 4001);
	assert_int_equal(find(c, 1), 4000);
	f = put(c, 4000, 4000);
	assert_int_equal(take(c), 4001);
	assert_int_equal(find(c, 1), -ENOSPC);
	f.external.lo = f.external.hi = 6000; /* moved out of the range */
	assert_int_equal(store_update(c->s, &f, NULL, NULL), 0);
	assert_int_equal(find(c, 1), 4000);
	f.external.lo = f.external.hi = 4000; /* and back */
	assert_int_equal(store_update(c->s, &f, NULL, NULL), 0);
	assert_int_equal(find(c, 1), -ENOSPC);
}

static void test_cursor_after_restart(void **state)
{
	struct ctx *c = *state;
	struct forwarding f;

	f = fwd_to_vm(c, R1, GW, IPPROTO_TCP, (struct port_range){4005, 4005});
	f.created_at = 100;
	insert_ok(c, &f);
	f = fwd_to_vm(c, R1, GW, IPPROTO_TCP, (struct port_range){4002, 4002});
	f.created_at = 200;
	insert_ok(c, &f);
	new_alloc(c, 4000, 4009);
	assert_int_equal(find(c, 1), 4003); /* after the newest, not the highest */
}

/*
 * Random takes and frees against a naive model of round-robin allocation
 * (scan from the cursor, wrap once), over ranges of one, two and three
 * bitmap levels. With blocks, 990 of every 1,000 ports start out taken by
 * forwardings the model never frees, so summary words fill and empty.
 */
static void random_vs_model(
        struct ctx *c, uint16_t lo, uint16_t hi, int ops, bool blocks, unsigned int seed)
{
	unsigned int len = (unsigned int)hi - lo + 1, cursor = 0, used = 0;
	char(*ids)[FWD_ID_LEN + 1] = calloc(len, sizeof(*ids));
	bool *taken = calloc(len, sizeof(bool));

	assert_non_null(ids);
	assert_non_null(taken);
	new_alloc(c, lo, hi);
	assert_int_equal(store_begin(c->s, NULL), 0);
	for (unsigned int b = 0; blocks && b + 990 <= len; b += 1000) {
		put(c, (uint16_t)(lo + b), (uint16_t)(lo + b + 989));
		memset(taken + b, 1, 990);
		cursor = b + 990; /* the allocator starts after the newest forwarding */
	}
	srandom(seed);
	for (int op = 0; op < ops; op++) {
		unsigned int i, want = len;
		struct forwarding f;

		if (used > 0 && random() % 10 < 2) {
			/* free a random port this loop took */
			for (i = (unsigned int)random() % len; ids[i][0] == '\0'; i = (i + 1) % len)
				;
			assert_int_equal(store_delete(c->s, ids[i], NULL, NULL), 0);
			ids[i][0] = '\0';
			taken[i] = false;
			used--;
			continue;
		}
		for (unsigned int k = 0; k < len; k++) {
			if (!taken[(cursor + k) % len]) {
				want = (cursor + k) % len;
				break;
			}
		}
		if (want == len) {
			assert_int_equal(find(c, 1), -ENOSPC);
			continue;
		}
		assert_int_equal(find(c, 1), lo + want);
		f = put(c, (uint16_t)(lo + want), (uint16_t)(lo + want));
		memcpy(ids[want], f.id, sizeof(ids[0]));
		taken[want] = true;
		used++;
		cursor = (want + 1) % len;
	}
	assert_int_equal(store_commit(c->s, NULL), 0);
	free(ids);
	free(taken);
}

static void test_random_small(void **state)
{
	random_vs_model(*state, 4000, 4040, 400, false, 1); /* one level */
}

static void test_random_medium(void **state)
{
	random_vs_model(*state, 100, 3000, 4000, false, 2); /* two levels */
}

static void test_random_large(void **state)
{
	random_vs_model(*state, 1, 65535, 2000, true, 3); /* three levels, nearly full */
}

/*
 * 60,000 of 65,535 ports taken, the free ones scattered: each of the
 * remaining 5,535 allocations reads a bounded number of bitmap words.
 */
static void test_scale(void **state)
{
	struct ctx *c = *state;
	unsigned long before, steps, worst = 0;
	unsigned int allocated = 0;
	int p;

	new_alloc(c, 1, 65535);
	assert_int_equal(store_begin(c->s, NULL), 0);
	for (unsigned int b = 0; b < 59; b++)
		put(c, (uint16_t)(1 + b * 1000), (uint16_t)(1000 + b * 1000));
	for (unsigned int i = 0; i < 1000; i++)
		put(c, (uint16_t)(59001 + 6 * i), (uint16_t)(59001 + 6 * i));
	assert_int_equal(store_commit(c->s, NULL), 0);

	/* The first use builds the key from the store (one pass), then a run of 6. */
	assert_int_equal(find(c, 6), 64996);
	for (;;) {
		before = portalloc_steps(c->pa);
		p = find(c, 1);
		steps = portalloc_steps(c->pa) - before;
		if (steps > worst)
			worst = steps;
		if (p < 0)
			break;
		put(c, (uint16_t)p, (uint16_t)p);
		allocated++;
	}
	assert_int_equal(p, -ENOSPC);
	assert_int_equal(allocated, 65535 - 60000);
	print_message("# at most %lu bitmap words read per allocation\n", worst);
	/*
	 * At most two passes (before and after the wrap), each up three
	 * levels, down two and one check of the run: never a walk of the range.
	 */
	assert_true(worst <= 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_round_robin_and_wrap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chosen_ports_skipped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rollback_no_leak, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keys_independent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_update_moves, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cursor_after_restart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_random_small, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_random_medium, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_random_large, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
