#include "engine.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array-grow.h"
#include "config.h"
#include "kernel.h"
#include "log.h"
#include "nft.h"
#include "portalloc.h"
#include "replicas.h"
#include "store.h"
#include "storeq.h"
#include "task.h"

/*
 * Remembers how the last write to the database ended, for /healthz: a
 * database that answers reads but refuses every write (disk full, a
 * read-only remount) must not look healthy.
 */
static void write_ok(struct engine *e)
{
	e->write_failing = false;
	e->write_error[0] = '\0';
}

/* A store failure in words. Busy and I/O errors are the database's, not the caller's. */
static int store_error(struct engine *e, struct fault *err, int r, const char *doing, char *cause)
{
	/* Not found and busy (locked by another writer, retried) say nothing of the disk. */
	if (r != -ENOENT && r != -EBUSY && strcmp(doing, "read") != 0) {
		e->write_failing = true;
		snprintf(e->write_error, sizeof(e->write_error), "%s: %s", doing,
		        cause ? cause : strerror(-r));
	}
	if (r == -ENOENT)
		fault_set(err, -ENOENT, FAULT_FORWARDING, "%s: no such forwarding", doing);
	else if (r == -EBUSY)
		fault_set(err, r, FAULT_STORE, "%s: the database is busy: %s", doing,
		        cause ? cause : strerror(-r));
	else
		fault_set(err, r, FAULT_STORE, "%s: %s", doing, cause ? cause : strerror(-r));
	free(cause);
	return -1;
}

static void describe(const struct forwarding *f, char *buf, size_t len)
{
	char ext[ADDR_STRLEN], in[ADDR_STRLEN], er[16], ir[16];

	snprintf(buf, len, "%s %s:%s -> %s:%s", fwd_protocol_name(f->protocol),
	        addr_format(&f->external_addr, ext, sizeof(ext)),
	        port_range_format(&f->external, er, sizeof(er)),
	        addr_format(&f->internal_addr, in, sizeof(in)),
	        port_range_format(&f->internal, ir, sizeof(ir)));
}

static int conflict_error(struct fault *err, const struct store_conflict *c)
{
	char other[160];

	describe(&c->with, other, sizeof(other));
	switch (c->kind) {
	case STORE_CONFLICT_EXTERNAL:
		fault_set(err, -EADDRINUSE, FAULT_EXTERNAL_PORT,
		        "the external port is already forwarded by port forwarding %s (%s)",
		        c->with.id, other);
		break;
	case STORE_CONFLICT_INTERNAL:
		fault_set(err, -EADDRINUSE, FAULT_INTERNAL_PORT,
		        "the internal address and port are already the target of port forwarding "
		        "%s (%s)",
		        c->with.id, other);
		break;
	default:
		fault_set(err, -EEXIST, FAULT_FORWARDING, "a port forwarding with id %s exists",
		        c->with.id);
	}
	err->has_other = true;
	err->other = c->with;
	return -1;
}

static int kernel_error(struct fault *err, const char *router_id, int r, char *cause)
{
	fault_set(err, r, FAULT_KERNEL,
	        "the kernel refused the change in the namespace of router %s: %s", router_id,
	        cause ? cause : strerror(-r));
	free(cause);
	return -1;
}

static void rollback(struct engine *e)
{
	char *cause = NULL;

	if (store_rollback(e->store, &cause) < 0) {
		log_warnx("Failed to roll back: %s", cause ? cause : "?");
		free(cause);
	}
}

/* A commit of unknown outcome: remember its routers, to rewrite from the database later. */
static void remember_unsure(struct engine *e, const char *router_id)
{
	for (size_t i = 0; i < e->unsure_n; i++)
		if (strcmp(e->unsure[i], router_id) == 0)
			return;
	if (e->unsure_n == ENGINE_UNSURE_MAX) {
		log_warnx("Router %s's table may miss a change whose commit was cut off; it is "
		          "rewritten when its namespace comes back or the agent restarts",
		        router_id);
		return;
	}
	snprintf(e->unsure[e->unsure_n++], sizeof(e->unsure[0]), "%s", router_id);
}

