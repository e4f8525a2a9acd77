#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cause.h"
#include "log.h"
#include "sqldb.h"

/* Times a write of its own transaction is tried when it loses to a concurrent one. */
#define STORE_ATTEMPTS 5

/*
 * The monitor's lease: one row (id 1), taken and renewed by one UPDATE
 * (store_lease_take), so Galera certifies two takers like two writers of
 * one row: one wins. Migration 5, in either dialect.
 */
#define LEASE_TABLE(text, int64, tail, insert)                                                     \
	"CREATE TABLE IF NOT EXISTS monitor_lease ("                                               \
	" id" int64 " NOT NULL PRIMARY KEY,"                                                       \
	" holder" text " NOT NULL,"                                                                \
	" expires" int64 " NOT NULL)" tail ";" insert " INTO monitor_lease (id, holder, expires)"  \
	" VALUES (1, '', 0)"

/* The agents table, in either dialect's column types (migration 5). */
#define AGENTS_TABLE(text, int64, tail)                                                            \
	"CREATE TABLE IF NOT EXISTS agents ("                                                      \
	" host" text " NOT NULL PRIMARY KEY,"                                                      \
	" version" text " NOT NULL,"                                                               \
	" started" int64 " NOT NULL,"                                                              \
	" last_seen" int64 " NOT NULL,"                                                            \
	" routers" int64 " NOT NULL,"                                                              \
	" applied" int64 " NOT NULL)" tail

/*
 * Each node's replica of each router it hosts (migration 7): the revision
 * its agent has applied there; when its kernel refused, up to which
 * revision (failed) and the kernel's words (error). Written only by that
 * node's agent (one row per router and host: no two nodes write one row).
 */
#define REPLICAS_TABLE(text, int64, tail)                                                          \
	"CREATE TABLE IF NOT EXISTS router_hosts ("                                                \
	" router_id" text " NOT NULL,"                                                             \
	" host" text " NOT NULL,"                                                                  \
	" namespace" text " NOT NULL,"                                                             \
	" applied" int64 " NOT NULL,"                                                              \
	" failed" int64 " NOT NULL,"                                                               \
	" error" text " NOT NULL,"                                                                 \
	" PRIMARY KEY (router_id, host))" tail

/*
 * Schema migrations, applied in order inside one transaction by
 * store_open(). Never edit a published step: add a new one and bump
 * STORE_SCHEMA_VERSION.
 */
static const char *const migrations[] = {
        /*
         * 1: the forwardings table. Addresses are canonical text (inet_ntop)
         * so equal addresses compare equal and the sqlite3 shell reads them;
         * '' is "no address". The two unique indexes are the conflict
         * indexes: each is (router, address, protocol, range start), and
         * store.c keeps the ranges under one such key disjoint.
         */
        "CREATE TABLE forwardings ("
        " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),"
        " router_id TEXT NOT NULL CHECK (length(router_id) BETWEEN 1 AND 64),"
        " project_id TEXT NOT NULL DEFAULT '' CHECK (length(project_id) <= 64),"
        " external_address TEXT NOT NULL DEFAULT '',"
        " protocol INTEGER NOT NULL CHECK (protocol IN (6, 17)),"
        " external_port_lo INTEGER NOT NULL CHECK (external_port_lo BETWEEN 1 AND 65535),"
        " external_port_hi INTEGER NOT NULL"
        "  CHECK (external_port_hi BETWEEN external_port_lo AND 65535),"
        " internal_address TEXT NOT NULL,"
        " internal_port_lo INTEGER NOT NULL CHECK (internal_port_lo BETWEEN 1 AND 65535),"
        " internal_port_hi INTEGER NOT NULL"
        "  CHECK (internal_port_hi BETWEEN internal_port_lo AND 65535),"
        " internal_port_id TEXT NOT NULL DEFAULT '' CHECK (length(internal_port_id) <= 64),"
        " masquerade INTEGER NOT NULL DEFAULT 0 CHECK (masquerade IN (0, 1)),"
        " description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 255),"
        " status TEXT NOT NULL DEFAULT 'DOWN' CHECK (status IN ('ACTIVE', 'DOWN')),"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX forwardings_external"
        " ON forwardings (router_id, external_address, protocol, external_port_lo);"
        "CREATE UNIQUE INDEX forwardings_internal"
        " ON forwardings (router_id, internal_address, protocol, internal_port_lo);",

        /*
         * 2: the monitor asks "which forwardings target this Neutron port"
         * and "which target this address on any router"; version 1 answered
         * both with a full scan.
         */
        ("CREATE INDEX forwardings_port_id ON forwardings (internal_port_id);"
         "CREATE INDEX forwardings_internal_address ON forwardings (internal_address);"),

        /*
         * 3: /metrics counts the forwardings by status; version 2 read every
         * row to do it (80 ms of a blocked agent at 100,000).
         */
        "CREATE INDEX forwardings_status ON forwardings (status);",

        /*
         * 4: the v1 listing of one router is paged by id (keyset: id > marker);
         * version 3 walked every router's ids in order to find one router's.
         */
        "CREATE INDEX forwardings_router_page ON forwardings (router_id, id);",

        /* 5: MariaDB's change log (router_changes); one agent on SQLite follows no one. */
        "-- nothing on SQLite",
        /*
         * 6: the agents' heartbeats (GET /v1/agents) and the monitor's lease. Times are
         * microseconds of the database's clock, so agents of nodes whose clocks differ still
         * compare alike. One row per host: a restarted agent takes its row back.
         */
        AGENTS_TABLE(" TEXT", " INTEGER", "") ";" LEASE_TABLE(
                " TEXT", " INTEGER", "", "INSERT OR IGNORE") ";",
        /*
         * 7: what each node's agent applied of each router it hosts (status across
         * nodes), and the router revision a forwarding was last written at. One
         * node on SQLite writes neither (its status is the forwardings' own).
         */
        "ALTER TABLE forwardings ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;" REPLICAS_TABLE(
                " TEXT", " INTEGER", "") ";",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
        "one migration per schema version");

/* The change log keeps this many revisions per router; trimmed every STORE_PRUNE_EVERY writes. */
#define STORE_CHANGES_KEPT 4096
#define STORE_PRUNE_EVERY  64

#define COLS                                                                                       \
	"id, router_id, project_id, external_address, protocol, external_port_lo,"                 \
	" external_port_hi, internal_address, internal_port_lo, internal_port_hi,"                 \
	" internal_port_id, masquerade, description, status, created_at, updated_at"

/*
 * Reads of forwardings add the router revision each was last written at
 * (schema 7); router_changes' revision sits in the same column of its reads.
 */
#define FCOLS COLS ", revision"

/* Column numbers in COLS, and parameter numbers (plus one) in writes. */
enum col {
	C_ID,
	C_ROUTER,
	C_PROJECT,
	C_EXT_ADDR,
	C_PROTO,
	C_EXT_LO,
	C_EXT_HI,
	C_INT_ADDR,
	C_INT_LO,
	C_INT_HI,
	C_PORT_ID,
	C_MASQ,
	C_DESCR,
	C_STATUS,
	C_CREATED,
	C_UPDATED,
	C_REVISION, /* reads only (FCOLS) */
};

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_INSERT,
	ST_UPDATE,
	ST_DELETE,
	ST_GET,
	ST_CONFLICT,
	ST_ALL,
	ST_ROUTER,
	ST_EXTERNAL,
	ST_PORT_ID,
	ST_INT_ADDR,
	ST_INT_ADDR_ROUTER,
	ST_EXT_PORT,
	ST_PAGE,
	ST_PAGE_ROUTER,
	ST_PAGE_DESC,
	ST_PAGE_ROUTER_DESC,
	ST_COUNT_ALL,
	ST_COUNT_ROUTER,
	ST_COUNT_STATUS,
	ST_COUNT_ROUTERS,
	ST_SET_STATUS,
	ST_NEXT_EXTERNAL,
	ST_BUMP_ROUTER,
	ST_CHANGED_ROUTERS,
	ST_CLOCK,
	ST_LOG_CHANGE,
	ST_PRUNE_CHANGES,
	ST_ROUTER_CHANGES,
	ST_LAST_CHANGE,
	ST_LAST_CHANGES,
	ST_AGENT_BEAT,
	ST_AGENTS,
	ST_NEWEST_CHANGE,
	ST_LEASE_TAKE,
	ST_ROUTER_REVISION,
	ST_REPLICA_OWN,
	ST_REPLICA_APPLIED,
	ST_REPLICA_REFUSED,
	ST_REPLICA_DROP,
	ST_REPLICA_CLEAR,
	ST_REPLICAS,
	ST_COUNT_, /* number of statements */
};

/*
 * The conflict queries rely on the ranges under one key being disjoint:
 * ordered by start, their ends are ordered too, so the one range with the
 * greatest start <= the new end is the only one that can reach the new
 * start. One index descent, at most one skipped row (the forwarding being
 * updated).
 */
/* The database's clock, microseconds since the epoch, in each dialect. */
#define SQLITE_NOW_US  "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
#define MARIADB_NOW_US "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"

