/*
 * The store of forwardings: the source of truth of the pat-agent. One API
 * over two engines (lib/sqldb), chosen once by store_open()'s target: a
 * path is SQLite (one node), a mysql:// URL is MariaDB or Galera (many
 * nodes sharing one store). The logic below is the same on both.
 *
 * Promises:
 * - Durable commits. SQLite runs in WAL mode with synchronous=FULL, so
 *   once store_commit() (or a store_insert/update/delete outside a
 *   transaction) returns 0, the change survives kill -9 and power loss;
 *   MariaDB's InnoDB (and Galera's replication) give the same.
 * - The schema is versioned (SQLite: PRAGMA user_version; MariaDB: table
 *   store_schema) and migrated forward by store_open(); a database written
 *   by a newer PRaaS is refused (-ENOTSUP) rather than guessed at.
 * - No two forwardings share (router, external address, protocol, any
 *   external port) nor (router, internal address, protocol, any internal
 *   port). Both are checked inside the writing transaction with indexed
 *   queries, O(log N): since stored ranges of one key never overlap, the
 *   only candidate is the range with the greatest start <= the new end.
 *   On MariaDB, every write first bumps its router's row in table routers
 *   (a revision), so writers of one router are serialised on one server
 *   and conflict at commit across Galera nodes: two nodes never both
 *   commit overlapping forwardings.
 * - Lookups other than "all" use an index (test-store checks every cached
 *   statement's query plan).
 *
 * Errors: functions return 0 (or a count) on success and -errno on failure:
 * -ENOENT no such forwarding, -EEXIST conflict, -EINVAL invalid forwarding,
 * -EBUSY database locked by another process past the busy timeout,
 * -ENOTSUP schema too new or WAL unavailable, -EIO disk or corruption,
 * -ENOMEM; MariaDB adds -EAGAIN (lost to a concurrent transaction again
 * and again, or, inside the caller's transaction, once: the transaction
 * was rolled back, run it again) and -ENOTCONN (the database cannot be
 * reached; an open transaction is gone, nothing of it applied; from a
 * commit: whether it was applied is unknown). A write outside a
 * transaction is tried up to 5 times when it loses to a concurrent one.
 * The store never returns -ENOSPC (that is the allocator's
 * "exhausted"); a full disk is -EIO. Where cause is not NULL, a failure
 * also sets *cause to an allocated message (with SQLite's words) that the
 * caller frees; on success *cause is left alone.
 *
 * Transactions: store_begin() starts one (SQLite: BEGIN IMMEDIATE, so the write
 * lock is taken up front and a conflict check cannot be invalidated before
 * the write); store_commit() or store_rollback() ends it. A write outside a
 * transaction runs in its own. If a commit fails, the transaction is rolled
 * back before store_commit() returns.
 *
 * Not thread-safe: one store belongs to one thread (the agent's loop). On
 * MariaDB a server that stops answering is given up after at most twice
 * store_set_timeout() (lib/sqldb.h).
 */
#ifndef PRAAS_STORE_H
#define PRAAS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd.h"

/* The schema version this code writes; store_open() migrates up to it. */
#define STORE_SCHEMA_VERSION 7

struct store;
struct sqlite3;

/* Which rule a refused write broke. */
enum store_conflict_kind {
	STORE_CONFLICT_EXTERNAL, /* router, external address, protocol, port */
	STORE_CONFLICT_INTERNAL, /* router, internal address, protocol, port */
	STORE_CONFLICT_ID,       /* a forwarding with that id exists */
};

struct store_conflict {
	enum store_conflict_kind kind;
	struct forwarding with; /* the stored forwarding in the way */
};

/*
 * Called for every row change as it happens inside a transaction, and
 * once when a transaction is rolled back (by store_rollback(), a failed
 * commit, or SQLite itself after an I/O error), so a cache built from the
 * store (the port allocator) can follow it without ever leaking state of
 * a rolled-back change. An update calls removed(old) then added(new).
 */
struct store_hooks {
	void (*added)(const struct forwarding *f, void *arg);
	void (*removed)(const struct forwarding *f, void *arg);
	void (*rolled_back)(void *arg);
};

/* Returns non-zero to stop the iteration; that value is returned. */
typedef int (*store_cb)(const struct forwarding *f, void *arg);

