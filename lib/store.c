#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cause.h"
#include "log.h"

/* How long a write waits for another process holding the lock. */
#define STORE_BUSY_TIMEOUT_MS 5000

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
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
        "one migration per schema version");

#define COLS                                                                                       \
	"id, router_id, project_id, external_address, protocol, external_port_lo,"                 \
	" external_port_hi, internal_address, internal_port_lo, internal_port_hi,"                 \
	" internal_port_id, masquerade, description, status, created_at, updated_at"

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
	ST_CONFLICT_EXT,
	ST_CONFLICT_INT,
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
	ST_SET_STATUS,
	ST_NEXT_EXTERNAL,
	ST_COUNT_, /* number of statements */
};

/*
 * The conflict queries rely on the ranges under one key being disjoint:
 * ordered by start, their ends are ordered too, so the one range with the
 * greatest start <= the new end is the only one that can reach the new
 * start. One index descent, at most one skipped row (the forwarding being
 * updated).
 */
static const char *const stmt_sql[ST_COUNT_] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT store_group",
        [ST_RELEASE] = "RELEASE store_group",
        [ST_ROLLBACK_TO] = "ROLLBACK TO store_group",
        [ST_INSERT] = "INSERT INTO forwardings (" COLS ") VALUES"
                      " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        [ST_UPDATE] = "UPDATE forwardings SET router_id = ?2, project_id = ?3,"
                      " external_address = ?4, protocol = ?5, external_port_lo = ?6,"
                      " external_port_hi = ?7, internal_address = ?8, internal_port_lo = ?9,"
                      " internal_port_hi = ?10, internal_port_id = ?11, masquerade = ?12,"
                      " description = ?13, status = ?14, created_at = ?15, updated_at = ?16"
                      " WHERE id = ?1",
        [ST_DELETE] = "DELETE FROM forwardings WHERE id = ?1",
        [ST_GET] = "SELECT " COLS " FROM forwardings WHERE id = ?1",
        [ST_CONFLICT_EXT] = "SELECT " COLS " FROM forwardings WHERE router_id = ?1"
                            " AND external_address = ?2 AND protocol = ?3"
                            " AND external_port_lo <= ?4 AND id != ?5"
                            " ORDER BY external_port_lo DESC LIMIT 1",
        [ST_CONFLICT_INT] = "SELECT " COLS " FROM forwardings WHERE router_id = ?1"
                            " AND internal_address = ?2 AND protocol = ?3"
                            " AND internal_port_lo <= ?4 AND id != ?5"
                            " ORDER BY internal_port_lo DESC LIMIT 1",
        [ST_ALL] = "SELECT " COLS " FROM forwardings"
                   " ORDER BY router_id, external_address, protocol, external_port_lo",
        [ST_ROUTER] = "SELECT " COLS " FROM forwardings WHERE router_id = ?1"
                      " ORDER BY external_address, protocol, external_port_lo",
        [ST_EXTERNAL] = "SELECT " COLS " FROM forwardings WHERE router_id = ?1"
                        " AND external_address = ?2 AND protocol = ?3 ORDER BY external_port_lo",
        [ST_PORT_ID] = "SELECT " COLS " FROM forwardings WHERE internal_port_id = ?1"
                       " ORDER BY rowid",
        [ST_INT_ADDR] = "SELECT " COLS " FROM forwardings WHERE internal_address = ?1"
                        " ORDER BY rowid",
        [ST_INT_ADDR_ROUTER] = "SELECT " COLS " FROM forwardings WHERE router_id = ?1"
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
                        " SELECT " COLS " FROM forwardings WHERE rowid IN ("
                        " SELECT (SELECT rowid FROM forwardings WHERE router_id = ?1"
                        "  AND external_address = a AND protocol = ?2 AND external_port_lo <= ?3"
                        "  ORDER BY external_port_lo DESC LIMIT 1)"
                        " FROM addrs WHERE a IS NOT NULL)"
                        " AND external_port_hi >= ?3 ORDER BY external_address",
        /* Pages walk the primary key's index: O(log N + limit) each. */
        [ST_PAGE] = "SELECT " COLS " FROM forwardings WHERE id > ?1 ORDER BY id LIMIT ?3",
        [ST_PAGE_ROUTER] = "SELECT " COLS " FROM forwardings WHERE id > ?1 AND router_id = ?2"
                           " ORDER BY id LIMIT ?3",
        /*
         * The same walked backwards. From the last: ?1 is an empty BLOB, and
         * SQLite orders every TEXT value before every BLOB.
         */
        [ST_PAGE_DESC] = "SELECT " COLS " FROM forwardings WHERE id < ?1 ORDER BY id DESC LIMIT ?3",
        [ST_PAGE_ROUTER_DESC] = "SELECT " COLS " FROM forwardings WHERE id < ?1 AND router_id = ?2"
                                " ORDER BY id DESC LIMIT ?3",
        [ST_COUNT_ALL] = "SELECT count(*) FROM forwardings",
        [ST_COUNT_ROUTER] = "SELECT count(*) FROM forwardings WHERE router_id = ?1",
        [ST_COUNT_STATUS] = "SELECT count(*) FROM forwardings WHERE status = ?1",
        [ST_SET_STATUS] = ("UPDATE forwardings SET status = ?2 WHERE router_id = ?1"
                           " AND status != ?2"),
        /* One descent of forwardings_external: a walk over pairs costs O(pairs log N). */
        [ST_NEXT_EXTERNAL] = ("SELECT router_id, external_address FROM forwardings"
                              " WHERE (router_id, external_address) > (?1, ?2)"
                              " ORDER BY router_id, external_address LIMIT 1"),
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[ST_COUNT_];
	bool stmt_busy[ST_COUNT_]; /* in use by an iteration */
	bool in_txn;
	bool txn_dirty; /* hooks saw a change in this transaction */
	struct store_hooks hooks;
	void *hooks_arg;
};

