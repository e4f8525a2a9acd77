/*
 * What an engine behind lib/sqldb provides: a table of functions, and the
 * common head of its connection and statement structures.
 */
#ifndef PRAAS_SQLDB_INT_H
#define PRAAS_SQLDB_INT_H

#include "sqldb.h"

struct sqldb_engine {
	int (*prepare)(struct sqldb *db, const char *sql, struct sqldb_stmt **out);
	void (*finalize)(struct sqldb_stmt *st);
	int (*bind_text)(struct sqldb_stmt *st, int n, const char *text);
	int (*bind_int64)(struct sqldb_stmt *st, int n, int64_t v);
	int (*step)(struct sqldb_stmt *st);
	const char *(*column_text)(struct sqldb_stmt *st, int col, size_t *len);
	int64_t (*column_int64)(struct sqldb_stmt *st, int col);
	void (*reset)(struct sqldb_stmt *st);
	int (*exec)(struct sqldb *db, const char *sql);
	int64_t (*changes)(struct sqldb *db);
	bool (*in_txn)(struct sqldb *db);
	bool (*given_up)(struct sqldb *db); /* NULL: never (a local file) */
	const char *(*errmsg)(struct sqldb *db);
	void (*close)(struct sqldb *db);
};

/* The first member of every engine's connection. */
struct sqldb {
	const struct sqldb_engine *engine;
	enum sqldb_dialect dialect;
	char *name;              /* path or URL without password */
	uint64_t statements;     /* sent to the engine: what an operator's DBA sees */
	unsigned int timeout_ms; /* MariaDB: longest wait for an answer; 0: SQLDB_TIMEOUT_MS */
};

/* The first member of every engine's statement. */
struct sqldb_stmt {
	struct sqldb *db;
};

/* On success *out is the engine's connection; on failure *cause is set. */
int sqldb_sqlite_open(const char *path, struct sqldb **out, char **cause);
int sqldb_mariadb_open(const char *url, const char *password, struct sqldb **out, char **cause);

#endif