static const char *const stmt_sql[ST_COUNT_] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT store_group",
        [ST_RELEASE] = "RELEASE SAVEPOINT store_group",
        [ST_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT store_group",
        [ST_INSERT] = "INSERT INTO forwardings (" COLS ") VALUES"
                      " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        [ST_UPDATE] = "UPDATE forwardings SET router_id = ?2, project_id = ?3,"
                      " external_address = ?4, protocol = ?5, external_port_lo = ?6,"
                      " external_port_hi = ?7, internal_address = ?8, internal_port_lo = ?9,"
                      " internal_port_hi = ?10, internal_port_id = ?11, masquerade = ?12,"
                      " description = ?13, status = ?14, created_at = ?15, updated_at = ?16"
                      " WHERE id = ?1",
        [ST_DELETE] = "DELETE FROM forwardings WHERE id = ?1",
        [ST_GET] = "SELECT " FCOLS " FROM forwardings WHERE id = ?1",
        /*
         * Both sides in one statement (one round trip per write on MariaDB):
         * the external candidate (side 0) and the internal one (side 1).
         */
        [ST_CONFLICT] = "SELECT * FROM (SELECT " FCOLS ", 0 AS side FROM forwardings"
                        " WHERE router_id = ?1 AND external_address = ?2 AND protocol = ?3"
                        " AND external_port_lo <= ?4 AND id != ?5"
                        " ORDER BY external_port_lo DESC LIMIT 1) AS e"
                        " UNION ALL SELECT * FROM (SELECT " FCOLS ", 1 AS side FROM forwardings"
                        " WHERE router_id = ?1 AND internal_address = ?6 AND protocol = ?3"
                        " AND internal_port_lo <= ?7 AND id != ?5"
                        " ORDER BY internal_port_lo DESC LIMIT 1) AS i",
        [ST_ALL] = "SELECT " FCOLS " FROM forwardings"
                   " ORDER BY router_id, external_address, protocol, external_port_lo",
        [ST_ROUTER] = "SELECT " FCOLS " FROM forwardings WHERE router_id = ?1"
                      " ORDER BY external_address, protocol, external_port_lo",
        [ST_EXTERNAL] = "SELECT " FCOLS " FROM forwardings WHERE router_id = ?1"
                        " AND external_address = ?2 AND protocol = ?3 ORDER BY external_port_lo",
        [ST_PORT_ID] = "SELECT " FCOLS " FROM forwardings WHERE internal_port_id = ?1"
                       " ORDER BY rowid",
        [ST_INT_ADDR] = "SELECT " FCOLS " FROM forwardings WHERE internal_address = ?1"
                        " ORDER BY rowid",
        [ST_INT_ADDR_ROUTER] = "SELECT " FCOLS " FROM forwardings WHERE router_id = ?1"
                               " AND internal_address = ?2 ORDER BY protocol, internal_port_lo",
        /*
         * A loose index scan: walk the router's distinct external addresses
         * one index descent each (a router has one or two), and for each
         * probe the one range that can hold the port, as the conflict check
         * does.
         */
        [ST_EXT_PORT] = "WITH RECURSIVE addrs(a) AS ("
                        " SELECT (SELECT external_address FROM forwardings WHERE router_id = ?1"
                        "  ORDER BY external_address LIMIT 1)"
                        " UNION ALL"
                        " SELECT (SELECT external_address FROM forwardings WHERE router_id = ?1"
                        "  AND external_address > a ORDER BY external_address LIMIT 1)"
                        " FROM addrs WHERE a IS NOT NULL)"
                        " SELECT " FCOLS " FROM forwardings WHERE rowid IN ("
                        " SELECT (SELECT rowid FROM forwardings WHERE router_id = ?1"
                        "  AND external_address = a AND protocol = ?2 AND external_port_lo <= ?3"
                        "  ORDER BY external_port_lo DESC LIMIT 1)"
                        " FROM addrs WHERE a IS NOT NULL)"
                        " AND external_port_hi >= ?3 ORDER BY external_address",
        /* Pages walk the primary key's index: O(log N + limit) each. */
        [ST_PAGE] = "SELECT " FCOLS " FROM forwardings WHERE id > ?1 ORDER BY id LIMIT ?3",
        [ST_PAGE_ROUTER] = "SELECT " FCOLS " FROM forwardings WHERE id > ?1 AND router_id = ?2"
                           " ORDER BY id LIMIT ?3",
        /*
         * The same walked backwards. From the last: ?1 is "~", which sorts
         * after every id (hex digits and '-').
         */
        [ST_PAGE_DESC] =
                "SELECT " FCOLS " FROM forwardings WHERE id < ?1 ORDER BY id DESC LIMIT ?3",
        [ST_PAGE_ROUTER_DESC] = "SELECT " FCOLS " FROM forwardings WHERE id < ?1 AND router_id = ?2"
                                " ORDER BY id DESC LIMIT ?3",
        [ST_COUNT_ALL] = "SELECT count(*) FROM forwardings",
        [ST_COUNT_ROUTER] = "SELECT count(*) FROM forwardings WHERE router_id = ?1",
        [ST_COUNT_STATUS] = "SELECT count(*) FROM forwardings WHERE status = ?1",
        /* Index forwardings_router_page's order: one row per router, no sort. */
        [ST_COUNT_ROUTERS] = "SELECT router_id, count(*) FROM forwardings GROUP BY router_id"
                             " ORDER BY router_id",
        [ST_SET_STATUS] = ("UPDATE forwardings SET status = ?2 WHERE router_id = ?1"
                           " AND status != ?2"),
        /* One descent of forwardings_external: a walk over pairs costs O(pairs log N). */
        [ST_NEXT_EXTERNAL] = ("SELECT router_id, external_address FROM forwardings"
                              " WHERE (router_id, external_address) > (?1, ?2)"
                              " ORDER BY router_id, external_address LIMIT 1"),
        /*
         * MariaDB only: every write to a router's forwardings first bumps
         * the router's revision, in the same transaction. On one server the
         * row lock queues the router's writers, so each one's conflict check
         * (READ COMMITTED) sees the rows of those before it; on Galera, two
         * nodes writing one router at once write the same row, and
         * certification lets only the first commit (the other gets 1213 and
         * runs again, then sees the first's rows). SQLite needs none: BEGIN
         * IMMEDIATE already serialises every writer.
         */
        [ST_BUMP_ROUTER] = "INSERT INTO routers (router_id, revision, changed)"
                           " VALUES (?1, 1, UNIX_TIMESTAMP(NOW(6)) * 1000000)"
                           " ON DUPLICATE KEY UPDATE revision = revision + 1,"
                           " changed = VALUES(changed)",
        /* MariaDB only: what the agents follow (index routers_changed). */
        [ST_CHANGED_ROUTERS] = "SELECT router_id, revision, changed FROM routers"
                               " WHERE changed >= ?1 ORDER BY changed LIMIT 1000",
        [ST_CLOCK] = "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)",
        /*
         * MariaDB only: every write also logs the rows it removed and added
         * under the router's revision it just bumped (same transaction), so
         * the other agents apply what changed instead of the whole table.
         * ?17: 1 added, 0 removed; ?18: the writing store's origin.
         */
        [ST_LOG_CHANGE] = "INSERT INTO router_changes (revision, step, origin, " COLS ")"
                          " SELECT revision, ?17, ?18, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                          " ?10, ?11, ?12, ?13, ?14, ?15, ?16 FROM routers WHERE router_id = ?2",
        /* Keeps the last STORE_CHANGES_KEPT revisions of a router (a prefix goes). */
        [ST_PRUNE_CHANGES] = "DELETE FROM router_changes WHERE router_id = ?1 AND revision <"
                             " (SELECT CAST(revision AS SIGNED) - ?2 FROM routers"
                             " WHERE router_id = ?1)",
        [ST_ROUTER_CHANGES] = "SELECT " COLS ", revision, step, origin = ?3 FROM router_changes"
                              " WHERE router_id = ?1 AND revision >= ?2"
                              " ORDER BY revision, step LIMIT ?4",
        [ST_LAST_CHANGE] = "SELECT revision FROM router_changes WHERE router_id = ?1"
                           " ORDER BY revision DESC LIMIT 1",
        /* Every router's: one descent of the primary key per router (a loose index scan). */
        [ST_LAST_CHANGES] = "SELECT router_id, MAX(revision) FROM router_changes"
                            " GROUP BY router_id ORDER BY router_id",
        /* One row per agent, written in place: the table never grows with time. */
        [ST_AGENT_BEAT] = "INSERT INTO agents (host, version, started, last_seen, routers, applied)"
                          " VALUES (?1, ?2, ?3, " SQLITE_NOW_US ", ?4, ?5)"
                          " ON CONFLICT (host) DO UPDATE SET version = excluded.version,"
                          " started = excluded.started, last_seen = excluded.last_seen,"
                          " routers = excluded.routers, applied = excluded.applied",
        [ST_AGENTS] = "SELECT host, version, started, last_seen, routers, applied, " SQLITE_NOW_US
                      " FROM agents ORDER BY host",
        /* Taken when free (expired) or renewed by its holder: one row, one statement. */
        [ST_LEASE_TAKE] = "UPDATE monitor_lease SET holder = ?1, expires = " SQLITE_NOW_US " + ?2"
                          " WHERE id = 1 AND (holder = ?1 OR expires < " SQLITE_NOW_US ")",
};

