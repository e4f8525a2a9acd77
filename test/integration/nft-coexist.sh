#!/bin/bash
# PRaaS's table lives beside others and never touches them: an iptables-nft
# nat table with a Neutron-style floating IP DNAT (for another address) and
# a plain nft table stay byte for byte the same through every operation,
# and the floating IP keeps working. A table flushed or deleted behind our
# back is rebuilt on the next change.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftcoex
topo_require iptables-nft ip6tables-nft

topo_router r1
topo_outside c1
topo_vm vm1
topo_vm vm2
GW4=${TOPO[r1.gw4]} GW6=${TOPO[r1.gw6]} QG=${TOPO[r1.qg]}
VM4=${TOPO[vm1.ip4]} VM6=${TOPO[vm1.ip6]} V2_4=${TOPO[vm2.ip4]}
C4=${TOPO[c1.ip4]}
FIP=203.0.113.50
topo_serve_tcp -t vm1 vm1 any 22
topo_serve_tcp -t vm2 vm2 any 22

# Neutron's way for a floating IP: the address on qg-, iptables DNAT/SNAT.
ip -n "${TOPO[r1.ns]}" addr add "$FIP/32" dev "$QG"
ipt() { topo_exec r1 iptables-nft "$@"; }
ipt -t nat -N neutron-l3-agent-PREROUTING
ipt -t nat -A PREROUTING -j neutron-l3-agent-PREROUTING
ipt -t nat -A neutron-l3-agent-PREROUTING -d "$FIP/32" -j DNAT --to-destination "$V2_4"
ipt -t nat -A POSTROUTING -s "$V2_4/32" -j SNAT --to-source "$FIP"
topo_exec r1 ip6tables-nft -t nat -A POSTROUTING -o "$QG" -p udp --dport 9 -j ACCEPT
# Someone else's nft table, with a set and a rule.
topo_exec r1 nft -f - <<NFT
table ip other {
	set blocked { type ipv4_addr; elements = { 198.51.100.7 } }
	chain input { type filter hook input priority 0; policy accept;
		ip saddr @blocked drop comment "keep me"
	}
}
NFT

# iptables-nft's tables, as nft sees them (its "do not touch" warning aside).
snapshot() {
	topo_exec r1 nft -s list table ip nat 2>/dev/null
	topo_exec r1 nft -s list table ip6 nat 2>/dev/null
	topo_exec r1 nft -s list table ip other
}
BEFORE=$(snapshot)
assert_match "the foreign tables are there" "keep me" "$BEFORE"
assert_eq "floating IP works before" "$C4 vm2" "$(topo_tcp_query c1 "$FIP" 22)"

check_untouched() {
	assert_eq "$1: other tables untouched" "$BEFORE" "$(snapshot)"
}
F1="tcp,$GW4,2222,$VM4,22"
F2="tcp,$GW6,2222,$VM6,22"
F3="tcp,$GW4,2223,$V2_4,22"

assert_ok "sync" ctl r1 sync "$F1" "$F2"
check_untouched sync
assert_eq "forwarding works beside the floating IP" "$C4 vm1" "$(topo_tcp_query c1 "$GW4" 2222)"
assert_eq "floating IP still works" "$C4 vm2" "$(topo_tcp_query c1 "$FIP" 22)"
assert_ok "add" ctl r1 add "$F3"
check_untouched add
ctl r1 replace "$F3" "tcp,$GW4,2223,$VM4,22" >/dev/null
check_untouched replace
assert_ok "del" ctl r1 del "tcp,$GW4,2223,$VM4,22"
check_untouched del
ctl r1 -o 1 -b 1 sync "$F1" "$F2" "$F3" >/dev/null
check_untouched "split sync"
assert_ok "sync with global masquerade" ctl r1 -m sync "$F1" "$F2"
check_untouched "sync with global masquerade"
assert_eq "floating IP unaffected by global masquerade" "$C4 vm2" \
	"$(topo_tcp_query c1 "$FIP" 22)"
assert_ok "read" ctl r1 read
check_untouched read
ctl r1 drop >/dev/null
check_untouched drop
assert_eq "floating IP works after our table is gone" "$C4 vm2" "$(topo_tcp_query c1 "$FIP" 22)"
assert_ok "drop again is not an error" ctl r1 drop

# Someone deletes or flushes our table: the next change rebuilds it.
ctl r1 sync "$F1" "$F2" >/dev/null
topo_exec r1 nft delete table inet praas
out=$(ctl r1 add "$F3")
assert_eq "add after the table was deleted says it rebuilt" "rebuilt" "$out"
assert_ok "rebuilt table holds the change" ctl r1 check "$F3"
assert_eq "forwarding works in the rebuilt table" "$C4 vm2" "$(topo_tcp_query c1 "$GW4" 2223)"
topo_exec r1 nft flush table inet praas
out=$(ctl r1 add "$F1")
assert_eq "add after the table was flushed says it rebuilt" "rebuilt" "$out"
assert_ok "rebuilt after flush holds the change" ctl r1 check "$F1"
check_untouched "rebuilds"
assert_eq "floating IP works at the end" "$C4 vm2" "$(topo_tcp_query c1 "$FIP" 22)"

topo_finish
