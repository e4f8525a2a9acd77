#!/usr/bin/env bash
# Issue 10, defect 3 (memory): 150 clients ask for the listing of 10,000
# forwardings and never read the answer. The agent renders a listing only
# as fast as its client reads it, so its memory stays bounded while they
# stall and falls back when they go. The real agent, under a 1,024 soft
# descriptor limit, on one real router; the clients on loopback.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
. "$here/lib/many.sh"

N=10000
CLIENTS=150
MAX_STALLED_KIB=$((60 * 1024)) # the agent's whole RSS with the readers stalled
MAX_GROWTH_KIB=$((40 * 1024))  # what they may add to it (before pagination: 680 MB)
MAX_REGAIN_KIB=$((10 * 1024))  # above the RSS before them, once they are gone
ulimit -Sn 1024
# Under valgrind or ASan the RSS is the instrument's too, and freed memory
# is held back on purpose (quarantine): only the growth is asserted there.
instrumented=0
if [[ ${PRAAS_VALGRIND:-0} == 1 ]] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan; then
	instrumented=1
fi
# ASan keeps up to 256 MB of freed memory to catch use after free; a small
# quarantine keeps it catching them while the growth stays the agent's.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=8"
topo_init lst
topo_router r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
agent_config
many_forwardings "$N" "$R" "${TOPO[r1.gw4]}" "${TOPO[vm1.ip4]}" ||
	{ topo_fail "10,000 forwardings restored"; topo_finish; }

# Answers of v1 listings so far, from the agent's own counter.
listings() {
	curl -s -m 5 "$AGENT_URL/metrics" | awk '
		/^praas_http_requests_total\{/ && /route="v1_list(_all)?"/ && /code="200"/ {n += $2}
		END {print n + 0}'
}

# One full listing first, so the RSS before counts what any listing costs.
api GET "/v1/port_forwardings?limit=1000"
assert_eq "a listing answers 200" 200 "$API_STATUS"
before=$(agent_rss_kib)
served=$(listings)

# The stalled readers: a small receive window, the request sent, never a
# byte read. Half ask for the default page, half for the whole router with
# limit=1000 (before pagination, every one got all 10,000).
mkfifo "$TOPO_DIR/stall.ctl"
python3 - "$AGENT_PORT" "$CLIENTS" "$R" "$TOPO_DIR/stall.ctl" >"$TOPO_DIR/stall.log" 2>&1 <<'PY' &
import socket, sys
port, n, router, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    path = ("/v1/port_forwardings" if i % 2 else
            f"/v1/routers/{router}/port_forwardings?limit=1000")
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    socks.append(s)
print("sent", len(socks), flush=True)
open(ctl).read()  # until the test says close
for s in socks:
    s.close()
print("closed", flush=True)
PY
stall_pid=$!
topo_on_exit "kill $stall_pid 2>/dev/null || true"

# Every stalled request reached its answer (the agent counts an answer when
# it starts it).
started() { (($(listings) >= served + $1)); }
topo_wait 60 started "$CLIENTS"
assert_eq "all $CLIENTS stalled requests were answered" "$((served + CLIENTS))" "$(listings)"
sleep 1 # let the agent push what the sockets take
stalled=$(agent_rss_kib)
echo "figure: rss_before_stalled_readers $((before / 1024)) MB"
echo "figure: rss_with_150_stalled_readers_on_10000_forwardings $((stalled / 1024)) MB"
echo "figure: rss_growth_with_150_stalled_readers $(((stalled - before) / 1024)) MB"
if ((stalled - before <= MAX_GROWTH_KIB)); then
	topo_pass "$CLIENTS stalled readers add at most $((MAX_GROWTH_KIB / 1024)) MB"
else
	topo_fail "$CLIENTS stalled readers add at most $((MAX_GROWTH_KIB / 1024)) MB" \
		"before: $before KiB, with them: $stalled KiB"
fi
if ((instrumented)); then
	echo "# instrumented agent: its whole RSS is not checked"
elif ((stalled <= MAX_STALLED_KIB)); then
	topo_pass "RSS with $CLIENTS stalled readers stays under $((MAX_STALLED_KIB / 1024)) MB"
else
	topo_fail "RSS with $CLIENTS stalled readers stays under $((MAX_STALLED_KIB / 1024)) MB" \
		"before: $before KiB, with them: $stalled KiB"
fi

# The agent still serves others meanwhile.
api GET "/v1/port_forwardings?limit=1"
assert_eq "another client lists meanwhile" 200 "$API_STATUS"
assert_eq "/healthz meanwhile" 0 "$(curl -s -o /dev/null -m 30 "$AGENT_URL/healthz"; echo $?)"

# The readers go; the memory they held comes back.
echo close >"$TOPO_DIR/stall.ctl"
wait "$stall_pid"
sleep 2 # closed connections are noticed within a second
after=$(agent_rss_kib)
echo "figure: rss_after_stalled_readers_closed $((after / 1024)) MB"
if ((instrumented)); then
	echo "# instrumented agent: memory held back by the instrument, not checked"
elif ((after <= before + MAX_REGAIN_KIB)); then
	topo_pass "RSS falls back once they close"
else
	topo_fail "RSS falls back once they close" "before: $before KiB, after: $after KiB"
fi
api GET "/v1/port_forwardings?limit=1"
assert_eq "the agent serves after they close" 200 "$API_STATUS"

# Stopping with readers still stalled: their answers are dropped after the
# shutdown grace (10 s), and nothing leaks (under valgrind: exit 0).
mkfifo "$TOPO_DIR/stall2.ctl"
python3 - "$AGENT_PORT" 20 "$R" "$TOPO_DIR/stall2.ctl" >"$TOPO_DIR/stall2.log" 2>&1 <<'PY' &
import socket, sys
port, n, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4]
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /v1/port_forwardings HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
open(ctl).read()
PY
stall2_pid=$!
topo_on_exit "kill $stall2_pid 2>/dev/null || true"
served=$(listings)
topo_wait 60 started 20
t0=$(date +%s)
if agent_stop; then
	topo_pass "the agent exits cleanly with 20 readers stalled"
else
	topo_fail "the agent exits cleanly with 20 readers stalled"
fi
echo "figure: stop_with_20_stalled_readers $(($(date +%s) - t0)) s"
echo close >"$TOPO_DIR/stall2.ctl"
wait "$stall2_pid"
topo_finish
