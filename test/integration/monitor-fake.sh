#!/usr/bin/env bash
# The real praas-monitor-agent and praas-pat-agent against the
# fault-injecting fake Neutron (test/fake-openstack), with a real router
# namespace and traffic, second_monitoring = 0.5:
#  - a port deleted in Neutron: its forwarding goes within a period (plus a
#    second), the other stays and carries traffic;
#  - while Neutron answers 500, 503, 401, a truncated or short or malformed
#    page, an unanswered confirmation, no token, or no answer at all, a
#    forwarding whose port was deleted meanwhile is NOT removed, across
#    several periods; the monitor backs off (doubling) and, once Neutron
#    answers again, removes it by itself;
#  - the router's gateway address changed: forwardings re-keyed, traffic
#    through the new address;
#  - with 1,000 forwardings, the Neutron requests of one cycle stay a few
#    pages (counted by the fake itself), not one per forwarding.
# Chunks of 300 forwardings (PRAAS_TEST_MONITOR_CHUNK; 2,000 by default), so
# the 1,000 go through several, Neutron asked about one while the pat-agent's
# next page is read, and SIGTERM comes while both are in flight.
set -u
export PRAAS_TEST_MONITOR_CHUNK=300
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/fake.sh"

topo_init mfake
topo_require python3 curl nft
fake_start --ports 1000 || {
	topo_fail "the fake starts"
	topo_finish
}

# --- what the fake holds: router1 (gateway 203.0.113.10), private-subnet 10.0.0.0/24
fake_req GET /v2.0/routers
R=$(fake_json 'd["routers"][0]["id"]')
GW=$(fake_json 'd["routers"][0]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]')
fake_req GET "/v2.0/subnets?name=private-subnet"
SUBNET=$(fake_json 'd["subnets"][0]["id"]')
NET=$(fake_json 'd["subnets"][0]["network_id"]')
assert_match "the fake has a router" '^[0-9a-f-]{36}$' "$R"
assert_eq "its gateway" 203.0.113.10 "$GW"

# new_port NAME IP: a VM port on private-subnet; prints its id
new_port() {
	fake_req POST /v2.0/ports "{\"port\":{\"name\":\"$1\",\"network_id\":\"$NET\",\"device_owner\":\"compute:nova\",\"device_id\":\"$(</proc/sys/kernel/random/uuid)\",\"fixed_ips\":[{\"subnet_id\":\"$SUBNET\",\"ip_address\":\"$2\"}]}}"
	[[ $FAKE_STATUS == 201 ]] && fake_json 'd["port"]["id"]'
}

