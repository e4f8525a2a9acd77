#!/bin/bash
# Masquerade and hairpin. Per forwarding and global masquerade: the VM sees
# the router's tenant-side address instead of the client's. Hairpin: a
# second VM on the same tenant network reaches the first through
# gateway:port, in a plain namespace router with no Neutron SNAT rules.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftmasq

topo_router r1
topo_outside -r c1
topo_vm vm1
topo_vm vm2
GW4=${TOPO[r1.gw4]} GW6=${TOPO[r1.gw6]}
LAN4=${TOPO[r1.lan4]} LAN6=${TOPO[r1.lan6]}
VM4=${TOPO[vm1.ip4]} VM6=${TOPO[vm1.ip6]}
C4=${TOPO[c1.ip4]} C6=${TOPO[c1.ip6]}
V2_4=${TOPO[vm2.ip4]} V2_6=${TOPO[vm2.ip6]}

topo_serve_tcp -t ssh vm1 any 22
topo_serve_udp -t dns vm1 any 53

FWDS=(
	"tcp,$GW4,2201,$VM4,22,masq"
	"tcp,$GW4,2202,$VM4,22"
	"tcp,$GW6,2201,$VM6,22,masq"
	"tcp,$GW6,2202,$VM6,22"
	"udp,$GW4,5301,$VM4,53,masq"
	"udp,$GW6,5302,$VM6,53"
)

# Hairpin fails without the table: the VM is not reachable via the gateway.
assert_fails "no forwarding: hairpin unreachable" topo_tcp_query vm2 "$GW4" 2202 1

assert_ok "sync per-forwarding masquerade" ctl r1 sync "${FWDS[@]}"
assert_eq "v4 masq forwarding: VM sees the router" "$LAN4 ssh" "$(topo_tcp_query c1 "$GW4" 2201)"
assert_eq "v4 plain forwarding: VM sees the client" "$C4 ssh" "$(topo_tcp_query c1 "$GW4" 2202)"
assert_eq "v6 masq forwarding: VM sees the router" "$LAN6 ssh" "$(topo_tcp_query c1 "$GW6" 2201)"
assert_eq "v6 plain forwarding: VM sees the client" "$C6 ssh" "$(topo_tcp_query c1 "$GW6" 2202)"
assert_eq "udp v4 masq forwarding" "$LAN4 dns" "$(topo_udp_query c1 "$GW4" 5301)"
assert_eq "udp v6 plain forwarding" "$C6 dns" "$(topo_udp_query c1 "$GW6" 5302)"

# Hairpin: vm2 -> gateway:port -> vm1. vm1 must answer through the router,
# so the router source-NATs the connection to its own tenant address.
assert_eq "hairpin v4 tcp" "$LAN4 ssh" "$(topo_tcp_query vm2 "$GW4" 2202)"
assert_eq "hairpin v6 tcp" "$LAN6 ssh" "$(topo_tcp_query vm2 "$GW6" 2202)"
assert_eq "hairpin v6 udp" "$LAN6 dns" "$(topo_udp_query vm2 "$GW6" 5302)"
assert_eq "hairpin v4 on a masq forwarding" "$LAN4 ssh" "$(topo_tcp_query vm2 "$GW4" 2201)"
# Direct traffic between the VMs is not touched by any of this.
assert_eq "vm2 -> vm1 directly keeps its address" "$V2_4 ssh" "$(topo_tcp_query vm2 "$VM4" 22)"
assert_eq "vm2 -> vm1 directly keeps its address (v6)" "$V2_6 ssh" \
	"$(topo_tcp_query vm2 "$VM6" 22)"

# Global masquerade: every forwarded connection, masq flag or not.
assert_fails "per-forwarding table is drift for the global option" ctl r1 -m check "${FWDS[@]}"
assert_ok "sync with global masquerade" ctl r1 -m sync "${FWDS[@]}"
assert_ok "global masquerade reads back" ctl r1 -m check "${FWDS[@]}"
assert_fails "global rules are drift without the option" ctl r1 check "${FWDS[@]}"
assert_eq "global: v4 plain forwarding masqueraded" "$LAN4 ssh" \
	"$(topo_tcp_query c1 "$GW4" 2202)"
assert_eq "global: v6 plain forwarding masqueraded" "$LAN6 ssh" \
	"$(topo_tcp_query c1 "$GW6" 2202)"
assert_eq "global: udp v6 plain forwarding masqueraded" "$LAN6 dns" \
	"$(topo_udp_query c1 "$GW6" 5302)"
assert_eq "global: hairpin still works" "$LAN4 ssh" "$(topo_tcp_query vm2 "$GW4" 2202)"
# Traffic that is not forwarded by us is not masqueraded: vm1 -> client.
topo_serve_tcp -t out c1 any 9999
assert_eq "global: unrelated routed traffic keeps its source" "$VM4 out" \
	"$(topo_tcp_query vm1 "$C4" 9999)"

# Back to per forwarding: the global rules go.
assert_ok "sync without global masquerade" ctl r1 sync "${FWDS[@]}"
assert_eq "v4 plain forwarding sees the client again" "$C4 ssh" \
	"$(topo_tcp_query c1 "$GW4" 2202)"

topo_finish