/* After a commit that works: the tables of commits cut off before are rewritten. */
static void resync_unsure(struct engine *e)
{
	struct fault err;

	while (e->unsure_n > 0) {
		const char *router_id = e->unsure[--e->unsure_n];

		log_info("Rewriting router %s's table: a commit of it was cut off", router_id);
		if (engine_sync_router(e, router_id, &err) < 0)
			log_warnx("Failed to rewrite the table of router %s: %s", router_id,
			        err.detail);
	}
}

/* After a commit that found the table flushed, rewrite it whole. */
static void resync_if_needed(struct engine *e, const char *router_id)
{
	struct fault err;

	if (!e->resync_router)
		return;
	e->resync_router = false;
	log_warnx("The table of router %s had been flushed; rewriting it", router_id);
	if (engine_sync_router(e, router_id, &err) < 0)
		log_warnx("Failed to rewrite the table of router %s: %s", router_id, err.detail);
}

/* f[0..n) are of one router. In a bulk change they wait for engine_bulk_end(). */
static void cut_sessions(struct engine *e, const struct forwarding *f, size_t n)
{
	char *cause = NULL;
	size_t i;

	for (i = 0; e->bulk != NULL && i < n; i++)
		if (fwd_list_add(&f[i], e->bulk) < 0)
			break; /* out of memory: cut them now (twice for some is harmless) */
	if (e->bulk != NULL && i == n)
		return;
	if (n > 0 && kernel_cut_sessions(e->kernel, f, n, &cause) < 0) {
		log_warnx("Failed to delete conntrack entries of %zu port forwarding%s of router "
		          "%s: %s",
		        n, n == 1 ? "" : "s", f[0].router_id, cause ? cause : "?");
		free(cause);
	}
}

static int by_router(const void *a, const void *b)
{
	return strcmp(((const struct forwarding *)a)->router_id,
	        ((const struct forwarding *)b)->router_id);
}

void engine_bulk_begin(struct engine *e, struct fwd_list *bulk)
{
	memset(bulk, 0, sizeof(*bulk));
	e->bulk = bulk;
}

void engine_bulk_end(struct engine *e)
{
	struct fwd_list *l = e->bulk;
	size_t first = 0;

	e->bulk = NULL;
	if (l == NULL || l->n == 0) {
		if (l != NULL)
			fwd_list_free(l);
		return;
	}
	qsort(l->v, l->n, sizeof(*l->v), by_router);
	for (size_t i = 1; i <= l->n; i++)
		if (i == l->n || strcmp(l->v[i].router_id, l->v[first].router_id) != 0) {
			cut_sessions(e, l->v + first, i - first);
			first = i;
		}
	fwd_list_free(l);
}

/*
 * Inserts or updates f inside the open transaction; a conflict is a 409
 * naming the other (and sets *external when it is on the external side).
 */
static int write_row(
        struct engine *e, struct forwarding *f, bool insert, struct fault *err, bool *external)
{
	struct store_conflict conflict;
	char *cause = NULL;
	int r;

	r = insert ? store_insert(e->store, f, &conflict, &cause)
	           : store_update(e->store, f, &conflict, &cause);
	if (r == -EEXIST) {
		free(cause); /* the conflict says it better */
		if (external)
			*external = conflict.kind == STORE_CONFLICT_EXTERNAL;
		return conflict_error(err, &conflict);
	}
	if (r < 0)
		return store_error(e, err, r, insert ? "insert" : "update", cause);
	return 0;
}

static int allocate(struct engine *e, struct forwarding *f, struct fault *err)
{
	unsigned int count = port_range_len(&f->internal);
	char range[16], *cause = NULL;
	int r;

	r = portalloc_find(e->alloc, f->router_id, &f->external_addr, f->protocol, count,
	        &f->external, &cause);
	free(cause);
	if (r == -ENOSPC)
		return fault_set(err, -ENOSPC, FAULT_RANGE,
		        "no %u free %s port%s left in router_port_range %s on router %s", count,
		        fwd_protocol_name(f->protocol), count > 1 ? "s" : "",
		        port_range_format(&e->cfg->router_port_range, range, sizeof(range)),
		        f->router_id);
	if (r < 0)
		return fault_set(
		        err, r, FAULT_STORE, "cannot allocate an external port: %s", strerror(-r));
	return 0;
}

