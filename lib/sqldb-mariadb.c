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
 *
 * Queries run on the caller's thread with libmariadb's non-blocking calls
 * (MYSQL_OPT_NONBLOCK, the _start/_cont pairs): each wait for the socket
 * goes through my_wait(), which inside a task (task.h) suspends the task
 * and gives the loop back until the socket is ready, and outside one
 * polls. A statement issued outside a task while the agent's loop runs
 * would hold the loop: a bug, logged loudly (and fatal under
 * PRAAS_TEST_STRICT_TASKS=1, so the tests find every such call site).
 * A row lock another client holds is waited for at most MY_LOCK_WAIT_S
 * (the session's innodb_lock_wait_timeout): the statement then fails
 * -EBUSY rather than holding its caller for InnoDB's 50 s default.
 *
 * Queries are watched (sqldb-watch.h): one that
 * has had no answer for the timeout (sqldb_set_timeout) has the server
 * pinged on a second connection, on the watchdog's thread (within the
 * timeout too); a server that answers is slow, not gone (a busy machine, a
 * lock), and is waited for again. One that does not (hung, a network black
 * hole) has the query's socket shut: the statement fails -ENOTCONN, the
 * connection is closed, and from then on every statement fails at once,
 * without waiting, while a new connection is made in the background on a
 * worker thread (sqldb-worker.h; at most one every MY_RETRY_MS); the first
 * statement after it succeeded runs on it. Connections are made on that
 * worker too, waited for up to MY_CONNECT_TIMEOUT.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <mysql.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "log.h"
#include "sqldb-int.h"
#include "sqldb-watch.h"
#include "sqldb-worker.h"
#include "task.h"

#define MY_DEFAULT_PORT 3306
#define MY_MAX_PARAMS   20
/* Seconds: a dead server is noticed, a slow one is not given up on too early. */
#define MY_CONNECT_TIMEOUT 5
#define MY_IO_TIMEOUT      30
/* Seconds a statement waits for another client's row lock before it fails -EBUSY. */
#define MY_LOCK_WAIT_S 5
#define MY_STR_(x)     #x
#define MY_STR(x)      MY_STR_(x)
/* How often a task looks whether the worker made its connection (ms). */
#define MY_POLL_MS 5
/* A database given up on is tried again in the background at most this often. */
#define MY_RETRY_MS 500

/* One blocking piece of work for the worker: a connection made, or one query run. */
struct my_job {
	struct sqldb_job base;
	MYSQL *conn; /* the job's while out; the caller's once done */
	char *q;     /* query: the SQL; NULL for a connection to make */
	bool multi;  /* query: read every result (sqldb_exec) */
	bool ping;   /* a liveness ping on conn (made first when NULL) */
	/* connect: copies, so a job outliving its struct my still has them */
	char *host, *user, *password, *dbname;
	unsigned int port;
	/* The outcome. */
	unsigned int code; /* 0, or the MariaDB error */
	char msg[200];
	MYSQL_RES *res;
	int64_t affected;
};

/*
 * What the connections of this process to one server (by name) know of it
 * together: once one gave it up, the others fail at once too rather than
 * each wait out database_timeout again, until one connects again.
 */
struct my_server {
	struct my_server *next;
	char *name;
	unsigned int refs;
	bool down;
};

static pthread_mutex_t servers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct my_server *servers;

struct my {
	struct sqldb base;
	struct my_server *server;
	struct sqldb_worker *worker;
	struct sqldb_worker *pinger; /* the liveness pings' thread */
	struct sqldb_watch *watch;   /* cuts a query the server stopped answering */
	MYSQL *ping_conn;            /* their connection; NULL until needed, or while out */
	struct my_job *probe;        /* a connection being made in the background; NULL: none */
	bool down; /* the server stopped answering: fail at once until a probe connects */
	struct timespec retry_at; /* down: no probe before */
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
		return -EAGAIN;
	/* Another client held the row past MY_LOCK_WAIT_S: only the statement was undone. */
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_STATEMENT_TIMEOUT:
		return -EBUSY;
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

static struct my_server *server_get(const char *name)
{
	struct my_server *sv;

