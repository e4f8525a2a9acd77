/*
 * The monitor's decisions (monitor-agent/decide.c) and its backoff
 * (monitor_next_delay): given forwardings and what Neutron listed, the
 * changes it would report. Listings are built by hand; nothing is sent.
 *
 * strcmp is wrapped (-Wl,--wrap=strcmp) to count comparisons, so the
 * 10,000-forwarding cases prove the cost is O(N log N), not O(N^2),
 * whatever the machine's speed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "decide.h"
#include "monitor.h"
#include "neutron.h"

/* ---- strcmp counter ---- */

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);
static unsigned long strcmp_calls;

int __wrap_strcmp(const char *a, const char *b)
{
	strcmp_calls++;
	return __real_strcmp(a, b);
}

/* ---- fixtures ---- */

#define PORT_A   "0a0a0a0a-0000-4000-8000-00000000000a"
#define PORT_B   "0b0b0b0b-0000-4000-8000-00000000000b"
#define ROUTER_1 "11111111-1111-4111-8111-111111111111"
#define ROUTER_2 "22222222-2222-4222-8222-222222222222"

static struct addr ip(const char *text)
{
	struct addr a;

	assert_int_equal(addr_parse(text, &a), 0);
	return a;
}

static struct forwarding fwd(
        const char *router, const char *gw, const char *port_id, const char *vm, uint16_t ext_port)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "f0000000-0000-4000-8000-%012u", (unsigned)ext_port);
	snprintf(f.router_id, sizeof(f.router_id), "%s", router);
	snprintf(f.internal_port_id, sizeof(f.internal_port_id), "%s", port_id);
	f.external_addr = ip(gw);
	f.internal_addr = ip(vm);
	f.protocol = IPPROTO_TCP;
	f.external = (struct port_range){ext_port, ext_port};
	f.internal = (struct port_range){22, 22};
	return f;
}

/* A listing element: strings are borrowed (decide never frees). */
static struct neutron_fixed_ip fixed(const char *text)
{
	struct neutron_fixed_ip f;

	memset(&f, 0, sizeof(f));
	f.ip_address = (char *)text;
	f.addr = ip(text);
	return f;
}

static struct neutron_port port(const char *id, struct neutron_fixed_ip *ips, size_t n)
{
	struct neutron_port p;

	memset(&p, 0, sizeof(p));
	p.id = (char *)id;
	p.fixed_ips = ips;
	p.fixed_ips_len = n;
	return p;
}

static struct neutron_router router(const char *id, struct neutron_fixed_ip *gws, size_t n)
{
	struct neutron_router r;

	memset(&r, 0, sizeof(r));
	r.id = (char *)id;
	r.has_gateway = n > 0;
	r.gateway_ips = gws;
	r.gateway_ips_len = n;
	return r;
}

/*
 * decide() on the monitor's compact set, built from f[0..n) and with
 * Neutron's word on the ports noted, as the poll and the consumer do.
 */
static int decide_scoped_fwds(const struct forwarding *f, size_t n,
        const struct neutron_ports *ports, const struct neutron_routers *routers,
        unsigned int scope, struct actions *out)
{
	struct fwdset set;
	int r;

	fwdset_init(&set);
	assert_int_equal(fwdset_add_all(&set, f, n), 0);
	for (size_t i = 0; ports != NULL && i < ports->len; i++)
		assert_int_equal(fwdset_note_port(&set, &ports->v[i]), 0);
	r = decide_scoped(&set, routers, scope, out);
	fwdset_free(&set);
	return r;
}

static int decide_fwds(const struct forwarding *f, size_t n, const struct neutron_ports *ports,
        const struct neutron_routers *routers, struct actions *out)
{
	return decide_scoped_fwds(f, n, ports, routers, DECIDE_ALL, out);
}

static void addr_eq(const struct addr *a, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format(a, buf, sizeof(buf)), want);
}

/* ---- the rules ---- */

