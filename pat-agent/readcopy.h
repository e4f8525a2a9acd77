/*
 * The read copy (issue 12 item 10): on MariaDB, a local SQLite file
 * (database_read_copy) holding every forwarding of every router, so list
 * and show still answer while the shared database is unreachable. Writes
 * never go to it: they answer 503 then, and the kernel is left alone.
 *
 * Promises:
 * - Filled at start by one copy of the database (store_copy), the file
 *   rewritten: it is a cache, never a source of truth.
 * - Kept current by follow.c's poll: every router whose revision changed
 *   (any router, not only this node's: any agent answers any tenant
 *   through the load balancer) has its change log read from the copy's
 *   anchor (at start: its newest logged change, read before the copy) and
 *   applied to the copy, O(1) per change; the router's rows are copied
 *   anew instead for a router without one (no change logged at start), a
 *   gap in the log, more than READCOPY_CHANGES_MAX waiting or a change the
 *   copy cannot take. One SQLite transaction per poll (synchronous=OFF: a
 *   crash loses a cache that the next start rewrites anyway).
 * - An idle agent costs nothing more: the poll's one statement is follow's.
 * - readcopy_stale_s() says how long ago the copy was last known current
 *   (the end of the last poll that read the routers changed and applied
 *   them all).
 * - Exclusive: a second agent naming the same file runs without a copy.
 */
#ifndef PRAAS_READCOPY_H
#define PRAAS_READCOPY_H

#include <stdbool.h>
#include <stdint.h>

struct agent;
struct call;
struct readcopy;
struct store;

/*
 * MariaDB with database_read_copy set: fills the copy from a->store.
 * *out NULL otherwise, or when it cannot be made (said in the log: reads
 * then answer 503 while the database is away, as without one). *since_us
 * gets the database's clock read before the copy (follow starts there).
 */
void readcopy_open(struct agent *a, struct readcopy **out, int64_t *since_us);
void readcopy_free(struct readcopy *rc);

/*
 * The router's change log is applied from revision on (its newest logged
 * change read before the copy: see follow_start), not copied anew at its
 * first change. NULL rc is fine.
 */
void readcopy_anchor(struct readcopy *rc, const char *router_id, uint64_t revision);
/* follow.c's poll: begin, each changed router, end (ok: every router read and applied). */
void readcopy_poll_begin(struct readcopy *rc);
/* Brings router_id up to date in the copy; < 0 when the database could not be read. */
int readcopy_router(struct readcopy *rc, const char *router_id);
void readcopy_poll_end(struct readcopy *rc, bool ok);

/*
 * For an API read that got r from the database: the copy's store when r
 * says the database is unreachable (-ENOTCONN) and there is a copy, with
 * the header X-PRaaS-Stale added to c's answer; else NULL (answer r).
 */
struct store *readcopy_fallback(struct agent *a, struct call *c, int r);
/* Whole seconds since the copy was last known current. */
uint64_t readcopy_stale_s(const struct readcopy *rc);

#endif
