/*
 * The store gate (pat-agent/storeq.c) without a database: on MariaDB
 * (shared) work runs one piece at a time in the order given, a piece that
 * waits holding the gate while the next waits for it; work started by the
 * piece holding the gate runs at once; done() after fn; a runner step
 * through the gate gives its verdict to the runner (resume, refuse). On
 * SQLite (not shared) everything runs at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#include "storeq.h"
#include "task.h"

struct piece {
	struct storeq *q;
	char name;
	char *log;
	int wait_ms;         /* how long fn waits (gives the loop back) */
	struct piece *inner; /* started from fn, while it holds the gate */
};

static void note(char *log, char c)
{
	size_t n = strlen(log);

	log[n] = c;
	log[n + 1] = '\0';
}

static void piece_done(void *arg)
{
	struct piece *p = arg;

	note(p->log, '.');
}

static void piece_run(void *arg)
{
	struct piece *p = arg;

	note(p->log, p->name);
	if (p->wait_ms > 0)
		assert_int_equal(task_wait_fd(-1, 0, p->wait_ms), 0);
	if (p->inner)
		assert_int_equal(storeq_run(p->q, piece_run, piece_done, p->inner), 0);
	note(p->log, (char)(p->name - 'a' + 'A'));
}

static void test_fifo_one_at_a_time(void **state)
{
	struct event_base *base = event_base_new();
	struct storeq *q;
	char log[32] = "";
	struct piece a = {.name = 'a', .log = log, .wait_ms = 20};
	struct piece b = {.name = 'b', .log = log, .wait_ms = 5};
	struct piece i = {.name = 'i', .log = log};
	struct piece c = {.name = 'c', .log = log, .inner = &i};

	assert_int_equal(storeq_new(base, true, &q), 0);
	a.q = b.q = c.q = i.q = q;
	task_set_loop_running(true);
	assert_int_equal(storeq_run(q, piece_run, piece_done, &a), 0);
	assert_int_equal(storeq_run(q, piece_run, piece_done, &b), 0);
	assert_int_equal(storeq_run(q, piece_run, piece_done, &c), 0);
	/* a began and waits; b and c wait for the gate, though b's wait is shorter. */
	assert_string_equal(log, "a");
	assert_true(storeq_busy(q));
	assert_false(storeq_holding(q));
	while (storeq_busy(q))
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	/* In order, none interleaved; c's inner piece ran at once, inside c. */
	assert_string_equal(log, "aA.bB.ciI.C.");
	assert_int_equal(task_count(), 0);
	task_set_loop_running(false);
	storeq_free(q);
	event_base_free(base);
}

static void test_not_shared_at_once(void **state)
{
	struct event_base *base = event_base_new();
	struct storeq *q;
	char log[16] = "";
	struct piece a = {.name = 'a', .log = log};

	assert_int_equal(storeq_new(base, false, &q), 0);
	task_set_loop_running(true);
	assert_int_equal(storeq_run(q, piece_run, piece_done, &a), 0);
	assert_string_equal(log, "aA.");
	assert_false(storeq_busy(q));
	assert_int_equal(task_count(), 0);
	task_set_loop_running(false);
	storeq_free(q);
	event_base_free(base);
}

/* A request with a runner: step 0 through the gate (waits, then passes or refuses), step 1. */
struct req {
	struct runner run;
	struct storeq *q;
	bool refuse;
	int wait_ms;
	char log[16];
	int finished;
	bool refused;
};

static struct req *req_of(struct runner *r)
{
	return (struct req *)(void *)r;
}

static enum runner_verdict read_now(struct runner *r)
{
	struct req *q = req_of(r);

	note(q->log, 'r');
	if (q->wait_ms > 0)
		assert_int_equal(task_wait_fd(-1, 0, q->wait_ms), 0);
	if (q->refuse) {
		fault_set(&r->fault, -EBUSY, FAULT_STORE, "refused");
		return RUNNER_REFUSED;
	}
	return RUNNER_NEXT;
}

static enum runner_verdict step_read(struct runner *r)
{
	return storeq_step(req_of(r)->q, r, read_now);
}

static enum runner_verdict step_after(struct runner *r)
{
	note(req_of(r)->log, 'n');
	return RUNNER_NEXT;
}

static void on_finish(struct runner *r, const struct fault *f)
{
	struct req *q = req_of(r);

	q->finished++;
	q->refused = f != NULL;
}

static const struct runner_step steps[] = {RUNNER_STEP(step_read), RUNNER_STEP(step_after)};

static void run_req(bool shared, bool refuse, int wait_ms, const char *want_log)
{
	struct event_base *base = event_base_new();
	struct req q = {.refuse = refuse, .wait_ms = wait_ms};

	assert_int_equal(storeq_new(base, shared, &q.q), 0);
	task_set_loop_running(true);
	runner_start(&q.run, RUNNER_STEPS(steps), on_finish);
	while (storeq_busy(q.q))
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	assert_string_equal(q.log, want_log);
	assert_int_equal(q.finished, 1);
	assert_int_equal(q.refused, refuse);
	task_set_loop_running(false);
	storeq_free(q.q);
	event_base_free(base);
}

static void test_step(void **state)
{
	run_req(true, false, 10, "rn"); /* waited in a task, then resumed */
	run_req(true, true, 10, "r");   /* refused after its wait */
	run_req(true, false, 0, "rn");  /* ended before storeq_run returned */
	run_req(true, true, 0, "r");
	run_req(false, false, 0, "rn"); /* SQLite: the step itself */
	run_req(false, true, 0, "r");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fifo_one_at_a_time),
	        cmocka_unit_test(test_not_shared_at_once),
	        cmocka_unit_test(test_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
