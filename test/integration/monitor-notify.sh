#!/usr/bin/env bash
# The real praas-monitor-agent consuming the real loopback Neutron's
# notifications on the real RabbitMQ of test/openstack/start.sh (its own
# queue, praas-test-*, deleted at exit), with the poll made too slow to
# matter (second_monitoring = 600): every change below is the bus's doing.
#  - a port's fixed IP changed: the forwardings follow within 1 s, traffic too;
#  - a port deleted: its forwarding gone from the kernel within 1 s;
#  - garbage and a forged port.delete.end (the port still exists) published
#    on the exchange: nothing changes, the monitor keeps running, the queue
#    is drained;
#  - the router's gateway cleared: its forwardings stay (the poll's rule);
#    set again at another address: re-keyed within 1 s;
#  - the router deleted: all its forwardings gone from the kernel within 1 s.
# Skipped (77) when that OpenStack is not running or runs without RabbitMQ.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/os-lab.sh"
. "$here/lib/bus.sh"

os_lab_check
bus_check_shared
topo_init mnt
topo_require python3 curl nft socat
os_lab_two_vms mnt

QUEUE=praas-test-$SFX
bus_on_exit_delete_queue "$QUEUE"
agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$CLOUDS\"" \
	'router_port_range="30000:30100"' second_monitoring=600 \
	"transport_url=\"$PRAAS_OS_RABBIT_URL\"" "notification_queue=\"$QUEUE\""
agent_start || {
	topo_fail "the pat-agent starts with Keystone and Neutron"
	topo_finish
}
base=/v1/routers/$R/port_forwardings
create() { # EXT IP: prints the new forwarding's id
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$2\",\"internal_port\":22,\"external_port\":$1}}" \
		-H "X-Auth-Token: $DT"
	[[ $API_STATUS == 201 ]] || return 1
	api_field port_forwarding.id
}
F1=$(create 4022 "$VM1") || topo_fail "a forwarding to vm1"
F2=$(create 4023 "$VM2") || topo_fail "a forwarding to vm2"
assert_eq "traffic to vm1 through $GW:4022" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_eq "traffic to vm2 through $GW:4023" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4023)"

monitor_start
topo_wait 10 grep -q "Notifications: consuming queue $QUEUE" "$AGENT_DIR/monitor.log" ||
	topo_fail "the monitor consumes its queue" "$(tail -5 "$AGENT_DIR/monitor.log")"
topo_wait 10 grep -q 'reconcile:' "$AGENT_DIR/monitor.log" || topo_fail "the first poll ran"
assert_eq "the queue is durable" true "$(bus_queue_field "$QUEUE" durable)"

in_kernel() { topo_exec r1 nft list table inet praas 2>/dev/null | grep -q "tcp \. $1 "; }
internal_ip() { ctl '{"op":"list"}' | jq -r --arg id "$1" '.forwardings[] | select(.id == $id) | .internal_ip_address'; }
external_ip() { ctl '{"op":"list"}' | jq -r --arg id "$1" '.forwardings[] | select(.id == $id) | .external_ip_address'; }
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
within_1s() { # WHAT CMD...: CMD turns true within 1 s of now
	local what=$1 t0 took
	shift
	t0=$(ms)
	if topo_wait 3 "$@"; then
		took=$(($(ms) - t0))
		echo "# $what: $took ms"
		assert_ok "$what within 1 s ($took ms)" test "$took" -le 1000
	else
		topo_fail "$what" "$(tail -5 "$AGENT_DIR/monitor.log")"
	fi
}
assert_ok "vm1's forwarding is in the kernel" in_kernel 4022

# ---- vm1's fixed IP changes: the forwarding follows, and traffic with it
NEW1=$L4.13
topo_exec vm1 ip addr del "$VM1/24" dev eth0
topo_exec vm1 ip addr add "$NEW1/24" dev eth0
topo_exec vm1 ip route replace default via "$L4.1"
os_req "$DT" PUT "/ports/$PORT1" "{\"port\":{\"fixed_ips\":[{\"subnet_id\":\"$SUB\",\"ip_address\":\"$NEW1\"}]}}"
assert_eq "Neutron: vm1's port moved to $NEW1" 200 "$OS_STATUS"
within_1s "retargeted to $NEW1" sh -c "[ \"\$(printf '%s\n' '{\"op\":\"list\"}' | timeout 5 socat -t 5 - UNIX-CONNECT:$AGENT_DIR/pat-agent.sock | jq -r '.forwardings[] | select(.id == \"$F1\") | .internal_ip_address')\" = $NEW1 ]"
assert_eq "traffic follows vm1 through the same $GW:4022" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_match "the monitor says so" "Port $PORT1 moved from $VM1 to $NEW1" "$(cat "$AGENT_DIR/monitor.log")"

