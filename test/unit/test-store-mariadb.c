/*
 * lib/store on MariaDB and Galera (test/mariadb): what only the MariaDB
 * engine has. A primary key on every table (Galera's rule) and the schema
 * version; the URL's errors never showing the password; a connection lost
 * inside a transaction (nothing applied, the next write connects again);
 * and two stores writing one router at the same instant, on one server and
 * on two Galera nodes: of two conflicting creates exactly one is stored,
 * the other is refused (-EEXIST), never both. The change log the agents
 * follow: every write's removed and added rows under the router's
 * revision, marked as this store's or another's, trimmed to the last
 * revisions. Skipped (TAP plan 1..0) without the
 * loopback MariaDB.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "mariadb-util.h"
#include "store-util.h"
#include "store.h"

#define R1     "11111111-1111-4111-8111-111111111111"
#define GW     "203.0.113.10"
#define ROUNDS 40

static char base_single[192], base_g1[192], base_g2[192];

struct ctx {
	struct mdb mdb;
	struct store *a, *b; /* b: a second agent's store (the other Galera node) */
};

static struct store *open_ok(const char *url)
{
	struct store *s = NULL;
	char *cause = NULL;
	int r = -1;

	/* A database made on one Galera node reaches the other a moment later. */
	for (int i = 0; i < 50; i++) {
		free(cause);
		cause = NULL;
		if ((r = store_open(url, &s, &cause)) == 0)
			return s;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fail_msg("store_open %s: %d %s", url, r, cause ? cause : "");
	return NULL;
}

static int setup_on(void **state, const char *base_a, const char *base_b)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char url[256];

	if (c == NULL || mdb_create(&c->mdb, base_a) < 0)
		return -1;
	c->a = open_ok(c->mdb.url);
	snprintf(url, sizeof(url), "%s%s", base_b, c->mdb.name);
	c->b = open_ok(url);
	*state = c;
	return 0;
}

static int setup_single(void **state)
{
	return setup_on(state, base_single, base_single);
}

static int setup_galera(void **state)
{
	if (base_g1[0] == '\0' || base_g2[0] == '\0') {
		print_message("# the loopback Galera cluster is not running\n");
		skip();
	}
	return setup_on(state, base_g1, base_g2);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c == NULL)
		return 0;
	store_close(c->a);
	store_close(c->b);
	mdb_drop(&c->mdb);
	free(c);
	return 0;
}

/* One number from a query on the test's database. */
static long long query_num(const char *url, const char *sql)
{
	struct sqldb *db;
	struct sqldb_stmt *st;
	long long v;

	assert_int_equal(sqldb_open(url, NULL, &db, NULL), 0);
	assert_int_equal(sqldb_prepare(db, sql, &st), 0);
	if (sqldb_step(st) != 1)
		fail_msg("%s: %s", sql, sqldb_errmsg(db));
	v = (long long)sqldb_column_int64(st, 0);
	sqldb_finalize(st);
	sqldb_close(db);
	return v;
}

/* Galera's rule: a primary key on every table; the schema at the version this code writes. */
static void test_schema(void **state)
{
	struct ctx *c = *state;

	assert_true(query_num(c->mdb.url,
	                    "SELECT count(*) FROM information_schema.tables"
	                    " WHERE table_schema = DATABASE()") >= 3);
	assert_int_equal(query_num(c->mdb.url,
	                         "SELECT count(*) FROM information_schema.tables t"
	                         " WHERE t.table_schema = DATABASE() AND NOT EXISTS ("
	                         " SELECT 1 FROM information_schema.table_constraints k"
	                         " WHERE k.table_schema = t.table_schema"
	                         " AND k.table_name = t.table_name"
	                         " AND k.constraint_type = 'PRIMARY KEY')"),
	        0);
	assert_int_equal(query_num(c->mdb.url, "SELECT version FROM store_schema WHERE id = 1"),
	        STORE_SCHEMA_VERSION);
	/* Opening again migrates nothing and keeps the version. */
	store_close(c->b);
	c->b = open_ok(c->mdb.url);
	assert_int_equal(query_num(c->mdb.url, "SELECT version FROM store_schema WHERE id = 1"),
	        STORE_SCHEMA_VERSION);
	assert_null(store_handle(c->a));
}

