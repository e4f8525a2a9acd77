#!/usr/bin/env bash
# The database unreachable (issue 12, item 10 and the brief's item 3): the
# real praas-pat-agent on the loopback MariaDB, reached through a TCP relay
# (socat) that this test owns, so it can take the database away from this
# agent alone, the other tests' agents on the same server untouched.
# With the relay gone:
#   - writes answer 503 praas.db_unavailable, nothing half done;
#   - reads answer 503 praas.db_unavailable too, with no read copy
#     (database_read_copy ""; agent-db-reads.sh tests reads with one);
#   - /healthz answers (503: the database), at once, never hangs;
#   - the kernel keeps every forwarding: the client still reaches the VM.
# With the relay back, the next write is served (201) and the kernel holds both.
# Then the database stalled, not gone (issue 12, item 1): the relay stopped
# (SIGSTOP), a black hole that refuses nothing and answers nothing, as a hung
# server or a dropped network path. While it stalls:
#   - a write answers 503 praas.db_unavailable within twice database_timeout
#     (1 s: the statement, then a ping on a second connection) and a bit, not
#     libmariadb's 30 s; later writes and reads at once;
#   - /healthz and /metrics (503: the database unavailable) answer within
#     100 ms, sampled all along; the loop is held at most once, by the
#     statement that met the stall, and at most twice database_timeout;
#   - the kernel keeps every forwarding: the client still reaches the VM.
# When it ends: /healthz is 200 again, writes are served, the forwardings
# acknowledged before the stall are there, the refused ones are not.
# Skipped (77) without the loopback MariaDB (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/one-router.sh"
. "$here/lib/mariadb.sh"

topo_require mariadb curl python3 nft socat
mariadb_test_db praas_d adbd

mariadb_relay_up || topo_fail "the relay to MariaDB listens"

one_router_vm 22 23 24 25 26 27

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# Samples PATH every 20 ms until the file $TOPO_DIR/stop-sampling appears:
# one line per request, "START_MS MS HTTP_CODE" (curl's own timing; code 000:
# no answer in 5 s).
sample() { # PATH OUT
	local t0 code secs
	while [[ ! -e $TOPO_DIR/stop-sampling ]]; do
		t0=$(now_ms)
		read -r code secs < <(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}\n' "$AGENT_URL$1")
		echo "$t0 $(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 + 0.5 }') $code" >>"$2"
		sleep 0.02
	done
}
# The slowest sample that started at or after FROM_MS (and before TO_MS): "MS CODE".
slowest() { # FILE FROM_MS TO_MS
	awk -v from="$2" -v to="$3" '$1 >= from && $1 < to && $2 >= max { max = $2; code = $3 }
		END { print (max == "" ? "99999 none" : max " " code) }' "$1"
}
# How many samples in [FROM_MS, TO_MS) had code CODE.
count_code() { # FILE FROM_MS TO_MS CODE
	awk -v from="$2" -v to="$3" -v c="$4" '$1 >= from && $1 < to && $3 == c { n++ }
		END { print n + 0 }' "$1"
}

mariadb_password_file
# In front of the relay, one that can cut the connection after a COMMIT the server took.
hold=$TOPO_DIR/cut-commit
mariadb_script_relay commit-relay.py "$relay_port" "$hold"
commit_port=$SCRIPT_RELAY_PORT
# No read copy: this test is of reads that have none (agent-db-reads.sh: with one).
agent_config "database=\"mysql://$db_user@127.0.0.1:$commit_port/$db_name\"" \
	"database_password_file=\"$DB_PASSWORD_FILE\"" 'database_read_copy=""'
agent_start || { topo_fail "the agent starts on MariaDB through the relay"; topo_finish; }

create 4022
assert_eq "a create with the database there" 201 "$API_STATUS"
assert_eq "the client reaches vm1 through gateway:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"

mariadb_relay_down
create 4023
assert_eq "a write with the database gone: 503" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(api_error_code)"
api GET "$base"
assert_eq "a read with the database gone: 503" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(api_error_code)"
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

mariadb_relay_up || topo_fail "the relay to MariaDB listens again"
topo_wait 10 agent_healthy_now
create 4023
assert_eq "with the database back, a write is served" 201 "$API_STATUS"
api GET "$base"
assert_eq "... and a read" 200 "$API_STATUS"
assert_eq "the kernel holds both" 2 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client reaches vm1 through gateway:4023" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4023)"

# --- the database stalled
create 4024
assert_eq "a create before the stall" 201 "$API_STATUS"
health=$TOPO_DIR/healthz.samples
metrics=$TOPO_DIR/metrics.samples
sample /healthz "$health" &
sampler1=$!
sample /metrics "$metrics" &
sampler2=$!
topo_on_exit "touch '$TOPO_DIR/stop-sampling'; kill $sampler1 $sampler2 2>/dev/null || true"
sleep 0.3

