#!/usr/bin/env bash
# The database unreachable (issue 12, item 10 and the brief's item 3): the
# real praas-pat-agent on the loopback MariaDB, reached through a TCP relay
# (socat) that this test owns, so it can take the database away from this
# agent alone, the other tests' agents on the same server untouched.
# With the relay gone:
#   - writes answer 503 praas.db_unavailable, nothing half done;
#   - reads answer 503 praas.db_unavailable too (the store is their source);
#   - /healthz answers (503: the database), at once, never hangs;
#   - the kernel keeps every forwarding: the client still reaches the VM.
# With the relay back, the next write is served (201) and the kernel holds both.
# Skipped (77) without the loopback MariaDB (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/mariadb.sh"

topo_require mariadb curl python3 nft socat
mariadb_test_db praas_d adbd

# The relay: its own process group, so taking it away ends every connection it carries.
relay_port=$(agent__free_port) || topo_fail "a free port for the relay"
RELAY_PID=
relay_up() {
	setsid socat "TCP-LISTEN:$relay_port,bind=127.0.0.1,reuseaddr,fork" \
		"TCP:$db_host:$db_port" </dev/null >/dev/null 2>&1 &
	RELAY_PID=$!
	topo_wait 5 bash -c "ss -Htln 'sport = :$relay_port' | grep -q ."
}
relay_down() {
	kill -TERM -- "-$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
}
topo_on_exit '[[ -z $RELAY_PID ]] || kill -KILL -- "-$RELAY_PID" 2>/dev/null || true'
relay_up || topo_fail "the relay to MariaDB listens"

topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
topo_serve_tcp -t vm1 vm1 any 23 || topo_fail "serve vm1 on 23"
R=${TOPO[r1.uuid]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
CLIENT4=${TOPO[client.ip4]}
base=/v1/routers/$R/port_forwardings
create() { # EXTERNAL_PORT
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":$(($1 - 4000)),\"external_port\":$1}}"
}
error_code() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])["errors"][0]["code"])' \
		"$API_BODY" 2>/dev/null || echo "(not an error body: $API_BODY)"
}

mkdir -p "$TOPO_DIR/agent"
pwfile=$TOPO_DIR/agent/db-password
(umask 077 && printf '%s\n' "$db_pass" >"$pwfile")
agent_config "database=\"mysql://$db_user@127.0.0.1:$relay_port/$db_name\"" \
	"database_password_file=\"$pwfile\""
agent_start || { topo_fail "the agent starts on MariaDB through the relay"; topo_finish; }

create 4022
assert_eq "a create with the database there" 201 "$API_STATUS"
assert_eq "the client reaches vm1 through gateway:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"

relay_down
create 4023
assert_eq "a write with the database gone: 503" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(error_code)"
api GET "$base"
assert_eq "a read with the database gone: 503" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(error_code)"
t0=$EPOCHREALTIME
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$AGENT_URL/healthz")
ms=$(python3 -c "print(round(($EPOCHREALTIME - $t0) * 1000))")
assert_eq "/healthz answers that the database is down ($ms ms)" 503 "$code"
assert_ok "... within a second ($ms ms)" test "$ms" -lt 1000
assert_eq "nothing is removed from the kernel" 1 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client still reaches vm1 through gateway:4022" "$CLIENT4 vm1" \
	"$(topo_tcp_query client "$GW4" 4022)"
assert_eq "the refused write left nothing in the database" 1 \
	"$(sql "$db_name" -e "SELECT count(*) FROM forwardings")"

relay_up || topo_fail "the relay to MariaDB listens again"
topo_wait 10 bash -c "curl -s -o /dev/null -w '%{http_code}' '$AGENT_URL/healthz' | grep -qx 200"
create 4023
assert_eq "with the database back, a write is served" 201 "$API_STATUS"
api GET "$base"
assert_eq "... and a read" 200 "$API_STATUS"
assert_eq "the kernel holds both" 2 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client reaches vm1 through gateway:4023" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4023)"
topo_finish
