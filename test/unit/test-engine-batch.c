/*
 * The group commit (engine_submit_*, engine_flush) against a real store:
 * changes queued together are carried out in one transaction, each
 * answered with its own verdict, in the order submitted; a refused one
 * does not fail the others; a failed commit fails them all and leaves
 * nothing behind. The routers' namespaces are absent (an empty netns_dir),
 * so the forwardings are stored DOWN and no kernel is touched: the kernel
 * half is the integration test's (test/integration/agent-group-commit.sh).
 */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api-error.h"
#include "config.h"
#include "engine.h"
#include "kernel.h"
#include "portalloc.h"
#include "store-util.h"
#include "store.h"

#define RT "router-1"

struct ctx {
	struct tmpdb db;
	char netns[64];
	struct config cfg;
	struct event_base *base;
	struct store *s;
	struct portalloc *pa;
	struct kernel *k;
	struct engine e;
};

/* One answer as done() gave it. */
struct answer {
	bool called;
	unsigned int order; /* the how-manieth answer of the flush */
	int status;         /* 0: success */
	char code[64];
	char detail[512];
};

static unsigned int answers_seen;

static void on_done(const struct fault *err, void *arg)
{
	struct answer *a = arg;

	assert_false(a->called);
	a->called = true;
	a->order = answers_seen++;
	if (err != NULL) {
		struct api_error_answer ans = api_error_of(err);

		a->status = ans.status;
		snprintf(a->code, sizeof(a->code), "%s", ans.code);
		snprintf(a->detail, sizeof(a->detail), "%s", err->detail);
	}
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *base = getenv("TMPDIR");

	assert_non_null(c);
	assert_int_equal(tmpdb_make(&c->db), 0);
	snprintf(
	        c->netns, sizeof(c->netns), "%s/praas-netns-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(c->netns));
	assert_int_equal(config_defaults(&c->cfg), 0);
	free(c->cfg.netns_dir);
	assert_non_null(c->cfg.netns_dir = strdup(c->netns));
	c->cfg.router_port_range = (struct port_range){20000, 20010};
	assert_non_null(c->base = event_base_new());
	assert_int_equal(store_open(c->db.path, &c->s, NULL), 0);
	assert_int_equal(portalloc_new(c->s, &c->cfg.router_port_range, &c->pa), 0);
	assert_int_equal(kernel_new(&c->cfg, &c->k), 0);
	c->e = (struct engine){.store = c->s, .alloc = c->pa, .kernel = c->k, .cfg = &c->cfg};
	assert_int_equal(engine_batch_start(&c->e, c->base), 0);
	answers_seen = 0;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	engine_batch_stop(&c->e);
	kernel_free(c->k);
	portalloc_free(c->pa);
	store_close(c->s);
	event_base_free(c->base);
	config_free(&c->cfg);
	tmpdb_remove(&c->db);
	(void)rmdir(c->netns);
	free(c);
	return 0;
}

static struct forwarding fwd(uint16_t ext, const char *in, uint16_t port)
{
	return fwd_make(RT, "203.0.113.1", IPPROTO_TCP, ext, ext, in, port, port);
}

static size_t count(struct ctx *c)
{
	size_t n = 0;

	assert_int_equal(store_count(c->s, RT, &n, NULL), 0);
	return n;
}

/* One create stored outside the batch under test; its id into f. */
static void stored(struct ctx *c, struct forwarding *f)
{
	struct answer a = {0};

	engine_submit_create(&c->e, f, false, on_done, &a);
	engine_flush(&c->e);
	assert_true(a.called);
	assert_int_equal(a.status, 0);
	answers_seen = 0;
}

/* A conflict refuses its change alone; the others of the batch are committed, in order. */
static void test_conflict_commits_others(void **state)
{
	struct ctx *c = *state;
	struct forwarding f[4] = {
	        fwd(1000, "10.0.0.5", 22),
	        fwd(1001, "10.0.0.6", 22),
	        fwd(1000, "10.0.0.7", 22), /* the external port of f[0] */
	        fwd(1002, "10.0.0.8", 22),
	};
	struct answer a[4] = {{0}};
	struct forwarding got;

	for (int i = 0; i < 4; i++)
		engine_submit_create(&c->e, &f[i], false, on_done, &a[i]);
	assert_int_equal(count(c), 0); /* nothing before the flush */
	engine_flush(&c->e);
	for (int i = 0; i < 4; i++) {
		assert_true(a[i].called);
		assert_int_equal(a[i].order, i);
	}
	assert_int_equal(a[0].status, 0);
	assert_int_equal(a[1].status, 0);
	assert_int_equal(a[3].status, 0);
	assert_int_equal(a[2].status, 409);
	assert_string_equal(a[2].code, "praas.port_in_use");
	/* It names the forwarding in its way: the one committed beside it. */
	assert_non_null(strstr(a[2].detail, f[0].id));
	assert_int_equal(c->e.batches, 1);
	assert_int_equal(c->e.batched, 4);
	assert_int_equal(count(c), 3);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		assert_int_equal(store_get(c->s, f[i].id, &got, NULL), 0);
		assert_int_equal(got.external.lo, f[i].external.lo);
		assert_int_equal(got.status, FWD_STATUS_DOWN); /* no namespace here */
	}
}

