#!/usr/bin/env bash
# Two network nodes (issue 12, items 2, 3 and 7), simulated: one pat-agent per
# node, each on its own node of the loopback Galera cluster, each with its
# own netns_dir holding its replica of the same router (two namespaces,
# bound under the two directories with the router's one name), its own
# REST port and control socket.
#   - a create through node A reaches the VM through A's replica; node B's
#     agent, running, programs its replica from the database alone: the
#     delay from A's answer to B's kernel is measured (p50, p99 <= 1 s),
#     and an idle agent's queries per second (<= 5); B applies the changes
#     one by one (/metrics), A skips its own; restarted, B applies the
#     router's first change from the log too (anchored at start), no rebuild;
#   - two clients create overlapping forwardings of that router at the same
#     instant, one through each agent: one 201 and one 409, every round;
#     two ask for a free port at once: two 201s, never the same port;
#   - kill -9 of agent A in a stream of creates through both: every
#     acknowledged forwarding is stored, none is half applied, B keeps
#     answering 201.
# Skipped (77) without the loopback Galera cluster (sudo test/mariadb/start.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

. "$here/lib/nodes.sh"

nodes_db aclu
nodes_router_pair
assert_eq "the replicas share the gateway and VM addresses" "$GW $VM" "${TOPO[r1b.gw4]} ${TOPO[vmb.ip4]}"

node_start a "$G1" || { topo_fail "agent A starts on Galera node 1"; topo_finish; }
node_start b "$G2" || { topo_fail "agent B starts on Galera node 2"; topo_finish; }

# A create through A: A's replica forwards at once.
on a
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a create through agent A" 201 "$API_STATUS"
assert_eq "through node A's replica to its VM" "${TOPO[ca.ip4]} vma" "$(topo_tcp_query ca "$GW" 4022)"
# B learns it from the database alone, while running, and forwards through its own replica.
topo_wait 5 test "$(praas_elements "${TOPO[r1b.ns]}" dnat4)" = 1
assert_eq "through node B's replica to its VM, learnt from the database" "${TOPO[cb.ip4]} vmb" \
	"$(topo_tcp_query cb "$GW" 4022)"

# Propagation: from A's 201 (or 204) to the element in B's replica's table.
python3 "$here/lib/propagation.py" "${PORT[a]}" "$base" "$VM" "${TOPO[r1b.ns]}" >"$TOPO_DIR/propagation"
cat "$TOPO_DIR/propagation" >&2
samples=$(sed -n 's/^samples //p' "$TOPO_DIR/propagation")
p50=$(sed -n 's/^p50_ms //p' "$TOPO_DIR/propagation")
p99=$(sed -n 's/^p99_ms //p' "$TOPO_DIR/propagation")
echo "# figure: propagation_a_to_b_kernel_p50_ms $p50"
echo "# figure: propagation_a_to_b_kernel_p99_ms $p99 ($samples creates and deletes)"
assert_ok "propagation from A's answer to B's kernel: p99 $p99 ms <= 1000 ms (p50 $p50 ms)" \
	test "${p99:-99999}" -le 1000 -a "${samples:-0}" = 40

# How: B applied A's changes one by one from the router's change log (its
# first change after the start rebuilt the table once); A applied none of
# its own again (it did before answering).
follow_metric() { # NODE NAME
	curl -s -m 10 "http://127.0.0.1:${PORT[$1]}/metrics" | sed -n "s/^$2 //p"
}
b_applied=$(follow_metric b praas_follow_changes_applied_total)
b_rebuilt=$(follow_metric b praas_follow_rebuilds_total)
a_applied=$(follow_metric a praas_follow_changes_applied_total)
echo "# figure: follow: B applied $b_applied changes, rebuilt $b_rebuilt tables; A applied $a_applied"
assert_ok "B applied A's 40 changes one by one, rebuilt at most once ($b_applied, $b_rebuilt)" \
	test "${b_applied:-0}" -ge 40 -a "${b_rebuilt:-9}" -le 1
assert_eq "A applies none of its own changes again" 0 "${a_applied:-none}"

# An idle agent's database cost, by its own count (the server's is shared).
idle=$(nodes_idle_queries b)
echo "# figure: idle_agent_queries_per_s $idle"
assert_ok "an idle agent asks the database at most 5 times a second ($idle)" \
	python3 -c "import sys; sys.exit(0 if $idle <= 5 else 1)"

