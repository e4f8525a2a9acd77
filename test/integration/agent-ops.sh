#!/usr/bin/env bash
# The control socket of the real praas-pat-agent, standalone, end to end:
# who may connect (mode 0600, SO_PEERCRED), every op with real traffic
# through real router namespaces (list, port_deleted, port_address_changed,
# gateway_changed, resync, router_deleted), and malformed lines.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init aops
topo_require nft python3 setpriv stat sqlite3
getent passwd nobody >/dev/null || topo_skip "no user nobody to play another uid"
topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_vm vm2 r1
topo_router r2
topo_outside client2 r2
topo_vm vm3 r2
R1=${TOPO[r1.uuid]}
R2=${TOPO[r2.uuid]}
CLIENT4=${TOPO[client.ip4]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}
VM3=${TOPO[vm3.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2"
topo_serve_tcp -t vm2-80 vm2 any 80 || topo_fail "serve vm2:80"
topo_serve_tcp -t vm3 vm3 any 22 || topo_fail "serve vm3"

agent_config
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
SOCK=$AGENT_DIR/pat-agent.sock

# ctl_field ANSWER JSONPATH: a field of a control answer.
ctl_field() {
	python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$2" 2>/dev/null
}

# create ROUTER BODY-FIELDS: POST a forwarding, print its id.
create() {
	api POST "/v1/routers/$1/port_forwardings" "{\"port_forwarding\":{$2}}"
	[[ $API_STATUS == 201 ]] || {
		echo "# create on $1 ($2): $API_STATUS $API_BODY" >&2
		return 1
	}
	api_field port_forwarding.id
}

# elements NS: how many elements the praas table's maps hold in NS.
elements() { praas_elements "$1"; }

# --- who may connect
assert_eq "the socket is mode 0600" 600 "$(stat -c %a "$SOCK")"
assert_eq "the socket belongs to root" 0 "$(stat -c %u "$SOCK")"
ans=$(ctl '{"id":1,"op":"ping"}')
assert_eq "root is answered" true "$(ctl_field "$ans" ok)"
# Reads only: the agent answers a refused peer at once and closes, so a
# request written first could meet EPIPE before the answer is read.
as_nobody() {
	timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		socat -T 5 -u "UNIX-CONNECT:$SOCK" STDOUT </dev/null 2>&1
}
# Let nobody reach the socket file: the directories on the way, then the
# socket itself, so what refuses is the agent's SO_PEERCRED check and not the
# file mode.
chmod o+x "$TOPO_DIR" "$AGENT_DIR"
out=$(as_nobody)
assert_match "mode 0600 keeps another uid out (connect is refused)" 'Permission denied' "$out"
chmod 0666 "$SOCK"
out=$(as_nobody)
assert_match "SO_PEERCRED: another uid is refused by the agent" \
	'"ok": *false.*permission denied' "$out"
assert_ok "the agent logged the refusal" grep -q 'refused a peer with uid' "$AGENT_DIR/pat-agent.log"
chmod 0600 "$SOCK"
chmod o-x "$TOPO_DIR" "$AGENT_DIR"

# --- forwardings on two routers, with Neutron port ids. Standalone has no
# Neutron ports and refuses internal_port_id (it would be stored unchecked),
# so the ids are written into the database while the agent is stopped, as an
# OpenStack-mode run would have left them: the port ops match on them.
api POST "/v1/routers/$R1/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022,\"internal_port_id\":\"port-vm1\"}}"
assert_eq "standalone create with internal_port_id and an address is 400" 400 "$API_STATUS"
F1=$(create "$R1" "\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022")
assert_match "standalone create" '^[0-9a-f-]{36}$' "$F1"
F2=$(create "$R1" "\"internal_ip_address\":\"$VM2\",\"internal_port\":22,\"external_port\":4023")
F2B=$(create "$R1" "\"internal_ip_address\":\"$VM2\",\"internal_port\":80,\"external_port\":4080")
F3=$(create "$R2" "\"internal_ip_address\":\"$VM3\",\"internal_port\":22,\"external_port\":4022")
agent_stop || topo_fail "the agent stops to have port ids seeded"
sqlite3 "$AGENT_DIR/praas.db" "UPDATE forwardings SET internal_port_id = CASE id
	WHEN '$F1' THEN 'port-vm1' WHEN '$F2' THEN 'port-vm2' WHEN '$F2B' THEN 'port-vm2'
	WHEN '$F3' THEN 'port-vm3' END" || topo_fail "seed the port ids"
agent_start || { topo_fail "the agent starts again"; topo_finish; }
api GET "/v1/routers/$R1/port_forwardings/$F1"
assert_eq "the port id is kept" port-vm1 "$(api_field port_forwarding.internal_port_id)"
api POST "/v1/routers/$R1/port_forwardings" '{"port_forwarding":{"internal_port_id":"port-vm1","internal_port":23}}'
assert_eq "standalone create with a port id and no address is 400" 400 "$API_STATUS"
assert_match "...naming internal_port_id" internal_port_id "$API_BODY"
assert_eq "traffic to vm1 before" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"
assert_eq "traffic to vm2 before" "$CLIENT4 vm2" "$(topo_tcp_query client "$GW4" 4023)"
assert_eq "traffic to vm3 before" "${TOPO[client2.ip4]} vm3" \
	"$(topo_tcp_query client2 "${TOPO[r2.gw4]}" 4022)"

# --- list
ans=$(ctl '{"id":10,"op":"list"}')
assert_eq "list: ok" true "$(ctl_field "$ans" ok)"
assert_eq "list: the answer carries the id" 10 "$(ctl_field "$ans" id)"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["forwardings"]))' "$ans")
assert_eq "list: every forwarding" 4 "$n"
ans=$(ctl "{\"id\":11,\"op\":\"list\",\"router_id\":\"$R2\"}")
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["forwardings"]))' "$ans")
assert_eq "list with router_id: that router's only" 1 "$n"
assert_eq "list with router_id: the right one" "$F3" "$(ctl_field "$ans" forwardings.0.id)"
assert_eq "list shows the port id" port-vm3 "$(ctl_field "$ans" forwardings.0.internal_port_id)"
ans=$(ctl '{"id":12,"op":"list","router_id":"00000000-0000-4000-8000-000000000000"}')
assert_eq "list of an unknown router: ok, empty" "true 0" \
	"$(ctl_field "$ans" ok) $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["forwardings"]))' "$ans")"

