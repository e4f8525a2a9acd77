#!/usr/bin/env bash
# start.sh - install (if needed), configure and start PRaaS's loopback
# MariaDB for the tests: one server, and a two-node Galera cluster, each
# with a private data directory, socket and port on 127.0.0.1 only.
#
#   single   mysql://praas:PASSWORD@127.0.0.1:$PRAAS_DB_PORT/      (23306)
#   galera1  mysql://praas:PASSWORD@127.0.0.1:$PRAAS_GALERA_PORT1/ (23307)
#   galera2  mysql://praas:PASSWORD@127.0.0.1:$PRAAS_GALERA_PORT2/ (23308)
#
# User praas may create and drop databases named praas_*; each test makes
# its own, connected to the empty praas_admin meanwhile. Writes /run/praas-mariadb/env (PRAAS_TEST_MARIADB_URL,
# PRAAS_TEST_GALERA_URL1, PRAAS_TEST_GALERA_URL2) for the tests to source.
# Idempotent: run again while up, it only checks; after stop.sh it starts
# again with the same data. stop.sh stops exactly what this started.
#
# PRAAS_DB_DIR=DIR: a private instance, everything under DIR (common.sh).
# Options: --no-galera  the single server only
#          --no-install never call apt-get; fail if a package is missing
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

# mariadb-server: the server; galera-4: the replication provider;
# mariadb-backup + socat: Galera's state transfer to a joining node (rsync's failed here).
PACKAGES="mariadb-server mariadb-client galera-4 mariadb-backup socat"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8

GALERA=1 NO_INSTALL=0
for a in "$@"; do
	case "$a" in
	--no-galera) GALERA=0 ;;
	--no-install) NO_INSTALL=1 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "start.sh: unknown option: $a" >&2; exit 2 ;;
	esac
done

log() { printf '[praas-mariadb %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[praas-mariadb] ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, data directories)"

pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# The packages' maintainer scripts must not start the machine's own MariaDB
# on 3306: a policy-rc.d that denies is put in place for the install unless
# one already denies (Docker's does).
install_packages() {
	local missing="" p policy=/usr/sbin/policy-rc.d ours=0 rc=0
	for p in $PACKAGES; do pkg_installed "$p" || missing="$missing $p"; done
	[ -n "$missing" ] || return 0
	[ "$NO_INSTALL" -eq 0 ] || die "missing packages:$missing (and --no-install given)"
	mkdir -p "$DB_LOG_DIR"
	log "installing:$missing"
	if [ -x "$policy" ]; then "$policy" mariadb start >/dev/null 2>&1 || rc=$?; fi
	if [ "$rc" -ne 101 ]; then
		[ ! -e "$policy" ] || mv "$policy" "$policy.praas-saved"
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing \
		>"$DB_LOG_DIR/apt.log" 2>&1 || rc=$?
	if [ "$ours" -eq 1 ]; then
		rm -f "$policy"
		[ ! -e "$policy.praas-saved" ] || mv "$policy.praas-saved" "$policy"
	fi
	[ "$rc" -eq 0 ] || [ "$rc" -eq 101 ] || { tail -n 30 "$DB_LOG_DIR/apt.log" >&2; die "apt-get install failed"; }
}

# The configuration of node $1 (SQL port $2). Galera node n's ports follow
# PRAAS_GALERA_BASE so that both nodes know each other's.
write_conf() {
	local name=$1 port=$2 n g1 g2
	cat >"$DB_STATE_DIR/$name.cnf" <<CNF
[mariadbd]
datadir = $DB_STATE_DIR/$name
socket = $(db_sock "$name")
port = $port
bind-address = $DB_HOST
log-error = $DB_LOG_DIR/$name.err
skip-name-resolve
performance_schema = OFF
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
max_connections = 300
character_set_server = utf8mb4
collation_server = utf8mb4_bin
CNF
	case "$name" in galera*) ;; *) return 0 ;; esac
	n=${name#galera}
	g1=$PRAAS_GALERA_BASE g2=$((PRAAS_GALERA_BASE + 1))
	cat >>"$DB_STATE_DIR/$name.cnf" <<CNF
binlog_format = ROW
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name = praas-test
wsrep_cluster_address = gcomm://$DB_HOST:$g1,$DB_HOST:$g2
wsrep_node_name = $name
wsrep_node_address = $DB_HOST
wsrep_provider_options = "gmcast.listen_addr=tcp://$DB_HOST:$((PRAAS_GALERA_BASE + n - 1));ist.recv_addr=$DB_HOST:$((PRAAS_GALERA_BASE + 2 + n - 1));gcache.size=32M"
wsrep_sst_receive_address = $DB_HOST:$((PRAAS_GALERA_BASE + 4 + n - 1))
wsrep_sst_method = mariabackup
wsrep_sst_auth = praas_sst:praas_sst
CNF
}

