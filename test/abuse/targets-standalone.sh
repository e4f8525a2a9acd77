#!/usr/bin/env bash
# Issue 10, defects 7, 10 and 11 (standalone part): a forwarding leads to a
# VM, never to the router itself or to a subnet's network or broadcast
# address; internal_port_id is refused (standalone has no Neutron ports);
# an unknown router lists as 404; a namespace still being built answers a
# retryable 503, not 400/409. The real agent, real namespaces, real traffic.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init tgt
topo_router r1
topo_outside client r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
LAN4=${TOPO[r1.lan4]} # the router's own qr- address
LAN6=${TOPO[r1.lan6]}
P4=${TOPO[r1-lan.p4]} # the /24 of the qr- subnet, e.g. 10.0.0
P6=${TOPO[r1-lan.p6]} # its /64, e.g. 2001:db8:2

agent_config
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings
ext=5000

# create_refused DESC ADDRESS STATUS CODE WORDS: a create to ADDRESS is refused so.
create_refused() {
	local desc=$1 addr=$2 status=$3 code=$4 words=$5
	ext=$((ext + 1))
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$addr\",\"internal_port\":22,\"external_port\":$ext}}"
	assert_eq "$desc: $status" "$status" "$API_STATUS"
	assert_match "$desc: $code, saying why" "\"code\": *\"$code\".*$words" "$API_BODY"
}

create_refused "the router's own qr- address" "$LAN4" 400 praas.bad_target "address of router $R itself"
create_refused "the router's own IPv6 qr- address" "$LAN6" 400 praas.bad_target "address of router $R itself"
create_refused "the subnet's network address" "$P4.0" 400 praas.bad_target "network address of subnet $P4.0/24"
create_refused "the subnet's broadcast address" "$P4.255" 400 praas.bad_target "broadcast address of subnet $P4.0/24"
create_refused "the IPv6 subnet's Subnet-Router anycast address" "$P6::" 400 praas.bad_target "network address of subnet"
create_refused "the gateway address (not on a qr- subnet)" "$GW4" 400 praas.bad_request "not on a subnet attached"
create_refused "an address on no subnet of the router" 192.0.2.7 400 praas.bad_request "not on a subnet attached"

# The legacy API refuses the same targets.
out=$(curl -s -X POST "$AGENT_URL/pat/create?server_ip=$LAN4&router_id=qrouter-$R&create_server_port=22&gateway=$GW4")
assert_match "legacy create to the router's own address is an ERROR naming it" \
	'"status": *"ERROR".*address of router .* itself' "$out"

# internal_port_id: refused with an address too (it would be stored unchecked).
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port_id\":\"1f0c6c62-7d3f-4c1e-9a57-1d2b3c4d5e6f\",\"internal_port\":22,\"external_port\":5100}}"
assert_eq "internal_port_id with an address, standalone: 400" 400 "$API_STATUS"
assert_match "internal_port_id: the detail names the field" 'internal_port_id: standalone mode has no Neutron ports' "$API_BODY"
api GET "$base"
assert_eq "nothing refused was stored" 0 "$(api_field port_forwardings | python3 -c 'import ast,sys; print(len(ast.literal_eval(sys.stdin.read())))')"

# A VM's address still works, with traffic.
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a VM target is 201" 201 "$API_STATUS"
F1=$(api_field port_forwarding.id)
assert_eq "the client reaches vm1 through gateway:4022" "${TOPO[client.ip4]} vm1" \
	"$(topo_tcp_query client "$GW4" 4022)"
api PUT "$base/$F1" "{\"port_forwarding\":{\"internal_ip_address\":\"$P4.255\"}}"
assert_eq "an update to the broadcast address is 400" 400 "$API_STATUS"
api PUT "$base/$F1" "{\"port_forwarding\":{\"internal_port_id\":\"1f0c6c62-7d3f-4c1e-9a57-1d2b3c4d5e6f\"}}"
assert_eq "an update setting internal_port_id is 400" 400 "$API_STATUS"

# --- listing an unknown router: 404, as documented; a known one: 200.
api GET "/v1/routers/no-such-router/port_forwardings"
assert_eq "listing a router with no namespace and no forwardings is 404" 404 "$API_STATUS"
assert_match "  ...praas.router_not_found" '"code": *"praas.router_not_found"' "$API_BODY"
api GET "$base"
assert_eq "listing a present router is 200" 200 "$API_STATUS"
# A router whose namespace went away keeps its DOWN forwardings listable.
topo_router_del r1
topo_wait 5 bash -c "curl -s '$AGENT_URL$base' | grep -q '\"DOWN\"'" || true
api GET "$base"
assert_eq "listing a router with DOWN forwardings (namespace gone) is 200" 200 "$API_STATUS"
assert_match "  ...which shows them DOWN" '"status": *"DOWN"' "$API_BODY"
topo_router_restore r1

# --- a namespace still being built: 503 praas.router_not_ready, retryable.
U2=$(</proc/sys/kernel/random/uuid)
NS2=qrouter-$U2
topo__ns_add "$NS2" || topo_fail "make $NS2"
: >"$TOPO_NETNS_DIR/$NS2"
mount --bind "/run/netns/$NS2" "$TOPO_NETNS_DIR/$NS2" || topo_fail "mount $NS2"
b2=/v1/routers/$U2/port_forwardings
api POST "$b2" '{"port_forwarding":{"internal_ip_address":"10.9.0.10","internal_port":22,"external_port":4022}}'
assert_eq "create while the namespace has no address: 503" 503 "$API_STATUS"
assert_match "  ...praas.router_not_ready, saying retry" '"code": *"praas.router_not_ready".*retry' "$API_BODY"
ip -n "$NS2" link add qg-0000 type veth peer name xg-0000 && ip -n "$NS2" link set qg-0000 up && ip -n "$NS2" link set xg-0000 up &&
	ip -n "$NS2" addr add 198.51.100.2/24 dev qg-0000 || topo_fail "qg- on $NS2"
api POST "$b2" '{"port_forwarding":{"internal_ip_address":"10.9.0.10","internal_port":22,"external_port":4022}}'
assert_eq "create with a gateway but no qr- subnet yet: 503" 503 "$API_STATUS"
assert_match "  ...praas.router_not_ready" '"code": *"praas.router_not_ready"' "$API_BODY"
ip -n "$NS2" link add qr-0000 type veth peer name xr-0000 && ip -n "$NS2" link set qr-0000 up && ip -n "$NS2" link set xr-0000 up &&
	ip -n "$NS2" addr add 10.9.0.1/24 dev qr-0000 || topo_fail "qr- on $NS2"
api POST "$b2" '{"port_forwarding":{"internal_ip_address":"10.9.0.10","internal_port":22,"external_port":4022}}'
assert_eq "once configured, the same create is 201" 201 "$API_STATUS"

agent_stop || topo_fail "the agent exits 0"
topo_finish
