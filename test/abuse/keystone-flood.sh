#!/usr/bin/env bash
# Issue 10, defect 6: what a bad token costs the agent (auth = "keystone",
# against the fault-injecting fake Keystone of test/fake-openstack), under a
# 1,024 soft descriptor limit:
#  - a token no Keystone could have issued (too short, too long, a
#    character outside [A-Za-z0-9_=.+/-]) is refused 401 without a call;
#  - 100 requests with one well-formed garbage token make one Keystone call
#    (one more per keystone_negative_ttl they take), 50 at once too;
#  - with Keystone hanging, 300 requests with distinct tokens hold at most
#    keystone_max_validations (32) calls to it, the agent's descriptors stay
#    near 300 + 32, every request is answered (401, or 503 with
#    Retry-After), and once Keystone answers again a real token works.
# Figures: keystone_calls_* (calls), max_outbound_* (connections),
# max_fds_* (descriptors).
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/../integration/lib
. "$lib/topo.sh"
. "$lib/agent.sh"
. "$lib/fake.sh"

CAP=32 # keystone_max_validations' default
TTL=5  # keystone_negative_ttl's default

topo_init ksflood
topo_require python3 curl ss
[[ -f ${PRAAS_SOURCE_ROOT:?}/test/fake-openstack/fake_openstack.py ]] ||
	topo_skip "no test/fake-openstack/fake_openstack.py"
# The agent inherits it: the issue's "default 1,024 open files".
ulimit -S -n 1024 || topo_skip "cannot set a 1,024 descriptor soft limit"

fake_start || topo_skip "the fake OpenStack did not start"
FAKE_PORT=${FAKE_URL##*:}

# token USER: a token of USER (password = user name in the fake).
token() {
	curl -s -m 5 -D - -o /dev/null -H 'Content-Type: application/json' --data-binary \
		"{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"name\":\"Default\"},\"password\":\"$1\"}}},\"scope\":{\"project\":{\"name\":\"$1\",\"domain\":{\"name\":\"Default\"}}}}}" \
		"$FAKE_URL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# Validation calls the fake received (GET /v3/auth/tokens).
calls() { fake_requests '^GET /v3/auth/tokens$'; }

# flood ARGS: http-flood.py against the agent's listing; its JSON in FLOOD.
flood() {
	FLOOD=$(python3 "$here/http-flood.py" --url "$AGENT_URL/v1/port_forwardings" \
		--pid "$AGENT_PID" --watch-port "$FAKE_PORT" "$@")
}
fj() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"d": json.loads(sys.argv[1])}))' "$FLOOD" "$1"; }

assert_le() { # DESC MAX ACTUAL
	if [[ $3 =~ ^[0-9]+$ ]] && (($3 <= $2)); then
		topo_pass "$1 ($3 <= $2)"
	else
		topo_fail "$1" "expected at most $2, got $3"
	fi
}

figure() { echo "figure: $1 $2 $3"; }

agent_config auth='"keystone"' cloud='"fake"' clouds_file="\"$FAKE_CLOUDS\""
agent_start || {
	topo_fail "the agent starts in keystone mode"
	topo_finish
}
DEMO=$(token demo)
[[ -n $DEMO ]] || topo_skip "the fake issued no token"
api GET /v1/port_forwardings '' -H "X-Auth-Token: $DEMO"
assert_eq "a real token is 200" 200 "$API_STATUS"

# --- malformed tokens: refused without a call
fake_reset
long=$(head -c 9000 /dev/zero | tr '\0' a)
for t in short 'has!bang0123456789abcdef' 'x%20y0123456789abcdef' 'quote"d0123456789abcdef' "$long"; do
	api GET /v1/port_forwardings '' -H "X-Auth-Token: $t"
	assert_eq "malformed token ${t:0:24}... is 401" 401 "$API_STATUS"
done
api GET /v1/port_forwardings '' -H "X-Auth-Token: short"
assert_match "the 401 says why" 'malformed' "$API_BODY"
n=$(calls)
figure keystone_calls_malformed "$n" calls
assert_eq "malformed tokens cost no Keystone call" 0 "$n"

