#!/usr/bin/env bash
# The v1 REST API of the real praas-pat-agent, standalone, against a real
# router namespace with real traffic: every route, every error code.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init av1
topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_vm vm2 r1
R=${TOPO[r1.uuid]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2"
topo_serve_udp -t vm1 vm1 any 53 || topo_fail "serve vm1 udp"
topo_serve_tcp -t vm2-80 vm2 any 80 || topo_fail "serve vm2:80"
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"
topo_serve_tcp -t vm1-81 vm1 any 81 || topo_fail "serve vm1:81"
CLIENT4=${TOPO[client.ip4]}
GW4=${TOPO[r1.gw4]}
GW6=${TOPO[r1.gw6]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}
VM1_6=${TOPO[vm1.ip6]}

agent_config 'router_port_range="4000:4003"'
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings

# --- version document and request ids
api GET /
assert_eq "GET / is 200" 200 "$API_STATUS"
assert_match "GET / names v1" '"id": *"v1"' "$API_BODY"
hdr=$(curl -s -D - -o /dev/null "$AGENT_URL/v1/routers/$R/port_forwardings")
assert_match "every answer has X-Openstack-Request-Id" 'X-Openstack-Request-Id: req-[0-9a-f-]{36}' "$hdr"
hdr=$(curl -s -D - -o /dev/null "$AGENT_URL/nowhere")
assert_match "errors too have X-Openstack-Request-Id" 'X-Openstack-Request-Id: req-' "$hdr"

# --- create, then traffic through it
api POST "$base" "{\"port_forwarding\":{\"protocol\":\"tcp\",\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022,\"description\":\"ssh\"}}"
assert_eq "create is 201" 201 "$API_STATUS"
F1=$(api_field port_forwarding.id)
assert_match "create returns a UUID" '^[0-9a-f-]{36}$' "$F1"
assert_eq "external_ip_address is the gateway" "$GW4" "$(api_field port_forwarding.external_ip_address)"
assert_eq "external_port kept" 4022 "$(api_field port_forwarding.external_port)"
assert_eq "status ACTIVE" ACTIVE "$(api_field port_forwarding.status)"
assert_eq "router_id" "$R" "$(api_field port_forwarding.router_id)"
ans=$(topo_tcp_query client "$GW4" 4022)
assert_eq "client reaches vm1 through gateway:4022 and vm1 sees the client" "$CLIENT4 vm1" "$ans"

# --- allocation from router_port_range
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":22}}"
assert_eq "create without external_port is 201" 201 "$API_STATUS"
F2=$(api_field port_forwarding.id)
P2=$(api_field port_forwarding.external_port)
assert_match "allocated port is in router_port_range" '^400[0-3]$' "$P2"
assert_eq "default protocol tcp" tcp "$(api_field port_forwarding.protocol)"
ans=$(topo_tcp_query client "$GW4" "$P2")
assert_eq "allocated port reaches vm2" "$CLIENT4 vm2" "$ans"

# --- UDP and IPv6
api POST "$base" "{\"port_forwarding\":{\"protocol\":\"udp\",\"internal_ip_address\":\"$VM1\",\"internal_port\":53,\"external_port\":5353}}"
assert_eq "udp create is 201" 201 "$API_STATUS"
ans=$(topo_udp_query client "$GW4" 5353)
assert_eq "udp reaches vm1" "$CLIENT4 vm1" "$ans"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1_6\",\"internal_port\":22,\"external_port\":6022}}"
assert_eq "ipv6 create is 201" 201 "$API_STATUS"
assert_eq "ipv6 external address is the v6 gateway" "$GW6" "$(api_field port_forwarding.external_ip_address)"
ans=$(topo_tcp_query client "$GW6" 6022)
assert_eq "ipv6 client reaches vm1" "${TOPO[client.ip6]} vm1" "$ans"

# --- a range N:N
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port_range\":\"80:81\",\"external_port_range\":\"7022:7023\"}}"
assert_eq "range create is 201" 201 "$API_STATUS"
assert_eq "range shown" "7022:7023" "$(api_field port_forwarding.external_port_range)"
ans=$(topo_tcp_query client "$GW4" 7022)
assert_eq "first port of the range reaches vm1:80" "$CLIENT4 vm1-80" "$ans"
ans=$(topo_tcp_query client "$GW4" 7023)
assert_eq "second port of the range reaches vm1:81" "$CLIENT4 vm1-81" "$ans"

# --- conflicts and exhaustion: 409
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":80,\"external_port\":4022}}"
assert_eq "same external port is 409" 409 "$API_STATUS"
assert_match "409 code port_in_use" '"code": *"praas.port_in_use"' "$API_BODY"
assert_match "409 names the other forwarding" "$F1" "$API_BODY"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":80,\"external_port_range\":\"7023:7030\"}}"
assert_eq "overlapping range is 409" 409 "$API_STATUS"
for p in 81 82 83 84; do
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":$p}}"
done
assert_eq "range exhausted is 409" 409 "$API_STATUS"
assert_match "code range_exhausted" '"code": *"praas.range_exhausted"' "$API_BODY"

# --- 400: each names the field
bad() { # DESC FIELD BODY
	api POST "$base" "$3"
	assert_eq "$1 is 400" 400 "$API_STATUS"
	assert_match "$1 names $2" "$2" "$API_BODY"
}
bad "malformed JSON" "JSON" '{"port_forwarding":'
bad "no port_forwarding" "port_forwarding" '{"x":{}}'
bad "unknown protocol" "protocol" "{\"port_forwarding\":{\"protocol\":\"icmp\",\"internal_ip_address\":\"$VM1\",\"internal_port\":22}}"
bad "port 70000" "internal_port" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":70000}}"
bad "port as string" "internal_port" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":\"22\"}}"
bad "bad range" "external_port_range" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port_range\":\"90:80\"}}"
bad "address off the router's subnets" "internal_ip_address" "{\"port_forwarding\":{\"internal_ip_address\":\"10.99.0.5\",\"internal_port\":22}}"
bad "not an address" "internal_ip_address" "{\"port_forwarding\":{\"internal_ip_address\":\"vm1\",\"internal_port\":22}}"
bad "description too long" "description" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"description\":\"$(printf 'x%.0s' $(seq 256))\"}}"
bad "unknown field" "colour" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"colour\":\"red\"}}"
assert_match "400 is API-SIG" '"errors": *\[ *\{ *"status": *400' "$API_BODY"

# --- 404 and 413
api GET "$base/00000000-0000-4000-8000-000000000000"
assert_eq "unknown id is 404" 404 "$API_STATUS"
api POST "/v1/routers/00000000-0000-4000-8000-000000000000/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22}}"
assert_eq "create on an unknown router is 404" 404 "$API_STATUS"
assert_match "404 code router_not_found" '"code": *"praas.router_not_found"' "$API_BODY"
api GET "/v1/routers/00000000-0000-4000-8000-000000000000/port_forwardings/$F1"
assert_eq "a forwarding under another router is 404" 404 "$API_STATUS"
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
api POST "$base" "{\"port_forwarding\":{\"description\":\"$big\"}}"
assert_eq "a body over 64 KiB is 413" 413 "$API_STATUS"
api PATCH "$base/$F1"
assert_eq "a wrong method is 405" 405 "$API_STATUS"

# --- show, list, filters
api GET "$base/$F1"
assert_eq "show is 200" 200 "$API_STATUS"
assert_eq "show's description" ssh "$(api_field port_forwarding.description)"
api GET "$base"
assert_eq "list is 200" 200 "$API_STATUS"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")
assert_eq "list holds the 8 forwardings (5, plus 3 allocated until exhaustion)" 8 "$n"
api GET "$base?protocol=udp"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")
assert_eq "protocol filter" 1 "$n"
api GET "$base?external_port=4022"
assert_eq "external_port filter" "$F1" "$(api_field port_forwardings.0.id)"
api GET "$base?colour=red"
assert_eq "unknown filter is 400" 400 "$API_STATUS"
api GET "/v1/port_forwardings?router_id=$R"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")
assert_eq "list all, filtered by router" 8 "$n"

# --- update retargets live traffic
api PUT "$base/$F1" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\"}}"
assert_eq "retarget onto a target already forwarded (vm2:22) is 409" 409 "$API_STATUS"
assert_match "names the internal conflict" '"code": *"praas.internal_port_in_use"' "$API_BODY"
api PUT "$base/$F1" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":80}}"
assert_eq "update is 200" 200 "$API_STATUS"
assert_eq "update keeps the external port" 4022 "$(api_field port_forwarding.external_port)"
ans=$(topo_tcp_query client "$GW4" 4022)
assert_eq "after the update gateway:4022 reaches vm2:80" "$CLIENT4 vm2-80" "$ans"
api PUT "$base/$F1" "{\"port_forwarding\":{\"external_port\":$P2}}"
assert_eq "update onto a taken port is 409" 409 "$API_STATUS"
api PUT "$base/$F1" "{\"port_forwarding\":{\"id\":\"x\"}}"
assert_eq "update of a read-only field is 400" 400 "$API_STATUS"

# --- delete stops traffic
api DELETE "$base/$F1"
assert_eq "delete is 204" 204 "$API_STATUS"
assert_fails "after delete gateway:4022 is refused" topo_tcp_query client "$GW4" 4022 2
api DELETE "$base/$F1"
assert_eq "delete again is 404" 404 "$API_STATUS"

# --- the kernel refusing: nothing stored. (A table we do not own is left alone.)
assert_ok "no other table was created" sh -c "! topo_exec r1 nft list tables | grep -v 'inet praas'"

agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