/* Whether a change of f leaves sessions that must be cut. */
static bool retargeted(const struct forwarding *old, const struct forwarding *next)
{
	return !addr_equal(&old->internal_addr, &next->internal_addr) ||
	        old->internal.lo != next->internal.lo || old->internal.hi != next->internal.hi ||
	        old->external.lo != next->external.lo || old->external.hi != next->external.hi ||
	        !addr_equal(&old->external_addr, &next->external_addr) ||
	        old->protocol != next->protocol || old->masquerade != next->masquerade;
}

static int sync_router(struct engine *e, const char *router_id, bool repair, struct fault *err)
{
	struct fwd_list l = {0};
	char *cause = NULL;
	int r;

	r = store_foreach_router(e->store, router_id, fwd_list_add, &l, &cause);
	if (r < 0) {
		free(l.v);
		return store_error(e, err, r, "read", cause);
	}
	r = repair ? kernel_repair(e->kernel, router_id, l.v, l.n, &cause)
	           : kernel_sync(e->kernel, router_id, l.v, l.n, &cause);
	free(l.v);
	if (r == -ENOENT) {
		free(cause);
		return engine_router_gone(e, router_id, err);
	}
	if (r < 0)
		return kernel_error(err, router_id, r, cause);
	r = store_set_router_status(e->store, router_id, FWD_STATUS_ACTIVE, &cause);
	if (r < 0)
		return store_error(e, err, r, "set status", cause);
	write_ok(e);
	return 0;
}

int engine_sync_router(struct engine *e, const char *router_id, struct fault *err)
{
	return sync_router(e, router_id, false, err);
}

int engine_repair_router(struct engine *e, const char *router_id, struct fault *err)
{
	return sync_router(e, router_id, true, err);
}

int engine_router_gone(struct engine *e, const char *router_id, struct fault *err)
{
	char *cause = NULL;
	int r;

	kernel_forget(e->kernel, router_id);
	r = store_set_router_status(e->store, router_id, FWD_STATUS_DOWN, &cause);
	if (r < 0)
		return store_error(e, err, r, "set status", cause);
	return 0;
}

int engine_delete_router(
        struct engine *e, const char *router_id, unsigned int *count, struct fault *err)
{
	struct fwd_list l = {0};
	char *cause = NULL;
	bool applied = false;
	int r;

	*count = 0;
	if ((r = store_begin(e->store, &cause)) < 0)
		return store_error(e, err, r, "begin", cause);
	r = store_foreach_router(e->store, router_id, fwd_list_add, &l, &cause);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		r = store_delete(e->store, l.v[i].id, NULL, &cause);
	if (r < 0) {
		store_error(e, err, r, "delete", cause);
		goto fail;
	}
	r = kernel_sync(e->kernel, router_id, NULL, 0, &cause);
	if (r < 0 && r != -ENOENT) {
		kernel_error(err, router_id, r, cause);
		goto fail;
	}
	free(cause);
	applied = r == 0;
	if ((r = store_commit(e->store, &cause)) < 0) {
		if (applied && kernel_sync(e->kernel, router_id, l.v, l.n, NULL) < 0)
			log_warnx("Failed to restore router %s's table after a failed commit",
			        router_id);
		free(l.v);
		return store_error(e, err, r, "commit", cause);
	}
	write_ok(e);
	if (applied)
		cut_sessions(e, l.v, l.n);
	*count = (unsigned int)l.n;
	free(l.v);
	return 0;
fail:
	free(l.v);
	rollback(e);
	return -1;
}

bool engine_write_check(struct engine *e)
{
	char *cause = NULL;
	int r;

	if (!e->write_failing)
		return true;
	/* A probe inside a transaction would commit someone else's change. */
	if (store_in_transaction(e->store))
		return false;
	r = store_probe_write(e->store, &cause);
	if (r == 0) {
		log_info("The database takes writes again");
		write_ok(e);
		return true;
	}
	snprintf(e->write_error, sizeof(e->write_error), "write probe: %s",
	        cause ? cause : strerror(-r));
	free(cause);
	return false;
}