/* SQLite result codes to -errno; see the header for what each means. */
static int sqlite_to_errno(sqlite3 *db, int rc)
{
	int e;

	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return -EINVAL;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		e = db ? sqlite3_system_errno(db) : 0;
		return e > 0 ? -e : -EACCES;
	default:
		return -EIO;
	}
}

/* Fires rolled_back if SQLite ended our transaction on its own (I/O error). */
static void txn_check_lost(struct store *s)
{
	if (!s->in_txn || !sqlite3_get_autocommit(s->db))
		return;
	s->in_txn = false;
	if (s->txn_dirty && s->hooks.rolled_back)
		s->hooks.rolled_back(s->hooks_arg);
	s->txn_dirty = false;
}

/* Words a failed SQLite call once; returns its -errno. */
static int fail(struct store *s, int rc, char **cause, const char *what)
{
	int r = sqlite_to_errno(s->db, rc);

	cause_set(cause, r, "%s: %s: %s", s->path, what,
	        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	log_debug("store: %s: %s (%d)", what, s->db ? sqlite3_errmsg(s->db) : "", rc);
	if (s->db)
		txn_check_lost(s);
	return r;
}

/* Takes a cached statement; -EBUSY if an iteration is still stepping it. */
static int stmt_take(struct store *s, enum stmt_id id, sqlite3_stmt **out, char **cause)
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
	/* Errors were seen by sqlite3_step already; reset only repeats them. */
	(void)sqlite3_reset(s->stmt[id]);
	(void)sqlite3_clear_bindings(s->stmt[id]);
	s->stmt_busy[id] = false;
}

/* Runs a statement that returns no rows. */
static int stmt_exec(struct store *s, enum stmt_id id, char **cause, const char *what)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? 0 : fail(s, rc, cause, what);
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
static int col_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (t == NULL || n < 0 || (size_t)n >= len)
		return -EIO;
	memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	return 0;
}

static int col_port(sqlite3_stmt *st, int col, uint16_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	if (v < 1 || v > 65535)
		return -EIO;
	*out = (uint16_t)v;
	return 0;
}

