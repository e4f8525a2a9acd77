#include "runner.h"

/* Where the runner is; a step's answer that comes before it returns is kept until it does. */
enum {
	IDLE,     /* between steps, or waiting for an answer */
	IN_STEP,  /* a step is running */
	PASSED,   /* the running step's wait was answered: passed */
	REFUSING, /* the running step's wait was answered: refused */
};

static void run(struct runner *r)
{
	enum runner_verdict v;

	while (r->at < r->nsteps) {
		r->state = IN_STEP;
		v = r->steps[r->at].run(r);
		if (v == RUNNER_ANSWERED)
			return;
		if (v == RUNNER_WAIT && r->state == IN_STEP) {
			r->state = IDLE;
			return;
		}
		if (v == RUNNER_REFUSED || (v == RUNNER_WAIT && r->state == REFUSING)) {
			r->state = IDLE;
			r->finish(r, &r->fault);
			return;
		}
		r->at++;
	}
	r->state = IDLE;
	r->finish(r, NULL);
}

void runner_start(
        struct runner *r, const struct runner_step *steps, size_t n, runner_finish_fn *finish)
{
	r->steps = steps;
	r->nsteps = n;
	r->at = 0;
	r->finish = finish;
	r->state = IDLE;
	run(r);
}

void runner_resume(struct runner *r)
{
	if (r->state == IN_STEP) {
		r->state = PASSED;
		return;
	}
	r->at++;
	run(r);
}

void runner_refuse(struct runner *r, const struct fault *fault)
{
	if (fault != &r->fault)
		r->fault = *fault;
	if (r->state == IN_STEP) {
		r->state = REFUSING;
		return;
	}
	r->finish(r, &r->fault);
}

const char *runner_step_name(const struct runner *r)
{
	return r->at < r->nsteps ? r->steps[r->at].name : "done";
}
