/*
 * lib/store: CRUD, both conflict rules with range overlaps, lookups,
 * status, transactions and hooks, schema migrations, query plans and cost,
 * and crash safety under SIGKILL.
 *
 * With argument "mariadb", the same CRUD, conflict, lookup, status,
 * transaction and paging tests run against the loopback MariaDB
 * (test/mariadb), each in a database of its own; skipped (TAP "1..0 # SKIP") when it is
 * not running.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "mariadb-util.h"
#include "store-util.h"
#include "store.h"

#define R1 "11111111-1111-4111-8111-111111111111"
#define R2 "22222222-2222-4222-8222-222222222222"
#define GW "203.0.113.10"

struct ctx {
	struct tmpdb db;
	struct mdb mdb; /* the MariaDB run's database */
	struct store *s;
	pid_t child; /* of the crash test, killed by teardown if a check failed */
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char *cause = NULL;

	if (c == NULL || tmpdb_make(&c->db) < 0)
		return -1;
	if (store_open(c->db.path, &c->s, &cause) < 0) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->child > 0) {
		(void)kill(c->child, SIGKILL);
		(void)waitpid(c->child, NULL, 0);
	}
	store_close(c->s);
	mdb_drop(&c->mdb);
	tmpdb_remove(&c->db);
	free(c);
	return 0;
}

static char mariadb_base[192];

/* A fresh database of its own on the loopback MariaDB. */
static int setup_mariadb(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char *cause = NULL;

	if (c == NULL || tmpdb_make(&c->db) < 0 || mdb_create(&c->mdb, mariadb_base) < 0)
		return -1;
	if (store_open(c->mdb.url, &c->s, &cause) < 0) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		return -1;
	}
	*state = c;
	return 0;
}

/* A fresh directory without an open store, for tests that make their own file. */
static int setup_dir(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || tmpdb_make(&c->db) < 0)
		return -1;
	*state = c;
	return 0;
}

static struct forwarding tcp(
        const char *router, uint16_t elo, uint16_t ehi, const char *in, uint16_t ilo, uint16_t ihi)
{
	return fwd_make(router, GW, IPPROTO_TCP, elo, ehi, in, ilo, ihi);
}

/* Inserts and fails the test on any error. */
static void insert_ok(struct store *s, struct forwarding *f)
{
	char *cause = NULL;
	int r = store_insert(s, f, NULL, &cause);

	if (r < 0)
		fail_msg("store_insert: %d %s", r, cause ? cause : "");
}