/* ---- the group commit ---- */

/* Most changes one flush carries: the transaction and each nft batch stay small. */
#define ENGINE_BATCH_MAX 256
/* Longest a flush waits for more changes (µs): well under one fsync. */
#define ENGINE_GATHER_US 500
/* Flushes after a timed-out wait before gather probes one higher. */
#define ENGINE_GATHER_HOLD 16

enum req_op {
	REQ_CREATE,
	REQ_UPDATE,
	REQ_DELETE,
};

/* One submitted change, from submit to its answer. */
struct engine_req {
	enum req_op op;
	size_t seq;              /* submission order within its batch */
	struct forwarding *f;    /* create, update: the caller's, filled when stored */
	struct forwarding orig;  /* *f as submitted: a retry starts from it */
	bool allocate;           /* create: pick the external range */
	char id[FWD_ID_LEN + 1]; /* delete */
	char router_id[FWD_NAME_MAX + 1];
	struct forwarding prev;   /* update, delete: what was stored */
	struct nft_change change; /* what it asks of the kernel, once written */
	bool applied;             /* the kernel took change */
	bool failed;
	struct fault err;
	engine_done_cb done;
	void *arg;
};

static void req_fail(struct engine_req *q, const struct fault *err)
{
	q->failed = true;
	q->err = *err;
}

/* Back to as submitted: a retry, or a new batch, starts clean. */
static void req_reset(struct engine_req *q)
{
	if (q->f != NULL)
		*q->f = q->orig;
	memset(&q->prev, 0, sizeof(q->prev));
	q->change = (struct nft_change){0};
	q->applied = false;
	q->failed = false;
}

/*
 * With many agents on one database, a port this agent's allocator found
 * free may have been taken by another agent's commit since the allocator
 * read the store. On such a conflict the allocator reads the store again
 * and the port is chosen anew, a few times, before the 409.
 */
#define ENGINE_ALLOC_ATTEMPTS 4

static int create_row(struct engine *e, struct engine_req *q)
{
	bool external = false;

	for (int attempt = 1;; attempt++) {
		if (q->allocate && allocate(e, q->f, &q->err) < 0)
			return -1;
		if (write_row(e, q->f, true, &q->err, &external) == 0)
			return 0;
		if (!q->allocate || !external || attempt == ENGINE_ALLOC_ATTEMPTS)
			return -1;
		log_debug("engine: allocated port %u taken meanwhile: allocating again",
		        q->f->external.lo);
		portalloc_reset(e->alloc);
	}
}

/*
 * Writes q's row inside the open transaction and works out its kernel
 * change. A refusal
 * (conflict, not found, range exhausted) writes nothing. -1 when q failed.
 */
static int req_write(struct engine *e, struct engine_req *q, bool present)
{
	char *cause = NULL;
	int r;

	switch (q->op) {
	case REQ_CREATE:
		q->f->status = present ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
		if (create_row(e, q) < 0)
			break;
		if (q->f->status == FWD_STATUS_ACTIVE)
			q->change.add = q->f;
		return 0;
	case REQ_UPDATE:
		if ((r = store_get(e->store, q->f->id, &q->prev, &cause)) < 0) {
			store_error(e, &q->err, r, "update", cause);
			break;
		}
		q->f->status = q->prev.status;
		if (write_row(e, q->f, false, &q->err, NULL) < 0)
			break;
		if (q->prev.status == FWD_STATUS_ACTIVE && retargeted(&q->prev, q->f))
			q->change = (struct nft_change){.del = &q->prev, .add = q->f};
		return 0;
	case REQ_DELETE:
		if ((r = store_delete(e->store, q->id, &q->prev, &cause)) < 0) {
			store_error(e, &q->err, r, "delete", cause);
			break;
		}
		if (q->prev.status == FWD_STATUS_ACTIVE)
			q->change.del = &q->prev;
		return 0;
	}
	q->failed = true;
	return -1;
}

