# shellcheck shell=bash
# mariadb.sh: a database of the test's own on the loopback MariaDB of
# test/mariadb/start.sh (its URL from $PRAAS_TEST_MARIADB_URL or that
# script's env file). Source after topo.sh.
#
#   mariadb_test_db PREFIX TOPO_NAME   skip (77) unless that MariaDB runs;
#                      topo_init TOPO_NAME; sets db_user, db_pass, db_host,
#                      db_port and db_name (PREFIX + pid + random), creates
#                      the database and drops it at exit
#   mariadb_split_url URL   db_user, db_pass, db_host, db_port from
#                      mysql://USER:PASSWORD@HOST:PORT/
#   sql [ARGS]         the mariadb client as that user (-N -B)
#   mariadb_relay_up   a TCP relay (socat, its own process group) to that
#                      MariaDB on 127.0.0.1:$relay_port, so a test can take
#                      the database from its own agent alone; stopped at exit
#   mariadb_relay_down   the relay ended: every connection refused, closed
#   mariadb_relay_stall  the relay stopped (SIGSTOP): a black hole, nothing
#                      refused, nothing answered
#   mariadb_relay_resume its end (SIGCONT)

mariadb_test_db() { # PREFIX TOPO_NAME
	local env_file=/run/praas-mariadb/env url
	url=${PRAAS_TEST_MARIADB_URL:-$(sed -n 's/^PRAAS_TEST_MARIADB_URL=//p' "$env_file" 2>/dev/null)}
	[[ -n $url ]] || topo_skip "the loopback MariaDB is not running (sudo test/mariadb/start.sh)"
	mariadb_split_url "$url"
	db_name=$1$$_$RANDOM
	topo_init "$2"
	sql praas_admin -e "CREATE DATABASE $db_name" || topo_fail "create database $db_name"
	topo_on_exit "MYSQL_PWD='$db_pass' mariadb --no-defaults -h $db_host -P $db_port -u $db_user praas_admin -e 'DROP DATABASE IF EXISTS $db_name' || true"
}

# mysql://USER:PASSWORD@HOST:PORT/ into db_user, db_pass, db_host, db_port
# (also tools/lab's, with the lab's database).
mariadb_split_url() {
	local rest=${1#mysql://} hostport
	db_user=${rest%%:*}
	db_pass=${rest#*:}
	db_pass=${db_pass%@*}
	hostport=${rest##*@}
	hostport=${hostport%/}
	db_host=${hostport%:*}
	db_port=${hostport##*:}
}

sql() {
	MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" -N -B "$@"
}

# The test's database password in a file only root reads (the agent's
# database_password_file); its path in DB_PASSWORD_FILE.
mariadb_password_file() {
	DB_PASSWORD_FILE=$TOPO_DIR/db-password
	(umask 077 && printf '%s\n' "$db_pass" >"$DB_PASSWORD_FILE") ||
		topo_fail "the database password file"
}

# A relay of lib/ (delay-relay.py, commit-relay.py: LISTEN_PORT TARGET_PORT
# CONTROL_FILE) listening on a free port, in SCRIPT_RELAY_PORT; killed at exit.
mariadb_script_relay() { # SCRIPT TARGET_PORT CONTROL_FILE
	local pid
	SCRIPT_RELAY_PORT=$(agent__free_port) || topo_fail "a free port for $1"
	python3 "$(dirname "${BASH_SOURCE[0]}")/$1" "$SCRIPT_RELAY_PORT" "$2" "$3" \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	topo_on_exit "kill $pid 2>/dev/null || true"
	topo_wait 5 bash -c "ss -Htln 'sport = :$SCRIPT_RELAY_PORT' | grep -q ." ||
		topo_fail "$1 listens"
}

RELAY_PID=
relay_port=
mariadb_relay_up() {
	[[ -n $relay_port ]] || relay_port=$(agent__free_port) || topo_fail "a free port for the relay"
	if [[ -z ${RELAY__TRAPPED:-} ]]; then
		RELAY__TRAPPED=1
		topo_on_exit '[[ -z $RELAY_PID ]] || kill -KILL -- "-$RELAY_PID" 2>/dev/null || true'
	fi
	setsid socat "TCP-LISTEN:$relay_port,bind=127.0.0.1,reuseaddr,fork" \
		"TCP:$db_host:$db_port" </dev/null >/dev/null 2>&1 &
	RELAY_PID=$!
	topo_wait 5 bash -c "ss -Htln 'sport = :$relay_port' | grep -q ."
}

mariadb_relay_down() {
	kill -TERM -- "-$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
}

mariadb_relay_stall() {
	kill -STOP -- "-$RELAY_PID"
}

mariadb_relay_resume() {
	kill -CONT -- "-$RELAY_PID"
}
