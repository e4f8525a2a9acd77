#!/usr/bin/env bash
# Why a forwarding is DOWN, and who changed what, against the real
# praas-pat-agent, standalone, with real router namespaces:
#  - a router namespace vanishes: its forwardings go DOWN with status_reason
#    "namespace_absent"; ?status=DOWN lists exactly those, ?status=ACTIVE the
#    others (status_reason null); a bad status is a 400 naming it;
#  - a table the kernel will not let the agent write (another process owns
#    it) leaves the router's forwardings DOWN with "kernel_refused" after a
#    restart, with the kernel's words in the log, until a resync;
#  - /metrics counts them in praas_forwardings_by_reason;
#  - `praas forwarding show` prints the reason;
#  - the audit line (docs/design.md "Audit") for a v1 create, update and
#    delete, a legacy create, modify and remove, and a control socket
#    router_deleted (monitor-delete) and port_address_changed
#    (monitor-retarget), with request id, project, user
#    ("-" standalone: auth none has neither), router, id and ports.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init astat
topo_require python3 socat sqlite3
topo_router r1
topo_vm vm1 r1
topo_router -x 198.51.100 -X 2001:db8:5 r2
topo_vm vm2 r2
topo_router r3
topo_vm vm3 r3
R3=${TOPO[r3.uuid]}
VM3=${TOPO[vm3.ip4]}
R1=${TOPO[r1.uuid]}
R2=${TOPO[r2.uuid]}
GW1=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}

agent_config
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
LOG=$AGENT_DIR/pat-agent.log

# audit_line OP ID: the agent's audit line for OP on forwarding ID.
audit_line() { grep -E "audit: op=$1 .* id=$2 " "$LOG" | tail -n 1; }

# --- v1 create: the request id the client got is in the line
hdr=$TOPO_DIR/create.hdr
body=$(curl -s -m 10 -D "$hdr" -H 'Content-Type: application/json' \
	--data-binary "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}" \
	"$AGENT_URL/v1/routers/$R1/port_forwardings")
API_BODY=$body
F1=$(api_field port_forwarding.id 2>/dev/null)
assert_match "v1 create on r1" '^[0-9a-f-]{36}$' "$F1"
REQ=$(tr -d '\r' <"$hdr" | sed -n 's/^[Xx]-[Oo]penstack-[Rr]equest-[Ii]d: *//p')
assert_match "the create has a request id" '^req-' "$REQ"
line=$(audit_line create "$F1")
assert_match "audit: v1 create with request id, project, user, router, ports" \
	"^.*audit: op=create req=$REQ project=- user=- router=$R1 id=$F1 protocol=tcp external=$GW1:4022 internal=$VM1:22\$" "$line"

api POST "/v1/routers/$R2/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":22,\"external_port\":4022}}"
F2=$(api_field port_forwarding.id 2>/dev/null)
api POST "/v1/routers/$R2/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port_range\":\"80:81\",\"external_port_range\":\"5080:5081\"}}"
F3=$(api_field port_forwarding.id 2>/dev/null)
assert_match "two v1 creates on r2" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "$F2 $F3"
assert_ok "audit: the range's ports are logged as ranges" \
	grep -qE "audit: op=create .* id=$F3 protocol=tcp external=[0-9.]+:5080:5081 internal=$VM2:80:81\$" "$LOG"

# --- v1 update: the new and the replaced ports
api PUT "/v1/routers/$R1/port_forwardings/$F1" '{"port_forwarding":{"external_port":4122}}'
assert_eq "v1 update" 200 "$API_STATUS"
line=$(audit_line update "$F1")
assert_match "audit: v1 update with the new and the replaced ports" \
	"op=update req=req-[^ ]+ project=- user=- router=$R1 id=$F1 protocol=tcp external=$GW1:4122 internal=$VM1:22 was=$GW1:4022->$VM1:22\$" "$line"

# --- status: all ACTIVE while both namespaces are there
api GET "/v1/port_forwardings/$F1" "" 2>/dev/null
api GET "/v1/routers/$R1/port_forwardings/$F1"
assert_eq "an ACTIVE forwarding has status_reason null" "ACTIVE None" \
	"$(api_field port_forwarding.status) $(api_field port_forwarding.status_reason)"

