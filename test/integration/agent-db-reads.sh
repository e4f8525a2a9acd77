#!/usr/bin/env bash
# Reads keep working while the shared database is unreachable (issue 12
# item 10): two real praas-pat-agents on the loopback MariaDB, each through
# a TCP relay of its own that this test owns (socat), each with its read
# copy (database_read_copy). Agent A's node hosts router r1; agent B's hosts
# nothing (any agent answers any tenant behind the load balancer).
# With both relays stalled (SIGSTOP: a black hole):
#   - list (the router's and /v1/port_forwardings) and show answer 200
#     through A and through B, with the forwardings made before the stall
#     (through A) and the header X-PRaaS-Stale (seconds);
#   - status: ACTIVE through A (its node holds the router's table);
#   - the legacy router_pat through A (the legacy calls need the router's
#     namespace on the node, standalone) answers from the copy too;
#   - a write answers 503 praas.db_unavailable; the kernel keeps everything.
# When the stall ends: reads answer from the database again (no header); a
# create through A and a delete through B are then seen, each by the other
# agent's copy: stalled again, B's copy lists A's new forwarding and A's
# copy no longer lists the one B deleted.
# A's database alone stalled while B deletes: A's copy answers the state it
# last knew, and catches up once A reaches the database again. The change
# log emptied under both (as a trim would): the next change has each copy
# copy the router anew, and both hold the right forwardings.
# Skipped (77) without the loopback MariaDB (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/one-router.sh"
. "$here/lib/mariadb.sh"

topo_require mariadb curl python3 nft socat
mariadb_test_db praas_r adbr

mariadb_relay_up || topo_fail "the relay to MariaDB listens"

one_router_vm 22 23 24
hdrs=$TOPO_DIR/headers
get() { # PATH: api GET, its headers in $hdrs
	api GET "$1" "" -D "$hdrs"
}
# The answer's X-PRaaS-Stale, or "none".
stale() {
	local v
	v=$(sed -n 's/^[Xx]-[Pp][Rr][Aa][Aa][Ss]-[Ss]tale: *\([^[:space:]]*\).*/\1/p' "$hdrs")
	echo "${v:-none}"
}
# The sorted external ports of a listing's answer.
ports() {
	python3 -c 'import json, sys; print(*sorted(f["external_port"] for f in json.loads(sys.argv[1])["port_forwardings"]))' \
		"$API_BODY" 2>/dev/null || echo "(not a listing: $API_STATUS $API_BODY)"
}
is_number() {
	[[ $1 =~ ^[0-9]+$ ]]
}

mariadb_password_file
# B's own relay (mariadb.sh's is A's): the database can be taken from one agent alone.
b_port=$(agent__free_port) || topo_fail "a free port for B's relay"
setsid socat "TCP-LISTEN:$b_port,bind=127.0.0.1,reuseaddr,fork" "TCP:$db_host:$db_port" \
	</dev/null >/dev/null 2>&1 &
B_RELAY_PID=$!
topo_on_exit "kill -KILL -- -$B_RELAY_PID 2>/dev/null || true"
topo_wait 5 bash -c "ss -Htln 'sport = :$b_port' | grep -q ." || topo_fail "B's relay listens"
stall() { # a|b...
	local n
	for n in "$@"; do
		if [[ $n == a ]]; then mariadb_relay_stall; else kill -STOP -- "-$B_RELAY_PID"; fi
	done
}
resume() { # a|b...: and wait for each agent's /healthz to say 200
	local n
	for n in "$@"; do
		if [[ $n == a ]]; then mariadb_relay_resume; else kill -CONT -- "-$B_RELAY_PID"; fi
	done
	for n in "$@"; do
		agent_node "$n"
		topo_wait 10 agent_healthy_now ||
			topo_fail "agent $n's /healthz is 200 again once its database answers"
	done
}
mkdir -p "$TOPO_DIR/node-b-netns"
for n in a b; do
	agent_node $n
	netns=$TOPO_NETNS_DIR port=$relay_port
	[[ $n == b ]] && netns=$TOPO_DIR/node-b-netns port=$b_port
	agent_config "database=\"mysql://$db_user@127.0.0.1:$port/$db_name\"" \
		"database_password_file=\"$DB_PASSWORD_FILE\"" "host=\"node-$n\"" "netns_dir=\"$netns\"" \
		"database_read_copy=\"$TOPO_DIR/agent-$n/read-copy.db\""
	agent_start || { topo_fail "agent $n starts on MariaDB through its relay"; topo_finish; }
done

agent_node a
create 4022
assert_eq "a create through A" 201 "$API_STATUS"
F1=$(api_field port_forwarding.id)
create 4023
assert_eq "another through A" 201 "$API_STATUS"
F2=$(api_field port_forwarding.id)
assert_eq "the client reaches vm1 through gateway:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"
get "$base"
assert_eq "with the database there, a list through A: 200" 200 "$API_STATUS"
assert_eq "... without X-PRaaS-Stale" none "$(stale)"
sleep 1.5 # two of follow's polls: both copies hold A's creates

