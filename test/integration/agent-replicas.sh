#!/usr/bin/env bash
# Status that tells the truth across nodes (issue 12 item 4, issue 13 item
# 6): two agents, one per simulated node, on the two Galera nodes, each
# hosting its replica of one router.
#   - hosts lists both nodes, each ACTIVE, through either agent; a create
#     through A after a conflict refused through B is ACTIVE on both;
#   - agent B stopped (SIGSTOP: still "live" for 30 s): a create through A
#     is BUILD (status_reason applying; B's entry BUILD) while the older
#     forwarding stays ACTIVE, ?status=BUILD lists only it; after SIGCONT,
#     ACTIVE within 1 s (measured);
#   - B's kernel refuses (another process owns B's table: flags owner): a
#     create through A is ERROR, kernel_refused, B's entry with the
#     kernel's words; the owner gone, the next change rebuilds B's table:
#     ACTIVE again, and traffic passes through B's replica;
#   - a list of the router's forwardings reads its replicas once;
#   - both namespaces removed: DOWN, namespace_absent, hosts []; back:
#     ACTIVE on both again;
#   - an idle agent's database cost stays within 5 statements/s;
#   - /metrics praas_forwardings counts them by the status the API answers
#     (BUILD, ERROR and DOWN as above, and the reasons), and praas (the
#     CLI) prints hosts one a line (show) or as host=STATUS (list).
# Skipped (77) without the loopback Galera cluster (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/nodes.sh"

# status status_reason host:namespace:status... of $API_BODY's port_forwarding.
shown() {
	python3 -c '
import json, sys
f = json.loads(sys.argv[1])["port_forwarding"]
print(f["status"], f["status_reason"], " ".join(
    "%s:%s:%s" % (h["host"], h["namespace"], h["status"]) for h in f["hosts"]))' "$API_BODY"
}
create() { # EXTERNAL_PORT INTERNAL_PORT: through the current agent
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM\",\"internal_port\":$2,\"external_port\":$1}}"
}
status_of() { # ID: its status through the current agent
	api GET "$base/$1"
	api_field port_forwarding.status
}
shown_is() { # ID EXPECTED: what shown() prints of it, through the current agent
	api GET "$base/$1"
	[[ $(shown) == "$2" ]]
}

# /metrics' forwardings through the current agent: by status, then by reason.
gauges() {
	curl -s -m 10 "$AGENT_URL/metrics" | python3 -c '
import re, sys
m = dict(re.findall(r"^(praas_forwardings\S*) (\S+)$", sys.stdin.read(), re.M))
print(" ".join("%s=%s" % (k, m.get("praas_forwardings{status=\"%s\"}" % k, "-"))
               for k in ("ACTIVE", "BUILD", "ERROR", "DOWN")),
      " ".join("%s=%s" % (k, m.get("praas_forwardings_by_reason{reason=\"%s\"}" % k, "-"))
               for k in ("applying", "kernel_refused", "namespace_absent")))'
}
gauges_are() { [[ $(gauges) == "$1" ]]; }
# The Hosts cell of forwarding ID's row in praas forwarding list's table.
list_hosts() {
	"$PRAAS_CLI" --url "$AGENT_URL" forwarding list --router "$U" 2>&1 | python3 -c '
import sys
print(" ".join(l.split("|")[-2].strip() for l in sys.stdin if sys.argv[1] in l))' "$1"
}

nodes_db arep
nodes_router_pair
NS=qrouter-$U
node_start a "$G1" || { topo_fail "agent A starts on Galera node 1"; topo_finish; }
node_start b "$G2" || { topo_fail "agent B starts on Galera node 2"; topo_finish; }

# --- Both nodes hold it.
on a
create 4022 22
assert_eq "a create through A" 201 "$API_STATUS"
F1=$(api_field port_forwarding.id)
BOTH="ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE"
topo_wait 10 shown_is "$F1" "$BOTH"
for n in a b; do
	on $n
	api GET "$base/$F1"
	assert_eq "through $n: ACTIVE, held by both nodes" \
		"ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE" "$(shown)"
done
assert_eq "one replica row per node" "node-a node-b" \
	"$(sql "$DB_NAME" -e "SELECT GROUP_CONCAT(host ORDER BY host SEPARATOR ' ') FROM router_hosts WHERE router_id = '$U'")"
out=$("$PRAAS_CLI" --url "$AGENT_URL" forwarding show --router "$U" "$F1" -f json 2>&1)
assert_eq "praas forwarding show: both hosts" "node-a node-b" "$(python3 -c '
import json, sys
print(" ".join(h["host"] for h in json.loads(sys.argv[1])["hosts"]))' "$out" 2>&1)"