	pthread_mutex_lock(&servers_lock);
	for (sv = servers; sv != NULL && strcmp(sv->name, name) != 0; sv = sv->next)
		;
	if (sv == NULL && (sv = calloc(1, sizeof(*sv))) != NULL) {
		if ((sv->name = strdup(name)) == NULL) {
			free(sv);
			sv = NULL;
		} else {
			sv->next = servers;
			servers = sv;
		}
	}
	if (sv != NULL)
		sv->refs++;
	pthread_mutex_unlock(&servers_lock);
	return sv;
}

static void server_put(struct my_server *sv)
{
	struct my_server **p;

	if (sv == NULL)
		return;
	pthread_mutex_lock(&servers_lock);
	if (--sv->refs == 0) {
		for (p = &servers; *p != sv; p = &(*p)->next)
			;
		*p = sv->next;
		free(sv->name);
		free(sv);
	}
	pthread_mutex_unlock(&servers_lock);
}

static void server_set_down(struct my_server *sv, bool down)
{
	pthread_mutex_lock(&servers_lock);
	sv->down = down;
	pthread_mutex_unlock(&servers_lock);
}

static bool server_down(struct my_server *sv)
{
	bool down;

	pthread_mutex_lock(&servers_lock);
	down = sv->down;
	pthread_mutex_unlock(&servers_lock);
	return down;
}

/* Records an error; returns its -errno. */
static int my_fail_code(struct my *m, unsigned int code, const char *msg)
{
	int r = code_to_errno(code);

	snprintf(m->err, sizeof(m->err), "%s (MariaDB error %u)", msg, code);
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

/* ---- on the worker thread: the blocking calls ---- */

static void job_error(struct my_job *j, unsigned int code, const char *msg)
{
	j->code = code;
	snprintf(j->msg, sizeof(j->msg), "%s", msg);
}

static void conn_error(struct my_job *j)
{
	job_error(j, mysql_errno(j->conn), mysql_error(j->conn));
}

static void run_connect(struct my_job *j)
{
	unsigned int connect_to = MY_CONNECT_TIMEOUT, io_to = MY_IO_TIMEOUT;
	/* One statement: READ COMMITTED (see above), and a bound on waiting for a row lock. */
	static const char iso[] = "SET SESSION tx_isolation = 'READ-COMMITTED', "
	                          "innodb_lock_wait_timeout = " MY_STR(MY_LOCK_WAIT_S);
	my_bool off = 0;

	if ((j->conn = mysql_init(NULL)) == NULL) {
		job_error(j, CR_OUT_OF_MEMORY, "out of memory");
		return;
	}
	if (mysql_options(j->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_to) ||
	        mysql_options(j->conn, MYSQL_OPT_READ_TIMEOUT, &io_to) ||
	        mysql_options(j->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_to) ||
	        mysql_options(j->conn, MYSQL_OPT_RECONNECT, &off) ||
	        mysql_options(j->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	        mysql_options(j->conn, MYSQL_READ_DEFAULT_GROUP, NULL) ||
	        /* The _start/_cont calls (my_query); blocking calls keep working. */
	        mysql_options(j->conn, MYSQL_OPT_NONBLOCK, 0)) {
		conn_error(j);
		return;
	}
	/* FOUND_ROWS: an UPDATE counts the rows it matched, as SQLite does. */
	if (mysql_real_connect(j->conn, j->host, j->user, j->password, j->dbname, j->port, NULL,
	            CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS) == NULL ||
	        mysql_real_query(j->conn, iso, sizeof(iso) - 1))
		conn_error(j);
}

/*
 * One wait of a non-blocking call: status is what libmariadb waits for
 * (MYSQL_WAIT_*); returns what came, for its _cont call. Inside a task the
 * loop runs meanwhile; outside one this thread polls.
 */
static int my_wait(MYSQL *conn, int status)
{
	short events = 0;
	int timeout_ms = -1, got;

	if (status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT))
		events |= EV_READ;
	if (status & MYSQL_WAIT_WRITE)
		events |= EV_WRITE;
	if (status & MYSQL_WAIT_TIMEOUT)
		timeout_ms = (int)mysql_get_timeout_value_ms(conn);
	got = task_wait_fd((int)mysql_get_socket(conn), events, timeout_ms);
	if (got < 0) /* the wait itself failed: libmariadb reads the socket and finds out */
		return status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
	if (got == 0)
		return MYSQL_WAIT_TIMEOUT;
	return ((got & EV_READ) ? status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT) : 0) |
	        ((got & EV_WRITE) ? MYSQL_WAIT_WRITE : 0);
}

/* mysql_store_result(), waiting through my_wait(). */
static MYSQL_RES *store_result(MYSQL *conn)
{
	MYSQL_RES *res = NULL;
	int st = mysql_store_result_start(&res, conn);

	while (st != 0)
		st = mysql_store_result_cont(&res, conn, my_wait(conn, st));
	return res;
}

static void run_query(struct my_job *j)
{
	MYSQL_RES *res;
	int err = 0, more = 0, st;

	st = mysql_real_query_start(&err, j->conn, j->q, (unsigned long)strlen(j->q));
	while (st != 0)
		st = mysql_real_query_cont(&err, j->conn, my_wait(j->conn, st));
	if (err) {
		conn_error(j);
		return;
	}
	if (!j->multi) {
		if (mysql_field_count(j->conn) == 0)
			j->affected = (int64_t)mysql_affected_rows(j->conn);
		else if ((j->res = store_result(j->conn)) == NULL)
			conn_error(j);
		return;
	}
	/* Several statements: every result must be read before the next query. */
	do {
		if ((res = store_result(j->conn)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(j->conn) == 0)
			j->affected = (int64_t)mysql_affected_rows(j->conn);
		st = mysql_next_result_start(&more, j->conn);
		while (st != 0)
			st = mysql_next_result_cont(&more, j->conn, my_wait(j->conn, st));
		if (more > 0) {
			conn_error(j);
			return;
		}
	} while (more == 0);
}

static void run_ping(struct my_job *j)
{
	if (j->conn == NULL)
		run_connect(j); /* made and answered: alive */
	else if (mysql_ping(j->conn))
		conn_error(j);
}

static void job_run(struct sqldb_job *b)
{
	struct my_job *j = (struct my_job *)b;

	if (j->ping)
		run_ping(j);
	else if (j->q != NULL)
		run_query(j);
	else
		run_connect(j);
}

/* The caller gives the query up: its socket shut, the worker's read ends at once. */
static void job_cancel(struct sqldb_job *b)
{
	struct my_job *j = (struct my_job *)b;
	my_socket fd;

	if (!j->ping || j->conn == NULL)
		return; /* a connection being made: its connect timeout ends it */
	fd = mysql_get_socket(j->conn);
	if (fd != MARIADB_INVALID_SOCKET)
		(void)shutdown(fd, SHUT_RDWR);
}

static void job_free(struct my_job *j)
{
	if (j->res)
		mysql_free_result(j->res);
	if (j->conn)
		mysql_close(j->conn);
	if (j->password) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j->q);
	free(j->host);
	free(j->user);
	free(j->dbname);
	free(j);
}

static void job_drop(struct sqldb_job *b)
{
	job_free((struct my_job *)b);
}

/* ---- on the caller's thread ---- */

static struct my_job *job_new(void)
{
	struct my_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->base.run = job_run;
	j->base.cancel = job_cancel;
	j->base.drop = job_drop;
	j->affected = -1;
	return j;
}

static struct my_job *job_new_connect(struct my *m)
{
	struct my_job *j = job_new();

