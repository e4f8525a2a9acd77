#!/usr/bin/env bash
# The Proxy CLI's legacy calls against the real praas-pat-agent, in the
# order the Proxy CLI makes them, with traffic checked after each step.
# The Proxy CLI prints "message" verbatim: the seven messages below are the
# original PRaaS's last release's (praas/pat_agent.py, v10.1), word for word.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init aleg
topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_vm vm2 r1
R=${TOPO[r1.uuid]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2"
CLIENT=${TOPO[client.ip4]}
GW=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}

agent_config 'router_port_range="4000:4010"'
agent_start || { topo_fail "agent starts"; topo_finish; }

status_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$API_BODY"; }
key() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$API_BODY" "$1"; }
is_string() { python3 -c 'import json,sys; sys.exit(0 if isinstance(json.loads(sys.argv[1])[sys.argv[2]], str) else 1)' "$API_BODY" "$1"; }

# create
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=22&gateway=$GW" ""
assert_eq "create answers 200" 200 "$API_STATUS"
assert_eq "create: SUCCESS" SUCCESS "$(status_of)"
P=$(key create_router_port)
assert_match "create_router_port from router_port_range" '^40(0[0-9]|10)$' "$P"
assert_ok "create_router_port is a JSON string" is_string create_router_port
assert_eq "create echoes server_ip" "$VM1" "$(key server_ip)"
assert_eq "create echoes create_server_port" 22 "$(key create_server_port)"
assert_eq "create echoes gateway" "$GW" "$(key gateway)"
assert_eq "create: message" "Create PAT connection successfully" "$(key message)"
assert_eq "traffic after create" "$CLIENT vm1" "$(topo_tcp_query client "$GW" "$P")"

# repeat: CREATED with the same router port
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=22&gateway=$GW" ""
assert_eq "repeat: CREATED" CREATED "$(status_of)"
assert_eq "repeat: created_router_port is the first one" "$P" "$(key created_router_port)"
assert_eq "repeat: created_server_port" 22 "$(key created_server_port)"
assert_eq "repeat: message" "Server port has been established already" "$(key message)"

# the bytes docs/api.md promises: compact JSON, the keys in the documented
# order, no final newline, Content-Type application/json (not the
# original's bytes: see "What is and is not byte for byte")
out=$(curl -s -m 10 -X POST -w '\n%{content_type}\n%{time_total}' \
	"$AGENT_URL/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=22&gateway=$GW")
secs=${out##*$'\n'}
out=${out%$'\n'*}
assert_eq "legacy Content-Type" "application/json" "${out##*$'\n'}"
assert_eq "repeat: the exact bytes" \
	"{\"status\":\"CREATED\",\"created_server_port\":\"22\",\"created_router_port\":\"$P\",\"server_ip\":\"$VM1\",\"gateway\":\"$GW\",\"message\":\"Server port has been established already\"}" \
	"${out%$'\n'*}"
echo "figure: legacy_created_answer_ms $(python3 -c 'import sys; print(round(float(sys.argv[1]) * 1000, 2))' "$secs") ms"

# a second server port and another VM
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=80&gateway=$GW" ""
P80=$(key create_router_port)
api POST "/pat/create?server_ip=$VM2&router_id=qrouter-$R&create_server_port=22&gateway=$GW" ""
PV2=$(key create_router_port)
assert_eq "traffic to vm2" "$CLIENT vm2" "$(topo_tcp_query client "$GW" "$PV2")"

# the listings
api GET "/router_server_pat?router_id=qrouter-$R&server_ip=$VM1"
assert_eq "router_server_pat: 22" "$P" "$(key 22)"
assert_eq "router_server_pat: 80" "$P80" "$(key 80)"
api GET "/router_pat?router_id=qrouter-$R"
assert_eq "router_pat: vm1:22" "$P" "$(key "$VM1:22")"
assert_eq "router_pat: vm2:22" "$PV2" "$(key "$VM2:22")"
assert_ok "router_pat values are strings" is_string "$VM1:22"

# modify to a free port
api POST "/pat/modify?server_ip=$VM1&router_id=qrouter-$R&modify_server_port=22&modify_router_port=4500&gateway=$GW" ""
assert_eq "modify to a free port: SUCCESS" SUCCESS "$(status_of)"
assert_eq "modified_router_port is the old one" "$P" "$(key modified_router_port)"
assert_eq "modify_router_port is the new one" 4500 "$(key modify_router_port)"
assert_eq "modify: message" "Modify PAT connection successfully" "$(key message)"
assert_eq "traffic on the new port" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4500)"
assert_fails "no traffic on the old port" topo_tcp_query client "$GW" "$P" 2

# modify to a used port
api POST "/pat/modify?server_ip=$VM1&router_id=qrouter-$R&modify_server_port=22&modify_router_port=$PV2&gateway=$GW" ""
assert_eq "modify to a used port: USED" USED "$(status_of)"
assert_eq "USED: message" "New router port has been used already" "$(key message)"
assert_eq "USED: modified_router_port is the current one" 4500 "$(key modified_router_port)"
assert_eq "vm2's port still reaches vm2" "$CLIENT vm2" "$(topo_tcp_query client "$GW" "$PV2")"
assert_eq "vm1 keeps 4500" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4500)"

