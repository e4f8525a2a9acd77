# shellcheck shell=bash
# topo.sh: network namespace topologies and real traffic for integration tests.
#
# Source it from a bash test, call topo_init first, then build routers, outside
# clients and VMs, start services, send traffic and assert. Everything the
# library creates (namespaces, processes, mounts, files) is removed when the
# test exits, whatever the reason (normal end, failed assertion, set -e, a
# signal), and topo_cleanup may be called any number of times.
#
# The shape, per router (every router gets its own segments by default, so
# several routers may all use the same addresses, as Neutron tenants do):
#
#   outside client ns                 qrouter-<uuid> ns                  VM ns
#   eth0 203.0.113.10 ---[ext bridge]--- qg-xxxxxxxx-xx 203.0.113.1
#        2001:db8:1::10                                 2001:db8:1::1
#                                        qr-xxxxxxxx-xx 10.0.0.1 ---[lan bridge]--- eth0 10.0.0.11
#                                                       2001:db8:2::1                    2001:db8:2::11
#
# Bridges live in one "switch" namespace per run (<prefix>-<id>-sw), with
# bridge netfilter off there, so two VMs on a lan talk directly at layer 2 and
# no frame goes through any nat hook but the router's. No namespace has a
# route to the host; outside clients route to the router's tenant subnets only
# when asked (-r). IPv6 addresses are added with nodad and DAD is off in every
# namespace, so IPv6 works the moment a function returns.
#
# Naming: namespaces are <prefix>-<id>-<name>, where <id> is the shell's PID
# and a random byte; routers are qrouter-<uuid> in /run/netns (ip netns add)
# and are also bind-mounted into $TOPO_NETNS_DIR, a private directory a daemon
# under test can use as its netns_dir so it sees this run's routers only.
# Interface names: qg-/qr- plus 11 characters of a random port UUID (14
# characters, like Neutron's); eth0 in clients and VMs; b<N>/p<N> in the switch.
# MAC addresses are random in Neutron's fa:16:3e range and kept when a
# router is restored. Like `ip netns add`, a router's file appears in both
# directories a moment before the namespace is mounted on it: a watcher that
# opens it on IN_CREATE must retry (setns then fails with EINVAL).
#
# Where a function takes NS, it accepts a name given to topo_router,
# topo_outside or topo_vm, or a raw namespace name. Its facts are in the
# associative array TOPO:
#   TOPO[R.ns] TOPO[R.uuid] TOPO[R.qg] TOPO[R.qr] TOPO[R.gw4] TOPO[R.gw6]
#   TOPO[R.lan4] TOPO[R.lan6] TOPO[R.ext] TOPO[R.lan]      (router R)
#   TOPO[R.subnets] (its tenant segments), TOPO[R.if.IFNAME]="SEG A4 A6 MAC"
#   TOPO[H.ns] TOPO[H.if] TOPO[H.ip4] TOPO[H.ip6] TOPO[H.gw4] TOPO[H.gw6]
#   TOPO[H.seg] TOPO[H.router]                             (client or VM H)
#   TOPO[SEG.br] TOPO[SEG.p4] TOPO[SEG.p6] TOPO[SEG.gw4] TOPO[SEG.qr]   (segment)
# Call the building functions directly, not in $( ): they set TOPO and
# counters in the calling shell. Queries, sessions, flows and waits may be
# called anywhere, $( ) included. Processes are started in their own session
# (process group = PID); do not enable job control (set -m) in a test. Logs
# of started processes are in $TOPO_DIR/log/.
#
# Setup and teardown
#   topo_init [-d DIR] PREFIX  check root and tools (exit 77 with a reason if
#                              missing), pick names, make $TOPO_DIR, set the
#                              EXIT/INT/TERM/HUP traps. An EXIT trap set before
#                              is kept and run at exit. With -d, DIR (absolute,
#                              empty or absent) is $TOPO_DIR and the topology
#                              is kept at exit, saved for topo_load (a lab).
#   topo_save                  write TOPO and the counters to $TOPO_DIR/state.
#   topo_load DIR              take over a topology kept with -d: facts, traps
#                              (it is saved again at exit); topo_cleanup ends it.
#   topo_on_exit CMD           run CMD (eval'd) at exit before the topology is
#                              torn down; last added runs first. Use this, not
#                              trap, once topo_init ran.
#   topo_cleanup               kill every process started through the library
#                              and every process left in its namespaces, delete
#                              the namespaces, mounts (any under $TOPO_DIR) and
#                              $TOPO_DIR. Idempotent.
#                              It reads only files in $TOPO_DIR, so after a
#                              kill -9, `TOPO_DIR=dir; topo_cleanup` still works.
#   topo_skip REASON           print the reason, exit 77 (meson: skipped).
#   topo_require CMD...        topo_skip unless every CMD is in PATH.
#
# Building
#   topo_router [-e SEG] [-x P4 -X P6] [-l P4 -L P6] NAME [UUID]
#                              qrouter-<UUID> (random UUID when absent) with
#                              ipv4/ipv6 forwarding, a qg- interface on a new
#                              external segment NAME-ext (or the existing
#                              segment SEG, to share an external network) and a
#                              qr- interface on a new tenant segment NAME-lan.
#                              P4 is a /24 as three octets ("203.0.113"), P6 a
#                              /64 without "::" ("2001:db8:1"). Defaults:
#                              external 203.0.113/2001:db8:1, lan 10.0.0/
#                              2001:db8:2. The router takes host .1 (then .2 ..
#                              on a shared segment).
#   topo_subnet ROUTER SEG P4 P6
#                              one more qr- interface, on a new tenant segment
#                              SEG, router at .1; TOPO[SEG.qr] names it.
#   topo_outside [-r] NAME [ROUTER|SEG]
#                              an outside client on the router's external
#                              segment (default: the last router), hosts from
#                              .10 up; -r adds routes to that router's tenant
#                              subnets via its gateway address (no default route).
#   topo_vm NAME [ROUTER|SEG]  a VM on the router's first tenant segment (or SEG),
#                              hosts from .11 up, default routes via the router.
#   topo_router_del ROUTER     delete the router's namespace (its processes are
#                              killed), as when Neutron removes a router.
#   topo_router_restore ROUTER create it again, same UUID, names and addresses.
#   topo_router_set_gw ROUTER A4 [A6]
#                              replace the gateway address(es) on qg-.
#   topo_exec NS CMD...        run CMD in NS.
#
# Traffic (servers answer "PEER" or, with -t TAG, "PEER TAG": PEER is the
# source address the server sees, IPv6 in RFC 5952 form)
#   topo_serve_tcp [-t TAG] NS ADDR PORT
#   topo_serve_udp [-t TAG] NS ADDR PORT
#                              a forking socat server; ADDR "any" listens on
#                              0.0.0.0 and :: (two sockets, one process group).
#                              Returns once it listens (or fails after 5 s);
#                              sets TOPO_PID for topo_kill.
#   topo_tcp_query [-s SRC] [-p SPORT] NS DST PORT [TIMEOUT]
#   topo_udp_query [-s SRC] [-p SPORT] NS DST PORT [TIMEOUT]
#                              print the server's answer line; non-zero on
#                              refusal, timeout (default 3 s) or empty answer.
#   topo_tcp_session_open SID NS DST PORT [TIMEOUT]
#                              open a TCP connection that stays established;
#                              prints the greeting, non-zero if none came.
#   topo_tcp_session_send SID [TIMEOUT]
#                              send a line on it, print the answer; non-zero if
#                              the send or the answer failed (cut session).
#   topo_tcp_session_close SID
#   topo_udp_flow_start FID NS DST PORT [SPORT]
#                              a datagram every 50 ms from fixed source port
#                              SPORT (default 40000); each answer is logged.
#   topo_udp_flow_wait FID REGEX [TIMEOUT]
#                              wait for an answer arriving after this call that
#                              matches REGEX (default timeout 5 s).
#   topo_udp_flow_last FID     print the last answer.
#   topo_udp_flow_count FID [REGEX]   count answers (matching REGEX).
#   topo_udp_flow_sent FID     print how many datagrams were sent.
#   topo_udp_flow_stop FID
#   topo_tcp_loop_start LID NS DST PORT [TIMEOUT]
#                              connect in a loop, recording each attempt.
#   topo_tcp_loop_stop LID     stop; print "OK_COUNT FAIL_COUNT".
#
# Processes (daemons under test)
#   topo_spawn [-n NS] NAME CMD...
#                              run CMD (in the host namespace, or NS) in its
#                              own session under a supervisor that records
#                              its exit status; output in $TOPO_DIR/log/NAME;
#                              killed at cleanup.
#   topo_proc_pid NAME         print CMD's PID (for kill -HUP and the like).
#   topo_proc_wait NAME [TIMEOUT]
#                              wait for CMD to end (default 5 s), print its
#                              exit status (128+N after signal N).
#   topo_proc_log NAME         print the path of its log.
#   topo_kill PID|NAME         TERM the process group (a TOPO_PID, or a
#                              topo_spawn NAME), KILL it after 2 s.
#
# Waiting (all bounded; they return non-zero on timeout)
#   topo_wait TIMEOUT CMD...   until CMD succeeds, polling every 50 ms.
#   topo_wait_listen NS tcp|udp PORT [TIMEOUT]
#                              until something listens on PORT in NS (default 5 s).
#
# Assertions (print "ok N - DESC" / "not ok N - DESC" with details; they
# record, they do not exit)
#   assert_eq DESC EXPECTED ACTUAL
#   assert_match DESC REGEX ACTUAL
#   assert_ok DESC CMD...      CMD exits 0 (its output shown on failure)
#   assert_fails DESC CMD...   CMD exits non-zero
#   topo_pass DESC / topo_fail DESC [DETAIL]
#   topo_finish                print "N passed, M failed" and exit 1 on any
#                              failure (or when nothing was asserted), else 0.
#
# Environment: TOPO_MANIFEST=FILE appends "ns NAME", "pid PID", "dir PATH"
# lines for every namespace, process and directory made, and keeps them after
# cleanup, so a caller can check nothing is left.