/*
 * Opens target: a SQLite path (created if missing; WAL, synchronous=FULL,
 * foreign_keys=ON, a busy timeout) or mysql://USER[:PASSWORD]@HOST[:PORT]/DB
 * (the database must exist), and migrates the schema. On success *out owns
 * the store; free it with store_close(). Messages never hold the password.
 */
int store_open(const char *target, struct store **out, char **cause);
/* As store_open(); password, when not NULL, replaces the URL's (a password file's). */
int store_open_auth(const char *target, const char *password, struct store **out, char **cause);
/* Rolls back an open transaction and closes. NULL is fine. */
void store_close(struct store *s);

/* Hooks live until replaced; NULL removes them. One set per store. */
void store_set_hooks(struct store *s, const struct store_hooks *hooks, void *arg);

int store_begin(struct store *s, char **cause);
int store_commit(struct store *s, char **cause);
/* Rolls back the open transaction; without one it does nothing. */
int store_rollback(struct store *s, char **cause);
int store_in_transaction(const struct store *s);
/*
 * Why the database ended the open transaction on its own (-EAGAIN: it lost
 * to a concurrent one, run it again), or 0 while it stands.
 */
int store_txn_lost(const struct store *s);
/*
 * One savepoint inside the open transaction (-EINVAL without one): the
 * group commit writes each router's changes under it, so a router whose
 * kernel refused them can be taken back out while the others stay.
 * store_rollback_to() undoes everything since store_savepoint() (and calls
 * the rolled_back hook: followers rebuild) and keeps the savepoint;
 * store_release() ends it, keeping the changes in the transaction. Not
 * nested: one savepoint at a time.
 */
int store_savepoint(struct store *s, char **cause);
int store_release(struct store *s, char **cause);
int store_rollback_to(struct store *s, char **cause);

/*
 * Inserts f after fwd_validate(). An empty f->id gets a fresh UUID; zero
 * timestamps become now; both are written back into f. On a conflict
 * returns -EEXIST and, if conflict is not NULL, fills it.
 */
int store_insert(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause);
/*
 * Replaces the forwarding with id f->id by f (its created_at is kept,
 * updated_at becomes now; both are written back into f). -ENOENT if there
 * is none; -EEXIST and conflict as for store_insert (the forwarding never
 * conflicts with itself).
 */
int store_update(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause);
/* -ENOENT if there is no such forwarding. If old is not NULL it gets the row. */
int store_delete(struct store *s, const char *id, struct forwarding *old, char **cause);
int store_get(struct store *s, const char *id, struct forwarding *out, char **cause);

/*
 * Iterations. The callback may read the store (store_get) and write it,
 * but rows changed during an iteration may or may not be seen by it:
 * collect ids first, then change. Starting the same iteration again from
 * inside its own callback fails with -EBUSY.
 */
/* Every forwarding, ordered by router, external address, protocol, port. */
int store_foreach_all(struct store *s, store_cb cb, void *arg, char **cause);
int store_foreach_router(
        struct store *s, const char *router_id, store_cb cb, void *arg, char **cause);
/*
 * At most limit forwardings (of router_id, or of all routers when NULL)
 * whose id sorts after `after` (NULL or "": from the first), by id.
 */
int store_foreach_page(struct store *s, const char *router_id, const char *after,
        unsigned int limit, store_cb cb, void *arg, char **cause);
/*
 * As store_foreach_page, in either direction: descending, the ids sorting
 * before `after` (NULL or "": from the last), highest first. Each page is
 * one statement run to its end, so no statement stays open between pages
 * and writers are never held up by a reader that pauses.
 */
int store_foreach_page_dir(struct store *s, const char *router_id, const char *after,
        bool descending, unsigned int limit, store_cb cb, void *arg, char **cause);
/* The forwardings of one (router, external address, protocol), by port. */
int store_foreach_external(struct store *s, const char *router_id, const struct addr *ext,
        uint8_t protocol, store_cb cb, void *arg, char **cause);
int store_foreach_port_id(
        struct store *s, const char *internal_port_id, store_cb cb, void *arg, char **cause);
/* router_id NULL: on every router. */
int store_foreach_internal_addr(struct store *s, const char *router_id, const struct addr *addr,
        store_cb cb, void *arg, char **cause);
/*
 * The forwardings of a router whose external range holds port for that
 * protocol, on any of its external addresses (at most one per address).
 */
