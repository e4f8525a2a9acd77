/*
 * The thread that makes MariaDB's blocking calls (lib/sqldb-worker.h): a
 * job done in time is the caller's again; one not answered in time is
 * given up (cancelled, then dropped on the worker, never by the caller);
 * a worker still stuck refuses the next job at once; a posted job is
 * polled; a worker freed with a job out ends after it. And its watchdog
 * (lib/sqldb-watch.h): a call on the caller's thread that outlasts its
 * deadline while alive() says no has its socket shut (the call returns);
 * alive() saying yes buys another deadline; a call that ends in time is
 * never touched. The blocking call is a read of a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sqldb-watch.h"
#include "sqldb-worker.h"

struct test_job {
	struct sqldb_job base;
	int fd;              /* run() reads one byte from it; -1: returns at once */
	int got;             /* what run() read: 1 a byte, 0 EOF or shut */
	atomic_int *dropped; /* set by drop() */
	atomic_int cancelled;
};

static void job_run(struct sqldb_job *b)
{
	struct test_job *j = (struct test_job *)b;
	char c;

	j->got = j->fd < 0 ? 1 : (int)read(j->fd, &c, 1);
}

static void job_cancel(struct sqldb_job *b)
{
	struct test_job *j = (struct test_job *)b;

	atomic_store(&j->cancelled, 1);
	if (j->fd >= 0)
		shutdown(j->fd, SHUT_RDWR);
}

static void job_drop(struct sqldb_job *b)
{
	struct test_job *j = (struct test_job *)b;

	atomic_store(j->dropped, 1);
	free(j);
}

