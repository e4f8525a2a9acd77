#!/bin/bash
# topo-selftest.sh: proves test/integration/lib/topo.sh builds working
# topologies and leaves nothing behind.
#
# Without arguments it is the driver: it runs itself with --inner MODE in a
# child bash for each mode, checks the child's exit status, then checks that
# every namespace, process, mount and directory the child recorded in its
# manifest (TOPO_MANIFEST) is gone:
#   normal       two routers with outside clients and VMs, routed TCP/UDP over
#                IPv4 and IPv6 both ways, VM to VM, sessions, flows, loops,
#                router delete/restore, gateway change, shared external
#                network, second subnet; must exit 0
#   fail-assert  a deliberately wrong assertion; must exit 1
#   crash        `false` under set -e with servers, a session and a flow
#                running; must exit non-zero
#   signal       SIGTERM while waiting; must exit 143
#   signal-kill  SIGKILL while waiting: the leak must be detected (so the
#                check can fail), then topo_cleanup from the run directory
#                alone must remove it
#   persist, resume
#                a topology kept after its script ends (topo_init -d), taken
#                over by another script (topo_load), grown, then removed
# Needs root; exits 77 when it cannot run.

# Functions here are mostly called through assert_ok, which shellcheck
# cannot follow.
# shellcheck disable=SC2317

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=topo.sh
source "$here/topo.sh"

# ---------------------------------------------------------------- inner runs

# Seconds since $1 (an EPOCHREALTIME value), as an integer number of ms.
elapsed_ms() {
	local now=${EPOCHREALTIME/./} then=${1/./}
	echo $(((now - then) / 1000))
}

no_tentative() {
	local ns out
	for ns in "$@"; do
		out=$(topo_exec "$ns" ip -6 addr show tentative) || return 1
		[[ -z $out ]] || {
			echo "$ns: $out"
			return 1
		}
	done
}

no_default_route() {
	local out
	out=$(topo_exec "$1" ip route show default; topo_exec "$1" ip -6 route show default)
	[[ -z $out ]] || {
		echo "$1 has a default route: $out"
		return 1
	}
}

# The route from NS to DST is on-link (no gateway).
direct_route() {
	local out
	out=$(topo_exec "$1" ip route get "$2") || return 1
	[[ $out != *" via "* ]] || {
		echo "$out"
		return 1
	}
}

via_route() {
	local out
	out=$(topo_exec "$1" ip route get "$2") || return 1
	[[ $out == *" via $3 "* ]] || {
		echo "$out"
		return 1
	}
}

# Plain routed traffic for router R with client C and VMs V1, V2.
check_router() {
	local r=$1 c=$2 v1=$3 v2=$4 f proto
	local cip4=${TOPO[$c.ip4]} cip6=${TOPO[$c.ip6]}
	for f in 4 6; do
		local vip=${TOPO[$v1.ip$f]} cip=${TOPO[$c.ip$f]} v2ip=${TOPO[$v2.ip$f]}
		for proto in tcp udp; do
			assert_eq "$r: $proto/ipv$f client -> VM, VM sees the client" \
				"$cip $v1" "$(topo_${proto}_query "$c" "$vip" 8080)"
			assert_eq "$r: $proto/ipv$f VM -> client, client sees the VM" \
				"$vip $c" "$(topo_${proto}_query "$v1" "$cip" 9090)"
			assert_eq "$r: $proto/ipv$f VM -> VM on the same network" \
				"$v2ip $v1" "$(topo_${proto}_query "$v2" "$vip" 8080)"
		done
		assert_ok "$r: ipv$f VM -> VM is on-link" direct_route "$v2" "$vip"
	done
	assert_ok "$r: client reaches the VMs via the gateway (ipv4)" \
		via_route "$c" "${TOPO[$v1.ip4]}" "${TOPO[$r.gw4]}"
	assert_ok "$r: client reaches the VMs via the gateway (ipv6)" \
		via_route "$c" "${TOPO[$v1.ip6]}" "${TOPO[$r.gw6]}"
	assert_ok "$r: client has no default route" no_default_route "$c"
	assert_ok "$r: router has no default route" no_default_route "$r"
	: "$cip4" "$cip6"
}

start_servers() {
	local h
	for h in "$@"; do
		topo_serve_tcp -t "$h" "$h" any 8080 || return 1
		topo_serve_udp -t "$h" "$h" any 8080 || return 1
	done
}

