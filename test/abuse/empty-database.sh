#!/usr/bin/env bash
# Issue 10, defect 5: an empty or missing database empties every router.
# With forwardings in two routers' tables, the agent is stopped and its
# database removed (rm praas.db*), as a typo in `database` or a state
# directory not mounted would look. A start must refuse (exit 1, naming
# the routers and ports it would wipe and --allow-empty-database), leave
# the tables and make no database file; an empty file is the same. With
# --allow-empty-database it starts and empties them, and a later start
# (the database now exists) needs no flag. Before the fix the agent
# started healthy with 0 forwardings and emptied every table.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init abedb
topo_require nft curl python3
topo_router r1
topo_router r2
topo_router r3 # no forwardings: an empty table is nothing to lose
PER=6

elements() { praas_elements "$1" dnat4; }
all3() { echo "$(elements r1) $(elements r2) $(elements r3)"; }

agent_config 'router_port_range="10000:20000"'
agent_start || { topo_fail "agent starts"; topo_finish; }
for r in r1 r2; do
	for p in $(seq "$PER"); do
		api POST "/v1/routers/${TOPO[$r.uuid]}/port_forwardings" \
			"{\"port_forwarding\":{\"internal_ip_address\":\"10.0.0.11\",\"internal_port\":$((21 + p)),\"external_port\":$((30000 + p))}}"
		[[ $API_STATUS == 201 ]] || topo_fail "create on $r ($API_STATUS)" "$API_BODY"
	done
done
agent_stop || topo_fail "agent stops"
want=$(all3)
assert_eq "the tables before" "$PER $PER 0" "$want"
DB=$AGENT_DIR/praas.db

# try [ARGS]: start the agent in the foreground; RC, OUT. 20 s at most:
# one that stays up is killed and counts as started.
# shellcheck disable=SC2120 # some calls pass arguments, some none
try() {
	OUT=$(timeout -k 1 20 "$AGENT_BIN" --config "$AGENT_CONF" "$@" 2>&1 </dev/null) && RC=0 || RC=$?
}

# --- the database removed while stopped
rm -f "$DB" "$DB"-*
try
assert_eq "a missing database: the start is refused (exit 1)" 1 "$RC"
assert_match "it names what would be wiped" "2 router tables .* hold $((2 * PER)) forwarded ports" "$OUT"
assert_match "and how to go on" "allow-empty-database" "$OUT"
assert_eq "the tables are untouched" "$want" "$(all3)"
assert_ok "no database was made (the next start refuses again)" test ! -e "$DB"
echo "# $(tail -n 1 <<<"$OUT")"

# --- an empty file is a new database too
: >"$DB"
try
assert_eq "an empty database file: refused (exit 1)" 1 "$RC"
assert_eq "the tables are untouched" "$want" "$(all3)"
rm -f "$DB"

# --- the operator says so
agent_start --allow-empty-database || topo_fail "starts with --allow-empty-database"
assert_eq "with the flag it starts and empties the tables" "0 0 0" "$(all3)"
assert_match "and says how many it emptied" "allow-empty-database empties 2 router tables \\($((2 * PER))" \
	"$(cat "$AGENT_DIR/pat-agent.log")"
api POST "/v1/routers/${TOPO[r1.uuid]}/port_forwardings" \
	'{"port_forwarding":{"internal_ip_address":"10.0.0.11","internal_port":22,"external_port":30001}}'
assert_eq "and serves" 201 "$API_STATUS"
agent_stop || topo_fail "agent stops"
agent_start || topo_fail "the next start (database there) needs no flag"
assert_eq "and restores what it holds" "1 0 0" "$(all3)"
agent_stop || topo_fail "agent stops"
topo_finish
