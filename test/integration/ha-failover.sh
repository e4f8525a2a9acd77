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
# keepalived stops, the old one takes over again, its table untouched.
#
#   client 203.0.113.10 --[ext]-- qg- (VIP 203.0.113.1)  replica a | replica b
#   vm1 10.0.0.11 ------[lan]---- qr- (VIP 10.0.0.1)     (qrouter-<uuid> on
#                        [ha]---- ha- 169.254.192.1 / .2  node a and node b)
#
# Nodes are simulated as SCALE.md says: one agent per node, its own
# netns_dir (the replica bound there as qrouter-<uuid>), REST port, control
# socket and, until issue 12's shared store, its own SQLite database, so the
# forwarding is created through each node's agent. With one shared database
# it is created once: drop the second create_fwd call below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init ha
topo_require keepalived conntrack nft
ADVERT_INT=${PRAAS_TEST_ADVERT_INT:-1}
UUID=$(</proc/sys/kernel/random/uuid)
NS_ROUTER=qrouter-$UUID
QG=qg-${UUID:0:11} QR=qr-${UUID:24:11} HA=ha-${UUID:9:11}
GW=203.0.113.1

# The segments, by hand: the replicas' addresses are keepalived's to add.
topo__segment ha-ext 203.0.113 2001:db8:1 10 || topo_fail "ext segment"
topo__segment ha-lan 10.0.0 2001:db8:2 11 || topo_fail "lan segment"
topo__segment ha-link 169.254.192 2001:db8:3 1 || topo_fail "ha segment"
TOPO[ha-ext.gw4]=$GW TOPO[ha-ext.gw6]=2001:db8:1::1
TOPO[ha-lan.gw4]=10.0.0.1 TOPO[ha-lan.gw6]=2001:db8:2::1
topo_outside client ha-ext || topo_fail "client"
topo_vm vm1 ha-lan || topo_fail "vm"
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
CLIENT=${TOPO[client.ip4]}
VM=${TOPO[vm1.ip4]}

# replica NODE N: the router's namespace on NODE, bound as
# $TOPO_DIR/NODE/netns/qrouter-<uuid>, with its qg-, qr- and ha- devices
# (only ha- addressed, as Neutron leaves them) and Neutron's keepalived.conf
# under $TOPO_DIR/NODE/ha_confs/<uuid>/.
replica() {
	local node=$1 n=$2 ns=$TOPO__PFX-$1 dir=$TOPO_DIR/$1
	mkdir -p "$dir/netns" "$dir/ha_confs/$UUID" "$dir/run" || return 1
	topo__ns_add "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	: >"$dir/netns/$NS_ROUTER"
	mount --bind "/run/netns/$ns" "$dir/netns/$NS_ROUTER" || return 1
	topo_on_exit "umount -l '$dir/netns/$NS_ROUTER' 2>/dev/null"
	topo__attach "$ns" "$QG" ha-ext "$(topo__mac)" &&
		topo__attach "$ns" "$QR" ha-lan "$(topo__mac)" &&
		topo__attach "$ns" "$HA" ha-link "$(topo__mac)" &&
		ip -n "$ns" addr add "169.254.192.$n/18" dev "$HA" || return 1
	# neutron/agent/linux/keepalived.py's shape (Zed), with a short advert_int.
	cat >"$dir/ha_confs/$UUID/keepalived.conf" <<EOF
global_defs {
    notification_email_from neutron@openstack.local
    router_id neutron
}
vrrp_instance VR_1 {
    state BACKUP
    interface $HA
    virtual_router_id 1
    priority 50
    garp_master_delay 60
    nopreempt
    advert_int $ADVERT_INT
    track_interface {
        $HA
    }
    virtual_ipaddress {
        169.254.0.1/24 dev $HA
    }
    virtual_ipaddress_excluded {
        $GW/24 dev $QG
        10.0.0.1/24 dev $QR
    }
}
EOF
	TOPO[$node.ns]=$ns
}

# keepalived NODE NAME: Neutron's command line (-P -f -p -r), not forking.
keepalived_start() {
	local node=$1 dir=$TOPO_DIR/$1
	topo_spawn -n "${TOPO[$node.ns]}" "$2" keepalived -n -l -D -P \
		-f "$dir/ha_confs/$UUID/keepalived.conf" -p "$dir/run/keepalived.pid" \
		-r "$dir/run/vrrp.pid"
}

has_vip() {
	ip -n "${TOPO[$1.ns]}" -4 addr show dev "$QG" | grep -q "inet $GW/"
}