# --- list in pages: by id, each forwarding once, next_marker until the last
pages=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
ids, sizes, marker = [], [], None
while True:
    req = {"op": "list", "limit": 3}
    if marker:
        req["marker"] = marker
    f.write(json.dumps(req) + "\n")
    f.flush()
    ans = json.loads(f.readline())
    ids += [x["id"] for x in ans["forwardings"]]
    sizes.append(str(len(ans["forwardings"])))
    marker = ans.get("next_marker")
    if not marker or len(sizes) > 5:
        break
print(",".join(sizes), "sorted" if ids == sorted(ids) else "unsorted", len(set(ids)))
PY
)
assert_eq "list in pages of 3: 3 then 1, by id, 4 distinct" "3,1 sorted 4" "$pages"
ans=$(ctl '{"id":13,"op":"list","limit":4}')
assert_eq "a page holding exactly the rest: all 4, no next_marker" "4 False" \
	"$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(len(a["forwardings"]), "next_marker" in a)' "$ans")"
ans=$(ctl "{\"id\":14,\"op\":\"list\",\"limit\":1,\"router_id\":\"$R1\"}")
assert_match "a page of one router's" "^[0-9a-f-]{36}$" "$(ctl_field "$ans" next_marker)"
ans=$(ctl '{"id":15,"op":"list","limit":0}')
assert_match "limit 0 is refused, saying why" "limit: must be an integer from 1 to 10000" \
	"$(ctl_field "$ans" error)"