/* MariaDB's text where it differs from SQLite's (NULL: the same). */
static const char *const mariadb_sql[ST_COUNT_] = {
        [ST_AGENT_BEAT] = "INSERT INTO agents (host, version, started, last_seen, routers, applied)"
                          " VALUES (?1, ?2, ?3, " MARIADB_NOW_US ", ?4, ?5)"
                          " ON DUPLICATE KEY UPDATE version = VALUES(version),"
                          " started = VALUES(started), last_seen = VALUES(last_seen),"
                          " routers = VALUES(routers), applied = VALUES(applied)",
        [ST_AGENTS] = "SELECT host, version, started, last_seen, routers, applied, " MARIADB_NOW_US
                      " FROM agents ORDER BY host",
        [ST_LEASE_TAKE] = "UPDATE monitor_lease SET holder = ?1, expires = " MARIADB_NOW_US " + ?2"
                          " WHERE id = 1 AND (holder = ?1 OR expires < " MARIADB_NOW_US ")",
        /* The newest bump: the last entry of index routers_changed. */
        [ST_NEWEST_CHANGE] = "SELECT COALESCE(MAX(changed), 0) FROM routers",
        [ST_BEGIN] = "START TRANSACTION",
        /* A forwarding keeps the router revision it was written at (bumped first). */
        [ST_INSERT] = "INSERT INTO forwardings (" COLS ", revision) VALUES"
                      " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                      " (SELECT revision FROM routers WHERE router_id = ?2))",
        [ST_UPDATE] = "UPDATE forwardings SET router_id = ?2, project_id = ?3,"
                      " external_address = ?4, protocol = ?5, external_port_lo = ?6,"
                      " external_port_hi = ?7, internal_address = ?8, internal_port_lo = ?9,"
                      " internal_port_hi = ?10, internal_port_id = ?11, masquerade = ?12,"
                      " description = ?13, status = ?14, created_at = ?15, updated_at = ?16,"
                      " revision = (SELECT revision FROM routers WHERE router_id = ?2)"
                      " WHERE id = ?1",
        /*
         * The replicas (router_hosts), MariaDB only. An agent's own write, in
         * its transaction: its replica is at the router's new revision if it
         * was up to date before the transaction's ?4 bumps (else follow.c
         * brings it there with the change it had not applied yet).
         */
        [ST_ROUTER_REVISION] = "SELECT revision FROM routers WHERE router_id = ?1",
        [ST_REPLICA_OWN] = "INSERT INTO router_hosts (router_id, host, namespace, applied, failed,"
                           " error) SELECT ?1, ?2, ?3, revision, 0, '' FROM routers"
                           " WHERE router_id = ?1 ON DUPLICATE KEY UPDATE"
                           " applied = IF(applied + ?4 >= VALUES(applied), VALUES(applied),"
                           " applied), namespace = VALUES(namespace)",
        [ST_REPLICA_APPLIED] = "INSERT INTO router_hosts (router_id, host, namespace, applied,"
                               " failed, error) VALUES (?1, ?2, ?3, ?4, 0, '')"
                               " ON DUPLICATE KEY UPDATE namespace = VALUES(namespace),"
                               " applied = VALUES(applied), failed = 0, error = ''",
        [ST_REPLICA_REFUSED] = "INSERT INTO router_hosts (router_id, host, namespace, applied,"
                               " failed, error) VALUES (?1, ?2, ?3, 0, ?4, ?5)"
                               " ON DUPLICATE KEY UPDATE namespace = VALUES(namespace),"
                               " failed = VALUES(failed), error = VALUES(error)",
        [ST_REPLICA_DROP] = "DELETE FROM router_hosts WHERE router_id = ?1 AND host = ?2",
        [ST_REPLICA_CLEAR] = "DELETE FROM router_hosts WHERE host = ?1",
        /* One primary-key range read per router; the age by the database's clock. */
        [ST_REPLICAS] = "SELECT h.host, h.namespace, h.applied, h.failed, h.error, " MARIADB_NOW_US
                        " - COALESCE(a.last_seen, 0), (SELECT revision FROM routers"
                        " WHERE router_id = ?1) FROM router_hosts h LEFT JOIN agents a"
                        " ON a.host = h.host WHERE h.router_id = ?1 ORDER BY h.host",
        /* No rowid: seq, an AUTO_INCREMENT, is the insertion order. */
        [ST_PORT_ID] = "SELECT " FCOLS " FROM forwardings WHERE internal_port_id = ?1"
                       " ORDER BY seq",
        [ST_INT_ADDR] = "SELECT " FCOLS " FROM forwardings WHERE internal_address = ?1"
                        " ORDER BY seq",
        /* The router's ranges of that protocol starting at or below the port (index prefix). */
        [ST_EXT_PORT] = "SELECT " FCOLS " FROM forwardings WHERE router_id = ?1 AND protocol = ?2"
                        " AND external_port_lo <= ?3 AND external_port_hi >= ?3"
                        " ORDER BY external_address",
};

/* MariaDB keeps its schema version in a table (SQLite: PRAGMA user_version). */
static const char mariadb_schema_table[] =
        "CREATE TABLE IF NOT EXISTS store_schema ("
        " id TINYINT UNSIGNED NOT NULL PRIMARY KEY, version INT NOT NULL) ENGINE=InnoDB";

#define MY_TABLE " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
/*
 * The same schema versions on MariaDB (Galera: a primary key on every
 * table). Each step may run twice (IF NOT EXISTS): MariaDB's DDL is not
 * transactional. Never edit a published step.
 */
static const char *const mariadb_migrations[] = {
        /*
         * 1: the forwardings (as SQLite's 1, and seq: the insertion order,
         * SQLite's rowid) and the routers' revisions.
         */
        ("CREATE TABLE IF NOT EXISTS forwardings ("
         " id CHAR(36) NOT NULL PRIMARY KEY CHECK (char_length(id) = 36),"
         " router_id VARCHAR(64) NOT NULL CHECK (char_length(router_id) >= 1),"
         " project_id VARCHAR(64) NOT NULL DEFAULT '',"
         " external_address VARCHAR(46) NOT NULL DEFAULT '',"
         " protocol TINYINT UNSIGNED NOT NULL CHECK (protocol IN (6, 17)),"
         " external_port_lo SMALLINT UNSIGNED NOT NULL"
         "  CHECK (external_port_lo BETWEEN 1 AND 65535),"
         " external_port_hi SMALLINT UNSIGNED NOT NULL"
         "  CHECK (external_port_hi BETWEEN external_port_lo AND 65535),"
         " internal_address VARCHAR(46) NOT NULL,"
         " internal_port_lo SMALLINT UNSIGNED NOT NULL"
         "  CHECK (internal_port_lo BETWEEN 1 AND 65535),"
         " internal_port_hi SMALLINT UNSIGNED NOT NULL"
         "  CHECK (internal_port_hi BETWEEN internal_port_lo AND 65535),"
         " internal_port_id VARCHAR(64) NOT NULL DEFAULT '',"
         " masquerade TINYINT UNSIGNED NOT NULL DEFAULT 0 CHECK (masquerade IN (0, 1)),"
         " description VARCHAR(255) NOT NULL DEFAULT '',"
         " status VARCHAR(8) NOT NULL DEFAULT 'DOWN' CHECK (status IN ('ACTIVE', 'DOWN')),"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,"
         " UNIQUE KEY forwardings_seq (seq),"
         " UNIQUE KEY forwardings_external"
         "  (router_id, external_address, protocol, external_port_lo),"
         " UNIQUE KEY forwardings_internal"
         "  (router_id, internal_address, protocol, internal_port_lo)"
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
         "CREATE TABLE IF NOT EXISTS routers ("
         " router_id VARCHAR(64) NOT NULL PRIMARY KEY,"
         " revision BIGINT UNSIGNED NOT NULL,"
         " changed BIGINT NOT NULL," /* the database's clock at the bump, microseconds */
         " KEY routers_changed (changed)"
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"),
        /* 2-4: the indexes of SQLite's 2-4, for the same questions. */
        ("CREATE INDEX IF NOT EXISTS forwardings_port_id ON forwardings (internal_port_id);"
         "CREATE INDEX IF NOT EXISTS forwardings_internal_address"
         " ON forwardings (internal_address)"),
        "CREATE INDEX IF NOT EXISTS forwardings_status ON forwardings (status)",
        "CREATE INDEX IF NOT EXISTS forwardings_router_page ON forwardings (router_id, id)",
        /*
         * 5: the change log the agents follow (ST_LOG_CHANGE): per router
         * and revision, the rows removed (step 0) then added (step 1).
         */
        ("CREATE TABLE IF NOT EXISTS router_changes ("
         " router_id VARCHAR(64) NOT NULL,"
         " revision BIGINT UNSIGNED NOT NULL,"
         " step TINYINT UNSIGNED NOT NULL,"
         " origin BIGINT NOT NULL," /* the writing store (store_open's random number) */
         " id CHAR(36) NOT NULL,"
         " project_id VARCHAR(64) NOT NULL,"
         " external_address VARCHAR(46) NOT NULL,"
         " protocol TINYINT UNSIGNED NOT NULL,"
         " external_port_lo SMALLINT UNSIGNED NOT NULL,"
         " external_port_hi SMALLINT UNSIGNED NOT NULL,"
         " internal_address VARCHAR(46) NOT NULL,"
         " internal_port_lo SMALLINT UNSIGNED NOT NULL,"
         " internal_port_hi SMALLINT UNSIGNED NOT NULL,"
         " internal_port_id VARCHAR(64) NOT NULL,"
         " masquerade TINYINT UNSIGNED NOT NULL,"
         " description VARCHAR(255) NOT NULL,"
         " status VARCHAR(8) NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " PRIMARY KEY (router_id, revision, step))" MY_TABLE),
        /* 6: as SQLite's 6. */
        (AGENTS_TABLE(" VARCHAR(64)", " BIGINT", MY_TABLE) ";" LEASE_TABLE(
                " VARCHAR(64)", " BIGINT", MY_TABLE, "INSERT IGNORE")),
        /* 7: as SQLite's 7. */
        ("ALTER TABLE forwardings ADD COLUMN IF NOT EXISTS revision BIGINT UNSIGNED NOT NULL"
         " DEFAULT 0;" REPLICAS_TABLE(" VARCHAR(255)", " BIGINT", MY_TABLE)),
};
_Static_assert(sizeof(mariadb_migrations) / sizeof(mariadb_migrations[0]) == STORE_SCHEMA_VERSION,
        "one MariaDB migration per schema version");

struct store {
	struct sqldb *db;
	char *path; /* sqldb_name(): never the password */
	struct sqldb_stmt *stmt[ST_COUNT_];
	bool stmt_busy[ST_COUNT_]; /* in use by an iteration */
	bool in_txn;
	bool txn_dirty; /* hooks saw a change in this transaction */
	/*
	 * The engine ended the caller's transaction on its own: the -errno
	 * why. Until the caller ends it (commit gives this error, rollback 0),
	 * every write and savepoint fails with it, so none runs on its own
	 * outside the transaction the caller believes open.
	 */
	int txn_lost;
	struct store_hooks hooks;
	void *hooks_arg;
	int64_t origin;  /* marks this store's rows in router_changes */
	int64_t bumps;   /* revisions bumped since the transaction or savepoint began */
	uint64_t logged; /* changes logged: every STORE_PRUNE_EVERY-th prunes */
};

/*
 * Fires rolled_back if the engine ended our transaction on its own (SQLite
 * after an I/O error; MariaDB after a deadlock, a certification failure or
 * a lost connection).
 */
static void txn_check_lost(struct store *s, int r)
{
	if (!s->in_txn || s->txn_lost || sqldb_in_txn(s->db))
		return;
	s->txn_lost = r;
	if (s->txn_dirty && s->hooks.rolled_back)
		s->hooks.rolled_back(s->hooks_arg);
	s->txn_dirty = false;
}

/* The caller's transaction is gone (see txn_lost): words for it. */
static int lost_error(struct store *s, char **cause)
{
	return cause_set(cause, s->txn_lost,
	        "%s: the database rolled the transaction back (%s); nothing of it was applied",
	        s->path,
	        s->txn_lost == -EAGAIN ? "it lost to a concurrent one: run it again"
	                               : strerror(-s->txn_lost));
}

/* Words a failed database call once; returns its -errno (r). */
static int fail(struct store *s, int r, char **cause, const char *what)
{
	cause_set(cause, r, "%s: %s: %s", s->path, what, sqldb_errmsg(s->db));
	log_debug("store: %s: %s (%d)", what, sqldb_errmsg(s->db), r);
	txn_check_lost(s, r);
	return r;
}

/* Takes a cached statement; -EBUSY if an iteration is still stepping it. */
static int stmt_take(struct store *s, enum stmt_id id, struct sqldb_stmt **out, char **cause)
{
	if (s->stmt_busy[id]) {
		cause_set(cause, -EBUSY, "%s: a store iteration was started from its own callback",
		        s->path);
		return -EBUSY;
	}
	s->stmt_busy[id] = true;
	*out = s->stmt[id];
	return 0;
}

static void stmt_put(struct store *s, enum stmt_id id)
{
	sqldb_reset(s->stmt[id]);
	s->stmt_busy[id] = false;
}

/* Runs a statement that returns no rows. */
static int stmt_exec(struct store *s, enum stmt_id id, char **cause, const char *what)
{
	struct sqldb_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, what);
	stmt_put(s, id);
	return r;
}

