/*
 * lib/sqldb on MariaDB (and Galera) through libmariadb's text protocol.
 *
 * A statement keeps its SQL with numbered parameters; each run substitutes
 * the bound values as literals (strings escaped by the server connection's
 * own rules, numbers printed), so a statement outlives a reconnection and
 * the dialect keeps SQLite's ?N. The session runs READ COMMITTED: a write
 * that first takes a row lock (the store's router revision) then reads the
 * rows committed before the lock was granted, not a snapshot from before.
 *
 * A lost connection is taken again, and the statement run once more, when
 * no transaction was open; inside one, the transaction is reported gone
 * (-ENOTCONN) and the server has rolled it back.
 */
#include <errno.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "sqldb-int.h"

#define MY_DEFAULT_PORT 3306
#define MY_MAX_PARAMS   16
/* Seconds: a dead server is noticed, a slow one is not given up on too early. */
#define MY_CONNECT_TIMEOUT 5
#define MY_IO_TIMEOUT      30

struct my {
	struct sqldb base;
	MYSQL *conn;
	char *host, *user, *password, *dbname;
	unsigned int port;
	int64_t changes;
	bool broken;   /* the connection is gone; take it again outside a transaction */
	bool txn_lost; /* the server rolled the transaction back on its own */
	char err[256];
};

struct my_stmt {
	struct sqldb_stmt base;
	char *sql;
	char *vals[MY_MAX_PARAMS + 1]; /* literal text of ?n, NULL for SQL NULL */
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	bool ran;
};

static struct my *my(struct sqldb *db)
{
	return (struct my *)db;
}

static struct my_stmt *mst(struct sqldb_stmt *st)
{
	return (struct my_stmt *)st;
}

