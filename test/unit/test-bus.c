/*
 * The monitor's RabbitMQ consumer (monitor-agent/bus.c) against a broker
 * that accepts TCP and never speaks (a listening socket of the test's own on
 * loopback, never accepted): the attempt waits there BUS_SETUP_TIMEOUT, and
 * the loop must go on meanwhile (a 50 ms timer keeps its cadence); stopping,
 * starting again and freeing the bus during an attempt is clean (ASan and
 * valgrind find no leak, no thread is left, bus_free returns within a step).
 * A real broker: test/integration/monitor-bus-connect.sh (suite openstack).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "transport-url.h"

#define TICK_MS 50

struct run {
	struct event_base *base;
	struct bus *bus;
	double started, last, max_gap;
	double until;             /* seconds after started: the loop ends */
	double stop_at, start_at; /* seconds after started, or 0: bus_stop, bus_start */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP port on loopback that completes handshakes (the backlog) and never answers. */
static int mute_listener(int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void on_message(
        struct bus_delivery d, const char *body, size_t len, bool oversized, void *arg)
{
	fail_msg("a mute broker delivered a message");
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	double t = now(), since = t - r->started;

	if (t - r->last > r->max_gap)
		r->max_gap = t - r->last;
	r->last = t;
	if (r->stop_at > 0 && since >= r->stop_at) {
		bus_stop(r->bus);
		r->stop_at = 0;
	}
	if (r->start_at > 0 && since >= r->start_at) {
		bus_start(r->bus);
		r->start_at = 0;
	}
	if (since >= r->until)
		event_base_loopbreak(r->base);
}

/* Runs the loop with r's script; r->max_gap is the longest the loop was held. */
static void run_loop(struct run *r)
{
	struct timeval tv = {0, TICK_MS * 1000};
	struct event *tick = event_new(r->base, -1, EV_PERSIST, on_tick, r);

	assert_non_null(tick);
	r->started = r->last = now();
	r->max_gap = 0;
	assert_int_equal(event_add(tick, &tv), 0);
	assert_int_equal(event_base_dispatch(r->base), 0);
	event_free(tick);
}

struct fixture {
	int listen_fd;
	struct transport_url url;
	struct bus_params params;
	struct run run;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char text[128], *cause = NULL;
	int port;

	assert_non_null(f);
	f->listen_fd = mute_listener(&port);
	snprintf(text, sizeof(text), "rabbit://u:p@127.0.0.1:%d/", port);
	assert_int_equal(transport_url_parse(text, &f->url, &cause), 0);
	f->params = (struct bus_params){.url = &f->url,
	        .exchange = "neutron",
	        .routing_key = "notifications.info",
	        .queue = "praas-test"};
	f->run.base = event_base_new();
	assert_non_null(f->run.base);
	assert_int_equal(bus_new(f->run.base, &f->params, on_message, NULL, &f->run.bus), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_free(f->run.bus);
	event_base_free(f->run.base);
	transport_url_free(&f->url);
	close(f->listen_fd);
	free(f);
	return 0;
}

/* Freed during an attempt: returns once the attempt's step ends, the thread joined. */
static void free_timed(struct fixture *f)
{
	double t0 = now(), took;

	bus_free(f->run.bus);
	f->run.bus = NULL;
	took = now() - t0;
	print_message("# bus_free during an attempt took %.0f ms\n", took * 1000);
	assert_true(took < BUS_SETUP_TIMEOUT + 0.5);
}

/* The handshake waits BUS_SETUP_TIMEOUT for a silent broker; the loop does not. */
static void test_mute_broker_loop_runs(void **state)
{
	struct fixture *f = *state;
	const struct bus_stats *st = bus_stats(f->run.bus);

	bus_start(f->run.bus);
	f->run.until = BUS_SETUP_TIMEOUT + 0.6;
	run_loop(&f->run);
	print_message("# the loop's longest wait while the attempt waited: %.0f ms (tick %d ms)\n",
	        f->run.max_gap * 1000, TICK_MS);
	assert_true(f->run.max_gap < 1.0);
	assert_int_equal(st->failures, 1); /* the handshake timed out, on the attempt's thread */
	assert_int_equal(st->connects, 0);
	assert_false(st->consuming);
	/* The next attempt starts 1 s after the failure: free the bus during it. */
	f->run.until = 0.8;
	run_loop(&f->run);
	assert_true(f->run.max_gap < 1.0);
	free_timed(f);
}

/* Stopped during an attempt: nothing counted, nothing retried; started again: it goes on. */
static void test_stop_start_during_attempt(void **state)
{
	struct fixture *f = *state;
	const struct bus_stats *st = bus_stats(f->run.bus);

	bus_start(f->run.bus);
	f->run.stop_at = 0.2;
	f->run.start_at = 0.4; /* the same attempt is wanted again: it times out, counted */
	f->run.until = BUS_SETUP_TIMEOUT + 0.5;
	run_loop(&f->run);
	assert_true(f->run.max_gap < 1.0);
	assert_int_equal(st->failures, 1);

	/* Stopped during the next attempt (1 s after the failure): it ends unseen. */
	f->run.stop_at = 0.9;
	f->run.until = BUS_SETUP_TIMEOUT + 1.5;
	run_loop(&f->run);
	assert_true(f->run.max_gap < 1.0);
	assert_int_equal(st->failures, 1);
	assert_int_equal(st->connects, 0);
	/* No attempt left: freeing is immediate. */
	{
		double t0 = now();

		bus_free(f->run.bus);
		f->run.bus = NULL;
		assert_true(now() - t0 < 0.1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_mute_broker_loop_runs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_start_during_attempt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