	if (j == NULL)
		return NULL;
	j->host = strdup(m->host);
	j->user = strdup(m->user);
	j->dbname = strdup(m->dbname);
	j->password = m->password ? strdup(m->password) : NULL;
	j->port = m->port;
	if (!j->host || !j->user || !j->dbname || (m->password && !j->password)) {
		job_free(j);
		return NULL;
	}
	return j;
}

static void retry_later(struct my *m)
{
	clock_gettime(CLOCK_MONOTONIC, &m->retry_at);
	m->retry_at.tv_nsec += MY_RETRY_MS * 1000000L;
	m->retry_at.tv_sec += m->retry_at.tv_nsec / 1000000000L;
	m->retry_at.tv_nsec %= 1000000000L;
}

static bool retry_due(const struct my *m)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > m->retry_at.tv_sec ||
	        (now.tv_sec == m->retry_at.tv_sec && now.tv_nsec >= m->retry_at.tv_nsec);
}

/*
 * Whether the server answers a ping on the second connection within the
 * timeout (sqldb_alive_fn): asked when a statement's answer is late.
 */
static unsigned int my_timeout(const struct my *m)
{
	unsigned int ms = __atomic_load_n(&m->base.timeout_ms, __ATOMIC_RELAXED);

	return ms ? ms : SQLDB_TIMEOUT_MS;
}