declare -gA TOPO=()
TOPO_DIR=
TOPO_NETNS_DIR=
TOPO_PID=
TOPO_ID=
TOPO_PASSED=0
TOPO_FAILED=0
TOPO_KEEP=0
declare -ga TOPO__EXIT_CMDS=()
TOPO__PFX=
TOPO__SW=
TOPO__N=0
TOPO__LAST_ROUTER=
TOPO__LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- setup

topo_skip() {
	echo "SKIP: $*"
	exit 77
}

topo_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || topo_skip "$c is not installed"
	done
}

topo__log() {
	echo "# $*" >&2
}

topo__manifest() {
	[[ -n ${TOPO_MANIFEST:-} ]] && echo "$*" >>"$TOPO_MANIFEST"
	return 0
}

topo_init() {
	local OPTIND opt keep=''
	while getopts d: opt; do
		case $opt in
		d) keep=$OPTARG ;;
		*) exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local prefix=${1:?topo_init: PREFIX missing}
	[[ $prefix =~ ^[A-Za-z0-9_-]+$ ]] || {
		echo "topo_init: bad prefix '$prefix'" >&2
		exit 2
	}
	[[ $(id -u) == 0 ]] || topo_skip "needs root (network namespaces)"
	topo_require ip socat ss timeout setsid mount awk ps
	TOPO_ID="$$$(printf '%02x' $((RANDOM % 256)))"
	TOPO__PFX="$prefix-$TOPO_ID"
	if [[ -n $keep ]]; then
		# socat and peer.sh take paths in their arguments: keep them plain.
		[[ $keep =~ ^/[A-Za-z0-9_./-]+$ ]] || {
			echo "topo_init: -d wants an absolute plain path, not '$keep'" >&2
			exit 2
		}
		if [[ -e $keep ]] && [[ -n $(ls -A "$keep") ]]; then
			echo "topo_init: $keep is not empty (topo_load it, or topo_cleanup)" >&2
			exit 1
		fi
		mkdir -p "$keep" || exit 1
		TOPO_DIR=$keep
		TOPO_KEEP=1
	else
		TOPO_DIR=$(mktemp -d "/tmp/topo-$TOPO__PFX.XXXXXX") || exit 1
		TOPO_KEEP=0
	fi
	topo__manifest "dir $TOPO_DIR"
	TOPO_NETNS_DIR=$TOPO_DIR/netns
	mkdir -p "$TOPO_NETNS_DIR" "$TOPO_DIR/log"
	: >"$TOPO_DIR/namespaces"
	: >"$TOPO_DIR/pids"
	cp "$TOPO__LIB_DIR/topo-peer.sh" "$TOPO_DIR/peer.sh"

	topo__traps

	TOPO__SW="$TOPO__PFX-sw"
	if ! ip netns add "$TOPO__SW" 2>/dev/null; then
		topo_skip "cannot create network namespaces here"
	fi
	ip netns del "$TOPO__SW"
	# The switch only bridges: no IPv6 of its own, and with br_netfilter
	# loaded on the host, bridged frames must not enter netfilter here.
	topo__ns_add "$TOPO__SW" \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || exit 1
	if [[ -d /proc/sys/net/bridge ]]; then
		ip netns exec "$TOPO__SW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 \
			net.bridge.bridge-nf-call-arptables=0 >/dev/null || exit 1
	fi
}