/* Creates, updates and deletes mixed; a missing one, an allocated pair. */
static void test_mixed_batch(void **state)
{
	struct ctx *c = *state;
	struct forwarding upd = fwd(1100, "10.0.0.5", 80), del = fwd(1101, "10.0.0.6", 80);
	struct forwarding next, alloc1 = fwd(1, "10.0.0.7", 80), alloc2 = fwd(1, "10.0.0.8", 80);
	struct answer a[5] = {{0}};
	struct forwarding got;

	stored(c, &upd);
	stored(c, &del);
	next = upd;
	next.internal.lo = next.internal.hi = 8080;
	engine_submit_update(&c->e, &next, on_done, &a[0]);
	engine_submit_delete(&c->e, del.id, on_done, &a[1]);
	engine_submit_delete(&c->e, "00000000-0000-4000-8000-000000000000", on_done, &a[2]);
	engine_submit_create(&c->e, &alloc1, true, on_done, &a[3]);
	engine_submit_create(&c->e, &alloc2, true, on_done, &a[4]);
	engine_flush(&c->e);
	assert_int_equal(a[0].status, 0);
	assert_int_equal(a[1].status, 0);
	assert_int_equal(a[2].status, 404);
	assert_string_equal(a[2].code, "praas.not_found");
	assert_int_equal(a[3].status, 0);
	assert_int_equal(a[4].status, 0);
	/* The second allocation saw the first, inside the same transaction. */
	assert_int_not_equal(alloc1.external.lo, alloc2.external.lo);
	assert_in_range(alloc1.external.lo, 20000, 20010);
	assert_in_range(alloc2.external.lo, 20000, 20010);
	assert_int_equal(store_get(c->s, upd.id, &got, NULL), 0);
	assert_int_equal(got.internal.lo, 8080);
	assert_int_equal(store_get(c->s, del.id, &got, NULL), -ENOENT);
	assert_int_equal(count(c), 3);
}

/*
 * A commit that fails (here a deferred foreign key broken by a trigger
 * fires at COMMIT, as a failed fsync would) fails every change of the
 * batch with the store's 503, and none of them stays: not the create,
 * not the update, not the delete, not an allocated port.
 */
