#!/usr/bin/env bash
# Issue 13 against the real loopback Neutron: a router Neutron says is
# distributed (admin-only "distributed": true) is DVR for the agent. On a
# node holding only its qrouter- namespace (a compute node's kind, or a
# dvr_snat node whose SNAT part is elsewhere), a forwarding is stored DOWN
# (namespace_absent) and nothing is written into qrouter- when it appears
# (the agent learnt the kind from Neutron at the create; at a start, before
# any lookup, it knows only what the namespaces say); when the router's
# snat- namespace appears it is programmed within a second and traffic
# passes (client -> snat- -> VM, back through qrouter-).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/openstack.sh"
. "$here/lib/topo-dvr.sh"

topo_init dvros
os_require
D="dvros-$TOPO_ID"
os_tenant demo "$D" 10.74.$((RANDOM % 200)) || { topo_fail "demo tenant in Neutron"; topo_finish; }
DEMO=$(os_token demo) ADMIN=$(os_token admin)
RID=${OS[$D.router]} GW=${OS[$D.gw4]} C3=${OS[$D.cidr3]}
os_vm_port demo vmport "$D" "$C3.11" || topo_fail "a VM port"
# Legacy to DVR, as an admin migrates it: down, distributed, up.
for body in '{"router":{"admin_state_up":false}}' '{"router":{"distributed":true}}' \
	'{"router":{"admin_state_up":true}}'; do
	neutron "$ADMIN" PUT "/routers/$RID" "$body"
	[[ $OS_STATUS == 200 ]] || topo_fail "router update $body" "$OS_BODY"
done
assert_eq "Neutron says the router is distributed" True "$(os_json 'j["router"]["distributed"]')"

topo_dvr_router "$RID" 172.24.4 "$C3" "$GW" || topo_fail "the router's segments"
TOPO["dvr-ext.host"]=240
topo_outside client dvr-ext || topo_fail "client"
topo_vm vm dvr-lan || topo_fail "vm"
topo_serve_tcp -t vm vm any 22 || topo_fail "serve vm"
QROUTER=${TOPO[dvr.qrouter]} SNAT=${TOPO[dvr.snat]}

has_table() {
	ip netns exec "${TOPO[$1.ns]}" nft list table inet praas >/dev/null 2>&1
}

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$OS_CLOUDS_YAML\""
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$RID/port_forwardings

api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$C3.11\",\"internal_port\":22,\"external_port\":4022}}" \
	-H "X-Auth-Token: $DEMO"
assert_eq "create on the DVR router, its snat- not on this node: 201" 201 "$API_STATUS"
FID=$(api_field port_forwarding.id 2>/dev/null)
assert_eq "  ...stored DOWN" DOWN "$(api_field port_forwarding.status 2>/dev/null)"
assert_eq "  ...namespace_absent" namespace_absent "$(api_field port_forwarding.status_reason 2>/dev/null)"
# Its qrouter- namespace appears (the distributed part, no qg-): left alone.
topo_dvr_qrouter || topo_fail "qrouter- namespace"
sleep 1
assert_fails "nothing written into its qrouter- namespace" has_table "$QROUTER"
api GET "$base/$FID" "" -H "X-Auth-Token: $DEMO"
assert_eq "  ...still DOWN, namespace_absent" "DOWN namespace_absent" \
	"$(api_field port_forwarding.status) $(api_field port_forwarding.status_reason)"

status_is() {
	api GET "$base/$FID" "" -H "X-Auth-Token: $DEMO"
	[[ $(api_field port_forwarding.status) == "$1" ]]
}
topo_dvr_snat || topo_fail "snat- namespace"
topo_wait 1 status_is ACTIVE
assert_eq "snat- appears: ACTIVE within a second" 0 $?
assert_eq "snat- holds the forwarding" 1 "$(praas_elements "$SNAT" dnat4)"
assert_fails "qrouter- still has no table" has_table "$QROUTER"
assert_eq "traffic: client -> snat- -> VM and back" "${TOPO[client.ip4]} vm" \
	"$(topo_tcp_query client "$GW" 4022)"

agent_stop || topo_fail "the agent exits 0"
topo_finish