static const char *addr_text(const struct addr *a, char *buf, size_t len)
{
	if (a->family == 0) {
		buf[0] = '\0';
		return buf;
	}
	return addr_format(a, buf, len);
}

/* Copies a text column into a fixed buffer; -EIO if it does not fit. */
static int col_text(struct sqldb_stmt *st, int col, char *buf, size_t len)
{
	size_t n;
	const char *t = sqldb_column_text(st, col, &n);

	if (t == NULL || n >= len)
		return -EIO;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return 0;
}

static int col_port(struct sqldb_stmt *st, int col, uint16_t *out)
{
	int64_t v = sqldb_column_int64(st, col);

	if (v < 1 || v > 65535)
		return -EIO;
	*out = (uint16_t)v;
	return 0;
}

static int col_addr(struct sqldb_stmt *st, int col, struct addr *out)
{
	char buf[ADDR_STRLEN];
	int r;

	if ((r = col_text(st, col, buf, sizeof(buf))) < 0)
		return r;
	if (buf[0] == '\0') {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return addr_parse(buf, out) < 0 ? -EIO : 0;
}

/* Decodes the current row (COLS); -EIO for a value no write could store. */
static int row_read(struct sqldb_stmt *st, struct forwarding *f)
{
	char status[8];
	int r = 0;

	memset(f, 0, sizeof(*f));
	if ((r = col_text(st, C_ID, f->id, sizeof(f->id))) < 0 ||
	        (r = col_text(st, C_ROUTER, f->router_id, sizeof(f->router_id))) < 0 ||
	        (r = col_text(st, C_PROJECT, f->project_id, sizeof(f->project_id))) < 0 ||
	        (r = col_addr(st, C_EXT_ADDR, &f->external_addr)) < 0 ||
	        (r = col_port(st, C_EXT_LO, &f->external.lo)) < 0 ||
	        (r = col_port(st, C_EXT_HI, &f->external.hi)) < 0 ||
	        (r = col_addr(st, C_INT_ADDR, &f->internal_addr)) < 0 ||
	        (r = col_port(st, C_INT_LO, &f->internal.lo)) < 0 ||
	        (r = col_port(st, C_INT_HI, &f->internal.hi)) < 0 ||
	        (r = col_text(st, C_PORT_ID, f->internal_port_id, sizeof(f->internal_port_id))) <
	                0 ||
	        (r = col_text(st, C_DESCR, f->description, sizeof(f->description))) < 0 ||
	        (r = col_text(st, C_STATUS, status, sizeof(status))) < 0)
		return r;
	f->protocol = (uint8_t)sqldb_column_int64(st, C_PROTO);
	f->masquerade = sqldb_column_int64(st, C_MASQ) != 0;
	f->status = strcmp(status, "ACTIVE") == 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	f->created_at = sqldb_column_int64(st, C_CREATED);
	f->updated_at = sqldb_column_int64(st, C_UPDATED);
	f->revision = (uint64_t)sqldb_column_int64(st, C_REVISION);
	return 0;
}

static int row_fail(struct store *s, struct sqldb_stmt *st, char **cause)
{
	size_t n;
	const char *id = sqldb_column_text(st, C_ID, &n);

	cause_set(cause, -EIO,
	        "%s: forwarding %s holds a value no PRaaS writes; the database is damaged", s->path,
	        id ? id : "?");
	return -EIO;
}

#define BIND(call)                                                                                 \
	do {                                                                                       \
		if (rc == 0)                                                                       \
			rc = (call);                                                               \
	} while (0)

/* Binds every column of f as parameters ?1..?16, in COLS order. */
static int bind_fwd(struct sqldb_stmt *st, const struct forwarding *f)
{
	char ext[ADDR_STRLEN], in[ADDR_STRLEN];
	int rc = 0;

	BIND(sqldb_bind_text(st, C_ID + 1, f->id));
	BIND(sqldb_bind_text(st, C_ROUTER + 1, f->router_id));
	BIND(sqldb_bind_text(st, C_PROJECT + 1, f->project_id));
	BIND(sqldb_bind_text(st, C_EXT_ADDR + 1, addr_text(&f->external_addr, ext, sizeof(ext))));
	BIND(sqldb_bind_int64(st, C_PROTO + 1, f->protocol));
	BIND(sqldb_bind_int64(st, C_EXT_LO + 1, f->external.lo));
	BIND(sqldb_bind_int64(st, C_EXT_HI + 1, f->external.hi));
	BIND(sqldb_bind_text(st, C_INT_ADDR + 1, addr_text(&f->internal_addr, in, sizeof(in))));
	BIND(sqldb_bind_int64(st, C_INT_LO + 1, f->internal.lo));
	BIND(sqldb_bind_int64(st, C_INT_HI + 1, f->internal.hi));
	BIND(sqldb_bind_text(st, C_PORT_ID + 1, f->internal_port_id));
	BIND(sqldb_bind_int64(st, C_MASQ + 1, f->masquerade ? 1 : 0));
	BIND(sqldb_bind_text(st, C_DESCR + 1, f->description));
	BIND(sqldb_bind_text(st, C_STATUS + 1, fwd_status_name(f->status)));
	BIND(sqldb_bind_int64(st, C_CREATED + 1, f->created_at));
	BIND(sqldb_bind_int64(st, C_UPDATED + 1, f->updated_at));
	return rc;
}

/*
 * Steps a statement expected to give at most one row. Returns 1 with
 * *out filled, 0 for no row, or -errno.
 */
static int step_one(struct store *s, struct sqldb_stmt *st, struct forwarding *out, char **cause,
        const char *what)
{
	int rc = sqldb_step(st);

	if (rc == 0)
		return 0;
	if (rc < 0)
		return fail(s, rc, cause, what);
	if (row_read(st, out) < 0)
		return row_fail(s, st, cause);
	return 1;
}

/* Steps a query and calls cb for each row. */
static int step_each(struct store *s, struct sqldb_stmt *st, store_cb cb, void *arg, char **cause,
        const char *what)
{
	struct forwarding f;
	int r, rc;

	for (;;) {
		rc = sqldb_step(st);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return fail(s, rc, cause, what);
		if (row_read(st, &f) < 0)
			return row_fail(s, st, cause);
		if ((r = cb(&f, arg)) != 0)
			return r;
	}
}

static int schema_version_set(struct store *s, int version, char **cause);
static int exec_sql(struct store *s, const char *sql, char **cause, const char *what);

static int now(int64_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	*out = ts.tv_sec;
	return 0;
}

static bool text_fits(const char *text, size_t size)
{
	return strnlen(text, size) < size;
}

/* The checks the schema cannot word well, after fwd_validate(). */
static int validate(const struct forwarding *f, char **cause)
{
	const char *why = NULL;

	if (!text_fits(f->router_id, sizeof(f->router_id)) || f->router_id[0] == '\0')
		why = "router_id: must be 1 to 64 characters";
	else if (!text_fits(f->project_id, sizeof(f->project_id)))
		why = "project_id: longer than 64 characters";
	else if (!text_fits(f->internal_port_id, sizeof(f->internal_port_id)))
		why = "internal_port_id: longer than 64 characters";
	else if (!text_fits(f->description, sizeof(f->description)))
		why = "description: longer than 255 characters";
	else if (!text_fits(f->id, sizeof(f->id)) || (f->id[0] && !fwd_uuid_valid(f->id)))
		why = "id: not a UUID";
	else if (f->status != FWD_STATUS_ACTIVE && f->status != FWD_STATUS_DOWN)
		why = "status: must be ACTIVE or DOWN";
	else
		(void)fwd_validate(f, &why);
	if (why == NULL)
		return 0;
	cause_set(cause, -EINVAL, "invalid forwarding: %s", why);
	return -EINVAL;
}

/* Reads forwarding id: 1 found, 0 not there, or -errno. */
static int get_row(struct store *s, const char *id, struct forwarding *out, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, ST_GET, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, id)) < 0)
		r = fail(s, rc, cause, "bind id");
	else
		r = step_one(s, st, out, cause, "read forwarding");
	stmt_put(s, ST_GET);
	return r;
}

int store_get(struct store *s, const char *id, struct forwarding *out, char **cause)
{
	int r = get_row(s, id, out, cause);

	if (r == 0) {
		cause_set(cause, -ENOENT, "no forwarding %s", id);
		return -ENOENT;
	}
	return r < 0 ? r : 0;
}

/*
 * Probes both conflict indexes (ST_CONFLICT) for a range under f's key
 * that could overlap f's: with[0] the external candidate, with[1] the
 * internal one; found[side] says which came. 0 or -errno.
 */
static int probe(struct store *s, const struct forwarding *f, struct forwarding with[2],
        bool found[2], char **cause)
{
	char ext[ADDR_STRLEN], in[ADDR_STRLEN];
	struct forwarding row;
	struct sqldb_stmt *st;
	int64_t side;
	int r, rc = 0;

	found[0] = found[1] = false;
	if ((r = stmt_take(s, ST_CONFLICT, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, f->router_id));
	BIND(sqldb_bind_text(st, 2, addr_text(&f->external_addr, ext, sizeof(ext))));
	BIND(sqldb_bind_int64(st, 3, f->protocol));
	BIND(sqldb_bind_int64(st, 4, f->external.hi));
	BIND(sqldb_bind_text(st, 5, f->id));
	BIND(sqldb_bind_text(st, 6, addr_text(&f->internal_addr, in, sizeof(in))));
	BIND(sqldb_bind_int64(st, 7, f->internal.hi));
	r = rc < 0 ? fail(s, rc, cause, "bind conflict query") : 0;
	/* At most one row per side (each LIMIT 1). */
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		side = sqldb_column_int64(st, C_REVISION + 1);
		if (row_read(st, &row) < 0 || (side != 0 && side != 1)) {
			r = row_fail(s, st, cause);
			break;
		}
		with[side] = row;
		found[side] = true;
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "check conflicts");
	stmt_put(s, ST_CONFLICT);
	return r;
}

