/*
 * The monitor's consumer of Neutron's notifications on RabbitMQ
 * (rabbitmq-c), on the monitor's libevent loop.
 *
 * Promises:
 * - The loop is never held waiting for the broker. A connection attempt
 *   (name resolution, TCP connect, TLS and AMQP handshake, the few setup
 *   calls, each bounded by BUS_SETUP_TIMEOUT but name resolution) runs on
 *   a thread of its own, one attempt at a time; that thread owns the
 *   connection until it ends, and the loop takes it over, consuming, after
 *   joining it (woken through a pipe). Once consuming, every read is
 *   non-blocking: frames are assembled into messages here, a frame at a
 *   time, as the socket has them (a connection cut mid-message loses only
 *   that unacknowledged message, which the broker delivers again).
 * - Its own durable queue (the queue key), bound to exchange/routing_key: it
 *   takes nothing from other consumers of the exchange. The exchange is
 *   declared passively (PRaaS needs no configure right on Neutron's).
 * - At most BUS_PREFETCH messages are delivered and not yet acknowledged;
 *   a message is acknowledged only when the handler says so (bus_ack), and
 *   only on the connection it came from.
 * - Broker down, refused, restarted, or a protocol error: logged, the
 *   connection dropped, the hosts of transport_url tried in turn after a
 *   delay doubling from 1 s up to BUS_BACKOFF_MAX (reset once consuming).
 * - bus_start/bus_stop switch consuming on and off (the monitor's lease
 *   decides who consumes); after bus_stop nothing is taken off the queue:
 *   an attempt under way gives up at its next step, and a connection it
 *   still made is closed when handed over. Started again before then, the
 *   same attempt goes on.
 * - No thread outlives the bus: bus_free waits for an attempt's current
 *   step (at most BUS_SETUP_TIMEOUT, or a name lookup).
 */
#ifndef PRAAS_MONITOR_BUS_H
#define PRAAS_MONITOR_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport-url.h"

#define BUS_PREFETCH      64
#define BUS_SETUP_TIMEOUT 2  /* seconds */
#define BUS_HEARTBEAT     10 /* seconds */
#define BUS_BACKOFF_MAX   30 /* seconds */

struct bus;
struct event_base;

struct bus_params {
	const struct transport_url *url;
	const char *exchange, *routing_key, *queue;
	bool tls;
	const char *tls_ca; /* PEM bundle, or NULL: the system's */
};

/* A message to acknowledge: its tag on the connection it came from. */
struct bus_delivery {
	uint64_t tag;
	unsigned long connection;
};

/*
 * A message: body[0..len), NULL when it was larger than
 * OSLO_NOTIFY_MAX_BODY (dropped unread). Valid during the call only.
 */
typedef void bus_message_cb(
        struct bus_delivery d, const char *body, size_t len, bool oversized, void *arg);

struct bus_stats {
	unsigned long received, acked, connects, failures;
	bool consuming;
};

/* p and what it points to must outlive the bus. 0 or -ENOMEM. */
int bus_new(struct event_base *base, const struct bus_params *p, bus_message_cb *cb, void *arg,
        struct bus **out);
/* Connects at once, then keeps reconnecting until bus_stop. */
void bus_start(struct bus *b);
/*
 * Disconnects: what was delivered and not acknowledged goes back to the
 * queue. Never waits: an attempt under way is abandoned.
 */
void bus_stop(struct bus *b);
/* Acknowledges d if its connection is still the current one (else it is redelivered). */
void bus_ack(struct bus *b, struct bus_delivery d);
/* True while d's connection is the current one (its acknowledgement would count). */
bool bus_delivery_current(const struct bus *b, struct bus_delivery d);
const struct bus_stats *bus_stats(const struct bus *b);
/* Stops, and joins an attempt's thread (see above). NULL is fine. */
void bus_free(struct bus *b);

#endif