topo__traps() {
	# Keep a trap the caller set earlier: it runs with the other exit commands.
	local prev
	local -a words
	prev=$(trap -p EXIT)
	if [[ -n $prev && $prev != *topo__on_exit* ]]; then
		# "trap -- 'CMD' EXIT", quoted for eval
		eval "words=($prev)"
		TOPO__EXIT_CMDS+=("${words[2]}")
	fi
	trap topo__on_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Write what a later shell needs to go on with this topology (topo_load).
topo_save() {
	[[ -n $TOPO_DIR && -d $TOPO_DIR ]] || return 1
	{
		declare -p TOPO | sed '1s/^declare -A /declare -gA /'
		local v
		for v in TOPO_ID TOPO_NETNS_DIR TOPO__PFX TOPO__SW TOPO__N TOPO__LAST_ROUTER; do
			printf '%s=%q\n' "$v" "${!v}"
		done
	} >"$TOPO_DIR/state.tmp" && mv "$TOPO_DIR/state.tmp" "$TOPO_DIR/state"
}

topo_load() {
	local dir=${1:?topo_load: DIR missing}
	[[ -f $dir/state ]] || {
		echo "topo_load: no topology saved in $dir" >&2
		return 1
	}
	# shellcheck source=/dev/null
	source "$dir/state" || return 1
	TOPO_DIR=$dir
	TOPO_KEEP=1
	topo__traps
}

topo_on_exit() {
	TOPO__EXIT_CMDS+=("$*")
}

topo__on_exit() {
	local rc=$?
	trap - EXIT
	set +eu
	local i
	for ((i = ${#TOPO__EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${TOPO__EXIT_CMDS[i]}"
	done
	TOPO__EXIT_CMDS=()
	if ((TOPO_KEEP)); then
		topo_save
	else
		topo_cleanup
	fi
	exit "$rc"
}

# Print those of the process groups listed that have a live member. Zombies
# do not count: where PID 1 does not reap orphans (some containers), a dead
# group keeps zombies forever and kill -0 would still find it.
topo__live_groups() {
	local IFS=,
	ps -e -o pgid=,stat= | awk -v list="$*" '
		BEGIN { n = split(list, g, ","); for (i = 1; i <= n; i++) want[g[i]] = 1 }
		($1 in want) && $2 !~ /^Z/ && !seen[$1]++ { print $1 }'
}

# TERM the groups, KILL what is left after 2 s.
topo__kill_groups() {
	local i pid live
	live=$(topo__live_groups "$@")
	[[ -n $live ]] || return 0
	for pid in $live; do
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	for ((i = 0; i < 40; i++)); do
		live=$(topo__live_groups "$@")
		[[ -n $live ]] || return 0
		sleep 0.05
	done
	for pid in $live; do
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	return 0
}

# Kill whatever still runs inside a namespace (children a test started there
# with topo_exec, or socat children that left their process group).
topo__kill_ns_procs() {
	local ns=$1 pids i
	for ((i = 0; i < 20; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
		[[ -z $pids ]] && return 0
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.05
	done
}

# Undo the bind mount of NS in the private netns dir (derived from TOPO_DIR,
# so that topo_cleanup works given TOPO_DIR alone).
topo__umount_private() {
	local f=$TOPO_DIR/netns/$1
	[[ -e $f ]] || return 0
	umount "$f" 2>/dev/null || umount -l "$f" 2>/dev/null
	rm -f "$f"
}

topo_cleanup() {
	# Cleanup goes on past any error, whatever options the test set.
	local -
	set +eu +o pipefail
	[[ -n $TOPO_DIR && -d $TOPO_DIR ]] || return 0
	local -a pids=() nss=()
	local ns
	mapfile -t pids <"$TOPO_DIR/pids"
	mapfile -t nss <"$TOPO_DIR/namespaces"
	((${#pids[@]})) && topo__kill_groups "${pids[@]}"
	for ns in "${nss[@]}"; do
		topo__kill_ns_procs "$ns"
		topo__umount_private "$ns"
		if [[ -e /run/netns/$ns ]]; then
			ip netns del "$ns" 2>/dev/null || topo__log "cleanup: cannot delete namespace $ns"
		fi
	done
	# Whatever else is mounted there (a test's own additions).
	for ns in "$TOPO_DIR"/netns/*; do
		[[ -e $ns ]] && topo__umount_private "${ns##*/}"
	done
	# And anywhere under the run's directory (simulated nodes' netns_dirs).
	local m
	awk -v d="$TOPO_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$TOPO_DIR" || topo__log "cleanup: cannot remove $TOPO_DIR"
	TOPO_DIR=
}

# ---------------------------------------------------------------- namespaces

topo__ns() {
	local n=$1
	if [[ -n ${TOPO[$n.ns]:-} ]]; then
		printf '%s\n' "${TOPO[$n.ns]}"
	else
		printf '%s\n' "$n"
	fi
}

topo_exec() {
	local ns
	ns=$(topo__ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# Create namespace NS with loopback up, DAD off, and the extra sysctls given.
topo__ns_add() {
	local ns=$1
	shift
	ip netns add "$ns" || return 1
	echo "$ns" >>"$TOPO_DIR/namespaces"
	topo__manifest "ns $ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 "$@" >/dev/null || return 1
	ip -n "$ns" link set lo up
}

# A MAC address in Neutron's default range (base_mac fa:16:3e:00:00:00).
topo__mac() {
	printf 'fa:16:3e:%02x:%02x:%02x\n' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256))
}

# Connect interface IFNAME (with address MAC) in namespace NS to segment
# SEG's bridge. A router restored with the same MACs is reachable at once:
# its neighbours' ARP/NDP entries stay valid, as with a Neutron port.
topo__attach() {
	local ns=$1 ifname=$2 seg=$3 mac=$4 port
	TOPO__N=$((TOPO__N + 1))
	port=p$TOPO__N
	ip -n "$TOPO__SW" link add "$port" type veth peer name "$ifname" netns "$ns" || return 1
	ip -n "$TOPO__SW" link set "$port" master "${TOPO[$seg.br]}" up || return 1
	ip -n "$ns" link set "$ifname" address "$mac" up
}

topo__addr() {
	local ns=$1 ifname=$2 a4=$3 a6=$4
	ip -n "$ns" addr add "$a4/24" dev "$ifname" || return 1
	ip -n "$ns" addr add "$a6/64" dev "$ifname" nodad
}

# A segment is a bridge in the switch namespace with a /24 and a /64.
topo__segment() {
	local seg=$1 p4=$2 p6=$3 first_host=$4 br
	[[ -z ${TOPO[$seg.br]:-} ]] || {
		echo "topo: segment $seg exists" >&2
		return 1
	}
	TOPO__N=$((TOPO__N + 1))
	br=b$TOPO__N
	ip -n "$TOPO__SW" link add "$br" type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 0 || return 1
	ip -n "$TOPO__SW" link set "$br" up || return 1
	TOPO[$seg.br]=$br
	TOPO[$seg.p4]=$p4
	TOPO[$seg.p6]=$p6
	TOPO[$seg.host]=$first_host
	TOPO[$seg.rtr]=1
}

topo__port_name() {
	local kind=$1 uuid
	uuid=$(</proc/sys/kernel/random/uuid)
	printf '%s-%s\n' "$kind" "${uuid:0:11}"
}

# Give router ROUTER an interface of kind qg/qr on segment SEG.
topo__router_if() {
	local r=$1 kind=$2 seg=$3 n ifname a4 a6 mac
	[[ -n ${TOPO[$seg.br]:-} ]] || {
		echo "topo: no segment $seg" >&2
		return 1
	}
	n=${TOPO[$seg.rtr]}
	TOPO[$seg.rtr]=$((n + 1))
	ifname=$(topo__port_name "$kind")
	a4=${TOPO[$seg.p4]}.$n
	a6=${TOPO[$seg.p6]}::$n
	mac=$(topo__mac)
	if [[ -z ${TOPO[$seg.gw4]:-} ]]; then
		TOPO[$seg.gw4]=$a4
		TOPO[$seg.gw6]=$a6
		TOPO[$seg.router]=$r
	fi
	TOPO[$r.ifs]="${TOPO[$r.ifs]:-} $ifname"
	TOPO[$r.if.$ifname]="$seg $a4 $a6 $mac"
	if [[ $kind == qg ]]; then
		TOPO[$r.qg]=$ifname TOPO[$r.gw4]=$a4 TOPO[$r.gw6]=$a6 TOPO[$r.ext]=$seg
	elif [[ -z ${TOPO[$r.qr]:-} ]]; then
		TOPO[$r.qr]=$ifname TOPO[$r.lan4]=$a4 TOPO[$r.lan6]=$a6 TOPO[$r.lan]=$seg
	fi
	TOPO[$seg.$kind]=$ifname
	[[ $kind == qr ]] && TOPO[$r.subnets]="${TOPO[$r.subnets]:-} $seg"
	topo__attach "${TOPO[$r.ns]}" "$ifname" "$seg" "$mac" &&
		topo__addr "${TOPO[$r.ns]}" "$ifname" "$a4" "$a6"
}

# Create the router's namespace and wire every interface recorded for it.
topo__router_build() {
	local r=$1 ns=${TOPO[$1.ns]} ifname seg a4 a6 mac
	topo__ns_add "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv6.conf.default.forwarding=1 || return 1
	: >"$TOPO_NETNS_DIR/$ns"
	mount --bind "/run/netns/$ns" "$TOPO_NETNS_DIR/$ns" || return 1
	for ifname in ${TOPO[$r.ifs]:-}; do
		read -r seg a4 a6 mac <<<"${TOPO[$r.if.$ifname]}"
		topo__attach "$ns" "$ifname" "$seg" "$mac" &&
			topo__addr "$ns" "$ifname" "$a4" "$a6" || return 1
	done
}

topo_router() {
	local OPTIND opt ext='' x4=203.0.113 x6=2001:db8:1 l4=10.0.0 l6=2001:db8:2
	while getopts e:x:X:l:L: opt; do
		case $opt in
		e) ext=$OPTARG ;;
		x) x4=$OPTARG ;;
		X) x6=$OPTARG ;;
		l) l4=$OPTARG ;;
		L) l6=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local r=${1:?topo_router: NAME missing} uuid=${2:-}
	[[ -z ${TOPO[$r.ns]:-} ]] || {
		echo "topo_router: $r exists" >&2
		return 1
	}
	[[ -n $uuid ]] || uuid=$(</proc/sys/kernel/random/uuid)
	TOPO[$r.uuid]=$uuid
	TOPO[$r.ns]=qrouter-$uuid
	TOPO[$r.ifs]=
	topo__router_build "$r" || return 1
	if [[ -z $ext ]]; then
		ext=$r-ext
		topo__segment "$ext" "$x4" "$x6" 10 || return 1
	fi
	topo__segment "$r-lan" "$l4" "$l6" 11 || return 1
	topo__router_if "$r" qg "$ext" && topo__router_if "$r" qr "$r-lan" || return 1
	TOPO__LAST_ROUTER=$r
}

topo_subnet() {
	local r=${1:?router} seg=${2:?segment} p4=${3:?prefix4} p6=${4:?prefix6}
	topo__segment "$seg" "$p4" "$p6" 11 && topo__router_if "$r" qr "$seg"
}

topo_router_del() {
	local r=${1:?router} ns
	ns=${TOPO[$r.ns]:?topo_router_del: unknown router $1}
	topo__kill_ns_procs "$ns"
	topo__umount_private "$ns"
	ip netns del "$ns"
}

topo_router_restore() {
	local r=${1:?router}
	[[ -n ${TOPO[$r.ns]:-} ]] || return 1
	topo__router_build "$r"
}

topo_router_set_gw() {
	local r=${1:?router} a4=${2:?address} a6=${3:-} ns qg seg o4 o6 mac
	ns=${TOPO[$r.ns]} qg=${TOPO[$r.qg]}
	read -r seg o4 o6 mac <<<"${TOPO[$r.if.$qg]}"
	[[ -n $a6 ]] || a6=$o6
	ip -n "$ns" addr del "$o4/24" dev "$qg" || return 1
	ip -n "$ns" addr del "$o6/64" dev "$qg" || return 1
	topo__addr "$ns" "$qg" "$a4" "$a6" || return 1
	TOPO[$r.if.$qg]="$seg $a4 $a6 $mac"
	TOPO[$r.gw4]=$a4 TOPO[$r.gw6]=$a6
	if [[ ${TOPO[$seg.router]:-} == "$r" ]]; then
		TOPO[$seg.gw4]=$a4 TOPO[$seg.gw6]=$a6
	fi
}

# A host (outside client or VM) with eth0 on segment SEG.
topo__host() {
	local h=$1 seg=$2 ns n a4 a6
	[[ -z ${TOPO[$h.ns]:-} ]] || {
		echo "topo: $h exists" >&2
		return 1
	}
	[[ -n ${TOPO[$seg.br]:-} ]] || {
		echo "topo: no segment $seg" >&2
		return 1
	}
	[[ $h =~ ^[A-Za-z0-9_-]+$ ]] || {
		echo "topo: bad name '$h'" >&2
		return 1
	}
	ns=$TOPO__PFX-$h
	n=${TOPO[$seg.host]}
	TOPO[$seg.host]=$((n + 1))
	a4=${TOPO[$seg.p4]}.$n
	a6=${TOPO[$seg.p6]}::$n
	topo__ns_add "$ns" && topo__attach "$ns" eth0 "$seg" "$(topo__mac)" &&
		topo__addr "$ns" eth0 "$a4" "$a6" || return 1
	TOPO[$h.ns]=$ns TOPO[$h.if]=eth0 TOPO[$h.ip4]=$a4 TOPO[$h.ip6]=$a6
	TOPO[$h.seg]=$seg TOPO[$h.gw4]=${TOPO[$seg.gw4]:-} TOPO[$h.gw6]=${TOPO[$seg.gw6]:-}
	TOPO[$h.router]=${TOPO[$seg.router]:-}
}

# ROUTER|SEG argument (default: the last router) to a segment name; KIND is
# ext or lan.
topo__seg_of() {
	local x=${1:-$TOPO__LAST_ROUTER} kind=$2
	if [[ -n ${TOPO[$x.$kind]:-} ]]; then
		printf '%s\n' "${TOPO[$x.$kind]}"
	else
		printf '%s\n' "$x"
	fi
}

topo_outside() {
	local OPTIND opt routes=0
	while getopts r opt; do
		case $opt in
		r) routes=1 ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local h=${1:?topo_outside: NAME missing} r=${2:-$TOPO__LAST_ROUTER} seg s
	seg=$(topo__seg_of "$r" ext)
	topo__host "$h" "$seg" || return 1
	# On a shared external network, the router named is this client's router.
	if [[ -n ${TOPO[$r.uuid]:-} ]]; then
		TOPO[$h.router]=$r TOPO[$h.gw4]=${TOPO[$r.gw4]} TOPO[$h.gw6]=${TOPO[$r.gw6]}
	fi
	r=${TOPO[$h.router]}
	((routes)) || return 0
	for s in ${TOPO[$r.subnets]}; do
		ip -n "${TOPO[$h.ns]}" route add "${TOPO[$s.p4]}.0/24" via "${TOPO[$r.gw4]}" || return 1
		ip -n "${TOPO[$h.ns]}" route add "${TOPO[$s.p6]}::/64" via "${TOPO[$r.gw6]}" || return 1
	done
}

topo_vm() {
	local h=${1:?topo_vm: NAME missing} seg
	seg=$(topo__seg_of "${2:-}" lan)
	topo__host "$h" "$seg" || return 1
	ip -n "${TOPO[$h.ns]}" route add default via "${TOPO[$h.gw4]}" &&
		ip -n "${TOPO[$h.ns]}" -6 route add default via "${TOPO[$h.gw6]}"
}

# ---------------------------------------------------------------- waiting

# Milliseconds since the epoch, into TOPO__NOW.
topo__now() {
	local t=${EPOCHREALTIME/./}
	TOPO__NOW=$((t / 1000))
}

# "1.5" -> 1500
topo__ms() {
	local s=$1 int frac
	int=${s%%.*}
	[[ $s == *.* ]] && frac=${s#*.} || frac=
	frac=${frac}000
	echo $((10#${int:-0} * 1000 + 10#${frac:0:3}))
}

topo_wait() {
	local limit deadline
	limit=$(topo__ms "${1:?timeout}")
	shift
	topo__now
	deadline=$((TOPO__NOW + limit))
	while :; do
		"$@" && return 0
		topo__now
		((TOPO__NOW >= deadline)) && return 1
		sleep 0.05
	done
}

topo__listening() {
	local ns=$1 proto=$2 port=$3 out
	out=$(ip netns exec "$ns" ss -Hln "-${proto:0:1}" "sport = :$port" 2>/dev/null) || return 1
	[[ -n $out ]]
}

topo_wait_listen() {
	local ns proto=${2:?tcp|udp} port=${3:?port} t=${4:-5}
	ns=$(topo__ns "$1")
	topo_wait "$t" topo__listening "$ns" "$proto" "$port"
}

# ---------------------------------------------------------------- processes

# Start CMD in NS (the host's namespace if NS is empty) in its own session,
# output to log NAME; its PID, which is also its process group, into
# TOPO_PID. Started from a subshell, so the test's shell never has to reap it.
topo__spawn() {
	local ns=$1 name=$2
	shift 2
	local -a in_ns=()
	[[ -n $ns ]] && in_ns=(ip netns exec "$ns")
	TOPO_PID=$(
		"${in_ns[@]}" setsid "$@" </dev/null >>"$TOPO_DIR/log/$name" 2>&1 &
		echo $!
	)
	echo "$TOPO_PID" >>"$TOPO_DIR/pids"
	topo__manifest "pid $TOPO_PID"
}

topo_kill() {
	local what=${1:?pid or name}
	if [[ $what =~ ^[0-9]+$ ]]; then
		topo__kill_groups "$what"
	elif [[ -f $TOPO_DIR/proc.$what/group ]]; then
		topo__kill_groups "$(<"$TOPO_DIR/proc.$what/group")"
	else
		echo "topo_kill: no process $what" >&2
		return 1
	fi
}

topo_spawn() {
	local OPTIND opt ns=''
	while getopts n: opt; do
		case $opt in
		n) ns=$(topo__ns "$OPTARG") ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local name=${1:?topo_spawn: NAME missing}
	shift
	local dir=$TOPO_DIR/proc.$name
	if ! [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || ! mkdir "$dir" 2>/dev/null; then
		echo "topo_spawn: bad or used name '$name'" >&2
		return 1
	fi
	topo__spawn "$ns" "$name" bash "$TOPO_DIR/peer.sh" supervise "$dir/status" "$dir/pid" "$@"
	echo "$TOPO_PID" >"$dir/group"
}

topo__proc_dir() {
	local dir=$TOPO_DIR/proc.$1
	[[ -d $dir ]] || {
		echo "topo: no process $1" >&2
		return 1
	}
	printf '%s\n' "$dir"
}

topo_proc_pid() {
	local dir
	dir=$(topo__proc_dir "${1:?name}") || return 1
	topo_wait 2 test -s "$dir/pid" || return 1
	cat "$dir/pid"
}

topo_proc_wait() {
	local dir
	dir=$(topo__proc_dir "${1:?name}") || return 1
	topo_wait "${2:-5}" test -e "$dir/status" || return 1
	cat "$dir/status"
}

topo_proc_log() {
	topo__proc_dir "${1:?name}" >/dev/null || return 1
	printf '%s\n' "$TOPO_DIR/log/$1"
}

# socat address for DST:PORT of PROTO (tcp, udp, udp-sendto).
topo__sock() {
	local proto=$1 dst=$2 port=$3 fam=4
	[[ $dst == *:* ]] && fam=6 dst="[$dst]"
	case $proto in
	tcp) echo "TCP$fam:$dst:$port" ;;
	udp) echo "UDP$fam:$dst:$port" ;;
	udp-sendto) echo "UDP$fam-SENDTO:$dst:$port" ;;
	esac
}

topo__listen_addr() {
	local proto=$1 addr=$2 port=$3
	if [[ $proto == tcp ]]; then proto=TCP; else proto=UDP; fi
	if [[ $addr == *:* ]]; then
		echo "${proto}6-$4:$port,bind=[$addr],ipv6only=1"
	else
		echo "${proto}4-$4:$port,bind=$addr"
	fi
}

topo__serve() {
	local proto=$1
	shift
	local OPTIND opt tag=
	while getopts t: opt; do
		case $opt in
		t) tag=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local ns addr=${2:?address} port=${3:?port} kind child l1 l2
	ns=$(topo__ns "${1:?namespace}")
	if [[ $proto == tcp ]]; then
		kind=LISTEN child=tcp-reply
	else
		kind=RECVFROM child=udp-reply
	fi
	local opts=reuseaddr,fork exe="EXEC:bash $TOPO_DIR/peer.sh $child"
	if [[ $addr == any ]]; then
		l1=$(topo__listen_addr "$proto" 0.0.0.0 "$port" "$kind"),$opts
		l2=$(topo__listen_addr "$proto" :: "$port" "$kind"),$opts
		# shellcheck disable=SC2016 # expanded by the inner bash
		topo__spawn "$ns" "serve-$proto-$port" env TOPO_TAG="$tag" bash -c \
			'socat "$1" "$3" & socat "$2" "$3" & wait' _ "$l1" "$l2" "$exe"
	else
		l1=$(topo__listen_addr "$proto" "$addr" "$port" "$kind"),$opts
		topo__spawn "$ns" "serve-$proto-$port" env TOPO_TAG="$tag" socat "$l1" "$exe"
	fi
	if ! topo_wait_listen "$ns" "$proto" "$port" 5; then
		echo "topo: $proto server on $ns $addr:$port did not start:" >&2
		cat "$TOPO_DIR/log/serve-$proto-$port" >&2
		return 1
	fi
}

topo_serve_tcp() {
	topo__serve tcp "$@"
}

topo_serve_udp() {
	topo__serve udp "$@"
}

topo__query() {
	local proto=$1
	shift
	local OPTIND opt src='' sport=''
	while getopts s:p: opt; do
		case $opt in
		s) src=$OPTARG ;;
		p) sport=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local ns dst=${2:?destination} port=${3:?port} t=${4:-3} addr out
	ns=$(topo__ns "${1:?namespace}")
	addr=$(topo__sock "$proto" "$dst" "$port")
	if [[ -n $src ]]; then
		[[ $src == *:* ]] && src="[$src]"
		addr+=",bind=$src${sport:+:$sport}"
	elif [[ -n $sport ]]; then
		addr+=",sourceport=$sport"
	fi
	[[ -n $sport ]] && addr+=",reuseaddr"
	[[ $proto == tcp ]] && addr+=",connect-timeout=$t"
	out=$(timeout $((${t%.*} + 2)) ip netns exec "$ns" socat -T "$t" -t 0 "$addr" \
		EXEC:"bash $TOPO_DIR/peer.sh $proto-query $t" 3>&1 2>"$TOPO_DIR/log/query.err") || true
	if [[ -z $out ]]; then
		echo "topo: $proto query from $ns to $dst:$port: no answer" \
			"($(tail -n1 "$TOPO_DIR/log/query.err" 2>/dev/null))" >&2
		return 1
	fi
	printf '%s\n' "$out"
}

