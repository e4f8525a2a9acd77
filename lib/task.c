/*
 * Tasks on the loop's thread (task.h): ucontext stacks, one libevent event
 * per suspended task. The loop's own context is saved at each resume, so
 * a task always returns to whoever resumed it: the loop (a task never
 * resumes another; task_start() from a task defers to the loop).
 */
#include "task.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "praas-build.h"

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0
#define VALGRIND_STACK_DEREGISTER(id)   ((void)(id))
#endif

/* AddressSanitizer must be told of every stack switch, or it reports the task's frames as bad. */
#if defined(__SANITIZE_ADDRESS__)
#define TASK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TASK_ASAN 1
#endif
#endif
#ifdef TASK_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define switch_start(fake, bottom, size)  __sanitizer_start_switch_fiber(fake, bottom, size)
#define switch_finish(fake, bottom, size) __sanitizer_finish_switch_fiber(fake, bottom, size)
/* Instrumented frames are larger: the same code needs more stack. */
#define STACK_SIZE (4 * TASK_STACK_SIZE)
#else
#define switch_start(fake, bottom, size)  ((void)(fake), (void)(bottom), (void)(size))
#define switch_finish(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define STACK_SIZE                        TASK_STACK_SIZE
#endif

/* Stacks kept for the next tasks: a task per flush or read must not cost an mmap and a munmap. */
#define STACKS_KEPT 8

struct task {
	ucontext_t ctx;
	struct event_base *base;
	task_fn *fn, *done;
	void *arg;
	void *map; /* guard page, then the stack */
	size_t map_size;
	unsigned int valgrind_id;
	struct event *ev; /* the wait under way */
	int result;       /* what woke the task: EV_READ/EV_WRITE, 0 for the timeout */
	bool finished;
	void *fake_stack; /* AddressSanitizer's, while suspended */
};

/* Per thread: a thread that never starts a task (a database's helper) is never inside one. */
static _Thread_local ucontext_t loop_ctx; /* the loop's, saved by the resume under way */
static _Thread_local struct task *current;
static unsigned int ntasks;
static bool loop_running;
/* The loop's stack, as AddressSanitizer reports it on the first switch into a task. */
static _Thread_local const void *loop_bottom;
static _Thread_local size_t loop_size;

/* A stack with its guard page, as mapped. */
struct stack {
	void *map;
	unsigned int valgrind_id;
};

static _Thread_local struct stack kept[STACKS_KEPT];
static _Thread_local unsigned int nkept;

bool task_inside(void)
{
	return current != NULL;
}

struct task *task_self(void)
{
	return current;
}

unsigned int task_count(void)
{
	return ntasks;
}

void task_set_loop_running(bool running)
{
	loop_running = running;
}

bool task_loop_running(void)
{
	return loop_running;
}

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

static size_t map_size(void)
{
	return page_size() + STACK_SIZE;
}

/* A stack: one kept, or a new mapping (guard page below, registered with valgrind). */
static int stack_take(struct stack *s)
{
	size_t guard = page_size();

	if (nkept > 0) {
		*s = kept[--nkept];
#ifdef TASK_ASAN
		/* The frames of the task it ran left their redzones' poison behind. */
		ASAN_UNPOISON_MEMORY_REGION((char *)s->map + guard, STACK_SIZE);
#endif
		return 0;
	}
	s->map = mmap(NULL, map_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->map == MAP_FAILED)
		return -errno;
	if (mprotect(s->map, guard, PROT_NONE) < 0) {
		int r = -errno;

		if (munmap(s->map, map_size()) < 0)
			abort(); /* only a wrong address fails: a bug */
		return r;
	}
	s->valgrind_id =
	        VALGRIND_STACK_REGISTER((char *)s->map + guard, (char *)s->map + map_size());
	return 0;
}

static void stack_give(const struct stack *s)
{
	if (nkept < STACKS_KEPT) {
		kept[nkept++] = *s;
		return;
	}
	VALGRIND_STACK_DEREGISTER(s->valgrind_id);
	if (munmap(s->map, map_size()) < 0)
		abort(); /* only a wrong address fails: a bug */
}

static void task_free(struct task *t)
{
	if (t->map != NULL)
		stack_give(&(struct stack){.map = t->map, .valgrind_id = t->valgrind_id});
	if (t->ev)
		event_free(t->ev);
	free(t);
}

