#!/usr/bin/env bash
# The monitor's consumer connects without holding its loop (issue 14 item 1).
# transport_url names first a "broker" of this test's own that accepts TCP
# and never speaks (a listening socket on loopback, never accepted: the AMQP
# handshake waits 2 s for it), then the real RabbitMQ of
# test/openstack/start.sh. With second_monitoring = 0.5 s:
#  - while the first host is tried, the monitor's poll keeps its cadence: no
#    gap between "Acting" and the "reconcile:" lines longer than 1.2 s (a
#    blocked loop shows one of 2 s and more; the figure is printed);
#  - the monitor then consumes its queue from the second host: a message
#    sent to its queue is taken and acknowledged;
#  - a monitor whose only host is the mute one exits 0 on SIGTERM during
#    the attempt, within the attempt's step (2 s).
# Skipped (77) when that OpenStack is not running or runs without RabbitMQ.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/os-lab.sh"
. "$here/lib/bus.sh"

os_lab_check
bus_check_shared
topo_init mbc
topo_require python3 jq

QUEUE=praas-test-mbc-$$-$RANDOM
bus_on_exit_delete_queue "$QUEUE"

# The mute broker: handshakes completed by the kernel (the backlog), nothing read.
/usr/bin/python3 -u -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(600)
' >"$TOPO_DIR/mute.port" &
MUTE_PID=$!
topo_on_exit "kill $MUTE_PID 2>/dev/null || true"
topo_wait 5 test -s "$TOPO_DIR/mute.port" || {
	topo_fail "a mute listener on loopback"
	topo_finish
}
MUTE=127.0.0.1:$(cat "$TOPO_DIR/mute.port")

# rabbit://CRED@HOST:PORT/VHOST -> rabbit://CRED@MUTE,HOST:PORT/VHOST (oslo: the
# second host takes the first's credentials).
rest=${PRAAS_OS_RABBIT_URL#*://}
cred=${rest%%@*} after=${rest#*@}
REAL=${after%%/*}
URL="rabbit://$cred@$MUTE,$REAL/${after#*/}"

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$CLOUDS\"" \
	second_monitoring=0.5 "transport_url=\"$URL\"" "notification_queue=\"$QUEUE\""
agent_start || {
	topo_fail "the pat-agent starts with Keystone"
	topo_finish
}

# Each line of the monitor's log with the time it appeared.
LOG=$AGENT_DIR/monitor.log
: >"$LOG"
/usr/bin/python3 -u - "$LOG" >"$TOPO_DIR/stamped" <<'PY' &
import sys, time
with open(sys.argv[1]) as f:
    part = ""
    while True:
        line = f.readline()
        if not line:
            time.sleep(0.01)
            continue
        part += line
        if part.endswith("\n"):
            print("%.6f %s" % (time.time(), part), end="")
            part = ""
PY
STAMP_PID=$!
topo_on_exit "kill $STAMP_PID 2>/dev/null || true"

monitor_start
topo_wait 20 grep -q "Notifications: consuming queue $QUEUE" "$LOG" ||
	topo_fail "the monitor consumes its queue" "$(tail -5 "$LOG")"
assert_match "the mute host was tried first, and timed out" \
	"Notifications: (127\.0\.0\.1:${MUTE##*:}: )?logging in: .*retrying" "$(cat "$LOG")"
assert_match "then the second host: consuming from $REAL" \
	"Notifications: consuming queue $QUEUE .* from $REAL\$" "$(grep 'consuming queue' "$LOG")"

# The poll's cadence from taking the lease to consuming, the attempt on the mute host in
# between: the longest time between two of those lines.
sleep 0.3 # the stamping reader is a line behind at most
read -r gap cycles < <(awk '
	/Acting: took the monitor lease/ { on = 1 }
	!on { next }
	/Acting: took the monitor lease|reconcile:|Notifications: consuming queue/ {
		if (last != "" && $1 - last > gap) gap = $1 - last
		last = $1; if (/reconcile:/) n++
	}
	/Notifications: consuming queue/ { exit }
	END { printf "%d %d\n", gap * 1000, n }' "$TOPO_DIR/stamped")
echo "# figure: monitor_loop_longest_gap_ms $gap while a mute broker was tried ($cycles polls, period 500 ms)"
assert_ok "the poll ran while the mute host was tried ($cycles cycles >= 4)" test "$cycles" -ge 4
if [[ $gap -le 1200 ]]; then
	topo_pass "the loop was never held: longest gap $gap ms <= 1200 ms"
else
	topo_fail "the loop was never held: longest gap $gap ms <= 1200 ms" \
		"$(grep 'Acting\|reconcile:\|Notifications:' "$TOPO_DIR/stamped" | head -12)"
fi

# A message straight to the monitor's queue (the default exchange): taken and acknowledged.
/usr/bin/python3 - "$PRAAS_OS_RABBIT_ADMIN_URL" "$QUEUE" <<'PY' ||
import sys, kombu
url, queue = sys.argv[1:3]
with kombu.Connection(url.replace("rabbit://", "amqp://", 1)) as c:
    c.Producer(serializer=None).publish(b'{"oslo.version": "2.0", "oslo.message": 7}',
        exchange="", routing_key=queue, content_type="application/json")
PY
	topo_fail "a message published to $QUEUE"
if topo_wait 5 grep -q 'dropped a malformed message' "$LOG"; then
	topo_pass "the monitor took the message from $REAL"
else
	topo_fail "the monitor took the message from $REAL" "$(tail -5 "$LOG")"
fi
if topo_wait 5 eval '[ "$(bus_queue_field "$QUEUE" messages)" = 0 ]'; then
	topo_pass "the queue is drained (acknowledged)"
else
	topo_fail "the queue is drained" "$(bus_queue_field "$QUEUE" messages) left"
fi
monitor_stop
assert_eq "SIGTERM: the monitor exits 0" 0 "$?"

# ---- only the mute host: SIGTERM during the attempt ends it within the step.
sed "s|^  transport_url = .*|  transport_url = \"rabbit://$cred@$MUTE/\";|" "$AGENT_CONF" >"$TOPO_DIR/mute.conf"
assert_eq "the second monitor's only host is the mute one" 1 "$(grep -c "transport_url = .*@$MUTE/\";" "$TOPO_DIR/mute.conf")"
acting=$(grep -c 'Acting:' "$LOG")
acted_again() { [[ $(grep -c 'Acting:' "$LOG") -gt $acting ]]; }
monitor_start --config "$TOPO_DIR/mute.conf"
# The previous monitor's lease runs out first (3 half-periods).
topo_wait 10 acted_again ||
	topo_fail "the second monitor takes the lease" "$(tail -5 "$LOG")"
sleep 0.5
t0=$(date +%s%N)
monitor_stop
rc=$?
took=$((($(date +%s%N) - t0) / 1000000))
assert_eq "SIGTERM during the attempt: exit 0" 0 "$rc"
echo "# SIGTERM during an attempt on the mute host: exited in $took ms"
assert_ok "within the attempt's step ($took ms <= 2500 ms)" test "$took" -le 2500
assert_eq "it never consumed" 1 "$(grep -c 'Notifications: consuming queue' "$LOG")"

agents_finish
