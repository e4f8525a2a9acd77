# shellcheck shell=bash disable=SC2154 # top, state, port and TOPO are tools/lab's and topo.sh's
# tools/lab up --ha (sourced by tools/lab): the lab's router as an HA router
# with replicas on two simulated nodes (test/integration/lib/topo-ha.sh),
# keepalived in each as Neutron runs it, one pat-agent and monitor per node;
# then a failover, measured, with nothing done by PRaaS. Both agents share
# one MariaDB (tools/lab-db.sh): the forwardings are created once, through
# node a, and node b's agent programs its standby replica from the database.

labha_build() {
	# shellcheck source=../test/integration/lib/topo-ha.sh
	. "$top/test/integration/lib/topo-ha.sh"
	say "building an HA router: replicas of one qrouter- namespace on nodes a and b"
	topo_ha_router 1 && topo_ha_replica a 1 && topo_ha_replica b 2 ||
		die "cannot build the router's replicas"
	TOPO[r1.gw4]=${TOPO[ha.gw4]} # what prove() forwards from
	if ! topo_outside client ha-ext || ! topo_vm vm1 ha-lan || ! topo_vm vm2 ha-lan; then
		die "cannot build the client and VM namespaces"
	fi
	if ! topo_serve_tcp -t vm1 vm1 any 22 || ! topo_serve_tcp -t vm2 vm2 any 22; then
		die "cannot start the VMs' services"
	fi
	say "starting keepalived in each replica (VRRP on the ha- link, advert_int 1 s)"
	topo_ha_keepalived a keepalived-a || die "cannot start keepalived on node a"
	topo_wait 15 topo_ha_has_vip a || die "node a's keepalived did not take the VIP"
	topo_ha_keepalived b keepalived-b || die "cannot start keepalived on node b"
	sleep 3
	! topo_ha_has_vip b || die "node b took the VIP too"
	say "node a is master (holds ${TOPO[ha.gw4]} on ${TOPO[ha.qg]}), node b is standby"
}

# Node b's agent, on the same database, lists the forwardings made through
# node a and programmed its standby replica with them (its gateway address
# from its keepalived.conf: the VIP is not on its qg-).
labha_show_on_b() {
	local i
	echo
	say "node b's agent lists them from the shared database (http://127.0.0.1:$((port + 1))):"
	LAB_URL=http://127.0.0.1:$((port + 1)) praas forwarding list | sed 's/^/  /'
	[[ ${PIPESTATUS[0]} == 0 ]] || die "node b's agent could not list the forwardings"
	for ((i = 0; i < 50; i++)); do
		[[ $(labha_elements b) == 2 ]] && break
		sleep 0.1
	done
	[[ $(labha_elements b) == 2 ]] ||
		die "node b's standby replica does not hold the two forwardings"
	say "and programmed its standby replica with them (2 forwardings in its table inet praas)"
}

# NODE: the forwardings in NODE's replica (elements of its IPv4 map).
labha_elements() {
	lab_elements "/run/netns/${TOPO[$1.ns]}"
}

# Both replicas' tables, to show PRaaS changed nothing during the failover.
labha_tables() {
	local n
	for n in a b; do
		ip netns exec "${TOPO[$n.ns]}" nft list table inet praas 2>&1
	done
}

# The probe's last answer before $1 and first after: the failover's gap.
labha_gap() {
	awk -v t="$1" '$2 == "OK" && $1 < t { b = $1 } $2 == "OK" && $1 > t && !a { a = $1 }
		END { if (a && b) printf "%.2f\n", a - b; else print "none" }' "$state/probe.log"
}

labha_failover() {
	local t gap before client=${TOPO[client.ip4]} gw=${TOPO[ha.gw4]} ans probe
	before=$(labha_tables)
	(
		while :; do
			t=$EPOCHREALTIME
			if topo_tcp_query client "$gw" 4022 0.4 >/dev/null 2>&1; then
				echo "$t OK"
			else
				echo "$t FAIL"
			fi
			sleep 0.1
		done >>"$state/probe.log"
	) &
	probe=$!
	sleep 1
	echo
	say "FAILOVER: node a dies (its keepalived SIGKILLed, its links down); PRaaS is not told"
	t=$EPOCHREALTIME
	topo_ha_fail a keepalived-a || die "cannot fail node a"
	topo_wait 15 topo_ha_has_vip b || die "node b did not take the VIP"
	topo_wait 10 sh -c "awk -v t=$t '\$2 == \"OK\" && \$1 > t { f = 1 } END { exit !f }' '$state/probe.log'"
	kill "$probe" 2>/dev/null
	wait "$probe" 2>/dev/null
	gap=$(labha_gap "$t")
	[[ $gap != none ]] || die "the client did not reach vm1 again after the failover"
	ans=$(topo_tcp_query client "$gw" 4022) || die "the client cannot reach vm1 through node b"
	say "node b holds $gw now; client $client connects to $gw:4022; the service answers: \"$ans\""
	say "gap between the last answer before the failure and the first after: $gap s"
	say "(keepalived's failover time: about 3 x advert_int (1 s) + skew (0.8 s))"
	[[ $(labha_tables) == "$before" ]] || die "a replica's table changed during the failover"
	say "neither replica's table changed: the standby had the forwardings already"
	echo
	say "node a comes back (as after a reboot): keepalived again, standby (nopreempt)"
	topo_ha_return a keepalived-a2 || die "node a cannot come back"
	sleep 4
	! topo_ha_has_vip a || die "node a took the VIP back"
	ans=$(topo_tcp_query client "$gw" 4022) || die "the client cannot reach vm1 after node a returned"
	say "client $client connects to $gw:4022; the service answers: \"$ans\""
	echo
	say "PROOF (HA): the client reached vm1 through node b ${gap} s after node a died,"
	say "            with no PRaaS process doing anything, and still does with node a back."
}

labha_up() {
	# shellcheck source=lab-db.sh
	. "$top/tools/lab-db.sh"
	labdb_up
	labha_build
	write_config none "" "" ""
	start_agents ""
	write_config none "" "" b
	start_agents b
	prove "${TOPO[ha.uuid]}"
	labha_show_on_b
	labha_failover
}
