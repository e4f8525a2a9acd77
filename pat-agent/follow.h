/*
 * Following the other agents (many network nodes, one MariaDB): changes
 * made through another agent reach this node's routers from the database
 * alone, within a period (FOLLOW_PERIOD_MS) and one nft batch of what
 * changed (a rebuild of the router's table when the log cannot tell).
 */
#ifndef PRAAS_FOLLOW_H
#define PRAAS_FOLLOW_H

#include <stdint.h>

struct agent;
struct follow;

/*
 * Starts following on a's loop when a's store is shared (MariaDB); on
 * SQLite *out is NULL and nothing runs. Fills the read copy (readcopy.h).
 * Before restore_all(): see follow_restored(). 0 or -errno.
 */
int follow_start(struct agent *a, struct follow **out);
/*
 * Call before restore_all(). Then restore_all() says each router it
 * rebuilt: its first change after the start is applied from the log (its
 * newest change read by follow_start), not by another rebuild. NULL is fine.
 */
void follow_restored(struct follow *fl, const char *router_id);
/* NULL is fine. */
void follow_free(struct follow *fl);
/* Database reads made, and router tables rebuilt, since the start. */
uint64_t follow_polls(const struct follow *fl);
uint64_t follow_rebuilt(const struct follow *fl);
/* Other agents' changes applied one by one (without a rebuild) since the start. */
uint64_t follow_applied(const struct follow *fl);
/* The newest router change seen and applied (the database's clock, us); 0 without following. */
int64_t follow_applied_us(const struct follow *fl);

#endif
