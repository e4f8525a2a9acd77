#!/usr/bin/env bash
# The real praas-monitor-agent beside the real praas-pat-agent, standalone
# (no OpenStack: kernel checks only), second_monitoring = 0.5: whatever is
# done to a router's praas table by hand (the table deleted, flushed, one
# element deleted, a stray element added) is put back within one period,
# and traffic flows again. No resync is asked while nothing drifts, a
# router without forwardings is left alone, the monitor waits for a
# pat-agent that is down and reconnects, and SIGTERM ends it with 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init mdrift
topo_require nft python3 curl
topo_router r1
topo_router r2 # no forwardings: nothing to restore there
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1:22"
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"
R1=${TOPO[r1.uuid]}
GW=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
CLIENT=${TOPO[client.ip4]}
# One period (500 ms), plus what a look, a resync and the poll take: the
# repair must come at the first look after the damage, not a later one.
LIMIT_MS=${PRAAS_TEST_DRIFT_LIMIT_MS:-800}

agent_config # second_monitoring = 0.5 is its default
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
base=/v1/routers/$R1/port_forwardings
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "forwarding 4022 created" 201 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":80,\"external_port\":4080}}"
assert_eq "forwarding 4080 created" 201 "$API_STATUS"
assert_eq "traffic through 4022 before anything" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

# What the router's praas table holds, as nft lists it, map names aside (a
# big resync may switch generations) and elements one a line, sorted, so
# their order does not count. Empty when there is no table. No python here:
# the repair is timed with this, it must be quick.
shape() {
	topo_exec "$1" nft list table inet praas 2>/dev/null |
		sed -E 's/(dnat|masq)([46])[A-Za-z0-9_]*/\1\2/g; s/[{},]/\n/g' |
		sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; /^$/d' | sort
}
WANT=$(shape r1)
assert_match "the table holds both forwardings" "$GW . tcp . 4022 : $VM1 . 22" "$WANT"
assert_match "the table holds both forwardings" "$GW . tcp . 4080 : $VM1 . 80" "$WANT"
resyncs() { grep -c 'Control resync' "$AGENT_DIR/pat-agent.log"; }
ms() { date +%s%3N; }

monitor_start
topo_wait 5 grep -q 'reconcile:' "$AGENT_DIR/monitor.log" || topo_fail "the monitor runs a cycle" "$(tail -5 "$AGENT_DIR/monitor.log")"
assert_match "it says it runs standalone" 'standalone: kernel checks only' "$(cat "$AGENT_DIR/monitor.log")"

# --- nothing drifted: no resync across several periods (r2 has no forwardings)
before=$(resyncs)
sleep 2.5
assert_eq "no resync asked while nothing drifts (r2 without forwardings included)" "$before" "$(resyncs)"
assert_ok "several cycles ran meanwhile" test "$(grep -c 'reconcile:' "$AGENT_DIR/monitor.log")" -ge 4

# damage DESC CMD: do CMD in r1, then time the repair: the monitor must see
# the drift (its log says so) and the table must be back as it was.
drifts() { grep -c 'drifted' "$AGENT_DIR/monitor.log"; }
damage() {
	local desc=$1 t0 t1 took seen
	shift
	seen=$(drifts)
	t0=$(ms)
	topo_exec r1 "$@" || topo_fail "$desc: the damage itself ($*)"
	if topo_wait 5 same_shape_after "$seen"; then
		t1=$(ms)
		took=$((t1 - t0))
		echo "# $desc: repaired in $took ms"
		assert_ok "$desc: repaired within one period ($took ms <= $LIMIT_MS ms)" test "$took" -le "$LIMIT_MS"
	else
		topo_fail "$desc: repaired" "$(shape r1 | tr '\n' ' ') / $(tail -3 "$AGENT_DIR/monitor.log")"
	fi
	assert_eq "$desc: the monitor saw one drift" $((seen + 1)) "$(drifts)"
	assert_eq "$desc: traffic through 4022 again" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
	assert_eq "$desc: traffic through 4080 again" "$CLIENT vm1-80" "$(topo_tcp_query client "$GW" 4080)"
}
same_shape_after() { [[ $(drifts) -gt $1 ]] && same_shape; }
same_shape() { [[ $(shape r1) == "$WANT" ]]; }

damage "table deleted" nft delete table inet praas
damage "table flushed" nft flush table inet praas
damage "ruleset flushed" nft flush ruleset
map=$(topo_exec r1 nft -j list table inet praas | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if m and m["name"].startswith("dnat4") and m.get("elem"):
        print(m["name"]); break')
assert_match "the live IPv4 map is named" '^dnat4' "$map"
damage "one element deleted" nft delete element inet praas "$map" "{ $GW . tcp . 4080 }"
damage "a stray element added" nft add element inet praas "$map" "{ $GW . tcp . 4999 : 10.0.0.99 . 22 }"
# One transaction: the count stays right, only the target is wrong.
damage "one element retargeted" nft "delete element inet praas $map { $GW . tcp . 4080 }; add element inet praas $map { $GW . tcp . 4080 : 10.0.0.99 . 80 }"
assert_fails "the stray port 4999 leads nowhere now" topo_tcp_query client "$GW" 4999 1

# --- the monitor reports through the pat-agent: without it, nothing is repaired
agent_stop || topo_fail "the pat-agent stops cleanly"
topo_wait 5 grep -q 'Lost the pat-agent' "$AGENT_DIR/monitor.log" || topo_fail "the monitor notices the pat-agent left"
topo_exec r1 nft delete table inet praas
sleep 1.5
assert_eq "nothing writes the table while the pat-agent is down (the monitor never does)" "" "$(shape r1)"
assert_ok "the monitor still runs" kill -0 "$MONITOR_PID"
# The pat-agent's start rebuilds its namespaces itself; damage again after.
agent_start || topo_fail "the pat-agent restarts"
topo_wait 5 same_shape || topo_fail "the pat-agent's start rebuilt r1"
topo_wait 10 sh -c "[ \$(grep -c 'Connected to the pat-agent' '$AGENT_DIR/monitor.log') -ge 2 ]" ||
	topo_fail "the monitor reconnected" "$(tail -5 "$AGENT_DIR/monitor.log")"
damage "table deleted after the pat-agent came back" nft delete table inet praas

# --- the forwardings follow the API, not a stale look: a delete is not undone
api GET "$base"
id80=$(python3 -c 'import json,sys; print([f["id"] for f in json.loads(sys.argv[1])["port_forwardings"] if f["external_port"] == 4080][0])' "$API_BODY")
api DELETE "$base/$id80"
assert_eq "4080 deleted through the API" 204 "$API_STATUS"
sleep 1.5
assert_ok "the monitor did not bring 4080 back" test -z "$(shape r1 | grep 'tcp . 4080')"
assert_match "and 4022 is still there" 'tcp . 4022' "$(shape r1)"

# --- SIGTERM
monitor_stop
rc=$?
assert_eq "SIGTERM: the monitor exits 0" 0 "$rc"
assert_match "and says so" 'Stopped' "$(tail -2 "$AGENT_DIR/monitor.log")"
agent_stop || topo_fail "the pat-agent exits 0"
if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR"/*.log; then
	topo_fail "no sanitizer report in the agents' logs"
fi
topo_finish
