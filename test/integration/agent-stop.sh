#!/usr/bin/env bash
# The real praas-pat-agent with auth = "keystone" against the
# fault-injecting fake Keystone/Neutron (test/fake-openstack):
#  - a Keystone slowed to 2 s delays only the request that waits for it:
#    /healthz, the version document and a trusted legacy call answer at once;
#  - SIGTERM while a request waits for Keystone: no new connections, the
#    request still gets its answer, then the agent exits 0;
#  - a failing Keystone is counted in praas_openstack_errors_total.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/fake.sh"

topo_init astop
topo_require python3 curl
[[ -f ${PRAAS_SOURCE_ROOT:?}/test/fake-openstack/fake_openstack.py ]] ||
	topo_skip "no test/fake-openstack/fake_openstack.py"

# --- the fake OpenStack, on a loopback port of its own
fake_start || topo_skip "the fake OpenStack did not start"

# token USER: a token of USER (password = user name in the fake).
token() {
	curl -s -m 5 -D - -o /dev/null -H 'Content-Type: application/json' --data-binary \
		"{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"name\":\"Default\"},\"password\":\"$1\"}}},\"scope\":{\"project\":{\"name\":\"$1\",\"domain\":{\"name\":\"Default\"}}}}}" \
		"$FAKE_URL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# --- the agent in keystone mode
agent_config auth='"keystone"' cloud='"fake"' clouds_file="\"$FAKE_CLOUDS\""
agent_start || {
	topo_fail "agent starts in keystone mode"
	topo_finish
}
ADMIN=$(token admin)
DEMO=$(token demo)
[[ -n $ADMIN && -n $DEMO ]] || topo_skip "the fake issued no tokens"
ROUTER=$(curl -s -m 5 -H "X-Auth-Token: $ADMIN" "$FAKE_URL/v2.0/routers" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["routers"][0]["id"])')

api GET /v1/port_forwardings '' -H "X-Auth-Token: $DEMO"
assert_eq "a tokened request is 200" 200 "$API_STATUS"
api GET /v1/port_forwardings '' -H "X-Auth-Token: not-a-token"
assert_eq "a bad token is 401" 401 "$API_STATUS"
api GET /healthz
assert_eq "/healthz reports OpenStack" ok "$(api_field openstack)"

# slow_request NAME TOKEN: GET /v1/port_forwardings in the background;
# writes "STATUS SECONDS" and the body to $TOPO_DIR/NAME.{out,body}; its
# PID in SLOW_PID (call it directly, not in $( ), so it stays our child).
slow_request() {
	local name=$1 tok=$2
	curl -s -m 20 -o "$TOPO_DIR/$name.body" -w '%{http_code} %{time_total}\n' \
		-H "X-Auth-Token: $tok" "$AGENT_URL/v1/port_forwardings" >"$TOPO_DIR/$name.out" 2>&1 &
	SLOW_PID=$!
}

# timed PATH [CURL ARGS]: prints "STATUS SECONDS".
timed() {
	local path=$1
	shift
	curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}\n' "$@" "$AGENT_URL$path"
}

fast() { # "STATUS SECONDS" -> true if 200 within half a second
	python3 -c 'import sys; s, t = sys.argv[1].split(); sys.exit(not (s == "200" and float(t) < 0.5))' "$1"
}

# --- a slow Keystone delays only what waits for it
T1=$(token demo)
fake_fault '{"kind":"delay","seconds":2,"path":"/v3/auth/tokens","method":"GET","count":1}'
slow_request slow "$T1"
pid=$SLOW_PID
sleep 0.3
h=$(timed /healthz)
v=$(timed /)
l=$(timed "/router_pat?router_id=qrouter-$ROUTER")
lb=$(curl -s -m 10 "$AGENT_URL/router_pat?router_id=qrouter-$ROUTER")
assert_ok "the tokened request is still waiting for Keystone" kill -0 "$pid"
assert_ok "/healthz answers at once meanwhile ($h)" fast "$h"
assert_ok "the version document answers at once ($v)" fast "$v"
assert_ok "a legacy call from 127.0.0.1 without a token answers at once ($l)" fast "$l"
assert_eq "...and it is a real answer (no forwardings yet)" '{}' "$(tr -d ' ' <<<"$lb")"
wait "$pid"
read -r st secs <"$TOPO_DIR/slow.out"
assert_eq "the slow request is answered" 200 "$st"
assert_ok "...after Keystone's 2 s ($secs s)" python3 -c "import sys; sys.exit(not float('$secs') >= 1.9)"

# --- a failing Keystone is counted
m=$(curl -s "$AGENT_URL/metrics" | sed -n 's/^praas_openstack_errors_total{service="keystone"} //p')
T2=$(token demo)
fake_fault '{"kind":"status","status":500,"path":"/v3/auth/tokens","method":"GET","count":1}'
api GET /v1/port_forwardings '' -H "X-Auth-Token: $T2"
assert_eq "Keystone failing is 503" 503 "$API_STATUS"
assert_match "...keystone_unavailable" '"code": *"praas.keystone_unavailable"' "$API_BODY"
m2=$(curl -s "$AGENT_URL/metrics" | sed -n 's/^praas_openstack_errors_total{service="keystone"} //p')
assert_eq "praas_openstack_errors_total{service=keystone} counted it" $((m + 1)) "$m2"
n2=$(curl -s "$AGENT_URL/metrics" | sed -n 's/^praas_openstack_errors_total{service="neutron"} //p')
assert_eq "...and not as Neutron's" 0 "$n2"

# --- SIGTERM with a request in flight
T3=$(token demo)
fake_fault '{"kind":"delay","seconds":2,"path":"/v3/auth/tokens","method":"GET","count":1}'
slow_request inflight "$T3"
pid=$SLOW_PID
sleep 0.5
kill -TERM "$AGENT_PID"
sleep 0.2
assert_ok "the agent is still running with a request in flight" kill -0 "$AGENT_PID"
assert_fails "no new connection is accepted while stopping" \
	curl -s -m 2 -o /dev/null "$AGENT_URL/healthz"
wait "$pid"
read -r st secs <"$TOPO_DIR/inflight.out"
assert_eq "the request in flight gets its answer" 200 "$st"
assert_match "...a whole one" '^\{"port_forwardings": *\[' "$(cat "$TOPO_DIR/inflight.body")"
rc=0
topo_wait 5 sh -c "! kill -0 $AGENT_PID 2>/dev/null" || rc=timeout
wait "$AGENT_PID" || rc=$?
AGENT_PID=
assert_eq "then the agent exits 0" 0 "$rc"
assert_ok "its log says it finished requests first" grep -q 'finishing requests in flight' \
	"$AGENT_DIR/pat-agent.log"
topo_finish
