/*
 * Tasks (lib/task.c): two tasks waiting on descriptors interleave on one
 * loop, each resumed by its own descriptor; a wait times out; done() runs
 * once, after the function, with the stack gone (task_count; valgrind
 * and ASan runs check the frees and the switches); a task started from a
 * task starts from the loop; a done() may start the next task of a queue;
 * outside a task a wait is a plain poll().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "task.h"

struct queue;

struct waiter {
	int fd;         /* read end it waits on */
	int timeout_ms; /* -1: none */
	char name;
	char *log; /* shared: what happened, in order */
	int got;   /* what the wait returned */
	int done;  /* how many times done() ran */
	bool inside;
	struct queue *q; /* test_done_starts_next: the queue it belongs to */
};

static void note(char *log, char c)
{
	size_t n = strlen(log);

	log[n] = c;
	log[n + 1] = '\0';
}

static void wait_once(void *arg)
{
	struct waiter *w = arg;
	char byte;

	w->inside = task_inside();
	note(w->log, w->name);
	w->got = task_wait_fd(w->fd, EV_READ, w->timeout_ms);
	if (w->got & EV_READ)
		assert_int_equal(read(w->fd, &byte, 1), 1);
	note(w->log, (char)(w->name - 'a' + 'A')); /* capital: it woke */
}

static void waiter_done(void *arg)
{
	struct waiter *w = arg;

	assert_false(task_inside());
	w->done++;
	note(w->log, '.');
}

static void write_byte(evutil_socket_t fd, short what, void *arg)
{
	assert_int_equal(write(*(int *)arg, "x", 1), 1);
}

static void test_interleave(void **state)
{
	struct event_base *base = event_base_new();
	int pa[2], pb[2];
	char log[32] = "";
	struct waiter a = {.timeout_ms = -1, .name = 'a', .log = log};
	struct waiter b = {.timeout_ms = -1, .name = 'b', .log = log};
	struct timeval t10 = {0, 10000}, t30 = {0, 30000};

	assert_non_null(base);
	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	a.fd = pa[0];
	b.fd = pb[0];
	assert_int_equal(task_start(base, wait_once, waiter_done, &a), 0);
	assert_int_equal(task_start(base, wait_once, waiter_done, &b), 0);
	/* Both ran up to their wait, on the caller's turn; neither is done. */
	assert_string_equal(log, "ab");
	assert_int_equal(task_count(), 2);
	assert_true(a.inside && b.inside);
	assert_false(task_inside());
	/* b's descriptor is ready first: b goes on while a still waits. */
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, write_byte, &pb[1], &t10), 0);
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, write_byte, &pa[1], &t30), 0);
	assert_int_equal(event_base_dispatch(base), 1); /* 1: no events left */
	assert_string_equal(log, "abB.A.");
	assert_int_equal(a.got, EV_READ);
	assert_int_equal(b.got, EV_READ);
	assert_int_equal(a.done, 1);
	assert_int_equal(b.done, 1);
	assert_int_equal(task_count(), 0);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	event_base_free(base);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_timeout(void **state)
{
	struct event_base *base = event_base_new();
	int p[2];
	char log[32] = "";
	struct waiter a = {.timeout_ms = 50, .name = 'a', .log = log};
	struct timespec t0;
	long ms;

	assert_int_equal(pipe(p), 0);
	a.fd = p[0];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(task_start(base, wait_once, waiter_done, &a), 0);
	assert_int_equal(a.done, 0);
	assert_int_equal(event_base_dispatch(base), 1); /* 1: no events left */
	ms = ms_since(&t0);
	assert_int_equal(a.got, 0); /* the timeout, nothing to read */
	assert_int_equal(a.done, 1);
	assert_true(ms >= 45 && ms < 1000);
	assert_string_equal(log, "aA.");
	assert_int_equal(task_count(), 0);
	close(p[0]);
	close(p[1]);
	event_base_free(base);
}

