/*
 * The store gate: every piece of the pat-agent's work that touches the
 * store goes through it. On MariaDB each runs as a task (lib/task.h), one
 * at a time in the order given, so a statement waiting for the server
 * gives the loop back (/healthz, /metrics, other clients go on) and a
 * transaction under way never interleaves with another's statements. On
 * SQLite (local, no waits worth a task) the same call runs the work at
 * once, synchronously: single-node behaviour and speed are unchanged.
 *
 * Promises:
 * - fn(arg) runs with the store to itself; then done(arg) runs on the
 *   loop (done may be NULL). Both exactly once, unless storeq_run()
 *   returned an error (then neither ran).
 * - Called from inside the gate's own work (a task holding the store), or
 *   while the loop is not running (start-up, shutdown), fn and done run at
 *   once: the caller already holds the store, or nothing else could run.
 * - What fn and done use must outlive them: a request whose client went
 *   away while its work is queued or suspended is kept (orphaned) until
 *   done() runs, never freed under the task.
 * - storeq_drain() (shutdown) runs the loop until nothing is queued or
 *   running, so nothing is abandoned mid-transaction.
 */
#ifndef PRAAS_STOREQ_H
#define PRAAS_STOREQ_H

#include <stdbool.h>

#include "runner.h"

struct event_base;
struct storeq;

typedef void storeq_fn(void *arg);

/* shared: the store is MariaDB (tasks); false: SQLite (at once). 0 or -ENOMEM. */
int storeq_new(struct event_base *base, bool shared, struct storeq **out);
/* After storeq_drain(). NULL is fine. */
void storeq_free(struct storeq *q);

/* Runs fn(arg) with the store, then done(arg). 0, or -ENOMEM (nothing ran). */
int storeq_run(struct storeq *q, storeq_fn *fn, storeq_fn *done, void *arg);

/* Whether work is queued or running (then a store call now would have to wait). */
bool storeq_busy(const struct storeq *q);
/* Whether the caller is the gate's work itself. */
bool storeq_holding(const struct storeq *q);

/* Runs base's loop until the gate is idle (shutdown). */
void storeq_drain(struct storeq *q);

/*
 * A runner step that reads or writes the store, run through the gate:
 * step(r) as it is (unchanged, synchronous code), its verdict then given
 * to the runner (resume, refuse; an answered or waiting step goes on by
 * itself). Returns the step's own verdict when it ran at once, else
 * RUNNER_WAIT. The request holding r stays until its step ran (a
 * request is freed only once answered).
 */
enum runner_verdict storeq_step(struct storeq *q, struct runner *r, runner_step_fn *step);

#endif