static void test_failed_commit_fails_all(void **state)
{
	struct ctx *c = *state;
	struct forwarding upd = fwd(1200, "10.0.0.5", 80), del = fwd(1201, "10.0.0.6", 80);
	struct forwarding next, mk = fwd(1202, "10.0.0.7", 80), poison = fwd(1203, "10.0.0.8", 80);
	struct forwarding alloc = fwd(1, "10.0.0.9", 80), got, rest[11];
	struct answer a[5] = {{0}}, ra[11] = {{0}};
	sqlite3 *db;

	stored(c, &upd);
	stored(c, &del);
	assert_int_equal(sqlite3_open(c->db.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                         "CREATE TABLE gc_parent (id INTEGER PRIMARY KEY);"
	                         "CREATE TABLE gc_child (p INTEGER REFERENCES gc_parent (id)"
	                         " DEFERRABLE INITIALLY DEFERRED);"
	                         "CREATE TRIGGER gc_fail AFTER INSERT ON forwardings"
	                         " WHEN NEW.description = 'fail the commit'"
	                         " BEGIN INSERT INTO gc_child VALUES (42); END;",
	                         NULL, NULL, NULL),
	        SQLITE_OK);
	next = upd;
	next.internal.lo = next.internal.hi = 8080;
	snprintf(poison.description, sizeof(poison.description), "fail the commit");
	engine_submit_create(&c->e, &mk, false, on_done, &a[0]);
	engine_submit_update(&c->e, &next, on_done, &a[1]);
	engine_submit_delete(&c->e, del.id, on_done, &a[2]);
	engine_submit_create(&c->e, &alloc, true, on_done, &a[3]);
	engine_submit_create(&c->e, &poison, false, on_done, &a[4]);
	engine_flush(&c->e);
	for (int i = 0; i < 5; i++) {
		assert_true(a[i].called);
		assert_int_equal(a[i].status, 503);
		assert_string_equal(a[i].code, "praas.db_unavailable");
		assert_non_null(strstr(a[i].detail, "commit"));
	}
	assert_true(c->e.write_failing);
	/* Nothing half applied. */
	assert_int_equal(count(c), 2);
	assert_int_equal(store_get(c->s, upd.id, &got, NULL), 0);
	assert_int_equal(got.internal.lo, 80);
	assert_int_equal(store_get(c->s, del.id, &got, NULL), 0);

	/* The cause gone, the same changes go through; the allocator followed the rollback. */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER gc_fail", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	memset(a, 0, sizeof(a));
	answers_seen = 0;
	next = upd;
	next.internal.lo = next.internal.hi = 8080;
	mk = fwd(1202, "10.0.0.7", 80);
	alloc = fwd(1, "10.0.0.9", 80);
	engine_submit_create(&c->e, &mk, false, on_done, &a[0]);
	engine_submit_update(&c->e, &next, on_done, &a[1]);
	engine_submit_delete(&c->e, del.id, on_done, &a[2]);
	engine_submit_create(&c->e, &alloc, true, on_done, &a[3]);
	engine_flush(&c->e);
	for (int i = 0; i < 4; i++)
		assert_int_equal(a[i].status, 0);
	assert_false(c->e.write_failing);
	assert_int_equal(count(c), 3);
	/* No port leaked by the rolled-back allocation: the other 10 of the range, then none. */
	for (int i = 0; i < 11; i++) {
		rest[i] = fwd(1, "10.0.1.1", (uint16_t)(1000 + i));
		engine_submit_create(&c->e, &rest[i], true, on_done, &ra[i]);
	}
	engine_flush(&c->e);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ra[i].status, 0);
	assert_int_equal(ra[10].status, 409);
	assert_string_equal(ra[10].code, "praas.range_exhausted");
}

/* Without an event base each change is carried out at once, as before the group commit. */
static void test_unbatched_runs_at_once(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = fwd(1300, "10.0.0.5", 22);
	struct answer a = {0};

	engine_batch_stop(&c->e);
	engine_submit_create(&c->e, &f, false, on_done, &a);
	assert_true(a.called);
	assert_int_equal(a.status, 0);
	assert_int_equal(count(c), 1);
	assert_int_equal(engine_batch_start(&c->e, c->base), 0);
}

/*
 * One change at a time, the way the agent's front doors and reports.c
 * make them: submitted, carried out by the flush, answered by done() with
 * its own verdict.
 */
static void submit_one(struct ctx *c, int op, struct forwarding *f, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	if (op == 'c')
		engine_submit_create(&c->e, f, false, on_done, a);
	else if (op == 'u')
		engine_submit_update(&c->e, f, on_done, a);
	else
		engine_submit_delete(&c->e, f->id, on_done, a);
	engine_flush(&c->e);
	assert_true(a->called);
}

static void test_one_change(void **state)
{
	struct ctx *c = *state;
	struct forwarding f = fwd(1400, "10.0.0.5", 22), clash = fwd(1400, "10.0.0.6", 22);
	struct forwarding next, got;
	struct answer a;

	submit_one(c, 'c', &f, &a);
	assert_int_equal(a.status, 0);
	submit_one(c, 'c', &clash, &a);
	assert_int_equal(a.status, 409);
	assert_string_equal(a.code, "praas.port_in_use");
	next = f;
	next.internal.lo = next.internal.hi = 2222;
	submit_one(c, 'u', &next, &a);
	assert_int_equal(a.status, 0);
	assert_int_equal(store_get(c->s, f.id, &got, NULL), 0);
	assert_int_equal(got.internal.lo, 2222); /* what replaced it */
	submit_one(c, 'd', &f, &a);
	assert_int_equal(a.status, 0);
	assert_int_equal(store_get(c->s, f.id, &got, NULL), -ENOENT);
	submit_one(c, 'd', &f, &a);
	assert_int_equal(a.status, 404);
	assert_int_equal(count(c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_conflict_commits_others, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mixed_batch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failed_commit_fails_all, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unbatched_runs_at_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_change, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