# modify to the port it already has: USED, as the original answers (that
# router port is in use, by this very forwarding), and nothing changes
api POST "/pat/modify?server_ip=$VM1&router_id=qrouter-$R&modify_server_port=22&modify_router_port=4500&gateway=$GW" ""
assert_eq "modify to its own port: USED" USED "$(status_of)"
assert_eq "own port: message" "New router port has been used already" "$(key message)"
assert_eq "own port: modified_router_port" 4500 "$(key modified_router_port)"
assert_eq "own port: modify_router_port" 4500 "$(key modify_router_port)"
assert_eq "own port: vm1 still on 4500" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4500)"

# modify what is not forwarded
api POST "/pat/modify?server_ip=$VM2&router_id=qrouter-$R&modify_server_port=2222&modify_router_port=4600&gateway=$GW" ""
assert_eq "modify of an unforwarded port: NO CREATED" "NO CREATED" "$(status_of)"
assert_eq "modify NO CREATED: message" "Server port has not established yet" "$(key message)"

# remove, remove again
api POST "/pat/remove?server_ip=$VM1&router_id=qrouter-$R&remove_server_port=22&gateway=$GW" ""
assert_eq "remove: REMOVED" REMOVED "$(status_of)"
assert_eq "remove_router_port" 4500 "$(key remove_router_port)"
assert_eq "remove: message" "Remove PAT connection successfully" "$(key message)"
assert_fails "no traffic after remove" topo_tcp_query client "$GW" 4500 2
api POST "/pat/remove?server_ip=$VM1&router_id=qrouter-$R&remove_server_port=22&gateway=$GW" ""
assert_eq "remove again: NO CREATED" "NO CREATED" "$(status_of)"
assert_eq "remove NO CREATED: message" "The remove port has not been established yet" "$(key message)"

# refusals: wrong gateway, server off the router, bad parameters, all 200 ERROR
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=23&gateway=203.0.113.99" ""
assert_eq "wrong gateway answers 200" 200 "$API_STATUS"
assert_eq "wrong gateway: ERROR" ERROR "$(status_of)"
assert_match "wrong gateway: says why" "gateway" "$(key message)"
api POST "/pat/create?server_ip=10.77.0.5&router_id=qrouter-$R&create_server_port=23&gateway=$GW" ""
assert_eq "server off the router: ERROR" ERROR "$(status_of)"
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-$R&create_server_port=99999&gateway=$GW" ""
assert_eq "bad port: ERROR" ERROR "$(status_of)"
api POST "/pat/create?router_id=qrouter-$R&create_server_port=22&gateway=$GW" ""
assert_eq "missing server_ip: ERROR" ERROR "$(status_of)"
api POST "/pat/create?server_ip=$VM1&router_id=qrouter-00000000-0000-4000-8000-000000000000&create_server_port=22&gateway=$GW" ""
assert_eq "unknown router: ERROR" ERROR "$(status_of)"

# legacy and v1 share the store
api GET "/v1/routers/$R/port_forwardings"
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")
assert_eq "v1 sees the legacy forwardings" 2 "$n"

# v1 ranges in the legacy listings: every key once (a JSON parser keeps one
# value of a repeated key). A one-to-one range is one key per port; ten
# router ports onto one server port are not in the legacy view (v1 lists it).
topo_serve_tcp -t vm2-8080 vm2 any 8080 || topo_fail "serve vm2:8080"
api POST "/v1/routers/$R/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":8080,\"external_port_range\":\"4050:4059\"}}"
assert_eq "v1: ten router ports onto vm2:8080" 201 "$API_STATUS"
assert_eq "the many-to-one range carries traffic" "$CLIENT vm2-8080" "$(topo_tcp_query client "$GW" 4057)"
api POST "/v1/routers/$R/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port_range\":\"9000:9002\",\"external_port_range\":\"4060:4062\"}}"
assert_eq "v1: a one-to-one range onto vm2:9000-9002" 201 "$API_STATUS"
# pairs: the object's keys as sent, repeats included (json.loads would hide them)
pairs() { python3 -c 'import json,sys; json.loads(sys.argv[1], object_pairs_hook=lambda p: print(" ".join(f"{k}={v}" for k, v in p)))' "$API_BODY"; }
api GET "/router_pat?router_id=qrouter-$R"
assert_eq "router_pat with ranges: each key once, the one-to-one range port by port" \
	"$(printf '%s\n' "$VM1:80=$P80" "$VM2:22=$PV2" "$VM2:9000=4060" "$VM2:9001=4061" "$VM2:9002=4062" | sort)" \
	"$(pairs | tr ' ' '\n' | sort)"
api GET "/router_server_pat?router_id=qrouter-$R&server_ip=$VM2"
assert_eq "router_server_pat with ranges: each key once" \
	"$(printf '%s\n' "22=$PV2" "9000=4060" "9001=4061" "9002=4062" | sort)" "$(pairs | tr ' ' '\n' | sort)"

# legacy_api = false turns the routes off
agent_stop
agent_config 'legacy_api=false'
agent_start || topo_fail "agent restarts"
api GET "/router_pat?router_id=qrouter-$R"
assert_eq "legacy_api=false: the legacy routes are 404" 404 "$API_STATUS"
agent_stop
topo_finish
