#!/bin/bash
# Atomic resync: clients opening thousands of TCP connections a second
# (IPv4 and IPv6) while the table is resynced, 300 times by the small path
# (the live maps and rules rewritten in place in one transaction) and 300
# times by the split path (fresh maps filled in transactions of 2,000
# elements, the rules switched to them, the old maps deleted after), see no
# failed connection.
#
# Negative control: lib/nft.c once replaced the whole table (small) or
# deleted the old maps in the switching transaction (split); a packet that
# entered the chain under the old rules and looked the old map up just after
# the commit missed, and this test saw 1-4 refused connections per path on
# every run.
. "$(dirname "$0")/nft-common.sh"
nft_test_init nftatom
CONNLOOP=${PRAAS_CONNLOOP:-${PRAAS_BUILD_ROOT:-$NFT_TESTDIR/../../build}/test/integration/praas-connloop}
[[ -x $CONNLOOP ]] || topo_skip "praas-connloop is not built ($CONNLOOP)"
RESYNCS=${NFT_ATOMIC_RESYNCS:-300}

topo_router r1
topo_outside c1
topo_vm vm1
GW4=${TOPO[r1.gw4]} GW6=${TOPO[r1.gw6]}
VM4=${TOPO[vm1.ip4]} VM6=${TOPO[vm1.ip6]}
topo_spawn -n vm1 server "$CONNLOOP" listen 22
topo_wait_listen vm1 tcp 22 || topo_fail "the VM's server listens"

# The forwardings the clients use, among 5,000 others (10,002 elements).
FW=$TOPO_DIR/forwardings
{
	echo "tcp,$GW4,2222,$VM4,22"
	echo "tcp,$GW6,2222,$VM6,22"
	for ((i = 0; i < 5000; i++)); do
		echo "udp,$GW4,$((10000 + i)),$VM4,$((20000 + i))"
		echo "tcp,$GW6,$((10000 + i)),$VM6,$((20000 + i))"
	done
} >"$FW"
assert_ok "initial sync" ctl r1 sync - <"$FW"

# loops_start TAG / loops_stop TAG: both clients; stop prints "OK FAILED".
loops_start() {
	topo_spawn -n c1 "$1.4" "$CONNLOOP" connect "$GW4" 2222
	topo_spawn -n c1 "$1.6" "$CONNLOOP" connect "$GW6" 2222
	sleep 0.2
}
loops_stop() {
	local ok=0 failed=0 o f v
	for v in 4 6; do
		topo_kill "$1.$v"
		topo_proc_wait "$1.$v" >/dev/null
		read -r o f < <(grep -E '^[0-9]+ [0-9]+$' "$(topo_proc_log "$1.$v")")
		ok=$((ok + ${o:-0})) failed=$((failed + ${f:-1}))
		grep -h "^FAIL" "$(topo_proc_log "$1.$v")" | sed "s/^/# v$v /" >&2
	done
	echo "$ok $failed"
}

# Both paths work before anything is measured.
loops_start warmup
sleep 0.3
read -r ok failed < <(loops_stop warmup)
assert_eq "warm-up: no connection failed ($ok made)" 0 "$failed"
assert_match "warm-up: connections made" "^[1-9][0-9]*$" "$ok"

# resync_under_load DESC CTL-ARGS...: RESYNCS resyncs while the loops run.
resync_under_load() {
	local desc=$1 tag=$2 start elapsed ok failed
	shift 2
	loops_start "$tag"
	start=$EPOCHREALTIME
	assert_ok "$RESYNCS $desc resyncs" ctl r1 "$@" -r "$RESYNCS" sync - <"$FW"
	elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	read -r ok failed < <(loops_stop "$tag")
	echo "# $RESYNCS $desc resyncs took ${elapsed}s; $ok connections made, $failed failed"
	assert_eq "no connection failed during the $desc resyncs" 0 "$failed"
	# A loop that made no connections would prove nothing.
	assert_ok "at least 1,000 connections during the $desc resyncs ($ok)" test "$ok" -ge 1000
}
resync_under_load "small (one transaction)" small -o 20000
resync_under_load "split (transactions of 2,000 elements)" split -o 1000 -b 2000

assert_ok "table matches after the resyncs" ctl r1 check - <"$FW"
# The old maps go once the rules have switched: one generation is left.
sets=$(topo_exec r1 nft list table inet praas | grep -cE '^[[:space:]]*map dnat[46](_b)? ')
assert_eq "one dnat4 and one dnat6 map left" 2 "$sets"

topo_finish
