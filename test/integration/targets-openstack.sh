#!/usr/bin/env bash
# Issue 10, defect 7, against the real loopback Neutron: a forwarding's
# target must be a VM port. A tenant's forwardings to the router's own
# interface port (network:router_interface) or to a DHCP port (network:dhcp)
# are refused with 400 praas.bad_target naming the owner, whether the target
# is given by address or by internal_port_id, on v1 and on the legacy API; a
# port without an owner is accepted from an admin only; a compute:nova port
# is accepted and carries traffic through a namespace built as Neutron says.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/openstack.sh"

topo_init tgos
os_require
sfx=$TOPO_ID
DEMO=$(os_token demo)
ADMIN=$(os_token admin)
D="tgos-$sfx"
os_tenant demo "$D" 10.73.$((RANDOM % 200)) || { topo_fail "demo tenant in Neutron"; topo_finish; }
C3=${OS[$D.cidr3]}
RID=${OS[$D.router]}
os_vm_port demo vmport "$D" "$C3.11" || topo_fail "a VM port"
# The router's own interface port (made by add_router_interface, at .1).
neutron "$DEMO" GET "/ports?device_id=$RID&device_owner=network:router_interface&fields=id"
RIF=$(os_json 'j["ports"][0]["id"]')
[[ -n $RIF ]] || topo_fail "the router interface port" "$OS_BODY"
# A DHCP port and a port without an owner, demo's own (it owns the network).
os_make "$DEMO" port "{\"port\":{\"name\":\"dhcp-$sfx\",\"network_id\":\"${OS[$D.net]}\",\"device_owner\":\"network:dhcp\",\"device_id\":\"dhcp-$sfx\",\"fixed_ips\":[{\"subnet_id\":\"${OS[$D.subnet]}\",\"ip_address\":\"$C3.2\"}]}}" ||
	topo_fail "a DHCP port"
DHCP=$OS_ID
os_make "$DEMO" port "{\"port\":{\"name\":\"bare-$sfx\",\"network_id\":\"${OS[$D.net]}\",\"fixed_ips\":[{\"subnet_id\":\"${OS[$D.subnet]}\",\"ip_address\":\"$C3.13\"}]}}" ||
	topo_fail "a port without an owner"
BARE=$OS_ID

# The namespace, as a network node would have it.
topo_router -x 172.24.4 -l "$C3" rd "$RID"
topo_router_set_gw rd "${OS[$D.gw4]}"
TOPO[rd-ext.host]=240
topo_outside client rd
topo_vm vm rd
topo_serve_tcp -t vm vm any 22 || topo_fail "serve vm"
GW=${OS[$D.gw4]}

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$OS_CLOUDS_YAML\""
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$RID/port_forwardings
ext=5000

# refused DESC TOKEN TARGET_JSON OWNER_WORDS
refused() {
	ext=$((ext + 1))
	api POST "$base" "{\"port_forwarding\":{$3,\"internal_port\":22,\"external_port\":$ext}}" -H "X-Auth-Token: $2"
	assert_eq "$1: 400" 400 "$API_STATUS"
	assert_match "$1: praas.bad_target naming why" "\"code\": *\"praas.bad_target\".*$4" "$API_BODY"
}
refused "demo to the router's interface address" "$DEMO" "\"internal_ip_address\":\"$C3.1\"" 'is a network:router_interface port'
refused "demo to the router's interface port id" "$DEMO" "\"internal_port_id\":\"$RIF\"" 'is a network:router_interface port'
refused "demo to the DHCP port's address" "$DEMO" "\"internal_ip_address\":\"$C3.2\"" "port $DHCP .* is a network:dhcp port; forwardings may target VM ports"
refused "demo to the DHCP port id" "$DEMO" "\"internal_port_id\":\"$DHCP\"" 'is a network:dhcp port'
refused "admin to the DHCP port too" "$ADMIN" "\"internal_ip_address\":\"$C3.2\"" 'is a network:dhcp port'
refused "demo to a port without an owner" "$DEMO" "\"internal_ip_address\":\"$C3.13\"" 'only an admin may forward to a port without an owner'
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$C3.13\",\"internal_port\":22,\"external_port\":4100}}" -H "X-Auth-Token: $ADMIN"
assert_eq "admin to a port without an owner: 201" 201 "$API_STATUS"
assert_eq "  ...its port id looked up" "$BARE" "$(api_field port_forwarding.internal_port_id)"

# Legacy: the same rule.
out=$(curl -s -X POST -H "X-Auth-Token: $DEMO" "$AGENT_URL/pat/create?server_ip=$C3.2&router_id=qrouter-$RID&create_server_port=22&gateway=$GW")
assert_match "legacy create to the DHCP port: ERROR naming it" '"status": *"ERROR".*network:dhcp' "$out"

# A VM port: accepted, and traffic flows.
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$C3.11\",\"internal_port\":22,\"external_port\":4022}}" -H "X-Auth-Token: $DEMO"
assert_eq "demo to a compute:nova port: 201" 201 "$API_STATUS"
assert_eq "  ...and the client reaches the VM" "${TOPO[client.ip4]} vm" "$(topo_tcp_query client "$GW" 4022)"
api GET "$base" "" -H "X-Auth-Token: $ADMIN"
assert_eq "only the admin's and the VM's forwardings were stored" 2 \
	"$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"

agent_stop || topo_fail "the agent exits 0"
topo_finish