# --- one well-formed garbage token, 100 times (20 at a time), then 50 at once
fake_reset
BAD=gAAAAAB$(head -c 150 /dev/urandom | base64 -w0 | tr '+/' '-_')
t0=$(date +%s.%N)
for _ in 1 2 3 4 5; do
	flood -n 20 --token "$BAD" --timeout 20
	assert_eq "20 requests with one bad token: all 401" 20 "$(fj 'd["status"].get("401", 0)')"
done
t1=$(date +%s.%N)
n=$(calls)
figure keystone_calls_100_same_bad_token "$n" calls
# One call, and one more for each full TTL the 100 requests took.
allowed=$(python3 -c "print(1 + int(($t1 - $t0) / $TTL))")
assert_le "100 requests with one bad token: Keystone calls" "$allowed" "$n"

fake_reset
BAD2=gAAAAAB$(head -c 150 /dev/urandom | base64 -w0 | tr '+/' '-_')
fake_fault '{"kind": "delay", "path": "/v3/auth/tokens", "method": "GET", "seconds": 1, "count": 100}'
flood -n 50 --token "$BAD2" --timeout 30
assert_eq "50 concurrent requests with one new bad token: all 401" 50 "$(fj 'd["status"].get("401", 0)')"
n=$(calls)
figure keystone_calls_50_concurrent_same_token "$n" calls
assert_le "50 concurrent requests with one new bad token: Keystone calls" 1 "$n"

# --- Keystone hangs: 300 distinct tokens
fake_reset
fds0=$(ls /proc/"$AGENT_PID"/fd | wc -l)
fake_fault '{"kind": "hang", "path": "/v3/auth/tokens", "method": "GET", "seconds": 8, "count": 100000}'
# The hang ends for new calls after 5 s (the fault is dropped); calls
# already hanging end at 8 s with a closed connection (then retried).
(sleep 5 && curl -s -m 5 -o "$TOPO_DIR/max_in_flight" "$FAKE_URL/_control/stats" &&
	fake_reset) &
drop=$!
flood -n 300 --distinct "gAAAAABhang$RANDOM" --timeout 75
wait "$drop"
outbound=$(python3 -c 'import json, sys; print(sum(json.load(open(sys.argv[1]))["max_in_flight"].values()))' "$TOPO_DIR/max_in_flight")
figure max_outbound_keystone_hanging "$(fj 'd["max_outbound"]')" connections
figure max_keystone_in_flight_hanging "$outbound" calls
figure max_fds_keystone_hanging "$(fj 'd["max_fds"]')" descriptors
figure fds_before_flood "$fds0" descriptors
figure seconds_300_hanging "$(fj 'd["seconds"]')" s
echo "# $FLOOD"
assert_le "Keystone hanging: validation calls in progress at once" "$CAP" "$outbound"
assert_le "Keystone hanging: the agent's connections to Keystone" "$CAP" "$(fj 'd["max_outbound"]')"
# 300 clients, CAP calls, what it had before, and a little slack.
assert_le "Keystone hanging: the agent's descriptors" $((fds0 + 300 + CAP + 16)) "$(fj 'd["max_fds"]')"
assert_eq "Keystone hanging: every request answered" 0 "$(fj 'd["unanswered"]')"
assert_eq "Keystone hanging: every answer is 401 or 503" 300 \
	"$(fj 'd["status"].get("401", 0) + d["status"].get("503", 0)')"
assert_eq "Keystone hanging: every 503 says Retry-After" "$(fj 'd["status"].get("503", 0)')" \
	"$(fj 'd["retry_after"]')"

# --- after the hang: Keystone is asked again and a real token works
ok=0
for _ in $(seq 40); do
	api GET /v1/port_forwardings '' -H "X-Auth-Token: $DEMO"
	[[ $API_STATUS == 200 ]] && ok=1 && break
	sleep 0.25
done
assert_eq "after the hang a real token is 200" 1 "$ok"
api GET /v1/port_forwardings '' -H "X-Auth-Token: gAAAAABafterthehang0123456789"
assert_eq "after the hang a new bad token is 401" 401 "$API_STATUS"
grep -c 'Too many open files' "$AGENT_DIR/pat-agent.log" >/dev/null &&
	topo_fail "the agent ran out of descriptors" "$(grep -m3 'Too many' "$AGENT_DIR/pat-agent.log")"

if agent_stop; then topo_pass "the agent stops cleanly (exit 0)"; else topo_fail "the agent stops cleanly"; fi
topo_finish