inner_normal() {
	topo_router r1
	topo_outside -r c1 r1
	topo_vm v11 r1
	topo_vm v12 r1
	topo_router r2
	topo_outside -r c2 r2
	topo_vm v21 r2
	topo_vm v22 r2

	assert_eq "router namespace is qrouter-<uuid>" "qrouter-${TOPO[r1.uuid]}" "${TOPO[r1.ns]}"
	assert_match "qg- name is Neutron-like" '^qg-[0-9a-f]{8}-[0-9a-f]{2}$' "${TOPO[r1.qg]}"
	assert_match "qr- name is Neutron-like" '^qr-[0-9a-f]{8}-[0-9a-f]{2}$' "${TOPO[r1.qr]}"
	assert_ok "router is in /run/netns" test -e "/run/netns/${TOPO[r1.ns]}"
	assert_eq "private netns dir holds the same namespace" \
		"$(stat -L -c %i "/run/netns/${TOPO[r1.ns]}")" \
		"$(stat -L -c %i "$TOPO_NETNS_DIR/${TOPO[r1.ns]}")"
	assert_eq "addresses: gateway, client, VMs" \
		"203.0.113.1 203.0.113.10 10.0.0.11 10.0.0.12 2001:db8:2::12" \
		"${TOPO[r1.gw4]} ${TOPO[c1.ip4]} ${TOPO[v11.ip4]} ${TOPO[v12.ip4]} ${TOPO[v12.ip6]}"
	assert_eq "router forwards ipv4 and ipv6" "1 1" \
		"$(topo_exec r1 sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding | xargs)"
	assert_ok "no IPv6 address waits for DAD" \
		no_tentative r1 r2 c1 c2 v11 v12 v21 v22
	assert_eq "switch namespace has bridge netfilter off" "0 0" \
		"$(topo_exec "$TOPO__SW" sysctl -n net.bridge.bridge-nf-call-iptables \
			net.bridge.bridge-nf-call-ip6tables | xargs)"

	start_servers v11 v12 v21 v22
	topo_serve_tcp -t c1 c1 any 9090
	topo_serve_udp -t c1 c1 any 9090
	topo_serve_tcp -t c2 c2 any 9090
	topo_serve_udp -t c2 c2 any 9090

	check_router r1 c1 v11 v12
	check_router r2 c2 v21 v22
	assert_eq "routers are separate: c2 reaches r2's VM at the same address" \
		"203.0.113.10 v21" "$(topo_tcp_query c2 10.0.0.11 8080)"

	# Failures are reported, quickly.
	local t0
	t0=$EPOCHREALTIME
	assert_fails "tcp query to a closed port fails" topo_tcp_query c1 10.0.0.11 8081
	assert_fails "udp query to a closed port fails" topo_udp_query c1 10.0.0.11 8081
	assert_fails "tcp query to an absent host fails" topo_tcp_query c1 10.0.0.99 8080 1
	assert_fails "udp query to an absent host fails" topo_udp_query c1 2001:db8:2::99 8080 1
	assert_ok "failures took less than 6 s" test "$(elapsed_ms "$t0")" -lt 6000
	assert_eq "query from a chosen source port" "203.0.113.10 v11" \
		"$(topo_tcp_query -p 41234 c1 10.0.0.11 8080)"

	# A session stays established until the server side goes away.
	local srv
	assert_eq "session greeting" "203.0.113.10 v12" \
		"$(topo_tcp_session_open s1 c1 10.0.0.12 8080)"
	assert_eq "session ipv6 greeting" "2001:db8:1::10 v12" \
		"$(topo_tcp_session_open s6 c1 2001:db8:2::12 8080)"
	assert_ok "session answers a line" topo_tcp_session_send s1
	sleep 0.3
	assert_eq "session answers later" "203.0.113.10 v12" "$(topo_tcp_session_send s1)"
	assert_ok "ipv6 session answers" topo_tcp_session_send s6
	topo_serve_tcp -t v12b v12 10.0.0.12 8181
	srv=$TOPO_PID
	topo_tcp_session_open s2 c1 10.0.0.12 8181 >/dev/null
	assert_ok "second session answers" topo_tcp_session_send s2
	topo_kill "$srv"
	assert_fails "session is cut once its server is gone" topo_tcp_session_send s2 1
	assert_ok "the first session is untouched" topo_tcp_session_send s1
	topo_tcp_session_close s1
	assert_fails "a closed session cannot send" topo_tcp_session_send s1

	# A UDP flow notices when another server answers.
	topo_serve_udp -t old v11 10.0.0.11 8282
	srv=$TOPO_PID
	topo_udp_flow_start f1 c1 10.0.0.11 8282 40001
	assert_ok "flow gets answers" topo_udp_flow_wait f1 '^203\.0\.113\.10 old$' 3
	local sent old
	sleep 1
	sent=$(topo_udp_flow_sent f1) old=$(topo_udp_flow_count f1 ' old$')
	assert_ok "flow sends about 20/s and gets each answer ($sent sent, $old answers)" \
		test "$sent" -ge 15 -a "$old" -ge $((sent - 3))
	topo_kill "$srv"
	sleep 0.3
	topo_serve_udp -t new v11 10.0.0.11 8282
	assert_ok "flow sees the new server" topo_udp_flow_wait f1 ' new$' 5
	assert_eq "last answer is from the new server" "203.0.113.10 new" "$(topo_udp_flow_last f1)"
	topo_udp_flow_stop f1
	sent=$(topo_udp_flow_sent f1)
	sleep 0.2
	assert_eq "a stopped flow sends no more" "$sent" "$(topo_udp_flow_sent f1)"
	topo_udp_flow_start f6 c1 2001:db8:2::11 8080
	assert_ok "ipv6 flow gets answers" topo_udp_flow_wait f6 '^2001:db8:1::10 v11$' 3
	topo_udp_flow_stop f6

	# A connect loop counts successes and failures.
	local counts
	topo_tcp_loop_start l1 c1 10.0.0.11 8080
	sleep 1
	counts=$(topo_tcp_loop_stop l1)
	assert_match "connect loop: all succeed ($counts)" '^[1-9][0-9]* 0$' "$counts"
	topo_tcp_loop_start l2 c1 10.0.0.11 8083
	sleep 0.5
	counts=$(topo_tcp_loop_stop l2)
	assert_match "connect loop to a closed port: all fail ($counts)" '^0 [1-9][0-9]*$' "$counts"

	# Routers can go away and come back, as in Neutron.
	local ns=${TOPO[r2.ns]}
	topo_router_del r2
	assert_fails "deleted router: namespace gone" test -e "/run/netns/$ns"
	assert_fails "deleted router: gone from the private dir" test -e "$TOPO_NETNS_DIR/$ns"
	assert_fails "deleted router: no traffic" topo_tcp_query c2 10.0.0.11 8080 1
	topo_router_restore r2
	assert_ok "restored router: in the private dir" test -e "$TOPO_NETNS_DIR/$ns"
	assert_eq "restored router: traffic again" "203.0.113.10 v21" \
		"$(topo_tcp_query c2 10.0.0.11 8080)"

	# Gateway change, a server in the router itself.
	topo_router_set_gw r2 203.0.113.7 2001:db8:1::7
	topo_serve_tcp r2 any 7000
	assert_eq "new gateway address answers" "203.0.113.10" \
		"$(topo_tcp_query c2 203.0.113.7 7000)"
	assert_eq "new ipv6 gateway address answers" "2001:db8:1::10" \
		"$(topo_tcp_query c2 2001:db8:1::7 7000)"
	assert_fails "old gateway address is gone" topo_tcp_query c2 203.0.113.1 7000 1

	# A third router on r1's external network; a second subnet on r1.
	topo_router -e r1-ext -l 10.0.5 -L 2001:db8:5 r3
	topo_outside c3 r3
	topo_vm v31 r3
	assert_eq "shared external network: second router gets .2" "203.0.113.2" "${TOPO[r3.gw4]}"
	assert_eq "shared external network: next client gets .11" "203.0.113.11" "${TOPO[c3.ip4]}"
	topo_serve_tcp r3 any 7000
	assert_eq "c1 reaches r3 on the shared network" "203.0.113.10" \
		"$(topo_tcp_query c1 203.0.113.2 7000)"
	assert_eq "c3 without -r has no tenant route" "" "$(topo_exec c3 ip route show 10.0.5.0/24)"
	topo_subnet r1 r1-lan2 10.0.1 2001:db8:3
	topo_vm v13 r1-lan2
	assert_match "second subnet has its own qr-" '^qr-' "${TOPO[r1-lan2.qr]}"
	assert_eq "second subnet VM reaches the first, routed" "10.0.1.11 v11" \
		"$(topo_tcp_query v13 10.0.0.11 8080)"
	assert_eq "second subnet VM, ipv6" "2001:db8:3::11 v11" \
		"$(topo_udp_query v13 2001:db8:2::11 8080)"
	check_spawn

	topo_finish
}

