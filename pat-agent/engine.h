/*
 * The one place forwardings change: the database and the kernel together.
 *
 * Every operation is one store transaction around one nft batch (the
 * group commit below puts the changes of one loop turn in one). The
 * kernel change is made inside the transaction; the transaction commits
 * only if the kernel took the change, and if the commit then fails the
 * kernel change is undone. So an acknowledged change is on disk and, when
 * the router's namespace is on this node, in the kernel; a refused one is
 * in neither. A forwarding whose namespace is absent is stored DOWN and
 * reaches the kernel when the namespace appears (engine_sync_router).
 *
 * Synchronous code: SQLite and netlink are local; on MariaDB the flush
 * runs as a task through the store gate (gate, storeq.h), so its
 * statements wait for the server without holding the loop, and every
 * other entry point is called from work already in the gate. Ownership
 * and OpenStack checks happen before, in the routes.
 */
#ifndef PRAAS_ENGINE_H
#define PRAAS_ENGINE_H

#include <stdbool.h>

#include "fault.h"
#include "fwd.h"

struct config;
struct engine_req;
struct event;
struct event_base;
struct kernel;
struct portalloc;
struct store;
struct storeq;

/* Routers remembered for a rewrite after a commit of unknown outcome; more are logged. */
#define ENGINE_UNSURE_MAX 32

struct engine {
	struct store *store;
	struct storeq *gate; /* the flush runs through it (storeq.h); NULL: at once */
	struct portalloc *alloc;
	struct kernel *kernel;
	const struct config *cfg;
	bool resync_router;    /* the last change found its table flushed */
	struct fwd_list *bulk; /* sessions to cut at engine_bulk_end(), if any */
	/* The last write to the database failed (and why); see engine_write_check(). */
	bool write_failing;
	char write_error[256];
	/* The group commit: changes submitted, waiting for the end of the loop turn. */
	struct event *flush_ev; /* NULL: each submitted change runs at once */
	struct engine_req **queue;
	size_t queued, queue_cap;
	unsigned long batches, batched; /* flushes and the changes they carried */
	/* Told of each committed flush and how many changes it carried (metrics); may be NULL. */
	void (*on_commit)(size_t changes, void *arg);
	void *on_commit_arg;
	size_t gather;     /* changes a flush waits for, at most ENGINE_GATHER_US; see submit() */
	unsigned int hold; /* flushes left before gather probes one higher again */
	bool flush_now;    /* the flush was activated, not timed out */
	bool flushing;     /* a flush is in the store gate (queued or running) */
	/*
	 * Routers whose last commit's outcome is unknown (the connection lost,
	 * or the server given up on, during COMMIT): their kernel changes were
	 * undone, but the commit may have landed. Their tables are rewritten
	 * from the database after the next commit that works.
	 */
	char unsure[ENGINE_UNSURE_MAX][FWD_NAME_MAX + 1];
	size_t unsure_n;
};

/*
 * Whether the database takes writes, for /healthz. After a failed write
 * it probes with a real one (store_probe_write) so the verdict clears as
 * soon as the cause is gone, even if no client writes meanwhile. Returns
 * true when writes work; otherwise e->write_error says why.
 */
bool engine_write_check(struct engine *e);

/*
 * A bulk change: between begin and end, cutting the sessions of changed
 * forwardings waits, and end cuts them with one conntrack dump per router
 * instead of one per forwarding (a dump walks the host's whole table).
 */
void engine_bulk_begin(struct engine *e, struct fwd_list *bulk);
void engine_bulk_end(struct engine *e);

/*
 * The group commit. A change submitted here is queued; at the end of the
 * loop turn (a libevent event activated by the submit, run after every
 * request already read in that turn) all queued changes are carried out
 * together: one store transaction (one fsync) and, per router, one nft
 * batch. When the last flush carried several changes, their clients are
 * likely to come back together: the flush then waits up to
 * ENGINE_GATHER_US for as many changes as last time (a lone client never
 * waits), since one more fsync costs more than the wait. Each change is answered by done() only
 * after both, in the order submitted, with its own verdict:
 * - a conflict, a missing forwarding, an exhausted range refuse that
 *   change alone (nothing of it is written; later ones see the earlier);
 * - a kernel refusal of a router's batch takes that router's changes back
 *   out (a savepoint) and retries them one by one, so only the change the
 *   kernel refuses fails;
 * - a failed commit (the fsync) fails every change of the batch with the
 *   store's error, and the kernel changes made are undone: nothing half
 *   applied.
 * Each change:
 * - create stores f and writes it to the kernel; with allocate, the
 *   external range is picked from router_port_range (as long as the
 *   internal range);
 * - update replaces the forwarding next->id by next (every field already
 *   merged by the caller); old sessions to the previous target are cut;
 * - delete removes a forwarding; its sessions are cut.
 * f/next must stay valid until done() and hold what was stored after it
 * (id, status, timestamps).
 */
typedef void (*engine_done_cb)(const struct fault *err, void *arg);

/* Changes are flushed from base's loop from now on. 0 or -ENOMEM. */
int engine_batch_start(struct engine *e, struct event_base *base);
/* Carries out what is queued, and runs each change at once from now on. */
void engine_batch_stop(struct engine *e);
void engine_submit_create(
        struct engine *e, struct forwarding *f, bool allocate, engine_done_cb done, void *arg);
void engine_submit_update(
        struct engine *e, struct forwarding *next, engine_done_cb done, void *arg);
void engine_submit_delete(struct engine *e, const char *id, engine_done_cb done, void *arg);
/* Carries out every queued change now (the event does; tests call it). */
void engine_flush(struct engine *e);

/* Rewrites a router's whole table from the database and marks it ACTIVE. */
int engine_sync_router(struct engine *e, const char *router_id, struct fault *err);
/* The same, removing whatever PRaaS did not write in the table: a repair of drift. */
int engine_repair_router(struct engine *e, const char *router_id, struct fault *err);

/* The router's namespace went away: its forwardings become DOWN. */
int engine_router_gone(struct engine *e, const char *router_id, struct fault *err);

/* Removes every forwarding of a router (it was deleted in Neutron). *count gets how many. */
int engine_delete_router(
        struct engine *e, const char *router_id, unsigned int *count, struct fault *err);

#endif
