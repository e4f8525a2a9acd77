/*
 * lib/sqldb on SQLite: a thin wrapper. Result codes become -errno here,
 * once; statements are SQLite's own (numbered parameters are native).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "sqldb-int.h"

/* How long a write waits for another process holding the lock. */
#define SQLITE_BUSY_TIMEOUT_MS 5000

struct lite {
	struct sqldb base;
	sqlite3 *db;
	int last_rc;
};

struct lite_stmt {
	struct sqldb_stmt base;
	sqlite3_stmt *st;
};

static struct lite *lite(struct sqldb *db)
{
	return (struct lite *)db;
}

static sqlite3_stmt *raw(struct sqldb_stmt *st)
{
	return ((struct lite_stmt *)st)->st;
}

/* SQLite result codes to -errno; see sqldb.h for what each means. */
static int to_errno(struct lite *l, int rc)
{
	int e;

	l->last_rc = rc;
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
		e = l->db ? sqlite3_system_errno(l->db) : 0;
		return e > 0 ? -e : -EACCES;
	default:
		return -EIO;
	}
}

static int lite_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out)
{
	struct lite_stmt *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	s->base.db = db;
	rc = sqlite3_prepare_v3(lite(db)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
	if (rc != SQLITE_OK) {
		free(s);
		return to_errno(lite(db), rc);
	}
	*out = &s->base;
	return 0;
}

static void lite_finalize(struct sqldb_stmt *st)
{
	sqlite3_finalize(raw(st));
	free(st);
}

static int lite_bind_text(struct sqldb_stmt *st, int n, const char *text)
{
	int rc = sqlite3_bind_text(raw(st), n, text, -1, SQLITE_TRANSIENT);

	return rc == SQLITE_OK ? 0 : to_errno(lite(st->db), rc);
}

static int lite_bind_int64(struct sqldb_stmt *st, int n, int64_t v)
{
	int rc = sqlite3_bind_int64(raw(st), n, v);

	return rc == SQLITE_OK ? 0 : to_errno(lite(st->db), rc);
}

static int lite_step(struct sqldb_stmt *st)
{
	int rc = sqlite3_step(raw(st));

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return to_errno(lite(st->db), rc);
}

static const char *lite_column_text(struct sqldb_stmt *st, int col, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(raw(st), col);
	int n = sqlite3_column_bytes(raw(st), col);

	*len = n > 0 ? (size_t)n : 0;
	return (const char *)t;
}

static int64_t lite_column_int64(struct sqldb_stmt *st, int col)
{
	return sqlite3_column_int64(raw(st), col);
}

static void lite_reset(struct sqldb_stmt *st)
{
	/* Errors were seen by sqlite3_step already; reset only repeats them. */
	(void)sqlite3_reset(raw(st));
	(void)sqlite3_clear_bindings(raw(st));
}

static int lite_exec(struct sqldb *db, const char *sql)
{
	int rc = sqlite3_exec(lite(db)->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : to_errno(lite(db), rc);
}

static int64_t lite_changes(struct sqldb *db)
{
	return sqlite3_changes(lite(db)->db);
}

static bool lite_in_txn(struct sqldb *db)
{
	return !sqlite3_get_autocommit(lite(db)->db);
}

static const char *lite_errmsg(struct sqldb *db)
{
	struct lite *l = lite(db);

	return l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(l->last_rc);
}

static void lite_close(struct sqldb *db)
{
	struct lite *l = lite(db);

	/* close_v2: if something still held the handle it closes when that ends. */
	(void)sqlite3_close_v2(l->db);
	free(l->base.name);
	free(l);
}

static const struct sqldb_engine lite_engine = {
        .prepare = lite_prepare,
        .finalize = lite_finalize,
        .bind_text = lite_bind_text,
        .bind_int64 = lite_bind_int64,
        .step = lite_step,
        .column_text = lite_column_text,
        .column_int64 = lite_column_int64,
        .reset = lite_reset,
        .exec = lite_exec,
        .changes = lite_changes,
        .in_txn = lite_in_txn,
        .errmsg = lite_errmsg,
        .close = lite_close,
};

int sqldb_sqlite_open(const char *path, struct sqldb **out, char **cause)
{
	struct lite *l = calloc(1, sizeof(*l));
	int r, rc;

	if (l == NULL || (l->base.name = strdup(path)) == NULL) {
		free(l);
		return cause_set(cause, -ENOMEM, "%s: out of memory", path);
	}
	l->base.engine = &lite_engine;
	l->base.dialect = SQLDB_SQLITE;
	/*
	 * A store is used from one thread (the agent's loop): SQLite's own
	 * mutex around every call is pure cost, ~5% of a large listing.
	 */
	rc = sqlite3_open_v2(path, &l->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = to_errno(l, rc);
		cause_set(cause, r, "%s: open: %s", path, lite_errmsg(&l->base));
		lite_close(&l->base);
		return r;
	}
	(void)sqlite3_extended_result_codes(l->db, 1);
	(void)sqlite3_busy_timeout(l->db, SQLITE_BUSY_TIMEOUT_MS);
	*out = &l->base;
	return 0;
}

struct sqlite3 *sqldb_sqlite_handle(struct sqldb *db)
{
	return db->dialect == SQLDB_SQLITE ? lite(db)->db : NULL;
}
