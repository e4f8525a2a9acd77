#include "sqldb-worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

struct sqldb_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;     /* a job posted or done; stop */
	struct sqldb_job *job; /* out: posted and not yet taken back or dropped */
	bool stop;
	bool orphaned; /* freed by its owner while a job was out: the thread frees it */
};

static void worker_destroy(struct sqldb_worker *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Waits for a job, runs it without the lock, hands it back (or drops it when given up). */
static void *worker_main(void *arg)
{
	struct sqldb_worker *w = arg;
	struct sqldb_job *j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && (w->job == NULL || w->job->done))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->job;
		pthread_mutex_unlock(&w->mu);
		j->run(j);
		pthread_mutex_lock(&w->mu);
		j->done = true;
		if (j->abandoned) {
			w->job = NULL;
			pthread_mutex_unlock(&w->mu);
			j->drop(j); /* the caller gave it up: nobody else holds it */
			pthread_mutex_lock(&w->mu);
			if (w->orphaned)
				break;
		}
		pthread_cond_broadcast(&w->cv);
	}
	if (w->orphaned) {
		pthread_mutex_unlock(&w->mu);
		worker_destroy(w);
		return NULL;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int sqldb_worker_new(struct sqldb_worker **out)
{
	struct sqldb_worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (w == NULL)
		return -ENOMEM;
	if ((r = pthread_mutex_init(&w->mu, NULL)) != 0) {
		free(w);
		return -r;
	}
	/* Deadlines on the monotonic clock: a wall clock step neither cuts nor stretches them. */
	if ((r = pthread_condattr_init(&ca)) != 0 ||
	        (r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	        (r = pthread_cond_init(&w->cv, &ca)) != 0) {
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -r;
	}
	pthread_condattr_destroy(&ca);
	/* Signals are the loop's (libevent's signal events): the worker takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		worker_destroy(w);
		return -r;
	}
	*out = w;
	return 0;
}

void sqldb_worker_free(struct sqldb_worker *w)
{
	struct sqldb_job *finished = NULL;
	bool orphan;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	orphan = w->job != NULL && !w->job->done;
	if (orphan) { /* stuck in a job: it ends on its own (the I/O timeout), then drops it */
		w->job->abandoned = true;
		w->orphaned = true;
	} else {
		finished = w->job; /* posted, finished, never taken back: the worker is idle */
		w->job = NULL;
		w->stop = true;
	}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (orphan) {
		pthread_detach(w->thread);
		return;
	}
	pthread_join(w->thread, NULL);
	if (finished != NULL)
		finished->drop(finished);
	worker_destroy(w);
}

bool sqldb_worker_busy(struct sqldb_worker *w)
{
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->job != NULL;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

/* With the lock held: j becomes the job, unless one is out. */
static bool post_locked(struct sqldb_worker *w, struct sqldb_job *j)
{
	if (w->job != NULL)
		return false;
	j->w = w;
	j->done = j->abandoned = false;
	w->job = j;
	pthread_cond_broadcast(&w->cv);
	return true;
}

enum sqldb_worker_verdict sqldb_worker_post(struct sqldb_worker *w, struct sqldb_job *j)
{
	bool posted;

	pthread_mutex_lock(&w->mu);
	posted = post_locked(w, j);
	pthread_mutex_unlock(&w->mu);
	return posted ? SQLDB_JOB_DONE : SQLDB_JOB_BUSY;
}

bool sqldb_worker_poll(struct sqldb_worker *w, struct sqldb_job *j)
{
	bool done;

	pthread_mutex_lock(&w->mu);
	done = w->job == j && j->done;
	if (done)
		w->job = NULL;
	pthread_mutex_unlock(&w->mu);
	return done;
}

static void deadline_in(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum sqldb_worker_verdict sqldb_worker_give_up(struct sqldb_worker *w, struct sqldb_job *j)
{
	enum sqldb_worker_verdict v = SQLDB_JOB_DONE;

	pthread_mutex_lock(&w->mu);
	if (w->job != j) {
		v = SQLDB_JOB_BUSY; /* not this worker's job: nothing to give up */
	} else if (j->done) {
		w->job = NULL;
	} else {
		if (j->cancel != NULL)
			j->cancel(j);
		j->abandoned = true;
		v = SQLDB_JOB_TIMEOUT;
	}
	pthread_mutex_unlock(&w->mu);
	return v;
}

enum sqldb_worker_verdict sqldb_worker_run(
        struct sqldb_worker *w, struct sqldb_job *j, unsigned int timeout_ms)
{
	struct timespec deadline;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&w->mu);
	if (!post_locked(w, j)) {
		pthread_mutex_unlock(&w->mu);
		return SQLDB_JOB_BUSY;
	}
	while (!j->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == ETIMEDOUT)
			break;
	if (!j->done) {
		if (j->cancel != NULL)
			j->cancel(j);
		j->abandoned = true;
		pthread_mutex_unlock(&w->mu);
		return SQLDB_JOB_TIMEOUT;
	}
	w->job = NULL;
	pthread_mutex_unlock(&w->mu);
	return SQLDB_JOB_DONE;
}
