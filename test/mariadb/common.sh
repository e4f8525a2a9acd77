# shellcheck shell=bash disable=SC2034
# common.sh - names, paths and helpers shared by start.sh and stop.sh.
# Sourced, never run. Everything here belongs to PRaaS's own loopback
# MariaDB: its own directories, sockets and ports (not 3306/4567), so it
# never meets a MariaDB the machine runs for something else.

: "${PRAAS_DB_PORT:=23306}"     # the single server
: "${PRAAS_GALERA_PORT1:=23307}" # Galera node 1 (SQL)
: "${PRAAS_GALERA_PORT2:=23308}" # Galera node 2 (SQL)
: "${PRAAS_GALERA_BASE:=24567}" # node n: gcomm BASE+n-1, IST BASE+2+n-1, SST BASE+4+n-1
: "${PRAAS_DB_USER:=praas}"
: "${PRAAS_DB_PASSWORD:=praas-test}"

DB_HOST=127.0.0.1
if [ -n "${PRAAS_DB_DIR:-}" ]; then
	# A private instance (tools/lab's): data, logs, sockets, pids, env and
	# lock all under one directory of its own, which the mysql user must be
	# able to reach, so that it never meets the tests' instance.
	DB_STATE_DIR=$PRAAS_DB_DIR/data
	DB_LOG_DIR=$PRAAS_DB_DIR/log
	DB_RUN_DIR=$PRAAS_DB_DIR/run
	DB_LOCK=$PRAAS_DB_DIR/lock
else
	DB_STATE_DIR=/var/lib/praas-mariadb
	DB_LOG_DIR=/var/log/praas-mariadb
	DB_RUN_DIR=/run/praas-mariadb
	DB_LOCK=/run/lock/praas-mariadb.lock
fi
DB_PID_FILE=$DB_RUN_DIR/pids
# What the tests read: PRAAS_TEST_MARIADB_URL and PRAAS_TEST_GALERA_URL1/2
# (each ending in '/': a test appends its own database's name).
DB_ENV_FILE=$DB_RUN_DIR/env
# The nodes: name, SQL port.
DB_NODES="single:$PRAAS_DB_PORT galera1:$PRAAS_GALERA_PORT1 galera2:$PRAAS_GALERA_PORT2"

db_lock() {
	mkdir -p "$(dirname "$DB_LOCK")"
	exec 8>"$DB_LOCK"
	flock 8
}

db_sock() { echo "$DB_RUN_DIR/$1.sock"; }

# proc_start PID: its start time (test/lib/proc.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/proc.sh"

# The recorded pid of node $1 if that process still runs.
db_node_pid() {
	local name pid st
	[ -s "$DB_PID_FILE" ] || return 1
	while read -r name pid st; do
		[ "$name" = "$1" ] || continue
		[ "$(proc_start "$pid" 2>/dev/null)" = "$st" ] && { echo "$pid"; return 0; }
	done <"$DB_PID_FILE"
	return 1
}

db_ping() { mariadb-admin --no-defaults -uroot -S "$(db_sock "$1")" --connect-timeout=2 ping >/dev/null 2>&1 8>&-; }