static void test_all_match(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.5")}, gw[] = {fixed("203.0.113.1")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 1)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 1)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022),
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4023),
	        fwd(ROUTER_1, "203.0.113.1", "", "10.0.0.9", 4024), /* no port: no port check */
	};
	struct actions out;

	assert_int_equal(decide_fwds(f, 3, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 0);
	actions_free(&out);
	/* Nothing at all is nothing to do. */
	assert_int_equal(decide_fwds(NULL, 0, NULL, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	actions_free(&out);
}

static void test_port_missing(void **state)
{
	struct neutron_fixed_ip gw[] = {fixed("203.0.113.1")};
	struct neutron_router r[] = {router(ROUTER_1, gw, 1)};
	struct neutron_ports ports = {NULL, 0};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022)};
	struct actions out;

	assert_int_equal(decide_fwds(f, 1, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 1);
	/* Only a suspect: the reconcile confirms it with a 404 before port_deleted. */
	assert_int_equal(out.v[0].kind, ACTION_PORT_SUSPECT);
	assert_string_equal(out.v[0].id, PORT_A);
	actions_free(&out);
	/* A NULL listing reads as an empty one. */
	assert_int_equal(decide_fwds(f, 1, NULL, &routers, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_PORT_SUSPECT);
	actions_free(&out);
}

static void test_port_moved(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("2001:db8:2::5"), fixed("10.0.0.77")};
	struct neutron_fixed_ip gw[] = {fixed("203.0.113.1"), fixed("2001:db8:1::1")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 2)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 2)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022)};
	struct actions out;

	assert_int_equal(decide_fwds(f, 1, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_PORT_MOVED);
	assert_string_equal(out.v[0].id, PORT_A);
	addr_eq(&out.v[0].old_ip, "10.0.0.5");
	/* The new address is the port's one of the same family, not its first. */
	addr_eq(&out.v[0].new_ip, "10.0.0.77");
	actions_free(&out);
}

static void test_port_lost_family(void **state)
{
	/* The port kept only an IPv6 address: an IPv4 forwarding has nowhere to go. */
	struct neutron_fixed_ip a_ips[] = {fixed("2001:db8:2::5")}, gw[] = {fixed("203.0.113.1")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 1), port(PORT_B, NULL, 0)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 1)};
	struct neutron_ports ports = {p, 2};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022),
	        fwd(ROUTER_1, "203.0.113.1", PORT_B, "10.0.0.6", 4023),
	};
	struct actions out;

	assert_int_equal(decide_fwds(f, 2, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 0);
	actions_free(&out);
}

/*
 * A notification brings one port (or router) and Neutron's answer about
 * it alone: the rules of the other kind must not run on a listing that
 * was never made (every router would look deleted).
 */
static void test_scoped(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.77")}, gw[] = {fixed("203.0.113.9")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 1)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 1)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022)};
	struct actions out;

	assert_int_equal(decide_scoped_fwds(f, 1, &ports, NULL, DECIDE_PORTS, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_PORT_MOVED);
	actions_free(&out);
	/* The port gone (404: no listing): a suspect, and nothing about its router. */
	assert_int_equal(decide_scoped_fwds(f, 1, NULL, NULL, DECIDE_PORTS, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_PORT_SUSPECT);
	actions_free(&out);
	assert_int_equal(decide_scoped_fwds(f, 1, NULL, &routers, DECIDE_ROUTERS, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_GATEWAY_CHANGED);
	addr_eq(&out.v[0].new_ip, "203.0.113.9");
	actions_free(&out);
	assert_int_equal(decide_scoped_fwds(f, 1, NULL, NULL, DECIDE_ROUTERS, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_ROUTER_SUSPECT);
	actions_free(&out);
	/* DECIDE_ALL is decide(). */
	assert_int_equal(decide_scoped_fwds(f, 1, &ports, &routers, DECIDE_ALL, &out), 0);
	assert_int_equal(out.n, 2);
	actions_free(&out);
}

static void test_router_missing(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.5")}, gw[] = {fixed("203.0.113.1")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 1)};
	struct neutron_router r[] = {router(ROUTER_2, gw, 1)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022),
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4023),
	        fwd(ROUTER_2, "203.0.113.1", PORT_A, "10.0.0.5", 4024),
	};
	struct actions out;

	assert_int_equal(decide_fwds(f, 3, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_ROUTER_SUSPECT);
	assert_string_equal(out.v[0].id, ROUTER_1);
	actions_free(&out);
	assert_int_equal(decide_fwds(f, 3, &ports, NULL, &out), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.v[0].kind, ACTION_ROUTER_SUSPECT);
	assert_int_equal(out.v[1].kind, ACTION_ROUTER_SUSPECT);
	assert_string_equal(out.v[0].id, ROUTER_1);
	assert_string_equal(out.v[1].id, ROUTER_2);
	actions_free(&out);
}

static void test_gateway_changed(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.5"), fixed("2001:db8:2::5")};
	struct neutron_fixed_ip gw[] = {fixed("2001:db8:1::1"), fixed("203.0.113.99")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 2)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 2)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022),
	        fwd(ROUTER_1, "2001:db8:1::1", PORT_A, "2001:db8:2::5", 4023),
	};
	struct actions out;

	assert_int_equal(decide_fwds(f, 2, &ports, &routers, &out), 0);
	/* Only the IPv4 gateway moved. */
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].kind, ACTION_GATEWAY_CHANGED);
	assert_string_equal(out.v[0].id, ROUTER_1);
	addr_eq(&out.v[0].old_ip, "203.0.113.1");
	addr_eq(&out.v[0].new_ip, "203.0.113.99");
	actions_free(&out);
}

