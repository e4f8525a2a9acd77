#!/usr/bin/env bash
# stop.sh - stops exactly the MariaDB servers test/mariadb/start.sh started
# (pid + start time recorded), cleanly (SIGTERM, then SIGKILL after 30 s).
# The data stays; start.sh starts them again. --wipe also removes the data.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

[ "$(id -u)" -eq 0 ] || { echo "stop.sh: must run as root" >&2; exit 1; }
db_lock
# Galera: node 2 first, so node 1 leaves last and a later start can bootstrap from it.
for name in galera2 galera1 single; do
	pid=$(db_node_pid "$name") || continue
	kill -TERM "$pid" 2>/dev/null || continue
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	echo "[praas-mariadb] stopped $name (pid $pid)"
done
rm -f "$DB_PID_FILE" "$DB_ENV_FILE"
if [ "${1:-}" = --wipe ]; then
	rm -rf "$DB_STATE_DIR"
	echo "[praas-mariadb] data removed"
fi
exit 0
