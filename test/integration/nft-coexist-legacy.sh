#!/bin/bash
# What docs/operator-guide.md "The traffic's path" says about iptables,
# tried in a router namespace with iptables-legacy (x_tables, not nf_tables):
#  - PRaaS's DNAT (prerouting, priority -110) runs before an iptables nat
#    PREROUTING (-100): a legacy DNAT of the same port does not steal it,
#    and a legacy floating-IP DNAT for another address keeps working;
#  - filtering happens after the DNAT: a FORWARD rule (as the L3 agent's
#    and FWaaS's are) sees the VM's address and port, not the gateway's, and
#    the client's own source address (without masquerade), so that is what
#    it must allow;
#  - with masquerade, the VM (and its security group) sees the router's
#    tenant-side address instead.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftlegacy
topo_require iptables-legacy

topo_router r1
topo_outside c1
topo_vm vm1
topo_vm vm2
GW4=${TOPO[r1.gw4]} QG=${TOPO[r1.qg]} LAN4=${TOPO[r1.lan4]}
VM4=${TOPO[vm1.ip4]} V2_4=${TOPO[vm2.ip4]} C4=${TOPO[c1.ip4]}
FIP=203.0.113.51
topo_serve_tcp -t vm1 vm1 any 22
topo_serve_tcp -t vm2 vm2 any 22

ipt() { topo_exec r1 iptables-legacy "$@"; }
ip -n "${TOPO[r1.ns]}" addr add "$FIP/32" dev "$QG"
ipt -t nat -A PREROUTING -d "$FIP/32" -j DNAT --to-destination "$V2_4" ||
	topo_fail "iptables-legacy takes a floating-IP DNAT"
# A leftover of the Python PRaaS: the same router port to another VM.
ipt -t nat -A PREROUTING -d "$GW4/32" -p tcp --dport 2222 -j DNAT --to-destination "$V2_4:22" ||
	topo_fail "iptables-legacy takes a DNAT of port 2222"
assert_eq "before PRaaS, the legacy DNAT answers on 2222" "$C4 vm2" "$(topo_tcp_query c1 "$GW4" 2222)"

assert_ok "PRaaS's table is written beside iptables-legacy's" ctl r1 sync "tcp,$GW4,2222,$VM4,22"
assert_eq "PRaaS's DNAT (-110) runs before the legacy nat PREROUTING (-100)" \
	"$C4 vm1" "$(topo_tcp_query c1 "$GW4" 2222)"
assert_eq "the legacy floating IP keeps working" "$C4 vm2" "$(topo_tcp_query c1 "$FIP" 22)"

# Filtering after DNAT: a FORWARD drop of the gateway's port does nothing,
# one of the VM's address and port stops the forwarding.
ipt -A FORWARD -d "$GW4/32" -p tcp --dport 2222 -j DROP
assert_eq "a FORWARD rule on the gateway address:port does not match" \
	"$C4 vm1" "$(topo_tcp_query c1 "$GW4" 2222)"
ipt -F FORWARD
ipt -A FORWARD -s "$C4/32" -d "$VM4/32" -p tcp --dport 22 -j DROP
assert_eq "a FORWARD rule on the client's address to the VM's address:port matches" \
	"" "$(topo_tcp_query c1 "$GW4" 2222 2>/dev/null)"
ipt -F FORWARD
assert_eq "traffic is back once that rule is gone" "$C4 vm1" "$(topo_tcp_query c1 "$GW4" 2222)"

# With masquerade the VM sees the router's tenant-side address.
assert_ok "masquerade on" ctl r1 -m sync "tcp,$GW4,2222,$VM4,22"
assert_eq "with masquerade the VM sees the router's tenant-side address" \
	"$LAN4 vm1" "$(topo_tcp_query c1 "$GW4" 2222)"
ipt -t nat -S >/dev/null || topo_fail "iptables-legacy still reads its nat table"
topo_finish
