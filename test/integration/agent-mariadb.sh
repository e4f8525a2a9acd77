#!/usr/bin/env bash
# The real praas-pat-agent with its store on MariaDB (issue 12, item 1):
# `database` a mysql:// URL, the password from database_password_file. It
# serves creates (201, a conflict 409) that reach the VM through the real
# router, the rows are in MariaDB, a kill -9 and a restart rebuild the
# router from MariaDB, and the password is in none of the agent's log,
# /metrics or /healthz. Skipped (77) without the loopback MariaDB
# (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/mariadb.sh"

topo_require mariadb curl python3 nft
mariadb_test_db praas_i amdb

topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
R=${TOPO[r1.uuid]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
CLIENT4=${TOPO[client.ip4]}
base=/v1/routers/$R/port_forwardings

mariadb_password_file
agent_config "database=\"mysql://$db_user@$db_host:$db_port/$db_name\"" \
	"database_password_file=\"$DB_PASSWORD_FILE\""
agent_start || { topo_fail "the agent starts on MariaDB"; topo_finish; }

api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a create through the agent on MariaDB" 201 "$API_STATUS"
id=$(api_field port_forwarding.id)
assert_eq "the client reaches vm1 through gateway:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"
assert_eq "the row is in MariaDB" "$id 4022 22" \
	"$(sql "$db_name" -e "SELECT id, external_port_lo, internal_port_lo FROM forwardings" | tr '\t' ' ')"
assert_eq "the router's revision was bumped" 1 \
	"$(sql "$db_name" -e "SELECT revision FROM routers WHERE router_id = '$R'")"

# Overlapping external range: refused by the store's check, nothing stored.
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port_range\":\"2000:2009\",\"external_port_range\":\"4020:4029\"}}"
assert_eq "an overlapping range is refused" 409 "$API_STATUS"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":23,\"external_port\":4023}}"
assert_eq "a second create" 201 "$API_STATUS"
id2=$(api_field port_forwarding.id)
api DELETE "$base/$id2"
assert_eq "a delete" 204 "$API_STATUS"
assert_eq "MariaDB holds the one left" 1 "$(sql "$db_name" -e "SELECT count(*) FROM forwardings")"

# kill -9 and a start with the router's table flushed: rebuilt from MariaDB.
agent_kill9
topo_exec r1 nft flush ruleset
agent_start || { topo_fail "the agent starts again"; topo_finish; }
api GET "$base"
assert_eq "the list after a restart" "1 $id" "$(python3 -c '
import json, sys
v = json.loads(sys.argv[1])["port_forwardings"]
print(len(v), " ".join(f["id"] for f in v))' "$API_BODY")"
assert_eq "the kernel's table was rebuilt from MariaDB" "$CLIENT4 vm1" \
	"$(topo_tcp_query client "$GW4" 4022)"

# The password: in none of what the agent writes or serves.
curl -s -m 5 "$AGENT_URL/metrics" >"$TOPO_DIR/metrics"
curl -s -m 5 "$AGENT_URL/healthz" >"$TOPO_DIR/healthz"
assert_ok "/metrics answers" test -s "$TOPO_DIR/metrics"
assert_fails "the password is not in the log, /metrics or /healthz" \
	grep -rF -- "$db_pass" "$AGENT_DIR/pat-agent.log" "$TOPO_DIR/metrics" "$TOPO_DIR/healthz"
assert_match "the log names the database without the password" \
	"mysql://$db_user@$db_host:$db_port/$db_name" "$(grep -m1 'Started' "$AGENT_DIR/pat-agent.log")"
rc=0
agent_stop || rc=$?
assert_eq "the agent stops cleanly" 0 "$rc"
topo_finish
