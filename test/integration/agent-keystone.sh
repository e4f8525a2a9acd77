#!/usr/bin/env bash
# The pat-agent with Keystone auth against the real loopback OpenStack:
# tokens (none, garbage, demo, alt_demo, admin), ownership of routers and
# targets, Neutron-resolved gateway and port, and real traffic through a
# namespace built from what Neutron answered.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/openstack.sh"

topo_init aks
os_require
sfx=$TOPO_ID
DEMO=$(os_token demo)
ALT=$(os_token alt_demo)
ADMIN=$(os_token admin)
DEMO_PROJECT=$(os_project_id demo)

# Neutron: one tenant each for demo and alt_demo, a VM port in each.
os_tenant demo "aks-demo-$sfx" 10.71.$((RANDOM % 200)) || { topo_fail "demo tenant in Neutron"; topo_finish; }
os_tenant alt_demo "aks-alt-$sfx" 10.72.$((RANDOM % 200)) || { topo_fail "alt tenant in Neutron"; topo_finish; }
D="aks-demo-$sfx" A="aks-alt-$sfx"
os_vm_port demo vmport "$D" "${OS[$D.cidr3]}.11" || topo_fail "demo VM port"
os_vm_port alt_demo altport "$A" "${OS[$A.cidr3]}.11" || topo_fail "alt VM port"
# A port of alt_demo's project on demo's network (only admin can make one).
os_vm_port admin foreign "$D" "${OS[$D.cidr3]}.12" || topo_fail "foreign port"
neutron "$ADMIN" PUT "/ports/${OS[foreign.port]}" "{\"port\":{\"project_id\":\"$(os_project_id alt_demo)\"}}"
if [[ $OS_STATUS != 200 ]]; then
	# Neutron does not move a port between projects: make it as alt_demo's from the start.
	neutron "$ADMIN" DELETE "/ports/${OS[foreign.port]}"
	os_make "$ADMIN" port "{\"port\":{\"name\":\"foreign\",\"project_id\":\"$(os_project_id alt_demo)\",\"network_id\":\"${OS[$D.net]}\",\"device_owner\":\"compute:nova\",\"fixed_ips\":[{\"subnet_id\":\"${OS[$D.subnet]}\",\"ip_address\":\"${OS[$D.cidr3]}.12\"}]}}"
	OS[foreign.port]=$OS_ID
fi

# The namespaces, as a network node would have them for demo's router.
RID=${OS[$D.router]}
topo_router -x 172.24.4 -l "${OS[$D.cidr3]}" rd "$RID"
topo_router_set_gw rd "${OS[$D.gw4]}"
TOPO[rd-ext.host]=240
topo_outside client rd
topo_vm vm rd
topo_serve_tcp -t vm vm any 22 || topo_fail "serve vm"
CLIENT=${TOPO[client.ip4]}
GW=${OS[$D.gw4]}

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$OS_CLOUDS_YAML\""
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$RID/port_forwardings
body="{\"port_forwarding\":{\"internal_ip_address\":\"${OS[$D.cidr3]}.11\",\"internal_port\":22,\"external_port\":4022}}"

# --- tokens
api GET "$base"
assert_eq "no token: 401" 401 "$API_STATUS"
api GET "$base" "" -H "X-Auth-Token: gAAAAAgarbage"
assert_eq "a garbage token: 401" 401 "$API_STATUS"

# --- demo on its own router: created from Neutron's answers, and it carries traffic
api POST "$base" "$body" -H "X-Auth-Token: $DEMO"
assert_eq "demo creates on its router: 201" 201 "$API_STATUS"
F=$(api_field port_forwarding.id)
assert_eq "external address is Neutron's gateway address" "$GW" "$(api_field port_forwarding.external_ip_address)"
assert_eq "internal_port_id looked up from the address" "${OS[vmport.port]}" "$(api_field port_forwarding.internal_port_id)"
assert_eq "project_id is the router's" "$DEMO_PROJECT" "$(api_field port_forwarding.project_id)"
assert_match "audit: the create names the token's project and user" \
	"audit: op=create req=req-[^ ]+ project=$DEMO_PROJECT user=[0-9a-f]{32} router=[^ ]+ id=$F protocol=tcp external=$GW:4022 internal=" \
	"$(grep "audit: op=create .* id=$F " "$AGENT_DIR/pat-agent.log")"
