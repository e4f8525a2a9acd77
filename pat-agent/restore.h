/*
 * Rebuilding the kernel from the database: every router at start, one
 * namespace when it (re)appears; a namespace that goes away makes its
 * forwardings DOWN.
 */
#ifndef PRAAS_RESTORE_H
#define PRAAS_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

struct agent;

/* Rebuilds every present namespace from the database; the rest become DOWN. */
int restore_all(struct agent *a);
/*
 * How many router namespaces hold a table with forwarded ports, and how
 * many ports in all (a table that cannot be read counts as a router): what
 * a restore from an empty database would wipe. 0 or -errno.
 */
int restore_count_kernel_state(struct agent *a, size_t *routers, size_t *elems);
/*
 * Rebuilds one router's table from the database (its namespace is
 * present): 0, or -1 when refused (logged; the replica's row says why).
 */
int restore_router(struct agent *a, const char *router_id);
/* A namespace appeared (or reappeared) or went away. */
void restore_namespace(struct agent *a, const char *name, bool present);

#endif