topo_tcp_query() {
	topo__query tcp "$@"
}

topo_udp_query() {
	topo__query udp "$@"
}

# ---------------------------------------------------------------- sessions

topo_tcp_session_open() {
	local sid=${1:?session id} ns dst=${3:?destination} port=${4:?port} t=${5:-3}
	local dir=$TOPO_DIR/session.$sid
	ns=$(topo__ns "${2:?namespace}")
	mkdir "$dir" || return 1
	mkfifo "$dir/in" && : >"$dir/out" || return 1
	topo__spawn "$ns" "session-$sid" bash "$TOPO_DIR/peer.sh" session \
		"$dst" "$port" "$dir/in" "$dir/out" "$t"
	echo "$TOPO_PID" >"$dir/pid"
	topo__session_result "$sid" 0 $((${t%.*} + 2))
}

# FILE has more than N lines.
topo__grew() {
	local c
	c=$(wc -l <"$1")
	((c > $2))
}

# Wait until session SID's output has more than N lines; print the last one
# without its status word; succeed if it is "OK".
topo__session_result() {
	local sid=$1 n=$2 t=$3 dir=$TOPO_DIR/session.$1 last
	if ! topo_wait "$t" topo__grew "$dir/out" "$n"; then
		echo "topo: session $sid: no result" >&2
		return 1
	fi
	last=$(tail -n1 "$dir/out")
	printf '%s\n' "${last#* }"
	[[ $last == OK* ]]
}