static int conflict_found(const struct forwarding *f, struct store_conflict *conflict,
        struct forwarding *with, enum store_conflict_kind kind, char **cause)
{
	char a[ADDR_STRLEN], buf[12];
	bool ext = kind == STORE_CONFLICT_EXTERNAL;

	if (kind == STORE_CONFLICT_ID)
		cause_set(cause, -EEXIST, "forwarding %s exists", f->id);
	else
		cause_set(cause, -EEXIST, "%s port %s/%s on %s is used by forwarding %s",
		        ext ? "external" : "internal",
		        port_range_format(
		                ext ? &with->external : &with->internal, buf, sizeof(buf)),
		        fwd_protocol_name(f->protocol),
		        addr_text(ext ? &with->external_addr : &with->internal_addr, a, sizeof(a)),
		        with->id);
	if (conflict) {
		conflict->kind = kind;
		conflict->with = *with;
	}
	return -EEXIST;
}

static int check_conflicts(
        struct store *s, const struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct forwarding with[2];
	bool found[2];
	int r;

	if ((r = probe(s, f, with, found, cause)) < 0)
		return r;
	/* Each candidate starts at or below f's end; it overlaps if it reaches f's start. */
	if (found[0] && with[0].external.hi >= f->external.lo)
		return conflict_found(f, conflict, &with[0], STORE_CONFLICT_EXTERNAL, cause);
	if (found[1] && with[1].internal.hi >= f->internal.lo)
		return conflict_found(f, conflict, &with[1], STORE_CONFLICT_INTERNAL, cause);
	return 0;
}

/* Runs an INSERT or UPDATE of every column of f. */
static int write_row(struct store *s, enum stmt_id id, const struct forwarding *f, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if ((rc = bind_fwd(st, f)) == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "write forwarding");
	stmt_put(s, id);
	return r;
}

/* Bumps router_id's revision (MariaDB; see ST_BUMP_ROUTER). */
static int bump_router(struct store *s, const char *router_id, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if (s->stmt[ST_BUMP_ROUTER] == NULL)
		return 0;
	if ((r = stmt_take(s, ST_BUMP_ROUTER, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, router_id)) == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "bump the router's revision");
	s->bumps += r == 0;
	stmt_put(s, ST_BUMP_ROUTER);
	return r;
}

/* Every STORE_PRUNE_EVERY-th logged change trims its router's log. */
static int prune_changes(struct store *s, const char *router_id, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if (s->logged++ % STORE_PRUNE_EVERY != 0)
		return 0;
	if ((r = stmt_take(s, ST_PRUNE_CHANGES, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, router_id)) == 0 &&
	        (rc = sqldb_bind_int64(st, 2, STORE_CHANGES_KEPT)) == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "trim the router's change log");
	stmt_put(s, ST_PRUNE_CHANGES);
	return r;
}

/* Logs f as added or removed under its router's revision (MariaDB; see ST_LOG_CHANGE). */
static int log_change(struct store *s, const struct forwarding *f, bool added, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if (s->stmt[ST_LOG_CHANGE] == NULL)
		return 0;
	if ((r = stmt_take(s, ST_LOG_CHANGE, &st, cause)) < 0)
		return r;
	if ((rc = bind_fwd(st, f)) == 0 && (rc = sqldb_bind_int64(st, 17, added)) == 0 &&
	        (rc = sqldb_bind_int64(st, 18, s->origin)) == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "log the router's change");
	stmt_put(s, ST_LOG_CHANGE);
	return r < 0 ? r : prune_changes(s, f->router_id, cause);
}

static void hook_added(struct store *s, const struct forwarding *f)
{
	s->txn_dirty = true;
	if (s->hooks.added)
		s->hooks.added(f, s->hooks_arg);
}

static void hook_removed(struct store *s, const struct forwarding *f)
{
	s->txn_dirty = true;
	if (s->hooks.removed)
		s->hooks.removed(f, s->hooks_arg);
}

static int insert_locked(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct forwarding with;
	bool given = f->id[0] != '\0';
	int r;

	if (!given && (r = fwd_uuid_generate(f->id)) < 0) {
		cause_set(cause, r, "generate a forwarding id: %s", strerror(-r));
		return r;
	}
	if ((r = bump_router(s, f->router_id, cause)) < 0)
		return r;
	/*
	 * Only a given id can be taken: one drawn just now is 122 random bits
	 * (the primary key would still refuse a twin). One statement less per create.
	 */
	if (given && (r = get_row(s, f->id, &with, cause)) > 0)
		return conflict_found(f, conflict, &with, STORE_CONFLICT_ID, cause);
	if (r < 0)
		return r;
	if ((r = check_conflicts(s, f, conflict, cause)) < 0)
		return r;
	if (f->created_at == 0 && (r = now(&f->created_at)) < 0)
		return r;
	if (f->updated_at == 0)
		f->updated_at = f->created_at;
	if ((r = write_row(s, ST_INSERT, f, cause)) < 0 || (r = log_change(s, f, true, cause)) < 0)
		return r;
	hook_added(s, f);
	return 0;
}

static int update_locked(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct forwarding old;
	int r;

	if ((r = bump_router(s, f->router_id, cause)) < 0 ||
	        (r = store_get(s, f->id, &old, cause)) < 0)
		return r;
	if (strcmp(old.router_id, f->router_id) != 0 &&
	        (r = bump_router(s, old.router_id, cause)) < 0)
		return r;
	if ((r = check_conflicts(s, f, conflict, cause)) < 0)
		return r;
	f->created_at = old.created_at;
	if ((r = now(&f->updated_at)) < 0)
		return r;
	if ((r = write_row(s, ST_UPDATE, f, cause)) < 0 ||
	        (r = log_change(s, &old, false, cause)) < 0 ||
	        (r = log_change(s, f, true, cause)) < 0)
		return r;
	hook_removed(s, &old);
	hook_added(s, f);
	return 0;
}

static int delete_locked(struct store *s, const char *id, struct forwarding *old, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if ((r = store_get(s, id, old, cause)) < 0 ||
	        (r = bump_router(s, old->router_id, cause)) < 0)
		return r;
	if ((r = stmt_take(s, ST_DELETE, &st, cause)) < 0)
		return r;
	rc = sqldb_bind_text(st, 1, id);
	if (rc == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "delete forwarding");
	stmt_put(s, ST_DELETE);
	if (r == 0)
		r = log_change(s, old, false, cause);
	if (r == 0)
		hook_removed(s, old);
	return r;
}

int store_begin(struct store *s, char **cause)
{
	int r;

	if (s->in_txn) {
		cause_set(cause, -EALREADY, "%s: a transaction is already open", s->path);
		return -EALREADY;
	}
	if ((r = stmt_exec(s, ST_BEGIN, cause, "begin transaction")) < 0)
		return r;
	s->in_txn = true;
	s->txn_dirty = false;
	s->bumps = 0;
	return 0;
}

int store_rollback(struct store *s, char **cause)
{
	int r = 0;

	if (!s->in_txn)
		return 0;
	if (s->txn_lost) { /* rolled back already, hooks told */
		s->in_txn = false;
		s->txn_lost = 0;
		s->txn_dirty = false;
		return 0;
	}
	if (sqldb_in_txn(s->db))
		r = stmt_exec(s, ST_ROLLBACK, cause, "roll back");
	/* Even if ROLLBACK failed the connection may have ended it; re-check. */
	if (r == 0 || !sqldb_in_txn(s->db)) {
		s->in_txn = false;
		if (s->txn_dirty && s->hooks.rolled_back)
			s->hooks.rolled_back(s->hooks_arg);
		s->txn_dirty = false;
	}
	return r;
}

int store_commit(struct store *s, char **cause)
{
	int r;

	if (!s->in_txn) {
		cause_set(cause, -EINVAL, "%s: no transaction to commit", s->path);
		return -EINVAL;
	}
	if (s->txn_lost) {
		r = lost_error(s, cause);
		(void)store_rollback(s, NULL);
		return r;
	}
	if ((r = stmt_exec(s, ST_COMMIT, cause, "commit")) < 0) {
		/* The promise is all or nothing: a failed commit is undone. */
		(void)store_rollback(s, NULL);
		return r;
	}
	s->in_txn = false;
	s->txn_dirty = false;
	return 0;
}

/* Savepoints exist only inside store_begin()'s transaction: outside, SAVEPOINT would open one. */
static int need_txn(struct store *s, char **cause, const char *what)
{
	if (s->in_txn && s->txn_lost)
		return lost_error(s, cause);
	if (s->in_txn)
		return 0;
	return cause_set(cause, -EINVAL, "%s: %s outside a transaction", s->path, what);
}

int store_savepoint(struct store *s, char **cause)
{
	int r;

	if ((r = need_txn(s, cause, "savepoint")) < 0)
		return r;
	s->bumps = 0;
	return stmt_exec(s, ST_SAVEPOINT, cause, "savepoint");
}

int store_release(struct store *s, char **cause)
{
	int r;

	if ((r = need_txn(s, cause, "release savepoint")) < 0)
		return r;
	return stmt_exec(s, ST_RELEASE, cause, "release savepoint");
}

int store_rollback_to(struct store *s, char **cause)
{
	int r;

	if ((r = need_txn(s, cause, "roll back to savepoint")) < 0)
		return r;
	if ((r = stmt_exec(s, ST_ROLLBACK_TO, cause, "roll back to savepoint")) < 0)
		return r;
	s->bumps = 0;
	/* The hooks' followers cannot undo part of a transaction: they start over. */
	if (s->txn_dirty && s->hooks.rolled_back)
		s->hooks.rolled_back(s->hooks_arg);
	return 0;
}

int store_in_transaction(const struct store *s)
{
	return s->in_txn;
}

int store_txn_lost(const struct store *s)
{
	return s->in_txn ? s->txn_lost : 0;
}

/* One write, as the caller asked for it, to run (again) in a transaction. */
struct write {
	enum { W_INSERT, W_UPDATE, W_DELETE } kind;
	struct forwarding *f;            /* insert, update */
	struct store_conflict *conflict; /* insert, update */
	const char *id;                  /* delete */
	struct forwarding *old;          /* delete */
};

