#!/usr/bin/env bash
# praas-monitor-agent's consumer against a RabbitMQ of this test's own
# (Debian's rabbitmq-server, private node, port and directory, stopped at
# exit) and the real loopback Neutron, with the poll as the safety net
# (second_monitoring = 8):
#  - the broker down at start: the monitor logs, retries, keeps polling;
#  - the broker up: the consumer connects by itself;
#  - a flood of 10,000 notifications (not ours, and garbage): all
#    acknowledged, the monitor keeps running; the rate is printed;
#  - the broker killed (SIGKILL, mid-flood: connections cut mid-message) and
#    down 20 s while a VM's port is deleted in Neutron: the poll removes its
#    forwarding; the broker back, the consumer comes back, and a
#    notification removes the next deleted port's forwarding within 1 s.
# Skipped (77) when the loopback OpenStack is not running.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/os-lab.sh"
. "$here/lib/bus.sh"

os_lab_check
[[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || os_skip "rabbitmq-server is not installed"
/usr/bin/python3 -c 'import kombu' 2>/dev/null || os_skip "python3-kombu is not installed"
topo_init mbus
topo_require python3 curl nft jq
os_lab_build mbus
P=()
for i in 1 2 3; do
	P[i]=$(new_port "vm$i" "$L4.1$i") && os_cleanup "$DT" DELETE "/ports/${P[i]}"
	assert_match "Neutron: a port for vm$i" '^[0-9a-f-]{36}$' "${P[i]}"
done
[[ $TOPO_FAILED == 0 ]] || topo_finish
topo_router -x 172.24.4 -l "$L4" r1 "$R"
topo_router_set_gw r1 "$GW"

BUS_PORT=$(bus__free_port)
agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$CLOUDS\"" \
	'router_port_range="30000:30100"' second_monitoring=8 \
	"transport_url=\"rabbit://praas:praas-secret@127.0.0.1:$BUS_PORT/\"" \
	'notification_queue="praas-test-monitor"'
agent_start || {
	topo_fail "the pat-agent starts"
	topo_finish
}
for i in 1 2 3; do
	api POST "/v1/routers/$R/port_forwardings" \
		"{\"port_forwarding\":{\"internal_ip_address\":\"$L4.1$i\",\"internal_port\":22,\"external_port\":402$i}}" \
		-H "X-Auth-Token: $DT"
	assert_eq "a forwarding to vm$i" 201 "$API_STATUS"
done
in_kernel() { topo_exec r1 nft list table inet praas 2>/dev/null | grep -q "tcp \. $1 "; }
logged() { grep -c -- "$1" "$AGENT_DIR/monitor.log"; }
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# ---- the broker down at start
monitor_start
topo_wait 10 sh -c "[ \$(grep -c 'Notifications: .*retrying' '$AGENT_DIR/monitor.log') -ge 2 ]" ||
	topo_fail "the monitor says the broker is down, and retries" "$(tail -3 "$AGENT_DIR/monitor.log")"
topo_wait 10 grep -q 'reconcile:' "$AGENT_DIR/monitor.log" || topo_fail "the poll runs meanwhile"
assert_ok "the monitor runs" kill -0 "$MONITOR_PID"

# ---- the broker up: the consumer connects by itself
echo 'declares the exchange, as Neutron does at its first notification' >"$TOPO_DIR/one"
bus_private_start mbus || {
	topo_fail "a private RabbitMQ starts" "$(tail -5 "$BUS_DIR"/log/*.log)"
	topo_finish
}
bus_publish "$BUS_URL" neutron notifications.info "$TOPO_DIR/one"
topo_wait 40 grep -q 'Notifications: consuming queue praas-test-monitor' "$AGENT_DIR/monitor.log" ||
	topo_fail "the consumer connects once the broker is up" "$(tail -3 "$AGENT_DIR/monitor.log")"

# ---- a flood of 10,000: none of ours, some garbage
flood() { # FILE: 10,000 messages
	/usr/bin/python3 - "$1" <<'PY'
import json, sys, uuid
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        if i % 1000 == 7:
            f.write('{"oslo.version": "2.0", "oslo.message": "{\\"event_type\\": ' + str(i) + "\n")
            continue
        kind = ("port.delete.end", "port.update.end", "router.update.end")[i % 3]
        obj = "port" if kind.startswith("port") else "router"
        msg = {"event_type": kind, "payload": {obj: {"id": str(uuid.uuid4())}}}
        f.write(json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(msg)}) + "\n")
PY
}
flood "$TOPO_DIR/flood"
t0=$(ms)
assert_ok "10,000 notifications published" bus_publish "$BUS_URL" neutron notifications.info "$TOPO_DIR/flood"
if topo_wait 60 eval '[ "$(bus_queue_field praas-test-monitor messages)" = 0 ]'; then
	took=$(($(ms) - t0))
	echo "# flood: 10000 messages published and consumed in $took ms: $((10000000 / (took ? took : 1))) messages/s"
	topo_pass "the flood is consumed and acknowledged"
