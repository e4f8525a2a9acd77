/*
 * A thread that makes one connection's blocking database calls (making a
 * connection, a ping), so the caller (the agent's event loop) waits for
 * one at most a deadline, or not at all (post, then poll), and never for a
 * database that stopped answering (a server hung, a network black hole).
 *
 * Promises:
 * - One job at a time. While a job is out (running, or given up on but
 *   not finished), the job and what it holds (its connection, its buffers)
 *   belong to the worker thread alone; everything else stays with the
 *   caller's thread. No lock is held across a database call.
 * - sqldb_worker_run() returns DONE once the job finished (the caller owns
 *   it again), or TIMEOUT when it had not within the deadline: the job is
 *   then given up,
 *   its cancel() is called first (to unblock it: shut its socket down) and
 *   the worker calls its drop() when it ends, never the caller; or BUSY
 *   without running anything while an earlier job is still out.
 * - sqldb_worker_post() runs a job without waiting; sqldb_worker_poll()
 *   says when it finished (the caller then owns it again).
 *
 * Used by sqldb-mariadb.c only; SQLite calls stay on the caller's thread.
 */
#ifndef PRAAS_SQLDB_WORKER_H
#define PRAAS_SQLDB_WORKER_H

#include <stdbool.h>

struct sqldb_worker;

struct sqldb_job {
	/* On the worker thread: the blocking calls. */
	void (*run)(struct sqldb_job *j);
	/* On the caller's thread, the worker's lock held, before giving up: unblock run(). May be
	 * NULL. */
	void (*cancel)(struct sqldb_job *j);
	/* On the worker thread, after run() of a job given up on: release everything, j too. */
	void (*drop)(struct sqldb_job *j);
	/* Private to the worker. */
	struct sqldb_worker *w;
	bool done, abandoned;
};

enum sqldb_worker_verdict {
	SQLDB_JOB_DONE,
	SQLDB_JOB_TIMEOUT,
	SQLDB_JOB_BUSY,
};

/* 0, or -errno (the thread could not be made). */
int sqldb_worker_new(struct sqldb_worker **out);
/*
 * Ends the thread. A job still out is given up: the thread ends after it
 * (dropping it, then freeing w). NULL is fine.
 */
void sqldb_worker_free(struct sqldb_worker *w);

/* Runs j and waits for it, up to timeout_ms. */
enum sqldb_worker_verdict sqldb_worker_run(
        struct sqldb_worker *w, struct sqldb_job *j, unsigned int timeout_ms);
/* Runs j without waiting: DONE (posted) or BUSY. */
enum sqldb_worker_verdict sqldb_worker_post(struct sqldb_worker *w, struct sqldb_job *j);
/* Whether the posted job j finished (then the caller owns it again). */
bool sqldb_worker_poll(struct sqldb_worker *w, struct sqldb_job *j);
/*
 * The posted job j is waited for no longer: DONE if it finished meanwhile
 * (the caller owns it again), else TIMEOUT, given up as sqldb_worker_run()
 * gives one up (cancel(), then the worker drops it).
 */
enum sqldb_worker_verdict sqldb_worker_give_up(struct sqldb_worker *w, struct sqldb_job *j);
/* Whether a job is out. */
bool sqldb_worker_busy(struct sqldb_worker *w);

#endif
