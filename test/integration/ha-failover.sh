#!/usr/bin/env bash
# Issue 13: an HA router's replicas on two simulated nodes, each with its own
# praas-pat-agent, and Debian's keepalived in each replica as Neutron runs it
# (VRRP over the routers' ha- link, the gateway and tenant addresses as
# excluded VIPs). Both replicas are programmed before they are needed (the
# standby learns the gateway from its keepalived.conf), then the agents are
# stopped and the master's node fails (keepalived killed with SIGKILL, its
# links down): new connections of the outside client reach the VM through
# the new master within keepalived's own failover time, measured as the gap
# between the last answer before and the first after. The old master comes
# back (standby, nopreempt) and traffic still flows; when the new master's
# keepalived stops, the old one takes over again, its table untouched. An
# established TCP session survives the failover without conntrackd (item 4).
#
#   (the topology of lib/topo-ha.sh)
#   client 203.0.113.10 --[ext]-- qg- (VIP 203.0.113.1)  replica a | replica b
#   vm1 10.0.0.11 ------[lan]---- qr- (VIP 10.0.0.1)     (qrouter-<uuid> on
#                        [ha]---- ha- 169.254.192.1 / .2  node a and node b)
#
# Nodes are simulated as SCALE.md says: one agent per node, its own
# netns_dir (the replica bound there as qrouter-<uuid>), REST port and
# control socket, and one database for both, as on a cloud's network nodes:
# a database of this run's own on the loopback Galera cluster (lib/nodes.sh),
# node a's agent on Galera node 1, node b's on node 2. The forwarding is
# created once, through node a's agent; node b's agent programs its standby
# replica from the database (follow), the time it took printed.
# Skipped (77) without that cluster (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/topo-ha.sh"
. "$here/lib/nodes.sh"

nodes_db ha
topo_require keepalived conntrack nft
topo_ha_router "${PRAAS_TEST_ADVERT_INT:-1}" || topo_fail "the router's segments"
ADVERT_INT=${TOPO[ha.advert_int]}
UUID=${TOPO[ha.uuid]}
NS_ROUTER=${TOPO[ha.ns]}
GW=${TOPO[ha.gw4]}
topo_outside client ha-ext || topo_fail "client"
topo_vm vm1 ha-lan || topo_fail "vm"
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
CLIENT=${TOPO[client.ip4]}
VM=${TOPO[vm1.ip4]}

node_agent() { # NODE GALERA_URL
	agent_node "$1"
	agent_config "netns_dir=\"${TOPO[$1.netns_dir]}\"" "ha_confs_path=\"${TOPO[$1.ha_confs]}\"" \
		"host=\"node-$1\"" "database=\"$2$DB_NAME\""
	agent_start
}

create_fwd() {
	agent_node "$1"
	api POST "/v1/routers/$UUID/port_forwardings" \
		"{\"port_forwarding\":{\"internal_ip_address\":\"$VM\",\"internal_port\":22,\"external_port\":4022}}"
}

# The first answer of the probe log after time $1 (or the last before it, with -b).
probe_at() {
	if [[ $1 == -b ]]; then
		awk -v t="$2" '$2 == "OK" && $1 < t { last = $1 } END { print last }' "$PROBE_LOG"
	else
		awk -v t="$1" '$2 == "OK" && $1 > t { print $1; exit }' "$PROBE_LOG"
	fi
}

# gap T: seconds between the probe's last answer before T and its first after
# ("none" when either is missing: no answer after T is a failed failover).
gap_at() {
	local before after
	before=$(probe_at -b "$1") after=$(probe_at "$1")
	if [[ -z $before || -z $after ]]; then
		echo none
	else
		python3 -c "print('%.2f' % ($after - $before))"
	fi
}

# A new TCP connection every 100 ms, each logged "EPOCH OK ANSWER" or "EPOCH FAIL".
probe_start() {
	PROBE_LOG=$TOPO_DIR/probe.log
	(
		while :; do
			t=$EPOCHREALTIME
			if out=$(topo_tcp_query client "$GW" 4022 0.4); then
				echo "$t OK $out"
			else
				echo "$t FAIL"
			fi
			sleep 0.1
		done >>"$PROBE_LOG"
	) &
	PROBE_PID=$!
	topo_on_exit "kill $PROBE_PID 2>/dev/null"
}

