#include "sqldb-watch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* How often an idle watchdog looks: arming never wakes it (that would cost the caller). */
#define WATCH_PERIOD_MS 100

struct sqldb_watch {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* stop */
	sqldb_alive_fn *alive;
	void *arg;
	bool stop;
	/* The call under watch. */
	bool armed, cut;
	uint64_t seq; /* which call: a late verdict must not reach the next one */
	int fd;
	unsigned int timeout_ms;
	struct timespec deadline;
};

static void add_ms(struct timespec *ts, unsigned int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* With the lock held: the call overran; ask alive() without the lock, then judge. */
static void judge(struct sqldb_watch *wd)
{
	uint64_t seq = wd->seq;
	bool lives;

	pthread_mutex_unlock(&wd->mu);
	lives = wd->alive(wd->arg);
	pthread_mutex_lock(&wd->mu);
	if (!wd->armed || wd->seq != seq || wd->cut)
		return; /* the call ended meanwhile */
	if (lives) {
		clock_gettime(CLOCK_MONOTONIC, &wd->deadline);
		add_ms(&wd->deadline, wd->timeout_ms);
		return;
	}
	/* Armed: the caller is still inside the call, so fd is still its socket. */
	(void)shutdown(wd->fd, SHUT_RDWR);
	wd->cut = true;
}

static void *watch_main(void *arg)
{
	struct sqldb_watch *wd = arg;
	struct timespec now, wake;

	pthread_mutex_lock(&wd->mu);
	while (!wd->stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (wd->armed && !wd->cut && !before(&now, &wd->deadline)) {
			judge(wd);
			continue;
		}
		wake = now;
		add_ms(&wake, WATCH_PERIOD_MS);
		if (wd->armed && !wd->cut && before(&wd->deadline, &wake))
			wake = wd->deadline;
		pthread_cond_timedwait(&wd->cv, &wd->mu, &wake);
	}
	pthread_mutex_unlock(&wd->mu);
	return NULL;
}

int sqldb_watch_new(sqldb_alive_fn *alive, void *arg, struct sqldb_watch **out)
{
	struct sqldb_watch *wd = calloc(1, sizeof(*wd));
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (wd == NULL)
		return -ENOMEM;
	wd->alive = alive;
	wd->arg = arg;
	if ((r = pthread_mutex_init(&wd->mu, NULL)) != 0) {
		free(wd);
		return -r;
	}
	if ((r = pthread_condattr_init(&ca)) != 0 ||
	        (r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	        (r = pthread_cond_init(&wd->cv, &ca)) != 0) {
		pthread_mutex_destroy(&wd->mu);
		free(wd);
		return -r;
	}
	pthread_condattr_destroy(&ca);
	/* Signals are the loop's: the watchdog takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&wd->thread, NULL, watch_main, wd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pthread_cond_destroy(&wd->cv);
		pthread_mutex_destroy(&wd->mu);
		free(wd);
		return -r;
	}
	*out = wd;
	return 0;
}

void sqldb_watch_free(struct sqldb_watch *wd)
{
	if (wd == NULL)
		return;
	pthread_mutex_lock(&wd->mu);
	wd->stop = true;
	pthread_cond_broadcast(&wd->cv);
	pthread_mutex_unlock(&wd->mu);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cv);
	pthread_mutex_destroy(&wd->mu);
	free(wd);
}

void sqldb_watch_arm(struct sqldb_watch *wd, int fd, unsigned int timeout_ms)
{
	pthread_mutex_lock(&wd->mu);
	wd->armed = true;
	wd->cut = false;
	wd->seq++;
	wd->fd = fd;
	wd->timeout_ms = timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &wd->deadline);
	add_ms(&wd->deadline, timeout_ms);
	pthread_mutex_unlock(&wd->mu);
}

bool sqldb_watch_disarm(struct sqldb_watch *wd)
{
	bool cut;

	pthread_mutex_lock(&wd->mu);
	wd->armed = false;
	cut = wd->cut;
	pthread_mutex_unlock(&wd->mu);
	return cut;
}