# --- port_deleted: the forwardings of that port go, others stay
assert_match "a session through vm1's forwarding is open" vm1 "$(topo_tcp_session_open s1 client "$GW4" 4022)"
ans=$(ctl '{"id":20,"op":"port_deleted","port_id":"port-vm1"}')
assert_eq "port_deleted: ok" true "$(ctl_field "$ans" ok)"
assert_eq "port_deleted: one changed" 1 "$(ctl_field "$ans" changed)"
api GET "/v1/routers/$R1/port_forwardings/$F1"
assert_eq "port_deleted: the forwarding is gone from the API" 404 "$API_STATUS"
assert_fails "port_deleted: gateway:4022 no longer reaches vm1" topo_tcp_query client "$GW4" 4022 2
assert_fails "port_deleted: the established session is cut (conntrack)" topo_tcp_session_send s1 2
topo_tcp_session_close s1
assert_eq "port_deleted: vm2's forwarding still works" "$CLIENT4 vm2" "$(topo_tcp_query client "$GW4" 4023)"
ans=$(ctl '{"id":21,"op":"port_deleted","port_id":"port-vm1"}')
assert_eq "port_deleted again: ok, nothing changed" "true 0" \
	"$(ctl_field "$ans" ok) $(ctl_field "$ans" changed)"

# --- port_address_changed: the VM moves, its forwardings follow
NEW2=${VM2%.*}.77
topo_exec vm2 ip addr del "$VM2/24" dev eth0
topo_exec vm2 ip addr add "$NEW2/24" dev eth0
topo_exec vm2 ip route replace default via "${TOPO[vm2.gw4]}"
assert_fails "after the VM moved, the old target is dead" topo_tcp_query client "$GW4" 4023 2
ans=$(ctl "{\"id\":30,\"op\":\"port_address_changed\",\"port_id\":\"port-vm2\",\"old_ip\":\"$VM2\",\"new_ip\":\"$NEW2\"}")
assert_eq "port_address_changed: ok" true "$(ctl_field "$ans" ok)"
assert_eq "port_address_changed: both forwardings of the port" 2 "$(ctl_field "$ans" changed)"
assert_eq "traffic follows the VM to its new address" "$CLIENT4 vm2" \
	"$(topo_tcp_query client "$GW4" 4023)"
assert_eq "...on every forwarded port" "$CLIENT4 vm2-80" "$(topo_tcp_query client "$GW4" 4080)"
api GET "/v1/routers/$R1/port_forwardings/$F2"
assert_eq "the API shows the new address" "$NEW2" "$(api_field port_forwarding.internal_ip_address)"
assert_eq "the external port is kept" 4023 "$(api_field port_forwarding.external_port)"
api GET "/v1/routers/$R1/port_forwardings/$F2B"
assert_eq "the port's other forwarding moved too" "$NEW2:4080" \
	"$(api_field port_forwarding.internal_ip_address):$(api_field port_forwarding.external_port)"
ans=$(ctl '{"id":31,"op":"port_address_changed","port_id":"port-vm2","old_ip":"10.0.0.12","new_ip":"2001:db8:2::12"}')
assert_eq "port_address_changed across families: ok:false" false "$(ctl_field "$ans" ok)"

# --- gateway_changed: same external port on the new gateway address
NEWGW=${GW4%.*}.50
topo_router_set_gw r1 "$NEWGW"
ans=$(ctl "{\"id\":40,\"op\":\"gateway_changed\",\"router_id\":\"$R1\",\"new_ip\":\"$NEWGW\"}")
assert_eq "gateway_changed: ok" true "$(ctl_field "$ans" ok)"
assert_eq "gateway_changed: both IPv4 forwardings re-keyed" 2 "$(ctl_field "$ans" changed)"
assert_eq "traffic works on the new gateway address, same port" "$CLIENT4 vm2" \
	"$(topo_tcp_query client "$NEWGW" 4023)"
api GET "/v1/routers/$R1/port_forwardings/$F2"
assert_eq "the API shows the new external address" "$NEWGW" \
	"$(api_field port_forwarding.external_ip_address)"