/* Puts the kernel back: the inverse of g's applied changes, last first. */
static void undo_kernel(struct engine *e, struct engine_req **g, size_t n)
{
	struct nft_change inv[ENGINE_BATCH_MAX];
	char *cause = NULL;
	size_t k = 0;

	for (size_t i = n; i-- > 0;)
		if (g[i]->applied)
			inv[k++] = (struct nft_change){
			        .del = g[i]->change.add, .add = g[i]->change.del};
	if (k > 0 && kernel_change_many(e->kernel, g[0]->router_id, inv, k, &cause) < 0) {
		log_warnx("Failed to undo %zu kernel change%s in router %s after a failed commit: "
		          "%s",
		        k, k == 1 ? "" : "s", g[0]->router_id, cause ? cause : "?");
		free(cause);
	}
}

/*
 * The changes g[0..n) of one router, under one savepoint, then one nft
 * batch. When the kernel refuses the batch of several, they are taken
 * back out and retried one by one (batched false), so the kernel's "no"
 * reaches only the change it was about. Alone (the batch's only change,
 * n 1) it needs no savepoint: a refusal returns ENGINE_ROLL_BACK and the
 * batch's rollback takes it out. Returns 1 when the router's table had
 * been flushed (rewrite it after the commit), 0, or -1 when the
 * transaction is lost (fatal filled): the whole batch must fail.
 */
#define ENGINE_ROLL_BACK 2
static int run_group(struct engine *e, struct engine_req **g, size_t n, bool batched, bool alone,
        struct fault *fatal)
{
	const char *router_id = g[0]->router_id;
	bool present = kernel_router_present(e->kernel, router_id);
	struct nft_change ch[ENGINE_BATCH_MAX];
	struct engine_req *who[ENGINE_BATCH_MAX];
	char *cause = NULL;
	size_t nc = 0;
	int r, rebuilt = 0;

	if (!alone && (r = store_savepoint(e->store, &cause)) < 0)
		return store_error(e, fatal, r, "savepoint", cause);
	for (size_t i = 0; i < n; i++) {
		if (req_write(e, g[i], present) < 0) {
			/* An I/O error may have ended the transaction: nothing more is safe. */
			if (!store_in_transaction(e->store)) {
				*fatal = g[i]->err;
				return -1;
			}
			continue;
		}
		if (g[i]->change.del != NULL || g[i]->change.add != NULL) {
			ch[nc] = g[i]->change;
			who[nc++] = g[i];
		}
	}
	r = nc > 0 ? kernel_change_many(e->kernel, router_id, ch, nc, &cause) : 0;
	if (r == -ENOENT) { /* the namespace went away: stored, written when it is back */
		free(cause);
		r = 0;
		nc = 0;
	}
	if (r < 0 && alone) {
		kernel_error(&g[0]->err, router_id, r, cause);
		g[0]->failed = true;
		g[0]->change = (struct nft_change){0};
		return ENGINE_ROLL_BACK;
	}
	if (r < 0) {
		char *c2 = NULL;
		int r2;

		if ((r2 = store_rollback_to(e->store, &c2)) < 0 ||
		        (r2 = store_release(e->store, &c2)) < 0) {
			free(cause);
			return store_error(e, fatal, r2, "roll back to savepoint", c2);
		}
		if (batched && n > 1) {
			log_warnx("The kernel refused a batch of %zu changes in router %s (%s); "
			          "retrying them one by one",
			        nc, router_id, cause ? cause : "?");
			free(cause);
			for (size_t i = 0; i < n; i++) {
				req_reset(g[i]);
				if ((r = run_group(e, &g[i], 1, false, false, fatal)) < 0)
					return -1;
				rebuilt |= r;
			}
			return rebuilt;
		}
		/* One change, and the kernel refused it: its row went back out above. */
		kernel_error(&g[0]->err, router_id, r, cause);
		g[0]->failed = true;
		g[0]->change = (struct nft_change){0};
		return 0;
	}
	for (size_t i = 0; i < nc; i++)
		who[i]->applied = true;
	rebuilt = r == NFT_REBUILT;
	if ((r = replicas_own(e->store, e->kernel, router_id, &cause)) < 0)
		return store_error(e, fatal, r, "write this node's replica", cause);
	/* On failure the batch's undo puts this router's table back with the others. */
	if (!alone && (r = store_release(e->store, &cause)) < 0)
		return store_error(e, fatal, r, "release savepoint", cause);
	return rebuilt;
}