# A router on node A only: B starting (and not hosting it) leaves its
# forwardings' status alone (before, B marked them DOWN in the shared database).
topo_router r2
topo_vm vm2 r2
U2=${TOPO[r2.uuid]}
: >"$TOPO_DIR/node-a/netns/qrouter-$U2"
mount --bind "/run/netns/${TOPO[r2.ns]}" "$TOPO_DIR/node-a/netns/qrouter-$U2" || topo_fail "bind r2 on A"
topo_on_exit "umount $TOPO_DIR/node-a/netns/qrouter-$U2 2>/dev/null || true"
on a
topo_wait 5 curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
	--data-binary "{\"port_forwarding\":{\"internal_ip_address\":\"${TOPO[vm2.ip4]}\",\"internal_port\":22,\"external_port\":4022}}" \
	"$AGENT_URL/v1/routers/$U2/port_forwardings"
kill -TERM "${PID[b]}" && wait "${PID[b]}"
node_start b "$G2" || { topo_fail "agent B starts again"; topo_finish; }
on b
api GET "/v1/routers/$U2/port_forwardings"
assert_eq "a router hosted on A only stays ACTIVE when B starts" "1 ACTIVE" "$(python3 -c '
import json, sys
v = json.load(sys.stdin)["port_forwardings"]
print(len(v), " ".join(f["status"] for f in v))' <<<"$API_BODY")"

# B's first change of router r1 after that start comes from the change log,
# as every later one: the start anchored the router at its newest logged
# change (before, that change rebuilt B's whole table: at 10,000 forwardings
# the slowest sample of the propagation figure).
on a
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM\",\"internal_port\":91,\"external_port\":4091}}"
assert_eq "a create through A after B's start" 201 "$API_STATUS"
F=$(api_field port_forwarding.id)
in_b=no
for _ in $(seq 50); do # either map: a rebuild swaps dnat4 and dnat4_b
	for m in dnat4 dnat4_b; do
		ip netns exec "${TOPO[r1b.ns]}" nft get element inet praas $m "{ $GW . tcp . 4091 }" \
			>/dev/null 2>&1 && in_b=yes
	done
	[[ $in_b == yes ]] && break
	sleep 0.1
done
assert_eq "in B's table within 5 s" yes "$in_b"
b_applied=$(follow_metric b praas_follow_changes_applied_total)
b_rebuilt=$(follow_metric b praas_follow_rebuilds_total)
echo "# figure: follow after B's start: applied $b_applied changes, rebuilt $b_rebuilt tables"
assert_eq "B applied it from the log, rebuilding nothing ($b_applied applied)" "0 yes" \
	"$b_rebuilt $( ((${b_applied:-0} >= 1)) && echo yes)"
api DELETE "$base/$F"
assert_eq "deleted again" 204 "$API_STATUS"

