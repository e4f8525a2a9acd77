#!/usr/bin/env bash
# Issue 10, defect 2: one open descriptor per router namespace, no cap.
# 5,000 router namespaces in the agent's netns_dir (three real topo.sh
# routers with forwardings, the rest bare namespaces from praas-mkns), the
# real agent under a 1,024 soft and hard descriptor limit: a restart
# restores every one (a table in each, sampled), keeps its descriptors
# bounded, serves /healthz, a create and the control socket, carries
# traffic, and survives a resync of all 5,000. Before the fix the agent
# ran out of descriptors near 1,000 namespaces and exited.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

N=${PRAAS_TEST_NAMESPACES:-5000}
NROUTERS=3
PER=10
LIMIT=1024
MKNS=${PRAAS_MKNS:-$PRAAS_BUILD_ROOT/test/abuse/praas-mkns}

topo_init abns
topo_require nft nsenter curl python3
[[ -x $MKNS ]] || topo_skip "no $MKNS (build the tree first)"
# The namespaces live on a private tmpfs over the agent's netns_dir: one
# lazy unmount at exit drops all 5,000 at once, whatever happened.
mount -t tmpfs -o size=32m,mode=0755 praas-abuse "$TOPO_NETNS_DIR" ||
	topo_skip "cannot mount a tmpfs on $TOPO_NETNS_DIR"
topo_on_exit "umount -l '$TOPO_NETNS_DIR' 2>/dev/null"
mount --make-private "$TOPO_NETNS_DIR" || topo_fail "make $TOPO_NETNS_DIR private"

for i in $(seq "$NROUTERS"); do
	topo_router "r$i"
done
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"

# Everything from here, the agent included, under the limit a stock unit
# gives (no LimitNOFILE): soft and hard 1,024.
ulimit -n "$LIMIT" || topo_skip "cannot set the descriptor limit"

elements() { praas_elements "$1" dnat4; }

agent_config 'router_port_range="10000:20000"'
agent_start || { topo_fail "agent starts"; topo_finish; }
for i in $(seq "$NROUTERS"); do
	for p in $(seq "$PER"); do
		api POST "/v1/routers/${TOPO[r$i.uuid]}/port_forwardings" \
			"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.11\",\"internal_port\":$((21 + p)),\"external_port\":$((30000 + p))}}"
		[[ $API_STATUS == 201 ]] || topo_fail "create on r$i ($API_STATUS)" "$API_BODY"
	done
done
agent_stop || topo_fail "agent stops"

out=$("$MKNS" "$TOPO_NETNS_DIR" qrouter- 1 $((N - NROUTERS))) ||
	{ topo_fail "make $((N - NROUTERS)) namespaces" "$out"; topo_finish; }
echo "# $out"
present=$(find "$TOPO_NETNS_DIR" -maxdepth 1 -name 'qrouter-*' | wc -l)
assert_eq "$N router namespaces in netns_dir" "$N" "$present"

# --- the restart: every namespace restored under the limit
log=$AGENT_DIR/pat-agent.log
before=$(wc -l <"$log")
t0=$(date +%s.%N)
setsid "$AGENT_BIN" --config "$AGENT_CONF" </dev/null >>"$log" 2>&1 &
AGENT_PID=$!
topo_on_exit "kill -9 $AGENT_PID 2>/dev/null || true"
healthy=0
for _ in $(seq 1200); do
	if agent__healthy; then
		healthy=1
		break
	fi
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.1
done
t1=$(date +%s.%N)
newlog=$(tail -n +"$((before + 1))" "$log")
if ((!healthy)); then
	topo_fail "the agent serves after restoring $N namespaces" "$(tail -n 15 <<<"$newlog")"
	topo_finish