# Connections the replica's conntrack saw to the forwarded port.
seen_by() {
	ip netns exec "${TOPO[$1.ns]}" conntrack -L -p tcp --orig-port-dst 4022 2>/dev/null | grep -c .
}

topo_ha_replica a 1 || topo_fail "replica on node a"
topo_ha_replica b 2 || topo_fail "replica on node b"

# --- keepalived: a starts first and is master; b joins as standby (nopreempt)
topo_ha_keepalived a ka-a || topo_fail "keepalived on a"
topo_wait 15 topo_ha_has_vip a
assert_eq "node a's keepalived holds the gateway VIP" 0 $?
topo_ha_keepalived b ka-b || topo_fail "keepalived on b"
sleep $((3 * ADVERT_INT))
assert_fails "node b is standby: no VIP on its qg-" topo_ha_has_vip b

# The VIP's element (address . tcp . 4022) in NODE's replica: 1 or 0.
vip_element() {
	ip netns exec "${TOPO[$1.ns]}" nft list map inet praas dnat4 2>/dev/null |
		grep -c "$GW \. tcp \. 4022 : $VM \. 22"
}

standby_programmed() { [[ $(vip_element b) == 1 ]]; }

# --- both replicas programmed, the standby before it is needed, from one create
node_agent a "$G1" || topo_fail "agent on node a (Galera node 1)"
node_agent b "$G2" || topo_fail "agent on node b (Galera node 2)"
create_fwd a
t_created=$EPOCHREALTIME
assert_eq "create once, through node a's agent (master)" 201 "$API_STATUS"
FID=$(api_field port_forwarding.id)
assert_eq "master's replica holds the forwarding" 1 "$(praas_elements "${TOPO[a.ns]}" dnat4)"
topo_wait 5 standby_programmed
echo "# propagation: node a's answer to node b's standby replica programmed:" \
	"$(python3 -c "print(round(($EPOCHREALTIME - $t_created) * 1000))") ms" >&2
assert_eq "standby's replica holds it too, from the database (node b's agent, Galera node 2)" \
	1 "$(praas_elements "${TOPO[b.ns]}" dnat4)"
assert_eq "keyed on the VIP in both replicas (the standby's from its keepalived.conf)" "1 1" \
	"$(vip_element a) $(vip_element b)"
agent_node b
api GET "/v1/routers/$UUID/port_forwardings/$FID"
assert_eq "node b's agent answers for the forwarding made through node a" 200 "$API_STATUS"
assert_eq "with the VIP as its address" "$GW" "$(api_field port_forwarding.external_ip_address)"
assert_eq "one forwarding in the shared database" 1 \
	"$(sql "$DB_NAME" -e 'SELECT COUNT(*) FROM forwardings')"
assert_eq "traffic through the master" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_ok "the master's conntrack saw it" test "$(seen_by a)" -ge 1
assert_eq "the standby's did not" 0 "$(seen_by b)"
# The standby's gateway check (once a second) must not re-key it away from the VIP.
sleep 1.5
api GET "/v1/routers/$UUID/port_forwardings/$FID"
assert_eq "the forwarding keeps the VIP (node b's gateway check re-keyed nothing)" "$GW" \
	"$(api_field port_forwarding.external_ip_address)"
assert_eq "and so do both replicas" "1 1" "$(vip_element a) $(vip_element b)"

# --- no PRaaS process from here on: the failover is keepalived's alone
agent_node a
agent_stop || topo_fail "agent a stops"
agent_node b
agent_stop || topo_fail "agent b stops"
assert_eq "no pat-agent of this test runs" "" \
	"$(pgrep -f "praas-pat-agent --config $TOPO_DIR/" || true)"

probe_start
topo_wait 5 sh -c "grep -q ' OK ' '$PROBE_LOG'"
assert_eq "the probe reaches the VM before the failover" 0 $?
# An established session through the master, idle across the failover.
assert_eq "a session established through node a" "$CLIENT vm1" \
	"$(topo_tcp_session_open s1 client "$GW" 4022 60)"