static int col_addr(sqlite3_stmt *st, int col, struct addr *out)
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
static int row_read(sqlite3_stmt *st, struct forwarding *f)
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
	f->protocol = (uint8_t)sqlite3_column_int(st, C_PROTO);
	f->masquerade = sqlite3_column_int(st, C_MASQ) != 0;
	f->status = strcmp(status, "ACTIVE") == 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	f->created_at = sqlite3_column_int64(st, C_CREATED);
	f->updated_at = sqlite3_column_int64(st, C_UPDATED);
	return 0;
}

static int row_fail(struct store *s, sqlite3_stmt *st, char **cause)
{
	const unsigned char *id = sqlite3_column_text(st, C_ID);

	cause_set(cause, -EIO,
	        "%s: forwarding %s holds a value no PRaaS writes; the database is damaged", s->path,
	        id ? (const char *)id : "?");
	return -EIO;
}

#define BIND(call)                                                                                 \
	do {                                                                                       \
		if (rc == SQLITE_OK)                                                               \
			rc = (call);                                                               \
	} while (0)

/* Binds every column of f as parameters ?1..?16, in COLS order. */
static int bind_fwd(sqlite3_stmt *st, const struct forwarding *f)
{
	char ext[ADDR_STRLEN], in[ADDR_STRLEN];
	int rc = SQLITE_OK;

	BIND(sqlite3_bind_text(st, C_ID + 1, f->id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, C_ROUTER + 1, f->router_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, C_PROJECT + 1, f->project_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, C_EXT_ADDR + 1, addr_text(&f->external_addr, ext, sizeof(ext)),
	        -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int(st, C_PROTO + 1, f->protocol));
	BIND(sqlite3_bind_int(st, C_EXT_LO + 1, f->external.lo));
	BIND(sqlite3_bind_int(st, C_EXT_HI + 1, f->external.hi));
	BIND(sqlite3_bind_text(st, C_INT_ADDR + 1, addr_text(&f->internal_addr, in, sizeof(in)), -1,
	        SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int(st, C_INT_LO + 1, f->internal.lo));
	BIND(sqlite3_bind_int(st, C_INT_HI + 1, f->internal.hi));
	BIND(sqlite3_bind_text(st, C_PORT_ID + 1, f->internal_port_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int(st, C_MASQ + 1, f->masquerade ? 1 : 0));
	BIND(sqlite3_bind_text(st, C_DESCR + 1, f->description, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, C_STATUS + 1, fwd_status_name(f->status), -1, SQLITE_STATIC));
	BIND(sqlite3_bind_int64(st, C_CREATED + 1, f->created_at));
	BIND(sqlite3_bind_int64(st, C_UPDATED + 1, f->updated_at));
	return rc;
}

/*
 * Steps a statement expected to give at most one row. Returns 1 with
 * *out filled, 0 for no row, or -errno.
 */
static int step_one(
        struct store *s, sqlite3_stmt *st, struct forwarding *out, char **cause, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(s, rc, cause, what);
	if (row_read(st, out) < 0)
		return row_fail(s, st, cause);
	return 1;
}

/* Steps a query and calls cb for each row. */
static int step_each(
        struct store *s, sqlite3_stmt *st, store_cb cb, void *arg, char **cause, const char *what)
{
	struct forwarding f;
	int r, rc;

	for (;;) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return fail(s, rc, cause, what);
		if (row_read(st, &f) < 0)
			return row_fail(s, st, cause);
		if ((r = cb(&f, arg)) != 0)
			return r;
	}
}

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
	sqlite3_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, ST_GET, &st, cause)) < 0)
		return r;
	if ((rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT)) != SQLITE_OK)
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
 * Probes one conflict index for a range overlapping r under f's key on
 * the given side. Returns 1 with *with filled, 0 for none, or -errno.
 */