node_agent() {
	agent_node "$1"
	agent_config "netns_dir=\"$TOPO_DIR/$1/netns\"" "ha_confs_path=\"$TOPO_DIR/$1/ha_confs\"" \
		"host=\"node-$1\""
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

replica a 1 || topo_fail "replica on node a"
replica b 2 || topo_fail "replica on node b"

# --- keepalived: a starts first and is master; b joins as standby (nopreempt)
keepalived_start a ka-a || topo_fail "keepalived on a"
topo_wait 15 has_vip a
assert_eq "node a's keepalived holds the gateway VIP" 0 $?
keepalived_start b ka-b || topo_fail "keepalived on b"
sleep $((3 * ADVERT_INT))
assert_fails "node b is standby: no VIP on its qg-" has_vip b

# --- both replicas programmed, the standby before it is needed
node_agent a || topo_fail "agent on node a"
node_agent b || topo_fail "agent on node b"
create_fwd a
assert_eq "create through node a's agent (master)" 201 "$API_STATUS"
create_fwd b
assert_eq "create through node b's agent (standby: gateway from keepalived.conf)" 201 "$API_STATUS"
assert_eq "the standby's forwarding has the VIP as its address" "$GW" \
	"$(api_field port_forwarding.external_ip_address)"
FID_B=$(api_field port_forwarding.id)
assert_eq "master's replica holds the forwarding" 1 "$(praas_elements "${TOPO[a.ns]}" dnat4)"
assert_eq "standby's replica holds it too" 1 "$(praas_elements "${TOPO[b.ns]}" dnat4)"
assert_eq "traffic through the master" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_ok "the master's conntrack saw it" test "$(seen_by a)" -ge 1
assert_eq "the standby's did not" 0 "$(seen_by b)"
# The standby's gateway check (once a second) must not re-key it away from the VIP.
sleep 1.5
api GET "/v1/routers/$UUID/port_forwardings/$FID_B"
assert_eq "the standby's forwarding keeps the VIP" "$GW" \
	"$(api_field port_forwarding.external_ip_address)"

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
sleep 0.5
# The master's node fails: keepalived dies at once (no priority-0 advert, no
# VIP removed), and its links go down as a dead node's do.
t_kill=$EPOCHREALTIME
kill -KILL -- "-$(<"$TOPO_DIR/proc.ka-a/group")"
for dev in "$QG" "$QR" "$HA"; do ip -n "${TOPO[a.ns]}" link set "$dev" down; done
limit=$((3 * ADVERT_INT + 1))
topo_wait $((limit + 10)) sh -c "awk -v t=$t_kill '\$2 == \"OK\" && \$1 > t { f = 1 } END { exit !f }' '$PROBE_LOG'"
last=$(probe_at -b "$t_kill")
first=$(probe_at "$t_kill")
gap=$(python3 -c "print('%.2f' % ($first - $last))" 2>/dev/null || echo 999)
echo "# failover: advert_int ${ADVERT_INT} s, keepalived's failover time ~3 x advert_int + 1 s = ${limit} s;" \
	"measured gap (last answer before, first after): ${gap} s" >&2
assert_ok "new connections through the new master within ${limit} s (+1 s probe period): ${gap} s" \
	python3 -c "import sys; sys.exit(not $gap <= $limit + 1)"
assert_ok "node b's keepalived holds the VIP now" has_vip b
assert_eq "the VM answers through node b, seeing the client" "$CLIENT vm1" \
	"$(topo_tcp_query client "$GW" 4022)"
assert_ok "node b's conntrack saw the new connections" test "$(seen_by b)" -ge 1

# --- the old master returns (rebooted: no VIP left on it), as standby
ip -n "${TOPO[a.ns]}" addr flush dev "$QG"
ip -n "${TOPO[a.ns]}" addr flush dev "$QR"
for dev in "$QG" "$QR" "$HA"; do ip -n "${TOPO[a.ns]}" link set "$dev" up; done
keepalived_start a ka-a2 || topo_fail "keepalived on a again"
sleep $((3 * ADVERT_INT + 1))
assert_fails "node a came back as standby (nopreempt)" has_vip a
t_back=$EPOCHREALTIME
sleep 1
assert_eq "traffic still flows after its return" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
fails=$(awk -v t="$t_back" '$1 > t && $2 == "FAIL"' "$PROBE_LOG" | grep -c .)
assert_eq "no probe failed since" 0 "$fails"

# --- b's keepalived stops (priority 0): a takes over with the table it kept
t_stop=$EPOCHREALTIME
topo_kill ka-b
topo_wait $((limit + 5)) has_vip a
assert_eq "node a is master again" 0 $?
topo_wait $((limit + 5)) sh -c "awk -v t=$t_stop '\$2 == \"OK\" && \$1 > t { f = 1 } END { exit !f }' '$PROBE_LOG'"
gap2=$(python3 -c "print('%.2f' % ($(probe_at "$t_stop") - $(probe_at -b "$t_stop")))" 2>/dev/null || echo 999)
echo "# switch back (keepalived stopped, priority 0 advert): gap ${gap2} s" >&2
assert_eq "the VM answers through node a again" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
assert_ok "node a's conntrack saw the new connections" test "$(seen_by a)" -ge 1
kill "$PROBE_PID" 2>/dev/null
wait "$PROBE_PID" 2>/dev/null

# --- status and hosts: each agent answers for its node's replica
for node in a b; do
	agent_node "$node"
	agent_start || topo_fail "agent $node restarts"
	api GET "/v1/routers/$UUID/port_forwardings"
	assert_eq "node $node: ACTIVE" ACTIVE "$(api_field port_forwardings.0.status)"
	assert_eq "node $node: hosts names the node and its namespace" \
		"node-$node $NS_ROUTER" \
		"$(api_field port_forwardings.0.hosts.0.host) $(api_field port_forwardings.0.hosts.0.namespace)"
	agent_stop || topo_fail "agent $node stops"
done

topo_finish