topo_tcp_session_send() {
	local sid=${1:?session id} t=${2:-3} dir=$TOPO_DIR/session.$1 n pid
	[[ -d $dir ]] || {
		echo "topo: no session $sid" >&2
		return 1
	}
	pid=$(<"$dir/pid")
	if [[ -z $(topo__live_groups "$pid") ]]; then
		echo "topo: session $sid has ended: $(tail -n1 "$dir/out")" >&2
		return 1
	fi
	n=$(wc -l <"$dir/out")
	# The session holds the fifo open for reading, so this never blocks long.
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 2 bash -c 'echo probe >"$1"' _ "$dir/in" || return 1
	topo__session_result "$sid" "$n" $((${t%.*} + 2))
}

topo_tcp_session_close() {
	local sid=${1:?session id} dir=$TOPO_DIR/session.$1
	[[ -d $dir ]] || return 0
	topo_kill "$(<"$dir/pid")"
	rm -rf "$dir"
}

# ---------------------------------------------------------------- flows

topo_udp_flow_start() {
	local fid=${1:?flow id} ns dst=${3:?destination} port=${4:?port} sport=${5:-40000}
	local dir=$TOPO_DIR/flow.$fid addr
	ns=$(topo__ns "${2:?namespace}")
	mkdir "$dir" || return 1
	: >"$dir/answers"
	: >"$dir/sent"
	# SENDTO: an unconnected socket, so an ICMP error during a retarget does
	# not end the flow as it would a connected one.
	addr=$(topo__sock udp-sendto "$dst" "$port"),sourceport=$sport,reuseaddr
	topo__spawn "$ns" "flow-$fid" socat -T 3600 "$addr" \
		EXEC:"bash $TOPO_DIR/peer.sh flow $dir/answers $dir/sent"
	echo "$TOPO_PID" >"$dir/pid"
}