/* Server and client error numbers to -errno; see sqldb.h for what each means. */
static int code_to_errno(unsigned int code)
{
	switch (code) {
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
		return -EEXIST;
	case ER_LOCK_DEADLOCK: /* also Galera's certification failure and brute-force abort */
	case ER_LOCK_WAIT_TIMEOUT:
		return -EAGAIN;
	case ER_UNKNOWN_COM_ERROR: /* Galera: the node is not part of the primary component */
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_UNKNOWN_HOST:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
		return -ENOTCONN;
	case ER_DBACCESS_DENIED_ERROR:
	case ER_ACCESS_DENIED_ERROR:
	case ER_TABLEACCESS_DENIED_ERROR:
	case ER_SPECIFIC_ACCESS_DENIED_ERROR:
		return -EACCES;
	case ER_BAD_DB_ERROR:
		return -ENOENT;
	case ER_CONSTRAINT_FAILED:
	case ER_BAD_NULL_ERROR:
	case ER_DATA_TOO_LONG:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
		return -EINVAL;
	case CR_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Records the connection's last error; returns its -errno. */
static int my_fail(struct my *m)
{
	unsigned int code = m->conn ? mysql_errno(m->conn) : CR_CONNECTION_ERROR;
	int r = code_to_errno(code);

	snprintf(m->err, sizeof(m->err), "%s (MariaDB error %u)",
	        m->conn ? mysql_error(m->conn) : "no connection", code);
	if (r == -ENOTCONN)
		m->broken = true;
	/* Deadlock and certification failure end the whole transaction. */
	if (code == ER_LOCK_DEADLOCK || r == -ENOTCONN)
		m->txn_lost = true;
	return r;
}

static bool server_in_txn(struct my *m)
{
	unsigned int status = 0;

	if (m->conn == NULL ||
	        mariadb_get_infov(m->conn, MARIADB_CONNECTION_SERVER_STATUS, &status))
		return false;
	return (status & SERVER_STATUS_IN_TRANS) != 0;
}

static int my_connect(struct my *m)
{
	unsigned int connect_to = MY_CONNECT_TIMEOUT, io_to = MY_IO_TIMEOUT;
	my_bool off = 0;

	if (m->conn)
		mysql_close(m->conn);
	if ((m->conn = mysql_init(NULL)) == NULL) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -ENOMEM;
	}
	if (mysql_options(m->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_to) ||
	        mysql_options(m->conn, MYSQL_OPT_READ_TIMEOUT, &io_to) ||
	        mysql_options(m->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_to) ||
	        mysql_options(m->conn, MYSQL_OPT_RECONNECT, &off) ||
	        mysql_options(m->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	        mysql_options(m->conn, MYSQL_READ_DEFAULT_GROUP, NULL))
		return my_fail(m);
	/* FOUND_ROWS: an UPDATE counts the rows it matched, as SQLite does. */
	if (mysql_real_connect(m->conn, m->host, m->user, m->password, m->dbname, m->port, NULL,
	            CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS) == NULL)
		return my_fail(m);
	if (mysql_query(m->conn, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"))
		return my_fail(m);
	m->broken = false;
	m->txn_lost = false;
	return 0;
}

/* Before a statement: take a lost connection again unless a transaction died with it. */
static int my_ready(struct my *m)
{
	if (!m->broken)
		return 0;
	return my_connect(m);
}

static int my_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out)
{
	struct my_stmt *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->sql = strdup(sql)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->base.db = db;
	*out = &s->base;
	return 0;
}

static void clear_result(struct my_stmt *s)
{
	if (s->res)
		mysql_free_result(s->res);
	s->res = NULL;
	s->row = NULL;
	s->ran = false;
}

static void my_reset(struct sqldb_stmt *st)
{
	struct my_stmt *s = mst(st);

	clear_result(s);
	for (int i = 0; i <= MY_MAX_PARAMS; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
	}
}

static void my_finalize(struct sqldb_stmt *st)
{
	my_reset(st);
	free(mst(st)->sql);
	free(st);
}

static int set_val(struct my_stmt *s, int n, char *lit)
{
	if (lit == NULL)
		return -ENOMEM;
	if (n < 1 || n > MY_MAX_PARAMS) {
		free(lit);
		return -EINVAL;
	}
	free(s->vals[n]);
	s->vals[n] = lit;
	return 0;
}

static int my_bind_text(struct sqldb_stmt *st, int n, const char *text)
{
	struct my *m = my(st->db);
	size_t len = strlen(text);
	char *lit = malloc(2 * len + 3);
	int r;

	if (lit == NULL)
		return -ENOMEM;
	if ((r = my_ready(m)) < 0) {
		free(lit);
		return r;
	}
	/* Escaped by the connection's character set, so no value ends the literal early. */
	lit[0] = '\'';
	len = mysql_real_escape_string(m->conn, lit + 1, text, (unsigned long)len);
	lit[len + 1] = '\'';
	lit[len + 2] = '\0';
	return set_val(mst(st), n, lit);
}

static int my_bind_int64(struct sqldb_stmt *st, int n, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return set_val(mst(st), n, strdup(buf));
}

/* The statement's SQL with every ?n replaced by its literal. */
static char *substitute(struct my_stmt *s)
{
	char *out = NULL, *end;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	const char *p = s->sql;
	long n;

	if (f == NULL)
		return NULL;
	while (*p) {
		if (*p == '?' && p[1] >= '1' && p[1] <= '9') {
			n = strtol(p + 1, &end, 10);
			fputs(n <= MY_MAX_PARAMS && s->vals[n] ? s->vals[n] : "NULL", f);
			p = end;
			continue;
		}
		fputc(*p++, f);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int my_run(struct my_stmt *s)
{
	struct my *m = my(s->base.db);
	bool outside;
	char *q;
	int r;

	if ((r = my_ready(m)) < 0)
		return r;
	if ((q = substitute(s)) == NULL)
		return -ENOMEM;
	outside = !server_in_txn(m);
	r = mysql_real_query(m->conn, q, (unsigned long)strlen(q)) ? my_fail(m) : 0;
	/*
	 * Outside a transaction nothing is lost with the connection: take it
	 * again and run the statement once more (the store's statements run
	 * outside one are reads, or writes that may run twice).
	 */
	if (r == -ENOTCONN && outside && (r = my_connect(m)) == 0)
		r = mysql_real_query(m->conn, q, (unsigned long)strlen(q)) ? my_fail(m) : 0;
	free(q);
	if (r < 0)
		return r;
	m->txn_lost = false;
	s->ran = true;
	if (mysql_field_count(m->conn) == 0) {
		m->changes = (int64_t)mysql_affected_rows(m->conn);
		return 0;
	}
	if ((s->res = mysql_store_result(m->conn)) == NULL)
		return my_fail(m);
	return 0;
}

static int my_step(struct sqldb_stmt *st)
{
	struct my_stmt *s = mst(st);
	int r;

	if (!s->ran && (r = my_run(s)) < 0)
		return r;
	if (s->res == NULL)
		return 0;
	if ((s->row = mysql_fetch_row(s->res)) == NULL)
		return 0;
	s->lens = mysql_fetch_lengths(s->res);
	return 1;
}

static const char *my_column_text(struct sqldb_stmt *st, int col, size_t *len)
{
	struct my_stmt *s = mst(st);

	if (s->row == NULL || col < 0 || (unsigned int)col >= mysql_num_fields(s->res)) {
		*len = 0;
		return NULL;
	}
	*len = s->lens[col];
	return s->row[col];
}

static int64_t my_column_int64(struct sqldb_stmt *st, int col)
{
	size_t len;
	const char *t = my_column_text(st, col, &len);

	return t ? strtoll(t, NULL, 10) : 0;
}

static int my_exec(struct sqldb *db, const char *sql)
{
	struct my *m = my(db);
	MYSQL_RES *res;
	int r, more;

	if ((r = my_ready(m)) < 0)
		return r;
	if (mysql_real_query(m->conn, sql, (unsigned long)strlen(sql)))
		return my_fail(m);
	/* Several statements: every result must be read before the next query. */
	do {
		if ((res = mysql_store_result(m->conn)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(m->conn) == 0)
			m->changes = (int64_t)mysql_affected_rows(m->conn);
		if ((more = mysql_next_result(m->conn)) > 0)
			return my_fail(m);
	} while (more == 0);
	m->txn_lost = false;
	return 0;
}

static int64_t my_changes(struct sqldb *db)
{
	return my(db)->changes;
}

static bool my_in_txn(struct sqldb *db)
{
	struct my *m = my(db);

	return !m->broken && !m->txn_lost && server_in_txn(m);
}

static const char *my_errmsg(struct sqldb *db)
{
	return my(db)->err;
}

static void my_close(struct sqldb *db)
{
	struct my *m = my(db);

	if (m->conn)
		mysql_close(m->conn);
	if (m->password)
		explicit_bzero(m->password, strlen(m->password));
	free(m->password);
	free(m->host);
	free(m->user);
	free(m->dbname);
	free(m->base.name);
	free(m);
}

static const struct sqldb_engine my_engine = {
        .prepare = my_prepare,
        .finalize = my_finalize,
        .bind_text = my_bind_text,
        .bind_int64 = my_bind_int64,
        .step = my_step,
        .column_text = my_column_text,
        .column_int64 = my_column_int64,
        .reset = my_reset,
        .exec = my_exec,
        .changes = my_changes,
        .in_txn = my_in_txn,
        .errmsg = my_errmsg,
        .close = my_close,
};

int sqldb_mariadb_open(const char *url, const char *password, struct sqldb **out, char **cause)
{
	struct my *m = calloc(1, sizeof(*m));
	struct sqldb_url u;
	const char *why = NULL;
	int r;

	if (m == NULL)
		return cause_set(cause, -ENOMEM, "database: out of memory");
	m->base.engine = &my_engine;
	m->base.dialect = SQLDB_MARIADB;
	if ((r = sqldb_url_parse(url, &u, &why)) < 0) {
		/* The URL holds the password: never repeat it. */
		cause_set(cause, r, "database: not a mysql://USER:PASSWORD@HOST[:PORT]/DB URL: %s",
		        why);
		my_close(&m->base);
		return r;
	}
	/* The connection owns the parts from here. */
	m->user = u.user;
	m->password = u.password;
	m->host = u.host;
	m->dbname = u.dbname;
	m->port = u.port;
	if (password) {
		free(m->password);
		if ((m->password = strdup(password)) == NULL) {
			my_close(&m->base);
			return cause_set(cause, -ENOMEM, "database: out of memory");
		}
	}
	if (asprintf(&m->base.name, "mysql://%s@%s:%u/%s", m->user, m->host, m->port, m->dbname) <
	        0) {
		m->base.name = NULL;
		my_close(&m->base);
		return cause_set(cause, -ENOMEM, "database: out of memory");
	}
	if ((r = my_connect(m)) < 0) {
		cause_set(cause, r, "%s: connect: %s", m->base.name, m->err);
		my_close(&m->base);
		return r;
	}
	*out = &m->base;
	return 0;
}
