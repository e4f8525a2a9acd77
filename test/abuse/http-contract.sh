#!/usr/bin/env bash
# Issue 10, defect 10 (its HTTP part): what reaches the REST port that no
# handler should see. A body that is not application/json gets 415 (a
# browser's cross-site text/plain POST creates nothing); oversized heads and
# bodies, chunked bodies, TRACE, CONNECT, unknown methods and malformed
# requests get the project's API-SIG JSON error with X-Openstack-Request-Id,
# never libevent's HTML page. Legacy calls keep taking forms.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
CLIENTS=$here/http-clients.py

topo_init acontract
topo_require python3 curl
topo_router r1
topo_vm vm1 r1
R1=${TOPO[r1.uuid]}
VM1=${TOPO[vm1.ip4]}

agent_config
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
base=/v1/routers/$R1/port_forwardings
body="{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"

# post TYPE: the status of a v1 create sent with that Content-Type ("" for none).
post() {
	local h=()
	[[ -n $1 ]] && h=(-H "Content-Type: $1")
	curl -s -o "$TOPO_DIR/post.out" -m 5 -w '%{http_code}' "${h[@]}" --data-binary "$body" \
		"$AGENT_URL$base"
}
assert_eq "a create sent as text/plain (a cross-site simple request) is 415" 415 "$(post text/plain)"
assert_match "...in API-SIG form" '"code": *"praas.unsupported_media_type"' "$(cat "$TOPO_DIR/post.out")"
assert_eq "a create sent as a form is 415" 415 "$(post application/x-www-form-urlencoded)"
assert_eq "a create without a Content-Type is 415" 415 "$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
	-H 'Content-Type:' --data-binary "$body" "$AGENT_URL$base")"
api GET "$base"
assert_eq "...and none of them created anything" 0 "$(api_field port_forwardings | python3 -c 'import sys, ast; print(len(ast.literal_eval(sys.stdin.read())))')"
assert_eq "application/json; charset=utf-8 is JSON" 201 "$(post 'application/json; charset=utf-8')"
# Legacy calls carry their parameters in the query; a form body must not be refused.
st=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X POST -d 'x=1' "$AGENT_URL/pat/create?router_id=$R1")
assert_match "a legacy call with a form body is not 415" '^[0-9]+$' "$st"
[[ $st != 415 ]] && topo_pass "...it is $st" || topo_fail "a legacy form body is taken" "got 415"

for kind in trace:405 connect:405 unknown:501 garbage:400 version:400 nocolon:400 \
	baduri:400 noslash:400 blank:400 expect:417 bighead:431 bigbody:413 chunked:411; do
	out=$(python3 "$CLIENTS" probe 127.0.0.1 "$AGENT_PORT" "${kind%%:*}")
	got=$(awk '{printf "%s=%s ", $1, $2}' <<<"$out")
	assert_eq "${kind%%:*}: ${kind#*:} in API-SIG JSON with a request id" \
		"status=${kind#*:} json=yes request_id=yes content_type=application/json " "$got"
done
assert_eq "/healthz still answers" 200 "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$AGENT_URL/healthz")"
agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