# Enough running to make cleanup work: servers, a session, a flow.
inner_busy() {
	topo_router r1
	topo_outside -r c1 r1
	topo_vm v11 r1
	start_servers v11
	topo_tcp_session_open s1 c1 10.0.0.11 8080 >/dev/null
	topo_udp_flow_start f1 c1 10.0.0.11 8080
	topo_udp_flow_wait f1 v11 3
	# A process started in a namespace behind the library's back.
	topo_exec v11 sleep 300 &
}

# A topology that outlives its script (tools/lab up), then a second script
# that takes it over and removes it (tools/lab down).
inner_persist() {
	topo_init -d "$1" "${TOPO_SELFTEST_PREFIX:-topoself}"
	topo_router r1
	topo_outside -r c1 r1
	topo_vm v11 r1
	start_servers v11
	topo_spawn agent sleep 300
	assert_eq "persistent topology works" "203.0.113.10 v11" "$(topo_tcp_query c1 10.0.0.11 8080)"
	topo_finish
}

inner_resume() {
	topo_load "$1"
	assert_eq "loaded facts" "10.0.0.11" "${TOPO[v11.ip4]}"
	assert_eq "loaded topology still works" "203.0.113.10 v11" \
		"$(topo_tcp_query c1 10.0.0.11 8080)"
	assert_ok "its agent still runs" topo_proc_pid agent
	topo_vm v12 r1
	assert_eq "it can grow: next VM address" "10.0.0.12" "${TOPO[v12.ip4]}"
	assert_eq "and the new VM works" "10.0.0.12 v11" "$(topo_tcp_query v12 10.0.0.11 8080)"
	topo_cleanup
	assert_fails "after topo_cleanup the directory is gone" test -e "$1"
	topo_finish
}