# A conflict refused through B bumps the router's revision with nothing
# logged; A's next create must still become ACTIVE on A's own node (its own
# write could not move A's replica past B's bump: its follow does).
on b
create 4022 99
assert_eq "a conflicting create through B: 409" 409 "$API_STATUS"
on a
create 4026 26
assert_eq "then a create through A" 201 "$API_STATUS"
F0=$(api_field port_forwarding.id)
topo_wait 10 shown_is "$F0" "$BOTH"
assert_eq "it is ACTIVE on both nodes" "$BOTH" "$(shown)"
api DELETE "$base/$F0"
assert_eq "deleted again" 204 "$API_STATUS"

# --- B stopped: it hosts the router and is live for 30 s, but applies nothing.
kill -STOP "${PID[b]}"
topo_on_exit "kill -CONT ${PID[b]} 2>/dev/null || true"
on a
create 4023 23
assert_eq "a create through A while B is stopped" 201 "$API_STATUS"
F2=$(api_field port_forwarding.id)
assert_eq "its answer: BUILD, B has not applied it" \
	"BUILD applying node-a:$NS:ACTIVE node-b:$NS:BUILD" "$(shown)"
sleep 1
api GET "$base/$F2"
assert_eq "a second later: still BUILD" "BUILD applying node-a:$NS:ACTIVE node-b:$NS:BUILD" "$(shown)"
api GET "$base/$F1"
assert_eq "the older forwarding, applied by both: ACTIVE" \
	"ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE" "$(shown)"