static int write_locked(struct store *s, const struct write *w, char **cause)
{
	switch (w->kind) {
	case W_INSERT:
		return insert_locked(s, w->f, w->conflict, cause);
	case W_UPDATE:
		return update_locked(s, w->f, w->conflict, cause);
	default:
		return delete_locked(s, w->id, w->old, cause);
	}
}

/*
 * Runs w inside the caller's transaction, or in one of its own. Its own
 * runs again when it lost to a concurrent transaction (MariaDB: deadlock,
 * Galera certification; nothing of it stayed) or when the connection was
 * lost before COMMIT was sent; a connection lost during COMMIT is reported,
 * since whether the server committed is unknown.
 */
static int write_run(struct store *s, const struct write *w, char **cause)
{
	bool committing;
	int r;

	if (s->in_txn && s->txn_lost)
		return lost_error(s, cause);
	if (s->in_txn)
		return write_locked(s, w, cause);
	for (int attempt = 1;; attempt++) {
		committing = false;
		if ((r = store_begin(s, cause)) == 0) {
			if ((r = write_locked(s, w, cause)) < 0) {
				(void)store_rollback(s, NULL);
			} else {
				committing = true;
				r = store_commit(s, cause);
			}
		}
		if (attempt == STORE_ATTEMPTS || !(r == -EAGAIN || (r == -ENOTCONN && !committing)))
			return r;
		log_debug("store: %s: attempt %d lost (%s); again", s->path, attempt, strerror(-r));
		if (cause) {
			free(*cause);
			*cause = NULL;
		}
	}
}

int store_insert(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct write w = {.kind = W_INSERT, .f = f, .conflict = conflict};
	int r;

	if ((r = validate(f, cause)) < 0)
		return r;
	return write_run(s, &w, cause);
}

int store_update(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct write w = {.kind = W_UPDATE, .f = f, .conflict = conflict};
	int r;

	if ((r = validate(f, cause)) < 0)
		return r;
	if (f->id[0] == '\0') {
		cause_set(cause, -EINVAL, "invalid forwarding: id: missing");
		return -EINVAL;
	}
	return write_run(s, &w, cause);
}

int store_delete(struct store *s, const char *id, struct forwarding *old, char **cause)
{
	struct forwarding scratch;
	struct write w = {.kind = W_DELETE, .id = id, .old = old ? old : &scratch};

	return write_run(s, &w, cause);
}

/* Runs a listing with text parameters ?1 and ?2 and, when limit > 0, ?3. */
static int foreach_text(struct store *s, enum stmt_id id, const char *a, const char *b,
        int64_t limit, store_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc = 0;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (a)
		BIND(sqldb_bind_text(st, 1, a));
	if (b)
		BIND(sqldb_bind_text(st, 2, b));
	if (limit > 0)
		BIND(sqldb_bind_int64(st, 3, limit));
	if (rc < 0)
		r = fail(s, rc, cause, "bind query");
	else
		r = step_each(s, st, cb, arg, cause, "list forwardings");
	stmt_put(s, id);
	return r;
}

int store_foreach_all(struct store *s, store_cb cb, void *arg, char **cause)
{
	return foreach_text(s, ST_ALL, NULL, NULL, 0, cb, arg, cause);
}

int store_foreach_page(struct store *s, const char *router_id, const char *after,
        unsigned int limit, store_cb cb, void *arg, char **cause)
{
	if (limit == 0)
		return 0;
	return foreach_text(s, router_id ? ST_PAGE_ROUTER : ST_PAGE, after ? after : "", router_id,
	        limit, cb, arg, cause);
}

int store_foreach_page_dir(struct store *s, const char *router_id, const char *after,
        bool descending, unsigned int limit, store_cb cb, void *arg, char **cause)
{
	enum stmt_id id = router_id ? ST_PAGE_ROUTER_DESC : ST_PAGE_DESC;
	struct sqldb_stmt *st;
	int r, rc = 0;

	if (!descending)
		return store_foreach_page(s, router_id, after, limit, cb, arg, cause);
	if (limit == 0)
		return 0;
	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (after && *after)
		BIND(sqldb_bind_text(st, 1, after));
	else
		BIND(sqldb_bind_text(st, 1, "~"));
	if (router_id)
		BIND(sqldb_bind_text(st, 2, router_id));
	BIND(sqldb_bind_int64(st, 3, limit));
	if (rc < 0)
		r = fail(s, rc, cause, "bind query");
	else
		r = step_each(s, st, cb, arg, cause, "list forwardings");
	stmt_put(s, id);
	return r;
}

int store_foreach_router(
        struct store *s, const char *router_id, store_cb cb, void *arg, char **cause)
{
	return foreach_text(s, ST_ROUTER, router_id, NULL, 0, cb, arg, cause);
}

int store_foreach_port_id(
        struct store *s, const char *internal_port_id, store_cb cb, void *arg, char **cause)
{
	return foreach_text(s, ST_PORT_ID, internal_port_id, NULL, 0, cb, arg, cause);
}

int store_foreach_internal_addr(struct store *s, const char *router_id, const struct addr *addr,
        store_cb cb, void *arg, char **cause)
{
	char text[ADDR_STRLEN];

	addr_text(addr, text, sizeof(text));
	if (router_id == NULL)
		return foreach_text(s, ST_INT_ADDR, text, NULL, 0, cb, arg, cause);
	return foreach_text(s, ST_INT_ADDR_ROUTER, router_id, text, 0, cb, arg, cause);
}

/* Runs an iteration whose parameters are (?1 text, ?2 text-or-int, ?3 int, ?4 int). */
static int foreach_key(struct store *s, enum stmt_id id, const char *router_id, const char *a,
        uint8_t protocol, int port, store_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc = 0;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, router_id));
	if (a) {
		BIND(sqldb_bind_text(st, 2, a));
		BIND(sqldb_bind_int64(st, 3, protocol));
	} else {
		BIND(sqldb_bind_int64(st, 2, protocol));
		BIND(sqldb_bind_int64(st, 3, port));
	}
	if (rc < 0)
		r = fail(s, rc, cause, "bind query");
	else
		r = step_each(s, st, cb, arg, cause, "list forwardings");
	stmt_put(s, id);
	return r;
}

int store_foreach_external(struct store *s, const char *router_id, const struct addr *ext,
        uint8_t protocol, store_cb cb, void *arg, char **cause)
{
	char text[ADDR_STRLEN];

	addr_text(ext, text, sizeof(text));
	return foreach_key(s, ST_EXTERNAL, router_id, text, protocol, 0, cb, arg, cause);
}

int store_foreach_external_port(struct store *s, const char *router_id, uint8_t protocol,
        uint16_t port, store_cb cb, void *arg, char **cause)
{
	return foreach_key(s, ST_EXT_PORT, router_id, NULL, protocol, port, cb, arg, cause);
}

/* Runs a count(*) statement with text parameter ?1 when text is not NULL. */
static int count_text(
        struct store *s, enum stmt_id id, const char *text, size_t *count, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc = 0;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (text)
		rc = sqldb_bind_text(st, 1, text);
	if (rc == 0)
		rc = sqldb_step(st);
	if (rc == 1) {
		*count = (size_t)sqldb_column_int64(st, 0);
		r = 0;
	} else {
		r = fail(s, rc, cause, "count forwardings");
	}
	stmt_put(s, id);
	return r;
}

int store_count(struct store *s, const char *router_id, size_t *count, char **cause)
{
	return count_text(s, router_id ? ST_COUNT_ROUTER : ST_COUNT_ALL, router_id, count, cause);
}

int store_count_status(struct store *s, enum fwd_status status, size_t *count, char **cause)
{
	return count_text(s, ST_COUNT_STATUS, fwd_status_name(status), count, cause);
}

int store_foreach_router_count(struct store *s, store_router_count_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	char router_id[FWD_NAME_MAX + 1];
	const char *text;
	size_t len;
	int r, rc;

	if ((r = stmt_take(s, ST_COUNT_ROUTERS, &st, cause)) < 0)
		return r;
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if ((text = sqldb_column_text(st, 0, &len)) == NULL || len >= sizeof(router_id)) {
			r = cause_set(cause, -EIO, "%s: a router id too long", s->path);
			break;
		}
		memcpy(router_id, text, len);
		router_id[len] = '\0';
		r = cb(router_id, (size_t)sqldb_column_int64(st, 1), arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "count the forwardings of each router");
	stmt_put(s, ST_COUNT_ROUTERS);
	return r;
}