assert_eq "node b's replica has no conntrack entry for it" 0 "$(seen_by b)"
sleep 0.5
# The master's node fails: keepalived dies at once (no priority-0 advert, no
# VIP removed), and its links go down as a dead node's do.
t_kill=$EPOCHREALTIME
topo_ha_fail a ka-a || topo_fail "node a fails"
limit=$((3 * ADVERT_INT + 1))
topo_wait $((limit + 10)) sh -c "awk -v t=$t_kill '\$2 == \"OK\" && \$1 > t { f = 1 } END { exit !f }' '$PROBE_LOG'"
gap=$(gap_at "$t_kill")
echo "# failover: advert_int ${ADVERT_INT} s, keepalived's failover time ~3 x advert_int + 1 s = ${limit} s;" \
	"measured gap (last answer before, first after): ${gap} s" >&2
assert_ok "new connections through the new master within ${limit} s (+1 s probe period): ${gap} s" \
	python3 -c "import sys; sys.exit(0 if '$gap' != 'none' and float('$gap') <= $limit + 1 else 1)"
assert_ok "node b's keepalived holds the VIP now" topo_ha_has_vip b
assert_eq "the VM answers through node b, seeing the client" "$CLIENT vm1" \
	"$(topo_tcp_query client "$GW" 4022)"
assert_ok "node b's conntrack saw the new connections" test "$(seen_by b)" -ge 1
# Without conntrackd node b never saw the session's start: its next segment
# is picked up mid-stream (nf_conntrack_tcp_loose, on by default), goes
# through the same nat chain, meets the same map element and the same DNAT,
# and the VM sees the same client address and port (no masquerade).
echo "# node b: net.netfilter.nf_conntrack_tcp_loose =" \
	"$(ip netns exec "${TOPO[b.ns]}" sysctl -n net.netfilter.nf_conntrack_tcp_loose)" >&2
assert_eq "the session established through node a goes on through node b" "$CLIENT vm1" \
	"$(topo_tcp_session_send s1 5)"

# --- the old master returns (rebooted: no VIP left on it), as standby
topo_ha_return a ka-a2 || topo_fail "node a returns"
sleep $((3 * ADVERT_INT + 1))
assert_fails "node a came back as standby (nopreempt)" topo_ha_has_vip a
t_back=$EPOCHREALTIME
sleep 1
assert_eq "traffic still flows after its return" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
fails=$(awk -v t="$t_back" '$1 > t && $2 == "FAIL"' "$PROBE_LOG" | grep -c .)
assert_eq "no probe failed since" 0 "$fails"

# --- b's keepalived stops (priority 0): a takes over with the table it kept
t_stop=$EPOCHREALTIME
topo_kill ka-b
topo_wait $((limit + 5)) topo_ha_has_vip a
assert_eq "node a is master again" 0 $?
topo_wait $((limit + 5)) sh -c "awk -v t=$t_stop '\$2 == \"OK\" && \$1 > t { f = 1 } END { exit !f }' '$PROBE_LOG'"
gap2=$(gap_at "$t_stop")
echo "# switch back (keepalived stopped, priority 0 advert): gap ${gap2} s" >&2
assert_ok "the switch back is within ${limit} s too: ${gap2} s" \
	python3 -c "import sys; sys.exit(0 if '$gap2' != 'none' and float('$gap2') <= $limit + 1 else 1)"
assert_eq "the VM answers through node a again" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_ok "node a's conntrack saw the new connections" test "$(seen_by a)" -ge 1
kill "$PROBE_PID" 2>/dev/null
wait "$PROBE_PID" 2>/dev/null

# --- status and hosts: both agents back; each answers for its node's replica
for node in a b; do
	agent_node "$node"
	agent_start || topo_fail "agent $node restarts"
done
for node in a b; do
	agent_node "$node"
	api GET "/v1/routers/$UUID/port_forwardings"
	assert_eq "node $node: the one forwarding, ACTIVE" "1 $FID ACTIVE" \
		"$(python3 -c 'import json, sys
v = json.loads(sys.argv[1])["port_forwardings"]
print(len(v), v[0]["id"] if v else "-", v[0]["status"] if v else "-")' "$API_BODY")"
	assert_ok "node $node: hosts names the node and its namespace" python3 -c '
import json, sys
f = json.loads(sys.argv[1])["port_forwardings"][0]
sys.exit(0 if {"host": sys.argv[2], "namespace": sys.argv[3]} in f["hosts"] else 1)' \
		"$API_BODY" "node-$node" "$NS_ROUTER"
done
for node in a b; do
	agent_node "$node"
	agent_stop || topo_fail "agent $node stops"
done

topo_finish