# The namespace Neutron's L3 agent would have made for router1.
topo_router -x 203.0.113 r1 "$R"
topo_router_set_gw r1 "$GW"
TOPO['r1-ext.host']=20 # the client must not take the gateway's .10
topo_outside client r1
topo_vm vm1 r1
topo_vm vm2 r1
CLIENT=${TOPO[client.ip4]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2"
PORT1=$(new_port mf-vm1 "$VM1")
PORT2=$(new_port mf-vm2 "$VM2")
assert_match "a Neutron port for vm1" '^[0-9a-f-]{36}$' "$PORT1"
assert_match "a Neutron port for vm2" '^[0-9a-f-]{36}$' "$PORT2"

agent_config "cloud=\"fake\"" "clouds_file=\"$FAKE_CLOUDS\"" 'router_port_range="30000:39999"'
agent_start || {
	topo_fail "the pat-agent starts against the fake"
	topo_finish
}
base=/v1/routers/$R/port_forwardings
# create EXT IP [PORT_ID]: prints the new forwarding's id
create() {
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$2\",\"internal_port\":22,\"external_port\":$1}}"
	[[ $API_STATUS == 201 ]] || {
		echo "# create $1 -> $2: $API_STATUS $API_BODY" >&2
		return 1
	}
	api_field port_forwarding.id
}
F1=$(create 4022 "$VM1")
api GET "$base/$F1"
assert_eq "the pat-agent found vm1's Neutron port by its address" "$PORT1" "$(api_field port_forwarding.internal_port_id)"
assert_eq "the external address is the router's gateway from Neutron" "$GW" "$(api_field port_forwarding.external_ip_address)"
F2=$(create 4023 "$VM2")
assert_eq "traffic to vm1 through 4022" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_eq "traffic to vm2 through 4023" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"

# ID: the forwarding is still in the pat-agent's store. Asked over the
# control socket: the REST API looks the router up in Neutron, which is the
# thing misbehaving here.
present() {
	ctl '{"op":"list"}' | grep -q "\"$1\""
}
gone() { ! present "$1"; }
cycles() { grep -c 'reconcile:' "$AGENT_DIR/monitor.log"; }
wait_cycles() { # N: N more cycles ended
	local want=$(($(cycles) + $1))
	topo_wait 30 sh -c "[ \$(grep -c 'reconcile:' '$AGENT_DIR/monitor.log') -ge $want ]"
}

[[ -n ${PRAAS_TEST_KEEP_LOGS:-} ]] && topo_on_exit "cp -r '$AGENT_DIR' '$PRAAS_TEST_KEEP_LOGS'"
monitor_start
wait_cycles 2 || topo_fail "the monitor runs" "$(tail -5 "$AGENT_DIR/monitor.log")"
assert_match "it looks at Neutron" 'against Neutron and the kernel' "$(cat "$AGENT_DIR/monitor.log")"
assert_ok "both forwardings still there after two cycles" present "$F2"

# --- a port deleted in Neutron: its forwarding goes within a period plus a second
fake_req DELETE "/v2.0/ports/$PORT1"
assert_eq "vm1's port deleted in Neutron" 204 "$FAKE_STATUS"
t0=${EPOCHREALTIME/./}
if topo_wait 3 gone "$F1"; then
	t1=${EPOCHREALTIME/./}
	took=$(((t1 - t0) / 1000))
	echo "# forwarding of the deleted port removed in $took ms"
	assert_ok "removed within one period plus one second ($took ms <= 1500 ms)" test "$took" -le 1500
else
	topo_fail "the forwarding of the deleted port is removed" "$(tail -5 "$AGENT_DIR/monitor.log")"
fi
assert_fails "traffic through 4022 stops" topo_tcp_query client "$GW" 4022 1
assert_eq "vm2's forwarding stays, traffic flows" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"
assert_match "the monitor says why" "Port $PORT1 was deleted" "$(cat "$AGENT_DIR/monitor.log")"

# --- faults: nothing removed while Neutron misbehaves, removed once it recovers
# fault_case DESC LOOKS WAIT FAULT_JSON...: a port and forwarding of its
# own, seen healthy, then the faults, then the port deleted in Neutron; LOOKS
# failed looks must follow within WAIT seconds.
n=0
fault_case() {
	local desc=$1 looks=$2 wait_log=$3 ip port f fired0 failures0
	shift 3
	n=$((n + 1))
	ip=10.0.0.$((100 + n))
	port=$(new_port "mf-fault-$n" "$ip") || topo_fail "$desc: a port"
	f=$(create $((5000 + n)) "$ip") || topo_fail "$desc: a forwarding"
	wait_cycles 1
	fired0=$(fake_faults_fired)
	failures0=$(grep -c 'nothing will be changed\|did not answer' "$AGENT_DIR/monitor.log")
	local j
	for j in "$@"; do
		fake_fault "$j"
	done
	fake_req DELETE "/v2.0/ports/$port"
	[[ $FAKE_STATUS == 204 ]] || topo_fail "$desc: the port deleted in Neutron"
	# Several periods of misbehaviour (with backoff: 0.5 + 1 + 2 s for three looks).
	if ! topo_wait "$wait_log" sh -c "[ \$(grep -c 'nothing will be changed\|did not answer' '$AGENT_DIR/monitor.log') -ge $((failures0 + looks)) ]"; then
		topo_fail "$desc: the monitor saw $looks failed looks" "$(tail -4 "$AGENT_DIR/monitor.log")"
	fi
	assert_ok "$desc: the faults fired ($(fake_faults_fired) > $fired0)" test "$(fake_faults_fired)" -gt "$fired0"
	assert_ok "$desc: nothing removed across several periods" present "$f"
	assert_eq "$desc: traffic to vm2 unharmed" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"
	fake_reset
	# Recovery: the backoff is at most 300 s, but after three failures 4 s.
	if topo_wait 25 gone "$f"; then
		topo_pass "$desc: recovered by itself; the deleted port's forwarding is removed"
	else
		topo_fail "$desc: recovered" "$(tail -4 "$AGENT_DIR/monitor.log")"
	fi
	assert_ok "$desc: the other forwardings stay" present "$F2"
}

# PRAAS_TEST_QUICK=1 leaves the fault cases out (a minute and a half).
[[ ${PRAAS_TEST_QUICK:-0} == 1 ]] || {
ports='"path": "/v2.0/ports", "method": "GET", "count": 100000'
fault_case "Neutron 500" 3 15 "{\"kind\": \"status\", \"status\": 500, $ports}"
# The backoff: 1, 2, 4 s after the 1st, 2nd, 3rd failure in a row.
assert_match "the monitor backs off, doubling" 'failed 3 times in a row: next look in (3\.[5-9]|4\.0) s' \
	"$(grep 'times in a row' "$AGENT_DIR/monitor.log")"
fault_case "Neutron 503 (retried by the client, then given up)" 3 30 "{\"kind\": \"status\", \"status\": 503, $ports}"
fault_case "Neutron 401 (auth failure)" 3 15 "{\"kind\": \"status\", \"status\": 401, $ports}"
fault_case "a truncated page" 3 15 "{\"kind\": \"truncated\", $ports}"
fault_case "a page shorter than its Content-Length" 3 15 "{\"kind\": \"short\", $ports}"
fault_case "a malformed page" 3 15 "{\"kind\": \"malformed\", $ports}"
fault_case "the listing is fine, the confirmation GET fails" 3 15 \
	'{"kind": "status", "status": 500, "path": "/v2.0/ports/", "method": "GET", "count": 100000}'
fault_case "no token from Keystone" 3 15 \
	'{"kind": "status", "status": 500, "path": "/v3/auth/tokens", "method": "POST", "count": 100000}' \
	'{"kind": "status", "status": 401, "path": "/v2.0/", "method": "GET", "count": 100000}'
fault_case "Neutron does not answer (the look's deadline, 20 s = 40 periods)" 1 30 \
	"{\"kind\": \"hang\", \"seconds\": 120, $ports}"
}

# --- the router's gateway address changes in Neutron (and on qg-): re-keyed
NEWGW=203.0.113.99
fake_req GET "/v2.0/routers/$R"
gwinfo=$(fake_json "json.dumps(dict(d['router']['external_gateway_info'], external_fixed_ips=[dict(d['router']['external_gateway_info']['external_fixed_ips'][0], ip_address='$NEWGW')]))")
fake_req PUT "/v2.0/routers/$R" "{\"router\":{\"external_gateway_info\":$gwinfo}}"
assert_eq "Neutron: the router's gateway moved to $NEWGW" 200 "$FAKE_STATUS"
topo_router_set_gw r1 "$NEWGW"
external_ip() { ctl '{"op":"list"}' | python3 -c '
import json, sys
print([f["external_ip_address"] for f in json.load(sys.stdin)["forwardings"] if f["id"] == sys.argv[1]][0])' "$1"; }
if topo_wait 3 sh -c "[ \"\$(printf '%s\n' '{\"op\":\"list\"}' | timeout 5 socat -t 5 - UNIX-CONNECT:$AGENT_DIR/pat-agent.sock | grep -o '\"external_ip_address\":\"[^\"]*\"' | sort -u)\" = '\"external_ip_address\":\"$NEWGW\"' ]"; then
	topo_pass "every forwarding is re-keyed to the new gateway"
else
	topo_fail "every forwarding is re-keyed to the new gateway" "$(tail -4 "$AGENT_DIR/monitor.log")"
fi
assert_eq "vm2's forwarding keeps its port on the new address" "$NEWGW" "$(external_ip "$F2")"
assert_eq "traffic to vm2 through $NEWGW:4023" "$CLIENT vm2" "$(topo_tcp_query client "$NEWGW" 4023)"
assert_match "the monitor says so" "gateway moved from $GW to $NEWGW" "$(cat "$AGENT_DIR/monitor.log")"
GW=$NEWGW

# --- 1,000 forwardings: the Neutron requests of one cycle stay a few pages
python3 - "$AGENT_URL$base" <<'EOF' || topo_fail "1,000 forwardings created"
import json, sys, urllib.request
for i in range(1000):
    ip = "10.0.%d.%d" % (1 + i // 250, 1 + i % 250)  # the fake's --ports
    body = json.dumps({"port_forwarding": {"internal_ip_address": ip, "internal_port": 22,
                                           "external_port": 10000 + i}}).encode()
    req = urllib.request.Request(sys.argv[1], body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201, r.status
EOF
# Every page (a listing holds at most pagination_max_limit, 1,000).
total=$(python3 - "$AGENT_URL" "$base" <<'EOF'
import json, sys, urllib.request
url, n = sys.argv[1] + sys.argv[2], 0
while url:
    with urllib.request.urlopen(url, timeout=10) as r:
        page = json.load(r)
    n += len(page["port_forwardings"])
    url = next((sys.argv[1] + l["href"] for l in page.get("port_forwardings_links", [])
                if l["rel"] == "next"), None)
print(n)
EOF
)
assert_ok "1,000 forwardings and more ($total)" test "$total" -ge 1001
wait_cycles 1
c0=$(cycles)
fake_reset
wait_cycles 4
c1=$(cycles)
reqs=$(fake_requests '^GET /v2.0/(ports|routers)')
# Cycles partly inside the window count as one more.
per=$(((reqs + c1 - c0) / (c1 - c0)))
echo "# $reqs Neutron requests over $((c1 - c0)) cycles with $total forwardings: about $per a cycle"
assert_ok "Neutron requests per cycle stay a few pages ($per <= 12), not one per forwarding" test "$per" -le 12
last=$(grep 'reconcile:' "$AGENT_DIR/monitor.log" | tail -1)
echo "# the monitor's own line: $last"
m=$(sed -E 's/.* ([0-9]+) Neutron requests.*/\1/' <<<"$last")
assert_ok "the monitor counts the same ($m <= 12)" test "$m" -le 12
assert_ok "and nothing changed meanwhile" grep -q '0 changes reported' <<<"$last"

# --- SIGTERM while a look at Neutron hangs: the call is cancelled, exit 0
fake_fault '{"kind": "hang", "seconds": 60, "path": "/v2.0/ports", "method": "GET", "count": 100000}'
sleep 1.5
monitor_stop
assert_eq "SIGTERM while Neutron hangs: the monitor exits 0" 0 "$?"
assert_match "and says so" 'Stopped' "$(tail -1 "$AGENT_DIR/monitor.log")"
agent_stop || topo_fail "the pat-agent exits 0"
if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR"/*.log; then
	topo_fail "no sanitizer report in the agents' logs"
fi
topo_finish