int store_set_router_status(
        struct store *s, const char *router_id, enum fwd_status status, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc = 0;

	if ((r = stmt_take(s, ST_SET_STATUS, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, router_id));
	BIND(sqldb_bind_text(st, 2, fwd_status_name(status)));
	if (rc == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? (int)sqldb_changes(s->db) : fail(s, rc, cause, "set status");
	stmt_put(s, ST_SET_STATUS);
	return r;
}

/* -ENOTSUP where the dialect has no such statement (SQLite: one agent, nothing to follow). */
static int take_shared(struct store *s, enum stmt_id id, struct sqldb_stmt **st, char **cause)
{
	if (s->stmt[id] == NULL)
		return cause_set(cause, -ENOTSUP, "%s: not a database agents share", s->path);
	return stmt_take(s, id, st, cause);
}

int store_changed_routers(
        struct store *s, int64_t since_us, store_router_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	char router_id[FWD_NAME_MAX + 1];
	int r, rc;

	if ((r = take_shared(s, ST_CHANGED_ROUTERS, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_int64(st, 1, since_us)) < 0)
		r = fail(s, rc, cause, "bind query");
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if (col_text(st, 0, router_id, sizeof(router_id)) < 0) {
			r = cause_set(cause, -EIO, "%s: a router id too long", s->path);
			break;
		}
		r = cb(router_id, (uint64_t)sqldb_column_int64(st, 1), sqldb_column_int64(st, 2),
		        arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "read the routers' revisions");
	stmt_put(s, ST_CHANGED_ROUTERS);
	return r;
}

/* Decodes the current row of ST_ROUTER_CHANGES into c; -EIO if damaged. */
static int change_read(struct sqldb_stmt *st, struct store_change *c)
{
	if (row_read(st, &c->f) < 0)
		return -EIO;
	c->revision = (uint64_t)sqldb_column_int64(st, C_UPDATED + 1);
	c->added = sqldb_column_int64(st, C_UPDATED + 2) != 0;
	c->mine = sqldb_column_int64(st, C_UPDATED + 3) != 0;
	return 0;
}

int store_router_changes(struct store *s, const char *router_id, uint64_t from, unsigned int limit,
        store_change_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	struct store_change c;
	int r, rc;

	if ((r = take_shared(s, ST_ROUTER_CHANGES, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, router_id)) < 0 ||
	        (rc = sqldb_bind_int64(st, 2, (int64_t)from)) < 0 ||
	        (rc = sqldb_bind_int64(st, 3, s->origin)) < 0 ||
	        (rc = sqldb_bind_int64(st, 4, limit)) < 0)
		r = fail(s, rc, cause, "bind query");
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if (change_read(st, &c) < 0) {
			r = row_fail(s, st, cause);
			break;
		}
		r = cb(&c, arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "read the router's changes");
	stmt_put(s, ST_ROUTER_CHANGES);
	return r;
}

int store_router_last_change(
        struct store *s, const char *router_id, uint64_t *revision, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc;

	if ((r = take_shared(s, ST_LAST_CHANGE, &st, cause)) < 0)
		return r;
	*revision = 0;
	if ((rc = sqldb_bind_text(st, 1, router_id)) == 0 && (rc = sqldb_step(st)) == 1)
		*revision = (uint64_t)sqldb_column_int64(st, 0);
	if (rc < 0)
		r = fail(s, rc, cause, "read the router's last change");
	stmt_put(s, ST_LAST_CHANGE);
	return r;
}

int store_last_changes(struct store *s, store_router_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	char router_id[FWD_NAME_MAX + 1];
	int r, rc = 0;

	if ((r = take_shared(s, ST_LAST_CHANGES, &st, cause)) < 0)
		return r;
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if (col_text(st, 0, router_id, sizeof(router_id)) < 0) {
			r = cause_set(cause, -EIO, "%s: a router id too long", s->path);
			break;
		}
		r = cb(router_id, (uint64_t)sqldb_column_int64(st, 1), 0, arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "read the routers' last changes");
	stmt_put(s, ST_LAST_CHANGES);
	return r;
}

bool store_is_shared(const struct store *s)
{
	return sqldb_dialect(s->db) == SQLDB_MARIADB;
}

int store_clock(struct store *s, int64_t *now_us, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc;

	if ((r = take_shared(s, ST_CLOCK, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_step(st)) == 1)
		*now_us = sqldb_column_int64(st, 0);
	else
		r = fail(s, rc < 0 ? rc : -EIO, cause, "read the database's clock");
	stmt_put(s, ST_CLOCK);
	return r;
}

int store_agent_beat(struct store *s, const struct store_agent *ag, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc = 0;

	if ((r = stmt_take(s, ST_AGENT_BEAT, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, ag->host));
	BIND(sqldb_bind_text(st, 2, ag->version));
	BIND(sqldb_bind_int64(st, 3, ag->started_us));
	BIND(sqldb_bind_int64(st, 4, ag->routers));
	BIND(sqldb_bind_int64(st, 5, ag->applied_us));
	if (rc == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "write the agent's heartbeat");
	stmt_put(s, ST_AGENT_BEAT);
	return r;
}

static int agent_read(struct sqldb_stmt *st, struct store_agent *ag)
{
	memset(ag, 0, sizeof(*ag));
	if (col_text(st, 0, ag->host, sizeof(ag->host)) < 0 ||
	        col_text(st, 1, ag->version, sizeof(ag->version)) < 0)
		return -EIO;
	ag->started_us = sqldb_column_int64(st, 2);
	ag->seen_us = sqldb_column_int64(st, 3);
	ag->routers = (uint32_t)sqldb_column_int64(st, 4);
	ag->applied_us = sqldb_column_int64(st, 5);
	ag->age_us = sqldb_column_int64(st, 6) - ag->seen_us;
	return 0;
}

int store_foreach_agent(struct store *s, store_agent_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	struct store_agent ag;
	int r, rc;

	if ((r = stmt_take(s, ST_AGENTS, &st, cause)) < 0)
		return r;
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if (agent_read(st, &ag) < 0) {
			r = cause_set(cause, -EIO, "%s: an agent row no heartbeat writes", s->path);
			break;
		}
		r = cb(&ag, arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "read the agents");
	stmt_put(s, ST_AGENTS);
	return r;
}

int store_newest_change(struct store *s, int64_t *us, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc;

	*us = 0;
	if (s->stmt[ST_NEWEST_CHANGE] == NULL)
		return 0; /* SQLite: one agent, never behind */
	if ((r = stmt_take(s, ST_NEWEST_CHANGE, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_step(st)) == 1)
		*us = sqldb_column_int64(st, 0);
	else
		r = fail(s, rc < 0 ? rc : -EIO, cause, "read the newest router change");
	stmt_put(s, ST_NEWEST_CHANGE);
	return r;
}

/* ---- Replicas (router_hosts): what each node's agent applied of each router ---- */

int store_router_revision(struct store *s, const char *router_id, uint64_t *revision, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc;

	*revision = 0;
	if ((r = take_shared(s, ST_ROUTER_REVISION, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, router_id)) == 0 && (rc = sqldb_step(st)) == 1)
		*revision = (uint64_t)sqldb_column_int64(st, 0);
	if (rc < 0)
		r = fail(s, rc, cause, "read the router's revision");
	stmt_put(s, ST_ROUTER_REVISION);
	return r;
}

/* Runs replica statement id with text ?1-?3 and, unless NULL, int ?4 and text ?5. */
static int replica_write(struct store *s, enum stmt_id id, const char *a, const char *b,
        const char *c, const int64_t *n, const char *e, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc = 0;

	if (s->stmt[id] == NULL)
		return 0; /* SQLite: one node, its status is the forwardings' own */
	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, a));
	if (b != NULL)
		BIND(sqldb_bind_text(st, 2, b));
	if (c != NULL)
		BIND(sqldb_bind_text(st, 3, c));
	if (n != NULL)
		BIND(sqldb_bind_int64(st, 4, *n));
	if (e != NULL)
		BIND(sqldb_bind_text(st, 5, e));
	if (rc == 0)
		rc = sqldb_step(st);
	r = rc >= 0 ? 0 : fail(s, rc, cause, "write this node's replica state");
	stmt_put(s, id);
	return r;
}

int store_replica_own(
        struct store *s, const char *router_id, const char *host, const char *ns, char **cause)
{
	return replica_write(s, ST_REPLICA_OWN, router_id, host, ns, &s->bumps, NULL, cause);
}

int store_replica_applied(struct store *s, const char *router_id, const char *host, const char *ns,
        uint64_t applied, char **cause)
{
	int64_t v = (int64_t)applied;

	return replica_write(s, ST_REPLICA_APPLIED, router_id, host, ns, &v, NULL, cause);
}

int store_replica_refused(struct store *s, const char *router_id, const char *host, const char *ns,
        uint64_t failed, const char *error, char **cause)
{
	char words[256];
	int64_t v = (int64_t)failed;

	snprintf(words, sizeof(words), "%s", error); /* the column's size */
	return replica_write(s, ST_REPLICA_REFUSED, router_id, host, ns, &v, words, cause);
}

int store_replica_drop(struct store *s, const char *router_id, const char *host, char **cause)
{
	if (router_id == NULL)
		return replica_write(s, ST_REPLICA_CLEAR, host, NULL, NULL, NULL, NULL, cause);
	return replica_write(s, ST_REPLICA_DROP, router_id, host, NULL, NULL, NULL, cause);
}

static int replica_read(struct sqldb_stmt *st, struct store_replica *rp)
{
	memset(rp, 0, sizeof(*rp));
	if (col_text(st, 0, rp->host, sizeof(rp->host)) < 0 ||
	        col_text(st, 1, rp->ns, sizeof(rp->ns)) < 0 ||
	        col_text(st, 4, rp->error, sizeof(rp->error)) < 0)
		return -EIO;
	rp->applied = (uint64_t)sqldb_column_int64(st, 2);
	rp->failed = (uint64_t)sqldb_column_int64(st, 3);
	rp->age_us = sqldb_column_int64(st, 5);
	return 0;
}

int store_foreach_replica(struct store *s, const char *router_id, uint64_t *revision,
        store_replica_cb cb, void *arg, char **cause)
{
	struct sqldb_stmt *st = NULL;
	struct store_replica rp;
	int r, rc;

	*revision = 0;
	if ((r = take_shared(s, ST_REPLICAS, &st, cause)) < 0)
		return r;
	if ((rc = sqldb_bind_text(st, 1, router_id)) < 0)
		r = fail(s, rc, cause, "bind query");
	while (r == 0 && (rc = sqldb_step(st)) == 1) {
		if (replica_read(st, &rp) < 0) {
			r = cause_set(cause, -EIO, "%s: a router_hosts row too long", s->path);
			break;
		}
		*revision = (uint64_t)sqldb_column_int64(st, 6);
		r = cb(&rp, arg);
	}
	if (r == 0 && rc < 0)
		r = fail(s, rc, cause, "read the router's replicas");
	stmt_put(s, ST_REPLICAS);
	return r;
}

int store_lease_take(struct store *s, const char *holder, int64_t ttl_us, bool *held, char **cause)
{
	struct sqldb_stmt *st = NULL;
	int r, rc = 0;

	*held = false;
	if ((r = stmt_take(s, ST_LEASE_TAKE, &st, cause)) < 0)
		return r;
	BIND(sqldb_bind_text(st, 1, holder));
	BIND(sqldb_bind_int64(st, 2, ttl_us));
	if (rc == 0)
		rc = sqldb_step(st);
	if (rc >= 0)
		*held = sqldb_changes(s->db) == 1;
	r = rc >= 0 ? 0 : fail(s, rc, cause, "take the monitor's lease");
	stmt_put(s, ST_LEASE_TAKE);
	return r;
}

void store_set_hooks(struct store *s, const struct store_hooks *hooks, void *arg)
{
	if (hooks)
		s->hooks = *hooks;
	else
		memset(&s->hooks, 0, sizeof(s->hooks));
	s->hooks_arg = arg;
}

void store_set_timeout(struct store *s, unsigned int ms)
{
	sqldb_set_timeout(s->db, ms);
}

bool store_unreachable(struct store *s)
{
	return sqldb_given_up(s->db);
}

uint64_t store_statements(const struct store *s)
{
	return sqldb_statements(s->db);
}

struct sqlite3 *store_handle(struct store *s)
{
	return sqldb_sqlite_handle(s->db);
}

/* Runs one statement of setup SQL (possibly several statements). */
static int exec_sql(struct store *s, const char *sql, char **cause, const char *what)
{
	int r = sqldb_exec(s->db, sql);

	if (r == 0)
		return 0;
	cause_set(cause, -EIO, "%s: %s: %s", s->path, what, sqldb_errmsg(s->db));
	return r;
}

int store_next_external(struct store *s, const char *after_router, const char *after_ext,
        char *router_id, char *ext, char **cause)
{
	struct sqldb_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, ST_NEXT_EXTERNAL, &st, cause)) < 0)
		return r;
	rc = sqldb_bind_text(st, 1, after_router);
	if (rc == 0)
		rc = sqldb_bind_text(st, 2, after_ext);
	if (rc == 0)
		rc = sqldb_step(st);
	if (rc == 0) {
		r = 0;
	} else if (rc == 1) {
		r = 1;
		if (col_text(st, 0, router_id, FWD_NAME_MAX + 1) < 0 ||
		        col_text(st, 1, ext, ADDR_STRLEN) < 0) {
			cause_set(cause, -EIO, "%s: a router id or address too long", s->path);
			r = -EIO;
		}
	} else {
		r = fail(s, rc, cause, "read the routers' external addresses");
	}
	stmt_put(s, ST_NEXT_EXTERNAL);
	return r;
}

int store_probe_write(struct store *s, char **cause)
{
	if (s->in_txn)
		return -EBUSY;
	return schema_version_set(s, STORE_SCHEMA_VERSION, cause);
}

/* Runs a query and copies the first column of its one row into buf ("" for none). */
static int query_text(struct store *s, const char *sql, char *buf, size_t len, char **cause)
{
	struct sqldb_stmt *st = NULL;
	const char *t;
	size_t n;
	int r;

	if ((r = sqldb_prepare(s->db, sql, &st)) == 0)
		r = sqldb_step(st);
	if (r == 1 && (t = sqldb_column_text(st, 0, &n)) != NULL)
		snprintf(buf, len, "%.*s", (int)n, t);
	else if (r >= 0)
		buf[0] = '\0';
	else
		fail(s, r, cause, sql);
	sqldb_finalize(st);
	return r < 0 ? r : 0;
}

static int schema_version_get(struct store *s, int *out, char **cause)
{
	char buf[32];
	int r;

	if (sqldb_dialect(s->db) == SQLDB_SQLITE)
		r = query_text(s, "PRAGMA user_version", buf, sizeof(buf), cause);
	else if ((r = exec_sql(s, mariadb_schema_table, cause, "create the schema table")) == 0)
		r = query_text(s, "SELECT version FROM store_schema WHERE id = 1", buf, sizeof(buf),
		        cause);
	if (r < 0)
		return r;
	*out = atoi(buf);
	return 0;
}

/* Written as a change (never a no-op skipped by the engine): the write probe relies on it. */
static int schema_version_set(struct store *s, int version, char **cause)
{
	char sql[128];

	if (sqldb_dialect(s->db) == SQLDB_SQLITE)
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	else
		snprintf(sql, sizeof(sql),
		        "INSERT INTO store_schema (id, version) VALUES (1, %d)"
		        " ON DUPLICATE KEY UPDATE version = GREATEST(version, %d)",
		        version, version);
	return exec_sql(s, sql, cause, "set schema version");
}

static int refuse_newer(struct store *s, int version, char **cause)
{
	cause_set(cause, -ENOTSUP,
	        "%s: schema version %d was written by a newer PRaaS; this one knows up to %d "
	        "(upgrade PRaaS, or restore a backup)",
	        s->path, version, STORE_SCHEMA_VERSION);
	return -ENOTSUP;
}

/*
 * MariaDB: its DDL commits on its own, so each step is written to be run
 * again (IF NOT EXISTS) and two agents starting at once both succeed; the
 * version only grows (GREATEST).
 */
static int migrate_mariadb(struct store *s, int v, char **cause)
{
	int r;

	for (; v < STORE_SCHEMA_VERSION; v++) {
		log_debug("store: %s: migrating schema %d -> %d", s->path, v, v + 1);
		if ((r = exec_sql(s, mariadb_migrations[v], cause, "migrate schema")) < 0 ||
		        (r = schema_version_set(s, v + 1, cause)) < 0)
			return r;
	}
	return 0;
}

/* SQLite: every migration above the file's version, in one transaction. */
static int migrate_sqlite(struct store *s, char **cause)
{
	int r, v;

	if ((r = exec_sql(s, "BEGIN IMMEDIATE", cause, "begin migration")) < 0)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	if ((r = schema_version_get(s, &v, cause)) < 0)
		goto out;
	if (v > STORE_SCHEMA_VERSION) {
		r = refuse_newer(s, v, cause);
		goto out;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		log_debug("store: %s: migrating schema %d -> %d", s->path, v, v + 1);
		if ((r = exec_sql(s, migrations[v], cause, "migrate schema")) < 0)
			goto out;
	}
	if ((r = schema_version_set(s, STORE_SCHEMA_VERSION, cause)) < 0)
		goto out;
	r = exec_sql(s, "COMMIT", cause, "commit migration");
out:
	if (r < 0 && sqldb_in_txn(s->db))
		(void)exec_sql(s, "ROLLBACK", NULL, "roll back migration");
	return r;
}

static int migrate(struct store *s, char **cause)
{
	int r, v;

	if ((r = schema_version_get(s, &v, cause)) < 0)
		return r;
	if (v > STORE_SCHEMA_VERSION)
		return refuse_newer(s, v, cause);
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (sqldb_dialect(s->db) == SQLDB_MARIADB)
		return migrate_mariadb(s, v, cause);
	return migrate_sqlite(s, cause);
}

static int set_pragmas(struct store *s, char **cause)
{
	char mode[16];
	int r;

	if ((r = query_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode), cause)) < 0)
		return r;
	if (strcmp(mode, "wal") != 0) {
		cause_set(cause, -ENOTSUP, "%s: cannot use WAL journal mode (got \"%s\")", s->path,
		        mode);
		return -ENOTSUP;
	}
	/* FULL: WAL is fsynced at every commit, so a commit survives power loss. */
	if ((r = exec_sql(s, "PRAGMA synchronous = FULL", cause, "set synchronous")) < 0)
		return r;
	/*
	 * The group commit wraps each change in a savepoint; SQLite keeps what a
	 * savepoint would roll back in a sub-journal, a temporary file unless
	 * told otherwise: a write() per change for nothing that must survive a
	 * crash (the WAL is what does).
	 */
	if ((r = exec_sql(s, "PRAGMA temp_store = MEMORY", cause, "set temp_store")) < 0)
		return r;
	return exec_sql(s, "PRAGMA foreign_keys = ON", cause, "enable foreign keys");
}

