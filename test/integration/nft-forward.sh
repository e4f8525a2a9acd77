#!/bin/bash
# Forwarding through table inet praas with real traffic: TCP and UDP, IPv4
# and IPv6, single ports, N:N and N:1 ranges. An outside client reaches the
# VM through gateway:external_port, and the VM sees the client's own address.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftfwd

topo_router r1
topo_outside c1
topo_vm vm1
GW4=${TOPO[r1.gw4]} GW6=${TOPO[r1.gw6]}
VM4=${TOPO[vm1.ip4]} VM6=${TOPO[vm1.ip6]}
C4=${TOPO[c1.ip4]} C6=${TOPO[c1.ip6]}

topo_serve_tcp -t ssh vm1 any 22
topo_serve_udp -t dns vm1 any 53
for p in 8000 8001 8002; do topo_serve_tcp -t "p$p" vm1 any $p; done
topo_serve_udp -t n1 vm1 any 9000
topo_serve_tcp -t n1 vm1 any 9100

FWDS=(
	"tcp,$GW4,2222,$VM4,22"
	"udp,$GW4,5353,$VM4,53"
	"tcp,$GW6,2222,$VM6,22"
	"udp,$GW6,5353,$VM6,53"
	"tcp,$GW4,7000:7002,$VM4,8000:8002"
	"tcp,$GW6,7000:7002,$VM6,8000:8002"
	"udp,$GW6,7100:7102,$VM6,9000"
	"udp,$GW4,7100:7102,$VM4,9000"
	"tcp,$GW4,7200:7201,$VM4,9100"
)

# The failure first: without the table nothing reaches the VM.
assert_fails "no forwarding: tcp $GW4:2222 unreachable" topo_tcp_query c1 "$GW4" 2222 1
assert_fails "no forwarding: udp $GW6:5353 unreachable" topo_udp_query c1 "$GW6" 5353 1

assert_ok "sync ${#FWDS[@]} forwardings" ctl r1 sync "${FWDS[@]}"
assert_ok "table reads back as synced" ctl r1 check "${FWDS[@]}"

assert_eq "tcp v4 single port, client address kept" "$C4 ssh" "$(topo_tcp_query c1 "$GW4" 2222)"
assert_eq "udp v4 single port, client address kept" "$C4 dns" "$(topo_udp_query c1 "$GW4" 5353)"
assert_eq "tcp v6 single port, client address kept" "$C6 ssh" "$(topo_tcp_query c1 "$GW6" 2222)"
assert_eq "udp v6 single port, client address kept" "$C6 dns" "$(topo_udp_query c1 "$GW6" 5353)"
for i in 0 1 2; do
	assert_eq "tcp v4 N:N range port 700$i -> 800$i" "$C4 p800$i" \
		"$(topo_tcp_query c1 "$GW4" 700$i)"
	assert_eq "tcp v6 N:N range port 700$i -> 800$i" "$C6 p800$i" \
		"$(topo_tcp_query c1 "$GW6" 700$i)"
	assert_eq "udp v6 N:1 range port 710$i -> 9000" "$C6 n1" "$(topo_udp_query c1 "$GW6" 710$i)"
	assert_eq "udp v4 N:1 range port 710$i -> 9000" "$C4 n1" "$(topo_udp_query c1 "$GW4" 710$i)"
done
assert_eq "tcp v4 N:1 range port 7201 -> 9100" "$C4 n1" "$(topo_tcp_query c1 "$GW4" 7201)"

# Ports next to the forwarded ones are not forwarded; nor is the other protocol.
assert_fails "tcp v4 port 7003 (past the range) not forwarded" topo_tcp_query c1 "$GW4" 7003 1
assert_fails "udp v4 port 2222 (tcp only) not forwarded" topo_udp_query c1 "$GW4" 2222 1

# The output chain: a connection started inside the router namespace.
assert_match "from the router itself (output chain)" " ssh$" "$(topo_tcp_query r1 "$GW4" 2222)"

# Adding one more later is one element; it works at once.
topo_serve_tcp -t web vm1 any 80
assert_ok "add tcp $GW4:8080" ctl r1 add "tcp,$GW4,8080,$VM4,80"
assert_eq "added forwarding answers" "$C4 web" "$(topo_tcp_query c1 "$GW4" 8080)"
assert_ok "read back with the addition" ctl r1 check "${FWDS[@]}" "tcp,$GW4,8080,$VM4,80"
assert_fails "drift detected against the old list" ctl r1 check "${FWDS[@]}"

# A resync rewrites the live maps in place: their names stay.
assert_ok "resync back to the first list" ctl r1 sync "${FWDS[@]}"
assert_ok "map dnat4 still there" topo_exec r1 nft list map inet praas dnat4
assert_fails "8080 gone after the resync" topo_tcp_query c1 "$GW4" 8080 1

# A map the in-place resync cannot reuse (someone made dnat4_b by hand with
# another type): the resync rebuilds the table instead of failing for ever.
assert_ok "a foreign dnat4_b made by hand" \
	topo_exec r1 nft add map inet praas dnat4_b "{ type ipv4_addr : ipv4_addr; }"
out=$(ctl r1 sync "${FWDS[@]}" 2>&1)
assert_eq "resync despite it" 0 "$?"
assert_match "and it says why it rebuilt" "dnat4_b: File exists; rebuilding table inet praas" "$out"
assert_ok "table reads back as synced" ctl r1 check "${FWDS[@]}"
assert_fails "the foreign map is gone" topo_exec r1 nft list map inet praas dnat4_b
assert_eq "traffic after the rebuild" "$C4 ssh" "$(topo_tcp_query c1 "$GW4" 2222)"

topo_finish
