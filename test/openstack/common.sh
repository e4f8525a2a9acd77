# shellcheck shell=bash disable=SC2034
# common.sh - names, paths and helpers shared by start.sh, stop.sh and
# run-tests.sh. Sourced, never run. Everything here belongs to PRaaS's own
# loopback OpenStack: its own directories, its own ports (chosen so they do
# not collide with the usual 5000/9696 of another instance on this machine).

: "${PRAAS_OS_KEYSTONE_PORT:=25000}"
: "${PRAAS_OS_NEUTRON_PORT:=29696}"
: "${PRAAS_OS_RABBIT_PORT:=25680}" # AMQP; +1 Erlang distribution, +2 its epmd
: "${PRAAS_OS_REGION:=RegionOne}"
: "${PRAAS_OS_ADMIN_PASSWORD:=admin}"
: "${PRAAS_OS_DEMO_PASSWORD:=demo}"
: "${PRAAS_OS_ALT_PASSWORD:=alt_demo}"

OS_HOST=127.0.0.1
OS_CONF_DIR=/etc/praas-openstack
OS_STATE_DIR=/var/lib/praas-openstack
OS_LOG_DIR=/var/log/praas-openstack
OS_RUN_DIR=/run/praas-openstack
OS_PID_FILE=$OS_RUN_DIR/pids
OS_PGDATA=$OS_STATE_DIR/pgdata
# PostgreSQL listens on a unix socket in our run directory only: no TCP port,
# so it cannot collide with any other cluster on this machine.
OS_PGSOCK=$OS_RUN_DIR/pg
OS_PG_PORT=5432
OS_KS_URL=http://$OS_HOST:$PRAAS_OS_KEYSTONE_PORT/v3
OS_NEUTRON_URL=http://$OS_HOST:$PRAAS_OS_NEUTRON_PORT
OS_CLOUDS_YAML=$OS_CONF_DIR/clouds.yaml
# RabbitMQ: Neutron's RPC and notifications bus (node praas-os@localhost,
# data and logs in its directory, owned by the rabbitmq user). rabbit.env
# (root only) holds the URLs tests use: PRAAS_OS_RABBIT_URL (user praas,
# the permissions docs/operator-guide.md asks for) and
# PRAAS_OS_RABBIT_ADMIN_URL (user openstack, Neutron's).
OS_RABBIT_DIR=$OS_STATE_DIR/rabbitmq
OS_RABBIT_NODE=praas-os
OS_RABBIT_ENV=$OS_CONF_DIR/rabbit.env
# The recorded services: postgresql rabbitmq epmd keystone neutron-server
OS_SERVICES=5
# start.sh and stop.sh hold this lock (exclusive) while they work, so that
# two callers (parallel test runs, two developers) never interleave.
OS_LOCK=/run/lock/praas-openstack.lock
# run-tests.sh holds this one shared while its tests run; the last one to
# leave stops the OpenStack if a run-tests.sh started it (marker file).
OS_USERS_LOCK=/run/lock/praas-openstack.users
OS_STARTED_MARK=/run/lock/praas-openstack.started-by-run-tests

# proc_start PID: its start time (test/lib/proc.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/proc.sh"

proc_alive() { # pid starttime
	local st
	st=$(proc_start "$1") || return 1
	[ "$st" = "$2" ]
}

# True if any process recorded in the pid file still runs.
os_any_recorded_alive() {
	local pid st
	[ -s "$OS_PID_FILE" ] || return 1
	while read -r _ pid st; do
		[ -n "${pid:-}" ] || continue
		if proc_alive "$pid" "$st"; then return 0; fi
	done <"$OS_PID_FILE"
	return 1
}

# True if the pid file records NAME and that process runs.
os_recorded_alive() { # name
	local name pid st
	[ -s "$OS_PID_FILE" ] || return 1
	while read -r name pid st; do
		[ "$name" = "$1" ] || continue
		proc_alive "$pid" "$st" && return 0
	done <"$OS_PID_FILE"
	return 1
}

# True if the pid file names exactly the services and all run.
os_all_recorded_alive() {
	local pid st n=0
	[ -s "$OS_PID_FILE" ] || return 1
	while read -r _ pid st; do
		[ -n "${pid:-}" ] || continue
		proc_alive "$pid" "$st" || return 1
		n=$((n + 1))
	done <"$OS_PID_FILE"
	[ "$n" -eq "$OS_SERVICES" ]
}

# Takes the start/stop lock on fd 9 (waits up to 15 min: a first install
# takes minutes). A script run by the holder (start.sh calling stop.sh)
# sees PRAAS_OS_LOCKED=1 and does not lock again.
os_lock() {
	[ "${PRAAS_OS_LOCKED:-0}" != 1 ] || return 0
	mkdir -p "$(dirname "$OS_LOCK")"
	exec 9>>"$OS_LOCK"
	if ! flock -n 9; then
		echo "[praas-openstack] waiting for another start.sh/stop.sh to finish ($OS_LOCK)" >&2
		flock -w 900 9 || {
			echo "[praas-openstack] ERROR: $OS_LOCK still held after 15 min" >&2
			exit 1
		}
	fi
	export PRAAS_OS_LOCKED=1
}

http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" 2>/dev/null || true
}

# Who listens on 127.0.0.1:PORT (or 0.0.0.0 / ::), as ss prints it; empty if
# nobody does.
port_listener() {
	ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1
}

wait_gone() { # pid starttime seconds
	local i=0 n=$(($3 * 10))
	while proc_alive "$1" "$2"; do
		i=$((i + 1))
		[ "$i" -lt "$n" ] || return 1
		sleep 0.1
	done
}

children_of() { # pid -> "pid starttime" lines
	local c st
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		if st=$(proc_start "$c"); then echo "$c $st"; fi
	done
}

stop_one() { # name pid starttime signal
	local name=$1 pid=$2 st=$3 sig=$4 kids c cst
	if ! proc_alive "$pid" "$st"; then
		echo "  $name (pid $pid): not running"
		return 0
	fi
	kids=$(children_of "$pid")
	echo "  $name (pid $pid): SIG$sig"
	kill -s "$sig" "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$st" 30; then
		echo "  $name (pid $pid): still running after 30 s, SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" "$st" 10 || echo "  $name (pid $pid): could not be killed" >&2
	fi
	# children normally leave with their parent; end those that did not
	while read -r c cst; do
		[ -n "${c:-}" ] || continue
		wait_gone "$c" "$cst" 10 && continue
		echo "  $name child (pid $c): still running, SIGTERM"
		kill -s TERM "$c" 2>/dev/null || true
		wait_gone "$c" "$cst" 10 && continue
		kill -s KILL "$c" 2>/dev/null || true
		wait_gone "$c" "$cst" 5 || echo "  $name child (pid $c): could not be killed" >&2
	done <<<"$kids"
}