/* The dialect's text of statement i; NULL when the dialect has no such statement. */
static const char *stmt_text(enum sqldb_dialect d, int i)
{
	if (d == SQLDB_MARIADB && mariadb_sql[i])
		return mariadb_sql[i];
	/* Following other agents: MariaDB only (one agent on SQLite follows no one). */
	if (d == SQLDB_SQLITE &&
	        (i == ST_BUMP_ROUTER || i == ST_CHANGED_ROUTERS || i == ST_CLOCK ||
	                i == ST_NEWEST_CHANGE || i == ST_LOG_CHANGE || i == ST_PRUNE_CHANGES ||
	                i == ST_ROUTER_CHANGES || i == ST_LAST_CHANGE || i == ST_LAST_CHANGES))
		return NULL;
	return stmt_sql[i];
}

static int prepare_all(struct store *s, char **cause)
{
	const char *sql;
	int r;

	for (int i = 0; i < ST_COUNT_; i++) {
		if ((sql = stmt_text(sqldb_dialect(s->db), i)) == NULL)
			continue;
		if ((r = sqldb_prepare(s->db, sql, &s->stmt[i])) < 0)
			return fail(s, r, cause, "prepare statement");
	}
	return 0;
}

/* Makes a new database file's directory entry durable, as SQLite does for its WAL. */
static int sync_parent(struct store *s, char **cause)
{
	char *copy = strdup(s->path);
	int fd, r = 0;

	if (copy == NULL)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		r = -errno;
		cause_set(cause, r, "%s: sync directory: %s", s->path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

/* The longest wait for the server's answer while opening (connect, migrations): a start, not a
 * loop. */
#define STORE_OPEN_TIMEOUT_MS 600000

int store_open_auth(const char *target, const char *password, struct store **out, char **cause)
{
	bool lite = !sqldb_is_url(target), created = false;
	struct store *s;
	struct stat sb;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return cause_set(cause, -ENOMEM, "database: out of memory");
	/* Only told apart from the other stores': a collision costs a missed change. */
	if (getrandom(&s->origin, sizeof(s->origin), 0) != sizeof(s->origin)) {
		free(s);
		return cause_set(cause, -errno, "database: getrandom: %s", strerror(errno));
	}
	s->origin &= INT64_MAX;
	if (lite)
		created = stat(target, &sb) < 0 && errno == ENOENT;
	if ((r = sqldb_open(target, password, &s->db, cause)) < 0) {
		free(s);
		return r;
	}
	if ((s->path = strdup(sqldb_name(s->db))) == NULL) {
		r = cause_set(cause, -ENOMEM, "database: out of memory");
		goto fail;
	}
	/* A migration's DDL answers when it is done: the start may wait for it. */
	sqldb_set_timeout(s->db, STORE_OPEN_TIMEOUT_MS);
	if ((lite && (r = set_pragmas(s, cause)) < 0) || (r = migrate(s, cause)) < 0 ||
	        (r = prepare_all(s, cause)) < 0 || (created && (r = sync_parent(s, cause)) < 0))
		goto fail;
	sqldb_set_timeout(s->db, 0);
	*out = s;
	return 0;
fail:
	store_close(s);
	return r;
}

int store_open(const char *target, struct store **out, char **cause)
{
	return store_open_auth(target, NULL, out, cause);
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	memset(&s->hooks, 0, sizeof(s->hooks));
	if (s->db && sqldb_in_txn(s->db))
		(void)exec_sql(s, "ROLLBACK", NULL, "roll back");
	for (int i = 0; i < ST_COUNT_; i++)
		sqldb_finalize(s->stmt[i]);
	sqldb_close(s->db);
	free(s->path);
	free(s);
}
