#include "bus.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "oslo-notify.h"

#define CHANNEL 1

/* A message being assembled from its frames: deliver method, header, bodies. */
struct partial {
	enum { WAIT_DELIVER, WAIT_HEADER, WAIT_BODY } stage;
	uint64_t tag;
	size_t size, got;
	char *body; /* NULL while oversized */
	bool oversized;
};

/*
 * One connection attempt, on a thread of its own: resolving, connecting,
 * TLS, login and setup each wait up to BUS_SETUP_TIMEOUT, and the loop
 * must not. The thread owns the connection until it ends; the loop reads
 * the outcome only after pthread_join (which orders the two threads' memory),
 * woken by the byte the thread writes to the bus's pipe as its last act.
 */
struct attempt {
	pthread_t thread;
	const struct bus_params *p; /* outlives the bus, which outlives the thread */
	const struct transport_host *h;
	int done_fd;           /* the pipe's write end */
	atomic_bool abandoned; /* set by the loop: give up at the next step */
	/* The outcome, written by the thread: */
	amqp_connection_state_t conn; /* consuming, or NULL */
	bool stopped;                 /* gave up because abandoned */
	const char *what;             /* the step that failed */
	char why[256];
};

struct bus {
	struct event_base *base;
	const struct bus_params *p;
	bus_message_cb *cb;
	void *arg;
	amqp_connection_state_t conn; /* NULL: not connected */
	struct event *readable, *tick, *retry;
	struct attempt *attempt; /* at most one at a time */
	int done[2];             /* attempt -> loop: "I have ended" */
	struct event *done_ev;
	unsigned long connection; /* counts connections: a delivery's tag is valid in its own */
	size_t next_host;
	unsigned int backoff; /* seconds before the next attempt */
	bool running;
	struct partial msg;
	struct bus_stats stats;
};

static void schedule_retry(struct bus *b);

static const char *reply_text(amqp_rpc_reply_t r, char *buf, size_t len)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return "ok";
	case AMQP_RESPONSE_NONE:
		return "no reply";
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return amqp_error_string2(r.library_error);
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *c = r.reply.decoded;
			snprintf(buf, len, "the broker closed the connection: %u %.*s",
			        c->reply_code, (int)c->reply_text.len,
			        (const char *)c->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *c = r.reply.decoded;
			snprintf(buf, len, "the broker closed the channel: %u %.*s", c->reply_code,
			        (int)c->reply_text.len, (const char *)c->reply_text.bytes);
		} else
			snprintf(buf, len, "the broker answered method 0x%08x", r.reply.id);
		return buf;
	}
	return "?";
}

static void partial_reset(struct partial *m)
{
	free(m->body);
	memset(m, 0, sizeof(*m));
}

/* Drops the connection (what was not acknowledged goes back to the queue). */
static void disconnect(struct bus *b)
{
	if (b->readable != NULL) {
		event_free(b->readable);
		b->readable = NULL;
	}
	if (b->tick != NULL)
		evtimer_del(b->tick);
	if (b->conn != NULL) {
		/* No goodbye: a broker that is gone would hold us for the rpc timeout. */
		amqp_destroy_connection(b->conn);
		b->conn = NULL;
	}
	partial_reset(&b->msg);
	b->stats.consuming = false;
}

/* Not connected (any more): said once, and the next attempt scheduled. */
static void retry_later(struct bus *b, const char *what, const char *why)
{
	log_warnx("Notifications: %s: %s; retrying in %u s", what, why, b->backoff);
	b->stats.failures++;
	schedule_retry(b);
}

static void fail(struct bus *b, const char *what, const char *why)
{
	disconnect(b);
	retry_later(b, what, why);
}

/* ---- the attempt's thread: nothing here touches the bus */

static bool attempt_failed(struct attempt *a, const char *what, const char *why)
{
	a->what = what;
	snprintf(a->why, sizeof(a->why), "%s", why);
	return false;
}

