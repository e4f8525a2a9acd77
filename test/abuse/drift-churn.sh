#!/usr/bin/env bash
# Issue 10, defect 11: under churn the monitor reports no false drift. Both
# real agents, standalone, second_monitoring = 0.5; three routers with 1,000
# forwardings each; for ~30 s a client creates and deletes forwardings on
# all three through the REST API as fast as the agent answers. Every
# "drifted" line in the monitor's log is a report (and a whole-table
# rewrite on the agent's loop): none may come from the churn. One real
# drift (a stray element) is planted in the middle: it must be reported
# and repaired all the same, so the test cannot pass by never reporting.
# Interrupted kernel reads are read again, never skipped ("Failed to read").
# Before the fix: false reports in most cycles.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init dchurn
topo_require nft python3 curl
PER_ROUTER=${PRAAS_TEST_CHURN_FORWARDINGS:-1000}
CHURN_S=${PRAAS_TEST_CHURN_SECONDS:-30}
for r in r1 r2 r3; do
	topo_router $r
	topo_vm "vm${r#r}" $r
done
topo_outside client r2
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2:22"

agent_config
agent_start || {
	topo_fail "agent starts"
	topo_finish
}

# http.client keeps one connection: curl per request would be the bottleneck.
cat >"$TOPO_DIR/rest.py" <<'EOF'
import http.client, json, sys, time
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
def call(method, path, body=None):
    conn.request(method, path, json.dumps(body) if body else None,
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)
def create(router, ip, iport, eport):
    return call("POST", "/v1/routers/%s/port_forwardings" % router,
                {"port_forwarding": {"internal_ip_address": ip, "internal_port": iport,
                                     "external_port": eport, "protocol": "tcp"}})
if sys.argv[2] == "fill":  # fill ROUTER IP N: ports 20000.. -> 10000..
    router, ip, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
    for i in range(n):
        s, b = create(router, ip, 10000 + i, 20000 + i)
        if s != 201:
            sys.exit("create %d: %d %s" % (i, s, b))
    print("created", n)
elif sys.argv[2] == "churn":  # churn SECONDS ROUTER=IP...: create, then delete the oldest of 20
    secs = float(sys.argv[3])
    targets = [a.split("=") for a in sys.argv[4:]]
    alive, ops, k, fails = [], 0, 0, 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        router, ip = targets[k % len(targets)]
        s, b = create(router, ip, 30000 + k % 5000, 30000 + k % 5000)
        ops += 1
        if s == 201:
            alive.append((router, b["port_forwarding"]["id"]))
        else:
            fails += 1
        k += 1
        if len(alive) > 20:
            router, fid = alive.pop(0)
            s, _ = call("DELETE", "/v1/routers/%s/port_forwardings/%s" % (router, fid))
            ops += 1
            fails += s != 204
    for router, fid in alive:
        s, _ = call("DELETE", "/v1/routers/%s/port_forwardings/%s" % (router, fid))
        fails += s != 204
    print("ops %d fails %d seconds %.1f" % (ops, fails, secs))
EOF
rest() { python3 "$TOPO_DIR/rest.py" "$AGENT_PORT" "$@"; }

for r in r1 r2 r3; do
	out=$(rest fill "${TOPO[$r.uuid]}" "${TOPO[vm${r#r}.ip4]}" "$PER_ROUTER" 2>&1)
	assert_eq "$PER_ROUTER forwardings on $r" "created $PER_ROUTER" "$out"
done
R2=${TOPO[r2.uuid]}
GW2=${TOPO[r2.gw4]}
VM2=${TOPO[vm2.ip4]}
CLIENT=${TOPO[client.ip4]}
# r2's last forwarding, 20000+N-1 -> 10000+N-1; and one to the service.
api POST "/v1/routers/$R2/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a forwarding to vm2's service" 201 "$API_STATUS"

# Elements of a router's live IPv4 map, and whether port P is among them.
elements() { praas_elements "$1" dnat4; }
has_port() { topo_exec "$1" nft list table inet praas | grep -q "tcp . $2 :"; }

monitor_start
topo_wait 10 grep -q 'reconcile:' "$AGENT_DIR/monitor.log" || topo_fail "the monitor runs a cycle"
sleep 2
drifted() { grep -c 'drifted' "$AGENT_DIR/monitor.log"; }
cycles() { grep -c 'reconcile:' "$AGENT_DIR/monitor.log"; }
assert_eq "no drift reported before the churn" 0 "$(drifted)"

