# shellcheck shell=bash disable=SC2154 # top, state, port, net and TOPO are tools/lab's and topo.sh's
# tools/lab up --nodes 2 (sourced by tools/lab): two simulated network nodes
# on one MariaDB (issue 12, docs/design.md "Many network nodes"). Each node
# has its own pat-agent and monitor (node a on PRAAS_LAB_PORT, node b on the
# next port), its own netns_dir holding its replica of one router (the same
# router id on both, as an HA router's replicas), and a VM behind each
# replica (test/integration/lib/nodes.sh builds them). A forwarding is
# created through node a's API only; the lab shows it listed through node
# b's API and reached, with real TCP, through node b's replica, which node
# b's agent programmed from the database alone.
#
#   client 203.0.113.10 -- qg- 203.0.113.1 [node a: qrouter-<uuid>] qr- 10.0.0.1 -- vma 10.0.0.11
#   client 203.0.113.10 -- qg- 203.0.113.1 [node b: qrouter-<uuid>] qr- 10.0.0.1 -- vmb 10.0.0.11
#   (two wires with the same addresses; both replicas bound as the same name)

labnodes_build() {
	# shellcheck source=../test/integration/lib/nodes.sh
	. "$top/test/integration/lib/nodes.sh"
	say "building router replicas on nodes a and b (a VM behind each)"
	nodes_pair_build || die "cannot build the router's replicas"
	echo "${TOPO[r1.uuid]}" >"$state/router"
}

labnodes_url() { # NODE: its agent's REST API
	if [[ $1 == b ]]; then echo "http://127.0.0.1:$((port + 1))"; else echo "http://127.0.0.1:$port"; fi
}

# Waits (up to 5 s) for the client on node b's wire to reach the VM behind
# node b's replica; prints the milliseconds since T0 and the answer.
labnodes_reach_b() { # T0 ($EPOCHREALTIME)
	local t0=$1 ans i
	for ((i = 0; i < 50; i++)); do
		if ans=$(topo_tcp_query cb "${TOPO[r1.gw4]}" 4022 0.3 2>/dev/null); then
			echo "$(python3 -c "print(round(($EPOCHREALTIME - $t0) * 1000))") $ans"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

labnodes_prove() {
	local r=${TOPO[r1.uuid]} gw=${TOPO[r1.gw4]} vm=${TOPO[vma.ip4]} client=${TOPO[cb.ip4]} got ms ans t0
	say "1. a forwarding created through node a's API ($(labnodes_url a)):"
	echo "  praas --url $(labnodes_url a) forwarding create --router $r --internal-ip $vm --internal-port 22 --external-port 4022"
	LAB_URL=$(labnodes_url a) praas forwarding create --router "$r" --internal-ip "$vm" \
		--internal-port 22 --external-port 4022 --description "lab: ssh to the VM" |
		sed 's/^/  /'
	[[ ${PIPESTATUS[0]} == 0 ]] || die "node a's agent could not create the forwarding"
	t0=$EPOCHREALTIME
	echo
	say "2. listed through node b's API ($(labnodes_url b)):"
	echo "  praas --url $(labnodes_url b) forwarding list"
	LAB_URL=$(labnodes_url b) praas forwarding list | sed 's/^/  /'
	[[ ${PIPESTATUS[0]} == 0 ]] || die "node b's agent could not list the forwardings"
	echo
	got=$(labnodes_reach_b "$t0") ||
		die "the client on node b's wire could not reach the VM through node b's replica"
	ms=${got%% *} ans=${got#* }
	say "3. reached through node b's replica: client $client connects to $gw:4022 on node b's wire;"
	say "   the service answers: \"$ans\" (node b's agent had it from the database ${ms} ms after node a answered)"
	[[ $ans == "$client vmb" ]] || die "unexpected answer: $ans (wanted \"$client vmb\")"
	ans=$(topo_tcp_query ca "$gw" 4022) || die "the client could not reach the VM through node a's replica"
	say "   and through node a's replica, on node a's wire: \"$ans\""
	[[ $ans == "${TOPO[ca.ip4]} vma" ]] || die "unexpected answer: $ans (wanted \"${TOPO[ca.ip4]} vma\")"
	echo
	say "4. the agents sharing the database (praas agent list):"
	LAB_URL=$(labnodes_url b) praas agent list | sed 's/^/  /'
	[[ ${PIPESTATUS[0]} == 0 ]] || die "praas agent list failed"
	echo
	say "PROOF (nodes): a forwarding created through node a's API was listed through node b's"
	say "              and reached through node b's replica; both agents share one MariaDB."
}

labnodes_up() {
	# shellcheck source=lab-db.sh
	. "$top/tools/lab-db.sh"
	labdb_up
	labnodes_build
	write_config none "" "" ""
	start_agents ""
	write_config none "" "" b
	start_agents b
	echo
	labnodes_intro
	labnodes_prove
}

labnodes_intro() {
	say "two network nodes, a and b: each its own pat-agent (a: $(labnodes_url a), b: $(labnodes_url b)),"
	say "its own netns_dir holding its replica of router ${TOPO[r1.uuid]}, and a VM behind it;"
	say "one MariaDB for both: $(<"$state/database")"
	echo
}