static int probe(struct store *s, enum stmt_id id, const struct forwarding *f, const struct addr *a,
        const struct port_range *pr, struct forwarding *with, char **cause)
{
	char text[ADDR_STRLEN];
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	BIND(sqlite3_bind_text(st, 1, f->router_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, 2, addr_text(a, text, sizeof(text)), -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int(st, 3, f->protocol));
	BIND(sqlite3_bind_int(st, 4, pr->hi));
	BIND(sqlite3_bind_text(st, 5, f->id, -1, SQLITE_TRANSIENT));
	if (rc != SQLITE_OK)
		r = fail(s, rc, cause, "bind conflict query");
	else
		r = step_one(s, st, with, cause, "check conflicts");
	stmt_put(s, id);
	if (r <= 0)
		return r;
	/* The candidate starts at or below pr->hi; it overlaps if it reaches pr->lo. */
	if (id == ST_CONFLICT_EXT)
		return with->external.hi >= pr->lo;
	return with->internal.hi >= pr->lo;
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
	struct forwarding with;
	int r;

	r = probe(s, ST_CONFLICT_EXT, f, &f->external_addr, &f->external, &with, cause);
	if (r > 0)
		return conflict_found(f, conflict, &with, STORE_CONFLICT_EXTERNAL, cause);
	if (r < 0)
		return r;
	r = probe(s, ST_CONFLICT_INT, f, &f->internal_addr, &f->internal, &with, cause);
	if (r > 0)
		return conflict_found(f, conflict, &with, STORE_CONFLICT_INTERNAL, cause);
	return r;
}

/* Runs an INSERT or UPDATE of every column of f. */
static int write_row(struct store *s, enum stmt_id id, const struct forwarding *f, char **cause)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if ((rc = bind_fwd(st, f)) == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? 0 : fail(s, rc, cause, "write forwarding");
	stmt_put(s, id);
	return r;
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
	int r;

	if (f->id[0] == '\0' && (r = fwd_uuid_generate(f->id)) < 0) {
		cause_set(cause, r, "generate a forwarding id: %s", strerror(-r));
		return r;
	}
	if ((r = get_row(s, f->id, &with, cause)) > 0)
		return conflict_found(f, conflict, &with, STORE_CONFLICT_ID, cause);
	if (r < 0)
		return r;
	if ((r = check_conflicts(s, f, conflict, cause)) < 0)
		return r;
	if (f->created_at == 0 && (r = now(&f->created_at)) < 0)
		return r;
	if (f->updated_at == 0)
		f->updated_at = f->created_at;
	if ((r = write_row(s, ST_INSERT, f, cause)) < 0)
		return r;
	hook_added(s, f);
	return 0;
}

static int update_locked(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	struct forwarding old;
	int r;

	if ((r = store_get(s, f->id, &old, cause)) < 0)
		return r;
	if ((r = check_conflicts(s, f, conflict, cause)) < 0)
		return r;
	f->created_at = old.created_at;
	if ((r = now(&f->updated_at)) < 0)
		return r;
	if ((r = write_row(s, ST_UPDATE, f, cause)) < 0)
		return r;
	hook_removed(s, &old);
	hook_added(s, f);
	return 0;
}

static int delete_locked(struct store *s, const char *id, struct forwarding *old, char **cause)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = store_get(s, id, old, cause)) < 0)
		return r;
	if ((r = stmt_take(s, ST_DELETE, &st, cause)) < 0)
		return r;
	rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? 0 : fail(s, rc, cause, "delete forwarding");
	stmt_put(s, ST_DELETE);
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
	return 0;
}