topo__flow_dir() {
	local dir=$TOPO_DIR/flow.$1
	[[ -d $dir ]] || {
		echo "topo: no flow $1" >&2
		return 1
	}
	printf '%s\n' "$dir"
}

# An answer after line N of FILE matches REGEX (one process, no pipeline:
# an early exit would make pipefail report a match as a failure).
topo__flow_matched() {
	awk -v n="$2" -v re="$3" 'NR > n { sub(/^[^ ]* /, ""); if ($0 ~ re) { found = 1; exit } }
		END { exit !found }' "$1"
}

topo_udp_flow_wait() {
	local fid=${1:?flow id} re=${2:?regex} t=${3:-5} dir n
	dir=$(topo__flow_dir "$fid") || return 1
	n=$(wc -l <"$dir/answers")
	topo_wait "$t" topo__flow_matched "$dir/answers" "$n" "$re"
}

topo_udp_flow_last() {
	local dir
	dir=$(topo__flow_dir "${1:?flow id}") || return 1
	tail -n1 "$dir/answers" | cut -d' ' -f2-
}

topo_udp_flow_count() {
	local dir
	dir=$(topo__flow_dir "${1:?flow id}") || return 1
	cut -d' ' -f2- "$dir/answers" | grep -Ec -- "${2:-.}" || true
}

