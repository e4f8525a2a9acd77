#include "sqldb.h"

#include <string.h>

#include "sqldb-int.h"

#define URL_SCHEME "mysql://"

bool sqldb_is_url(const char *target)
{
	return strncmp(target, URL_SCHEME, strlen(URL_SCHEME)) == 0;
}

int sqldb_open(const char *target, const char *password, struct sqldb **out, char **cause)
{
	if (sqldb_is_url(target))
		return sqldb_mariadb_open(target, password, out, cause);
	return sqldb_sqlite_open(target, out, cause);
}

void sqldb_close(struct sqldb *db)
{
	if (db)
		db->engine->close(db);
}

enum sqldb_dialect sqldb_dialect(const struct sqldb *db)
{
	return db->dialect;
}

const char *sqldb_name(const struct sqldb *db)
{
	return db->name;
}

const char *sqldb_errmsg(struct sqldb *db)
{
	return db->engine->errmsg(db);
}

int sqldb_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out)
{
	return db->engine->prepare(db, sql, out);
}

void sqldb_finalize(struct sqldb_stmt *st)
{
	if (st)
		st->db->engine->finalize(st);
}

int sqldb_bind_text(struct sqldb_stmt *st, int n, const char *text)
{
	return st->db->engine->bind_text(st, n, text);
}

int sqldb_bind_int64(struct sqldb_stmt *st, int n, int64_t v)
{
	return st->db->engine->bind_int64(st, n, v);
}

int sqldb_step(struct sqldb_stmt *st)
{
	return st->db->engine->step(st);
}

const char *sqldb_column_text(struct sqldb_stmt *st, int col, size_t *len)
{
	return st->db->engine->column_text(st, col, len);
}

int64_t sqldb_column_int64(struct sqldb_stmt *st, int col)
{
	return st->db->engine->column_int64(st, col);
}

void sqldb_reset(struct sqldb_stmt *st)
{
	st->db->engine->reset(st);
}

int sqldb_exec(struct sqldb *db, const char *sql)
{
	return db->engine->exec(db, sql);
}

int64_t sqldb_changes(struct sqldb *db)
{
	return db->engine->changes(db);
}

bool sqldb_in_txn(struct sqldb *db)
{
	return db->engine->in_txn(db);
}

bool sqldb_given_up(struct sqldb *db)
{
	return db->engine->given_up != NULL && db->engine->given_up(db);
}

void sqldb_set_timeout(struct sqldb *db, unsigned int ms)
{
	/* Read by MariaDB's watchdog thread too (the ping's deadline). */
	__atomic_store_n(&db->timeout_ms, ms, __ATOMIC_RELAXED);
}

uint64_t sqldb_statements(const struct sqldb *db)
{
	return db->statements;
}
