#!/usr/bin/env bash
# Persistence and restore with the real praas-pat-agent: kill -9 during a
# stream of creates loses nothing acknowledged and leaves nothing half
# applied (a correctness check: the creates' rate is bench/'s); a restart
# rebuilds 1,000 forwardings across 20 namespaces; a namespace deleted and
# re-created is rebuilt; DOWN and ACTIVE follow it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init ares
NROUTERS=${PRAAS_TEST_ROUTERS:-20}
PER=${PRAAS_TEST_PER_ROUTER:-50}
for i in $(seq "$NROUTERS"); do
	topo_router "r$i"
done
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
R1=${TOPO[r1.uuid]}
GW=${TOPO[r1.gw4]}
CLIENT=${TOPO[client.ip4]}

agent_config 'router_port_range="10000:20000"'
agent_start || { topo_fail "agent starts"; topo_finish; }

# elements in a router's dnat4 map, as the kernel holds them
elements() { praas_elements "$1" dnat4; }

count_db() {
	api GET "/v1/routers/$1/port_forwardings"
	python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY"
}

# --- kill -9 during a stream of creates: every create acknowledged before
# the kill is there after the restart, and nothing else but the one in
# flight. How fast the creates go is bench/'s business: the stream need only
# be running when the kill comes (60 acknowledged, the writer still going).
acked=$TOPO_DIR/acked
: >"$acked"
(
	for p in $(seq 1 400); do
		out=$(curl -s -m 5 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' "$AGENT_URL/v1/routers/$R1/port_forwardings" \
			-d "{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.$((20 + p % 200))\",\"internal_port\":$((1000 + p)),\"external_port\":$((30000 + p))}}") || break
		[[ ${out##*$'\n'} == 201 ]] || break
		[[ $out =~ \"id\":\"([0-9a-f-]{36})\" ]] || break
		echo "${BASH_REMATCH[1]}" >>"$acked"
	done
) &
writer=$!
# A bound for an agent that stopped answering, not a rate.
topo_wait 300 sh -c "[ \$(wc -l <$acked) -ge 60 ]"
streaming=no
kill -0 "$writer" 2>/dev/null && streaming=yes
agent_kill9
wait "$writer" 2>/dev/null
n_acked=$(wc -l <"$acked")
assert_ok "creates were acknowledged before the kill ($n_acked)" test "$n_acked" -ge 60
assert_eq "the kill came while the creates were still streaming ($n_acked of 400)" yes "$streaming"
agent_start || topo_fail "agent restarts after kill -9"
missing=0
while read -r id; do
	api GET "/v1/routers/$R1/port_forwardings/$id"
	[[ $API_STATUS == 200 ]] || missing=$((missing + 1))
done <"$acked"
assert_eq "no acknowledged forwarding lost" 0 "$missing"
in_db=$(count_db "$R1")
assert_ok "the database holds the acknowledged ones, at most one more ($in_db vs $n_acked)" \
	test "$in_db" -ge "$n_acked" -a "$in_db" -le $((n_acked + 1))
assert_eq "the kernel holds exactly what the database holds" "$in_db" "$(elements r1)"
assert_ok "integrity_check of the database" sh -c \
	"[ \"\$(sqlite3 '$AGENT_DIR/praas.db' 'PRAGMA integrity_check')\" = ok ]"

# clean the stream's forwardings away
api GET "/v1/routers/$R1/port_forwardings"
for id in $(python3 -c 'import json,sys; print(" ".join(f["id"] for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY"); do
	api DELETE "/v1/routers/$R1/port_forwardings/$id"
done
assert_eq "all deleted" 0 "$(elements r1)"

# --- 1,000 forwardings across 20 namespaces, rebuilt by a restart
for i in $(seq "$NROUTERS"); do
	R=${TOPO[r$i.uuid]}
	for p in $(seq "$PER"); do
		api POST "/v1/routers/$R/port_forwardings" \
			"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.$((100 + p))\",\"internal_port\":22}}"
		[[ $API_STATUS == 201 ]] || { topo_fail "create $i/$p" "$API_BODY"; break 2; }
	done
done
api POST "/v1/routers/$R1/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"${TOPO[vm1.ip4]}\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "the traffic forwarding is created" 201 "$API_STATUS"
agent_stop || topo_fail "agent stops"
for i in $(seq "$NROUTERS"); do topo_exec "r$i" nft delete table inet praas; done
assert_eq "tables gone while the agent is down" 0 "$(elements r5)"
t0=$(date +%s.%N)
agent_start || topo_fail "agent restarts"
t1=$(date +%s.%N)
bad=0
for i in $(seq 2 "$NROUTERS"); do
	[[ $(elements "r$i") == "$PER" ]] || bad=$((bad + 1))
done
assert_eq "every namespace rebuilt with its $PER forwardings" 0 "$bad"
assert_eq "router 1 rebuilt" $((PER + 1)) "$(elements r1)"
echo "# restart with $((NROUTERS * PER + 1)) forwardings took $(python3 -c "print(round($t1 - $t0, 2))") s" >&2
assert_eq "traffic after restart" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

# --- a namespace deleted and re-created
fid=$(curl -s "$AGENT_URL/v1/routers/$R1/port_forwardings?external_port=4022" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port_forwardings"][0]["id"])')
topo_router_del r1
sleep 1
api GET "/v1/routers/$R1/port_forwardings/$fid"
assert_eq "namespace gone: the forwarding is DOWN within a second" DOWN "$(api_field port_forwarding.status)"
api POST "/v1/routers/$R1/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.99\",\"internal_port\":22}}"
assert_eq "creating on a router without namespace is 404 (standalone)" 404 "$API_STATUS"
topo_router_restore r1
topo_wait 1 sh -c "[ \"\$(curl -s $AGENT_URL/v1/routers/$R1/port_forwardings/$fid | grep -o '\"status\":\"ACTIVE\",')\" = '\"status\":\"ACTIVE\",' ]"
assert_eq "namespace back: ACTIVE within a second" 0 $?
assert_eq "re-created namespace rebuilt" $((PER + 1)) "$(elements r1)"
topo_vm vm1b r1 >/dev/null 2>&1 || true
assert_eq "traffic through the re-created namespace" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

agent_stop
topo_finish
