#!/usr/bin/env bash
# The agents table (issue 12, item 4): two agents, one per simulated node,
# on the two Galera nodes, each hosting its replica of one router.
#   - GET /v1/agents, through either agent, lists both, alive, with their
#     host, version, the one router each hosts, and behind 0 once idle;
#   - kill -9 of agent B: within HEARTBEAT_DEAD_MS (30 s) plus a period, A
#     shows B dead and itself alive; B restarted is alive again, one row;
#   - `praas agent list` shows the same table.
# Skipped (77) without the loopback Galera cluster (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/nodes.sh"

# host:alive:routers:behind_ms of every agent, by host.
agents_summary() {
	python3 -c '
import json, sys
v = json.load(sys.stdin)["agents"]
print(" ".join("%s:%s:%d:%d" % (a["host"], str(a["alive"]).lower(), a["routers"], a["behind_ms"]) for a in v))'
}

nodes_db agag
nodes_router_pair
node_start a "$G1" || { topo_fail "agent A starts on Galera node 1"; topo_finish; }
node_start b "$G2" || { topo_fail "agent B starts on Galera node 2"; topo_finish; }

# A change through A, so B has something to follow.
on a
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a create through agent A" 201 "$API_STATUS"
# Behind: B's next heartbeat after it applied the change says 0 (within 2 periods).
on b
topo_wait 25 bash -c "curl -s -m 2 $AGENT_URL/v1/agents | grep -o '\"alive\":true,[^}]*\"behind_ms\":0}' | wc -l | grep -qx 2"
for n in a b; do
	on $n
	api GET /v1/agents
	assert_eq "GET /v1/agents through $n answers" 200 "$API_STATUS"
	assert_eq "through $n: both agents alive, one router each, none behind" \
		"node-a:true:1:0 node-b:true:1:0" "$(agents_summary <<<"$API_BODY")"
done
assert_eq "each agent's version and start time" "0 0" "$(python3 -c '
import json, sys
v = json.load(sys.stdin)["agents"]
print(sum(a["version"] == "" for a in v), sum(not a["started_at"].endswith("Z") for a in v))' <<<"$API_BODY")"
assert_eq "one row per agent in table agents" 2 "$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM agents')"

# B dies: A shows it dead once its heartbeat is older than 30 s.
kill -9 "${PID[b]}"
wait "${PID[b]}" 2>/dev/null
on a
topo_wait 45 bash -c "curl -s -m 2 $AGENT_URL/v1/agents | grep -q '\"host\":\"node-b\",[^}]*\"alive\":false'"
api GET /v1/agents
assert_eq "B killed: A alive, B dead" "node-a:true:1:0 node-b:false:1:0" \
	"$(agents_summary <<<"$API_BODY")"

# B back: alive again, in its one row.
node_start b "$G2" || topo_fail "agent B starts again"
api GET /v1/agents
assert_eq "B restarted: both alive again" "node-a:true:1:0 node-b:true:1:0" \
	"$(agents_summary <<<"$API_BODY")"
assert_eq "still one row per agent" 2 "$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM agents')"

# The CLI shows the same table.
out=$("$PRAAS_CLI" --url "$AGENT_URL" agent list -f value 2>&1)
assert_eq "praas agent list: both hosts, alive, one router each" \
	"node-a True 1 node-b True 1" "$(awk '{printf "%s%s %s %s", (NR > 1 ? " " : ""), $1, $2, $4}' <<<"$out")"

topo_finish