/* Opens target expecting err; the message must say something and never hold secret. */
static void open_refused(const char *target, const char *password, int err, const char *secret)
{
	struct store *s = NULL;
	char *cause = NULL;

	assert_int_equal(store_open_auth(target, password, &s, &cause), err);
	assert_null(s);
	assert_non_null(cause);
	if (strstr(cause, secret))
		fail_msg("the password is in the message: %s", cause);
	print_message("# %s\n", cause);
	free(cause);
}

static void test_url_and_password(void **state)
{
	struct ctx *c = *state;
	char url[256], host[128];
	const char *at = strrchr(base_single, '@');
	struct store *s = NULL;

	/* host:port/ of the loopback server */
	snprintf(host, sizeof(host), "%s", at + 1);
	open_refused("mysql://praas@127.0.0.1", NULL, -EINVAL, "@@@");
	open_refused("mysql://praas:S3cr3t-pw@127.0.0.1:99999/x", NULL, -EINVAL, "S3cr3t-pw");
	open_refused("mysql://praas:S3cr3t-pw@127.0.0.1:3306/", NULL, -EINVAL, "S3cr3t-pw");
	open_refused("mysql://pr aas:S3cr3t-pw@127.0.0.1/db", NULL, -EINVAL, "S3cr3t-pw");
	snprintf(url, sizeof(url), "mysql://praas:S3cr3t-pw@%s%s", host, c->mdb.name);
	open_refused(url, NULL, -EACCES, "S3cr3t-pw");
	/* The password file's password replaces the URL's. */
	snprintf(url, sizeof(url), "mysql://praas:wrong@%s%s", host, c->mdb.name);
	open_refused(url, "S3cr3t-pw", -EACCES, "S3cr3t-pw");
	snprintf(url, sizeof(url), "mysql://praas@%s%s", host, c->mdb.name);
	assert_int_equal(store_open_auth(url, PRAAS_TEST_DB_PASSWORD, &s, NULL), 0);
	store_close(s);
}

static struct forwarding fwd(uint16_t ext, const char *in, uint16_t port)
{
	return fwd_make(R1, GW, IPPROTO_TCP, ext, ext, in, port, port);
}

/* Two ports wide: ext..ext+1 to in:port..port+1. */
static struct forwarding fwd2(uint16_t ext, const char *in, uint16_t port)
{
	return fwd_make(
	        R1, GW, IPPROTO_TCP, ext, (uint16_t)(ext + 1), in, port, (uint16_t)(port + 1));
}

/*
 * Kills every connection to the test's database but the killer's own.
 * KILL is asynchronous: a connection killed before (or closed by its
 * client) stays in the processlist, "Killed" or not yet gone, for as long
 * as the server takes to end it, which under load is long enough to be
 * listed here and gone at the KILL ("Unknown thread id"). Those are not
 * listed ("Killed") or, gone in between, not counted; the ids are read
 * first so one connection lists and kills.
 */
static void kill_connections(struct ctx *c)
{
	char sql[256], kill[64];
	struct sqldb *db;
	struct sqldb_stmt *st;
	long long ids[64];
	size_t nids = 0;
	int killed = 0;

	assert_int_equal(sqldb_open(c->mdb.url, NULL, &db, NULL), 0);
	snprintf(sql, sizeof(sql),
	        "SELECT id FROM information_schema.processlist WHERE db = '%s'"
	        " AND id != CONNECTION_ID() AND command != 'Killed'",
	        c->mdb.name);
	assert_int_equal(sqldb_prepare(db, sql, &st), 0);
	while (nids < sizeof(ids) / sizeof(ids[0]) && sqldb_step(st) == 1)
		ids[nids++] = (long long)sqldb_column_int64(st, 0);
	sqldb_finalize(st);
	for (size_t i = 0; i < nids; i++) {
		snprintf(kill, sizeof(kill), "KILL CONNECTION %lld", ids[i]);
		if (sqldb_exec(db, kill) == 0)
			killed++;
		else if (strstr(sqldb_errmsg(db), "Unknown thread id") == NULL)
			fail_msg("%s: %s", kill, sqldb_errmsg(db));
	}
	sqldb_close(db);
	assert_true(killed >= 1);
}

