#!/usr/bin/env bash
# Issue 11 item 5: standalone, a router's facts (gateway, subnets, own
# addresses) are read from its namespace once and kept while an address
# watch there sees no change. Kept facts must never be stale: with the
# cache in use, a moved gateway, a removed subnet and a namespace replaced
# under the same name are each seen by the very next create (no wait for
# the 1 s gateway follow or the namespace watch), and traffic flows to the
# new gateway address. The agent's debug log counts the reads.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init rfc
topo_router r1
topo_outside client r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
NS=${TOPO[r1.ns]}
QR=${TOPO[r1.qr]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
CLIENT4=${TOPO[client.ip4]}
VM1=${TOPO[vm1.ip4]}
OLD=${TOPO[r1.gw4]}
NEW=${OLD%.*}.$((${OLD##*.} + 100))
LAN4=${TOPO[r1.lan4]} LAN6=${TOPO[r1.lan6]}

agent_config
agent_start --debug || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings
ext=6000
# create ADDRESS [PORT]: a create to ADDRESS:PORT (default: the next external
# port, so that each is new) on the next external port.
create() {
	ext=$((ext + 1))
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$1\",\"internal_port\":${2:-$ext},\"external_port\":$ext}}"
}
reads() { grep -c "Router $R: facts read from its namespace" "$AGENT_DIR/pat-agent.log"; }

# --- the cache in use: three creates, one read
for i in 1 2 3; do
	create "$VM1"
	assert_eq "create $i is 201 on $OLD" "201 $OLD" "$API_STATUS $(api_field port_forwarding.external_ip_address)"
done
assert_eq "three creates read the namespace once" 1 "$(reads)"
grep -q "Router $R: facts read from its namespace, kept until they change" "$AGENT_DIR/pat-agent.log" &&
	topo_pass "the facts are kept" || topo_fail "the facts are kept"

# --- the gateway moves: the very next create is on the new address
topo_router_set_gw r1 "$NEW" || topo_fail "move the gateway to $NEW"
create "$VM1" 22
assert_eq "the create right after the move is on $NEW" "201 $NEW" \
	"$API_STATUS $(api_field port_forwarding.external_ip_address)"
assert_eq "the client reaches vm1 through $NEW:$ext" "$CLIENT4 vm1" "$(topo_tcp_query client "$NEW" "$ext")"
assert_eq "the move made one more read" 2 "$(reads)"

# --- the only subnet goes: the very next create is refused, retryable
ip -n "$NS" addr del "$LAN4/24" dev "$QR" && ip -n "$NS" addr del "$LAN6/64" dev "$QR" ||
	topo_fail "remove the qr- addresses"
create "$VM1"
assert_eq "a create right after the subnet went is 503" 503 "$API_STATUS"
assert_match "router_not_ready, saying why" '"code": *"praas.router_not_ready".*no subnet' "$API_BODY"
topo__addr "$NS" "$QR" "$LAN4" "$LAN6" || topo_fail "restore the qr- addresses"
create "$VM1"
assert_eq "a create right after the subnet came back is 201" 201 "$API_STATUS"

# --- the namespace replaced under the same name (no inotify event): another
# namespace with gateway 198.51.100.77 and the same subnet bound in its place
OTHER=rfc-other-$$-$RANDOM
topo__ns_add "$OTHER" || topo_fail "add $OTHER"
ip -n "$OTHER" link add qg-0 type veth peer name xg-0 && ip -n "$OTHER" link add qr-0 type veth peer name xr-0 &&
	ip -n "$OTHER" link set qg-0 up && ip -n "$OTHER" link set qr-0 up &&
	ip -n "$OTHER" addr add 198.51.100.77/24 dev qg-0 && ip -n "$OTHER" addr add "$LAN4/24" dev qr-0 ||
	topo_fail "build $OTHER"
umount "$TOPO_NETNS_DIR/$NS" && mount --bind "/run/netns/$OTHER" "$TOPO_NETNS_DIR/$NS" ||
	topo_fail "bind $OTHER in place of $NS"
create "$VM1"
assert_eq "the create right after the swap sees the other namespace's gateway" "201 198.51.100.77" \
	"$API_STATUS $(api_field port_forwarding.external_ip_address)"
umount "$TOPO_NETNS_DIR/$NS" && mount --bind "/run/netns/$NS" "$TOPO_NETNS_DIR/$NS" ||
	topo_fail "bind $NS back"

agent_stop || topo_fail "the agent exits 0"
topo_finish