init_datadir() {
	local dir=$DB_STATE_DIR/$1
	[ -d "$dir/mysql" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	chown mysql:mysql "$dir"
	mariadb-install-db --no-defaults --datadir="$dir" --user=mysql --skip-test-db \
		--auth-root-authentication-method=socket >"$DB_LOG_DIR/$1.install.log" 2>&1 ||
		die "mariadb-install-db $1 failed; see $DB_LOG_DIR/$1.install.log"
}

sql() { # node sql...
	local name=$1
	shift
	mariadb --no-defaults -uroot -S "$(db_sock "$name")" -N -B -e "$*"
}

# Starts node $1 (extra mariadbd options after it) unless it runs; waits for it.
start_node() {
	local name=$1 pid st i
	shift
	if db_node_pid "$name" >/dev/null; then
		db_ping "$name" || die "$name runs but does not answer; see $DB_LOG_DIR/$name.err"
		return 0
	fi
	setsid mariadbd --defaults-file="$DB_STATE_DIR/$name.cnf" --user=mysql "$@" \
		</dev/null >>"$DB_LOG_DIR/$name.out" 2>&1 8>&- &
	pid=$!
	st=$(proc_start "$pid") || die "$name died at once; see $DB_LOG_DIR/$name.err"
	echo "$name $pid $st" >>"$DB_PID_FILE"
	# A joining Galera node first receives the donor's whole state.
	for i in $(seq 1200); do
		db_ping "$name" && { log "$name up (pid $pid, $((i / 10)) s)"; return 0; }
		kill -0 "$pid" 2>/dev/null || die "$name exited; see $DB_LOG_DIR/$name.err"
		sleep 0.1
	done
	die "$name did not answer within 120 s; see $DB_LOG_DIR/$name.err"
}

create_users() {
	local name=$1 extra=${2:-}
	sql "$name" "CREATE USER IF NOT EXISTS '$PRAAS_DB_USER'@'$DB_HOST' IDENTIFIED BY '$PRAAS_DB_PASSWORD';
		GRANT ALL PRIVILEGES ON \`praas%\`.* TO '$PRAAS_DB_USER'@'$DB_HOST';
		CREATE DATABASE IF NOT EXISTS praas_admin; $extra"
}

wait_synced() {
	local i
	for i in $(seq 600); do
		[ "$(sql "$1" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)" = Synced ] && return 0
		sleep 0.1
	done
	die "$1 did not reach Synced; see $DB_LOG_DIR/$1.err"
}

db_lock
install_packages
mkdir -p "$DB_STATE_DIR" "$DB_LOG_DIR" "$DB_RUN_DIR"
chown mysql:mysql "$DB_LOG_DIR" "$DB_RUN_DIR"
chmod 755 "$DB_RUN_DIR"

write_conf single "$PRAAS_DB_PORT"
init_datadir single
start_node single
create_users single

if [ "$GALERA" -eq 1 ]; then
	write_conf galera1 "$PRAAS_GALERA_PORT1"
	write_conf galera2 "$PRAAS_GALERA_PORT2"
	init_datadir galera1
	init_datadir galera2
	if ! db_node_pid galera1 >/dev/null; then
		if db_node_pid galera2 >/dev/null; then
			start_node galera1 # joins the running node 2
		else
			# A test cluster: whichever way it stopped, node 1 may bootstrap it.
			[ ! -f "$DB_STATE_DIR/galera1/grastate.dat" ] ||
				sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' \
					"$DB_STATE_DIR/galera1/grastate.dat"
			start_node galera1 --wsrep-new-cluster
		fi
	fi
	create_users galera1 "CREATE USER IF NOT EXISTS 'praas_sst'@'localhost' IDENTIFIED BY 'praas_sst';
		GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'praas_sst'@'localhost';"
	start_node galera2
	wait_synced galera2
	[ "$(sql galera1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)" = 2 ] ||
		die "the Galera cluster does not have 2 nodes"
fi

url() { echo "mysql://$PRAAS_DB_USER:$PRAAS_DB_PASSWORD@$DB_HOST:$1/"; }
{
	echo "PRAAS_TEST_MARIADB_URL=$(url "$PRAAS_DB_PORT")"
	if [ "$GALERA" -eq 1 ]; then
		echo "PRAAS_TEST_GALERA_URL1=$(url "$PRAAS_GALERA_PORT1")"
		echo "PRAAS_TEST_GALERA_URL2=$(url "$PRAAS_GALERA_PORT2")"
	fi
} >"$DB_ENV_FILE.tmp"
mv "$DB_ENV_FILE.tmp" "$DB_ENV_FILE"
log "ready: $(tr '\n' ' ' <"$DB_ENV_FILE")"
