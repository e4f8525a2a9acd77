/*
 * Carries one request through a table of steps (authenticate, resolve the
 * router, resolve the target, validate, commit...). A step may finish at
 * once or wait for OpenStack or the group commit and resume later; the
 * runner then goes on with the next step.
 *
 * What it promises:
 * - Steps run in table order, each at most once, and none after one
 *   refused: the first refusal ends the request.
 * - finish() is called exactly once, after the last step passed (fault
 *   NULL) or with the refusal, unless a step said it answered the request
 *   itself (RUNNER_ANSWERED). After finish() the runner is not touched
 *   again, so finish() may free what holds it.
 * - A waiting step may be answered before it returns (a lookup that was
 *   cached after all): the runner goes on as if the answer came later.
 */
#ifndef PRAAS_RUNNER_H
#define PRAAS_RUNNER_H

#include <stddef.h>

#include "fault.h"

struct runner;

/* What a step says when it returns. */
enum runner_verdict {
	RUNNER_NEXT,     /* passed: on to the next step */
	RUNNER_WAIT,     /* runner_resume() or runner_refuse() will follow */
	RUNNER_REFUSED,  /* runner->fault says why; the request ends */
	RUNNER_ANSWERED, /* the step answered (and freed) the request; stop here */
};

typedef enum runner_verdict runner_step_fn(struct runner *r);
/* fault NULL: every step passed. */
typedef void runner_finish_fn(struct runner *r, const struct fault *fault);

struct runner_step {
	const char *name; /* for logs and tests */
	runner_step_fn *run;
};

struct runner {
	const struct runner_step *steps;
	size_t nsteps;
	size_t at; /* the step running or waited for */
	runner_finish_fn *finish;
	struct fault fault; /* a step refusing fills it */
	int state;          /* private */
};

/* A table line for step function fn, named after it; a table's steps and length. */
/* clang-format off */
#define RUNNER_STEP(fn) {#fn, fn}
#define RUNNER_STEPS(t) t, sizeof(t) / sizeof((t)[0])
/* clang-format on */

/* Runs steps[0..n) on r, then finish. r is embedded in the request it carries. */
void runner_start(
        struct runner *r, const struct runner_step *steps, size_t n, runner_finish_fn *finish);
/* The waiting step passed: on to the next. */
void runner_resume(struct runner *r);
/* The waiting step refused: finish with fault (copied). */
void runner_refuse(struct runner *r, const struct fault *fault);

/* The name of the step running or waited for ("done" past the last). */
const char *runner_step_name(const struct runner *r);

/* The request that embeds r as member, as in the kernel's container_of. */
#define runner_of(r, type, member) ((type *)(void *)((char *)(r)-offsetof(type, member)))

#endif