topo_udp_flow_sent() {
	local dir
	dir=$(topo__flow_dir "${1:?flow id}") || return 1
	wc -l <"$dir/sent"
}

topo_udp_flow_stop() {
	local dir
	dir=$(topo__flow_dir "${1:?flow id}") || return 1
	topo_kill "$(<"$dir/pid")"
}

topo_tcp_loop_start() {
	local lid=${1:?loop id} ns dst=${3:?destination} port=${4:?port} t=${5:-2}
	local dir=$TOPO_DIR/loop.$lid
	ns=$(topo__ns "${2:?namespace}")
	mkdir "$dir" && : >"$dir/log" || return 1
	topo__spawn "$ns" "loop-$lid" bash "$TOPO_DIR/peer.sh" tcp-loop \
		"$dst" "$port" "$t" "$dir/log"
	echo "$TOPO_PID" >"$dir/pid"
}

topo_tcp_loop_stop() {
	local lid=${1:?loop id} dir=$TOPO_DIR/loop.$1 ok fail
	[[ -d $dir ]] || {
		echo "topo: no loop $lid" >&2
		return 1
	}
	topo_kill "$(<"$dir/pid")"
	ok=$(grep -c '^OK' "$dir/log") || true
	fail=$(grep -c '^FAIL' "$dir/log") || true
	echo "$ok $fail"
}

