#!/usr/bin/env bash
# tools/lab from a clean copy of the checkout: `up` to the printed proof,
# `status`, `down`, and nothing left behind (namespaces, processes, .lab),
# also after an `up` that failed (its port taken) and one killed with
# SIGKILL half-way. With --openstack, the same against the loopback
# OpenStack, and down also removes the Neutron resources the lab made. With
# --ha, the HA lab: two replicas, keepalived, the failover's proof, both
# agents on one MariaDB (the tests' loopback one when it runs, through
# PRAAS_LAB_MARIADB_URL). With --nodes, `up --nodes 2`: two agents on a
# MariaDB the lab starts itself, each proof line checked against the real
# state (each agent asked, the replicas' tables read, traffic through each
# replica, the row in MariaDB), and down also stops and removes that MariaDB.
#
# The copy has its own build dir and .lab, and the lab listens on a port
# other than 3000 (PRAAS_LAB_PORT), so a lab someone has up is not touched.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${PRAAS_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
mode=${1:-}
upargs=()
case $mode in
--nodes) upargs=(--nodes 2) ;;
?*) upargs=("$mode") ;;
esac

skip() {
	echo "SKIP: $*"
	exit 77
}
[[ $(id -u) == 0 ]] || skip "needs root (tools/lab makes network namespaces)"
for c in ip socat ss curl python3 tar; do
	command -v "$c" >/dev/null || skip "$c is not installed"
done
[[ $mode != --ha ]] || command -v keepalived >/dev/null || skip "keepalived is not installed"
[[ $mode != --nodes ]] || command -v mariadb >/dev/null ||
	skip "mariadb (the client) is not installed: sudo test/mariadb/start.sh installs it"
if [[ $mode == --openstack ]]; then
	. "$src/test/openstack/common.sh"
	[[ $(http_code "$OS_KS_URL") == 200 && $(http_code "$OS_NEUTRON_URL/") == 200 ]] ||
		skip "the loopback OpenStack is not running (sudo test/openstack/start.sh)"
fi

# shellcheck source=lib/tap.sh
. "$here/lib/tap.sh"
match() { # DESC REGEX TEXT
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "expected to match: $2"$'\n'"got: $3"; fi
}

