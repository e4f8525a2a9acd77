#!/usr/bin/env bash
# Issue 10, defect 9: standalone, the router's gateway (qg-) address moves
# from .1 to another; the forwardings must follow within a second (their
# nft elements are keyed by it), as the monitor's gateway_changed does with
# Neutron: a client then reaches the VM through the new address. Also
# measures what following costs: one agent tick over 51 routers with
# forwardings, and the descriptors it holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

EXTRA=${GATEWAY_FOLLOW_ROUTERS:-50}

topo_init gwf
topo_router r1
topo_outside client r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
CLIENT4=${TOPO[client.ip4]}
OLD=${TOPO[r1.gw4]}
NEW=${OLD%.*}.$((${OLD##*.} + 100))

agent_config
agent_start --debug || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings
api POST "$base" '{"port_forwarding":{"internal_ip_address":"'"${TOPO[vm1.ip4]}"'","internal_port":22,"external_port":4022}}'
assert_eq "create is 201" 201 "$API_STATUS"
F1=$(api_field port_forwarding.id)
assert_eq "the client reaches vm1 through $OLD:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$OLD" 4022)"

# --- the move
topo_router_set_gw r1 "$NEW" || topo_fail "move the gateway to $NEW"
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
t0=$(ms)
followed=
while (($(ms) - t0 < 5000)); do
	api GET "$base/$F1"
	if [[ $(api_field port_forwarding.external_ip_address 2>/dev/null) == "$NEW" ]]; then
		followed=$(($(ms) - t0))
		break
	fi
	sleep 0.05
done
echo "figure: gateway_follow_time ${followed:-timeout} ms"
# A tick a second, plus the poll's own latency (valgrind slows both).
limit=1500
[[ ${PRAAS_VALGRIND:-0} == 1 ]] && limit=3000
[[ -n $followed ]] && ((followed <= limit)) &&
	topo_pass "the forwarding follows the gateway to $NEW within a second (${followed} ms)" ||
	topo_fail "the forwarding follows the gateway to $NEW within a second" \
		"after ${followed:-5000+} ms: $API_BODY"
assert_eq "the client reaches vm1 through the new address $NEW:4022" "$CLIENT4 vm1" \
	"$(topo_tcp_query client "$NEW" 4022)"
grep -q "gateway moved from $OLD to $NEW: 1 forwarding re-keyed" "$AGENT_DIR/pat-agent.log" &&
	topo_pass "the agent logs the move" || topo_fail "the agent logs the move"
api POST "$base" '{"port_forwarding":{"internal_ip_address":"'"${TOPO[vm1.ip4]}"'","internal_port":80,"external_port":4023}}'
assert_eq "a new forwarding after the move is on the new address" "$NEW" \
	"$(api_field port_forwarding.external_ip_address)"

# --- the cost: EXTRA more routers with a forwarding each (plain namespaces
# with a veth pair for qg- and one for qr-: enough for standalone).
for i in $(seq "$EXTRA"); do
	u=$(</proc/sys/kernel/random/uuid)
	ns=qrouter-$u
	topo__ns_add "$ns" || break
	: >"$TOPO_NETNS_DIR/$ns"
	mount --bind "/run/netns/$ns" "$TOPO_NETNS_DIR/$ns" || break
	ip -n "$ns" link add qg-0 type veth peer name xg-0 && ip -n "$ns" link add qr-0 type veth peer name xr-0 &&
		ip -n "$ns" link set qg-0 up && ip -n "$ns" link set xg-0 up && ip -n "$ns" link set qr-0 up &&
		ip -n "$ns" link set xr-0 up && ip -n "$ns" addr add 198.51.100.1/24 dev qg-0 &&
		ip -n "$ns" addr add 10.1.0.1/24 dev qr-0 || break
	api POST "/v1/routers/$u/port_forwardings" '{"port_forwarding":{"internal_ip_address":"10.1.0.10","internal_port":22,"external_port":4022}}'
	[[ $API_STATUS == 201 ]] || { topo_fail "create on extra router $i" "$API_STATUS $API_BODY"; break; }
done
assert_eq "$EXTRA more routers with a forwarding each" "$EXTRA" "$i"
# Let the last API connection close before counting.
sleep 1.2
fd0=$(ls "/proc/$AGENT_PID/fd" | wc -l)
sleep 3.2
fd1=$(ls "/proc/$AGENT_PID/fd" | wc -l)
routers=$((EXTRA + 1))
tick=$(grep -o "Gateway check: $routers routers in [0-9.]* ms" "$AGENT_DIR/pat-agent.log" | tail -n 1 | awk '{print $6}')
[[ -n $tick ]] && topo_pass "a tick visits all $routers routers" || topo_fail "a tick visits all $routers routers"
echo "figure: gateway_check_tick ${tick:-none} ms"
echo "figure: gateway_check_routers $routers routers"
[[ -n $tick ]] && echo "figure: gateway_check_per_router $(awk -v t="$tick" -v n="$routers" 'BEGIN{printf "%.3f", t/n}') ms"
echo "figure: agent_descriptors_between_ticks $fd1 fds"
assert_eq "following holds no descriptor between ticks (before: $fd0, 3 ticks later: $fd1)" "$fd0" "$fd1"

agent_stop || topo_fail "the agent exits 0"
topo_finish
