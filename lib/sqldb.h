/*
 * One small SQL interface over the store's two engines: SQLite (a path:
 * one node, nothing to install) and MariaDB/Galera through libmariadb (a
 * mysql://USER[:PASSWORD]@HOST[:PORT]/DB URL: many nodes). The store's
 * logic is written once on top of it; only the dialect's SQL text differs.
 *
 * Promises:
 * - Statements take numbered parameters (?1, ?2, ...; one may appear more
 *   than once) on both engines; values are copied at bind time.
 * - Every call returns 0 (or 1 for "a row") on success and -errno on
 *   failure; sqldb_errmsg() then gives the engine's words. Errors map alike
 *   on both engines: -EEXIST a unique key, -EINVAL a value the schema
 *   refuses, -EBUSY locked past the timeout, -EAGAIN the transaction lost
 *   to a concurrent one (MariaDB deadlock 1213, lock wait 1205, Galera
 *   certification failure) and was rolled back: run it again,
 *   -ENOTCONN the database cannot be reached (the transaction, if one was
 *   open, is gone: nothing of it was applied), -EACCES refused credentials,
 *   -EIO anything else.
 * - The password never appears in sqldb_name() nor in any message.
 *
 * - MariaDB: a statement unanswered for the timeout (sqldb_set_timeout)
 *   has the server pinged on a second connection; without an answer to
 *   that either, the database counts as unreachable (-ENOTCONN) and every
 *   statement fails at once until a connection made in the background
 *   answers again (sqldb-mariadb.c, sqldb-watch.h, sqldb-worker.h).
 *
 * Not thread-safe: a connection and its statements belong to one thread
 * (MariaDB's connection has helper threads of its own: a watchdog, a
 * connector; they never touch its statements).
 */
#ifndef PRAAS_SQLDB_H
#define PRAAS_SQLDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sqldb_dialect {
	SQLDB_SQLITE,
	SQLDB_MARIADB,
};

struct sqldb;
struct sqldb_stmt;
struct sqlite3;

/* The parts of a mysql:// URL; password NULL when the URL has none. */
struct sqldb_url {
	char *user, *password, *host, *dbname;
	unsigned int port; /* 3306 when the URL names none */
};

/*
 * Splits mysql://USER[:PASSWORD]@HOST[:PORT]/DB (HOST may be [IPv6]). 0, or
 * -EINVAL with *why a static reason that never quotes the URL (it holds the
 * password), or -ENOMEM. Free the parts with sqldb_url_free().
 */
int sqldb_url_parse(const char *url, struct sqldb_url *out, const char **why);
void sqldb_url_free(struct sqldb_url *u);

/* Whether target names a MariaDB (mysql://...) rather than a SQLite path. */
bool sqldb_is_url(const char *target);

/*
 * Opens target: a SQLite path (created if missing) or a mysql:// URL.
 * password, when not NULL, replaces the URL's (database_password_file).
 * On failure *cause (if not NULL) gets an allocated message.
 */
int sqldb_open(const char *target, const char *password, struct sqldb **out, char **cause);
void sqldb_close(struct sqldb *db);

enum sqldb_dialect sqldb_dialect(const struct sqldb *db);
/* For messages: the path, or the URL with its password left out. */
const char *sqldb_name(const struct sqldb *db);
/* The engine's words for the last failure on db. */
const char *sqldb_errmsg(struct sqldb *db);

int sqldb_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out);
void sqldb_finalize(struct sqldb_stmt *st);
int sqldb_bind_text(struct sqldb_stmt *st, int n, const char *text);
int sqldb_bind_int64(struct sqldb_stmt *st, int n, int64_t v);
/* 1: a row is ready; 0: done; -errno. */
int sqldb_step(struct sqldb_stmt *st);
/* Columns of the current row, from 0. NULL text for SQL NULL. */
const char *sqldb_column_text(struct sqldb_stmt *st, int col, size_t *len);
int64_t sqldb_column_int64(struct sqldb_stmt *st, int col);
/* Ends the statement's run and clears its bindings; ready to run again. */
void sqldb_reset(struct sqldb_stmt *st);

/* Runs SQL (one or more statements separated by ';') that returns no rows. */
int sqldb_exec(struct sqldb *db, const char *sql);
/* Rows the last INSERT, UPDATE or DELETE matched. */
int64_t sqldb_changes(struct sqldb *db);
/* Whether the engine holds an open transaction (false after it rolled one back itself). */
bool sqldb_in_txn(struct sqldb *db);
/*
 * Whether the engine gave its server up (a statement of this connection or
 * of another to the same server had no answer within the timeout) and has
 * not connected to it again since: every statement fails at once
 * meanwhile. Costs no statement. SQLite: never.
 */
bool sqldb_given_up(struct sqldb *db);
/* The longest wait for a MariaDB server's answer, by default. */
#define SQLDB_TIMEOUT_MS 1000
/* Sets it (ms, > 0); SQLite ignores it (its busy timeout bounds its waits). */
void sqldb_set_timeout(struct sqldb *db, unsigned int ms);

/* Statements sent to the engine since open (each execution, BEGIN and COMMIT included). */
uint64_t sqldb_statements(const struct sqldb *db);

/* The SQLite connection (tests and diagnostics), NULL on MariaDB. */
struct sqlite3 *sqldb_sqlite_handle(struct sqldb *db);

#endif
