# shellcheck shell=bash
# many.sh: a router with thousands of forwardings, fast.
#
# Source after topo.sh and agent.sh, with a router R and a VM on it.
#
#   many_forwardings N ROUTER_UUID GW4 VM4
#       starts the agent once (so its database has the current schema),
#       stops it, writes N TCP forwardings (external ports 10000.., internal
#       ports 1..N on VM4) straight into its SQLite database, and starts it
#       again: the agent restores them into the router's nft maps. Creating
#       10,000 through the API would take minutes; the agent's restart from
#       its database is the path every reboot takes.
#   agent_rss_kib      the running agent's VmRSS, in KiB (from /proc)

many_forwardings() {
	local n=$1 router=$2 gw=$3 vm=$4
	agent_start || return 1
	agent_stop || return 1
	python3 - "$AGENT_DIR/praas.db" "$n" "$router" "$gw" "$vm" <<'PY' || return 1
import sqlite3, sys, time, uuid
db, n, router, gw, vm = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
now = int(time.time())
c = sqlite3.connect(db)
c.executemany(
    "INSERT INTO forwardings (id, router_id, project_id, external_address, protocol,"
    " external_port_lo, external_port_hi, internal_address, internal_port_lo,"
    " internal_port_hi, internal_port_id, masquerade, description, status, created_at,"
    " updated_at) VALUES (?, ?, '', ?, 6, ?, ?, ?, ?, ?, '', 0, '', 'DOWN', ?, ?)",
    ((str(uuid.uuid4()), router, gw, 10000 + i, 10000 + i, vm, 1 + i, 1 + i, now, now)
     for i in range(n)))
c.commit()
c.close()
PY
	agent_start
}

agent_rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status"
}