/* On the watchdog's thread: the only user of the pinger and ping_conn while m is open. */
static bool my_alive(void *arg)
{
	struct my *m = arg;
	unsigned int ms = my_timeout(m);
	struct my_job *j = job_new_connect(m);
	bool alive = false;

	if (j == NULL)
		return false;
	j->ping = true;
	j->conn = m->ping_conn; /* the job's while out */
	m->ping_conn = NULL;
	switch (sqldb_worker_run(m->pinger, &j->base, ms)) {
	case SQLDB_JOB_DONE:
		alive = j->code == 0;
		if (alive) {
			m->ping_conn = j->conn;
			j->conn = NULL;
		}
		job_free(j);
		break;
	case SQLDB_JOB_BUSY: /* an earlier ping is still out: not alive then */
		m->ping_conn = j->conn;
		j->conn = NULL;
		job_free(j);
		break;
	case SQLDB_JOB_TIMEOUT: /* the pinger drops it, with its connection */
		break;
	}
	return alive;
}

/*
 * Runs j on the worker and waits for it. 0: it ran, its outcome is in j
 * (the caller's again). -ENOTCONN: the database did not answer in time (j
 * is the worker's now, with its connection) or the worker still holds an
 * earlier statement given up on (j freed): the database is down.
 */
/*
 * In a task: posted, then looked at every MY_POLL_MS while the loop goes
 * on (a connection is rare: after one was lost), given up at the deadline.
 */
static enum sqldb_worker_verdict run_in_task(struct my *m, struct my_job *j, unsigned int ms)
{
	struct timespec t0, now;

	if (sqldb_worker_post(m->worker, &j->base) != SQLDB_JOB_DONE)
		return SQLDB_JOB_BUSY;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!sqldb_worker_poll(m->worker, &j->base)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >=
		        (long)ms)
			return sqldb_worker_give_up(m->worker, &j->base);
		(void)task_wait_fd(-1, 0, MY_POLL_MS);
	}
	return SQLDB_JOB_DONE;
}

static int my_call(struct my *m, struct my_job *j)
{
	unsigned int ms = my_timeout(m);

	/* A connection being made has no socket to watch yet: libmariadb's connect timeout bounds
	 * it. */
	if (ms < MY_CONNECT_TIMEOUT * 1000)
		ms = MY_CONNECT_TIMEOUT * 1000;
	switch (task_inside() ? run_in_task(m, j, ms) : sqldb_worker_run(m->worker, &j->base, ms)) {
	case SQLDB_JOB_DONE:
		return 0;
	case SQLDB_JOB_BUSY:
		snprintf(m->err, sizeof(m->err),
		        "the database has not answered an earlier statement (given up after %u ms)",
		        ms);
		j->conn = NULL; /* borrowed, never run */
		job_free(j);
		break;
	case SQLDB_JOB_TIMEOUT:
		snprintf(m->err, sizeof(m->err),
		        "the database did not answer within %u ms (database_timeout): given up",
		        ms);
		if (j->q != NULL)
			m->conn = NULL; /* shut; the worker closes it with the job */
		break;
	}
	m->down = m->broken = m->txn_lost = true;
	server_set_down(m->server, true);
	retry_later(m);
	return -ENOTCONN;
}

