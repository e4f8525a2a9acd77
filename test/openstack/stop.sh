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

os_lock
if [ ! -s "$OS_PID_FILE" ]; then
	echo "stop.sh: no pid file ($OS_PID_FILE): nothing to stop"
	exit 0
fi

echo "Stopping PRaaS loopback OpenStack:"
# reverse start order: neutron-server, keystone, RabbitMQ (SIGTERM is its
# orderly shutdown), the epmd it started, then the database
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