static int by_router_seq(const void *a, const void *b)
{
	const struct engine_req *x = *(struct engine_req *const *)a;
	const struct engine_req *y = *(struct engine_req *const *)b;
	int c = strcmp(x->router_id, y->router_id);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* [*start, *end) becomes the next run of one router in v[0..n), from *end. */
static bool next_group(struct engine_req **v, size_t n, size_t *start, size_t *end)
{
	if (*end >= n)
		return false;
	*start = *end;
	for (*end = *start + 1; *end < n && strcmp(v[*end]->router_id, v[*start]->router_id) == 0;
	        (*end)++)
		;
	return true;
}

/* After the commit: sessions to the old targets are cut, one dump per router. */
static void cut_group(struct engine *e, struct engine_req **g, size_t n)
{
	struct forwarding *v = calloc(n, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!g[i]->applied || g[i]->change.del == NULL)
			continue;
		if (v == NULL)
			cut_sessions(e, g[i]->change.del, 1); /* out of memory: one by one */
		else
			v[k++] = *g[i]->change.del;
	}
	if (v != NULL)
		cut_sessions(e, v, k);
	free(v);
}

/*
 * Times a batch runs when its commit loses to another node's transaction
 * (MariaDB/Galera: -EAGAIN, nothing of it applied); the next run reads
 * the winner's rows and answers 409 where they conflict. Two agents
 * streaming changes into one router lose to each other often (Galera
 * certifies optimistically: the later commit of two that wrote the
 * router's revision loses); a random pause before each new run, up to 5 ms
 * times the attempt (at most 100 ms), lets the other's commit land instead
 * of meeting it again.
 */
#define ENGINE_ATTEMPTS 20

static void lost_race_pause(int attempt)
{
	long ns = (random() % 5000000L) * attempt;
	struct timespec ts = {0, ns < 100000000L ? ns : 100000000L};

	/* In the store gate's task the loop goes on meanwhile (ms are fine enough there). */
	if (task_inside())
		(void)task_wait_fd(-1, 0, (int)(ts.tv_nsec / 1000000));
	else
		(void)nanosleep(&ts, NULL);
}

/*
 * One transaction over reqs[0..n): see engine.h for what each gets.
 * Returns -EAGAIN, with nothing answered and nothing kept, when the
 * commit lost a race and may_retry; else 0.
 */