static void test_connection_lost(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = fwd(4022, "10.0.0.5", 22), g = fwd(4023, "10.0.0.6", 22), out;
	struct forwarding h = fwd(4024, "10.0.0.7", 22), k = fwd(4025, "10.0.0.8", 22);
	char *cause = NULL;
	size_t n;
	int r;

	/* Lost inside a transaction: reported, nothing of it applied. */
	assert_int_equal(store_begin(c->a, NULL), 0);
	assert_int_equal(store_insert(c->a, &f, NULL, NULL), 0);
	kill_connections(c);
	assert_int_equal(store_insert(c->a, &h, NULL, NULL), -ENOTCONN);
	/* The next write must not run on its own, outside the transaction the caller believes open.
	 */
	assert_true(store_in_transaction(c->a));
	assert_int_equal(store_insert(c->a, &k, NULL, &cause), -ENOTCONN);
	print_message("# a write after that: %s\n", cause);
	free(cause);
	cause = NULL;
	assert_int_equal(store_savepoint(c->a, NULL), -ENOTCONN);
	r = store_commit(c->a, &cause);
	print_message("# commit after the connection was killed: %d %s\n", r, cause ? cause : "");
	assert_int_equal(r, -ENOTCONN);
	free(cause);
	assert_false(store_in_transaction(c->a));
	assert_int_equal(store_get(c->a, f.id, &out, NULL), -ENOENT); /* connects again */
	assert_int_equal(store_count(c->b, NULL, &n, NULL), 0);
	assert_int_equal(n, 0); /* none of f, h, k */

	/* Lost while idle: the next write of its own connects again and is applied. */
	kill_connections(c);
	assert_false(store_unreachable(c->a)); /* lost is not given up: no stall was met */
	assert_int_equal(store_insert(c->a, &g, NULL, NULL), 0);
	assert_int_equal(store_get(c->b, g.id, &out, NULL), 0);
}

struct racer {
	struct store *s;
	pthread_barrier_t *go;
	struct forwarding f;
	int r;
};

static void *race(void *arg)
{
	struct racer *x = arg;

	pthread_barrier_wait(x->go);
	x->r = store_insert(x->s, &x->f, NULL, NULL);
	return NULL;
}

/* Galera's count of transactions that lost certification or were aborted by a replicated one. */
static long long galera_losses(const char *base)
{
	char url[256];

	snprintf(url, sizeof(url), "%spraas_admin", base);
	return query_num(url,
	        "SELECT SUM(variable_value) FROM information_schema.global_status"
	        " WHERE variable_name IN ('wsrep_local_cert_failures',"
	        " 'wsrep_local_bf_aborts')");
}

/*
 * Round i: two stores create, at the same instant, forwardings of one
 * router whose ranges overlap: external ones (even rounds) or internal
 * ones on one address (odd rounds). Exactly one is stored.
 */
