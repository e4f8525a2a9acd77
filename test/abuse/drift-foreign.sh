#!/usr/bin/env bash
# Issue 10, defect 8: anything in a router's `table inet praas` that the
# pat-agent did not write is drift, reported and removed within one monitor
# period, and traffic flows again. Both real agents, standalone,
# second_monitoring = 0.5. Each damage is done with the nft binary inside
# the router's namespace, as an attacker or a careless operator would:
# a foreign rule in our chain (the issue's example, aimed at a forwarded
# port), one of our rules replaced by another with our comment, our rules
# reordered, a foreign base chain with policy drop, a foreign set, a
# counter object with a rule using it, policy drop on our chain, and the
# table made dormant. Before the fix the foreign rule survived every cycle.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init dforeign
topo_require nft python3 curl
topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1:22"
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"
R1=${TOPO[r1.uuid]}
GW=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
CLIENT=${TOPO[client.ip4]}
# One period (500 ms) plus a look, a verify, a resync and the poll.
LIMIT_MS=${PRAAS_TEST_DRIFT_LIMIT_MS:-1000}

agent_config
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
base=/v1/routers/$R1/port_forwardings
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "forwarding 4022 created" 201 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":80,\"external_port\":4080}}"
assert_eq "forwarding 4080 created" 201 "$API_STATUS"
assert_eq "traffic through 4022 before anything" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"

# The whole table as nft lists it (chains with their policy, rules with
# their comments, sets, objects, the table's flags), handles and map
# generations aside, one item a line, sorted.
shape() {
	topo_exec "$1" nft list table inet praas 2>/dev/null |
		sed -E 's/(dnat|masq)([46])[A-Za-z0-9_]*/\1\2/g; s/[{},]/\n/g' |
		sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; /^$/d' | sort
}
# The order of our rules in each chain (sort would hide a reordering).
order() { topo_exec r1 nft list table inet praas 2>/dev/null | grep -o 'comment "[^"]*"' | tr '\n' '|'; }
WANT=$(shape r1)
WANT_ORDER=$(order)
assert_match "the table holds both forwardings" "$GW . tcp . 4022 : $VM1 . 22" "$WANT"
drifts() { grep -c 'drifted' "$AGENT_DIR/monitor.log"; }
same() { [[ $(shape r1) == "$WANT" && $(order) == "$WANT_ORDER" ]]; }
same_after() { [[ $(drifts) -gt $1 ]] && same; }
ms() { date +%s%3N; }

monitor_start
topo_wait 5 grep -q 'reconcile:' "$AGENT_DIR/monitor.log" || topo_fail "the monitor runs a cycle" "$(tail -5 "$AGENT_DIR/monitor.log")"
sleep 1.5
assert_eq "no drift reported while nothing was done" 0 "$(drifts)"

# damage DESC NFT-ARGS...: one nft command in r1; the monitor must report it
# (once), the table must be exactly as before within LIMIT_MS, and traffic
# must flow through both forwardings.
repaired=0
slowest=0
damage() {
	local desc=$1 t0 took seen
	shift
	seen=$(drifts)
	t0=$(ms)
	if ! topo_exec r1 nft "$@"; then
		topo_fail "$desc: the damage itself (nft $*)"
		return
	fi
	if topo_wait 5 same_after "$seen"; then
		took=$(($(ms) - t0))
		echo "# $desc: repaired in $took ms"
		assert_ok "$desc: repaired within one period ($took ms <= $LIMIT_MS ms)" test "$took" -le "$LIMIT_MS"
		repaired=$((repaired + 1))
		[[ $took -gt $slowest ]] && slowest=$took
	else
		topo_fail "$desc: repaired" "$(shape r1 | grep -vF -x -f <(echo "$WANT") | head -5 | tr '\n' ' ') / $(grep -E 'drifted|verify' "$AGENT_DIR/monitor.log" | tail -2)"
	fi
	assert_eq "$desc: the monitor reported one drift" $((seen + 1)) "$(drifts)"
	assert_eq "$desc: traffic through 4022" "$CLIENT vm1" "$(topo_tcp_query client "$GW" 4022)"
	assert_eq "$desc: traffic through 4080" "$CLIENT vm1-80" "$(topo_tcp_query client "$GW" 4080)"
}
handle_of() { # CHAIN COMMENT
	topo_exec r1 nft -a list chain inet praas "$1" | grep -F "comment \"$2\"" | sed -E 's/.*# handle ([0-9]+).*/\1/'
}

damage "a foreign rule dropping a forwarded port (nft insert rule ... tcp dport 4022 drop)" \
	insert rule inet praas prerouting tcp dport 4022 drop
damage "the issue's own example (tcp dport 10000 drop)" \
	insert rule inet praas prerouting tcp dport 10000 drop
damage "a foreign rule appended to the postrouting chain" \
	add rule inet praas postrouting ip daddr "$VM1" tcp dport 22 drop
h=$(handle_of prerouting "praas dnat ipv4")
damage "one of our rules replaced by a drop with our comment" \
	replace rule inet praas prerouting handle "$h" tcp dport 4080 drop comment '"praas dnat ipv4"'
# Our postrouting rules, the first moved last: same rules, another order.
h=$(handle_of postrouting "praas masquerade hairpin")
damage "our rules reordered (hairpin masquerade moved last)" \
	-f /dev/stdin <<EOF
delete rule inet praas postrouting handle $h
add rule inet praas postrouting ct label 100 masquerade comment "praas masquerade hairpin"
EOF
damage "a foreign base chain with policy drop" \
	add chain inet praas sneak '{ type filter hook prerouting priority -300; policy drop; }'
damage "a foreign set" add set inet praas stray '{ type ipv4_addr; }'
damage "a foreign chain jumped to from ours, with a counter object" \
	-f /dev/stdin <<EOF
add counter inet praas seen
add chain inet praas detour
add rule inet praas detour counter name seen tcp dport 4022 drop
insert rule inet praas prerouting jump detour
EOF
damage "policy drop on our prerouting chain" \
	add chain inet praas prerouting '{ policy drop; }'
damage "the table made dormant" add table inet praas '{ flags dormant; }'
echo "figure: foreign_damages_repaired $repaired of_10"
echo "figure: foreign_damage_slowest_repair $slowest ms"

assert_eq "every rewrite left the table as PRaaS reads it back (no 'still differs')" 0 \
	"$(grep -c 'still differs' "$AGENT_DIR/pat-agent.log")"

monitor_stop || topo_fail "the monitor exits 0"
agent_stop || topo_fail "the pat-agent exits 0"
if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR"/*.log; then
	topo_fail "no sanitizer report in the agents' logs"
fi
topo_finish
