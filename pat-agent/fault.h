/*
 * Why a request was refused, as the core (auth, routers, engine, reports) says
 * it: a negative errno, the thing at fault (the cause), a sentence that
 * says what and why, and for a conflict the forwarding in the way.
 *
 * What it promises: nothing below the front doors knows HTTP statuses,
 * API-SIG codes or legacy status words. Each front door turns a fault into
 * its answer with its own table (fault-map.h), in one place.
 */
#ifndef PRAAS_FAULT_H
#define PRAAS_FAULT_H

#include <stdbool.h>

#include "fwd.h"

/* The thing at fault. With the errno it decides each front door's answer. */
enum fault_cause {
	FAULT_REQUEST,       /* the request's own fields */
	FAULT_TARGET,        /* the address or port a forwarding would lead to */
	FAULT_TOKEN,         /* the caller's credentials */
	FAULT_PROJECT,       /* the caller's project may not act on this */
	FAULT_FORWARDING,    /* the forwarding named (or its id) */
	FAULT_ROUTER,        /* the router named */
	FAULT_EXTERNAL_PORT, /* the external address and port; other holds it */
	FAULT_INTERNAL_PORT, /* the internal address and port; other holds it */
	FAULT_RANGE,         /* router_port_range */
	FAULT_GATEWAY,       /* the router's gateway */
	FAULT_STORE,         /* the database */
	FAULT_KERNEL,        /* a change of a router's nft table */
	FAULT_TABLE,         /* reading a router's table or namespace */
	FAULT_NEUTRON,
	FAULT_KEYSTONE,
	FAULT_RESYNC, /* a rebuild of every router */
	FAULT_MEMORY,
	FAULT_CAUSE_COUNT,
};

struct fault {
	int err; /* a negative errno */
	enum fault_cause cause;
	char detail[512];
	bool has_other; /* a conflict: other is the forwarding in the way */
	struct forwarding other;
};

/* Fills f (no other) and returns -1, so a caller can `return fault_set(...)`. */
int fault_set(struct fault *f, int err, enum fault_cause cause, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* -ENOMEM, FAULT_MEMORY, "out of memory". Returns -1. */
int fault_no_memory(struct fault *f);

/* "store", "kernel"... for logs and tests. */
const char *fault_cause_name(enum fault_cause cause);

#endif