# Spawned processes: exit status, signals, namespaces.
check_spawn() {
	local pid st
	topo_spawn -n v11 svc bash -c 'trap "exit 7" HUP; echo up; while :; do sleep 0.05; done'
	pid=$(topo_proc_pid svc)
	assert_eq "spawned process runs in its namespace" "${TOPO[v11.ns]}" "$(ip netns identify "$pid")"
	kill -HUP "$pid"
	st=$(topo_proc_wait svc 3)
	assert_eq "its exit status is recorded" 7 "$st"
	assert_eq "its output is logged" up "$(cat "$(topo_proc_log svc)")"
	topo_spawn hostsvc sleep 60
	topo_kill hostsvc
	assert_eq "topo_kill by name: killed by TERM" 143 "$(topo_proc_wait hostsvc 3)"
	assert_fails "a name is used once" topo_spawn svc true
}

inner() {
	local mode=$1
	case $mode in
	persist) inner_persist "$2" ;;
	resume) inner_resume "$2" ;;
	esac
	# A trap set before topo_init must still run.
	trap 'echo caller-trap-ran >>"$TOPO_MANIFEST"' EXIT
	topo_init "${TOPO_SELFTEST_PREFIX:-topoself}"
	# shellcheck disable=SC2016 # expanded at exit
	topo_on_exit 'echo on-exit-ran >>"$TOPO_MANIFEST"'
	case $mode in
	normal) inner_normal ;;
	fail-assert)
		inner_busy
		assert_eq "deliberately wrong" "203.0.113.99 v11" "$(topo_tcp_query c1 10.0.0.11 8080)"
		topo_finish
		;;
	crash)
		set -e
		inner_busy
		false
		echo "not reached"
		;;
	signal*)
		inner_busy
		echo ready >>"$TOPO_MANIFEST"
		sleep 60 &
		# shellcheck disable=SC2064 # the PID is known now
		topo_on_exit "kill $! 2>/dev/null"
		wait $!
		;;
	esac
	echo "inner: mode $mode fell through" >&2
	exit 3
}

# ---------------------------------------------------------------- driver

# Everything in MANIFEST is gone; print what is not.
leftovers() {
	local manifest=$1 prefix=$2 kind what left=0 dir=
	while read -r kind what; do
		case $kind in
		ns)
			if [[ -e /run/netns/$what ]]; then
				echo "namespace $what is left"
				left=1
			fi
			;;
		pid)
			if [[ -d /proc/$what ]] && [[ $(</proc/"$what"/stat) != *") Z "* ]]; then
				echo "process $what is left: $(tr '\0' ' ' <"/proc/$what/cmdline")"
				left=1
			fi
			;;
		dir)
			dir=$what
			if [[ -e $what ]]; then
				echo "directory $what is left"
				left=1
			fi
			;;
		esac
	done <"$manifest"
	if ip netns list | grep -q "^$prefix-"; then
		echo "namespaces named $prefix-* are left: $(ip netns list | grep "^$prefix-" | xargs)"
		left=1
	fi
	if [[ -n $dir ]] && grep -qF "$dir" /proc/mounts; then
		echo "mounts under $dir are left"
		left=1
	fi
	if [[ -n $dir ]] && pgrep -f -- "$dir" >/dev/null; then
		echo "processes using $dir are left: $(pgrep -f -a -- "$dir")"
		left=1
	fi
	if pgrep -f -- "sleep 300" | while read -r p; do
		ip netns identify "$p" 2>/dev/null | grep -q "^$prefix-" && echo "$p"
	done | grep -q .; then
		echo "a process started in a test namespace is left"
		left=1
	fi
	return "$left"
}