# A clean copy: the tracked and new files, no build dir, no .lab.
work=$(mktemp -d /tmp/praas-lab-test.XXXXXX)
copy=$work/praas
blocker=
cleanup() {
	[[ -n $blocker ]] && kill "$blocker" 2>/dev/null
	if [[ -e $copy/.lab ]]; then
		echo "# cleanup: .lab is still there; running tools/lab down" >&2
		"$copy/tools/lab" down >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$copy"
copy_tree() {
	cd "$src" || return 1
	if command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files -co --exclude-standard | grep -v -e '^build' -e '^\.lab/' | tar -cf - -T -
	else # a tarball: everything but build directories and a lab
		tar -cf - --exclude='./build*' --exclude=./.lab .
	fi
}
copy_tree | tar -xf - -C "$copy" || {
	echo "cannot copy the checkout"
	exit 1
}
# Below the ephemeral range (32768-60999 by default), so that no outgoing
# connection holds it, and used by no socket at all.
port=$((21000 + RANDOM % 10000))
while ss -Htan "sport = :$port" | grep -q .; do port=$((port + 1)); done
export PRAAS_LAB_PORT=$port PRAAS_LAB_BUILD=$copy/build
# --nodes: the lab's own MariaDB; --ha: the tests' one when it runs (quicker).
unset PRAAS_LAB_MARIADB_URL
if [[ $mode == --ha ]]; then
	PRAAS_LAB_MARIADB_URL=${PRAAS_TEST_MARIADB_URL:-$(sed -n 's/^PRAAS_TEST_MARIADB_URL=//p' /run/praas-mariadb/env 2>/dev/null)}
	if [[ -n $PRAAS_LAB_MARIADB_URL ]]; then export PRAAS_LAB_MARIADB_URL; else unset PRAAS_LAB_MARIADB_URL; fi
fi
lab() {
	"$copy/tools/lab" "$@" >"$work/out" 2>&1
	RC=$?
	OUT=$(cat "$work/out")
}

# What the lab made, from its .lab (namespaces, process groups, Neutron
# paths, its MariaDB's directory and server, its database).
snapshot() {
	NSS=$(cat "$copy/.lab/net/namespaces" 2>/dev/null)
	PIDS=$(cat "$copy/.lab/net/pids" "$copy"/.lab/net/proc.*/pid 2>/dev/null)
	NEUTRON=$(awk '$1 == "DELETE" { print $2 }' "$copy/.lab/neutron" 2>/dev/null)
	DBDIR=$(cat "$copy/.lab/mariadb-dir" 2>/dev/null)
	DBPIDS=$(awk '{ print $2 }' "$DBDIR/run/pids" 2>/dev/null)
	DBURL=$(cat "$copy/.lab/database" 2>/dev/null)
}
# SQL as the lab's agents connect (DBURL, .lab/db-password).
lab_sql() {
	local rest=${DBURL#mysql://} hp
	hp=${rest#*@}
	hp=${hp%%/*}
	MYSQL_PWD=$(<"$copy/.lab/db-password") mariadb --no-defaults -h "${hp%:*}" -P "${hp#*:}" \
		-u "${rest%%@*}" -N -B "${rest##*/}" -e "$1"
}
# The lab's database still exists on the tests' MariaDB (--ha): one line.
db_left() {
	local u=${PRAAS_LAB_MARIADB_URL:-} rest hp
	[[ $mode == --ha && -n ${u:-} && -n ${DBURL:-} ]] || return 0
	rest=${u#mysql://}
	hp=${rest##*@}
	hp=${hp%/}
	rest=${rest%@*}
	MYSQL_PWD=${rest#*:} mariadb --no-defaults -h "${hp%:*}" -P "${hp#*:}" -u "${rest%%:*}" -N -B \
		-e "SHOW DATABASES LIKE '${DBURL##*/}'"
}
live() { # PID...: those alive and not zombies
	local p
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] && [[ $(</proc/"$p"/stat) != *") Z "* ]] && echo "$p"
	done
}
neutron_left() { # the recorded paths Neutron still answers for
	local t p
	[[ -n $NEUTRON ]] || return 0
	t=$(curl -s -m 30 -D - -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"$PRAAS_OS_ADMIN_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}" \
		"$OS_KS_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
	for p in $NEUTRON; do
		[[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $t" "$OS_NEUTRON_URL/v2.0$p") == 404 ]] ||
			echo "$p"
	done
}
nothing_left() { # WHEN
	local ns left=
	[[ ! -e $copy/.lab ]] || left+=" .lab"
	for ns in $NSS; do
		[[ ! -e /run/netns/$ns ]] || left+=" namespace:$ns"
	done
	# shellcheck disable=SC2086
	left+=$(live $PIDS | sed 's/^/ pid:/' | tr -d '\n')
	[[ $mode != --openstack ]] || left+=$(neutron_left | sed 's/^/ neutron:/' | tr -d '\n')
	[[ -z ${DBDIR:-} || ! -e $DBDIR ]] || left+=" mariadb-dir:$DBDIR"
	# shellcheck disable=SC2086
	left+=$(live $DBPIDS | sed 's/^/ mariadb:/' | tr -d '\n')
	left+=$(db_left | sed 's/^/ database:/' | tr -d '\n')
	if [[ -z $left ]]; then ok "$1: nothing is left"; else not_ok "$1: nothing is left" "left:$left"; fi
}

# --nodes: each proof line from the real state, not from the lab's printing.
json_ids() { # the ids of a forwardings list answer, sorted
	python3 -c 'import json, sys; print(" ".join(sorted(f["id"] for f in json.load(sys.stdin)["port_forwardings"])))'
}
replica_elements() { # NODE ROUTER: elements in that node's replica's IPv4 map
	nsenter --net="$copy/.lab/net/node-$1/netns/qrouter-$2" nft -j list map inet praas dnat4 |
		python3 -c 'import json, sys; print(sum(len(o["map"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "map" in o))'
}
nodes_state() {
	local u fid n p ns conf
	u=$(cat "$copy/.lab/router" 2>/dev/null)
	fid=$(sed -n 's/^  | id  *| \([0-9a-f-]\{36\}\) .*/\1/p' <<<"$OUT" | head -n1)
	check "the create through node a answered an id" test -n "$fid"
	for n in a b; do
		p=$port
		[[ $n == a ]] || p=$((port + 1))
		match "node $n's agent (port $p) lists the one forwarding" "^$fid\$" \
			"$(curl -s -m 5 "http://127.0.0.1:$p/v1/routers/$u/port_forwardings" | json_ids)"
		match "node $n's replica holds it in its table" '^1$' "$(replica_elements "$n" "$u")"
		conf=$copy/.lab/praas-$n.conf
		[[ $n == b ]] || conf=$copy/.lab/praas.conf
		check "node $n's agent has its own netns_dir" \
			grep -q "netns_dir = \"$copy/.lab/net/node-$n/netns\"" "$conf"
	done
	match "the forwarding is a row in the lab's MariaDB" "^$fid\$" "$(lab_sql 'SELECT id FROM forwardings')"
	# shellcheck disable=SC2086 # one pid per word
	check "the lab's own MariaDB runs" test -n "$(live $DBPIDS)"
	match "GET /v1/agents: both agents alive" '^node-a:True node-b:True$' \
		"$(curl -s -m 5 "http://127.0.0.1:$port/v1/agents" | python3 -c '
import json, sys
print(" ".join("%s:%s" % (a["host"], a["alive"]) for a in sorted(json.load(sys.stdin)["agents"], key=lambda a: a["host"])))')"
	for n in a b; do
		ns=$(grep -- "-c$n\$" <<<"$NSS")
		match "real TCP from node $n's client reaches the VM behind node $n's replica" \
			"^203\.0\.113\.10 vm$n\$" \
			"$(ip netns exec "$ns" timeout 5 socat -T 3 - "TCP:203.0.113.1:4022" </dev/null 2>&1)"
	done
}

# --- an up that fails half-way (its port is taken) removes what it made
socat TCP4-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo no' </dev/null >/dev/null 2>&1 &
blocker=$!
for _ in $(seq 50); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done
check "the port is taken by a listener" bash -c "ss -Htln 'sport = :$port' | grep -q ."
# Watch .lab while up runs, to know what it made before it failed.
mkdir -p "$work/seen"
(
	while [[ ! -e $work/stop-watch ]]; do
		for f in net/namespaces net/pids neutron mariadb-dir database; do
			[[ -s $copy/.lab/$f ]] && cp -f "$copy/.lab/$f" "$work/seen/${f#net/}" 2>/dev/null
		done
		d=$(cat "$work/seen/mariadb-dir" 2>/dev/null)
		[[ -s $d/run/pids ]] && cp -f "$d/run/pids" "$work/seen/dbpids" 2>/dev/null
		sleep 0.05
	done
) &
watcher=$!
lab up "${upargs[@]}"
touch "$work/stop-watch"
wait "$watcher"
kill "$blocker" 2>/dev/null
wait "$blocker" 2>/dev/null
blocker=
check "up with its port taken fails" test "$RC" != 0
match "it says the port is taken" "port $port is taken" "$OUT"
NSS=$(cat "$work/seen/namespaces" 2>/dev/null)
PIDS=$(cat "$work/seen/pids" 2>/dev/null)
NEUTRON=$(awk '$1 == "DELETE" { print $2 }' "$work/seen/neutron" 2>/dev/null)
DBDIR=$(cat "$work/seen/mariadb-dir" 2>/dev/null)
DBPIDS=$(awk '{ print $2 }' "$work/seen/dbpids" 2>/dev/null)
DBURL=$(cat "$work/seen/database" 2>/dev/null)
check "the failed up had made namespaces before failing" test -n "$NSS"
check "and started processes" test -n "$PIDS"
[[ $mode != --openstack ]] || check "and Neutron resources" test -n "$NEUTRON"
[[ $mode != --nodes ]] || check "and its own MariaDB" test -n "$DBPIDS"
nothing_left "after the failed up"

# --- up, status, down
lab up "${upargs[@]}"
check "up exits 0" test "$RC" = 0
[[ $RC == 0 ]] || printf '#   %s\n' "${OUT//$'\n'/$'\n'#   }"
if [[ $mode == --nodes ]]; then
	match "up prints the proof" "PROOF \\(nodes\\): a forwarding created through node a's API was listed through node b's" "$OUT"
	match "node b's replica: the VM behind it answered the client" 'the service answers: "203\.0\.113\.10 vmb"' "$OUT"
else
	match "up prints the proof" 'PROOF: the outside client reached vm1 and vm2' "$OUT"
	caddr=$(sed -n 's/.*client \([0-9.]*\) connects to [0-9.]*:4022;.*/\1/p' <<<"$OUT" | head -n1)
	match "the VM saw the client's own address" "answers: \"${caddr:-none} vm1\"" "$OUT"
fi
snapshot
if [[ $mode == --nodes ]]; then
	nodes_state
elif [[ $mode == --ha ]]; then
	check "up made the replicas of nodes a and b" bash -c "grep -q -- '-a\$' <<<'$NSS' && grep -q -- '-b\$' <<<'$NSS'"
	match "up prints the failover's proof" 'PROOF \(HA\): the client reached vm1 through node b [0-9.]+ s after node a died' "$OUT"
	match "it printed the gap beside advert_int" 'first after: [0-9.]+ s'$'\n''lab: \(keepalived.s failover time: about 3 x advert_int \(1 s\)' "$OUT"
	match "the tables did not change during the failover" "neither replica's table changed" "$OUT"
	match "one database for both nodes: the two forwardings, once" '^2$' \
		"$(lab_sql 'SELECT COUNT(*) FROM forwardings' 2>&1)"
	ids_a=$(curl -s -m 5 "http://127.0.0.1:$port/v1/port_forwardings" | json_ids)
	match "node a's agent lists the two forwardings" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "$ids_a"
	match "node b's agent lists the same two, made through node a's" "^$ids_a\$" \
		"$(curl -s -m 5 "http://127.0.0.1:$((port + 1))/v1/port_forwardings" | json_ids)"
	curl -s -o /dev/null -m 2 "http://127.0.0.1:$((port + 1))/healthz"
	check "node b's agent answers on PRAAS_LAB_PORT + 1" test $? = 0
else
	check "up made a qrouter- namespace" grep -q '^qrouter-' <<<"$NSS"
fi
if [[ $mode != --nodes ]]; then
	client=$(grep -- '-client$' <<<"$NSS")
	gw=$(sed -n 's/.*connects to \([0-9.]*\):4022;.*/\1/p' <<<"$OUT" | head -n1)
	ans=$(ip netns exec "$client" timeout 5 socat -T 3 - "TCP:$gw:4022" </dev/null 2>&1)
	match "the forwarding keeps working after up returned" " vm1$" "$ans"
fi
if [[ $mode == --openstack ]]; then
	check "up made Neutron resources (network, subnet, router, 2 ports)" test "$(wc -w <<<"$NEUTRON")" = 5
	match "the CLI named the router by its Neutron name" '--router praas-lab-' "$OUT"
fi

lab status
check "status exits 0" test "$RC" = 0
match "status: the pat-agent runs" 'pat-agent running \(pid [0-9]+\)' "$OUT"
match "status: the monitor-agent runs" 'monitor-agent running \(pid [0-9]+\)' "$OUT"
if [[ $mode == --ha || $mode == --nodes ]]; then
	match "status: node b's pat-agent runs" 'pat-agent-b running \(pid [0-9]+\)' "$OUT"
	match "status: the database both share" 'database: mysql://[^ ]+/praas_lab_' "$OUT"
else
	match "status: the router namespace" $'\n  qrouter-[0-9a-f-]{36}\n' "$OUT"
fi
if [[ $mode == --nodes ]]; then
	match "status: two-nodes mode" 'mode: two nodes a and b on one MariaDB' "$OUT"
	match "status: the lab's MariaDB runs" "the lab's MariaDB running \\(pid [0-9]+" "$OUT"
	match "status: node b's replica holds the forwarding" "node b's replica: [^ ]+, 1 forwardings" "$OUT"
	match "status: both agents" $'\n\\| node-a +\\| True .*\n\\| node-b +\\| True ' "$OUT"
	match "status: the forwardings" '\| lab: ssh to the VM +\|' "$OUT"
else
	[[ $mode != --ha ]] || match "status: HA mode" 'mode: HA router' "$OUT"
	match "status: the forwardings" '\| lab: ssh to vm1 +\|' "$OUT"
fi
check "status: nothing MISSING" test "${OUT/MISSING/}" = "$OUT"
curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/healthz"
check "the agent answers on PRAAS_LAB_PORT" test $? = 0

lab up "${upargs[@]}"
check "a second up while up is refused" test "$RC" != 0
match "it says a lab is here" 'already here' "$OUT"

if [[ $mode == --openstack ]]; then
	# Keystone unreachable during down: the namespaces and processes go, the
	# Neutron resources are kept on record, and the next down removes them.
	PRAAS_OS_KEYSTONE_PORT=1 lab down
	check "down without Keystone fails" test "$RC" != 0
	match "it says the Neutron resources stay" 'Neutron resources .* stay' "$OUT"
	check "their record is kept" test -s "$copy/.lab/neutron"
	check "the namespaces went all the same" bash -c "! ls /run/netns | grep -qx '$(grep '^qrouter-' <<<"$NSS")'"
fi
lab down
check "down exits 0" test "$RC" = 0
nothing_left "after down"
lab down
check "down again exits 0" test "$RC" = 0
lab status
match "status when down says so" 'not up' "$OUT"

# --- an up killed with SIGKILL half-way: down still removes everything
# (with --nodes, the MariaDB it had started too)
if [[ -z $mode || $mode == --nodes ]]; then
	setsid "$copy/tools/lab" up "${upargs[@]}" >"$work/killed.out" 2>&1 &
	upid=$!
	for _ in $(seq 200); do
		grep -q '^qrouter-' "$copy/.lab/net/namespaces" 2>/dev/null && break
		sleep 0.05
	done
	kill -9 -- "-$upid" 2>/dev/null
	wait "$upid" 2>/dev/null
	snapshot
	check "the killed up had made a router namespace" grep -q '^qrouter-' <<<"$NSS"
	# shellcheck disable=SC2086 # one pid per word
	[[ $mode != --nodes ]] || check "and started its MariaDB" test -n "$(live $DBPIDS)"
	lab down
	check "down after a killed up exits 0" test "$RC" = 0
	nothing_left "after a killed up and down"
fi

tap_finish
