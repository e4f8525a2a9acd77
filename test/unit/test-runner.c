/*
 * The runner (pat-agent/runner.c): steps run in table order, a waiting
 * step resumes the chain later (or before it returns), a refusal stops
 * it, finish() is called exactly once. No network, no agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control-handlers.h"
#include "runner.h"

/* A request as a front door would hold one: the runner embedded, not first. */
struct req {
	int before;
	struct runner run;
	char log[128];     /* the steps that ran, in order */
	int finished;      /* how many times finish() ran */
	struct fault seen; /* what finish() got */
	bool seen_fault;
	int wait_at; /* the step index that waits; -1: none */
	int refuse_at;
	bool answer_inline; /* the waiting step is answered before it returns */
	bool refuse_inline;
	int answered_at;
};

static void note(struct runner *r, const char *name)
{
	struct req *q = runner_of(r, struct req, run);

	strncat(q->log, name, sizeof(q->log) - strlen(q->log) - 1);
}

static enum runner_verdict step(struct runner *r, int i, const char *name)
{
	struct req *q = runner_of(r, struct req, run);
	struct fault f;

	note(r, name);
	if (i == q->refuse_at)
		return fault_set(&r->fault, -EPERM, FAULT_PROJECT, "step %s refused", name),
		       RUNNER_REFUSED;
	if (i == q->answered_at)
		return RUNNER_ANSWERED;
	if (i != q->wait_at)
		return RUNNER_NEXT;
	if (q->answer_inline)
		runner_resume(r);
	if (q->refuse_inline)
		runner_refuse(r, (fault_set(&f, -EIO, FAULT_NEUTRON, "inline no"), &f));
	return RUNNER_WAIT;
}

static enum runner_verdict step_a(struct runner *r)
{
	return step(r, 0, "a");
}

static enum runner_verdict step_b(struct runner *r)
{
	return step(r, 1, "b");
}

static enum runner_verdict step_c(struct runner *r)
{
	return step(r, 2, "c");
}

static const struct runner_step steps[] = {{"a", step_a}, {"b", step_b}, {"c", step_c}};

static void on_finish(struct runner *r, const struct fault *fault)
{
	struct req *q = runner_of(r, struct req, run);

	q->finished++;
	q->seen_fault = fault != NULL;
	if (fault != NULL)
		q->seen = *fault;
	note(r, ".");
}

static void init(struct req *q)
{
	memset(q, 0, sizeof(*q));
	q->wait_at = q->refuse_at = q->answered_at = -1;
}

static void test_order(void **state)
{
	struct req q;

	init(&q);
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "abc.");
	assert_int_equal(q.finished, 1);
	assert_false(q.seen_fault);
	assert_string_equal(runner_step_name(&q.run), "done");
}

static void test_wait_resume(void **state)
{
	struct req q;

	init(&q);
	q.wait_at = 1;
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "ab");
	assert_int_equal(q.finished, 0);
	assert_string_equal(runner_step_name(&q.run), "b");
	runner_resume(&q.run);
	assert_string_equal(q.log, "abc.");
	assert_int_equal(q.finished, 1);
	assert_false(q.seen_fault);
}

static void test_answer_before_return(void **state)
{
	struct req q;

	init(&q);
	q.wait_at = 0;
	q.answer_inline = true;
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "abc.");
	assert_int_equal(q.finished, 1);
	init(&q);
	q.wait_at = 0;
	q.refuse_inline = true;
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "a.");
	assert_int_equal(q.finished, 1);
	assert_true(q.seen_fault);
	assert_int_equal(q.seen.cause, FAULT_NEUTRON);
	assert_string_equal(q.seen.detail, "inline no");
}

static void test_refused_stops(void **state)
{
	struct req q;
	struct fault f;

	init(&q);
	q.refuse_at = 1;
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "ab.");
	assert_int_equal(q.finished, 1);
	assert_true(q.seen_fault);
	assert_int_equal(q.seen.err, -EPERM);
	assert_int_equal(q.seen.cause, FAULT_PROJECT);
	assert_string_equal(q.seen.detail, "step b refused");
	/* A wait answered with a refusal stops the chain as well. */
	init(&q);
	q.wait_at = 0;
	runner_start(&q.run, steps, 3, on_finish);
	fault_set(&f, -ENOENT, FAULT_ROUTER, "no router");
	runner_refuse(&q.run, &f);
	assert_string_equal(q.log, "a.");
	assert_int_equal(q.finished, 1);
	assert_int_equal(q.seen.err, -ENOENT);
	assert_string_equal(q.seen.detail, "no router");
}

static void test_answered_by_step(void **state)
{
	struct req q;

	init(&q);
	q.answered_at = 1;
	runner_start(&q.run, steps, 3, on_finish);
	assert_string_equal(q.log, "ab");
	assert_int_equal(q.finished, 0);
}

/* The control door: every op but ping runs through the runner, each by its own table line. */
static void test_control_plans(void **state)
{
	for (int op = 0; op < IPC_OP_COUNT; op++) {
		const struct control_plan *p = control_handlers_plan(op);

		if (op == IPC_OP_PING) {
			assert_null(p);
			continue;
		}
		assert_non_null(p);
		assert_true(p->nsteps > 0);
		/* The last step carries the op out: step_<op>. */
		assert_string_equal(p->steps[p->nsteps - 1].name + strlen("step_"), p->name);
		for (size_t i = 0; i < p->nsteps; i++)
			assert_non_null(p->steps[i].run);
	}
	/* A list checks its fields before it reads the store. */
	assert_string_equal(control_handlers_plan(IPC_OP_LIST)->steps[0].name, "step_check_list");
	assert_null(control_handlers_plan(IPC_OP_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order),
	        cmocka_unit_test(test_wait_resume),
	        cmocka_unit_test(test_answer_before_return),
	        cmocka_unit_test(test_refused_stops),
	        cmocka_unit_test(test_answered_by_step),
	        cmocka_unit_test(test_control_plans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