/* A finished connection job: its connection becomes m's, or its error m's. */
static int adopt(struct my *m, struct my_job *j)
{
	int r = 0;

	if (j->code != 0) {
		r = my_fail_code(m, j->code, j->msg);
	} else {
		if (m->conn)
			mysql_close(m->conn);
		m->conn = j->conn;
		j->conn = NULL;
		m->base.statements++; /* the isolation level */
		m->broken = m->down = m->txn_lost = false;
		server_set_down(m->server, false);
	}
	job_free(j);
	return r;
}

static int my_connect(struct my *m)
{
	struct my_job *j;
	int r;

	if (m->conn) {
		mysql_close(m->conn);
		m->conn = NULL;
	}
	if ((j = job_new_connect(m)) == NULL) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -ENOMEM;
	}
	if ((r = my_call(m, j)) < 0)
		return r;
	return adopt(m, j);
}

/*
 * Down (a statement given up on): the next connection is made in the
 * background, one at most every MY_RETRY_MS, and every statement fails at
 * once until one is made. -ENOTCONN (m->err says why) or 0.
 */
static int my_reconnect_background(struct my *m)
{
	struct my_job *j;

	if (m->probe != NULL) {
		if (!sqldb_worker_poll(m->worker, &m->probe->base))
			return -ENOTCONN;
		j = m->probe;
		m->probe = NULL;
		if (adopt(m, j) == 0)
			return 0;
		m->down = true;
		retry_later(m);
		return -ENOTCONN;
	}
	if (!retry_due(m) || (j = job_new_connect(m)) == NULL)
		return -ENOTCONN;
	if (sqldb_worker_post(m->worker, &j->base) != SQLDB_JOB_DONE) {
		job_free(j); /* the statement given up on has not ended yet */
		return -ENOTCONN;
	}
	m->probe = j;
	return -ENOTCONN;
}

/* Before a statement: take a lost connection again unless a transaction died with it. */
static int my_ready(struct my *m)
{
	/* Another connection gave the server up: this one does too, without waiting for it. */
	if (!m->down && m->probe == NULL && server_down(m->server)) {
		snprintf(m->err, sizeof(m->err),
		        "the database stopped answering another connection of this agent: given "
		        "up");
		m->down = m->broken = m->txn_lost = true;
	}
	if (m->down || m->probe != NULL)
		return my_reconnect_background(m);
	if (!m->broken)
		return 0;
	return my_connect(m);
}

/*
 * A statement about to hold the running loop: some caller did not go
 * through a task (the agent's store gate). Said loudly; a test run
 * (PRAAS_TEST_STRICT_TASKS=1) stops here, so the call site is found.
 */
static void outside_task(const char *q)
{
	const char *strict = getenv("PRAAS_TEST_STRICT_TASKS");

	log_warnx("BUG: a MariaDB statement outside a task holds the event loop: %.80s", q);
	if (strict != NULL && strcmp(strict, "1") == 0)
		abort();
}

/*
 * Sends q (counted: the count matches what the server sees) and reads its
 * answer on the worker. A result set goes to *res when res is not NULL.
 */