/* A queue of tasks run one at a time: each done() starts the next. */
struct queue {
	struct event_base *base;
	int fd;
	char log[32];
	int next, n;
	struct waiter w[3];
};

static void queue_done(void *arg);

static void queue_next(struct queue *q)
{
	struct waiter *w;

	if (q->next == q->n)
		return;
	w = &q->w[q->next++];
	w->fd = q->fd;
	w->timeout_ms = 10; /* nothing comes: each waits its timeout */
	w->name = (char)('a' + q->next - 1);
	w->log = q->log;
	w->q = q;
	assert_int_equal(task_start(q->base, wait_once, queue_done, w), 0);
}

static void queue_done(void *arg)
{
	struct queue *q = ((struct waiter *)arg)->q;

	assert_false(task_inside());
	note(q->log, '.');
	queue_next(q);
}

static void test_done_starts_next(void **state)
{
	struct queue q = {.base = event_base_new(), .n = 3};
	int p[2];

	assert_int_equal(pipe(p), 0);
	q.fd = p[0];
	queue_next(&q);
	assert_int_equal(event_base_dispatch(q.base), 1); /* 1: no events left */
	/* One at a time: each began after the one before it was done. */
	assert_string_equal(q.log, "aA.bB.cC.");
	assert_int_equal(task_count(), 0);
	close(p[0]);
	close(p[1]);
	event_base_free(q.base);
}

struct nested {
	struct event_base *base;
	char log[16];
	struct waiter inner;
	int p[2];
};

static void outer_fn(void *arg)
{
	struct nested *n = arg;

	note(n->log, 'o');
	assert_int_equal(task_start(n->base, wait_once, waiter_done, &n->inner), 0);
	/* Deferred to the loop: it has not run on this stack. */
	assert_string_equal(n->log, "o");
	assert_int_equal(task_count(), 2);
	note(n->log, 'O');
}

static void test_start_from_task(void **state)
{
	struct nested n = {.base = event_base_new()};

	assert_int_equal(pipe(n.p), 0);
	n.inner = (struct waiter){.fd = n.p[0], .timeout_ms = 10, .name = 'i', .log = n.log};
	assert_int_equal(task_start(n.base, outer_fn, NULL, &n), 0);
	assert_string_equal(n.log, "oO");
	assert_int_equal(event_base_dispatch(n.base), 1); /* 1: no events left */
	assert_string_equal(n.log, "oOiI.");
	assert_int_equal(n.inner.done, 1);
	assert_int_equal(task_count(), 0);
	close(n.p[0]);
	close(n.p[1]);
	event_base_free(n.base);
}

/* Deep enough frames to use most of a stack: the guard page is not reached by honest use. */
static int deep(int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	return n == 0 ? buf[0] : deep(n - 1) + buf[0];
}

static void use_stack(void *arg)
{
	*(int *)arg = deep(100);
}

static void test_stack(void **state)
{
	struct event_base *base = event_base_new();
	int r = -1;

	assert_int_equal(task_start(base, use_stack, NULL, &r), 0);
	assert_int_equal(r, 5050);
	assert_int_equal(task_count(), 0);
	event_base_free(base);
}

static void test_outside(void **state)
{
	int p[2];
	struct timespec t0;

	assert_int_equal(pipe(p), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(task_wait_fd(p[0], EV_READ, 30), 0);
	assert_true(ms_since(&t0) >= 25);
	assert_int_equal(task_wait_fd(p[1], EV_WRITE, 30), EV_WRITE);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(task_wait_fd(p[0], EV_READ | EV_WRITE, -1), EV_READ);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_interleave),
	        cmocka_unit_test(test_timeout),
	        cmocka_unit_test(test_done_starts_next),
	        cmocka_unit_test(test_start_from_task),
	        cmocka_unit_test(test_stack),
	        cmocka_unit_test(test_outside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