# ---------------------------------------------------------------- assertions

topo_pass() {
	TOPO_PASSED=$((TOPO_PASSED + 1))
	echo "ok $((TOPO_PASSED + TOPO_FAILED)) - $1"
}

topo_fail() {
	TOPO_FAILED=$((TOPO_FAILED + 1))
	echo "not ok $((TOPO_PASSED + TOPO_FAILED)) - $1"
	if [[ -n ${2:-} ]]; then
		printf '#   %s\n' "${2//$'\n'/$'\n'#   }"
	fi
	return 0
}

assert_eq() {
	local desc=$1 want=$2 got=$3
	if [[ $got == "$want" ]]; then
		topo_pass "$desc"
	else
		topo_fail "$desc" "expected: '$want'"$'\n'"got:      '$got'"
	fi
}

assert_match() {
	local desc=$1 re=$2 got=$3
	if [[ $got =~ $re ]]; then
		topo_pass "$desc"
	else
		topo_fail "$desc" "expected to match: $re"$'\n'"got: '$got'"
	fi
}

assert_ok() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if ((rc == 0)); then
		topo_pass "$desc"
	else
		topo_fail "$desc" "command failed (exit $rc): $*"$'\n'"$out"
	fi
}

assert_fails() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if ((rc != 0)); then
		topo_pass "$desc"
	else
		topo_fail "$desc" "command succeeded but should have failed: $*"$'\n'"$out"
	fi
}

topo_finish() {
	local total=$((TOPO_PASSED + TOPO_FAILED))
	echo "1..$total"
	echo "# $TOPO_PASSED passed, $TOPO_FAILED failed"
	if ((total == 0)); then
		echo "# nothing was asserted"
		exit 1
	fi
	((TOPO_FAILED == 0)) || exit 1
	exit 0
}

# Makes another process own node NODE's praas table ("flags owner", Linux
# 5.12+: only the owning netlink socket may change it), so the kernel
# refuses the agent's batches with EPERM until topo_table_release. One at a
# time (fd 7, TOPO_OWNER_PID). Returns 1 when the table did not become owned.
topo_table_take() {
	local node=$1
	mkfifo "$TOPO_DIR/owner.fifo" || return 1
	# ip netns exec execs nft, so $! is nft's own pid (to end it by that id).
	ip netns exec "$(topo__ns "$node")" nft -i <"$TOPO_DIR/owner.fifo" >"$TOPO_DIR/owner.out" 2>&1 &
	TOPO_OWNER_PID=$!
	topo_on_exit "kill $TOPO_OWNER_PID 2>/dev/null || true"
	exec 7>"$TOPO_DIR/owner.fifo"
	echo 'delete table inet praas' >&7
	echo 'add table inet praas { flags owner; }' >&7
	topo_wait 5 topo_table_owned "$node"
}

topo_table_owned() {
	topo_exec "$1" nft list table inet praas 2>/dev/null | grep -q 'flags owner'
}

# The owner exits: its table goes with its socket.
topo_table_release() {
	exec 7>&-
	kill "$TOPO_OWNER_PID" 2>/dev/null
	wait "$TOPO_OWNER_PID" 2>/dev/null
	rm -f "$TOPO_DIR/owner.fifo"
}