static void race_rounds(struct ctx *c, bool galera)
{
	long long lost = galera ? galera_losses(base_g1) + galera_losses(base_g2) : 0;
	pthread_barrier_t go;
	pthread_t ta, tb;
	int created = 0, refused = 0;
	size_t n;

	for (int i = 0; i < ROUNDS; i++) {
		uint16_t ext = (uint16_t)(10000 + 8 * i), port = (uint16_t)(1000 + 8 * i);
		/*
		 * Overlapping ranges that start apart, so no unique index can
		 * catch them: only the conflict check, which must see the other's row.
		 */
		struct racer a = {c->a, &go, fwd2(ext, "10.0.0.5", port), 0};
		struct racer b = {c->b, &go, fwd2((uint16_t)(ext + 1), "10.0.0.6", port), 0};

		if (i % 2) /* internal ranges overlap, external ones are apart */
			b.f = fwd2((uint16_t)(ext + 4), "10.0.0.5", (uint16_t)(port + 1));
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		if (!((a.r == 0 && b.r == -EEXIST) || (a.r == -EEXIST && b.r == 0)))
			fail_msg("round %d: %d and %d (want one 0, one -EEXIST)", i, a.r, b.r);
		created++;
		refused++;
	}
	assert_int_equal(store_count(c->a, NULL, &n, NULL), 0);
	assert_int_equal(n, ROUNDS);
	assert_int_equal(store_count(c->b, NULL, &n, NULL), 0);
	assert_int_equal(n, ROUNDS);
	print_message("# %d rounds: %d created, %d refused (409)", ROUNDS, created, refused);
	if (galera)
		print_message(", %lld lost certification or were aborted and ran again",
		        galera_losses(base_g1) + galera_losses(base_g2) - lost);
	print_message("\n");
}

static void test_race_one_server(void **state)
{
	race_rounds(*state, false);
}

static void test_race_galera(void **state)
{
	race_rounds(*state, true);
}

struct rows {
	struct forwarding v[64];
	int n;
};

static int collect(const struct forwarding *f, void *arg)
{
	struct rows *r = arg;

	if (r->n == 64)
		return -E2BIG;
	r->v[r->n++] = *f;
	return 0;
}

static void same_forwarding(const struct forwarding *a, const struct forwarding *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->router_id, b->router_id);
	assert_string_equal(a->project_id, b->project_id);
	assert_true(addr_equal(&a->external_addr, &b->external_addr));
	assert_true(addr_equal(&a->internal_addr, &b->internal_addr));
	assert_int_equal(a->protocol, b->protocol);
	assert_int_equal(a->external.lo, b->external.lo);
	assert_int_equal(a->external.hi, b->external.hi);
	assert_int_equal(a->internal.lo, b->internal.lo);
	assert_int_equal(a->internal.hi, b->internal.hi);
	assert_string_equal(a->internal_port_id, b->internal_port_id);
	assert_int_equal(a->masquerade, b->masquerade);
	assert_string_equal(a->description, b->description);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
}

/* Item 6: a node's SQLite moved into MariaDB keeps every forwarding as it was. */
static void test_copy(void **state)
{
	struct ctx *c = *state;
	struct rows before = {0}, after = {0};
	struct store *lite;
	struct tmpdb t;
	char *cause = NULL;
	size_t n;

	assert_int_equal(tmpdb_make(&t), 0);
	assert_int_equal(store_open(t.path, &lite, NULL), 0);
	for (int i = 0; i < 40; i++) {
		struct forwarding f = i % 3 == 0
		        ? fwd_make(R1, "2001:db8::1", IPPROTO_UDP, (uint16_t)(6000 + i),
		                  (uint16_t)(6000 + i), "2001:db8:1::5", (uint16_t)(2000 + i),
		                  (uint16_t)(2000 + i))
		        : fwd2((uint16_t)(7000 + 4 * i), "10.0.0.5", (uint16_t)(100 + 4 * i));
		snprintf(f.description, sizeof(f.description), "forwarding %d: \"quoted\" 'and' \\",
		        i);
		snprintf(f.internal_port_id, sizeof(f.internal_port_id), "port-%d", i % 5);
		snprintf(f.project_id, sizeof(f.project_id), "project-%d", i % 2);
		f.masquerade = i % 2;
		f.status = i % 4 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
		f.created_at = 1700000000 + i;
		f.updated_at = 1700000500 + i;
		assert_int_equal(store_insert(lite, &f, NULL, NULL), 0);
	}
	assert_int_equal(store_copy(lite, c->a, &n, &cause), 0);
	assert_int_equal(n, 40);
	assert_int_equal(store_foreach_all(lite, collect, &before, NULL), 0);
	assert_int_equal(store_foreach_all(c->b, collect, &after, NULL), 0);
	assert_int_equal(after.n, 40);
	for (int i = 0; i < 40; i++)
		same_forwarding(&before.v[i], &after.v[i]);
	/* Never into a database that holds forwardings: nothing more is written. */
	assert_int_equal(store_copy(lite, c->a, &n, &cause), -EEXIST);
	print_message("# %s\n", cause);
	free(cause);
	assert_int_equal(store_count(c->b, NULL, &n, NULL), 0);
	assert_int_equal(n, 40);
	store_close(lite);
	tmpdb_remove(&t);
}