# --- the churn, with one real drift planted half way
c0=$(cycles)
d0=$(drifted)
rest churn "$CHURN_S" "${TOPO[r1.uuid]}=${TOPO[vm1.ip4]}" "$R2=$VM2" "${TOPO[r3.uuid]}=${TOPO[vm3.ip4]}" >"$TOPO_DIR/churn.out" 2>&1 &
churn=$!
sleep "$((CHURN_S / 2))"
map=$(topo_exec r2 nft -j list table inet praas | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if m and m["name"].startswith("dnat4"):
        print(m["name"]); break')
planted_at=$(date +%s%3N)
topo_exec r2 nft add element inet praas "$map" "{ $GW2 . tcp . 4999 : 10.0.0.99 . 22 }" ||
	topo_fail "plant a stray element in r2"
if topo_wait 5 sh -c "! ip netns exec $(topo__ns r2) nft list table inet praas | grep -q 'tcp . 4999 :'"; then
	echo "figure: planted_drift_repaired_under_churn $(($(date +%s%3N) - planted_at)) ms"
else
	topo_fail "the planted drift is repaired under churn"
fi
wait "$churn"
churn_out=$(cat "$TOPO_DIR/churn.out")
sleep 1.5 # the last cycles see the last deletes
c1=$(cycles)
d1=$(drifted)
echo "# churn: $churn_out"
assert_match "the churn ran without errors" '^ops [0-9]+ fails 0 ' "$churn_out"
ops=$(echo "$churn_out" | awk '{print $2}')
real=$(tail -n +1 "$AGENT_DIR/monitor.log" | grep 'drifted' | grep -c "4999")
reports=$((d1 - d0))
false_reports=$((reports - real))
n_cycles=$((c1 - c0))
assert_eq "the planted drift was reported once" 1 "$real"
assert_eq "no false drift report under churn ($reports reports in $n_cycles cycles, $real planted)" 0 "$false_reports"
assert_ok "the monitor kept cycling under churn ($n_cycles cycles)" test "$n_cycles" -ge "$((CHURN_S))"
assert_eq "no kernel read skipped (interrupted reads are read again)" 0 "$(grep -c 'Failed to read the table' "$AGENT_DIR/monitor.log")"
echo "figure: churn_rest_ops_per_second $(awk -v o="$ops" -v s="$CHURN_S" 'BEGIN{printf "%.0f", o/s}') ops/s"
echo "figure: monitor_cycles_under_churn $n_cycles cycles"
cleared=$(grep 'reconcile:' "$AGENT_DIR/monitor.log" | tail -1 | sed -nE 's/.* ([0-9]+) suspects cleared.*/\1/p')
echo "figure: monitor_suspects_cleared_by_the_agent ${cleared:-unknown} suspects"
echo "figure: false_drift_reports_per_cycle_under_churn $(awk -v f="$false_reports" -v c="$n_cycles" 'BEGIN{printf "%.3f", c ? f/c : f}') reports/cycle"

# --- after the churn: every table holds exactly its forwardings
for r in r1 r3; do
	assert_eq "$r holds its $PER_ROUTER forwardings after the churn" "$PER_ROUTER" "$(elements $r)"
done
assert_eq "r2 holds its $((PER_ROUTER + 1)) forwardings after the churn" "$((PER_ROUTER + 1))" "$(elements r2)"
assert_eq "traffic through r2's 4022 after the churn" "$CLIENT vm2" "$(topo_tcp_query client "$GW2" 4022)"

# --- a resync's log line counts forwardings (it said 1: the router)
answer=$(ctl "{\"id\":1,\"op\":\"resync\",\"router_id\":\"$R2\"}")
assert_match "a resync of r2 answers its forwardings" "\"changed\":$((PER_ROUTER + 1))" "$answer"
assert_match "and logs them" "Control resync: $((PER_ROUTER + 1)) forwardings changed" "$(cat "$AGENT_DIR/pat-agent.log")"

monitor_stop || topo_fail "the monitor exits 0"
agent_stop || topo_fail "the pat-agent exits 0"
if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR"/*.log; then
	topo_fail "no sanitizer report in the agents' logs"
fi
topo_finish
