#!/usr/bin/env bash
# The real praas-monitor-agent and praas-pat-agent against the real loopback
# Neutron of test/openstack/start.sh, with the router namespace built from
# what Neutron answers (qrouter-<id>, its gateway fixed IP on qg-, the
# subnet's gateway on qr-, VMs at their ports' fixed IPs) and real traffic;
# second_monitoring = 0.5, auth = "keystone", forwardings created by the
# demo tenant over the v1 API:
#  - a port's fixed IP changed in Neutron (and the VM moved): traffic reaches
#    the VM at its new address through the same external port;
#  - a port deleted in Neutron: its forwarding goes within one period plus
#    one second, and traffic through it stops;
#  - the router deleted in Neutron: its forwardings go.
# Skipped (77) when that OpenStack is not running; PRAAS_OS_REQUIRED=1
# makes that a failure. Everything created in Neutron is deleted at exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/os-lab.sh"

os_lab_check
topo_init mos
topo_require python3 curl nft
os_lab_two_vms mos
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$CLOUDS\"" \
	'router_port_range="30000:30100"'
agent_start || {
	topo_fail "the pat-agent starts with Keystone and Neutron"
	topo_finish
}
base=/v1/routers/$R/port_forwardings
create() { # EXT IP [INTERNAL_PORT]: prints the new forwarding's id
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$2\",\"internal_port\":${3:-22},\"external_port\":$1}}" \
		-H "X-Auth-Token: $DT"
	[[ $API_STATUS == 201 ]] || {
		echo "# create $1 -> $2: $API_STATUS $API_BODY" >&2
		return 1
	}
	api_field port_forwarding.id
}
F1=$(create 4022 "$VM1") || topo_fail "demo creates a forwarding to vm1"
api GET "$base/$F1" "" -H "X-Auth-Token: $DT"
assert_eq "the pat-agent found vm1's port in Neutron" "$PORT1" "$(api_field port_forwarding.internal_port_id)"
assert_eq "the external address is the router's gateway in Neutron" "$GW" "$(api_field port_forwarding.external_ip_address)"
F2=$(create 4023 "$VM2") || topo_fail "demo creates a forwarding to vm2"
F3=$(create 4024 "$VM1" 80) || topo_fail "demo creates a second forwarding to vm1"
assert_eq "traffic to vm1 through $GW:4022" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_eq "traffic to vm2 through $GW:4023" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"
assert_eq "traffic to vm1:80 through $GW:4024" "$CLIENT vm1-80" "$(topo_tcp_query client "$GW" 4024)"

# The pat-agent's OpenStack checks on create, on the way.
api POST "$base" "{\"port_forwarding\":{\"internal_port_id\":\"$PORT2\",\"internal_port\":81,\"external_port\":4030}}" \
	-H "X-Auth-Token: $DT"
assert_eq "create by internal_port_id alone is 201" 201 "$API_STATUS"
assert_eq "its address is read from the port" "$VM2" "$(api_field port_forwarding.internal_ip_address)"
api DELETE "$base/$(api_field port_forwarding.id)" "" -H "X-Auth-Token: $DT"
assert_eq "and deleted again" 204 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$L4.99\",\"internal_port\":22,\"external_port\":4031}}" \
	-H "X-Auth-Token: $DT"
assert_eq "an address no port holds is 400" 400 "$API_STATUS"
assert_match "naming internal_ip_address" 'internal_ip_address' "$API_BODY"
XT=$(os_login alt_demo "${PRAAS_OS_ALT_PASSWORD:-alt_demo}" alt_demo)
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":82,\"external_port\":4032}}" \
	-H "X-Auth-Token: $XT"
assert_eq "another tenant on demo's router is 403" 403 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":82,\"external_port\":4032}}"
assert_eq "no token is 401" 401 "$API_STATUS"

in_store() { ctl '{"op":"list"}' | grep -q "\"$1\""; }
internal_ip() { # ID: the forwarding's internal address, from the store
	ctl '{"op":"list"}' | jq -r --arg id "$1" '.forwardings[] | select(.id == $id) | .internal_ip_address'
}
cycles() { grep -c 'reconcile:' "$AGENT_DIR/monitor.log"; }
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

[[ -n ${PRAAS_TEST_KEEP_LOGS:-} ]] && topo_on_exit "cp -r '$AGENT_DIR' '$PRAAS_TEST_KEEP_LOGS'"
monitor_start
topo_wait 20 sh -c "[ \$(grep -c 'reconcile:' '$AGENT_DIR/monitor.log') -ge 2 ]" ||
	topo_fail "the monitor looks at Neutron" "$(tail -5 "$AGENT_DIR/monitor.log")"