mariadb_relay_stall
t0=$(now_ms)
create 4025
write_ms=$(($(now_ms) - t0))
assert_eq "a write with the database stalled: 503 ($write_ms ms)" 503 "$API_STATUS"
assert_eq "... saying so" praas.db_unavailable "$(api_error_code)"
assert_ok "... within twice database_timeout (1 s: the statement, then a ping) and a bit, not 30 s ($write_ms ms)" test "$write_ms" -lt 3000
t0=$(now_ms)
create 4026
ms=$(($(now_ms) - t0))
assert_eq "the next write: 503 too" 503 "$API_STATUS"
assert_ok "... without waiting database_timeout again ($ms ms)" test "$ms" -lt 500
t0=$(now_ms)
api GET "$base"
ms=$(($(now_ms) - t0))
assert_eq "a read with the database stalled: 503" 503 "$API_STATUS"
assert_ok "... without waiting database_timeout again ($ms ms)" test "$ms" -lt 500
settled_ms=$(now_ms)
sleep 3 # follow's polls and the background reconnects keep meeting the stall meanwhile
assert_eq "nothing is removed from the kernel while it stalls" 3 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client still reaches vm1 through gateway:4024" "$CLIENT4 vm1" \
	"$(topo_tcp_query client "$GW4" 4024)"
end_ms=$(now_ms)

read -r ms code <<<"$(slowest "$health" "$settled_ms" "$end_ms")"
assert_ok "/healthz answers within 100 ms all through the stall (slowest $ms ms)" test "$ms" -lt 100
assert_eq "... saying the database is unavailable" 503 "$code"
assert_eq "... every time" 0 "$(count_code "$health" "$settled_ms" "$end_ms" 000)"
assert_ok "... sampled often ($(count_code "$health" "$settled_ms" "$end_ms" 503) samples)" \
	test "$(count_code "$health" "$settled_ms" "$end_ms" 503)" -gt 20
read -r ms code <<<"$(slowest "$metrics" "$settled_ms" "$end_ms")"
assert_ok "/metrics answers within 100 ms all through the stall (slowest $ms ms)" test "$ms" -lt 100
assert_eq "... 503, the database unavailable, as documented" 503 "$code"
assert_eq "... every time, though its last count was good (a count stands 5 s)" 0 \
	"$(count_code "$metrics" "$settled_ms" "$end_ms" 200)"
# Every sample, those begun just before the stall too: one may wait for the statement that met it.
read -r ms code <<<"$(slowest "$health" 0 "$end_ms")"
assert_ok "the statement that met the stall held the loop at most twice database_timeout and a bit (slowest /healthz $ms ms)" \
	test "$ms" -lt 2500

mariadb_relay_resume
topo_wait 10 agent_healthy_now ||
	topo_fail "/healthz is 200 again once the stall ends"
touch "$TOPO_DIR/stop-sampling"
wait "$sampler1" "$sampler2" 2>/dev/null
create 4025
assert_eq "with the stall over, a write is served" 201 "$API_STATUS"
api GET "$base"
assert_eq "... and a read" 200 "$API_STATUS"
assert_eq "... holding those acknowledged before the stall and the new one" "4022 4023 4024 4025" \
	"$(python3 -c 'import json, sys; print(*sorted(f["external_port"] for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
assert_eq "the refused writes left nothing in the database" 4 \
	"$(sql "$db_name" -e "SELECT count(*) FROM forwardings")"
assert_eq "the kernel holds the four" 4 "$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client reaches vm1 through gateway:4025" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4025)"

# --- a COMMIT the server took, its connection cut before the answer: the outcome unknown
touch "$hold"
create 4026
assert_eq "a write whose connection is cut after its COMMIT: 503" 503 "$API_STATUS"
assert_eq "... saying the database is unavailable" praas.db_unavailable "$(api_error_code)"
assert_eq "... yet the server committed it" 1 \
	"$(sql "$db_name" -e "SELECT count(*) FROM forwardings WHERE external_port_lo = 4026")"
rm -f "$hold"
topo_wait 10 agent_healthy_now ||
	topo_fail "/healthz is 200 again"
create 4027
assert_eq "the next write is served" 201 "$API_STATUS"
assert_eq "... and the table of the router whose commit was cut off is rewritten: all six" 6 \
	"$(praas_elements "${TOPO[r1.ns]}" dnat4)"
assert_eq "the client reaches vm1 through gateway:4026, committed though answered 503" \
	"$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4026)"
topo_finish