struct changes {
	struct store_change v[8];
	int n;
};

static int collect_change(const struct store_change *ch, void *arg)
{
	struct changes *c = arg;

	if (c->n == 8)
		return -E2BIG;
	c->v[c->n++] = *ch;
	return 0;
}

static void expect_change(const struct store_change *ch, uint64_t revision, bool added, bool mine,
        const struct forwarding *f)
{
	assert_int_equal(ch->revision, revision);
	assert_int_equal(ch->added, added);
	assert_int_equal(ch->mine, mine);
	same_forwarding(&ch->f, f);
}

/* Item 3: what an agent reads to apply another's changes without a rebuild. */
static void test_change_log(void **state)
{
	struct ctx *c = *state;
	struct forwarding x = fwd(5000, "10.0.0.5", 80), y = fwd(5001, "10.0.0.6", 80), x2, old;
	struct changes got = {0};
	uint64_t last;

	assert_int_equal(store_insert(c->a, &x, NULL, NULL), 0);
	assert_int_equal(store_insert(c->b, &y, NULL, NULL), 0);
	x2 = x;
	x2.internal.lo = x2.internal.hi = 8080;
	assert_int_equal(store_update(c->a, &x2, NULL, NULL), 0);
	assert_int_equal(store_delete(c->b, y.id, &old, NULL), 0);
	assert_int_equal(store_router_changes(c->a, R1, 0, 100, collect_change, &got, NULL), 0);
	assert_int_equal(got.n, 5);
	expect_change(&got.v[0], 1, true, true, &x);
	expect_change(&got.v[1], 2, true, false, &y);
	expect_change(&got.v[2], 3, false, true, &x);
	expect_change(&got.v[3], 3, true, true, &x2);
	expect_change(&got.v[4], 4, false, false, &y);
	/* The other store's view: the same rows, the other way round. */
	got.n = 0;
	assert_int_equal(store_router_changes(c->b, R1, 3, 2, collect_change, &got, NULL), 0);
	assert_int_equal(got.n, 2);
	expect_change(&got.v[0], 3, false, false, &x);
	expect_change(&got.v[1], 3, true, false, &x2);
	assert_int_equal(store_router_last_change(c->b, R1, &last, NULL), 0);
	assert_int_equal(last, 4);
	assert_int_equal(store_router_last_change(c->b, "no-such-router", &last, NULL), 0);
	assert_int_equal(last, 0);
}

struct last {
	int n;
	char router_id[2][FWD_NAME_MAX + 1];
	uint64_t revision[2];
};

static int collect_last(const char *router_id, uint64_t revision, int64_t changed_us, void *arg)
{
	struct last *l = arg;

	assert_int_equal(changed_us, 0);
	assert_true(l->n < 2);
	snprintf(l->router_id[l->n], sizeof(l->router_id[0]), "%s", router_id);
	l->revision[l->n++] = revision;
	return 0;
}

/*
 * What a start anchors its followers at: every router's newest logged
 * revision in one read, as store_router_last_change() gives each (a
 * conflict refused bumps the revision and logs nothing: not counted).
 */
