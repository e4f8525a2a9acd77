#!/usr/bin/env bash
# stop.sh - stop PRaaS's loopback OpenStack started by start.sh.
#
# Signals only the processes start.sh recorded in /run/praas-openstack/pids
# (by pid, after checking the pid still is the same process by its start
# time), plus the children those had when the stop began (uwsgi worker,
# neutron's rpc and periodic workers). Nothing is matched by name, so
# another OpenStack on this machine is never touched. Data, config and logs
# are kept; `start.sh --fresh` wipes them.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

case "${1:-}" in
-h | --help)
	sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [-h]" >&2
	exit 2
	;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "stop.sh: must run as root" >&2
	exit 1
fi

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

os_lock
if [ ! -s "$OS_PID_FILE" ]; then
	echo "stop.sh: no pid file ($OS_PID_FILE): nothing to stop"
	exit 0
fi

echo "Stopping PRaaS loopback OpenStack:"
# reverse start order: neutron-server, keystone, then the database
# (PostgreSQL: SIGINT is its "fast" shutdown)
tac "$OS_PID_FILE" | while read -r name pid st; do
	[ -n "${pid:-}" ] || continue
	case "$name" in
	postgresql) stop_one "$name" "$pid" "$st" INT ;;
	*) stop_one "$name" "$pid" "$st" TERM ;;
	esac
done

left=0
while read -r name pid st; do
	[ -n "${pid:-}" ] || continue
	if proc_alive "$pid" "$st"; then
		echo "  $name (pid $pid) is still running" >&2
		left=1
	fi
done <"$OS_PID_FILE"
[ "$left" -eq 0 ] || exit 1

# the exited services stay zombies until init reaps them; wait a moment so
# that a `ps` right after this shows nothing of them
for _ in $(seq 1 50); do
	z=0
	while read -r name pid st; do
		if [ -n "${pid:-}" ] && [ -e "/proc/$pid" ] && [ "$(proc_start "$pid" || true)" = "" ]; then z=1; fi
	done <"$OS_PID_FILE"
	[ "$z" -eq 1 ] || break
	sleep 0.1
done
rm -f "$OS_PID_FILE"
echo "All stopped."