fi
topo_pass "the agent serves after restoring $N namespaces"
limits=$(awk '/Max open files/ {print $4 ":" $5}' "/proc/$AGENT_PID/limits")
assert_eq "the agent runs under a $LIMIT:$LIMIT descriptor limit" "$LIMIT:$LIMIT" "$limits"
restored=$(sed -n 's/.*Restored \([0-9]*\) router namespaces\{0,1\} .* in \([0-9.]*\) s.*/\1 \2/p' <<<"$newlog" | tail -n 1)
assert_eq "the log says every namespace was restored" "$N" "${restored% *}"
failed=$(grep -c "Failed to restore\|Too many open files" <<<"$newlog")
assert_eq "no router failed to restore" 0 "$failed"
again=$(grep -c "Namespace .* appeared" <<<"$newlog")
assert_eq "each namespace restored once at start (the watch repeats none)" 0 "$again"
echo "figure: restore_5000_namespaces ${restored#* } s"
echo "figure: start_to_healthy_5000_namespaces $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") s"
fds=$(find "/proc/$AGENT_PID/fd" -mindepth 1 | wc -l)
echo "figure: agent_descriptors_after_restore $fds fds"
assert_ok "descriptors stay bounded ($fds < $((LIMIT / 2)))" test "$fds" -lt $((LIMIT / 2))

# Tables: the three routers hold their forwardings; a sample of 1 in 25
# bare namespaces (200 of them) holds an (empty) praas table.
for i in $(seq "$NROUTERS"); do
	assert_eq "r$i holds its $PER forwardings" "$PER" "$(elements "r$i")"
done
sampled=0 with_table=0
for i in $(seq 1 25 $((N - NROUTERS))); do
	f=$TOPO_NETNS_DIR/qrouter-00000000-0000-4000-8000-$(printf '%012d' "$i")
	sampled=$((sampled + 1))
	nsenter --net="$f" nft list table inet praas >/dev/null 2>&1 && with_table=$((with_table + 1))
done
echo "figure: sampled_namespaces_with_table $with_table/$sampled count"
assert_eq "every sampled bare namespace has table inet praas" "$sampled" "$with_table"

# --- it serves: health, traffic, a create, a listing, the control socket
api GET /healthz
assert_eq "/healthz" 200 "$API_STATUS"
out=$(topo_tcp_query client "${TOPO[r1.gw4]}" 30001)
assert_eq "traffic through a restored forwarding" "${TOPO[client.ip4]} vm1" "$out"
api POST "/v1/routers/${TOPO[r2.uuid]}/port_forwardings" \
	'{"port_forwarding":{"internal_ip_address":"10.0.0.11","internal_port":900,"external_port":31000}}'
assert_eq "a create after the restore" 201 "$API_STATUS"
assert_eq "r2's table has it" $((PER + 1)) "$(elements r2)"
api GET "/v1/routers/00000000-0000-4000-8000-$(printf '%012d' 4000)/port_forwardings"
assert_eq "a listing on a bare router" 200 "$API_STATUS"
ans=$(ctl '{"id":1,"op":"ping"}')
assert_match "the control socket answers" '"ok": *true' "$ans"

# --- a resync of all 5,000 through the bounded cache
before=$(wc -l <"$log")
ans=$(printf '%s\n' '{"id":2,"op":"resync"}' | timeout 120 socat -t 120 - "UNIX-CONNECT:$AGENT_DIR/pat-agent.sock")
assert_match "a resync of every router succeeds" '"ok": *true' "$ans"
resync=$(tail -n +"$((before + 1))" "$log" | sed -n 's/.*Restored [0-9]* router namespaces .* in \([0-9.]*\) s.*/\1/p' | tail -n 1)
echo "figure: resync_5000_namespaces ${resync:-?} s"
fds=$(find "/proc/$AGENT_PID/fd" -mindepth 1 | wc -l)
echo "figure: agent_descriptors_after_resync $fds fds"
assert_ok "descriptors stay bounded after the resync ($fds)" test "$fds" -lt $((LIMIT / 2))
api GET /healthz
assert_eq "/healthz after the resync" 200 "$API_STATUS"
agent_stop || topo_fail "agent stops cleanly"
topo_finish