assert_eq "traffic: the client reaches the VM, which sees the client" "$CLIENT vm" "$(topo_tcp_query client "$GW" 4022)"
api GET "$base/$F" "" -H "X-Auth-Token: $DEMO"
assert_eq "demo shows it: 200" 200 "$API_STATUS"

# --- the target must be demo's own port on a subnet of this router
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"${OS[$D.cidr3]}.12\",\"internal_port\":22}}" -H "X-Auth-Token: $DEMO"
assert_eq "demo towards another project's port: 403" 403 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"${OS[$A.cidr3]}.11\",\"internal_port\":22}}" -H "X-Auth-Token: $DEMO"
assert_eq "demo towards an address off the router: 400" 400 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_port_id\":\"${OS[vmport.port]}\",\"internal_port\":80}}" -H "X-Auth-Token: $DEMO"
assert_eq "by internal_port_id alone: 201" 201 "$API_STATUS"
assert_eq "its address comes from the port" "${OS[$D.cidr3]}.11" "$(api_field port_forwarding.internal_ip_address)"
api POST "$base" "{\"port_forwarding\":{\"internal_port_id\":\"${OS[altport.port]}\",\"internal_port\":81}}" -H "X-Auth-Token: $DEMO"
assert_eq "by another tenant's port id: refused (400/403)" 1 "$([[ $API_STATUS == 400 || $API_STATUS == 403 ]] && echo 1 || echo "$API_STATUS")"

# --- alt_demo may not touch demo's router
api GET "$base" "" -H "X-Auth-Token: $ALT"
assert_eq "alt_demo lists demo's router: 403" 403 "$API_STATUS"
api POST "$base" "$body" -H "X-Auth-Token: $ALT"
assert_eq "alt_demo creates on demo's router: 403" 403 "$API_STATUS"
api DELETE "$base/$F" "" -H "X-Auth-Token: $ALT"
assert_eq "alt_demo deletes demo's forwarding: 403" 403 "$API_STATUS"
api GET "/v1/port_forwardings" "" -H "X-Auth-Token: $ALT"
assert_eq "alt_demo's listing of everything: 200" 200 "$API_STATUS"
assert_eq "it holds none of demo's" 0 "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
api GET "/v1/port_forwardings" "" -H "X-Auth-Token: $DEMO"
assert_eq "demo's listing of everything holds its 2" 2 "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
api GET "/v1/routers/${OS[$A.router]}/port_forwardings" "" -H "X-Auth-Token: $ALT"
assert_eq "alt_demo lists its own router: 200" 200 "$API_STATUS"

# --- admin may do all
api GET "$base" "" -H "X-Auth-Token: $ADMIN"
assert_eq "admin lists demo's router: 200" 200 "$API_STATUS"
api GET "/v1/routers/00000000-0000-4000-8000-000000000000/port_forwardings" "" -H "X-Auth-Token: $ADMIN"
assert_eq "a router Neutron does not know: 404" 404 "$API_STATUS"

# --- legacy: tokenless from 127.0.0.1 (legacy_trusted), still checked against Neutron
api POST "/pat/create?server_ip=${OS[$D.cidr3]}.11&router_id=qrouter-$RID&create_server_port=22&gateway=$GW" ""
assert_match "legacy create of a forwarded port: CREATED" '"status": *"CREATED"' "$API_BODY"
# Neutron may have given the router any address of the pool: take another.
other_gw=172.24.4.254
[ "$GW" = "$other_gw" ] && other_gw=172.24.4.253
api POST "/pat/create?server_ip=${OS[$D.cidr3]}.11&router_id=qrouter-$RID&create_server_port=443&gateway=$other_gw" ""
assert_match "legacy with a gateway that is not the router's: ERROR" '"status": *"ERROR"' "$API_BODY"

api DELETE "$base/$F" "" -H "X-Auth-Token: $ADMIN"
assert_eq "admin deletes demo's forwarding: 204" 204 "$API_STATUS"
assert_fails "no traffic after delete" topo_tcp_query client "$GW" 4022 2
agent_stop || topo_fail "agent stops cleanly"
topo_finish