/* Between two steps: whether the loop still wants this connection. */
static bool attempt_wanted(struct attempt *a)
{
	if (!atomic_load(&a->abandoned))
		return true;
	a->stopped = true;
	return attempt_failed(a, "connecting", "stopped");
}

/* The reply of the last synchronous call. */
static bool rpc_ok(struct attempt *a, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(a->conn);
	char buf[256];

	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return attempt_failed(a, what, reply_text(r, buf, sizeof(buf)));
	return attempt_wanted(a);
}

static amqp_bytes_t bytes(const char *s)
{
	return amqp_cstring_bytes(s);
}

static amqp_socket_t *make_socket(struct attempt *a)
{
	amqp_socket_t *s;

	if (!a->p->tls)
		s = amqp_tcp_socket_new(a->conn);
	else if ((s = amqp_ssl_socket_new(a->conn)) != NULL) {
		amqp_ssl_socket_set_verify_peer(s, 1);
		amqp_ssl_socket_set_verify_hostname(s, 1);
		if (a->p->tls_ca != NULL &&
		        amqp_ssl_socket_set_cacert(s, a->p->tls_ca) != AMQP_STATUS_OK) {
			attempt_failed(a, "reading the CA bundle", a->p->tls_ca);
			return NULL;
		}
	}
	if (s == NULL)
		attempt_failed(a, "setting up a connection", "out of memory");
	return s;
}