assert_match "a cycle: 3 forwardings, a port and a router listing" 'reconcile: 3 forwardings, 2 Neutron requests' \
	"$(grep 'reconcile:' "$AGENT_DIR/monitor.log" | tail -1)"
assert_ok "nothing changed while Neutron agrees" in_store "$F1"

# ---- vm1's fixed IP changes in Neutron and the VM moves: the forwardings follow
NEW1=$L4.13
os_req "$DT" PUT "/ports/$PORT1" "{\"port\":{\"fixed_ips\":[{\"subnet_id\":\"$SUB\",\"ip_address\":\"$NEW1\"}]}}"
assert_eq "Neutron: vm1's port moved to $NEW1" "200 $NEW1" "$OS_STATUS $(os_body '.port.fixed_ips[0].ip_address')"
t0=$(ms)
topo_exec vm1 ip addr del "$VM1/24" dev eth0
topo_exec vm1 ip addr add "$NEW1/24" dev eth0
topo_exec vm1 ip route replace default via "$L4.1"
if topo_wait 5 sh -c "[ \"\$(printf '%s\n' '{\"op\":\"list\"}' | timeout 5 socat -t 5 - UNIX-CONNECT:$AGENT_DIR/pat-agent.sock | jq -r '.forwardings[] | select(.id == \"$F1\") | .internal_ip_address')\" = $NEW1 ]"; then
	echo "# the forwarding followed vm1 in $(($(ms) - t0)) ms"
	topo_pass "the forwarding follows vm1 to $NEW1"
else
	topo_fail "the forwarding follows vm1 to $NEW1" "$(tail -5 "$AGENT_DIR/monitor.log")"
fi
assert_eq "and its second forwarding too" "$NEW1" "$(internal_ip "$F3")"
api GET "$base/$F1" "" -H "X-Auth-Token: $DT"
assert_eq "the API shows the new address" "$NEW1" "$(api_field port_forwarding.internal_ip_address)"
assert_eq "the external port is kept" 4022 "$(api_field port_forwarding.external_port)"
assert_eq "traffic reaches vm1 at its new address through the same $GW:4022" "$CLIENT vm1" \
	"$(topo_tcp_query client "$GW" 4022)"
assert_eq "and through 4024 to its port 80" "$CLIENT vm1-80" "$(topo_tcp_query client "$GW" 4024)"
assert_match "the monitor says so" "Port $PORT1 moved from $VM1 to $NEW1" "$(cat "$AGENT_DIR/monitor.log")"

# ---- vm2's port deleted in Neutron: its forwarding goes, traffic stops
assert_eq "traffic to vm2 before" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"
os_req "$DT" DELETE "/ports/$PORT2"
assert_eq "Neutron: vm2's port deleted" 204 "$OS_STATUS"
t0=$(ms)
if topo_wait 3 sh -c "! printf '%s\n' '{\"op\":\"list\"}' | timeout 5 socat -t 5 - UNIX-CONNECT:$AGENT_DIR/pat-agent.sock | grep -q '\"$F2\"'"; then
	took=$(($(ms) - t0))
	echo "# the forwarding of the deleted port went in $took ms"
	assert_ok "gone within one period plus one second ($took ms <= 1500 ms)" test "$took" -le 1500
else
	topo_fail "the forwarding of the deleted port goes" "$(tail -5 "$AGENT_DIR/monitor.log")"
fi
assert_fails "traffic through 4023 stops" topo_tcp_query client "$GW" 4023 1
assert_eq "vm1's forwarding stays" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
api GET "$base/$F2" "" -H "X-Auth-Token: $DT"
assert_eq "the API says 404 for it" 404 "$API_STATUS"

# ---- the router deleted in Neutron: its forwardings go
os_req "$DT" PUT "/routers/$R/remove_router_interface" "{\"subnet_id\":\"$SUB\"}"
assert_eq "Neutron: the router's interface removed" 200 "$OS_STATUS"
os_req "$DT" DELETE "/routers/$R"
assert_eq "Neutron: the router deleted" 204 "$OS_STATUS"
if topo_wait 3 sh -c "! printf '%s\n' '{\"op\":\"list\"}' | timeout 5 socat -t 5 - UNIX-CONNECT:$AGENT_DIR/pat-agent.sock | grep -q '\"id\"'"; then
	topo_pass "every forwarding of the deleted router is gone"
else
	topo_fail "every forwarding of the deleted router is gone" "$(tail -5 "$AGENT_DIR/monitor.log")"
fi
assert_fails "traffic through 4022 stops" topo_tcp_query client "$GW" 4022 1
assert_match "the monitor says why" "Router $R was deleted" "$(cat "$AGENT_DIR/monitor.log")"
assert_eq "nothing is left in the router's table" "" \
	"$(topo_exec r1 nft list table inet praas | grep -o 'tcp \. 40[0-9][0-9]' || true)"

agents_finish