/* On the loop's stack, after the task's function returned. */
static void task_end(struct task *t)
{
	task_fn *done = t->done;
	void *arg = t->arg;

	task_free(t);
	ntasks--;
	if (done)
		done(arg);
}

/* From the loop (never from a task): runs t until it waits or returns. */
static void task_resume(struct task *t)
{
	void *fake = NULL;

	if (current != NULL)
		abort(); /* a task resuming another would lose its own context */
	current = t;
	switch_start(&fake, (char *)t->map + page_size(), t->map_size - page_size());
	if (swapcontext(&loop_ctx, &t->ctx) < 0)
		abort(); /* cannot fail with a context made by makecontext */
	switch_finish(fake, NULL, NULL);
	current = NULL;
	if (t->finished)
		task_end(t);
}

/* The task's side of a switch back to the loop; returns when resumed. */
static void task_suspend(struct task *t)
{
	switch_start(&t->fake_stack, loop_bottom, loop_size);
	if (swapcontext(&t->ctx, &loop_ctx) < 0)
		abort();
	switch_finish(t->fake_stack, &loop_bottom, &loop_size);
}

static void task_entry(void)
{
	struct task *t = current;

	switch_finish(NULL, &loop_bottom, &loop_size);
	t->fn(t->arg);
	t->finished = true;
	/* NULL: this stack is left for good; its fake frames go. */
	switch_start(NULL, loop_bottom, loop_size);
	if (setcontext(&loop_ctx) < 0)
		abort();
}

static void task_begin(evutil_socket_t fd, short what, void *arg)
{
	task_resume(arg);
}

int task_start(struct event_base *base, task_fn *fn, task_fn *done, void *arg)
{
	static const struct timeval now = {0, 0};
	size_t guard = page_size();
	struct task *t = calloc(1, sizeof(*t));
	struct stack st = {0};
	int r;

	if (t == NULL)
		return -ENOMEM;
	t->base = base;
	t->fn = fn;
	t->done = done;
	t->arg = arg;
	t->map_size = map_size();
	if ((r = stack_take(&st)) < 0) {
		task_free(t);
		return r;
	}
	t->map = st.map;
	t->valgrind_id = st.valgrind_id;
	if (getcontext(&t->ctx) < 0) {
		r = -errno;
		task_free(t);
		return r;
	}
	t->ctx.uc_stack.ss_sp = (char *)t->map + guard;
	t->ctx.uc_stack.ss_size = STACK_SIZE;
	t->ctx.uc_link = NULL; /* task_entry never returns: it switches back itself */
	makecontext(&t->ctx, task_entry, 0);
	ntasks++;
	if (current == NULL) {
		task_resume(t);
		return 0;
	}
	/* From a task: the new one starts from the loop, on its next turn. */
	if (event_base_once(base, -1, EV_TIMEOUT, task_begin, t, &now) < 0) {
		ntasks--;
		task_free(t);
		return -ENOMEM;
	}
	return 0;
}

static void task_wake(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;

	t->result = what & (EV_READ | EV_WRITE);
	task_resume(t);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Outside a task: the caller's thread waits, as a blocking call would. */
static int wait_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd};
	struct timespec t0;
	int n, left = timeout_ms, r = 0;

	if (events & EV_READ)
		p.events |= POLLIN;
	if (events & EV_WRITE)
		p.events |= POLLOUT;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = poll(&p, 1, left)) < 0) {
		if (errno != EINTR)
			return -errno;
		if (timeout_ms >= 0 && (left = timeout_ms - (int)ms_since(&t0)) < 0)
			left = 0;
	}
	if (n == 0)
		return 0;
	/* An error or a hang-up is news to both: the next read or write says which. */
	if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && (events & EV_READ))
		r |= EV_READ;
	if ((p.revents & (POLLOUT | POLLERR | POLLHUP)) && (events & EV_WRITE))
		r |= EV_WRITE;
	return r;
}

int task_wait_fd(int fd, short events, int timeout_ms)
{
	struct task *t = current;
	struct timeval tv;

	if (t == NULL)
		return wait_poll(fd, events, timeout_ms);
	if (t->ev == NULL) {
		if ((t->ev = event_new(t->base, fd, events, task_wake, t)) == NULL)
			return -ENOMEM;
	} else {
		event_del(t->ev);
		if (event_assign(t->ev, t->base, fd, events, task_wake, t) < 0)
			return -EINVAL;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (event_add(t->ev, timeout_ms >= 0 ? &tv : NULL) < 0)
		return -ENOMEM;
	task_suspend(t);
	return t->result;
}
