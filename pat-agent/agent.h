/*
 * The pat-agent's top-level state: one per process, made by main() and
 * handed to every part. Nothing else in the daemon is global.
 */
#ifndef PRAAS_AGENT_H
#define PRAAS_AGENT_H

#include <stdbool.h>

#include "auth.h"
#include "config.h"
#include "engine.h"

struct census;
struct control;
struct event;
struct event_base;
struct gateways;
struct httpd;
struct kernel;
struct metrics;
struct nswatch;
struct osclient;
struct portalloc;
struct readcopy;
struct routers;
struct stats;
struct store;
struct storeq;

struct agent {
	struct config cfg;
	const char *log_file; /* reopened on SIGHUP; NULL: stderr as given */
	struct event_base *base;
	struct store *store;
	struct storeq *storeq; /* the store gate: every use of store goes through it (storeq.h) */
	/* The requests' reads: MariaDB, a second connection behind a gate of its own; SQLite,
	 * store. */
	struct store *reads;
	struct storeq *readq;
	struct portalloc *alloc;
	struct kernel *kernel;
	struct engine engine;
	struct osclient *os; /* NULL in standalone mode */
	struct routers *routers;
	struct auth *auth;
	struct nswatch *watch;     /* qrouter- namespaces */
	struct nswatch *watch_dvr; /* snat- namespaces (DVR routers' gateways) */
	struct gateways *gateways; /* standalone mode only */
	struct stats *stats;
	struct census *census; /* what /healthz and /metrics say of the database */
	struct httpd *httpd;
	struct httpd *httpd_ops; /* metrics_listen: /metrics and /healthz; NULL: on httpd */
	struct control *control;
	struct follow *follow;       /* MariaDB: the other agents' changes; NULL on SQLite */
	struct heartbeat *heartbeat; /* this agent's row of table agents */
	struct readcopy *readcopy;   /* MariaDB: what reads answer from while it is away */
	struct event *sig_term, *sig_int, *sig_hup;
	int netns_lock;            /* flock on netns_dir: one agent per node's routers */
	bool allow_empty_database; /* --allow-empty-database */
	bool stopping;
};

#endif
