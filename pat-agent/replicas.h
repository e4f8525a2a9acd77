/*
 * Status across nodes (issue 12 item 4, issue 13 item 6): what each node's
 * agent has applied of each router it hosts, in the shared database
 * (store_replica_*, table router_hosts), and the status an answer shows
 * from it.
 *
 * Written O(1) per change, never when idle: the agent's own write in the
 * transaction that carries it (it applies before answering), follow.c once
 * per router and poll that read changes, a rebuild (its outcome: applied, or the
 * kernel's refusal), a namespace leaving (its row out) or, at start, every
 * row of this node out before the restore writes back those present.
 *
 * Shown at each answer: a forwarding is ACTIVE when every live agent
 * (heartbeat_alive) hosting its router has applied the revision it was
 * last written at, BUILD while one has not yet (status_reason applying),
 * ERROR when one's kernel refused it (kernel_refused; that host's entry
 * of "hosts" has the kernel's words), DOWN when no live agent hosts it
 * (namespace_absent). One read per router per answer (a view caches it
 * for the answer's life), never one per forwarding. On SQLite (one node)
 * the answer is today's: the stored status, kernel_explain, kernel_hosts.
 */
#ifndef PRAAS_REPLICAS_H
#define PRAAS_REPLICAS_H

#include <stdint.h>

#include "fwd.h"

struct agent;
struct forwarding;
struct kernel;
struct store;

/*
 * The engine's hook, inside the transaction that wrote router_id's
 * forwardings and after the kernel took them: this node's replica is at
 * the new revision. 0 on SQLite or when the router is not on this node;
 * -errno with *cause when the write failed (the transaction must fail).
 */
int replicas_own(struct store *s, struct kernel *k, const char *router_id, char **cause);
/* The router's revision, read before a rebuild (0 on SQLite or on error). */
uint64_t replicas_before(struct agent *a, const char *router_id);
/*
 * A rebuild (restore, a namespace appearing, follow's catch-up) ended:
 * refused NULL, every change up to revision is in the kernel; else the
 * kernel's words. Nothing when the namespace is not here (gone instead).
 */
void replicas_rebuilt(
        struct agent *a, const char *router_id, uint64_t revision, const char *refused);
/* follow.c applied every change of router_id up to revision. */
void replicas_followed(struct agent *a, const char *router_id, uint64_t revision);
/* router_id's namespace left this node; NULL: every row of this node (at start). */
void replicas_gone(struct agent *a, const char *router_id);

/*
 * What one answer reads of the replicas: a router's rows once per answer,
 * from store (the connection whose gate the answer runs in: a->reads for
 * a read, a->store for a write's answer).
 */
struct replicas_view;
struct store;
struct replicas_view *replicas_view_new(struct agent *a, struct store *store);
void replicas_view_free(struct replicas_view *v);
/*
 * Sets shown's status, status_reason and hosts as the answer shows them.
 * shown->hosts points into v until the next call. 0, or -errno with
 * *cause (the database could not be read).
 */
int replicas_show(struct replicas_view *v, struct forwarding *shown, char **cause);
/*
 * Shared store: whether every forwarding of router_id shows alike, from
 * its replicas alone (read once into v): 1 with *status DOWN (no live
 * host) or ACTIVE (every live host applied the router's revision, so
 * each forwarding's), 0 when each forwarding's revision decides
 * (replicas_show each), or -errno with *cause.
 */
int replicas_alike(
        struct replicas_view *v, const char *router_id, enum fwd_status *status, char **cause);
/* The view answers from this node's knowledge alone (the database away: readcopy.h). */
void replicas_view_local(struct replicas_view *v);

#endif