stall a b
agent_node a
create 4024
assert_eq "a write with the database stalled: 503" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(api_error_code)"
for n in a b; do
	agent_node $n
	get "$base"
	assert_eq "stalled: the router's list through $n: 200" 200 "$API_STATUS"
	assert_eq "... the forwardings made before the stall" "4022 4023" "$(ports)"
	assert_ok "... with X-PRaaS-Stale, a number of seconds ($(stale))" is_number "$(stale)"
	get "/v1/port_forwardings"
	assert_eq "stalled: /v1/port_forwardings through $n: 200" 200 "$API_STATUS"
	assert_eq "... the same two" "4022 4023" "$(ports)"
	assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
	get "$base/$F1"
	assert_eq "stalled: show through $n: 200" 200 "$API_STATUS"
	assert_eq "... the forwarding asked for" 4022 "$(api_field port_forwarding.external_port)"
	assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
	get "$base/0b7e5d2c-0000-4000-8000-000000000000"
	assert_eq "stalled: show of one that is not there through $n: 404" 404 "$API_STATUS"
	api DELETE "$base/$F2"
	assert_eq "stalled: a delete through $n: 503" 503 "$API_STATUS"
	assert_eq "... saying so" praas.db_unavailable "$(api_error_code)"
done
agent_node a
# The legacy calls need the router's namespace on the node (standalone): A's.
get "/router_pat?router_id=qrouter-$R"
assert_eq "stalled: the legacy router_pat through A: 200" 200 "$API_STATUS"
assert_eq "... the two, from the copy" "{\"$VM1:22\":\"4022\",\"$VM1:23\":\"4023\"}" "$API_BODY"
assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
get "$base/$F1"
assert_eq "stalled: through A (its node holds the router), ACTIVE" ACTIVE "$(api_field port_forwarding.status)"
assert_eq "... hosts: this node only (the others' replicas are in the database)" node-a \
	"$(python3 -c 'import json, sys; print(*(h["host"] for h in json.loads(sys.argv[1])["port_forwarding"]["hosts"]))' "$API_BODY")"
sleep 2
get "$base"
stale_a=$(stale)
assert_ok "X-PRaaS-Stale grows while the stall lasts ($stale_a s)" test "${stale_a/none/0}" -ge 2
assert_eq "nothing is removed from the kernel" 2 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client still reaches vm1 through gateway:4023" "$CLIENT4 vm1" \
	"$(topo_tcp_query client "$GW4" 4023)"

resume a b
agent_node a
create 4024
assert_eq "with the stall over, a create through A" 201 "$API_STATUS"
F3=$(api_field port_forwarding.id)
agent_node b
api DELETE "$base/$F2"
assert_eq "... and a delete through B" 204 "$API_STATUS"
for n in a b; do
	agent_node $n
	get "$base"
	assert_eq "with the stall over, a list through $n: 200" 200 "$API_STATUS"
	assert_eq "... from the database" "4022 4024" "$(ports)"
	assert_eq "... without X-PRaaS-Stale" none "$(stale)"
done
sleep 1.5 # two of follow's polls

stall a b
for n in a b; do
	agent_node $n
	get "$base"
	assert_eq "stalled again: a list through $n: 200" 200 "$API_STATUS"
	assert_eq "... its copy holds the other agent's change" "4022 4024" "$(ports)"
	assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
done
resume a b

# --- A alone cut off while B changes the router: A's copy catches up afterwards.
stall a
agent_node b
api DELETE "$base/$F3"
assert_eq "A's database stalled: a delete through B" 204 "$API_STATUS"
agent_node a
get "$base"
assert_eq "... A's list meanwhile: 200" 200 "$API_STATUS"
assert_eq "... the state A last knew" "4022 4024" "$(ports)"
assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
resume a
get "$base"
assert_eq "A reaches the database again: its list, from it" "4022" "$(ports)"
assert_eq "... without X-PRaaS-Stale" none "$(stale)"
sleep 1.5
stall a
get "$base"
assert_eq "A stalled again: its copy caught up with B's delete" "4022" "$(ports)"
assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
resume a

# --- The change log emptied (as a trim would): the next change copies the router anew.
sql "$db_name" -e "DELETE FROM router_changes WHERE router_id = '$R'" ||
	topo_fail "empty the router's change log"
agent_node a
create 4023
assert_eq "the log emptied, a create through A" 201 "$API_STATUS"
sleep 1.5
for n in a b; do
	assert_ok "agent $n's copy took the router anew: a gap in its log" \
		grep -q "Read copy: router $R: copied anew (a gap in its change log)" \
		"$TOPO_DIR/agent-$n/pat-agent.log"
done
stall a b
for n in a b; do
	agent_node $n
	get "$base"
	assert_eq "stalled: $n's copy, the router copied anew, holds both" "4022 4023" "$(ports)"
	assert_ok "... with X-PRaaS-Stale ($(stale))" is_number "$(stale)"
done
resume a b
assert_eq "the kernel holds the two" 2 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client reaches vm1 through gateway:4023" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4023)"
for n in a b; do
	agent_node $n
	agent_stop
	assert_eq "agent $n exits 0 on SIGTERM (with PRAAS_VALGRIND=1: no valgrind error, no leak)" 0 "$?"
	assert_fails "... no sanitizer report in its log (an ASan/UBSan build)" \
		grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR/pat-agent.log"
done
topo_finish