int store_foreach_external_port(struct store *s, const char *router_id, uint8_t protocol,
        uint16_t port, store_cb cb, void *arg, char **cause);

/* Number of forwardings of router_id, or of all when router_id is NULL. */
int store_count(struct store *s, const char *router_id, size_t *count, char **cause);
/* Number of forwardings in status, on every router. */
int store_count_status(struct store *s, enum fwd_status status, size_t *count, char **cause);
/* Returns non-zero to stop; that value is returned. */
typedef int (*store_router_count_cb)(const char *router_id, size_t count, void *arg);
/*
 * Every router that has forwardings, by id, with their number: one
 * statement (an index walk), one row per router.
 */
int store_foreach_router_count(struct store *s, store_router_count_cb cb, void *arg, char **cause);
/*
 * Sets the status of every forwarding of router_id (the namespace came or
 * went). Returns how many changed (>= 0). updated_at is not touched: the
 * status is observed state, not a change the tenant made.
 */
int store_set_router_status(
        struct store *s, const char *router_id, enum fwd_status status, char **cause);

/*
 * The next distinct (router_id, external address) pair of all forwardings
 * after (after_router, after_ext) in text order ("", "": the first).
 * router_id gets FWD_NAME_MAX + 1 bytes, ext ADDR_STRLEN (canonical text,
 * "" for none). 1 when found, 0 at the end, or -errno with *cause.
 */
int store_next_external(struct store *s, const char *after_router, const char *after_ext,
        char *router_id, char *ext, char **cause);

/*
 * Writes and syncs one page that changes nothing (the schema version,
 * set to itself), outside any transaction: whether the database takes
 * writes right now (disk full, read-only). 0 or -errno with *cause.
 */
int store_probe_write(struct store *s, char **cause);

/* Returns non-zero to stop; that value is returned. */
typedef int (*store_router_cb)(
        const char *router_id, uint64_t revision, int64_t changed_us, void *arg);
/*
 * MariaDB (agents sharing one database): the routers whose revision was
 * bumped at or after since_us (the database's clock, microseconds since
 * the epoch), oldest first, at most 1,000: one indexed read that costs the
 * routers changed, not the forwardings. -ENOTSUP on SQLite.
 */
int store_changed_routers(
        struct store *s, int64_t since_us, store_router_cb cb, void *arg, char **cause);
/*
 * One row of a router's change log (MariaDB): every write logs, under the
 * router's revision it bumped, the forwarding it removed and the one it
 * added (an update: both, removal first). The log keeps a router's last
 * 4,096 revisions; older ones are trimmed, oldest first.
 */
struct store_change {
	uint64_t revision;
	bool added; /* false: removed */
	bool mine;  /* written through this store (this agent) */
	struct forwarding f;
};
/* Returns non-zero to stop; that value is returned. */
typedef int (*store_change_cb)(const struct store_change *c, void *arg);
/*
 * At most limit of router_id's logged changes at revision >= from, by
 * revision then removal before addition: one index range read, the cost
 * of the changes, not of the router's forwardings. -ENOTSUP on SQLite.
 */
int store_router_changes(struct store *s, const char *router_id, uint64_t from, unsigned int limit,
        store_change_cb cb, void *arg, char **cause);
/* The newest logged revision of router_id (0: none). -ENOTSUP on SQLite. */
int store_router_last_change(
        struct store *s, const char *router_id, uint64_t *revision, char **cause);
/*
 * Every router's newest logged revision, as store_router_last_change()
 * gives one router's (changed_us 0), in one read: what a start anchors its
 * followers at. -ENOTSUP on SQLite.
 */
int store_last_changes(struct store *s, store_router_cb cb, void *arg, char **cause);
/* Whether agents of other nodes share this database (MariaDB). */
bool store_is_shared(const struct store *s);
/* MariaDB: the database's clock, microseconds since the epoch. -ENOTSUP on SQLite. */
int store_clock(struct store *s, int64_t *now_us, char **cause);