static int run_batch(struct engine *e, struct engine_req **reqs, size_t n, bool may_retry)
{
	struct engine_req *order[ENGINE_BATCH_MAX];
	bool rebuilt[ENGINE_BATCH_MAX] = {false};
	size_t m = 0, start = 0, end = 0, gi = 0;
	struct fault fatal;
	char *cause = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		req_reset(reqs[i]);
	if ((r = store_begin(e->store, &cause)) < 0) {
		store_error(e, &fatal, r, "begin", cause);
		goto fail_all;
	}
	for (size_t i = 0; i < n; i++) {
		struct engine_req *q = reqs[i];

		if (q->op == REQ_DELETE) { /* its router is known once read */
			if ((r = store_get(e->store, q->id, &q->prev, &cause)) < 0) {
				store_error(e, &q->err, r, "delete", cause);
				q->failed = true;
				continue;
			}
			snprintf(q->router_id, sizeof(q->router_id), "%s", q->prev.router_id);
		}
		order[m++] = q;
	}
	qsort(order, m, sizeof(*order), by_router_seq);
	while (next_group(order, m, &start, &end)) {
		/* A lone change (one client at a time) spares the savepoint's two statements. */
		if ((r = run_group(e, order + start, end - start, true, m == 1, &fatal)) < 0)
			goto undo;
		if (r == ENGINE_ROLL_BACK) { /* the lone change was refused by the kernel */
			rollback(e);
			return 0;
		}
		rebuilt[gi++] = r == 1;
	}
	if ((r = store_commit(e->store, &cause)) < 0) {
		if (r == -EAGAIN && may_retry) {
			free(cause);
			goto again;
		}
		store_error(e, &fatal, r, "commit", cause);
		/* Cut off during COMMIT: it may have landed; the tables are rewritten later. */
		for (start = end = 0; r == -ENOTCONN && next_group(order, m, &start, &end);)
			remember_unsure(e, order[start]->router_id);
		goto undo;
	}
	write_ok(e);
	resync_unsure(e);
	e->batches++;
	e->batched += n;
	if (e->on_commit != NULL)
		e->on_commit(n, e->on_commit_arg);
	for (start = end = gi = 0; next_group(order, m, &start, &end); gi++) {
		if (rebuilt[gi]) {
			e->resync_router = true;
			resync_if_needed(e, order[start]->router_id);
		}
		cut_group(e, order + start, end - start);
	}
	return 0;
undo:
	/* Lost to another node's transaction before the commit (a savepoint, a write). */
	if (may_retry && store_txn_lost(e->store) == -EAGAIN)
		goto again;
	for (start = end = 0; next_group(order, m, &start, &end);)
		undo_kernel(e, order + start, end - start);
	rollback(e);
	goto fail_all;
again:
	log_debug("engine: the batch lost to a concurrent transaction: again");
	for (start = end = 0; next_group(order, m, &start, &end);)
		undo_kernel(e, order + start, end - start);
	rollback(e);
	return -EAGAIN;
fail_all:
	/* Nothing of the batch stays: every change gets the batch's error. */
	for (size_t i = 0; i < n; i++)
		req_fail(reqs[i], &fatal);
	return 0;
}

/* Takes up to ENGINE_BATCH_MAX queued changes, carries them out, answers them. */
static void flush_some(struct engine *e)
{
	struct engine_req *reqs[ENGINE_BATCH_MAX];
	size_t n = e->queued < ENGINE_BATCH_MAX ? e->queued : ENGINE_BATCH_MAX;

	memcpy(reqs, e->queue, n * sizeof(*reqs));
	memmove(e->queue, e->queue + n, (e->queued - n) * sizeof(*e->queue));
	e->queued -= n;
	for (size_t i = 0; i < n; i++)
		reqs[i]->seq = i;
	for (int attempt = 1; run_batch(e, reqs, n, attempt < ENGINE_ATTEMPTS) == -EAGAIN;
	        attempt++)
		lost_race_pause(attempt);
	/* done() may submit again: that goes to the next batch. */
	for (size_t i = 0; i < n; i++) {
		reqs[i]->done(reqs[i]->failed ? &reqs[i]->err : NULL, reqs[i]->arg);
		free(reqs[i]);
	}
}

void engine_flush(struct engine *e)
{
	while (e->queued > 0)
		flush_some(e);
}

/*
 * Adapts how many changes the next flush waits for to the n this one
 * carries. Concurrent clients answered together come back together, but
 * not within one loop turn on a busy machine: waiting for as many as last
 * time costs less than another fsync. A flush that had to time out sets
 * the mark to what came; every ENGINE_GATHER_HOLD flushes it probes one
 * higher, so it finds its way back up when more clients arrive. A lone
 * client (n 1) resets it to 1: it never waits.
 */
static void adapt_gather(struct engine *e, size_t n, bool timed_out)
{
	if (n <= 1 || timed_out) {
		e->gather = n > 0 ? n : 1;
		e->hold = timed_out && n > 1 ? ENGINE_GATHER_HOLD : 0;
	} else if (e->hold > 0) {
		e->hold--;
		e->gather = n;
	} else {
		e->gather = n + 1;
	}
}

static void flush_run(void *arg)
{
	engine_flush(arg);
}