# Every namespace in MANIFEST exists.
all_present() {
	local kind what
	while read -r kind what; do
		[[ $kind == ns ]] || continue
		[[ -e /run/netns/$what ]] || {
			echo "namespace $what is missing"
			return 1
		}
	done <"$1"
}

persist_and_resume() {
	local manifest=$work/persist.manifest prefix="topost${$}p" rc
	: >"$manifest"
	TOPO_MANIFEST=$manifest TOPO_SELFTEST_PREFIX=$prefix \
		timeout -s KILL 120 bash "$0" --inner persist "$work/lab" >"$work/persist.out" 2>&1 &&
		rc=0 || rc=$?
	sed 's/^/# | /' "$work/persist.out"
	assert_eq "persist: exit status" 0 "$rc"
	assert_ok "persist: the namespaces outlive the script" all_present "$manifest"
	TOPO_MANIFEST=$manifest timeout -s KILL 120 bash "$0" --inner resume "$work/lab" \
		>"$work/resume.out" 2>&1 && rc=0 || rc=$?
	sed 's/^/# | /' "$work/resume.out"
	assert_eq "resume: exit status" 0 "$rc"
	assert_ok "resume: nothing is left" leftovers "$manifest" "$prefix"
}

# Remove a persistent topology a failed check left behind.
driver_cleanup() {
	if [[ -f $work/lab/state ]]; then
		(topo_load "$work/lab" && topo_cleanup)
	fi
	rm -rf "$work"
}

run_mode() {
	local mode=$1 want=$2 sig=${3:-}
	local manifest=$work/$mode.manifest out=$work/$mode.out
	local prefix="topost${$}${mode:0:1}" rc pid i
	: >"$manifest"
	TOPO_MANIFEST=$manifest TOPO_SELFTEST_PREFIX=$prefix \
		timeout -s KILL 240 bash "$0" --inner "$mode" >"$out" 2>&1 &
	pid=$!
	if [[ $mode == signal* ]]; then
		for ((i = 0; i < 600; i++)); do
			grep -qx ready "$manifest" && break
			sleep 0.05
		done
		# timeout(1) runs bash as its child: signal the test itself.
		kill "-${sig:-TERM}" "$(pgrep -P "$pid" -x bash)"
	fi
	# (braces: no "Killed" job notice from this shell)
	{ wait "$pid" && rc=0 || rc=$?; } 2>/dev/null
	sed 's/^/# | /' "$out"
	if [[ $want == nonzero ]]; then
		assert_ok "$mode: exit status is non-zero (got $rc)" test "$rc" -ne 0
	else
		assert_eq "$mode: exit status" "$want" "$rc"
	fi
	assert_ok "$mode: namespaces were made" grep -q '^ns qrouter-' "$manifest"
	if [[ $sig == KILL ]]; then
		# Nothing runs after SIGKILL: the check must see the leak, and the
		# run directory must be enough to remove it.
		assert_fails "$mode: the leak is seen" leftovers "$manifest" "$prefix"
		(
			TOPO_DIR=$(awk '$1 == "dir" { print $2 }' "$manifest")
			topo_cleanup
		)
	else
		assert_ok "$mode: the caller's earlier EXIT trap ran" grep -qx caller-trap-ran "$manifest"
		assert_ok "$mode: topo_on_exit command ran" grep -qx on-exit-ran "$manifest"
	fi
	assert_ok "$mode: nothing is left" leftovers "$manifest" "$prefix"
}

driver() {
	[[ $(id -u) == 0 ]] || topo_skip "needs root (network namespaces)"
	topo_require ip socat ss pgrep
	work=$(mktemp -d /tmp/topo-selftest.XXXXXX) || exit 1
	trap driver_cleanup EXIT
	run_mode normal 0
	run_mode fail-assert 1
	assert_ok "fail-assert: the wrong assertion was reported" \
		grep -q '^not ok .* - deliberately wrong' "$work/fail-assert.out"
	run_mode crash nonzero
	assert_fails "crash: the script stopped at the failure" \
		grep -q 'not reached' "$work/crash.out"
	run_mode signal 143
	run_mode signal-kill 137 KILL
	persist_and_resume
	topo_finish
}

if [[ ${1:-} == --inner ]]; then
	inner "${2:?mode}" "${3:-}"
else
	driver
fi