else
	topo_fail "the flood is consumed" "$(bus_queue_field praas-test-monitor messages) left"
fi
assert_ok "the monitor runs" kill -0 "$MONITOR_PID"
assert_ok "the malformed ones are logged" test "$(logged 'dropped a malformed message')" -ge 10
assert_ok "vm1's forwarding is untouched" in_kernel 4021

# ---- killed mid-flood and down 20 s: the poll repairs, the consumer comes back
bus_publish "$BUS_URL" neutron notifications.info "$TOPO_DIR/flood" 2>/dev/null &
pub=$!
sleep 0.5
kill -9 "${BUS_PIDS%% *}"
wait "$pub"
down=$(ms)
os_req "$DT" DELETE "/ports/${P[2]}"
assert_eq "Neutron: vm2's port deleted while the broker is down" 204 "$OS_STATUS"
if topo_wait 12 eval '! in_kernel 4022'; then
	topo_pass "the poll removes vm2's forwarding ($(($(ms) - down)) ms)"
else
	topo_fail "the poll removes vm2's forwarding" "$(tail -3 "$AGENT_DIR/monitor.log")"
fi
assert_match "the poll says so" "Port ${P[2]} was deleted" "$(cat "$AGENT_DIR/monitor.log")"
sleep $(((20000 - ($(ms) - down)) / 1000))
assert_ok "the monitor runs through the outage" kill -0 "$MONITOR_PID"
assert_ok "it saw the connection go" test "$(logged 'Notifications: reading')" -ge 1
bus_private_start mbus || topo_fail "the broker starts again"
bus_publish "$BUS_URL" neutron notifications.info "$TOPO_DIR/one"
topo_wait 40 sh -c "[ \$(grep -c 'Notifications: consuming queue' '$AGENT_DIR/monitor.log') -ge 2 ]" ||
	topo_fail "the consumer comes back" "$(tail -3 "$AGENT_DIR/monitor.log")"
echo "# the consumer was back $(($(ms) - down)) ms after the broker died"
# Right after a poll, so that the next one (8 s away) cannot be what removes it.
cycles=$(logged 'reconcile:')
topo_wait 12 eval '[ "$(logged reconcile:)" -gt "$cycles" ]' || topo_fail "the poll runs"
os_req "$DT" DELETE "/ports/${P[3]}"
assert_eq "Neutron: vm3's port deleted" 204 "$OS_STATUS"
jq -cn --arg id "${P[3]}" '{"oslo.version": "2.0", "oslo.message": ({event_type: "port.delete.end", payload: {port: {id: $id}}} | tojson)}' >"$TOPO_DIR/del3"
t0=$(ms)
bus_publish "$BUS_URL" neutron notifications.info "$TOPO_DIR/del3"
if topo_wait 3 eval '! in_kernel 4023'; then
	took=$(($(ms) - t0))
	assert_ok "a notification removes vm3's forwarding within 1 s ($took ms)" test "$took" -le 1000
else
	topo_fail "a notification removes vm3's forwarding"
fi
topo_wait 3 grep -q "Notification port.delete.end for ${P[3]}: handled" "$AGENT_DIR/monitor.log" ||
	topo_fail "through the consumer" "$(tail -3 "$AGENT_DIR/monitor.log")"
assert_ok "vm1's forwarding stays" in_kernel 4021

agents_finish
