/*
 * The forwardings counted by the status an answer shows them, for
 * /metrics: the same figures a tenant would add up from GET answers.
 *
 * One node (SQLite): the stored status (ACTIVE, DOWN), two indexed
 * counts; the DOWN ones explained by the kernel (kernel_explain) from a
 * read of every forwarding, done only while some are DOWN.
 *
 * Many nodes (MariaDB): as replicas_show() works it out (ACTIVE, BUILD,
 * ERROR, DOWN across live nodes). One statement counts each router's
 * forwardings, then one read of each router's replicas; a router's
 * forwardings are read only while its live hosts differ on them (one
 * behind, or refusing), which is when each one's revision decides. The
 * statements grow with the routers, not with the forwardings (the count
 * itself walks index forwardings_router_page inside the database).
 */
#ifndef PRAAS_CENSUS_H
#define PRAAS_CENSUS_H

#include <stddef.h>

#include "fwd.h"

struct agent;

struct census {
	size_t status[FWD_STATUS_ERROR + 1];    /* by enum fwd_status */
	size_t reason[FWD_REASON_APPLYING + 1]; /* by enum fwd_reason */
};

/* Counts every forwarding of a's store. 0, or -errno with *cause. */
int census_take(struct agent *a, struct census *c, char **cause);

#endif