static long long pragma_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(store_handle(s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_open_settings(void **state)
{
	struct ctx *c = *state;
	sqlite3_stmt *st;

	assert_int_equal(pragma_int(c->s, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(c->s, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(pragma_int(c->s, "PRAGMA foreign_keys"), 1);
	assert_true(pragma_int(c->s, "PRAGMA busy_timeout") > 0);
	assert_int_equal(
	        sqlite3_prepare_v2(store_handle(c->s), "PRAGMA journal_mode", -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
}

static void test_crud(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = tcp(R1, 4022, 4022, "10.0.0.5", 22, 22), g;
	char *cause = NULL;
	size_t n;

	snprintf(f.description, sizeof(f.description), "ssh to vm");
	snprintf(f.internal_port_id, sizeof(f.internal_port_id), "port-a");
	f.masquerade = true;
	insert_ok(c->s, &f);
	assert_true(fwd_uuid_valid(f.id));
	assert_true(f.created_at > 0);
	assert_int_equal(f.updated_at, f.created_at);

	assert_int_equal(store_get(c->s, f.id, &g, NULL), 0);
	assert_string_equal(g.id, f.id);
	assert_string_equal(g.router_id, R1);
	assert_string_equal(g.project_id, "project-1");
	assert_true(addr_equal(&g.external_addr, &f.external_addr));
	assert_true(addr_equal(&g.internal_addr, &f.internal_addr));
	assert_int_equal(g.protocol, IPPROTO_TCP);
	assert_int_equal(g.external.lo, 4022);
	assert_int_equal(g.internal.hi, 22);
	assert_string_equal(g.internal_port_id, "port-a");
	assert_string_equal(g.description, "ssh to vm");
	assert_true(g.masquerade);
	assert_int_equal(g.status, FWD_STATUS_ACTIVE);
	assert_int_equal(g.created_at, f.created_at);

	/* update: created_at kept even if the caller sends another */
	g.external.lo = g.external.hi = 4023;
	g.created_at = 1;
	snprintf(g.description, sizeof(g.description), "moved");
	assert_int_equal(store_update(c->s, &g, NULL, NULL), 0);
	assert_int_equal(g.created_at, f.created_at);
	assert_true(g.updated_at >= f.created_at);
	assert_int_equal(store_get(c->s, f.id, &g, NULL), 0);
	assert_int_equal(g.external.lo, 4023);
	assert_string_equal(g.description, "moved");

	assert_int_equal(store_count(c->s, NULL, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_delete(c->s, f.id, &g, NULL), 0);
	assert_string_equal(g.description, "moved");
	assert_int_equal(store_get(c->s, f.id, &g, &cause), -ENOENT);
	assert_non_null(cause);
	assert_non_null(strstr(cause, f.id));
	free(cause);
	assert_int_equal(store_delete(c->s, f.id, NULL, NULL), -ENOENT);
	assert_int_equal(store_update(c->s, &f, NULL, NULL), -ENOENT);
	assert_int_equal(store_count(c->s, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void test_ipv6_and_no_address(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = fwd_make(
	                          R1, "2001:db8::1", IPPROTO_UDP, 53, 53, "2001:db8:1::5", 53, 53),
	                  g;

	insert_ok(c->s, &f);
	assert_int_equal(store_get(c->s, f.id, &g, NULL), 0);
	assert_int_equal(g.external_addr.family, AF_INET6);
	assert_true(addr_equal(&g.internal_addr, &f.internal_addr));
	assert_int_equal(g.protocol, IPPROTO_UDP);

	/* No gateway address yet (family 0) round-trips as none. */
	f = fwd_make(R1, NULL, IPPROTO_TCP, 80, 80, "10.0.0.1", 80, 80);
	insert_ok(c->s, &f);
	assert_int_equal(store_get(c->s, f.id, &g, NULL), 0);
	assert_int_equal(g.external_addr.family, 0);
}

static void test_invalid(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = tcp(R1, 4000, 4001, "10.0.0.5", 22, 24);
	char *cause = NULL;
	size_t n;

	/* ranges of different lengths */
	assert_int_equal(store_insert(c->s, &f, NULL, &cause), -EINVAL);
	assert_non_null(strstr(cause, "internal_port_range"));
	free(cause);
	cause = NULL;
	f = tcp(R1, 4000, 4000, "10.0.0.5", 22, 22);
	f.protocol = 1;
	assert_int_equal(store_insert(c->s, &f, NULL, &cause), -EINVAL);
	assert_non_null(strstr(cause, "protocol"));
	free(cause);
	cause = NULL;
	f = tcp("", 4000, 4000, "10.0.0.5", 22, 22);
	assert_int_equal(store_insert(c->s, &f, NULL, &cause), -EINVAL);
	assert_non_null(strstr(cause, "router_id"));
	free(cause);
	cause = NULL;
	f = tcp(R1, 4000, 4000, "10.0.0.5", 22, 22);
	snprintf(f.id, sizeof(f.id), "not-a-uuid");
	assert_int_equal(store_insert(c->s, &f, NULL, &cause), -EINVAL);
	assert_non_null(strstr(cause, "id"));
	free(cause);
	assert_int_equal(store_count(c->s, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
}

/* Expects f to be refused for a conflict of kind with forwarding id. */
static void expect_conflict(
        struct store *s, struct forwarding f, enum store_conflict_kind kind, const char *with_id)
{
	struct store_conflict cf;
	char *cause = NULL;

	memset(&cf, 0xa5, sizeof(cf));
	assert_int_equal(store_insert(s, &f, &cf, &cause), -EEXIST);
	assert_int_equal(cf.kind, kind);
	assert_string_equal(cf.with.id, with_id);
	assert_non_null(cause);
	free(cause);
}

static void test_conflict_external(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5009, "10.0.0.5", 6000, 6009);
	struct forwarding b = tcp(R1, 4022, 4022, "10.0.0.6", 22, 22);
	struct forwarding f;
	int ip = 20;
	char in[32];
	size_t n;

	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	/* Each overlap shape, each time towards a fresh internal address. */
	const struct port_range overlaps[] = {
	        {5000, 5009}, {4995, 5000}, {5009, 5020}, {5003, 5004}, {4990, 5100}, {5005, 5005}};
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		snprintf(in, sizeof(in), "10.0.0.%d", ip++);
		f = tcp(R1, overlaps[i].lo, overlaps[i].hi, in, 1, 1);
		expect_conflict(c->s, f, STORE_CONFLICT_EXTERNAL, a.id);
	}
	f = tcp(R1, 4022, 4022, "10.0.0.99", 22, 22);
	expect_conflict(c->s, f, STORE_CONFLICT_EXTERNAL, b.id);

	/* Adjacent ranges, another protocol, address or router: no conflict. */
	f = tcp(R1, 4990, 4999, "10.0.0.50", 1, 1);
	insert_ok(c->s, &f);
	f = tcp(R1, 5010, 5010, "10.0.0.51", 1, 1);
	insert_ok(c->s, &f);
	f = fwd_make(R1, GW, IPPROTO_UDP, 5000, 5009, "10.0.0.5", 6000, 6009);
	insert_ok(c->s, &f);
	f = fwd_make(R1, "203.0.113.11", IPPROTO_TCP, 5000, 5009, "10.0.0.52", 1, 1);
	insert_ok(c->s, &f);
	f = tcp(R2, 5000, 5009, "10.0.0.5", 6000, 6009);
	insert_ok(c->s, &f);
	assert_int_equal(store_count(c->s, NULL, &n, NULL), 0);
	assert_int_equal(n, 7);
	assert_int_equal(store_count(c->s, R1, &n, NULL), 0);
	assert_int_equal(n, 6);
}

static void test_conflict_internal(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5009, "10.0.0.5", 6000, 6009);
	struct forwarding nto1 = tcp(R1, 7000, 7099, "10.0.0.5", 22, 22);
	struct forwarding f;

	insert_ok(c->s, &a);
	insert_ok(c->s, &nto1);
	f = tcp(R1, 4000, 4000, "10.0.0.5", 6005, 6005);
	expect_conflict(c->s, f, STORE_CONFLICT_INTERNAL, a.id);
	f = tcp(R1, 4000, 4001, "10.0.0.5", 5999, 6000);
	expect_conflict(c->s, f, STORE_CONFLICT_INTERNAL, a.id);
	f = tcp(R1, 4000, 4000, "10.0.0.5", 22, 22);
	expect_conflict(c->s, f, STORE_CONFLICT_INTERNAL, nto1.id);

	/* Same port on another VM, another protocol, another router: fine. */
	f = tcp(R1, 4000, 4000, "10.0.0.6", 22, 22);
	insert_ok(c->s, &f);
	f = fwd_make(R1, GW, IPPROTO_UDP, 4000, 4000, "10.0.0.5", 22, 22);
	insert_ok(c->s, &f);
	f = tcp(R2, 4000, 4000, "10.0.0.5", 22, 22);
	insert_ok(c->s, &f);
	f = tcp(R1, 4001, 4001, "10.0.0.5", 23, 23);
	insert_ok(c->s, &f);
}

static void test_conflict_update_and_id(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5009, "10.0.0.5", 6000, 6009);
	struct forwarding b = tcp(R1, 4022, 4022, "10.0.0.6", 22, 22);
	struct store_conflict cf;
	struct forwarding g, dup;

	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	/* A forwarding may overlap its own old ranges. */
	g = a;
	g.external.lo = 5005;
	g.external.hi = 5014;
	g.internal.lo = 6005;
	g.internal.hi = 6014;
	assert_int_equal(store_update(c->s, &g, NULL, NULL), 0);
	/* ...but not the others'; the refused row is unchanged. */
	g = b;
	g.external.lo = g.external.hi = 5010;
	assert_int_equal(store_update(c->s, &g, &cf, NULL), -EEXIST);
	assert_int_equal(cf.kind, STORE_CONFLICT_EXTERNAL);
	assert_string_equal(cf.with.id, a.id);
	assert_int_equal(store_get(c->s, b.id, &g, NULL), 0);
	assert_int_equal(g.external.lo, 4022);

	dup = tcp(R2, 1, 1, "10.9.9.9", 1, 1);
	memcpy(dup.id, a.id, sizeof(dup.id));
	assert_int_equal(store_insert(c->s, &dup, &cf, NULL), -EEXIST);
	assert_int_equal(cf.kind, STORE_CONFLICT_ID);
	assert_string_equal(cf.with.router_id, R1);
}

/*
 * A create whose id the store draws does not look the id up (one statement
 * fewer than with an id given, which is looked up: a conflict by id).
 */
static void test_create_statements(void **state)
{
	struct ctx *c = *state;
	struct forwarding drawn = tcp(R1, 4022, 4022, "10.0.0.5", 22, 22);
	struct forwarding given = tcp(R1, 4023, 4023, "10.0.0.6", 22, 22);
	struct forwarding first = tcp(R1, 4021, 4021, "10.0.0.4", 22, 22);
	uint64_t n0, n1, n2;

	memcpy(given.id, "33333333-3333-4333-8333-333333333333", FWD_ID_LEN + 1);
	insert_ok(c->s, &first); /* MariaDB: the first change logged trims the log */
	n0 = store_statements(c->s);
	insert_ok(c->s, &drawn);
	n1 = store_statements(c->s);
	insert_ok(c->s, &given);
	n2 = store_statements(c->s);
	assert_int_equal(drawn.id[0] != '\0', 1);
	assert_int_equal(n2 - n1, (n1 - n0) + 1);
	assert_int_equal(store_get(c->s, drawn.id, &given, NULL), 0);
	assert_false(store_unreachable(c->s)); /* it answered: not given up */
}

struct collect {
	int n;
	char ids[16][FWD_ID_LEN + 1];
	uint16_t ports[16];
};

static int collect_cb(const struct forwarding *f, void *arg)
{
	struct collect *col = arg;

	if (col->n < 16) {
		memcpy(col->ids[col->n], f->id, sizeof(col->ids[0]));
		col->ports[col->n] = f->external.lo;
	}
	col->n++;
	return 0;
}

static int stop_cb(const struct forwarding *f, void *arg)
{
	(*(int *)arg)++;
	return 42;
}

static void test_lookups(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5009, "10.0.0.5", 6000, 6009);
	struct forwarding b = tcp(R1, 4022, 4022, "10.0.0.5", 22, 22);
	struct forwarding v6 =
	        fwd_make(R1, "2001:db8::1", IPPROTO_TCP, 5005, 5005, "2001:db8:1::5", 80, 80);
	struct forwarding udp = fwd_make(R1, GW, IPPROTO_UDP, 5005, 5005, "10.0.0.7", 53, 53);
	struct forwarding r2 = tcp(R2, 5005, 5005, "10.0.0.5", 22, 22);
	struct collect col;
	struct addr ad;
	int calls = 0;

	snprintf(a.internal_port_id, sizeof(a.internal_port_id), "port-a");
	snprintf(b.internal_port_id, sizeof(b.internal_port_id), "port-a");
	snprintf(r2.internal_port_id, sizeof(r2.internal_port_id), "port-b");
	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	insert_ok(c->s, &v6);
	insert_ok(c->s, &udp);
	insert_ok(c->s, &r2);

	memset(&col, 0, sizeof(col));
	assert_int_equal(store_foreach_router(c->s, R1, collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 4);
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_foreach_all(c->s, collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 5);

	memset(&col, 0, sizeof(col));
	assert_int_equal(store_foreach_port_id(c->s, "port-a", collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 2);
	assert_string_equal(col.ids[0], a.id); /* in insertion order */
	assert_string_equal(col.ids[1], b.id);

	assert_int_equal(addr_parse("10.0.0.5", &ad), 0);
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_foreach_internal_addr(c->s, NULL, &ad, collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 3);
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_foreach_internal_addr(c->s, R1, &ad, collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 2);
	assert_int_equal(col.ports[0], 4022); /* by internal port: b's 22, then a's 6000 */
	assert_int_equal(col.ports[1], 5000);

	assert_int_equal(addr_parse(GW, &ad), 0);
	memset(&col, 0, sizeof(col));
	assert_int_equal(
	        store_foreach_external(c->s, R1, &ad, IPPROTO_TCP, collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 2);
	assert_int_equal(col.ports[0], 4022);
	assert_int_equal(col.ports[1], 5000);

	/* Port 5005/tcp on R1: inside a's range on the v4 address, and v6's port. */
	memset(&col, 0, sizeof(col));
	assert_int_equal(
	        store_foreach_external_port(c->s, R1, IPPROTO_TCP, 5005, collect_cb, &col, NULL),
	        0);
	assert_int_equal(col.n, 2);
	assert_true((strcmp(col.ids[0], a.id) == 0 && strcmp(col.ids[1], v6.id) == 0) ||
	        (strcmp(col.ids[1], a.id) == 0 && strcmp(col.ids[0], v6.id) == 0));
	memset(&col, 0, sizeof(col));
	assert_int_equal(
	        store_foreach_external_port(c->s, R1, IPPROTO_UDP, 5005, collect_cb, &col, NULL),
	        0);
	assert_int_equal(col.n, 1);
	assert_string_equal(col.ids[0], udp.id);
	memset(&col, 0, sizeof(col));
	assert_int_equal(
	        store_foreach_external_port(c->s, R1, IPPROTO_TCP, 5010, collect_cb, &col, NULL),
	        0);
	assert_int_equal(col.n, 0);
	assert_int_equal(
	        store_foreach_external_port(c->s, R1, IPPROTO_TCP, 4999, collect_cb, &col, NULL),
	        0);
	assert_int_equal(col.n, 0);
	assert_int_equal(store_foreach_external_port(
	                         c->s, "no-such-router", IPPROTO_TCP, 5005, collect_cb, &col, NULL),
	        0);
	assert_int_equal(col.n, 0);

	/* A callback's non-zero answer stops the walk and is returned. */
	assert_int_equal(store_foreach_all(c->s, stop_cb, &calls, NULL), 42);
	assert_int_equal(calls, 1);
}

struct nested {
	struct store *s;
	int inner, get;
};

static int nested_cb(const struct forwarding *f, void *arg)
{
	struct nested *n = arg;
	struct forwarding g;
	char *cause = NULL;

	n->inner = store_foreach_all(n->s, stop_cb, &(int){0}, &cause);
	free(cause);
	n->get = store_get(n->s, f->id, &g, NULL);
	return 1;
}

static void test_nested_iteration(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5000, "10.0.0.5", 22, 22);
	struct nested n = {.s = c->s};

	insert_ok(c->s, &a);
	assert_int_equal(store_foreach_all(c->s, nested_cb, &n, NULL), 1);
	assert_int_equal(n.inner, -EBUSY);
	assert_int_equal(n.get, 0);
	/* and the statement is usable again afterwards */
	assert_int_equal(store_foreach_all(c->s, nested_cb, &n, NULL), 1);
}

static void test_router_status(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5000, "10.0.0.5", 22, 22);
	struct forwarding b = tcp(R1, 5001, 5001, "10.0.0.6", 22, 22);
	struct forwarding d = tcp(R2, 5000, 5000, "10.0.0.5", 22, 22);
	struct forwarding g;

	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	insert_ok(c->s, &d);
	assert_int_equal(store_set_router_status(c->s, R1, FWD_STATUS_DOWN, NULL), 2);
	assert_int_equal(store_set_router_status(c->s, R1, FWD_STATUS_DOWN, NULL), 0);
	assert_int_equal(store_get(c->s, a.id, &g, NULL), 0);
	assert_int_equal(g.status, FWD_STATUS_DOWN);
	assert_int_equal(g.updated_at, a.updated_at);
	assert_int_equal(store_get(c->s, d.id, &g, NULL), 0);
	assert_int_equal(g.status, FWD_STATUS_ACTIVE);
	assert_int_equal(store_set_router_status(c->s, R1, FWD_STATUS_ACTIVE, NULL), 2);
	assert_int_equal(store_get(c->s, b.id, &g, NULL), 0);
	assert_int_equal(g.status, FWD_STATUS_ACTIVE);
}

/* The counts /metrics shows: by status, over every router. */
static void test_count_status(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5000, "10.0.0.5", 22, 22);
	struct forwarding b = tcp(R1, 5001, 5001, "10.0.0.6", 22, 22);
	struct forwarding d = tcp(R2, 5000, 5000, "10.0.0.5", 22, 22);
	size_t n = 99;

	assert_int_equal(store_count_status(c->s, FWD_STATUS_DOWN, &n, NULL), 0);
	assert_int_equal(n, 0);
	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	insert_ok(c->s, &d);
	assert_int_equal(store_count_status(c->s, FWD_STATUS_ACTIVE, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_set_router_status(c->s, R1, FWD_STATUS_DOWN, NULL), 2);
	assert_int_equal(store_count_status(c->s, FWD_STATUS_DOWN, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_count_status(c->s, FWD_STATUS_ACTIVE, &n, NULL), 0);
	assert_int_equal(n, 1);
}

/* What store_foreach_router_count saw: "router:count " in its order. */
static int router_count_seen(const char *router_id, size_t n, void *arg)
{
	char *seen = arg;

	snprintf(seen + strlen(seen), 256 - strlen(seen), "%.8s:%zu ", router_id, n);
	return 0;
}

static int router_count_stop(const char *router_id, size_t n, void *arg)
{
	return 7;
}

/* /metrics' census: each router's forwardings counted in one statement, by router. */
static void test_router_counts(void **state)
{
	struct ctx *c = *state;
	struct forwarding a = tcp(R2, 5000, 5000, "10.0.0.5", 22, 22);
	struct forwarding b = tcp(R1, 5001, 5001, "10.0.0.6", 22, 22);
	struct forwarding d = tcp(R2, 5002, 5002, "10.0.0.7", 22, 22);
	char seen[256] = "";

	assert_int_equal(store_foreach_router_count(c->s, router_count_seen, seen, NULL), 0);
	assert_string_equal(seen, "");
	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	insert_ok(c->s, &d);
	assert_int_equal(store_foreach_router_count(c->s, router_count_seen, seen, NULL), 0);
	assert_string_equal(seen, "11111111:1 22222222:2 ");
	assert_int_equal(store_foreach_router_count(c->s, router_count_stop, NULL, NULL), 7);
	assert_int_equal(store_delete(c->s, b.id, NULL, NULL), 0);
	seen[0] = '\0';
	assert_int_equal(store_foreach_router_count(c->s, router_count_seen, seen, NULL), 0);
	assert_string_equal(seen, "22222222:2 ");
}

struct hook_log {
	int added, removed, rolled_back;
};

static void h_added(const struct forwarding *f, void *arg)
{
	((struct hook_log *)arg)->added++;
}

static void h_removed(const struct forwarding *f, void *arg)
{
	((struct hook_log *)arg)->removed++;
}

static void h_rolled_back(void *arg)
{
	((struct hook_log *)arg)->rolled_back++;
}

static void test_transactions(void **state)
{
	static const struct store_hooks hooks = {h_added, h_removed, h_rolled_back};
	struct ctx *c = *state;
	struct forwarding a = tcp(R1, 5000, 5000, "10.0.0.5", 22, 22);
	struct forwarding b = tcp(R1, 5001, 5001, "10.0.0.6", 22, 22);
	struct hook_log log = {0};
	struct forwarding g;
	size_t n;

	store_set_hooks(c->s, &hooks, &log);
	/* insert, then the kernel says no: rolled back, gone */
	assert_int_equal(store_begin(c->s, NULL), 0);
	assert_true(store_in_transaction(c->s));
	assert_int_equal(store_begin(c->s, NULL), -EALREADY);
	insert_ok(c->s, &a);
	assert_int_equal(store_get(c->s, a.id, &g, NULL), 0); /* visible inside */
	assert_int_equal(store_rollback(c->s, NULL), 0);
	assert_false(store_in_transaction(c->s));
	assert_int_equal(store_get(c->s, a.id, &g, NULL), -ENOENT);
	assert_int_equal(store_count(c->s, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(log.added, 1);
	assert_int_equal(log.rolled_back, 1);

	/* two inserts and a delete committed together */
	a.id[0] = '\0';
	assert_int_equal(store_begin(c->s, NULL), 0);
	insert_ok(c->s, &a);
	insert_ok(c->s, &b);
	assert_int_equal(store_delete(c->s, b.id, NULL, NULL), 0);
	assert_int_equal(store_commit(c->s, NULL), 0);
	assert_int_equal(store_get(c->s, a.id, &g, NULL), 0);
	assert_int_equal(store_get(c->s, b.id, &g, NULL), -ENOENT);
	assert_int_equal(log.added, 3);
	assert_int_equal(log.removed, 1);
	assert_int_equal(log.rolled_back, 1);

	/* a refused write outside a transaction changes nothing, not even the hooks */
	assert_int_equal(store_insert(c->s, &a, NULL, NULL), -EEXIST);
	assert_int_equal(log.rolled_back, 1);
	assert_int_equal(store_commit(c->s, NULL), -EINVAL);
	assert_int_equal(store_rollback(c->s, NULL), 0);
	store_set_hooks(c->s, NULL, NULL);
}

/* Version 1 exactly as it shipped: what an old file on disk holds. */
static const char v1_sql[] =
        "CREATE TABLE forwardings ("
        " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),"
        " router_id TEXT NOT NULL CHECK (length(router_id) BETWEEN 1 AND 64),"
        " project_id TEXT NOT NULL DEFAULT '' CHECK (length(project_id) <= 64),"
        " external_address TEXT NOT NULL DEFAULT '',"
        " protocol INTEGER NOT NULL CHECK (protocol IN (6, 17)),"
        " external_port_lo INTEGER NOT NULL CHECK (external_port_lo BETWEEN 1 AND 65535),"
        " external_port_hi INTEGER NOT NULL"
        "  CHECK (external_port_hi BETWEEN external_port_lo AND 65535),"
        " internal_address TEXT NOT NULL,"
        " internal_port_lo INTEGER NOT NULL CHECK (internal_port_lo BETWEEN 1 AND 65535),"
        " internal_port_hi INTEGER NOT NULL"
        "  CHECK (internal_port_hi BETWEEN internal_port_lo AND 65535),"
        " internal_port_id TEXT NOT NULL DEFAULT '' CHECK (length(internal_port_id) <= 64),"
        " masquerade INTEGER NOT NULL DEFAULT 0 CHECK (masquerade IN (0, 1)),"
        " description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 255),"
        " status TEXT NOT NULL DEFAULT 'DOWN' CHECK (status IN ('ACTIVE', 'DOWN')),"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX forwardings_external"
        " ON forwardings (router_id, external_address, protocol, external_port_lo);"
        "CREATE UNIQUE INDEX forwardings_internal"
        " ON forwardings (router_id, internal_address, protocol, internal_port_lo);"
        "INSERT INTO forwardings VALUES ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '" R1 "',"
        " 'p1', '203.0.113.10', 6, 4022, 4022, '10.0.0.5', 22, 22, 'port-old', 1, 'kept',"
        " 'ACTIVE', 1700000000, 1700000001);"
        "INSERT INTO forwardings VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '" R1 "',"
        " 'p1', '203.0.113.10', 17, 5000, 5009, '10.0.0.6', 6000, 6009, '', 0, '',"
        " 'DOWN', 1700000002, 1700000002);"
        "PRAGMA user_version = 1;";

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_v1(void **state)
{
	struct ctx *c = *state;
	struct forwarding g, f;
	struct collect col = {0};
	char *cause = NULL;

	raw_exec(c->db.path, v1_sql);
	if (store_open(c->db.path, &c->s, &cause) < 0)
		fail_msg("store_open: %s", cause);
	assert_int_equal(pragma_int(c->s, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(c->s,
	                         "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	                         " AND name IN ('forwardings_port_id',"
	                         " 'forwardings_internal_address', 'forwardings_status')"),
	        3);
	assert_int_equal(store_get(c->s, "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", &g, NULL), 0);
	assert_string_equal(g.description, "kept");
	assert_string_equal(g.internal_port_id, "port-old");
	assert_true(g.masquerade);
	assert_int_equal(g.created_at, 1700000000);
	assert_int_equal(g.updated_at, 1700000001);
	assert_int_equal(store_get(c->s, "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", &g, NULL), 0);
	assert_int_equal(g.protocol, IPPROTO_UDP);
	assert_int_equal(g.external.hi, 5009);
	assert_int_equal(g.status, FWD_STATUS_DOWN);
	assert_int_equal(store_foreach_port_id(c->s, "port-old", collect_cb, &col, NULL), 0);
	assert_int_equal(col.n, 1);
	/* old rows still take part in conflict checks */
	f = fwd_make(R1, "203.0.113.10", IPPROTO_UDP, 5009, 5009, "10.0.0.9", 1, 1);
	assert_int_equal(store_insert(c->s, &f, NULL, NULL), -EEXIST);

	/* reopening a current file changes nothing */
	store_close(c->s);
	assert_int_equal(store_open(c->db.path, &c->s, NULL), 0);
	assert_int_equal(pragma_int(c->s, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void test_newer_refused(void **state)
{
	struct ctx *c = *state;
	char *cause = NULL;

	raw_exec(c->db.path, "CREATE TABLE future (x); PRAGMA user_version = 99;");
	assert_int_equal(store_open(c->db.path, &c->s, &cause), -ENOTSUP);
	assert_null(c->s);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "newer"));
	assert_non_null(strstr(cause, "version 99"));
	free(cause);
}

static void test_not_a_database(void **state)
{
	struct ctx *c = *state;
	char *cause = NULL;
	FILE *fp;

	assert_non_null(fp = fopen(c->db.path, "w"));
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite database\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(store_open(c->db.path, &c->s, &cause), -EIO);
	assert_non_null(cause);
	assert_non_null(strstr(cause, c->db.path));
	free(cause);
	cause = NULL;
	assert_true(store_open("/nonexistent-dir/praas.db", &c->s, &cause) < 0);
	assert_non_null(cause);
	free(cause);
}

/*
 * Every cached statement with a WHERE clause must reach its rows through an
 * index: no "SCAN" of the forwardings table in its query plan. Returns how
 * many statements it checked.
 */
static int check_plans(sqlite3 *db)
{
	sqlite3_stmt *st = NULL, *plan;
	int checked = 0;
	char *sql;

	while ((st = sqlite3_next_stmt(db, st)) != NULL) {
		if (strstr(sqlite3_sql(st), "WHERE") == NULL)
			continue;
		assert_non_null(sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sqlite3_sql(st)));
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &plan, NULL), SQLITE_OK);
		while (sqlite3_step(plan) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(plan, 3);

			if (strncmp(detail, "SCAN forwardings", 16) == 0)
				fail_msg("full scan in \"%s\": %s", sqlite3_sql(st), detail);
		}
		sqlite3_finalize(plan);
		sqlite3_free(sql);
		checked++;
	}
	return checked;
}

static void test_query_plans(void **state)
{
	struct ctx *c = *state;

	assert_true(check_plans(store_handle(c->s)) >= 12);
}

static void fill(struct store *s, int from, int to);
static long vm_steps(sqlite3 *db);

/* Pages by id: every forwarding once, in id order, whatever the page size. */
static void test_paging(void **state)
{
	struct ctx *c = *state;
	struct collect all = {0}, page;
	char after[FWD_ID_LEN + 1] = "";
	size_t seen = 0;

	for (int i = 0; i < 5; i++) {
		struct forwarding f = tcp(i < 3 ? R1 : R2, (uint16_t)(4000 + i),
		        (uint16_t)(4000 + i), "10.0.0.5", (uint16_t)(22 + i), (uint16_t)(22 + i));
		insert_ok(c->s, &f);
	}
	assert_int_equal(store_foreach_page(c->s, NULL, NULL, 100, collect_cb, &all, NULL), 0);
	assert_int_equal(all.n, 5);
	for (int i = 1; i < all.n; i++)
		assert_true(strcmp(all.ids[i - 1], all.ids[i]) < 0);
	do {
		page = (struct collect){0};
		assert_int_equal(
		        store_foreach_page(c->s, NULL, after, 2, collect_cb, &page, NULL), 0);
		assert_true(page.n <= 2);
		for (int i = 0; i < page.n; i++)
			assert_string_equal(page.ids[i], all.ids[seen + (size_t)i]);
		seen += (size_t)page.n;
		if (page.n > 0)
			memcpy(after, page.ids[page.n - 1], sizeof(after));
	} while (page.n == 2);
	assert_int_equal(seen, 5);

	/* One router's: R2 has two; after the first, one is left. */
	page = (struct collect){0};
	assert_int_equal(store_foreach_page(c->s, R2, "", 10, collect_cb, &page, NULL), 0);
	assert_int_equal(page.n, 2);
	assert_true(strcmp(page.ids[0], page.ids[1]) < 0);
	memcpy(after, page.ids[0], sizeof(after));
	page = (struct collect){0};
	assert_int_equal(store_foreach_page(c->s, R2, after, 10, collect_cb, &page, NULL), 0);
	assert_int_equal(page.n, 1);

	/* Backwards: from the last without a marker, before one with it. */
	page = (struct collect){0};
	assert_int_equal(
	        store_foreach_page_dir(c->s, NULL, NULL, true, 100, collect_cb, &page, NULL), 0);
	assert_int_equal(page.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(page.ids[i], all.ids[4 - i]);
	page = (struct collect){0};
	assert_int_equal(
	        store_foreach_page_dir(c->s, NULL, all.ids[3], true, 2, collect_cb, &page, NULL),
	        0);
	assert_int_equal(page.n, 2);
	assert_string_equal(page.ids[0], all.ids[2]);
	assert_string_equal(page.ids[1], all.ids[1]);
	page = (struct collect){0};
	assert_int_equal(
	        store_foreach_page_dir(c->s, R2, "", true, 10, collect_cb, &page, NULL), 0);
	assert_int_equal(page.n, 2);
	assert_true(strcmp(page.ids[0], page.ids[1]) > 0);
	page = (struct collect){0};
	assert_int_equal(
	        store_foreach_page_dir(c->s, R2, NULL, false, 10, collect_cb, &page, NULL), 0);
	assert_int_equal(page.n, 2);
	if (store_handle(c->s)) /* SQLite's plans; MariaDB's indexes are the same */
		assert_true(check_plans(store_handle(c->s)) >= 1);
}

/*
 * A page of a router's listing costs its page, not the router's size: the
 * (router_id, id) index walks from the marker; without it SQLite reads
 * every forwarding of the router and sorts them, for every page.
 */
static void test_router_page_cost(void **state)
{
	struct ctx *c = *state;
	struct collect page[2] = {{0}, {0}};
	struct forwarding f;
	long steps;

	fill(c->s, 0, 5000); /* all on R1 */
	f = tcp(R2, 4000, 4000, "10.0.0.5", 22, 22);
	insert_ok(c->s, &f);
	(void)vm_steps(store_handle(c->s));
	for (int dir = 0; dir < 2; dir++)
		assert_int_equal(store_foreach_page_dir(
		                         c->s, R1, "8", dir == 1, 10, collect_cb, &page[dir], NULL),
		        0);
	steps = vm_steps(store_handle(c->s));
	assert_int_equal(page[0].n, 10);
	assert_int_equal(page[1].n, 10);
	if (steps > 2000)
		fail_msg("two pages of 10 of a router of 5,000 took %ld VM steps", steps);
	printf("# two pages of 10 of a router of 5,000: %ld VM steps\n", steps);
}

/* Sum of VM steps over every statement of the connection since the last call. */
static long vm_steps(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long sum = 0;

	while ((st = sqlite3_next_stmt(db, st)) != NULL)
		sum += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	return sum;
}

static void fill(struct store *s, int from, int to)
{
	char in[32];

	assert_int_equal(store_begin(s, NULL), 0);
	for (int i = from; i < to; i++) {
		struct forwarding f;

		snprintf(in, sizeof(in), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		f = tcp(R1, (uint16_t)(1 + i), (uint16_t)(1 + i), in, 22, 22);
		insert_ok(s, &f);
	}
	assert_int_equal(store_commit(s, NULL), 0);
}

/* The steps of one conflicting and one successful insert in the middle of the ports. */
static long insert_cost(struct store *s, int n)
{
	struct forwarding f;
	long steps;

	(void)vm_steps(store_handle(s));
	f = tcp(R1, (uint16_t)(n / 2), (uint16_t)(n / 2 + 3), "192.0.2.1", 22, 25);
	assert_int_equal(store_insert(s, &f, NULL, NULL), -EEXIST);
	f = tcp(R1, (uint16_t)(n + 10), (uint16_t)(n + 13), "192.0.2.1", 22, 25);
	insert_ok(s, &f);
	steps = vm_steps(store_handle(s));
	assert_int_equal(store_delete(s, f.id, NULL, NULL), 0);
	return steps;
}

/* A conflict check costs the same with 1,000 or 40,000 forwardings. */
static void test_conflict_cost(void **state)
{
	struct ctx *c = *state;
	long small, big;

	fill(c->s, 0, 1000);
	small = insert_cost(c->s, 1000);
	fill(c->s, 1000, 40000);
	big = insert_cost(c->s, 40000);
	print_message("# VM steps for two inserts: %ld at 1,000 rows, %ld at 40,000\n", small, big);
	assert_true(small > 0);
	assert_true(big <= small + 10);
}

/* Crash safety: a child commits, acknowledging each commit on a pipe. */
#define CRASH_GROUP 5

static void crash_id(unsigned int n, char out[FWD_ID_LEN + 1])
{
	snprintf(out, FWD_ID_LEN + 1, "%08x-0000-4000-8000-000000000000", n);
}

static struct forwarding crash_fwd(unsigned int n)
{
	char in[32];
	struct forwarding f;

	snprintf(in, sizeof(in), "10.1.%u.%u", (n >> 8) & 255, n & 255);
	f = tcp(R1, (uint16_t)(1 + n), (uint16_t)(1 + n), in, 22, 22);
	crash_id(n, f.id);
	return f;
}

static int ack(int fd, unsigned int from, unsigned int to)
{
	char line[FWD_ID_LEN + 2];

	for (unsigned int n = from; n < to; n++) {
		crash_id(n, line);
		line[FWD_ID_LEN] = '\n';
		if (write(fd, line, FWD_ID_LEN + 1) != FWD_ID_LEN + 1)
			return -1;
	}
	return 0;
}

/*
 * Groups of CRASH_GROUP forwardings alternate between one transaction for
 * the group (acknowledged after its commit) and one commit each. Starts at
 * forwarding `from`, the number already in the database.
 */
static void __attribute__((noreturn)) crash_child(const char *path, int fd, unsigned int from)
{
	struct store *s;

	if (store_open(path, &s, NULL) < 0)
		_exit(2);
	for (unsigned int n = from; n < 60000; n++) {
		bool batch = (n / CRASH_GROUP) % 2 == 0;
		struct forwarding f = crash_fwd(n);

		if (batch && n % CRASH_GROUP == 0 && store_begin(s, NULL) < 0)
			_exit(3);
		if (store_insert(s, &f, NULL, NULL) < 0)
			_exit(4);
		if (!batch && ack(fd, n, n + 1) < 0)
			_exit(5);
		if (batch && n % CRASH_GROUP == CRASH_GROUP - 1 &&
		        (store_commit(s, NULL) < 0 || ack(fd, n + 1 - CRASH_GROUP, n + 1) < 0))
			_exit(6);
	}
	_exit(7); /* never killed: the test fails */
}

/*
 * Reads acknowledgements (ids from `from` on, in order), kills the child
 * once kill_after have come, and reads on to the end of the pipe: what
 * was acknowledged before the kill. Returns the number.
 */
static unsigned int read_acks(struct ctx *c, int fd, unsigned int from, unsigned int kill_after)
{
	char buf[4096], want[FWD_ID_LEN + 1], *line;
	unsigned int acked = 0;
	size_t have = 0, len;
	bool killed = false;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			return acked;
		have += (size_t)n;
		while ((line = memchr(buf, '\n', have)) != NULL) {
			len = (size_t)(line - buf) + 1;
			crash_id(from + acked, want);
			assert_int_equal(len, FWD_ID_LEN + 1);
			assert_memory_equal(buf, want, FWD_ID_LEN);
			acked++;
			memmove(buf, buf + len, have - len);
			have -= len;
		}
		if (acked >= kill_after && !killed) {
			/* a varying pause moves the kill around the commit cycle */
			(void)usleep(kill_after % 7 * 300);
			assert_int_equal(kill(c->child, SIGKILL), 0);
			killed = true;
		}
	}
}

/* Checks the file after a crash; returns how many forwardings it holds. */
static unsigned int check_after_crash(const char *path)
{
	unsigned int rows = 0;
	char want[FWD_ID_LEN + 1];
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	/* The rows are exactly the first M of the sequence: nothing lost, nothing torn. */
	assert_int_equal(
	        sqlite3_prepare_v2(db, "SELECT id FROM forwardings ORDER BY id", -1, &st, NULL),
	        SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		crash_id(rows++, want);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	/* Inside a one-transaction group, all of it or none. */
	if ((rows / CRASH_GROUP) % 2 == 0)
		assert_int_equal(rows % CRASH_GROUP, 0);
	return rows;
}

/*
 * Three rounds: a child commits a stream of forwardings and is killed with
 * SIGKILL in the middle; every acknowledged commit must be in the file.
 */
static void test_crash_safety(void **state)
{
	struct ctx *c = *state;
	unsigned int acked, rows = 0, before;
	int fds[2], status;

	for (int round = 0; round < 3; round++) {
		before = rows;
		assert_int_equal(pipe(fds), 0);
		c->child = fork();
		assert_true(c->child >= 0);
		if (c->child == 0) {
			close(fds[0]);
			crash_child(c->db.path, fds[1], before);
		}
		close(fds[1]);
		acked = read_acks(c, fds[0], before, 100 + 37 * round);
		close(fds[0]);
		assert_int_equal(waitpid(c->child, &status, 0), c->child);
		c->child = 0;
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		rows = check_after_crash(c->db.path);
		print_message("# round %d: %u acknowledged, %u in the file\n", round, acked,
		        rows - before);
		assert_true(rows >= before + acked);
		assert_true(rows - before - acked <= CRASH_GROUP);
	}
	assert_int_equal(store_open(c->db.path, &c->s, NULL), 0);
}

static int collect_agent(const struct store_agent *ag, void *arg)
{
	struct store_agent *v = arg;
	size_t i = 0;

	while (v[i].host[0] != '\0')
		i++;
	if (i == 3)
		return -ERANGE;
	v[i] = *ag;
	return 0;
}

/* Heartbeats: one row per host, written in place; last seen by the database's clock. */
static void test_agents(void **state)
{
	struct ctx *c = *state;
	struct store_agent a = {.host = "node-a",
	                           .version = "1.0",
	                           .started_us = 1000000,
	                           .routers = 3,
	                           .applied_us = 5},
	                   b = {.host = "node-b", .version = "1.1", .started_us = 2000000};
	struct store_agent seen[4];
	int64_t newest;

	assert_int_equal(store_agent_beat(c->s, &a, NULL), 0);
	assert_int_equal(store_agent_beat(c->s, &b, NULL), 0);
	a.routers = 4;
	assert_int_equal(store_agent_beat(c->s, &a, NULL), 0);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(store_foreach_agent(c->s, collect_agent, seen, NULL), 0);
	assert_string_equal(seen[0].host, "node-a");
	assert_string_equal(seen[0].version, "1.0");
	assert_int_equal(seen[0].routers, 4);
	assert_int_equal(seen[0].started_us, 1000000);
	assert_int_equal(seen[0].applied_us, 5);
	assert_true(seen[0].age_us >= 0 && seen[0].age_us < 5000000);
	assert_true(seen[0].seen_us > 1700000000LL * 1000000);
	assert_string_equal(seen[1].host, "node-b");
	assert_string_equal(seen[2].host, "");
	assert_int_equal(store_newest_change(c->s, &newest, NULL), 0);
	assert_true(newest >= 0);
}

/* The lease: one holder at a time; renewed by its holder; free once expired. */
static void test_lease(void **state)
{
	struct ctx *c = *state;
	bool held;

	assert_int_equal(store_lease_take(c->s, "mon-a", 60000000, &held, NULL), 0);
	assert_true(held);
	assert_int_equal(store_lease_take(c->s, "mon-b", 60000000, &held, NULL), 0);
	assert_false(held);
	assert_int_equal(store_lease_take(c->s, "mon-a", 60000000, &held, NULL), 0);
	assert_true(held);
	/* mon-a renews with a lease already over: mon-b may take it, and then mon-a may not. */
	assert_int_equal(store_lease_take(c->s, "mon-a", -1000000, &held, NULL), 0);
	assert_true(held);
	assert_int_equal(store_lease_take(c->s, "mon-b", 60000000, &held, NULL), 0);
	assert_true(held);
	assert_int_equal(store_lease_take(c->s, "mon-a", 60000000, &held, NULL), 0);
	assert_false(held);
}

/* The tests that hold for any engine, against MariaDB. */
static int run_mariadb(void)
{
#define MY_TEST(t) cmocka_unit_test_setup_teardown(t, setup_mariadb, teardown)
	const struct CMUnitTest tests[] = {
	        MY_TEST(test_crud),
	        MY_TEST(test_ipv6_and_no_address),
	        MY_TEST(test_invalid),
	        MY_TEST(test_conflict_external),
	        MY_TEST(test_conflict_internal),
	        MY_TEST(test_conflict_update_and_id),
	        MY_TEST(test_create_statements),
	        MY_TEST(test_lookups),
	        MY_TEST(test_nested_iteration),
	        MY_TEST(test_router_status),
	        MY_TEST(test_count_status),
	        MY_TEST(test_router_counts),
	        MY_TEST(test_transactions),
	        MY_TEST(test_paging),
	        MY_TEST(test_agents),
	        MY_TEST(test_lease),
	};
#undef MY_TEST

	if (mdb_base("PRAAS_TEST_MARIADB_URL", mariadb_base, sizeof(mariadb_base)) < 0) {
		printf("1..0 # SKIP the loopback MariaDB is not running (sudo "
		       "test/mariadb/start.sh)\n");
		return 0; /* TAP: the plan "1..0 # SKIP" is the skip */
	}
	return cmocka_run_group_tests_name("store on MariaDB", tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "mariadb") == 0)
		return run_mariadb();

	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_settings, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_agents, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6_and_no_address, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_conflict_external, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_conflict_internal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_conflict_update_and_id, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_create_statements, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nested_iteration, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_router_status, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_count_status, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_router_counts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_v1, setup_dir, teardown),
	        cmocka_unit_test_setup_teardown(test_newer_refused, setup_dir, teardown),
	        cmocka_unit_test_setup_teardown(test_not_a_database, setup_dir, teardown),
	        cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_router_page_cost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_conflict_cost, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_crash_safety, setup_dir, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
