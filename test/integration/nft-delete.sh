#!/bin/bash
# Removing and retargeting forwardings under live traffic. Deleting a map
# element alone leaves established sessions running on their conntrack
# entries; with the conntrack cleanup an established TCP session is cut
# (its next send fails) and new connections are refused. A retarget moves a
# running UDP flow to the new VM.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftdel

topo_router r1
topo_outside c1
topo_vm vm1
topo_vm vm2
GW4=${TOPO[r1.gw4]} GW6=${TOPO[r1.gw6]}
VM4=${TOPO[vm1.ip4]} VM6=${TOPO[vm1.ip6]}
V2_4=${TOPO[vm2.ip4]}
C4=${TOPO[c1.ip4]} C6=${TOPO[c1.ip6]}

topo_serve_tcp -t ssh vm1 any 22
topo_serve_udp -t vm1 vm1 any 53
topo_serve_udp -t vm2 vm2 any 53

F4="tcp,$GW4,2222,$VM4,22"
F6="tcp,$GW6,2222,$VM6,22"
U1="udp,$GW4,5000,$VM4,53"
U2="udp,$GW4,5000,$V2_4,53"
assert_ok "sync" ctl r1 sync "$F4" "$F6" "$U1"

# The fact the cleanup exists for: without it a deleted forwarding lives on.
topo_tcp_session_open s0 c1 "$GW4" 2222 >/dev/null
assert_ok "delete without conntrack cleanup" ctl r1 -C del "$F4"
assert_eq "without cleanup the session survives" "$C4 ssh" "$(topo_tcp_session_send s0)"
assert_ok "conntrack cleanup alone" ctl r1 ct-flush "$F4"
assert_fails "after the cleanup the session is cut" topo_tcp_session_send s0
topo_tcp_session_close s0

# The bulk cleanup: one dump for several forwardings, v4, v6 and UDP alike.
assert_ok "add again for the bulk case" ctl r1 add "$F4"
assert_eq "bulk: v4 session opens" "$C4 ssh" "$(topo_tcp_session_open b4 c1 "$GW4" 2222)"
assert_eq "bulk: v6 session opens" "$C6 ssh" "$(topo_tcp_session_open b6 c1 "$GW6" 2222)"
assert_ok "bulk: delete both without cleanup" ctl r1 -C del "$F4"
assert_ok "bulk: delete v6 without cleanup" ctl r1 -C del "$F6"
assert_eq "bulk: v6 session still alive" "$C6 ssh" "$(topo_tcp_session_send b6)"
out=$(ctl r1 ct-flush "$F4" "$F6" "$U1")
assert_match "bulk: one flush deletes the entries of both" "conntrack: deleted ([2-9]|[1-9][0-9])" "$out"
assert_fails "bulk: v4 session cut" topo_tcp_session_send b4
assert_fails "bulk: v6 session cut" topo_tcp_session_send b6
topo_tcp_session_close b4
topo_tcp_session_close b6
assert_ok "bulk: v6 forwarding back" ctl r1 add "$F6"

# The real operation: nft change, then conntrack cleanup.
assert_ok "add again" ctl r1 add "$F4"
assert_eq "session v4 opens" "$C4 ssh" "$(topo_tcp_session_open s1 c1 "$GW4" 2222)"
assert_eq "session v6 opens" "$C6 ssh" "$(topo_tcp_session_open s2 c1 "$GW6" 2222)"
assert_eq "session v4 carries data" "$C4 ssh" "$(topo_tcp_session_send s1)"
out=$(ctl r1 del "$F4")
assert_match "delete v4 removes its conntrack entry" "conntrack: deleted [1-9]" "$out"
assert_fails "established v4 session is cut" topo_tcp_session_send s1
assert_fails "new v4 connections are refused" topo_tcp_query c1 "$GW4" 2222 1
assert_eq "the v6 session is untouched" "$C6 ssh" "$(topo_tcp_session_send s2)"
assert_ok "delete v6" ctl r1 del "$F6"
assert_fails "established v6 session is cut" topo_tcp_session_send s2
assert_fails "new v6 connections are refused" topo_tcp_query c1 "$GW6" 2222 1
assert_ok "deleting again is not an error" ctl r1 del "$F6"
assert_ok "table holds only the UDP forwarding" ctl r1 check "$U1"

# Retarget a running UDP flow from vm1 to vm2.
topo_udp_flow_start f1 c1 "$GW4" 5000 40000
assert_ok "flow reaches vm1" topo_udp_flow_wait f1 "vm1$" 5
assert_ok "retarget without conntrack cleanup" ctl r1 -C replace "$U1" "$U2"
sleep 1
assert_match "without cleanup the flow stays on vm1" "vm1$" "$(topo_udp_flow_last f1)"
assert_ok "retarget back" ctl r1 -C replace "$U2" "$U1"
assert_ok "retarget to vm2 (with cleanup)" ctl r1 replace "$U1" "$U2"
assert_ok "the running flow moves to vm2" topo_udp_flow_wait f1 "vm2$" 3
sleep 0.5
assert_match "and stays there" "^$C4 vm2$" "$(topo_udp_flow_last f1)"
assert_ok "table holds the new target" ctl r1 check "$U2"
topo_udp_flow_stop f1

topo_finish
