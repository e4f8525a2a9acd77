/*
 * What /healthz and /metrics say of the database: the forwardings counted
 * (all, DOWN, DOWN by reason), whether the count worked, whether the
 * writes' connection answers (MariaDB: a second one) and whether writes
 * work (the engine's verdict, probed while failing). Counted through the
 * store gate (storeq.h): on SQLite at once, at each ask, as before; on
 * MariaDB the answer is the last count while a new one runs behind the
 * gate, so the health check and the scrape never wait for the database,
 * however busy or slow it is.
 *
 * Promises: census_refresh() never waits; at most one count is queued at a
 * time; census_new() counts once before returning (start-up, no loop).
 */
#ifndef PRAAS_CENSUS_H
#define PRAAS_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct census;

struct census_counts {
	int r;               /* the last count: 0, or the store's -errno */
	char error[256];     /* r < 0: why */
	size_t all, down;    /* forwardings, the DOWN ones among them */
	size_t by_reason[2]; /* DOWN: [0] namespace absent or else, [1] kernel refused */
	uint64_t counted;    /* counts done (0: none yet) */
	/* MariaDB: the last look at the writes' own connection (0, or why not), as r, error. */
	int writes_r;
	char writes_error[256];
};

int census_new(struct agent *a, struct census **out);
void census_free(struct census *c);

/* Asks for a new count (the gate's next turn); the last one stays until it ends. */
void census_refresh(struct census *c);
const struct census_counts *census_last(const struct census *c);

#endif