static void flush_done(void *arg)
{
	struct engine *e = arg;

	e->flushing = false;
	/* Changes submitted during the flush's last batch: the next flush's. */
	if (e->queued > 0 && !event_pending(e->flush_ev, EV_TIMEOUT, NULL)) {
		e->flush_now = true;
		event_active(e->flush_ev, EV_TIMEOUT, 0);
	}
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	/* Activated before its timeout: the timeout must not fire again later. */
	if (event_del(e->flush_ev) < 0)
		log_warnx("Failed to remove the group commit's timer");
	/* Already carried out (by a flush that ran on while answering): nothing to learn. */
	if (e->queued == 0)
		return;
	adapt_gather(e, e->queued < ENGINE_BATCH_MAX ? e->queued : ENGINE_BATCH_MAX, !e->flush_now);
	e->flush_now = false;
	if (e->gate == NULL) {
		engine_flush(e);
	} else if (!e->flushing) {
		/* One flush in the gate at a time: it carries what comes while it waits too. */
		e->flushing = true;
		if (storeq_run(e->gate, flush_run, flush_done, e) < 0) {
			e->flushing = false;
			log_warnx("The group commit cannot queue its flush: out of memory; again");
			event_active(e->flush_ev, EV_TIMEOUT, 0);
		}
	}
}

int engine_batch_start(struct engine *e, struct event_base *base)
{
	if ((e->flush_ev = event_new(base, -1, 0, on_flush, e)) == NULL)
		return -ENOMEM;
	return 0;
}

void engine_batch_stop(struct engine *e)
{
	engine_flush(e);
	if (e->batches > 0)
		log_info("Group commit: %lu changes in %lu transactions (%.2f each)", e->batched,
		        e->batches, (double)e->batched / (double)e->batches);
	if (e->flush_ev != NULL)
		event_free(e->flush_ev);
	e->flush_ev = NULL;
	free(e->queue);
	e->queue = NULL;
	e->queue_cap = 0;
}

/* Queues q; the first of a turn activates the flush, which runs after what is already ready. */
static void submit(struct engine *e, struct engine_req *q, engine_done_cb done, void *arg)
{
	struct engine_req **v = NULL;
	struct fault err;

	if (q == NULL ||
	        (v = array_grow(e->queue, &e->queue_cap, e->queued, sizeof(*v), 64)) == NULL) {
		free(q);
		fault_no_memory(&err);
		done(&err, arg);
		return;
	}
	e->queue = v;
	q->done = done;
	q->arg = arg;
	if (q->f != NULL)
		q->orig = *q->f;
	e->queue[e->queued++] = q;
	if (e->flush_ev == NULL) {
		engine_flush(e);
	} else if (e->queued >= e->gather || e->queued >= ENGINE_BATCH_MAX) {
		e->flush_now = true;
		event_active(e->flush_ev, EV_TIMEOUT, 0);
	} else if (!event_pending(e->flush_ev, EV_TIMEOUT, NULL)) {
		const struct timeval wait = {0, ENGINE_GATHER_US};

		if (event_add(e->flush_ev, &wait) < 0) { /* cannot wait: flush at once */
			e->flush_now = true;
			event_active(e->flush_ev, EV_TIMEOUT, 0);
		}
	}
}

/* A change to submit; NULL when out of memory (submit() answers that). */
static struct engine_req *new_req(
        enum req_op op, struct forwarding *f, bool allocate_port, const char *id)
{
	struct engine_req *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->op = op;
	q->f = f;
	q->allocate = allocate_port;
	if (id != NULL)
		snprintf(q->id, sizeof(q->id), "%s", id);
	if (f != NULL)
		snprintf(q->router_id, sizeof(q->router_id), "%s", f->router_id);
	return q;
}

void engine_submit_create(
        struct engine *e, struct forwarding *f, bool allocate_port, engine_done_cb done, void *arg)
{
	submit(e, new_req(REQ_CREATE, f, allocate_port, NULL), done, arg);
}

void engine_submit_update(struct engine *e, struct forwarding *next, engine_done_cb done, void *arg)
{
	submit(e, new_req(REQ_UPDATE, next, false, NULL), done, arg);
}

void engine_submit_delete(struct engine *e, const char *id, engine_done_cb done, void *arg)
{
	submit(e, new_req(REQ_DELETE, NULL, false, id), done, arg);
}
