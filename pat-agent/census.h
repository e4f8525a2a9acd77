/*
 * What /healthz and /metrics say of the database: the forwardings counted
 * by the status an answer shows them (the same figures a tenant would add
 * up from GET answers), whether the count worked, whether the writes'
 * connection answers (MariaDB: a second one) and whether writes work (the
 * engine's verdict, probed while failing).
 *
 * One node (SQLite): the stored status (ACTIVE, DOWN), two indexed counts;
 * the DOWN ones explained by the kernel (kernel_explain) from a read of
 * every forwarding, done only while some are DOWN. Counted at each ask,
 * at once, as before.
 *
 * Many nodes (MariaDB): as replicas_show() works it out (ACTIVE, BUILD,
 * ERROR, DOWN across live nodes). One statement counts each router's
 * forwardings, then one read of each router's replicas; a router's
 * forwardings are read only while its live hosts differ on them (one
 * behind, or refusing). The statements grow with the routers, not with
 * the forwardings. The count runs behind the read gate (storeq.h) at most
 * once per CENSUS_MAX_AGE_MS while it succeeds; an ask is answered from
 * the last count, so the health check and the scrape never wait for the
 * database, however busy or slow it is.
 *
 * Promises: census_refresh() and census_probe() never wait on MariaDB;
 * at most one count and one probe are queued at a time; census_new()
 * counts once before returning (start-up, no loop).
 */
#ifndef PRAAS_CENSUS_H
#define PRAAS_CENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "fwd.h"

struct agent;
struct census;

/*
 * How old the figures may be on a shared database, where counting reads
 * each router's replicas: scrapes come every 15-60 s, health checks every
 * few seconds, and those within this share one count.
 */
#define CENSUS_MAX_AGE_MS 5000

/* The last look at one database connection: 0, or -errno and why. */
struct census_look {
	int r;
	char error[256];
};

struct census_counts {
	int r;                                  /* the last count: 0, or the store's -errno */
	char error[256];                        /* r < 0: why */
	size_t all;                             /* every forwarding */
	size_t status[FWD_STATUS_ERROR + 1];    /* by enum fwd_status */
	size_t reason[FWD_REASON_APPLYING + 1]; /* by enum fwd_reason */
	uint64_t counted;                       /* counts done (0: none yet) */
	/*
	 * The health check's looks at the reads' and the writes' connections
	 * (MariaDB: two; SQLite: no statement, always 0), whatever the age of
	 * the count.
	 */
	struct census_look reads, writes;
};

int census_new(struct agent *a, struct census **out);
void census_free(struct census *c);

/* Asks for a new count (the gate's next turn) if due; the last one stays until it ends. */
void census_refresh(struct census *c);
/*
 * Asks for a new look at each connection (a clock read; while writes
 * fail, a write probe on the writes' one, engine_write_check): the health
 * check's, not the scrape's (a scrape would count its own statements).
 */
void census_probe(struct census *c);
const struct census_counts *census_last(const struct census *c);

#endif
