#!/usr/bin/env bash
# Issue 10, defect 4: a second agent wipes the running agent's tables.
# A running agent owns its routers' tables. A second one started with the
# same control_socket and netns_dir (another database and port), then one
# with the same netns_dir but its own socket and database, then one with
# the same control_socket but another netns_dir: each must exit 1 at once,
# the first two naming the holder's pid, and leave the first agent's
# tables as they were (element count before == after). Before the fix the
# first restored "0 forwardings" into every router and the second ran on,
# rewriting every table to its own (empty) state.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init absec
topo_require nft curl python3 socat
topo_router r1
topo_router r2
PER=8

elements() { praas_elements "$1" dnat4; }
both() { echo "$(elements r1) $(elements r2)"; }

agent_config 'router_port_range="10000:20000"'
agent_start || { topo_fail "agent starts"; topo_finish; }
for r in r1 r2; do
	for p in $(seq "$PER"); do
		api POST "/v1/routers/${TOPO[$r.uuid]}/port_forwardings" \
			"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.11\",\"internal_port\":$((21 + p)),\"external_port\":$((30000 + p))}}"
		[[ $API_STATUS == 201 ]] || topo_fail "create on $r ($API_STATUS)" "$API_BODY"
	done
done
want=$(both)
assert_eq "the first agent's tables" "$PER $PER" "$want"

# second NAME SOCKET NETNS_DIR [ARGS]: run a second agent with its own database
# and port; sets RC and OUT (its output). It must not stay up: 20 s at most.
second() {
	local name=$1 sock=$2 dir=$3 conf=$AGENT_DIR/$1.conf port
	shift 3
	port=$(agent__free_port)
	sed -e "s|^  port_app = .*|  port_app = $port;|" \
		-e "s|^  database = .*|  database = \"$AGENT_DIR/$name.db\";|" \
		-e "s|^  control_socket = .*|  control_socket = \"$sock\";|" \
		-e "s|^  netns_dir = .*|  netns_dir = \"$dir\";|" "$AGENT_CONF" >"$conf"
	OUT=$(timeout -k 1 20 "$AGENT_BIN" --config "$conf" "$@" 2>&1 </dev/null) && RC=0 || RC=$?
}

# --- same control socket, same netns_dir
second same-both "$AGENT_DIR/pat-agent.sock" "$TOPO_NETNS_DIR"
assert_eq "same socket and netns_dir: the second exits 1" 1 "$RC"
assert_match "it names the holder (pid $AGENT_PID)" "pid $AGENT_PID" "$OUT"
assert_eq "the first agent's tables are untouched" "$want" "$(both)"
assert_ok "it wrote no database" test ! -e "$AGENT_DIR/same-both.db"
echo "# $(tail -n 1 <<<"$OUT")"

# --- own socket and database, same netns_dir
second same-netns "$AGENT_DIR/other.sock" "$TOPO_NETNS_DIR"
assert_eq "same netns_dir, own socket: the second exits 1" 1 "$RC"
assert_match "it names the holder (pid $AGENT_PID) and its command line" \
	"pid $AGENT_PID \\(.*praas-pat-agent.*--config" "$OUT"
assert_eq "the first agent's tables are untouched" "$want" "$(both)"
assert_ok "its socket was never made" test ! -e "$AGENT_DIR/other.sock"

# --- same control socket, another netns_dir (holding a copy of r1's table)
other=$TOPO_DIR/other-netns
mkdir -p "$other"
: >"$other/${TOPO[r1.ns]}"
mount --bind "$TOPO_NETNS_DIR/${TOPO[r1.ns]}" "$other/${TOPO[r1.ns]}" || topo_fail "bind r1"
topo_on_exit "umount -l '$other/${TOPO[r1.ns]}' 2>/dev/null"
# (its database is new: it is told to go on, so that the socket is what stops it)
second same-socket "$AGENT_DIR/pat-agent.sock" "$other" --allow-empty-database
assert_eq "same socket, other netns_dir: the second exits 1" 1 "$RC"
assert_match "it says another agent listens there" "another agent is listening" "$OUT"
assert_eq "it restored nothing into the router it sees" "$want" "$(both)"
umount "$other/${TOPO[r1.ns]}"

# The first agent goes on serving, and its lock goes with it.
api GET /healthz
assert_eq "the first agent still serves" 200 "$API_STATUS"
ans=$(ctl '{"id":1,"op":"ping"}')
assert_match "its control socket still answers" '"ok": *true' "$ans"
agent_stop || topo_fail "the first agent stops cleanly"
agent_start || topo_fail "a new agent starts once the first is gone"
assert_eq "and restores the same tables" "$want" "$(both)"
agent_stop || topo_fail "it stops cleanly"
topo_finish