F4=$(create "$R1" "\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4024")
api GET "/v1/routers/$R1/port_forwardings/$F4"
assert_eq "a new forwarding uses the new gateway" "$NEWGW" \
	"$(api_field port_forwarding.external_ip_address)"
assert_eq "...and works" "$CLIENT4 vm1" "$(topo_tcp_query client "$NEWGW" 4024)"
GW4=$NEWGW

# --- resync: a table flushed by hand comes back
topo_exec r1 nft flush table inet praas
assert_fails "a flushed table forwards nothing" topo_tcp_query client "$GW4" 4023 2
ans=$(ctl "{\"id\":50,\"op\":\"resync\",\"router_id\":\"$R1\"}")
assert_eq "resync: ok" true "$(ctl_field "$ans" ok)"
assert_eq "after resync traffic is back" "$CLIENT4 vm2" "$(topo_tcp_query client "$GW4" 4023)"
topo_exec r1 nft delete table inet praas
ans=$(ctl '{"id":51,"op":"resync"}')
assert_eq "resync of every router: ok" true "$(ctl_field "$ans" ok)"
assert_eq "after a deleted table and a full resync traffic is back" "$CLIENT4 vm2-80" \
	"$(topo_tcp_query client "$GW4" 4080)"
ans=$(ctl '{"id":52,"op":"resync","router_id":"00000000-0000-4000-8000-000000000000"}')
assert_eq "resync of a router not on this node: ok:false" false "$(ctl_field "$ans" ok)"

# --- router_deleted: forwardings gone, table empty
assert_eq "r2 holds elements before" 1 "$(elements r2)"
ans=$(ctl "{\"id\":60,\"op\":\"router_deleted\",\"router_id\":\"$R2\"}")
assert_eq "router_deleted: ok" true "$(ctl_field "$ans" ok)"
assert_eq "router_deleted: one changed" 1 "$(ctl_field "$ans" changed)"
api GET "/v1/routers/$R2/port_forwardings"
assert_eq "router_deleted: the API lists nothing" '{"port_forwardings":[]}' "$(tr -d ' ' <<<"$API_BODY")"
assert_eq "router_deleted: the table's maps are empty" 0 "$(elements r2)"
assert_fails "router_deleted: no traffic" topo_tcp_query client2 "${TOPO[r2.gw4]}" 4022 2
assert_eq "r1 is untouched" "$CLIENT4 vm2" "$(topo_tcp_query client "$GW4" 4023)"

# --- malformed lines: ok:false, the connection goes on
bad_lines=(
	'not json'
	'{"op":"nope"}'
	'{"id":70,"op":"port_deleted"}'
	'{"id":71,"op":"list","colour":1}'
	'{"id":72,"op":"port_address_changed","port_id":"p","old_ip":"bad","new_ip":"10.0.0.1"}'
	'{"id":"seven","op":"list"}'
	'[1,2,3]'
	'{"id":73,"op":"router_deleted","router_id":"../../etc"}'
)
for line in "${bad_lines[@]}"; do
	ans=$(ctl "$line")
	assert_eq "malformed '$line' is answered ok:false" false "$(ctl_field "$ans" ok)"
done
ans=$(ctl '{"id":72,"op":"port_address_changed","port_id":"p","old_ip":"bad","new_ip":"10.0.0.1"}')
assert_eq "an error answer carries the request's id" 72 "$(ctl_field "$ans" id)"
out=$(printf '%s\n' 'garbage' '{"id":80,"op":"ping"}' |
	timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")
assert_eq "after a bad line the same connection answers the next" \
	"false true" "$(head -n1 <<<"$out" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["ok"]).lower())') $(sed -n 2p <<<"$out" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["ok"]).lower())')"
long=$(head -c 70000 /dev/zero | tr '\0' 'x')
out=$(printf '{"op":"list","x":"%s"}\n' "$long" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")
assert_match "a line over 64 KiB is refused" '"ok": *false.*longer' "$out"
ans=$(ctl '{"id":81,"op":"ping"}')
assert_eq "the agent still answers" true "$(ctl_field "$ans" ok)"

agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