static void test_gateway_removed(void **state)
{
	/* A router that lost its gateway keeps its forwardings: they come back with it. */
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.5")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 1)};
	struct neutron_router r[] = {router(ROUTER_1, NULL, 0)};
	struct neutron_ports ports = {p, 1};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[] = {fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4022)};
	struct actions out;

	assert_int_equal(decide_fwds(f, 1, &ports, &routers, &out), 0);
	assert_int_equal(out.n, 0);
	actions_free(&out);
}

static void test_dedup(void **state)
{
	struct neutron_fixed_ip a_ips[] = {fixed("10.0.0.50"), fixed("2001:db8:2::50")};
	struct neutron_fixed_ip b_ips[] = {fixed("10.0.0.60")};
	struct neutron_fixed_ip gw[] = {fixed("203.0.113.2"), fixed("2001:db8:1::2")};
	struct neutron_port p[] = {port(PORT_A, a_ips, 2), port(PORT_B, b_ips, 1)};
	struct neutron_router r[] = {router(ROUTER_1, gw, 2)};
	struct neutron_ports ports = {p, 2};
	struct neutron_routers routers = {r, 1};
	struct forwarding f[40];
	struct actions out;
	size_t n = 0;

	/* Ten ports of each VM, both families for A; two vanished ports and routers. */
	for (uint16_t i = 0; i < 10; i++) {
		f[n++] = fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 4000 + i);
		f[n++] = fwd(ROUTER_1, "2001:db8:1::1", PORT_A, "2001:db8:2::5", 5000 + i);
		f[n++] = fwd(ROUTER_1, "203.0.113.1", PORT_B, "10.0.0.6", 6000 + i);
		f[n++] = fwd(ROUTER_2, "203.0.113.1", "gone-port", "10.0.0.7", 7000 + i);
	}
	assert_int_equal(decide_fwds(f, n, &ports, &routers, &out), 0);
	/* A moved twice (v4, v6), B once, one suspect port, two gateway families, one router. */
	assert_int_equal(out.n, 7);
	assert_int_equal(out.v[0].kind, ACTION_PORT_SUSPECT);
	assert_string_equal(out.v[0].id, "gone-port");
	assert_int_equal(out.v[1].kind, ACTION_PORT_MOVED);
	assert_string_equal(out.v[1].id, PORT_A);
	assert_int_equal(out.v[2].kind, ACTION_PORT_MOVED);
	assert_string_equal(out.v[2].id, PORT_A);
	assert_int_not_equal(out.v[1].old_ip.family, out.v[2].old_ip.family);
	assert_int_equal(out.v[3].kind, ACTION_PORT_MOVED);
	assert_string_equal(out.v[3].id, PORT_B);
	addr_eq(&out.v[3].new_ip, "10.0.0.60");
	assert_int_equal(out.v[4].kind, ACTION_ROUTER_SUSPECT);
	assert_string_equal(out.v[4].id, ROUTER_2);
	assert_int_equal(out.v[5].kind, ACTION_GATEWAY_CHANGED);
	assert_int_equal(out.v[6].kind, ACTION_GATEWAY_CHANGED);
	for (size_t i = 1; i < out.n; i++)
		if (out.v[i].kind == out.v[i - 1].kind &&
		        strcmp(out.v[i].id, out.v[i - 1].id) == 0 &&
		        addr_equal(&out.v[i].old_ip, &out.v[i - 1].old_ip))
			fail_msg("action %zu repeats action %zu", i, i - 1);
	actions_free(&out);
}

