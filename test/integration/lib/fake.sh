# shellcheck shell=bash
# fake.sh: the fault-injecting fake Keystone + Neutron of
# test/fake-openstack/fake_openstack.py, for tests that run the real agents
# against it. Source after topo.sh and topo_init: the fake runs under
# topo_spawn (stopped by the topology's cleanup) on 127.0.0.1 only.
#
#   fake_start [ARGS]          start it (ARGS go to fake_openstack.py, e.g.
#                              --ports 1000); sets FAKE_URL, FAKE_CLOUDS
#                              (a clouds.yaml with cloud "fake" = admin) and
#                              FAKE_TOKEN (an admin token); FAKE_PROC names
#                              it for topo_kill (a test may start several)
#   fake_req METHOD PATH [JSON]   one call with FAKE_TOKEN; sets FAKE_STATUS
#                              and FAKE_BODY
#   fake_json EXPR             evaluate a python expression over FAKE_BODY
#                              (bound to `d`), print the result
#   fake_fault JSON            queue a fault (see the fake's docstring)
#   fake_reset                 drop faults and request counters
#   fake_requests [REGEX]      how many requests the fake counted whose
#                              "METHOD /path" matches REGEX (default: all)
#   fake_faults_fired          how many faults have fired since the start
#   fake_max_in_flight [REGEX] the most requests matching REGEX the fake was
#                              answering at once since the start or reset

FAKE_URL=
FAKE_CLOUDS=
FAKE_TOKEN=
FAKE_STATUS=
FAKE_BODY=
FAKE_PROC=
FAKE__N=0

fake_start() {
	FAKE__N=$((FAKE__N + 1))
	FAKE_PROC=fake$FAKE__N
	local pf=$TOPO_DIR/$FAKE_PROC.port port
	topo_spawn "$FAKE_PROC" python3 "${PRAAS_SOURCE_ROOT:?}/test/fake-openstack/fake_openstack.py" \
		--port 0 --port-file "$pf" "$@" || return 1
	topo_wait 20 test -s "$pf" || {
		echo "# the fake did not start: $(tail -5 "$(topo_proc_log "$FAKE_PROC")")" >&2
		return 1
	}
	port=$(<"$pf")
	FAKE_URL=http://127.0.0.1:$port
	FAKE_CLOUDS=$TOPO_DIR/clouds.yaml
	cat >"$FAKE_CLOUDS" <<-EOF
		clouds:
		  fake:
		    auth:
		      auth_url: $FAKE_URL/v3
		      username: admin
		      password: admin
		      project_name: admin
		      user_domain_name: Default
		      project_domain_name: Default
		    auth_type: password
		    identity_api_version: 3
		    region_name: RegionOne
		    interface: public
	EOF
	FAKE_TOKEN=$(curl -s -m 10 -D - -o /dev/null -H 'Content-Type: application/json' \
		-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"admin"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' \
		"$FAKE_URL/v3/auth/tokens" | awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }' | tr -d '\r')
	[[ -n $FAKE_TOKEN ]]
}

fake_req() {
	local method=$1 path=$2 body=${3:-} out
	out=$(curl -s -m 20 -X "$method" -w '\n%{http_code}' -H "X-Auth-Token: $FAKE_TOKEN" \
		-H 'Content-Type: application/json' ${body:+--data-binary "$body"} "$FAKE_URL$path")
	FAKE_STATUS=${out##*$'\n'}
	FAKE_BODY=${out%$'\n'*}
}

fake_json() {
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$FAKE_BODY" "$1"
}

fake_fault() {
	curl -s -m 5 -o /dev/null -d "$1" "$FAKE_URL/_control/fault"
}

fake_reset() {
	curl -s -m 5 -o /dev/null -X POST "$FAKE_URL/_control/reset"
}

fake_requests() {
	curl -s -m 5 "$FAKE_URL/_control/stats" | python3 -c '
import json, re, sys
d = json.load(sys.stdin)
rx = re.compile(sys.argv[1])
print(sum(n for k, n in d["requests"].items() if rx.search(k)))' "${1:-.}"
}

fake_faults_fired() {
	curl -s -m 5 "$FAKE_URL/_control/stats" | python3 -c '
import json, sys
print(json.load(sys.stdin)["faults_fired"])'
}

fake_max_in_flight() {
	curl -s -m 5 "$FAKE_URL/_control/stats" | python3 -c '
import json, re, sys
d = json.load(sys.stdin)
rx = re.compile(sys.argv[1])
print(sum(n for k, n in d["max_in_flight"].items() if rx.search(k)))' "${1:-.}"
}