/* One agent's heartbeat (table agents). Times: the database's clock, microseconds. */
struct store_agent {
	char host[FWD_NAME_MAX + 1];
	char version[64];
	int64_t started_us;
	int64_t seen_us;    /* the last heartbeat (store_agent_beat sets it) */
	int64_t age_us;     /* how long ago seen_us was, by the database's clock */
	uint32_t routers;   /* router namespaces on its node */
	int64_t applied_us; /* the newest router change it has applied; 0: none to follow */
};
typedef int (*store_agent_cb)(const struct store_agent *ag, void *arg);
/* Writes ag's row (one statement, outside any transaction); last seen is now. */
int store_agent_beat(struct store *s, const struct store_agent *ag, char **cause);
/* Every agent's row, by host. */
int store_foreach_agent(struct store *s, store_agent_cb cb, void *arg, char **cause);
/* The newest router change (MariaDB: index routers_changed's last entry); 0 on SQLite. */
int store_newest_change(struct store *s, int64_t *us, char **cause);

/*
 * The monitor's lease (one row): holder takes it if it is free (expired)
 * or renews it if it holds it, until ttl_us from now by the database's
 * clock, in one UPDATE outside any transaction. *held says whether holder
 * has it now. A concurrent taker on another Galera node loses at commit
 * (-EAGAIN, *held false): never two holders.
 */
int store_lease_take(struct store *s, const char *holder, int64_t ttl_us, bool *held, char **cause);

/*
 * Replicas (table router_hosts, MariaDB; on SQLite the writes do nothing
 * and the reads are -ENOTSUP: one node, its status is the forwardings'
 * own). For each router a node hosts, the revision its agent applied and,
 * when its kernel refused, up to which revision and why. Each row is
 * written only by its host's agent, one statement, O(1) per change.
 */
struct store_replica {
	char host[FWD_HOST_MAX + 1];
	char ns[FWD_NAME_MAX + 16]; /* the router's gateway namespace there */
	uint64_t applied;           /* every change up to this revision is in its kernel */
	uint64_t failed;            /* the kernel refused the changes up to this one (0: none) */
	char error[256];            /* the kernel's words for it */
	int64_t age_us;             /* since its agent's last heartbeat (database's clock) */
};
typedef int (*store_replica_cb)(const struct store_replica *rp, void *arg);
/* The router's revision now (0: never written). -ENOTSUP on SQLite. */
int store_router_revision(struct store *s, const char *router_id, uint64_t *revision, char **cause);
/*
 * In the transaction that wrote router_id's forwardings (after the writes,
 * before the commit) on the node that applied them: its replica is at the
 * router's new revision, if it was up to date before this transaction (or
 * since the savepoint) bumped it.
 */
int store_replica_own(
        struct store *s, const char *router_id, const char *host, const char *ns, char **cause);
/* The replica applied every change up to applied (a follow, a rebuild). */
int store_replica_applied(struct store *s, const char *router_id, const char *host, const char *ns,
        uint64_t applied, char **cause);
/* Its kernel refused the changes up to failed: error says why (cut to 255 bytes). */
int store_replica_refused(struct store *s, const char *router_id, const char *host, const char *ns,
        uint64_t failed, const char *error, char **cause);
/* The replica is gone (its namespace left); router_id NULL: all of host's. */
int store_replica_drop(struct store *s, const char *router_id, const char *host, char **cause);
/*
 * Every replica of router_id, by host, with its agent's heartbeat age, and
 * the router's revision in *revision: one read per router.
 */
int store_foreach_replica(struct store *s, const char *router_id, uint64_t *revision,
        store_replica_cb cb, void *arg, char **cause);

/*
 * Copies every forwarding of from into to (store-copy.c), as it is: ids,
 * timestamps and status kept, in one transaction of to, all or nothing.
 * to must hold no forwardings (-EEXIST). *copied gets the count.
 */
int store_copy(struct store *from, struct store *to, size_t *copied, char **cause);

/*
 * MariaDB: how long a statement may go unanswered before the server is
 * pinged (ms; default SQLDB_TIMEOUT_MS, 1 s). No answer to the ping either:
 * the database counts as unreachable, -ENOTCONN at once until it answers again.
 */
void store_set_timeout(struct store *s, unsigned int ms);

/*
 * Whether the database counts as unreachable now (store_set_timeout: given
 * up, and not connected again yet), without a statement. SQLite: never.
 */
bool store_unreachable(struct store *s);

/* Statements sent to the database since open (praas_db_statements_total). */
uint64_t store_statements(const struct store *s);

/* The SQLite connection, for tests and diagnostics only: no writes. NULL on MariaDB. */
struct sqlite3 *store_handle(struct store *s);

#endif