# Conflicting creates at the same instant, one through each agent.
python3 - "${PORT[a]}" "${PORT[b]}" "$base" "$VM" >"$TOPO_DIR/race" <<'PY'
import http.client, json, sys, threading
pa, pb, base, vm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rounds, wrong = 30, []
def post(port, body, out, i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", base, json.dumps({"port_forwarding": body}), {"Content-Type": "application/json"})
    r = c.getresponse()
    out[i] = (r.status, json.loads(r.read() or b"null"))
for k in range(rounds):
    e = 20000 + 10 * k
    # overlapping external ranges that start apart (even), or internal ones (odd)
    a = {"internal_ip_address": vm, "internal_port_range": "%d:%d" % (e, e + 1),
         "external_port_range": "%d:%d" % (e, e + 1)}
    b = {"internal_ip_address": vm, "internal_port_range": "%d:%d" % (e + 5, e + 6),
         "external_port_range": "%d:%d" % (e + 1, e + 2)}
    if k % 2:
        b = {"internal_ip_address": vm, "internal_port_range": "%d:%d" % (e + 1, e + 2),
             "external_port_range": "%d:%d" % (e + 5, e + 6)}
    out = [None, None]
    t = [threading.Thread(target=post, args=(pa, a, out, 0)),
         threading.Thread(target=post, args=(pb, b, out, 1))]
    for x in t: x.start()
    for x in t: x.join()
    st = sorted(o[0] for o in out)
    if st != [201, 409]:
        wrong.append("round %d: %s" % (k, [o for o in out]))
print("rounds %d wrong %d" % (rounds, len(wrong)))
for w in wrong[:5]:
    print(w)
PY
cat "$TOPO_DIR/race" >&2
assert_eq "overlapping creates through both agents at once: one 201, one 409, every round" \
	"rounds 30 wrong 0" "$(head -n1 "$TOPO_DIR/race")"
assert_eq "the database holds one per round (and the first two)" 32 \
	"$(sql "$DB_NAME" -e "SELECT count(*) FROM forwardings")"

# Free ports allocated through both agents at once: never the same one.
# Each agent's allocator has read the router's ports once already (the
# creates above), so each round the two start from stale knowledge.
python3 - "${PORT[a]}" "${PORT[b]}" "$base" "$VM" >"$TOPO_DIR/alloc" <<'PY'
import http.client, json, sys, threading
pa, pb, base, vm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rounds, ports, wrong = 30, [], []
def post(port, k, out, i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = {"internal_ip_address": vm, "internal_port": 30000 + 2 * k + i}
    c.request("POST", base, json.dumps({"port_forwarding": body}), {"Content-Type": "application/json"})
    r = c.getresponse()
    out[i] = (r.status, json.loads(r.read() or b"null"))
for k in range(rounds):
    out = [None, None]
    t = [threading.Thread(target=post, args=(p, k, out, i)) for i, p in enumerate((pa, pb))]
    for x in t: x.start()
    for x in t: x.join()
    if [o[0] for o in out] != [201, 201]:
        wrong.append("round %d: %s" % (k, out))
        continue
    ports += [o[1]["port_forwarding"]["external_port"] for o in out]
print("rounds %d wrong %d duplicates %d" % (rounds, len(wrong), len(ports) - len(set(ports))))
for w in wrong[:5]:
    print(w)
PY
cat "$TOPO_DIR/alloc" >&2
assert_eq "free ports allocated through both agents at once: both 201, never the same port" \
	"rounds 30 wrong 0 duplicates 0" "$(head -n1 "$TOPO_DIR/alloc")"

# kill -9 of A in a stream of creates through both.
python3 - "${PORT[a]}" "${PORT[b]}" "$base" "$VM" "$TOPO_DIR/acked" "${PID[a]}" >"$TOPO_DIR/stream" <<'PY'
import http.client, json, os, signal, sys, threading, time
pa, pb, base, vm, acked, pid_a = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
lock, ids, after_kill, killed = threading.Lock(), [], {"b201": 0, "bother": 0}, threading.Event()
def stream(port, first, node):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(900):
        if node == "b" and after_kill["b201"] + after_kill["bother"] >= 40:
            return
        body = {"internal_ip_address": vm, "internal_port": 40000 + first + i,
                "external_port": 40000 + first + i}
        try:
            c.request("POST", base, json.dumps({"port_forwarding": body}), {"Content-Type": "application/json"})
            r = c.getresponse()
            data = json.loads(r.read() or b"null")
        except Exception:
            if node == "a":
                return
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        with lock:
            if r.status == 201:
                ids.append(data["port_forwarding"]["id"])
            if node == "b" and killed.is_set():
                after_kill["b201" if r.status == 201 else "bother"] += 1
                if r.status != 201:
                    print("# B answered %d after the kill: %s" % (r.status, data), file=sys.stderr)
        if node == "a" and i == 40:
            os.kill(pid_a, signal.SIGKILL)
            killed.set()
ta = threading.Thread(target=stream, args=(pa, 0, "a"))
tb = threading.Thread(target=stream, args=(pb, 1000, "b"))
ta.start(); tb.start(); ta.join(); tb.join()
open(acked, "w").write("\n".join(ids) + "\n")
print("acked %d b_after_kill_201 %d b_after_kill_other %d" % (len(ids), after_kill["b201"], after_kill["bother"]))
PY
cat "$TOPO_DIR/stream" >&2
wait "${PID[a]}" 2>/dev/null
read -r _ acked _ b_ok _ b_other <"$TOPO_DIR/stream"
sql "$DB_NAME" -e "SELECT id FROM forwardings" | sort >"$TOPO_DIR/db-ids"
missing=$(sort "$TOPO_DIR/acked" | comm -23 - "$TOPO_DIR/db-ids" | grep -c .)
assert_eq "every acknowledged create is in the database" 0 "$missing"
assert_ok "agent B kept answering 201 after A was killed ($b_ok, $b_other other)" \
	test "$b_ok" -gt 0 -a "$b_other" = 0
rows=$(sql "$DB_NAME" -e "SELECT count(*) FROM forwardings WHERE external_port_lo BETWEEN 40000 AND 49999")
assert_ok "none half applied: stored rows ($rows) are the acknowledged ($acked) plus at most A's last batch" \
	test "$rows" -ge "$acked" -a "$rows" -le $((acked + 64))
bad=$(sql "$DB_NAME" -e "SELECT count(*) FROM forwardings WHERE internal_port_lo != external_port_lo AND external_port_lo BETWEEN 40000 AND 49999")
assert_eq "every stored row is whole (internal port = external port, as sent)" 0 "$bad"
on b
api GET "$base?limit=1000"
assert_eq "the survivor lists them all" "$(sql "$DB_NAME" -e "SELECT count(*) FROM forwardings WHERE router_id = '$U'")" \
	"$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["port_forwardings"]))' <<<"$API_BODY")"
kill -TERM "${PID[b]}" && wait "${PID[b]}"
assert_eq "agent B stops cleanly" 0 "$?"
topo_finish