static struct test_job *job_new(int fd, atomic_int *dropped, bool cancel)
{
	struct test_job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->base.run = job_run;
	j->base.cancel = cancel ? job_cancel : NULL;
	j->base.drop = job_drop;
	j->fd = fd;
	j->dropped = dropped;
	return j;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits up to 5 s for *flag. */
static bool wait_flag(atomic_int *flag)
{
	for (int i = 0; i < 500 && !atomic_load(flag); i++)
		usleep(10000);
	return atomic_load(flag) != 0;
}

static void test_done_in_time(void **state)
{
	struct sqldb_worker *w;
	atomic_int dropped = 0;
	struct test_job *j = job_new(-1, &dropped, true);

	(void)state;
	assert_int_equal(sqldb_worker_new(&w), 0);
	assert_int_equal(sqldb_worker_run(w, &j->base, 1000), SQLDB_JOB_DONE);
	assert_int_equal(j->got, 1);
	assert_false(sqldb_worker_busy(w));
	free(j); /* the caller's again */
	sqldb_worker_free(w);
	assert_int_equal(atomic_load(&dropped), 0);
}

/* A worker and a socket pair: sv[0] is the "connection" a job reads. */
struct worked {
	struct sqldb_worker *w;
	int sv[2];
};

static int worked_setup(void **state)
{
	struct worked *t = calloc(1, sizeof(*t));

	if (t == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, t->sv) < 0 ||
	        sqldb_worker_new(&t->w) < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int worked_teardown(void **state)
{
	struct worked *t = *state;

	sqldb_worker_free(t->w);
	close(t->sv[0]);
	close(t->sv[1]);
	free(t);
	return 0;
}

static void test_given_up_then_next(void **state)
{
	struct worked *t = *state;
	struct sqldb_worker *w = t->w;
	atomic_int dropped = 0, dropped2 = 0;
	int *sv = t->sv;
	struct timespec t0;
	struct test_job *j, *k;

	j = job_new(sv[0], &dropped, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sqldb_worker_run(w, &j->base, 50), SQLDB_JOB_TIMEOUT);
	assert_true(ms_since(&t0) >= 45 && ms_since(&t0) < 1000);
	/* Cancelled (its read shut), then dropped on the worker: j is not ours to touch. */
	assert_true(wait_flag(&dropped));
	k = job_new(-1, &dropped2, true);
	assert_int_equal(sqldb_worker_run(w, &k->base, 1000), SQLDB_JOB_DONE);
	free(k);
}

static void test_stuck_worker_refuses_at_once(void **state)
{
	struct worked *t = *state;
	struct sqldb_worker *w = t->w;
	atomic_int dropped = 0, dropped2 = 0;
	int *sv = t->sv;
	struct timespec t0;
	struct test_job *j, *k;

	j = job_new(sv[0], &dropped, false); /* nothing unblocks it */
	assert_int_equal(sqldb_worker_run(w, &j->base, 30), SQLDB_JOB_TIMEOUT);
	assert_true(sqldb_worker_busy(w));
	k = job_new(-1, &dropped2, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sqldb_worker_run(w, &k->base, 1000), SQLDB_JOB_BUSY);
	assert_true(ms_since(&t0) < 20);
	assert_int_equal(sqldb_worker_post(w, &k->base), SQLDB_JOB_BUSY);
	assert_int_equal(write(sv[1], "x", 1), 1); /* the stuck call ends */
	assert_true(wait_flag(&dropped));
	assert_int_equal(sqldb_worker_run(w, &k->base, 1000), SQLDB_JOB_DONE);
	free(k);
}

static void test_post_poll(void **state)
{
	struct worked *t = *state;
	struct sqldb_worker *w = t->w;
	atomic_int dropped = 0;
	int *sv = t->sv;
	struct test_job *j;
	bool done = false;

	j = job_new(sv[0], &dropped, true);
	assert_int_equal(sqldb_worker_post(w, &j->base), SQLDB_JOB_DONE);
	usleep(20000);
	assert_false(sqldb_worker_poll(w, &j->base));
	assert_int_equal(write(sv[1], "x", 1), 1);
	for (int i = 0; i < 500 && !(done = sqldb_worker_poll(w, &j->base)); i++)
		usleep(10000);
	assert_true(done);
	assert_int_equal(j->got, 1);
	assert_false(sqldb_worker_busy(w));
	free(j);
}

static void test_free_with_job_out(void **state)
{
	struct sqldb_worker *w;
	static atomic_int dropped; /* outlives the test's frame: the worker sets it */
	int sv[2];
	struct test_job *j;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sqldb_worker_new(&w), 0);
	j = job_new(sv[0], &dropped, true);
	assert_int_equal(sqldb_worker_post(w, &j->base), SQLDB_JOB_DONE);
	sqldb_worker_free(w); /* returns at once; the thread ends after the job */
	assert_int_equal(atomic_load(&dropped), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_true(wait_flag(&dropped));
	usleep(20000); /* the thread frees the worker after the drop */
	close(sv[0]);
	close(sv[1]);
}

/* Says the server lives the first *arg times, then not. */
static bool alive_left(void *arg)
{
	atomic_int *left = arg;

	return atomic_fetch_sub(left, 1) > 0;
}

/* A read of sv[0] on this thread under watch: how long it took (ms) and whether it was cut. */
static long watched_read(struct sqldb_watch *wd, int fd, unsigned int timeout_ms, bool *cut)
{
	struct timespec t0;
	char c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sqldb_watch_arm(wd, fd, timeout_ms);
	(void)read(fd, &c, 1);
	*cut = sqldb_watch_disarm(wd);
	return ms_since(&t0);
}

/* A watch and a socket pair: sv[0] is the "server connection" read under watch. */
struct watched {
	struct sqldb_watch *wd;
	atomic_int left; /* pings the server answers before it is dead */
	int sv[2];
};

static int watched_setup(void **state)
{
	struct watched *t = calloc(1, sizeof(*t));

	if (t == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, t->sv) < 0 ||
	        sqldb_watch_new(alive_left, &t->left, &t->wd) < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int watched_teardown(void **state)
{
	struct watched *t = *state;

	sqldb_watch_free(t->wd);
	close(t->sv[0]);
	close(t->sv[1]);
	free(t);
	return 0;
}

static void test_watch_cuts_dead_server(void **state)
{
	struct watched *t = *state;
	bool cut;
	long ms = watched_read(t->wd, t->sv[0], 100, &cut);

	assert_true(cut);
	assert_true(ms >= 95 && ms < 1000);
}

static void test_watch_waits_for_live_server(void **state)
{
	struct watched *t = *state;
	bool cut;
	long ms;

	/* Alive twice: three deadlines of 100 ms, then cut. */
	atomic_store(&t->left, 2);
	ms = watched_read(t->wd, t->sv[0], 100, &cut);
	assert_true(cut);
	assert_true(ms >= 290 && ms < 2000);
}

static void test_watch_leaves_call_in_time(void **state)
{
	struct watched *t = *state;
	bool cut;
	char c;

	assert_int_equal(write(t->sv[1], "x", 1), 1);
	watched_read(t->wd, t->sv[0], 100, &cut);
	assert_false(cut);
	usleep(300000); /* past the deadline, disarmed: the socket stays whole */
	assert_int_equal(write(t->sv[1], "y", 1), 1);
	assert_int_equal(read(t->sv[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(atomic_load(&t->left), 0); /* never asked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_done_in_time),
	        cmocka_unit_test_setup_teardown(
	                test_given_up_then_next, worked_setup, worked_teardown),
	        cmocka_unit_test_setup_teardown(
	                test_stuck_worker_refuses_at_once, worked_setup, worked_teardown),
	        cmocka_unit_test_setup_teardown(test_post_poll, worked_setup, worked_teardown),
	        cmocka_unit_test(test_free_with_job_out),
	        cmocka_unit_test_setup_teardown(
	                test_watch_cuts_dead_server, watched_setup, watched_teardown),
	        cmocka_unit_test_setup_teardown(
	                test_watch_waits_for_live_server, watched_setup, watched_teardown),
	        cmocka_unit_test_setup_teardown(
	                test_watch_leaves_call_in_time, watched_setup, watched_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