static int my_query(struct my *m, const char *q, bool multi, MYSQL_RES **res)
{
	struct my_job *j = job_new();
	int r = 0;

	if (j == NULL || (j->q = strdup(q)) == NULL) {
		free(j);
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -ENOMEM;
	}
	j->conn = m->conn;
	j->multi = multi;
	m->base.statements++;
	if (!task_inside() && task_loop_running())
		outside_task(q);
	/* On this thread (no hand-over costs a statement anything), the loop free while it waits;
	 * the watchdog cuts a dead server. */
	sqldb_watch_arm(m->watch, (int)mysql_get_socket(m->conn), my_timeout(m));
	run_query(j);
	j->conn = NULL; /* m's */
	if (sqldb_watch_disarm(m->watch)) {
		snprintf(m->err, sizeof(m->err),
		        "the database answered neither within %u ms (database_timeout) nor a ping: "
		        "given up",
		        my_timeout(m));
		mysql_close(m->conn);
		m->conn = NULL;
		m->down = m->broken = m->txn_lost = true;
		server_set_down(m->server, true);
		retry_later(m);
		job_free(j);
		return -ENOTCONN;
	}
	if (j->code != 0) {
		r = my_fail_code(m, j->code, j->msg);
	} else {
		if (j->affected >= 0)
			m->changes = j->affected;
		if (res != NULL) {
			*res = j->res;
			j->res = NULL;
		}
	}
	job_free(j);
	return r;
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
	r = my_query(m, q, false, &s->res);
	/*
	 * Outside a transaction nothing is lost with the connection: take it
	 * again and run the statement once more (the store's statements run
	 * outside one are reads, or writes that may run twice). Not when the
	 * server stopped answering: that would wait once more.
	 */
	if (r == -ENOTCONN && outside && !m->down && (r = my_connect(m)) == 0)
		r = my_query(m, q, false, &s->res);
	free(q);
	if (r < 0)
		return r;
	m->txn_lost = false;
	s->ran = true;
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
	int r;

	if ((r = my_ready(m)) < 0 || (r = my_query(m, sql, true, NULL)) < 0)
		return r;
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

static bool my_given_up(struct sqldb *db)
{
	struct my *m = my(db);

	return m->down || m->probe != NULL || server_down(m->server);
}

static const char *my_errmsg(struct sqldb *db)
{
	return my(db)->err;
}

static void my_close(struct sqldb *db)
{
	struct my *m = my(db);

	/* A job still out (a statement given up on, a connection being made) ends on the worker. */
	sqldb_watch_free(m->watch); /* first: it may be using the pinger */
	sqldb_worker_free(m->worker);
	sqldb_worker_free(m->pinger);
	if (m->ping_conn)
		mysql_close(m->ping_conn);
	if (m->conn)
		mysql_close(m->conn);
	if (m->password)
		explicit_bzero(m->password, strlen(m->password));
	free(m->password);
	free(m->host);
	free(m->user);
	free(m->dbname);
	server_put(m->server);
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
        .given_up = my_given_up,
        .errmsg = my_errmsg,
        .close = my_close,
};

/* libmariadb's global set-up, once, before any thread calls into it. */
static pthread_once_t my_library_once = PTHREAD_ONCE_INIT;
static int my_library_failed;

static void my_library_init(void)
{
	my_library_failed = mysql_library_init(0, NULL, NULL);
}

int sqldb_mariadb_open(const char *url, const char *password, struct sqldb **out, char **cause)
{
	struct my *m;
	struct sqldb_url u;
	const char *why = NULL;
	int r;

	if ((r = pthread_once(&my_library_once, my_library_init)) != 0 || my_library_failed)
		return cause_set(cause, -EIO, "database: libmariadb cannot be initialised");
	if ((m = calloc(1, sizeof(*m))) == NULL)
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
	if ((m->server = server_get(m->base.name)) == NULL) {
		my_close(&m->base);
		return cause_set(cause, -ENOMEM, "database: out of memory");
	}
	if ((r = sqldb_worker_new(&m->worker)) < 0 || (r = sqldb_worker_new(&m->pinger)) < 0 ||
	        (r = sqldb_watch_new(my_alive, m, &m->watch)) < 0) {
		cause_set(cause, r, "database: cannot start its thread: %s", strerror(-r));
		my_close(&m->base);
		return r;
	}
	/* Opening is a start, not the loop: it waits as long as libmariadb's own timeouts. */
	sqldb_set_timeout(&m->base, (MY_CONNECT_TIMEOUT + MY_IO_TIMEOUT) * 1000);
	r = my_connect(m);
	sqldb_set_timeout(&m->base, 0);
	if (r < 0) {
		cause_set(cause, r, "%s: connect: %s", m->base.name, m->err);
		my_close(&m->base);
		return r;
	}
	*out = &m->base;
	return 0;
}