int store_rollback(struct store *s, char **cause)
{
	int r = 0;

	if (!s->in_txn)
		return 0;
	if (!sqlite3_get_autocommit(s->db))
		r = stmt_exec(s, ST_ROLLBACK, cause, "roll back");
	/* Even if ROLLBACK failed the connection may have ended it; re-check. */
	if (r == 0 || sqlite3_get_autocommit(s->db)) {
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
	if (s->in_txn)
		return 0;
	return cause_set(cause, -EINVAL, "%s: %s outside a transaction", s->path, what);
}

int store_savepoint(struct store *s, char **cause)
{
	int r;

	if ((r = need_txn(s, cause, "savepoint")) < 0)
		return r;
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
	/* The hooks' followers cannot undo part of a transaction: they start over. */
	if (s->txn_dirty && s->hooks.rolled_back)
		s->hooks.rolled_back(s->hooks_arg);
	return 0;
}

int store_in_transaction(const struct store *s)
{
	return s->in_txn;
}

/* Ends the transaction a write opened for itself: commit on success. */
static int own_txn_end(struct store *s, int r, char **cause)
{
	if (r < 0) {
		(void)store_rollback(s, NULL);
		return r;
	}
	return store_commit(s, cause);
}

int store_insert(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	bool own = !s->in_txn;
	int r;

	if ((r = validate(f, cause)) < 0)
		return r;
	if (own && (r = store_begin(s, cause)) < 0)
		return r;
	r = insert_locked(s, f, conflict, cause);
	return own ? own_txn_end(s, r, cause) : r;
}

int store_update(
        struct store *s, struct forwarding *f, struct store_conflict *conflict, char **cause)
{
	bool own = !s->in_txn;
	int r;

	if ((r = validate(f, cause)) < 0)
		return r;
	if (f->id[0] == '\0') {
		cause_set(cause, -EINVAL, "invalid forwarding: id: missing");
		return -EINVAL;
	}
	if (own && (r = store_begin(s, cause)) < 0)
		return r;
	r = update_locked(s, f, conflict, cause);
	return own ? own_txn_end(s, r, cause) : r;
}

int store_delete(struct store *s, const char *id, struct forwarding *old, char **cause)
{
	struct forwarding scratch;
	bool own = !s->in_txn;
	int r;

	if (own && (r = store_begin(s, cause)) < 0)
		return r;
	r = delete_locked(s, id, old ? old : &scratch, cause);
	return own ? own_txn_end(s, r, cause) : r;
}

/* Binds up to three text parameters (NULL ends) and runs an iteration. */
/* Runs a listing with text parameters ?1 and ?2 and, when limit > 0, ?3. */
static int foreach_text(struct store *s, enum stmt_id id, const char *a, const char *b,
        int64_t limit, store_cb cb, void *arg, char **cause)
{
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (a)
		BIND(sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT));
	if (b)
		BIND(sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT));
	if (limit > 0)
		BIND(sqlite3_bind_int64(st, 3, limit));
	if (rc != SQLITE_OK)
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
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if (!descending)
		return store_foreach_page(s, router_id, after, limit, cb, arg, cause);
	if (limit == 0)
		return 0;
	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (after && *after)
		BIND(sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT));
	else
		BIND(sqlite3_bind_zeroblob(st, 1, 0));
	if (router_id)
		BIND(sqlite3_bind_text(st, 2, router_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int64(st, 3, limit));
	if (rc != SQLITE_OK)
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
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	BIND(sqlite3_bind_text(st, 1, router_id, -1, SQLITE_TRANSIENT));
	if (a) {
		BIND(sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT));
		BIND(sqlite3_bind_int(st, 3, protocol));
	} else {
		BIND(sqlite3_bind_int(st, 2, protocol));
		BIND(sqlite3_bind_int(st, 3, port));
	}
	if (rc != SQLITE_OK)
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
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if ((r = stmt_take(s, id, &st, cause)) < 0)
		return r;
	if (text)
		rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = (size_t)sqlite3_column_int64(st, 0);
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

int store_set_router_status(
        struct store *s, const char *router_id, enum fwd_status status, char **cause)
{
	sqlite3_stmt *st;
	int r, rc = SQLITE_OK;