api GET "$base?status=BUILD"
assert_eq "?status=BUILD lists only the new one" "$F2" "$(python3 -c '
import json, sys
print(" ".join(f["id"] for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
G="ACTIVE=1 BUILD=1 ERROR=0 DOWN=0 applying=1 kernel_refused=0 namespace_absent=0"
topo_wait 10 gauges_are "$G" # counted at most once per 5 s across nodes
assert_eq "/metrics: one ACTIVE, one BUILD (applying), as the API answers" "$G" "$(gauges)"
scrape_ms() {
	curl -s -m 10 -o /dev/null -w '%{time_total}' "$AGENT_URL/metrics" |
		python3 -c 'import sys; print(round(float(sys.stdin.read()) * 1000, 1))'
}
sleep 5.1 # the last count is older than 5 s: the next scrape counts (this router's forwardings read)
echo "# figure: metrics_scrape_counting_ms $(scrape_ms)"
echo "# figure: metrics_scrape_cached_ms $(scrape_ms)"
assert_eq "praas forwarding list: the new one's hosts, host=STATUS" \
	"node-a=ACTIVE, node-b=BUILD" "$(list_hosts "$F2")"
out=$("$PRAAS_CLI" --url "$AGENT_URL" forwarding show --router "$U" "$F2" 2>&1)
assert_match "praas forwarding show: one host a line, as openstack prints a list of dicts" \
	"[|] hosts +[|] host='node-a', namespace='$NS', status='ACTIVE' +[|]"$'\n'"[|] +[|] host='node-b', namespace='$NS', status='BUILD' +[|]" \
	"$out"
t0=$(date +%s%N)
kill -CONT "${PID[b]}"
while [[ $(status_of "$F2") != ACTIVE ]] && (($(date +%s%N) - t0 < 5000000000)); do
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# figure: build_to_active_after_sigcont_ms $ms"
api GET "$base/$F2"
assert_eq "B continued: ACTIVE on both" "ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE" "$(shown)"
assert_ok "ACTIVE within 1 s of SIGCONT ($ms ms)" test "$ms" -le 1000

# --- B's kernel refuses: another process owns B's table (only the owning
# netlink socket may change it, Linux 5.12+).
topo_table_take r1b || topo_fail "B's table is owned by another process: $(cat "$TOPO_DIR/owner.out")"
create 4024 24
assert_eq "a create through A while B's kernel refuses" 201 "$API_STATUS"
F3=$(api_field port_forwarding.id)
topo_wait 10 shown_is "$F3" "ERROR kernel_refused node-a:$NS:ACTIVE node-b:$NS:ERROR"
api GET "$base/$F3"
assert_eq "ERROR, kernel_refused: B's kernel refused it" \
	"ERROR kernel_refused node-a:$NS:ACTIVE node-b:$NS:ERROR" "$(shown)"
assert_match "B's entry has the kernel's words" '"host": *"node-b"[^}]*"error": *"[^"]*(not permitted|EPERM)' \
	"$API_BODY"
api GET "$base?status=ERROR"
assert_eq "?status=ERROR lists only it" "$F3" "$(python3 -c '
import json, sys
print(" ".join(f["id"] for f in json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
G="ACTIVE=2 BUILD=0 ERROR=1 DOWN=0 applying=0 kernel_refused=1 namespace_absent=0"
topo_wait 10 gauges_are "$G"
assert_eq "/metrics: two ACTIVE, one ERROR (kernel_refused), as the API answers" "$G" "$(gauges)"
out=$("$PRAAS_CLI" --url "$AGENT_URL" forwarding show --router "$U" "$F3" 2>&1)
assert_match "praas forwarding show: B's line has the kernel's words" \
	"[|] +[|] error='[^']*(not permitted|EPERM)[^']*', host='node-b', namespace='$NS', status='ERROR' +[|]" \
	"$out"
assert_eq "praas forwarding list: host=STATUS" "node-a=ACTIVE, node-b=ERROR" "$(list_hosts "$F3")"
# The owner exits (its table goes with its socket); the router's next change rebuilds B's.
topo_table_release
create 4025 25
assert_eq "a create through A once the owner is gone" 201 "$API_STATUS"
F4=$(api_field port_forwarding.id)
topo_wait 10 shown_is "$F3" "$BOTH"
for f in "$F3" "$F4"; do
	api GET "$base/$f"
	assert_eq "B rebuilt its table: ACTIVE on both ($f)" \
		"ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE" "$(shown)"
done
assert_eq "through B's rebuilt replica to its VM" "${TOPO[cb.ip4]} vmb" "$(topo_tcp_query cb "$GW" 4022)"

# An answer reads each router's replicas once, not once per forwarding: a
# list of the router's 4 forwardings costs its page read plus one.
statements() {
	curl -s -m 10 "$AGENT_URL/metrics" | sed -n 's/^praas_db_statements_total //p'
}
tries=()
for try in 1 2 3 4 5; do # the median of 5: follow's poll (every 500 ms) may land in one
	v0=$(statements)
	v1=$(statements) # a scrape's own reads show in the next one: two back to back measure them
	api GET "$base"
	v2=$(statements)
	tries+=($(((v2 - v1) - (v1 - v0))))
done
reads=$(printf '%s\n' "${tries[@]}" | sort -n | sed -n 3p)
echo "# figure: list_of_4_forwardings_of_1_router_statements $reads"
assert_eq "the list answers the 4 forwardings" "200 4" "$API_STATUS $(python3 -c '
import json, sys
print(len(json.loads(sys.argv[1])["port_forwardings"]))' "$API_BODY")"
assert_ok "the list read the router's replicas once: $reads statements (page + 1)" test "$reads" -le 2

# --- No node hosts it: both namespaces leave their nodes.
for n in a b; do
	umount "$TOPO_DIR/node-$n/netns/$NS" && rm -f "$TOPO_DIR/node-$n/netns/$NS" ||
		topo_fail "remove node $n's namespace"
done
topo_wait 10 shown_is "$F1" "DOWN namespace_absent "
api GET "$base/$F1"
assert_eq "no live agent hosts the router: DOWN, namespace_absent, no hosts" \
	"DOWN namespace_absent " "$(shown)"
assert_eq "no replica rows left" 0 \
	"$(sql "$DB_NAME" -e "SELECT COUNT(*) FROM router_hosts WHERE router_id = '$U'")"
G="ACTIVE=0 BUILD=0 ERROR=0 DOWN=4 applying=0 kernel_refused=0 namespace_absent=4"
topo_wait 10 gauges_are "$G"
assert_eq "/metrics: all 4 DOWN (namespace_absent), as the API answers" "$G" "$(gauges)"
for n in a b; do
	r=r1
	[[ $n == b ]] && r=r1b
	: >"$TOPO_DIR/node-$n/netns/$NS"
	mount --bind "/run/netns/${TOPO[$r.ns]}" "$TOPO_DIR/node-$n/netns/$NS" || topo_fail "bind $n again"
done
topo_wait 10 shown_is "$F1" "$BOTH"
api GET "$base/$F1"
assert_eq "the namespaces back: ACTIVE on both again" \
	"ACTIVE None node-a:$NS:ACTIVE node-b:$NS:ACTIVE" "$(shown)"

# Nothing written when idle: the idle budget is 5 statements/s per agent.
idle=$(nodes_idle_queries b)
echo "# figure: idle_agent_queries_per_s $idle"
assert_ok "an idle agent asks the database at most 5 times a second ($idle)" \
	python3 -c "import sys; sys.exit(0 if $idle <= 5 else 1)"

# Both agents stop cleanly (under ASan: no leak, no report).
for n in a b; do
	kill -TERM "${PID[$n]}"
	wait "${PID[$n]}"
	assert_eq "SIGTERM: agent $n exits 0" 0 "$?"
done
if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$TOPO_DIR"/node-?/pat-agent.log; then
	topo_fail "no sanitizer report in the agents' logs"
fi

topo_finish
