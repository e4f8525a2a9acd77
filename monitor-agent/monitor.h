/*
 * The monitor agent's top-level state. It never writes the database or the
 * kernel: it looks at Neutron and at the router namespaces' praas tables
 * and tells the pat-agent what changed, over the control socket.
 */
#ifndef PRAAS_MONITOR_H
#define PRAAS_MONITOR_H

#include <stdbool.h>

#include "config.h"
#include "nft.h"

struct event;
struct event_base;
struct ipc_client;
struct osclient;
struct cycle;
struct notify;
struct lease;

struct monitor {
	struct config cfg;
	struct event_base *base;
	struct osclient *os; /* NULL in standalone mode: kernel checks only */
	struct ipc_client *ipc;
	struct nft_opts nft;
	struct event *timer;
	struct cycle *cycle;   /* the reconcile in flight, if any */
	unsigned int failures; /* OpenStack failures in a row: the backoff's exponent */
	unsigned long cycles;
	unsigned long drifts;      /* confirmed by the pat-agent, and repaired */
	unsigned long unconfirmed; /* our look differed, the pat-agent's did not */
	struct event *sig_term, *sig_int;
	struct notify *notify; /* NULL: notifications off (transport_url "") */
	struct lease *lease;   /* whether this monitor acts (lease.h) */
	size_t chunk;          /* forwardings per chunk of a cycle (reconcile.c) */
};

/* Starts the periodic reconcile: the first one at once. */
int monitor_start(struct monitor *m);
/* Starts a cycle at once unless one runs (this monitor just took the lease). */
void monitor_kick(struct monitor *m);
/* Stops the timer and abandons a cycle in flight (nothing half-reported). */
void monitor_stop(struct monitor *m);

/*
 * The delay between the starts of two cycles, given how many failed in a
 * row: the period, doubled per failure, capped at 300 s (or the period, if
 * longer).
 */
double monitor_next_delay(double period, unsigned int failures);
/* How long one look at Neutron may take before it is abandoned (a failure). */
double monitor_deadline(double period);

#endif
