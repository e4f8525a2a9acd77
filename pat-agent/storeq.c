/*
 * The store gate (storeq.h): a FIFO of work, the head running as a task;
 * its done() starts the next.
 */
#include "storeq.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "array-grow.h"
#include "fault.h"
#include "log.h"
#include "task.h"

struct storeq_work {
	storeq_fn *fn, *done;
	void *arg;
};

struct storeq {
	struct event_base *base;
	bool shared;
	struct storeq_work *v; /* queued: v[head..head+n) */
	size_t head, n, cap;
	bool running;      /* the head's task is out */
	struct task *task; /* its task, once it began */
};

int storeq_new(struct event_base *base, bool shared, struct storeq **out)
{
	struct storeq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return -ENOMEM;
	q->base = base;
	q->shared = shared;
	*out = q;
	return 0;
}

void storeq_free(struct storeq *q)
{
	if (q == NULL)
		return;
	if (q->running || q->n > 0)
		log_warnx("The store gate freed with %zu pieces of work left", q->n);
	free(q->v);
	free(q);
}

bool storeq_busy(const struct storeq *q)
{
	return q->running || q->n > 0;
}

bool storeq_holding(const struct storeq *q)
{
	return q->running && q->task != NULL && task_self() == q->task;
}

static void start_next(struct storeq *q);

/* The task of the head is over: its done, then the next. */
static void head_done(void *arg)
{
	struct storeq *q = arg;
	struct storeq_work w = q->v[q->head];

	q->head++;
	q->n--;
	if (q->n == 0)
		q->head = 0;
	q->running = false;
	q->task = NULL;
	if (w.done)
		w.done(w.arg);
	start_next(q);
}

static void head_run(void *arg)
{
	struct storeq *q = arg;
	struct storeq_work *w = &q->v[q->head];

	q->task = task_self();
	w->fn(w->arg);
}

static void start_next(struct storeq *q)
{
	int r;

	while (!q->running && q->n > 0) {
		q->running = true;
		if ((r = task_start(q->base, head_run, head_done, q)) == 0)
			return;
		/* No stack for it: it runs here, holding the loop, rather than not at all. */
		log_warnx("The store gate cannot start a task (%s): running on the loop",
		        strerror(-r));
		head_run(q);
		head_done(q);
	}
}

int storeq_run(struct storeq *q, storeq_fn *fn, storeq_fn *done, void *arg)
{
	struct storeq_work *v;

	/* Before the loop runs (start-up) nothing else waits: polling in place is right. */
	if (!q->shared || !task_loop_running() || storeq_holding(q)) {
		fn(arg);
		if (done)
			done(arg);
		return 0;
	}
	if (q->head > 0 && q->head + q->n == q->cap) { /* room at the front: move down */
		memmove(q->v, q->v + q->head, q->n * sizeof(*q->v));
		q->head = 0;
	}
	if ((v = array_grow(q->v, &q->cap, q->head + q->n, sizeof(*v), 16)) == NULL)
		return -ENOMEM;
	q->v = v;
	q->v[q->head + q->n++] = (struct storeq_work){.fn = fn, .done = done, .arg = arg};
	start_next(q);
	return 0;
}

/* A runner's step in the gate. */
struct deferred {
	struct runner *r;
	runner_step_fn *step;
	enum runner_verdict verdict;
};

/* The step storeq_step() is starting, and what it said if it ended before storeq_run returned. */
static struct deferred *starting;
static enum runner_verdict inline_verdict;

static void step_run(void *arg)
{
	struct deferred *d = arg;

	d->verdict = d->step(d->r);
}

static void step_done(void *arg)
{
	struct deferred *d = arg;
	struct runner *r = d->r;
	enum runner_verdict v = d->verdict;
	bool inside_start = d == starting;

	free(d);
	if (inside_start) { /* within storeq_step(): it returns the verdict itself */
		starting = NULL;
		inline_verdict = v;
		return;
	}
	/* A step that answered freed the request; one that waits goes on by itself. */
	if (v == RUNNER_NEXT)
		runner_resume(r);
	else if (v == RUNNER_REFUSED)
		runner_refuse(r, &r->fault);
}

enum runner_verdict storeq_step(struct storeq *q, struct runner *r, runner_step_fn *step)
{
	struct deferred *d, *outer = starting;
	enum runner_verdict outer_verdict = inline_verdict, v = RUNNER_WAIT;

	if (!q->shared) /* SQLite: the step as it was, nothing allocated */
		return step(r);
	if ((d = malloc(sizeof(*d))) == NULL) {
		fault_no_memory(&r->fault);
		return RUNNER_REFUSED;
	}
	*d = (struct deferred){.r = r, .step = step, .verdict = RUNNER_WAIT};
	starting = d;
	if (storeq_run(q, step_run, step_done, d) < 0) {
		free(d);
		fault_no_memory(&r->fault);
		v = RUNNER_REFUSED;
	} else if (starting == NULL) {
		v = inline_verdict; /* it ran to its end already */
	}
	starting = outer;
	inline_verdict = outer_verdict;
	return v;
}

void storeq_drain(struct storeq *q)
{
	while (q != NULL && storeq_busy(q))
		if (event_base_loop(q->base, EVLOOP_ONCE) < 0) {
			log_warnx("The event loop failed while the store gate drained");
			return;
		}
}