static void test_last_changes(void **state)
{
	struct ctx *c = *state;
	struct forwarding x = fwd(5000, "10.0.0.5", 80), y = fwd(5001, "10.0.0.6", 80);
	struct forwarding z = fwd(5000, "10.0.0.7", 80), clash = fwd(5000, "10.0.0.8", 80);
	struct last got = {0};
	uint64_t one;

	snprintf(z.router_id, sizeof(z.router_id), "%s", "r2");
	assert_int_equal(store_last_changes(c->a, collect_last, &got, NULL), 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(store_insert(c->a, &x, NULL, NULL), 0);
	assert_int_equal(store_insert(c->b, &y, NULL, NULL), 0);
	assert_int_equal(store_insert(c->a, &z, NULL, NULL), 0);
	assert_int_equal(store_insert(c->b, &clash, NULL, NULL), -EEXIST);
	assert_int_equal(store_last_changes(c->b, collect_last, &got, NULL), 0);
	assert_int_equal(got.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_router_last_change(c->a, got.router_id[i], &one, NULL), 0);
		assert_int_equal(got.revision[i], one);
	}
	assert_string_equal(got.router_id[0], R1);
	assert_int_equal(got.revision[0], 2);
	assert_string_equal(got.router_id[1], "r2");
	assert_int_equal(got.revision[1], 1);
}

static int collect_replica(const struct store_replica *rp, void *arg)
{
	struct store_replica *v = arg;

	assert_true(v[0].age_us < 2); /* v[0].age_us counts the rows (test's use) */
	v[1 + v[0].age_us++] = *rp;
	return 0;
}

/*
 * Replicas (router_hosts): a forwarding keeps its write's revision; the
 * own write puts the replica at the router's revision only if it was up to
 * date before the transaction's bumps; applied, refused and drop write one
 * row each; a read gives the rows and the router's revision.
 */
