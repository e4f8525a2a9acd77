#!/usr/bin/env bash
# Issue 10, defect 1: slowloris. 300 connections each send one byte of a
# request head every second, which the idle timeout alone never ends. With
# request_timeout = 3 (and a soft open-files limit of 512 under a hard one
# of 4,096, which the agent raises), each gets an API-SIG 408 and is closed within the
# deadline and one check of it; the agent keeps serving meanwhile. Then
# with max_connections = 100, 150 of them: all 100 slots hold a request in
# progress, none is idle to close, so the other 50 get a 503 at once.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
CLIENTS=$here/http-clients.py

topo_init aslow
topo_require python3 curl ss
DEADLINE=3

# The agent started with a low soft limit raises it to the hard one.
w=$TOPO_DIR/agent-nofile
printf '#!/bin/sh\nexec prlimit --nofile=512:4096 %q "$@"\n' "$AGENT_BIN" >"$w"
chmod +x "$w"
AGENT_BIN=$w
agent_config request_timeout=$DEADLINE
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
assert_match "the agent raised its soft open-files limit to the hard one" \
	'Max open files +4096 +4096' "$(grep 'Max open files' "/proc/$AGENT_PID/limits")"
assert_ok "...and said so" grep -q 'Open files limit raised from 512 to 4096' \
	"$AGENT_DIR/pat-agent.log"
out=$TOPO_DIR/slow.out
python3 "$CLIENTS" slow 127.0.0.1 "$AGENT_PORT" 300 1 15 >"$out" &
slow_pid=$!
sleep 1.5
assert_eq "/healthz answers while 300 slow clients trickle" 200 \
	"$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$AGENT_URL/healthz")"
wait "$slow_pid"
sed 's/^/# /' "$out"
get() { awk -v k="$1" '$1 == k {print $2}' "$out"; }
echo "figure: slowloris_connections $(get opened) connections"
echo "figure: slowloris_closed_by_agent $(get closed) connections"
echo "figure: slowloris_answered_408 $(get answered_408) connections"
echo "figure: slowloris_last_closed_after $(get max_close_s) s"
assert_eq "300 slow connections were opened" 300 "$(get opened)"
assert_eq "the agent closed every one of them" 300 "$(get closed)"
assert_eq "each got a 408 first" 300 "$(get answered_408)"
if awk -v m="$(get max_close_s)" -v d=$DEADLINE 'BEGIN { exit !(m >= d && m <= d + 1.5) }'; then
	topo_pass "they were closed at the deadline ($(get max_close_s) s for $DEADLINE s)"
else
	topo_fail "they were closed at the deadline" "last closed after $(get max_close_s) s, deadline $DEADLINE s"
fi
agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?

agent_config request_timeout=$DEADLINE max_connections=100
agent_start || {
	topo_fail "agent starts with max_connections = 100"
	topo_finish
}
python3 "$CLIENTS" slow 127.0.0.1 "$AGENT_PORT" 150 1 2 100 >"$out"
sed 's/^/# at 100 connections: /' "$out"
echo "figure: refused_at_cap_none_idle $(get answered_503) connections"
assert_eq "150 slow connections for 100 slots: 50 get a 503" 50 "$(get answered_503)"
assert_eq "...at once (within a second)" 50 "$(get closed_within_1s)"
agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