/* Queue, binding, prefetch, consumer: each a bounded synchronous call. */
static bool setup_channel(struct attempt *a)
{
	const struct bus_params *p = a->p;

	amqp_channel_open(a->conn, CHANNEL);
	if (!rpc_ok(a, "opening a channel"))
		return false;
	amqp_exchange_declare(
	        a->conn, CHANNEL, bytes(p->exchange), bytes("topic"), 1, 0, 0, 0, amqp_empty_table);
	if (!rpc_ok(a, "finding the exchange (has Neutron sent a notification yet?)"))
		return false;
	amqp_queue_declare(a->conn, CHANNEL, bytes(p->queue), 0, 1, 0, 0, amqp_empty_table);
	if (!rpc_ok(a, "declaring the queue"))
		return false;
	amqp_queue_bind(a->conn, CHANNEL, bytes(p->queue), bytes(p->exchange),
	        bytes(p->routing_key), amqp_empty_table);
	if (!rpc_ok(a, "binding the queue"))
		return false;
	amqp_basic_qos(a->conn, CHANNEL, 0, BUS_PREFETCH, 0);
	if (!rpc_ok(a, "setting the prefetch"))
		return false;
	amqp_basic_consume(
	        a->conn, CHANNEL, bytes(p->queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	return rpc_ok(a, "starting to consume");
}

/* Connected, logged in and consuming, or a->what and a->why say why not. */
static bool attempt_connect(struct attempt *a)
{
	struct timeval tv = {BUS_SETUP_TIMEOUT, 0};
	const struct transport_host *h = a->h;
	amqp_socket_t *s;
	amqp_rpc_reply_t r;
	char buf[256];
	int st;

	if ((a->conn = amqp_new_connection()) == NULL)
		return attempt_failed(a, "setting up a connection", "out of memory");
	if ((s = make_socket(a)) == NULL)
		return false;
	if ((st = amqp_set_handshake_timeout(a->conn, &tv)) != AMQP_STATUS_OK ||
	        (st = amqp_set_rpc_timeout(a->conn, &tv)) != AMQP_STATUS_OK)
		return attempt_failed(a, "setting up a connection", amqp_error_string2(st));
	if ((st = amqp_socket_open_noblock(s, h->host, h->port, &tv)) != AMQP_STATUS_OK)
		return attempt_failed(a, "connecting", amqp_error_string2(st));
	if (!attempt_wanted(a))
		return false;
	r = amqp_login(a->conn, a->p->url->vhost, 0, 131072, BUS_HEARTBEAT, AMQP_SASL_METHOD_PLAIN,
	        h->user, h->password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return attempt_failed(a, "logging in", reply_text(r, buf, sizeof(buf)));
	return attempt_wanted(a) && setup_channel(a);
}

static void *attempt_run(void *arg)
{
	struct attempt *a = arg;
	int fd = a->done_fd; /* a may be freed once the byte is written */
	ssize_t n;

	if (!attempt_connect(a) && a->conn != NULL) {
		amqp_destroy_connection(a->conn);
		a->conn = NULL;
	}
	/*
	 * A pipe of 64 KiB and one byte per attempt, one attempt at a time: it
	 * never fills, and its read end lives as long as the bus, which joins
	 * this thread before closing it. Nothing else can fail here.
	 */
	do
		n = write(fd, "x", 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

/* ---- the loop's side */

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_tick(evutil_socket_t fd, short what, void *arg);

/* A connection, ready and consuming, from the attempt's thread. */
static void adopt(struct bus *b, amqp_connection_state_t conn, const struct transport_host *h)
{
	struct timeval beat = {BUS_HEARTBEAT / 2, 0};

	b->conn = conn;
	b->readable =
	        event_new(b->base, amqp_get_sockfd(b->conn), EV_READ | EV_PERSIST, on_readable, b);
	if (b->readable == NULL || event_add(b->readable, NULL) < 0 ||
	        evtimer_add(b->tick, &beat) < 0) {
		fail(b, "watching the connection", "out of memory");
		return;
	}
	b->connection++;
	b->stats.connects++;
	b->stats.consuming = true;
	b->backoff = 1;
	log_info("Notifications: consuming queue %s (exchange %s, key %s) from %s:%d", b->p->queue,
	        b->p->exchange, b->p->routing_key, h->host, h->port);
	/* Frames may have come with the last setup reply. */
	on_readable(-1, EV_READ, b);
}

/* Waits for the thread's end (at once, when it has written its byte) and takes a from b. */
static void attempt_reap(struct bus *b, struct attempt *a)
{
	int r;

	if ((r = pthread_join(a->thread, NULL)) != 0)
		log_warnx("Notifications: joining the connection attempt: %s", strerror(r));
	b->attempt = NULL;
}

static void attempt_free(struct attempt *a)
{
	if (a->conn != NULL)
		amqp_destroy_connection(a->conn);
	free(a);
}

/* The attempt's thread has ended: its outcome, on the loop. */
static void on_attempt_done(evutil_socket_t fd, short what, void *arg)
{
	struct bus *b = arg;
	struct attempt *a = b->attempt;
	char what_host[320], drain[16];
	struct timeval zero = {0, 0};

	while (read(b->done[0], drain, sizeof(drain)) > 0)
		;
	if (a == NULL)
		return;
	attempt_reap(b, a);
	if (a->conn != NULL && b->running) {
		adopt(b, a->conn, a->h);
		a->conn = NULL;
	} else if (a->stopped && b->running) {
		/* Stopped, then started again before the thread saw it: go on at once. */
		if (evtimer_add(b->retry, &zero) < 0)
			log_warnx("Notifications: cannot schedule the connection");
	} else if (b->running) {
		snprintf(
		        what_host, sizeof(what_host), "%s:%d: %s", a->h->host, a->h->port, a->what);
		retry_later(b, what_host, a->why);
	}
	attempt_free(a); /* a connection made for a stopped bus goes with it */
}

static void try_connect(evutil_socket_t fd, short what, void *arg)
{
	struct bus *b = arg;
	const struct transport_url *u = b->p->url;
	sigset_t all, old;
	struct attempt *a;
	int r;

	if (b->attempt != NULL || b->conn != NULL)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		retry_later(b, "starting a connection attempt", strerror(ENOMEM));
		return;
	}
	a->p = b->p;
	a->h = &u->hosts[b->next_host % u->n];
	a->done_fd = b->done[1];
	atomic_init(&a->abandoned, false);
	b->next_host = (b->next_host + 1) % u->n; /* the next attempt tries the next host */
	/* Signals are the loop's (libevent's): the thread starts with all of them blocked. */
	sigfillset(&all);
	if ((r = pthread_sigmask(SIG_SETMASK, &all, &old)) == 0) {
		r = pthread_create(&a->thread, NULL, attempt_run, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r != 0) {
		free(a);
		retry_later(b, "starting a connection attempt", strerror(r));
		return;
	}
	b->attempt = a;
}

static void schedule_retry(struct bus *b)
{
	struct timeval tv = {b->backoff, 0};

	if (!b->running)
		return;
	if (evtimer_add(b->retry, &tv) < 0)
		log_warnx("Notifications: cannot schedule a reconnection");
	b->backoff = b->backoff * 2 > BUS_BACKOFF_MAX ? BUS_BACKOFF_MAX : b->backoff * 2;
}

static void deliver(struct bus *b)
{
	struct partial *m = &b->msg;
	struct bus_delivery d = {.tag = m->tag, .connection = b->connection};
	unsigned long conn = b->connection;

	b->stats.received++;
	b->cb(d, m->oversized ? NULL : m->body, m->size, m->oversized, b->arg);
	if (b->connection == conn && b->conn != NULL) /* the handler may have stopped us */
		partial_reset(m);
}

/* Header: the body's size. Oversized bodies are counted, not kept. */
static bool on_header(struct bus *b, const amqp_frame_t *f)
{
	struct partial *m = &b->msg;

	m->size = (size_t)f->payload.properties.body_size;
	m->oversized = f->payload.properties.body_size > OSLO_NOTIFY_MAX_BODY;
	if (!m->oversized && (m->body = malloc(m->size + 1)) == NULL)
		return false;
	m->stage = WAIT_BODY;
	if (m->size == 0)
		deliver(b);
	return true;
}

static bool on_body(struct bus *b, const amqp_frame_t *f)
{
	struct partial *m = &b->msg;
	size_t n = f->payload.body_fragment.len;

	if (n > m->size - m->got)
		return false;
	if (!m->oversized)
		memcpy(m->body + m->got, f->payload.body_fragment.bytes, n);
	m->got += n;
	if (m->got == m->size)
		deliver(b);
	return true;
}

/* One frame. false: the connection is unusable (logged by the caller). */
static bool on_frame(struct bus *b, const amqp_frame_t *f, const char **why)
{
	struct partial *m = &b->msg;

	*why = "an unexpected frame";
	if (f->frame_type == AMQP_FRAME_METHOD) {
		switch (f->payload.method.id) {
		case AMQP_BASIC_DELIVER_METHOD:
			if (m->stage != WAIT_DELIVER)
				return false;
			m->tag = ((amqp_basic_deliver_t *)f->payload.method.decoded)->delivery_tag;
			m->stage = WAIT_HEADER;
			return true;
		case AMQP_CONNECTION_CLOSE_METHOD:
			*why = "the broker closed the connection";
			return false;
		case AMQP_CHANNEL_CLOSE_METHOD:
			*why = "the broker closed the channel";
			return false;
		case AMQP_BASIC_CANCEL_METHOD:
			*why = "the broker cancelled the consumer (queue deleted?)";
			return false;
		default:
			return true; /* nothing else concerns a consumer */
		}
	}
	if (f->frame_type == AMQP_FRAME_HEADER && m->stage == WAIT_HEADER) {
		*why = "out of memory";
		return on_header(b, f);
	}
	if (f->frame_type == AMQP_FRAME_BODY && m->stage == WAIT_BODY) {
		*why = "a body longer than its header said";
		return on_body(b, f);
	}
	return false;
}

/* Every frame the socket and rabbitmq-c's buffer hold, none waited for. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct bus *b = arg;
	struct timeval zero = {0, 0};
	unsigned long conn = b->connection;
	amqp_frame_t f;
	const char *why;
	int st;

	while (b->conn != NULL && b->connection == conn) {
		/* Each frame is copied out at once: its memory can go, mid-message too. */
		amqp_maybe_release_buffers(b->conn);
		st = amqp_simple_wait_frame_noblock(b->conn, &f, &zero);
		if (st == AMQP_STATUS_TIMEOUT)
			return;
		if (st != AMQP_STATUS_OK) {
			fail(b, "reading", amqp_error_string2(st));
			return;
		}
		if (!on_frame(b, &f, &why)) {
			fail(b, "reading", why);
			return;
		}
	}
}

/* Heartbeats are sent, and a silent broker noticed, only when rabbitmq-c is called. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bus *b = arg;
	struct timeval beat = {BUS_HEARTBEAT / 2, 0};

	if (b->conn == NULL)
		return;
	on_readable(-1, EV_READ, b);
	if (b->conn != NULL && evtimer_add(b->tick, &beat) < 0)
		log_warnx("Notifications: cannot schedule the heartbeat");
}

int bus_new(struct event_base *base, const struct bus_params *p, bus_message_cb *cb, void *arg,
        struct bus **out)
{
	struct bus *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	b->base = base;
	b->p = p;
	b->cb = cb;
	b->arg = arg;
	b->backoff = 1;
	b->done[0] = b->done[1] = -1;
	if (pipe2(b->done, O_CLOEXEC | O_NONBLOCK) < 0) {
		int r = -errno;

		bus_free(b);
		return r;
	}
	b->retry = evtimer_new(base, try_connect, b);
	b->tick = evtimer_new(base, on_tick, b);
	b->done_ev = event_new(base, b->done[0], EV_READ | EV_PERSIST, on_attempt_done, b);
	if (b->retry == NULL || b->tick == NULL || b->done_ev == NULL ||
	        event_add(b->done_ev, NULL) < 0) {
		bus_free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

void bus_start(struct bus *b)
{
	struct timeval zero = {0, 0};

	if (b->running)
		return;
	b->running = true;
	b->backoff = 1;
	if (b->attempt != NULL) {
		/* Stopped and started again while it ran: it is wanted after all. */
		atomic_store(&b->attempt->abandoned, false);
		return;
	}
	if (evtimer_add(b->retry, &zero) < 0)
		log_warnx("Notifications: cannot schedule the connection");
}

void bus_stop(struct bus *b)
{
	b->running = false;
	if (b->retry != NULL)
		evtimer_del(b->retry);
	disconnect(b);
	/* Its connection, if it still makes one, is dropped when it hands it over. */
	if (b->attempt != NULL)
		atomic_store(&b->attempt->abandoned, true);
}

bool bus_delivery_current(const struct bus *b, struct bus_delivery d)
{
	return b->conn != NULL && d.connection == b->connection;
}

void bus_ack(struct bus *b, struct bus_delivery d)
{
	int st;

	if (!bus_delivery_current(b, d))
		return; /* that connection is gone: the broker delivers it again */
	if ((st = amqp_basic_ack(b->conn, CHANNEL, d.tag, 0)) != AMQP_STATUS_OK) {
		fail(b, "acknowledging", amqp_error_string2(st));
		return;
	}
	b->stats.acked++;
}

const struct bus_stats *bus_stats(const struct bus *b)
{
	return &b->stats;
}

void bus_free(struct bus *b)
{
	if (b == NULL)
		return;
	bus_stop(b);
	/* No thread outlives the bus: the attempt ends after its current step. */
	if (b->attempt != NULL) {
		struct attempt *a = b->attempt;

		attempt_reap(b, a);
		attempt_free(a);
	}
	if (b->done_ev != NULL)
		event_free(b->done_ev);
	for (int i = 0; i < 2; i++)
		if (b->done[i] >= 0)
			close(b->done[i]);
	if (b->retry != NULL)
		event_free(b->retry);
	if (b->tick != NULL)
		event_free(b->tick);
	free(b);
}
