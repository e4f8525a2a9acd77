#!/usr/bin/env bash
# Issue 10, defect 1: a connection flood against the real praas-pat-agent
# running with the limits of a unit without LimitNOFILE= (1,024 open files,
# soft and hard). 1,100 idle TCP connections to the REST port: the agent
# holds at most its cap (closing the connections idle the longest), keeps
# answering /healthz and creates on new connections, the control socket and
# the monitor keep working, it does not spin and its log stays quiet. Then
# under a 64-descriptor limit, where accept() itself fails (EMFILE): the
# agent pauses accepting instead of spinning, logs one line, and serves
# again once the flood is gone. The monitor, started with 512 open files
# under a hard limit of 4,096, raises its soft limit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
CLIENTS=$here/http-clients.py

topo_init aflood
topo_require python3 curl socat prlimit ss
topo_router r1
topo_vm vm1 r1
R1=${TOPO[r1.uuid]}
VM1=${TOPO[vm1.ip4]}

# agent_with_nofile N: the next agent_start runs the agent with N open files, soft and hard.
REAL_AGENT_BIN=$AGENT_BIN
agent_with_nofile() {
	local w=$TOPO_DIR/agent-nofile-$1
	printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %q "$@"\n' "$1" "$1" "$REAL_AGENT_BIN" >"$w"
	chmod +x "$w"
	AGENT_BIN=$w
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat"; }
fds() { find "/proc/$AGENT_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
held() { ss -Htn state established "( sport = :$AGENT_PORT )" | wc -l; }
tick_hz=$(getconf CLK_TCK)

agent_with_nofile 1024
agent_config
LOG=$AGENT_DIR/agent.log
agent_start --log-file "$LOG" || {
	topo_fail "agent starts"
	topo_finish
}
assert_match "the agent runs with 1,024 open files, soft and hard" \
	'Max open files +1024 +1024' "$(grep 'Max open files' "/proc/$AGENT_PID/limits")"
# The monitor started with a low soft limit raises it to the hard one.
w=$TOPO_DIR/monitor-nofile
printf '#!/bin/sh\nexec prlimit --nofile=512:4096 %q "$@"\n' "$MONITOR_BIN" >"$w"
chmod +x "$w"
MONITOR_BIN=$w
monitor_start
topo_wait 5 grep -q 'Open files limit raised from 512 to 4096' "$AGENT_DIR/monitor.log" || true
assert_match "the monitor raised its soft open-files limit to the hard one" \
	'Max open files +4096 +4096' "$(grep 'Max open files' "/proc/$MONITOR_PID/limits")"
cap=$(grep -o 'at most [0-9]* connections' "$LOG" | grep -o '[0-9]*')
assert_match "the agent says its connection cap under this limit" '^[0-9]+$' "$cap"
cap=${cap:-0}

lines0=$(wc -l <"$LOG")
cpu0=$(cpu_ticks)
ready=$TOPO_DIR/flood.ready
python3 "$CLIENTS" flood 127.0.0.1 "$AGENT_PORT" 1100 10 "$ready" >"$TOPO_DIR/flood.out" &
flood_pid=$!
topo_wait 30 test -e "$ready" || topo_fail "the flood's connects finish"
sleep 1
n_held=$(held)
echo "figure: connections_held_at_cap $n_held connections"
echo "figure: connection_cap $cap connections"
if ((n_held <= cap && n_held >= cap * 9 / 10)); then
	topo_pass "1,100 idle connections: the agent holds its cap ($n_held of $cap)"
else
	topo_fail "1,100 idle connections: the agent holds its cap" "held $n_held, cap $cap"
fi

t=$(curl -s -o /dev/null -m 3 -w '%{http_code} %{time_total}' "$AGENT_URL/healthz")
echo "figure: healthz_during_flood ${t#* } s"
assert_eq "/healthz on a new connection answers during the flood" 200 "${t%% *}"
api POST "/v1/routers/$R1/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a create on a new connection works during the flood" 201 "$API_STATUS"
assert_match "the control socket answers during the flood" '"ok": *true' \
	"$(ctl '{"id":1,"op":"ping"}')"
wait "$flood_pid"
cpu1=$(cpu_ticks)
lines=$(($(wc -l <"$LOG") - lines0))
cpu_ms=$(((cpu1 - cpu0) * 1000 / tick_hz))
echo "figure: agent_cpu_during_flood $cpu_ms ms"
echo "figure: log_lines_during_flood $lines lines"
sed 's/^/# flood: /' "$TOPO_DIR/flood.out"
# Spinning on accept() burns a core: 10 s of flood would be ~10,000 ms.
if ((cpu_ms < 1500)); then
	topo_pass "the agent does not spin during the flood (${cpu_ms} ms of CPU)"
else
	topo_fail "the agent does not spin during the flood" "${cpu_ms} ms of CPU in ~11 s"
fi
if ((lines < 20)); then
	topo_pass "the log stays quiet during the flood ($lines lines)"
else
	topo_fail "the log stays quiet during the flood" "$lines lines; the last:"$'\n'"$(tail -n 3 "$LOG")"
fi
topo_wait 5 eval '(($(fds) < 100))' || true
echo "figure: agent_fds_after_flood $(fds) descriptors"
assert_ok "the descriptors are given back after the flood" eval '(($(fds) < 100))'
metrics=$(curl -s -m 3 "$AGENT_URL/metrics")
evicted=$(awk '$1 == "praas_http_connections_closed_total{reason=\"idle_at_cap\"}" {print $2}' <<<"$metrics")
echo "figure: idle_connections_closed_at_cap ${evicted:-none} connections"
assert_match "/metrics counts the idle connections closed at the cap" '^[1-9][0-9]*$' "${evicted:-}"
assert_match "/metrics shows the connections open" '^praas_http_connections [0-9]+$' \
	"$(grep '^praas_http_connections ' <<<"$metrics")"
assert_ok "the monitor is still running" kill -0 "$MONITOR_PID"
assert_fails "the monitor logged no trouble with the agent" \
	grep -Eiq 'cannot|failed|lost|refused|error' "$AGENT_DIR/monitor.log"
assert_ok "...and said it raised its limit" grep -q 'Open files limit raised from 512 to 4096' \
	"$AGENT_DIR/monitor.log"
monitor_stop
agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?

# Too few descriptors for the cap: accept() itself fails with EMFILE.
agent_with_nofile 64
LOG2=$AGENT_DIR/agent-64.log
agent_start --log-file "$LOG2" || {
	topo_fail "agent starts with 64 open files"
	topo_finish
}
cpu0=$(cpu_ticks)
rm -f "$ready"
python3 "$CLIENTS" flood 127.0.0.1 "$AGENT_PORT" 300 5 "$ready" >"$TOPO_DIR/flood64.out" &
flood_pid=$!
wait "$flood_pid"
cpu_ms=$((($(cpu_ticks) - cpu0) * 1000 / tick_hz))
n_emfile=$(grep -c 'accept() failed' "$LOG2")
echo "figure: agent_cpu_during_emfile_flood $cpu_ms ms"
echo "figure: accept_log_lines_during_emfile_flood $n_emfile lines"
sed 's/^/# flood at 64 files: /' "$TOPO_DIR/flood64.out"
if ((cpu_ms < 1000)); then
	topo_pass "out of descriptors, the agent pauses accepting instead of spinning (${cpu_ms} ms)"
else
	topo_fail "out of descriptors, the agent pauses accepting instead of spinning" "${cpu_ms} ms of CPU in ~5 s"
fi
if ((n_emfile >= 1 && n_emfile <= 2)); then
	topo_pass "EMFILE is logged, rate-limited ($n_emfile lines)"
else
	topo_fail "EMFILE is logged, rate-limited" "$n_emfile lines"
fi
assert_ok "the line says what happened" grep -q 'Too many open files; accepting paused' "$LOG2"
assert_ok "/healthz answers again once the flood is gone" \
	topo_wait 5 curl -sf -o /dev/null -m 1 "$AGENT_URL/healthz"
assert_match "/metrics counts the pauses" '^praas_http_accept_paused_total [1-9][0-9]*$' \
	"$(curl -s -m 3 "$AGENT_URL/metrics" | grep '^praas_http_accept_paused_total ')"
agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
