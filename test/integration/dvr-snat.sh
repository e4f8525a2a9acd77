#!/usr/bin/env bash
# Issue 13: a DVR router on a dvr_snat node. Its gateway port (qg-) lives in
# snat-<uuid>, with an sg- port on the tenant subnet; the node's
# qrouter-<uuid> holds the distributed qr- port (the VMs' gateway) and no
# qg-. Forwardings land in snat- only, traffic passes (client -> snat- ->
# VM, and back through qrouter- -> snat-, as DVR routes it), and the
# namespace watch rebuilds snat- when it is re-created; qrouter- never gets
# a table, neither when it appears beside snat- nor at a restart.
#
#   client 203.0.113.10 --[ext]-- qg- 203.0.113.1  snat-<uuid>  sg- 10.0.0.5 --+
#   vm1 10.0.0.11 (gw 10.0.0.1) ------------[lan]-----------------------------+
#                                 qr- 10.0.0.1  qrouter-<uuid> (default via 10.0.0.5)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/topo-dvr.sh"

topo_init dvr
UUID=$(</proc/sys/kernel/random/uuid)
GW=203.0.113.1
topo_dvr_router "$UUID" 203.0.113 10.0.0 "$GW" || topo_fail "the router's segments"
SNAT=${TOPO[dvr.snat]} QROUTER=${TOPO[dvr.qrouter]}

has_table() {
	ip netns exec "${TOPO[$1.ns]}" nft list table inet praas >/dev/null 2>&1
}

status_is() {
	api GET "/v1/routers/$UUID/port_forwardings/$FID"
	[[ $(api_field port_forwarding.status) == "$1" ]]
}

topo_outside client dvr-ext || topo_fail "client"
topo_vm vm1 dvr-lan || topo_fail "vm"
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
CLIENT=${TOPO[client.ip4]}
topo_dvr_snat || topo_fail "snat- namespace"

agent_config 'host="network-1"'
agent_start || topo_fail "agent starts"
# The qrouter- namespace appears beside snat-: the agent leaves it alone.
topo_dvr_qrouter || topo_fail "qrouter- namespace"

api POST "/v1/routers/$UUID/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"${TOPO[vm1.ip4]}\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "create on the DVR router (gateway from snat-'s qg-)" 201 "$API_STATUS"
FID=$(api_field port_forwarding.id 2>/dev/null)
assert_eq "its address is the gateway on snat-'s qg-" "$GW" \
	"$(api_field port_forwarding.external_ip_address 2>/dev/null)"
assert_eq "hosts: this node's snat- namespace" "network-1 $SNAT" \
	"$(api_field port_forwarding.hosts.0.host 2>/dev/null) $(api_field port_forwarding.hosts.0.namespace 2>/dev/null)"
assert_eq "the forwarding is in snat-'s table" 1 "$(praas_elements "$SNAT" dnat4)"
assert_fails "qrouter- has no praas table" has_table "$QROUTER"
assert_eq "traffic: client -> snat- -> VM and back (through qrouter-)" "$CLIENT vm1" \
	"$(topo_tcp_query client "$GW" 4022)"

# --- the monitor checks snat-'s table, not qrouter-'s: drift there is repaired
monitor_start
ip netns exec "${TOPO[$SNAT.ns]}" nft add chain inet praas foreign
topo_wait 5 sh -c "grep -q 'drifted' '$AGENT_DIR/monitor.log'"
assert_eq "the monitor finds drift in snat-'s table" 0 $?
topo_wait 2 sh -c "! ip netns exec '${TOPO[$SNAT.ns]}' nft list chain inet praas foreign >/dev/null 2>&1"
assert_eq "and the pat-agent repairs it" 0 $?
assert_fails "the monitor's checks wrote nothing into qrouter-" has_table "$QROUTER"
# qrouter- is not looked at: no false suspect each period (nothing changes here).
sleep 2
assert_match "no suspects cleared by the pat-agent in 4 periods" ', 0 suspects cleared' \
	"$(grep 'reconcile:' "$AGENT_DIR/monitor.log" | tail -n1)"
monitor_stop

# --- snat- goes (SNAT moved away): DOWN; qrouter- still untouched
topo_dvr_del "$SNAT" || topo_fail "snat- deleted"
topo_wait 1 status_is DOWN
assert_eq "snat- gone: DOWN within a second" 0 $?
assert_eq "status_reason" namespace_absent "$(api_field port_forwarding.status_reason)"
assert_fails "qrouter- still has no praas table" has_table "$QROUTER"
api POST "/v1/routers/$UUID/port_forwardings" \
	"{\"port_forwarding\":{\"internal_ip_address\":\"${TOPO[vm1.ip4]}\",\"internal_port\":80}}"
assert_eq "a create while snat- is away: 404 (not written into qrouter-)" 404 "$API_STATUS"

# --- snat- re-created: rebuilt by the namespace watch
topo_dvr_snat || topo_fail "snat- re-created"
topo_wait 1 status_is ACTIVE
assert_eq "snat- back: ACTIVE within a second" 0 $?
assert_eq "snat- rebuilt with the forwarding" 1 "$(praas_elements "$SNAT" dnat4)"
assert_eq "traffic through the re-created snat-" "$CLIENT vm1" \
	"$(topo_tcp_query client "$GW" 4022)"
assert_fails "qrouter- has no praas table after the rebuild" has_table "$QROUTER"

# --- a restart restores snat- only
agent_stop || topo_fail "agent stops"
ip netns exec "${TOPO[$SNAT.ns]}" nft delete table inet praas
agent_start || topo_fail "agent restarts"
assert_eq "restart: snat- restored" 1 "$(praas_elements "$SNAT" dnat4)"
assert_fails "restart: qrouter- left alone" has_table "$QROUTER"
assert_eq "traffic after the restart" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

agent_stop || topo_fail "agent stops"
topo_finish