# --- r2's namespace vanishes: its forwardings go DOWN, namespace_absent
t0=$(date +%s.%N)
topo_router_del r2
down_both() {
	api GET "/v1/port_forwardings?status=DOWN"
	[[ $API_STATUS == 200 ]] && [[ $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY") == 2 ]]
}
if topo_wait 20 down_both; then
	t1=$(date +%s.%N)
	echo "figure: namespace_absent_seen_ms $(python3 -c 'import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$t0" "$t1") ms"
else
	topo_fail "r2's forwardings went DOWN within 20 s ($API_STATUS $API_BODY)"
fi

api GET "/v1/port_forwardings?status=DOWN"
assert_eq "?status=DOWN is 200" 200 "$API_STATUS"
assert_eq "?status=DOWN lists exactly r2's two, namespace_absent" \
	"$(printf '%s\n' "$F2" "$F3" | sort | tr '\n' ' ')" \
	"$(python3 -c '
import json, sys
l = json.loads(sys.argv[1])["port_forwardings"]
assert all(f["status"] == "DOWN" and f["status_reason"] == "namespace_absent" for f in l), l
print(" ".join(sorted(f["id"] for f in l)) + " ")' "$API_BODY")"
api GET "/v1/port_forwardings?status=ACTIVE"
assert_eq "?status=ACTIVE lists exactly r1's, status_reason null" "$F1:ACTIVE:None" \
	"$(python3 -c '
import json, sys
print(" ".join("%s:%s:%s" % (f["id"], f["status"], f["status_reason"]) for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
api GET "/v1/routers/$R2/port_forwardings?status=DOWN&protocol=tcp"
assert_eq "the router listing takes ?status=DOWN too" "200 2" \
	"$API_STATUS $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
api GET "/v1/routers/$R1/port_forwardings?status=DOWN"
assert_eq "r1 has no DOWN one" "200 0" \
	"$API_STATUS $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
api GET "/v1/port_forwardings?status=down"
assert_eq "?status=down (not as shown) is 400" 400 "$API_STATUS"
assert_match "the 400 says what status may be" 'status: must be ACTIVE, BUILD, ERROR or DOWN' "$API_BODY"
api GET "/v1/routers/$R2/port_forwardings/$F2"
assert_eq "show: DOWN, namespace_absent" "DOWN namespace_absent" \
	"$(api_field port_forwarding.status) $(api_field port_forwarding.status_reason)"

# --- /metrics by reason
metrics=$(curl -s -m 10 "$AGENT_URL/metrics")
assert_match "/metrics: two DOWN, namespace_absent" \
	'praas_forwardings_by_reason\{reason="namespace_absent"\} 2' "$metrics"
assert_match "/metrics: none kernel_refused" \
	'praas_forwardings_by_reason\{reason="kernel_refused"\} 0' "$metrics"
assert_match "/metrics: praas_forwardings keeps its name and labels" \
	'praas_forwardings\{status="DOWN"\} 2' "$metrics"
echo "figure: forwardings_down_namespace_absent $(sed -n 's/^praas_forwardings_by_reason{reason="namespace_absent"} //p' <<<"$metrics") forwardings"

# --- praas forwarding show prints the reason
if [[ -x ${PRAAS_CLI:-} ]]; then
	out=$(env -u OS_CLOUD -u OS_AUTH_URL -u OS_CLIENT_CONFIG_FILE PRAAS_URL=$AGENT_URL \
		"$PRAAS_CLI" forwarding show --router "$R2" "$F2" 2>&1)
	assert_match "praas forwarding show prints status_reason" \
		'status_reason +\| namespace_absent' "$out"
else
	topo_fail "no praas CLI at ${PRAAS_CLI:-(unset)}"
fi

# --- control socket: router_deleted removes r2's two, each audited
ans=$(ctl "{\"id\":1,\"op\":\"router_deleted\",\"router_id\":\"$R2\"}")
assert_match "router_deleted is done" '"ok": *true' "$ans"
for f in "$F2" "$F3"; do
	assert_match "audit: control socket removal of $f (req=control, no project or user)" \
		"op=monitor-delete req=control project=- user=- router=$R2 id=$f protocol=tcp external=" \
		"$(audit_line monitor-delete "$f")"
done

# --- v1 delete
api DELETE "/v1/routers/$R1/port_forwardings/$F1"
assert_eq "v1 delete" 204 "$API_STATUS"
assert_match "audit: v1 delete" \
	"op=delete req=req-[^ ]+ project=- user=- router=$R1 id=$F1 protocol=tcp external=$GW1:4122 internal=$VM1:22\$" \
	"$(audit_line delete "$F1")"

# --- legacy create, modify, remove
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R1&create_server_port=22&gateway=$GW1" ""
assert_match "legacy create" '"status":"SUCCESS"' "$API_BODY"
api GET "/v1/routers/$R1/port_forwardings"
FL=$(api_field port_forwardings.0.id 2>/dev/null)
PL=$(api_field port_forwardings.0.external_port 2>/dev/null)
assert_match "audit: legacy create" \
	"op=create req=req-[^ ]+ project=- user=- router=$R1 id=$FL protocol=tcp external=$GW1:$PL internal=$VM1:22\$" \
	"$(audit_line create "$FL")"
api POST "/pat/modify?server_ip=$VM1&router_id=qrouter-$R1&modify_server_port=22&modify_router_port=4500&gateway=$GW1" ""
assert_match "audit: legacy modify" \
	"op=update req=req-[^ ]+ project=- user=- router=$R1 id=$FL protocol=tcp external=$GW1:4500 internal=$VM1:22 was=$GW1:$PL->$VM1:22\$" \
	"$(audit_line update "$FL")"
api POST "/pat/remove?server_ip=$VM1&router_id=qrouter-$R1&remove_server_port=22&gateway=$GW1" ""
assert_match "audit: legacy remove" \
	"op=delete req=req-[^ ]+ project=- user=- router=$R1 id=$FL protocol=tcp external=$GW1:4500 internal=$VM1:22\$" \
	"$(audit_line delete "$FL")"

# --- control socket: port_address_changed retargets, audited with the old
# target. Standalone has no Neutron ports, so the port id is written into
# the database while the agent is stopped, as an OpenStack-mode run would
# have left it.
api POST "/v1/routers/$R1/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":80,\"external_port\":4080}}"
F4=$(api_field port_forwarding.id 2>/dev/null)
api POST "/v1/routers/$R3/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM3\",\"internal_port\":22,\"external_port\":4022}}"
F5=$(api_field port_forwarding.id 2>/dev/null)
assert_eq "r3's forwarding is ACTIVE" ACTIVE "$(api_field port_forwarding.status 2>/dev/null)"
agent_stop || topo_fail "the agent stops to have a port id seeded"
sqlite3 "$AGENT_DIR/praas.db" "UPDATE forwardings SET internal_port_id = 'port-vm1' WHERE id = '$F4'" ||
	topo_fail "seed the port id"

# --- kernel_refused: while the agent is stopped, another process takes
# r3's table with the owner flag (Linux 5.12+: only the owning netlink
# socket may change it), so the kernel refuses the agent's restore (EPERM).
topo_table_take r3 || topo_fail "r3's table is owned by another process: $(cat "$TOPO_DIR/owner.out")"
agent_start || topo_fail "the agent starts again"
api GET "/v1/routers/$R3/port_forwardings/$F5"
assert_eq "restore refused by the kernel: DOWN, kernel_refused" "DOWN kernel_refused" \
	"$(api_field port_forwarding.status) $(api_field port_forwarding.status_reason)"
assert_match "the log has the kernel's words for it" \
	"Failed to restore router $R3: .*(not permitted|EPERM)" "$(cat "$LOG")"
api GET "/v1/port_forwardings?status=DOWN"
assert_eq "?status=DOWN lists exactly r3's" "$F5:kernel_refused" \
	"$(python3 -c '
import json, sys
print(" ".join("%s:%s" % (f["id"], f["status_reason"]) for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
metrics=$(curl -s -m 10 "$AGENT_URL/metrics")
assert_match "/metrics: one DOWN, kernel_refused" \
	'praas_forwardings_by_reason\{reason="kernel_refused"\} 1' "$metrics"
assert_match "/metrics: none namespace_absent now" \
	'praas_forwardings_by_reason\{reason="namespace_absent"\} 0' "$metrics"
echo "figure: forwardings_down_kernel_refused $(sed -n 's/^praas_forwardings_by_reason{reason="kernel_refused"} //p' <<<"$metrics") forwardings"
# The owner exits (its table goes with its socket); a resync writes it.
topo_table_release
unowned() { ! topo_table_owned r3; }
topo_wait 5 unowned || topo_fail "r3's owned table went with its owner"
ans=$(ctl "{\"id\":3,\"op\":\"resync\",\"router_id\":\"$R3\"}")
assert_match "resync of r3 once the owner is gone" '"ok": *true' "$ans"
api GET "/v1/routers/$R3/port_forwardings/$F5"
assert_eq "after the resync: ACTIVE, status_reason null" "ACTIVE None" \
	"$(api_field port_forwarding.status) $(api_field port_forwarding.status_reason)"
NEW1=${VM1%.*}.99
ans=$(ctl "{\"id\":2,\"op\":\"port_address_changed\",\"port_id\":\"port-vm1\",\"old_ip\":\"$VM1\",\"new_ip\":\"$NEW1\"}")
assert_match "port_address_changed is done" '"ok": *true' "$ans"
assert_match "audit: control socket retarget, with the replaced target" \
	"op=monitor-retarget req=control project=- user=- router=$R1 id=$F4 protocol=tcp external=$GW1:4080 internal=$NEW1:80 was=$GW1:4080->$VM1:80\$" \
	"$(audit_line monitor-retarget "$F4")"
echo "figure: audit_lines $(grep -c 'audit: op=' "$LOG") lines"

agent_stop || topo_fail "the agent stops cleanly"
topo_finish
