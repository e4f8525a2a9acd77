/*
 * Tasks: a function run on a stack of its own, on the event loop's thread,
 * that may wait for a descriptor without holding the loop. Inside a task,
 * task_wait_fd() suspends it and returns to the loop; a libevent event
 * resumes it when the descriptor is ready or the wait times out. Outside
 * any task the same call is a plain poll(): start-up code, the CLI and
 * tests keep working unchanged. So a blocking library made non-blocking
 * (libmariadb's _start/_cont calls) keeps its callers' code straight.
 *
 * Promises:
 * - One thread: tasks run only on the thread that calls task_start(); no
 *   data is ever shared with another thread, and a task runs until it
 *   waits or returns (no preemption), so nothing needs a lock.
 * - task_start() from the loop runs fn at once, up to its first wait; from
 *   inside a task, fn starts from the loop instead (an event), never on
 *   the caller's stack.
 * - done(arg) runs exactly once, on the loop's stack (never the task's),
 *   after fn returned and the task's stack was freed; done may start
 *   tasks.
 * - Each stack has a guard page below it: an overflow faults rather than
 *   writes over memory. Up to 8 freed stacks are kept for the next tasks
 *   (a task per group commit or read costs no mmap). Switches are
 *   annotated for AddressSanitizer and the stacks registered with
 *   valgrind, so both stay quiet.
 *
 * Not thread-safe (see above).
 */
#ifndef PRAAS_TASK_H
#define PRAAS_TASK_H

#include <stdbool.h>

struct event_base;

typedef void task_fn(void *arg);

/* Every task's usable stack, bytes (plus a guard page). */
#define TASK_STACK_SIZE (256 * 1024)

/*
 * Runs fn(arg) as a task on base's loop, then done(arg) (done may be
 * NULL). 0, or -ENOMEM/-errno (a stack could not be made: nothing ran).
 */
int task_start(struct event_base *base, task_fn *fn, task_fn *done, void *arg);

struct task;

/* Whether the caller runs inside a task; which one (NULL: none). */
bool task_inside(void);
struct task *task_self(void);
/* Tasks started and not yet done (suspended, or about to start). */
unsigned int task_count(void);

/*
 * Waits until fd is ready for events (EV_READ and/or EV_WRITE) or
 * timeout_ms passes (< 0: no timeout). Returns the events that came
 * (EV_READ/EV_WRITE), 0 on timeout, or -errno (outside a task: poll()
 * failed; inside: the event could not be added).
 */
int task_wait_fd(int fd, short events, int timeout_ms);

/*
 * Whether the loop is running: a database call outside a task then holds
 * it, which is a bug (sqldb-mariadb.c says so, loudly). The agent sets it
 * around its loop; nothing else needs it.
 */
void task_set_loop_running(bool running);
bool task_loop_running(void);

#endif