static void test_replicas(void **state)
{
	struct ctx *c = *state;
	struct forwarding x = fwd(5000, "10.0.0.5", 80), y = fwd(5001, "10.0.0.6", 80), got;
	struct store_replica v[3];
	uint64_t rev;

	assert_int_equal(store_begin(c->a, NULL), 0);
	assert_int_equal(store_insert(c->a, &x, NULL, NULL), 0);
	assert_int_equal(store_replica_own(c->a, R1, "node-a", "qrouter-r1", NULL), 0);
	assert_int_equal(store_commit(c->a, NULL), 0);
	assert_int_equal(store_get(c->b, x.id, &got, NULL), 0);
	assert_int_equal(got.revision, 1);
	/* B's change, not applied by A; then A's own: A's replica stays behind. */
	assert_int_equal(store_insert(c->b, &y, NULL, NULL), 0);
	assert_int_equal(store_begin(c->a, NULL), 0);
	x.internal.lo = x.internal.hi = 8080;
	assert_int_equal(store_update(c->a, &x, NULL, NULL), 0);
	assert_int_equal(store_replica_own(c->a, R1, "node-a", "qrouter-r1", NULL), 0);
	assert_int_equal(store_commit(c->a, NULL), 0);
	assert_int_equal(store_get(c->b, x.id, &got, NULL), 0);
	assert_int_equal(got.revision, 3);
	assert_int_equal(
	        store_replica_refused(c->b, R1, "node-b", "qrouter-r1", 2, "EPERM", NULL), 0);
	memset(v, 0, sizeof(v));
	assert_int_equal(store_foreach_replica(c->b, R1, &rev, collect_replica, v, NULL), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(v[0].age_us, 2);
	assert_string_equal(v[1].host, "node-a");
	assert_string_equal(v[1].ns, "qrouter-r1");
	assert_int_equal(v[1].applied, 1); /* not up to date before: B's change 2 */
	assert_string_equal(v[2].host, "node-b");
	assert_int_equal(v[2].applied, 0);
	assert_int_equal(v[2].failed, 2);
	assert_string_equal(v[2].error, "EPERM");
	/* Followed: A applied up to 3; B rebuilt at 3: its refusal is gone. */
	assert_int_equal(store_replica_applied(c->a, R1, "node-a", "qrouter-r1", 3, NULL), 0);
	assert_int_equal(store_replica_applied(c->b, R1, "node-b", "qrouter-r1", 3, NULL), 0);
	memset(v, 0, sizeof(v));
	assert_int_equal(store_foreach_replica(c->a, R1, &rev, collect_replica, v, NULL), 0);
	assert_int_equal(v[1].applied, 3);
	assert_int_equal(v[2].applied, 3);
	assert_int_equal(v[2].failed, 0);
	assert_string_equal(v[2].error, "");
	/* Up to date: the own write moves it along. */
	assert_int_equal(store_begin(c->a, NULL), 0);
	assert_int_equal(store_delete(c->a, x.id, NULL, NULL), 0);
	assert_int_equal(store_replica_own(c->a, R1, "node-a", "qrouter-r1", NULL), 0);
	assert_int_equal(store_commit(c->a, NULL), 0);
	memset(v, 0, sizeof(v));
	assert_int_equal(store_foreach_replica(c->a, R1, &rev, collect_replica, v, NULL), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(v[1].applied, 4);
	/* Out: one router's row, then every row of a host. */
	assert_int_equal(store_replica_drop(c->b, R1, "node-b", NULL), 0);
	assert_int_equal(store_replica_drop(c->a, NULL, "node-a", NULL), 0);
	memset(v, 0, sizeof(v));
	assert_int_equal(store_foreach_replica(c->a, R1, &rev, collect_replica, v, NULL), 0);
	assert_int_equal(v[0].age_us, 0);
}

/* Runs sql on the test's database. */
static void exec_ok(const char *url, const char *sql)
{
	struct sqldb *db;

	assert_int_equal(sqldb_open(url, NULL, &db, NULL), 0);
	if (sqldb_exec(db, sql) < 0)
		fail_msg("%s: %s", sql, sqldb_errmsg(db));
	sqldb_close(db);
}

/*
 * The log keeps a router's last 4,096 revisions: older ones go, oldest
 * first, and only that router's. 4,400 revisions logged by SQL (a store
 * would take half a minute), then one write through the store trims.
 */
static void test_change_log_trimmed(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = fwd(6000, "10.0.0.7", 80);

	exec_ok(c->mdb.url,
	        "INSERT INTO routers (router_id, revision, changed) VALUES"
	        " ('" R1 "', 4400, 0), ('other', 10000, 0)");
	exec_ok(c->mdb.url,
	        "INSERT INTO router_changes SELECT r.router_id, seq, 1, 0, 'x', '', '', 6,"
	        " 1, 1, '', 1, 1, '', 0, '', 'DOWN', 0, 0 FROM seq_1_to_4400,"
	        " (SELECT '" R1 "' AS router_id UNION SELECT 'other') r");
	assert_int_equal(store_insert(c->a, &f, NULL, NULL), 0);
	assert_int_equal(query_num(c->mdb.url,
	                         "SELECT min(revision) FROM router_changes"
	                         " WHERE router_id = '" R1 "'"),
	        4401 - 4096);
	assert_int_equal(query_num(c->mdb.url,
	                         "SELECT max(revision) FROM router_changes"
	                         " WHERE router_id = '" R1 "'"),
	        4401);
	assert_int_equal(query_num(c->mdb.url,
	                         "SELECT count(*) FROM router_changes WHERE router_id = 'other'"),
	        4400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_schema, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_url_and_password, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_connection_lost, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_race_one_server, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_race_galera, setup_galera, teardown),
	        cmocka_unit_test_setup_teardown(test_copy, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_change_log, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_last_changes, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_change_log_trimmed, setup_single, teardown),
	        cmocka_unit_test_setup_teardown(test_replicas, setup_single, teardown),
	};

	if (mdb_base("PRAAS_TEST_MARIADB_URL", base_single, sizeof(base_single)) < 0) {
		printf("1..0 # SKIP the loopback MariaDB is not running (sudo "
		       "test/mariadb/start.sh)\n");
		return 0; /* TAP: the plan "1..0 # SKIP" is the skip */
	}
	if (mdb_base("PRAAS_TEST_GALERA_URL1", base_g1, sizeof(base_g1)) < 0 ||
	        mdb_base("PRAAS_TEST_GALERA_URL2", base_g2, sizeof(base_g2)) < 0)
		base_g1[0] = base_g2[0] = '\0';
	return cmocka_run_group_tests_name("store on MariaDB and Galera", tests, NULL, NULL);
}
