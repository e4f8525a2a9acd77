#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernel.h"
#include "log.h"
#include "nft.h"
#include "portalloc.h"
#include "store.h"

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
static int store_error(struct engine *e, struct apierr *err, int r, const char *doing, char *cause)
{
	/* Not found and busy (locked by another writer, retried) say nothing of the disk. */
	if (r != -ENOENT && r != -EBUSY && strcmp(doing, "read") != 0) {
		e->write_failing = true;
		snprintf(e->write_error, sizeof(e->write_error), "%s: %s", doing,
		        cause ? cause : strerror(-r));
	}
	if (r == -ENOENT)
		apierr_set(err, 404, "praas.not_found", "%s: no such forwarding", doing);
	else if (r == -EBUSY)
		apierr_set(err, 503, "praas.db_busy", "%s: the database is busy: %s", doing,
		        cause ? cause : strerror(-r));
	else
		apierr_set(err, 503, "praas.db_unavailable", "%s: %s", doing,
		        cause ? cause : strerror(-r));
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

static int conflict_error(struct apierr *err, const struct store_conflict *c)
{
	char other[160];

	describe(&c->with, other, sizeof(other));
	switch (c->kind) {
	case STORE_CONFLICT_EXTERNAL:
		return apierr_set(err, 409, "praas.port_in_use",
		        "the external port is already forwarded by port forwarding %s (%s)",
		        c->with.id, other);
	case STORE_CONFLICT_INTERNAL:
		return apierr_set(err, 409, "praas.internal_port_in_use",
		        "the internal address and port are already the target of port forwarding "
		        "%s (%s)",
		        c->with.id, other);
	default:
		return apierr_set(err, 409, "praas.id_in_use",
		        "a port forwarding with id %s exists", c->with.id);
	}
}

static int kernel_error(struct apierr *err, const char *router_id, int r, char *cause)
{
	apierr_set(err, 503, "praas.kernel_refused",
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

/*
 * Applies a change to the kernel inside the open transaction. A namespace
 * that is not there is no error: the forwarding is stored DOWN and written
 * when the namespace appears.
 */
static int apply(struct engine *e, const char *router_id, const struct forwarding *del,
        const struct forwarding *add, bool *applied, struct apierr *err)
{
	char *cause = NULL;
	int r;

	*applied = false;
	r = kernel_change(e->kernel, router_id, del, add, &cause);
	if (r == -ENOENT) {
		free(cause);
		return 0;
	}
	if (r < 0)
		return kernel_error(err, router_id, r, cause);
	*applied = true;
	/* The table had been flushed: it now holds only this change. */
	if (r == NFT_REBUILT)
		e->resync_router = true;
	return 0;
}

/* After a commit that found the table flushed, rewrite it whole. */
static void resync_if_needed(struct engine *e, const char *router_id)
{
	struct apierr err;

	if (!e->resync_router)
		return;
	e->resync_router = false;
	log_warnx("The table of router %s had been flushed; rewriting it", router_id);
	if (engine_sync_router(e, router_id, &err) < 0)
		log_warnx("Failed to rewrite the table of router %s: %s", router_id, err.detail);
}

/* Commits; if that fails, puts the kernel back as it was (undo_del out, undo_add in). */
static int commit(struct engine *e, const char *router_id, bool applied,
        const struct forwarding *undo_del, const struct forwarding *undo_add, struct apierr *err)
{
	char *cause = NULL, *kcause = NULL;
	int r;

	r = store_commit(e->store, &cause);
	if (r == 0) {
		write_ok(e);
		return 0;
	}
	if (applied && kernel_change(e->kernel, router_id, undo_del, undo_add, &kcause) < 0) {
		log_warnx("Failed to undo a kernel change in router %s after a failed commit: %s",
		        router_id, kcause ? kcause : "?");
		free(kcause);
	}
	return store_error(e, err, r, "commit", cause);
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

/* Inserts or updates f inside the open transaction; a conflict is a 409 naming the other. */
static int write_row(struct engine *e, struct forwarding *f, bool insert, struct apierr *err)
{
	struct store_conflict conflict;
	char *cause = NULL;
	int r;

	r = insert ? store_insert(e->store, f, &conflict, &cause)
	           : store_update(e->store, f, &conflict, &cause);
	if (r == -EEXIST) {
		free(cause); /* the conflict says it better */
		return conflict_error(err, &conflict);
	}
	if (r < 0)
		return store_error(e, err, r, insert ? "insert" : "update", cause);
	return 0;
}

static int allocate(struct engine *e, struct forwarding *f, struct apierr *err)
{
	unsigned int count = port_range_len(&f->internal);
	char range[16], *cause = NULL;
	int r;

	r = portalloc_find(e->alloc, f->router_id, &f->external_addr, f->protocol, count,
	        &f->external, &cause);
	free(cause);
	if (r == -ENOSPC)
		return apierr_set(err, 409, "praas.range_exhausted",
		        "no %u free %s port%s left in router_port_range %s on router %s", count,
		        fwd_protocol_name(f->protocol), count > 1 ? "s" : "",
		        port_range_format(&e->cfg->router_port_range, range, sizeof(range)),
		        f->router_id);
	if (r < 0)
		return apierr_set(err, 503, "praas.db_unavailable",
		        "cannot allocate an external port: %s", strerror(-r));
	return 0;
}

int engine_create(struct engine *e, struct forwarding *f, bool allocate_port, struct apierr *err)
{
	char *cause = NULL;
	bool applied = false;
	int r;

	f->status = kernel_router_present(e->kernel, f->router_id) ? FWD_STATUS_ACTIVE
	                                                           : FWD_STATUS_DOWN;
	if ((r = store_begin(e->store, &cause)) < 0)
		return store_error(e, err, r, "begin", cause);
	if (allocate_port && allocate(e, f, err) < 0)
		goto fail;
	if (write_row(e, f, true, err) < 0)
		goto fail;
	if (f->status == FWD_STATUS_ACTIVE && apply(e, f->router_id, NULL, f, &applied, err) < 0)
		goto fail;
	if (commit(e, f->router_id, applied, f, NULL, err) < 0)
		return -1;
	resync_if_needed(e, f->router_id);
	return 0;
fail:
	e->resync_router = false;
	rollback(e);
	return -1;
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

int engine_update(
        struct engine *e, struct forwarding *next, struct forwarding *old, struct apierr *err)
{
	struct forwarding prev;
	char *cause = NULL;
	bool applied = false;
	int r;

	if ((r = store_begin(e->store, &cause)) < 0)
		return store_error(e, err, r, "begin", cause);
	if ((r = store_get(e->store, next->id, &prev, &cause)) < 0) {
		store_error(e, err, r, "update", cause);
		goto fail;
	}
	next->status = prev.status;
	if (write_row(e, next, false, err) < 0)
		goto fail;
	if (prev.status == FWD_STATUS_ACTIVE && retargeted(&prev, next) &&
	        apply(e, next->router_id, &prev, next, &applied, err) < 0)
		goto fail;
	if (commit(e, next->router_id, applied, next, &prev, err) < 0)
		return -1;
	resync_if_needed(e, next->router_id);
	if (applied)
		cut_sessions(e, &prev, 1);
	if (old != NULL)
		*old = prev;
	return 0;
fail:
	e->resync_router = false;
	rollback(e);
	return -1;
}

int engine_delete(struct engine *e, const char *id, struct forwarding *old, struct apierr *err)
{
	struct forwarding prev;
	char *cause = NULL;
	bool applied = false;
	int r;

	if ((r = store_begin(e->store, &cause)) < 0)
		return store_error(e, err, r, "begin", cause);
	if ((r = store_delete(e->store, id, &prev, &cause)) < 0) {
		store_error(e, err, r, "delete", cause);
		goto fail;
	}
	if (prev.status == FWD_STATUS_ACTIVE &&
	        apply(e, prev.router_id, &prev, NULL, &applied, err) < 0)
		goto fail;
	if (commit(e, prev.router_id, applied, NULL, &prev, err) < 0)
		return -1;
	resync_if_needed(e, prev.router_id);
	if (applied)
		cut_sessions(e, &prev, 1);
	if (old != NULL)
		*old = prev;
	return 0;
fail:
	e->resync_router = false;
	rollback(e);
	return -1;
}

static int sync_router(struct engine *e, const char *router_id, bool repair, struct apierr *err)
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

int engine_sync_router(struct engine *e, const char *router_id, struct apierr *err)
{
	return sync_router(e, router_id, false, err);
}

int engine_repair_router(struct engine *e, const char *router_id, struct apierr *err)
{
	return sync_router(e, router_id, true, err);
}

int engine_router_gone(struct engine *e, const char *router_id, struct apierr *err)
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
        struct engine *e, const char *router_id, unsigned int *count, struct apierr *err)
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