	if ((r = stmt_take(s, ST_SET_STATUS, &st, cause)) < 0)
		return r;
	BIND(sqlite3_bind_text(st, 1, router_id, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_text(st, 2, fwd_status_name(status), -1, SQLITE_STATIC));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? sqlite3_changes(s->db) : fail(s, rc, cause, "set status");
	stmt_put(s, ST_SET_STATUS);
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

struct sqlite3 *store_handle(struct store *s)
{
	return s->db;
}

/* Runs one statement of setup SQL (possibly several statements). */
static int exec_sql(struct store *s, const char *sql, char **cause, const char *what)
{
	char *err = NULL;
	int rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
	if (rc == SQLITE_OK)
		return 0;
	cause_set(cause, -EIO, "%s: %s: %s", s->path, what, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	return sqlite_to_errno(s->db, rc);
}

int store_next_external(struct store *s, const char *after_router, const char *after_ext,
        char *router_id, char *ext, char **cause)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = stmt_take(s, ST_NEXT_EXTERNAL, &st, cause)) < 0)
		return r;
	rc = sqlite3_bind_text(st, 1, after_router, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, after_ext, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = 0;
	} else if (rc == SQLITE_ROW) {
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
	char sql[64];

	if (s->in_txn)
		return -EBUSY;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	return exec_sql(s, sql, cause, "write probe");
}

/* Runs a PRAGMA and copies its one text answer into buf. */
static int pragma_text(struct store *s, const char *sql, char *buf, size_t len, char **cause)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int r = 0, rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (t = sqlite3_column_text(st, 0)) != NULL)
		snprintf(buf, len, "%s", (const char *)t);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		buf[0] = '\0';
	else
		r = fail(s, rc, cause, sql);
	sqlite3_finalize(st);
	return r;
}

static int user_version(struct store *s, int *out, char **cause)
{
	char buf[32];
	int r;

	if ((r = pragma_text(s, "PRAGMA user_version", buf, sizeof(buf), cause)) < 0)
		return r;
	*out = atoi(buf);
	return 0;
}

static int refuse_newer(struct store *s, int version, char **cause)
{
	cause_set(cause, -ENOTSUP,
	        "%s: schema version %d was written by a newer PRaaS; this one knows up to %d "
	        "(upgrade PRaaS, or restore a backup)",
	        s->path, version, STORE_SCHEMA_VERSION);
	return -ENOTSUP;
}

/* Applies every migration above the file's version, in one transaction. */
static int migrate(struct store *s, char **cause)
{
	char sql[64];
	int r, v;

	if ((r = user_version(s, &v, cause)) < 0)
		return r;
	if (v > STORE_SCHEMA_VERSION)
		return refuse_newer(s, v, cause);
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if ((r = exec_sql(s, "BEGIN IMMEDIATE", cause, "begin migration")) < 0)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	if ((r = user_version(s, &v, cause)) < 0)
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
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if ((r = exec_sql(s, sql, cause, "set schema version")) < 0)
		goto out;
	r = exec_sql(s, "COMMIT", cause, "commit migration");
out:
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		(void)exec_sql(s, "ROLLBACK", NULL, "roll back migration");
	return r;
}

static int set_pragmas(struct store *s, char **cause)
{
	char mode[16];
	int r;

	if ((r = pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode), cause)) < 0)
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

static int prepare_all(struct store *s, char **cause)
{
	int rc;

	for (int i = 0; i < ST_COUNT_; i++) {
		rc = sqlite3_prepare_v3(
		        s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return fail(s, rc, cause, "prepare statement");
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

int store_open(const char *path, struct store **out, char **cause)
{
	struct store *s;
	struct stat sb;
	bool created;
	int r, rc;

	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		cause_set(cause, -ENOMEM, "%s: out of memory", path);
		return -ENOMEM;
	}
	created = stat(path, &sb) < 0 && errno == ENOENT;
	/*
	 * A store is used from one thread (the agent's loop): SQLite's own
	 * mutex around every call is pure cost, ~5% of a large listing.
	 */
	rc = sqlite3_open_v2(path, &s->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = fail(s, rc, cause, "open");
		goto fail;
	}
	(void)sqlite3_extended_result_codes(s->db, 1);
	(void)sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if ((r = set_pragmas(s, cause)) < 0 || (r = migrate(s, cause)) < 0 ||
	        (r = prepare_all(s, cause)) < 0 || (created && (r = sync_parent(s, cause)) < 0))
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	memset(&s->hooks, 0, sizeof(s->hooks));
	if (s->db && !sqlite3_get_autocommit(s->db))
		(void)exec_sql(s, "ROLLBACK", NULL, "roll back");
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(s->stmt[i]);
	/* close_v2: if something still held the handle it closes when that ends. */
	if (sqlite3_close_v2(s->db) != SQLITE_OK)
		log_debug("store: %s: close failed", s->path);
	free(s->path);
	free(s);
}