static void test_ids(void **state)
{
	struct forwarding f[] = {
	        fwd(ROUTER_2, "203.0.113.1", PORT_B, "10.0.0.5", 1),
	        fwd(ROUTER_1, "203.0.113.1", PORT_A, "10.0.0.5", 2),
	        fwd(ROUTER_2, "203.0.113.1", "", "10.0.0.5", 3),
	        fwd(ROUTER_1, "203.0.113.1", PORT_B, "10.0.0.5", 4),
	};
	const char **ports, **routers;
	struct fwdset set;
	size_t np, nr;

	fwdset_init(&set);
	assert_int_equal(fwdset_add_all(&set, f, 4), 0);
	assert_int_equal(decide_ids(&set, &ports, &np, &routers, &nr), 0);
	assert_int_equal(np, 2);
	assert_string_equal(ports[0], PORT_A);
	assert_string_equal(ports[1], PORT_B);
	assert_int_equal(nr, 2);
	assert_string_equal(routers[0], ROUTER_1);
	assert_string_equal(routers[1], ROUTER_2);
	free(ports);
	free(routers);
	fwdset_free(&set);
	assert_int_equal(decide_ids(&set, &ports, &np, &routers, &nr), 0);
	assert_int_equal(np, 0);
	assert_int_equal(nr, 0);
	free(ports);
	free(routers);
}

/* ---- scale ---- */

#define BIG 10000

struct big {
	struct forwarding *f;
	struct neutron_port *p;
	struct neutron_fixed_ip *ips;
	char (*ids)[40];
	struct neutron_fixed_ip gw[1];
	struct neutron_router r[1];
	struct neutron_ports ports;
	struct neutron_routers routers;
	char (*texts)[ADDR_STRLEN];
};

/* BIG forwardings, each to its own VM port; moved says whether Neutron moved them all. */
static void big_make(struct big *b, bool moved)
{
	b->f = calloc(BIG, sizeof(*b->f));
	b->p = calloc(BIG, sizeof(*b->p));
	b->ips = calloc(BIG, sizeof(*b->ips));
	b->ids = calloc(BIG, sizeof(*b->ids));
	b->texts = calloc(BIG, sizeof(*b->texts));
	assert_non_null(b->f);
	assert_non_null(b->p);
	assert_non_null(b->ips);
	assert_non_null(b->ids);
	assert_non_null(b->texts);
	b->gw[0] = fixed("203.0.113.1");
	b->r[0] = router(ROUTER_1, b->gw, 1);
	for (unsigned i = 0; i < BIG; i++) {
		char vm[ADDR_STRLEN];
		/* Ids in an order unlike the listing's, so lookups cannot be a walk. */
		unsigned k = (i * 7919u) % BIG;

		snprintf(b->ids[i], sizeof(b->ids[i]), "%08x-0000-4000-8000-%012u", k * 2654435761u,
		        k);
		snprintf(vm, sizeof(vm), "10.%u.%u.%u", k >> 16, (k >> 8) & 255, k & 255);
		b->f[i] = fwd(ROUTER_1, "203.0.113.1", b->ids[i], vm, (uint16_t)(1 + i % 60000));
		snprintf(b->texts[i], sizeof(b->texts[i]), "10.%u.%u.%u", moved ? 200u : k >> 16,
		        (k >> 8) & 255, k & 255);
	}
	for (unsigned i = 0; i < BIG; i++) {
		b->ips[i] = fixed(b->texts[BIG - 1 - i]);
		b->p[i] = port(b->ids[BIG - 1 - i], &b->ips[i], 1);
	}
	b->ports = (struct neutron_ports){b->p, BIG};
	b->routers = (struct neutron_routers){b->r, 1};
}