# ---- vm2's port deleted: the forwarding leaves the kernel
assert_ok "vm2's forwarding is in the kernel" in_kernel 4023
os_req "$DT" DELETE "/ports/$PORT2"
assert_eq "Neutron: vm2's port deleted" 204 "$OS_STATUS"
within_1s "vm2's forwarding gone from the kernel" eval '! in_kernel 4023'
assert_fails "traffic through 4023 stops" topo_tcp_query client "$GW" 4023 1

# ---- garbage, and a forged deletion of a port that exists: nothing changes
junk=$TOPO_DIR/junk
{
	echo 'not json'
	echo '{"oslo.version": "2.0", "oslo.message": "{\"event_type\": 7"}'
	echo '{"oslo.version": "2.0", "oslo.message": 42}'
	echo '{"event_type": "port.delete.end", "payload": {"port": {"id": "../../etc"}}}'
	echo '{"event_type": "port.delete.end", "payload": []}'
	echo '{"event_type": "compute.instance.create.end", "payload": {}}'
	jq -cn --arg id "$PORT1" '{"oslo.version": "2.0", "oslo.message": ({event_type: "port.delete.end", payload: {port_id: $id}} | tojson)}'
	jq -cn --arg id "$R" '{"oslo.version": "2.0", "oslo.message": ({event_type: "router.delete.end", payload: {router_id: $id}} | tojson)}'
} >"$junk"
assert_ok "garbage published on exchange neutron" bus_publish "$PRAAS_OS_RABBIT_ADMIN_URL" neutron notifications.info "$junk"
topo_wait 5 sh -c "[ \"\$(grep -c 'dropped a malformed message' '$AGENT_DIR/monitor.log')\" -ge 5 ]" ||
	topo_fail "the monitor logs the malformed messages" "$(tail -5 "$AGENT_DIR/monitor.log")"
topo_wait 5 grep -q "Notification router.delete.end for $R: handled" "$AGENT_DIR/monitor.log" ||
	topo_fail "the forged router deletion was checked with Neutron" "$(tail -5 "$AGENT_DIR/monitor.log")"
assert_eq "the queue is drained (all acknowledged)" 0 "$(bus_queue_field "$QUEUE" messages)"
assert_ok "the monitor runs" kill -0 "$MONITOR_PID"
assert_eq "vm1's forwarding is still there" "$NEW1" "$(internal_ip "$F1")"
assert_eq "and still carries traffic" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

# ---- the router's gateway cleared: kept; set at another address: re-keyed
os_req "$DT" PUT "/routers/$R" '{"router":{"external_gateway_info":{}}}'
assert_eq "Neutron: the gateway cleared" 200 "$OS_STATUS"
topo_wait 3 grep -q "Notification router.update.end for $R: handled" "$AGENT_DIR/monitor.log" ||
	topo_fail "the monitor checks the router" "$(tail -5 "$AGENT_DIR/monitor.log")"
assert_eq "its forwarding stays (it comes back with a gateway)" "$GW" "$(external_ip "$F1")"
AT=$(os_login admin "${PRAAS_OS_ADMIN_PASSWORD:-admin}" admin)
for _ in 1 2 3 4 5; do
	GW2=172.24.4.$((100 + RANDOM % 150))
	os_req "$AT" PUT "/routers/$R" "{\"router\":{\"external_gateway_info\":{\"network_id\":\"$PUB\",\"external_fixed_ips\":[{\"ip_address\":\"$GW2\"}]}}}"
	[[ $OS_STATUS == 200 ]] && break
done
assert_eq "Neutron: the gateway set again at $GW2" 200 "$OS_STATUS"
within_1s "re-keyed to $GW2" eval '[ "$(external_ip "$F1")" = "$GW2" ]'
assert_match "the monitor says so" "Router $R's gateway moved from $GW to $GW2" "$(cat "$AGENT_DIR/monitor.log")"

# ---- the router deleted: every forwarding of it leaves the kernel
assert_ok "vm1's forwarding is in the kernel" in_kernel 4022
os_req "$DT" PUT "/routers/$R/remove_router_interface" "{\"subnet_id\":\"$SUB\"}"
assert_eq "Neutron: the router's interface removed" 200 "$OS_STATUS"
os_req "$DT" DELETE "/routers/$R"
assert_eq "Neutron: the router deleted" 204 "$OS_STATUS"
within_1s "the router's forwardings gone from the kernel" eval '! in_kernel 4022'
assert_eq "and from the store" "" "$(ctl '{"op":"list"}' | jq -r '.forwardings[].id')"
assert_match "the monitor says why" "Router $R was deleted" "$(cat "$AGENT_DIR/monitor.log")"
assert_eq "the poll did none of it (only its first cycle ran)" 1 "$(grep -c 'reconcile:' "$AGENT_DIR/monitor.log")"

agents_finish