static void big_free(struct big *b)
{
	free(b->f);
	free(b->p);
	free(b->ips);
	free(b->ids);
	free(b->texts);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ~N log2 N comparisons per sort or search pass; N^2/2 would be 50,000,000. */
#define CMP_BOUND (BIG * 14UL * 40)

static void big_run(bool moved)
{
	struct actions out;
	struct big b;
	double t;

	big_make(&b, moved);
	strcmp_calls = 0;
	t = now();
	assert_int_equal(decide_fwds(b.f, BIG, &b.ports, &b.routers, &out), 0);
	t = now() - t;
	assert_int_equal(out.n, moved ? BIG : 0);
	if (moved)
		for (size_t i = 0; i < out.n; i++)
			assert_int_equal(out.v[i].kind, ACTION_PORT_MOVED);
	print_message("# %d forwardings (%s): %lu comparisons, %.1f ms\n", BIG,
	        moved ? "all moved" : "none moved", strcmp_calls, t * 1000);
	if (strcmp_calls > CMP_BOUND)
		fail_msg("%lu comparisons for %d forwardings: not O(N log N)", strcmp_calls, BIG);
	/* Generous for sanitizer builds; the O(N^2) dedup took far longer. */
	assert_true(t < 2.0);
	actions_free(&out);
	big_free(&b);
}

static void test_big_unchanged(void **state)
{
	big_run(false);
}

static void test_big_all_moved(void **state)
{
	big_run(true);
}

/* ---- backoff ---- */

static void test_next_delay(void **state)
{
	/* No failure: the period itself, fractions kept. */
	assert_true(fabs(monitor_next_delay(30, 0) - 30) < 1e-9);
	assert_true(fabs(monitor_next_delay(0.5, 0) - 0.5) < 1e-9);
	/* Doubling per failure in a row. */
	assert_true(fabs(monitor_next_delay(30, 1) - 60) < 1e-9);
	assert_true(fabs(monitor_next_delay(30, 3) - 240) < 1e-9);
	assert_true(fabs(monitor_next_delay(0.5, 4) - 8) < 1e-9);
	/* Capped at 300 s, however many failures. */
	assert_true(fabs(monitor_next_delay(30, 4) - 300) < 1e-9);
	assert_true(fabs(monitor_next_delay(30, 1000) - 300) < 1e-9);
	assert_true(fabs(monitor_next_delay(0.5, 4000000000u) - 300) < 1e-9);
	/* A period above the cap is never shortened. */
	assert_true(fabs(monitor_next_delay(600, 0) - 600) < 1e-9);
	assert_true(fabs(monitor_next_delay(600, 5) - 600) < 1e-9);
	/* Monotonic. */
	for (unsigned f = 1; f < 40; f++)
		assert_true(monitor_next_delay(0.5, f) >= monitor_next_delay(0.5, f - 1));
}

static void test_deadline(void **state)
{
	/* At least 20 s, or three periods. */
	assert_true(fabs(monitor_deadline(0.5) - 20) < 1e-9);
	assert_true(fabs(monitor_deadline(30) - 90) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_all_match),
	        cmocka_unit_test(test_port_missing),
	        cmocka_unit_test(test_port_moved),
	        cmocka_unit_test(test_scoped),
	        cmocka_unit_test(test_port_lost_family),
	        cmocka_unit_test(test_router_missing),
	        cmocka_unit_test(test_gateway_changed),
	        cmocka_unit_test(test_gateway_removed),
	        cmocka_unit_test(test_dedup),
	        cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_big_unchanged),
	        cmocka_unit_test(test_big_all_moved),
	        cmocka_unit_test(test_next_delay),
	        cmocka_unit_test(test_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
