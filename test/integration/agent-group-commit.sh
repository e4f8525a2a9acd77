#!/usr/bin/env bash
# The group commit (issue 11, deliverable 5) of the real praas-pat-agent,
# standalone, on a real router namespace: 8 concurrent keep-alive clients
# create, update and delete forwardings, pairs of them asking for the same
# external ports on purpose. Every answer must be right (one 201 and one
# 409 per contested port, each with its own body), the changes must have
# shared transactions (the agent's group commit counters), and afterwards
# the database, the kernel's table and real traffic must agree.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

CLIENTS=8
PER=40 # creates per client

topo_init agc
topo_require python3 sqlite3 nft curl
topo_router r1
topo_outside client r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
CLIENT4=${TOPO[client.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"

agent_config
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings

# Client c asks for external port 30000 + (c % 4) * 1000 + i: clients c and
# c + 4 want the same ports, and their requests arrive in the same loop
# turns. Then each client, concurrently again, retargets its even ones,
# deletes those with i % 4 == 1 and moves those with i % 8 == 3 onto the
# port of i - 1 of its pair (held by one of the two: a conflict either way).
python3 - "$AGENT_PORT" "$base" "$VM1" "$CLIENTS" "$PER" >"$TOPO_DIR/results.json" <<'EOF' ||
import http.client, json, sys, threading, time

port, base, vm, clients, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
results = {"create": [], "update": [], "delete": [], "conflict_update": []}
lock = threading.Lock()
start = threading.Barrier(clients)

def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None

def ext(c, i):
    return 30000 + (c % 4) * 1000 + i

def run(c):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    mine = {}
    start.wait()
    for i in range(per):
        st, body = call(conn, "POST", base, {"port_forwarding": {
            "protocol": "tcp", "internal_ip_address": vm, "internal_port": 1000 + c * 100 + i,
            "external_port": ext(c, i)}})
        with lock:
            results["create"].append({"c": c, "i": i, "status": st, "body": body})
        if st == 201:
            mine[i] = body["port_forwarding"]["id"]
    start.wait()
    for i, fid in sorted(mine.items()):
        if i % 4 == 1:
            st, body = call(conn, "DELETE", base + "/" + fid)
            kind, rec = "delete", {"c": c, "i": i, "id": fid, "status": st, "body": body}
        elif i % 8 == 3:
            st, body = call(conn, "PUT", base + "/" + fid,
                            {"port_forwarding": {"external_port": ext(c, i - 1)}})
            kind, rec = "conflict_update", {"c": c, "i": i, "id": fid, "status": st, "body": body}
        elif i % 2 == 0:
            st, body = call(conn, "PUT", base + "/" + fid,
                            {"port_forwarding": {"internal_port": 5000 + c * 100 + i}})
            kind, rec = "update", {"c": c, "i": i, "id": fid, "status": st, "body": body}
        else:
            continue
        with lock:
            results[kind].append(rec)

t0 = time.monotonic()
threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
results["seconds"] = time.monotonic() - t0
json.dump(results, sys.stdout)
EOF
	{ topo_fail "the clients ran"; topo_finish; }

# Every answer checked; prints "ok" lines or the first wrong one, then the
# forwardings that must remain as "EXT INT_PORT" lines into expected.
python3 - "$TOPO_DIR/results.json" "$CLIENTS" "$PER" "$TOPO_DIR/expected" >"$TOPO_DIR/verdict" <<'EOF'
import json, sys
res = json.load(open(sys.argv[1]))
clients, per = int(sys.argv[2]), int(sys.argv[3])
bad = []
def ext(c, i):
    return 30000 + (c % 4) * 1000 + i
won = {}
by_port = {}
for r in res["create"]:
    by_port.setdefault(ext(r["c"], r["i"]), []).append(r)
for p, rs in sorted(by_port.items()):
    st = sorted(r["status"] for r in rs)
    if st != [201, 409]:
        bad.append("port %d: answers %s, not one 201 and one 409" % (p, st))
        continue
    w = next(r for r in rs if r["status"] == 201)
    l = next(r for r in rs if r["status"] == 409)
    f = w["body"]["port_forwarding"]
    if f["external_port"] != p or f["internal_port"] != 1000 + w["c"] * 100 + w["i"] or f["status"] != "ACTIVE":
        bad.append("port %d: the 201 body is not what was asked: %s" % (p, f))
    e = l["body"]["errors"][0]
    if e["code"] != "praas.port_in_use" or f["id"] not in e["detail"]:
        bad.append("port %d: the 409 does not name the winner %s: %s" % (p, f["id"], l["body"]))
    won[f["id"]] = [p, f["internal_port"]]
for r in res["delete"]:
    if r["status"] != 204:
        bad.append("delete %s: %s %s" % (r["id"], r["status"], r["body"]))
    won.pop(r["id"], None)
for r in res["update"]:
    f = (r["body"] or {}).get("port_forwarding", {})
    if r["status"] != 200 or f.get("internal_port") != 5000 + r["c"] * 100 + r["i"]:
        bad.append("update %s: %s %s" % (r["id"], r["status"], r["body"]))
        continue
    won[r["id"]][1] = f["internal_port"]
for r in res["conflict_update"]:
    if r["status"] != 409 or r["body"]["errors"][0]["code"] != "praas.port_in_use":
        bad.append("conflicting update %s: %s %s" % (r["id"], r["status"], r["body"]))
n = {k: len(res[k]) for k in ("create", "update", "delete", "conflict_update")}
print("answers %d creates %d updates %d deletes %d conflicting updates" % (n["create"], n["update"], n["delete"], n["conflict_update"]))
print("wrong %d" % len(bad))
for b in bad[:10]:
    print("WRONG " + b)
print("seconds %.3f" % res["seconds"])
with open(sys.argv[4], "w") as out:
    for p, ip in sorted(won.values()):
        out.write("%d %d\n" % (p, ip))
EOF
cat "$TOPO_DIR/verdict" >&2
assert_eq "every client got an answer for every change" \
	"answers $((CLIENTS * PER)) creates $((CLIENTS * PER / 4)) updates $((CLIENTS * PER / 8)) deletes $((CLIENTS * PER / 16)) conflicting updates" \
	"$(sed -n 1p "$TOPO_DIR/verdict")"
assert_eq "every answer is right: one 201 and one named 409 per contested port, updates, deletes" \
	"wrong 0" "$(sed -n 2p "$TOPO_DIR/verdict")"

# The database and the kernel hold exactly what the answers said.
sqlite3 "$AGENT_DIR/praas.db" \
	"SELECT external_port_lo, internal_port_lo FROM forwardings WHERE router_id = '$R' ORDER BY 1" |
	tr '|' ' ' >"$TOPO_DIR/db"
topo_exec r1 nft -j list table inet praas | python3 -c '
import json, sys
rows = set()
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if not m or not m["name"].startswith("dnat4"):
        continue
    for e in m.get("elem", []):
        key, val = e
        rows.add((key["concat"][-1], val["concat"][-1]))
for k, v in sorted(rows):
    print(k, v)' >"$TOPO_DIR/kernel"
assert_eq "the database holds what the answers said" "" "$(diff "$TOPO_DIR/expected" "$TOPO_DIR/db")"
assert_eq "the kernel holds what the database holds" "" "$(diff "$TOPO_DIR/db" "$TOPO_DIR/kernel")"
assert_eq "forwardings left" "$((CLIENTS * PER / 2 - CLIENTS * PER / 8))" "$(wc -l <"$TOPO_DIR/db")"

# The changes shared transactions: the group commit's own counters.
metrics=$(curl -s -m 10 "$AGENT_URL/metrics")
tx=$(sed -n 's/^praas_group_commit_transactions_total //p' <<<"$metrics")
changes=$(sed -n 's/^praas_group_commit_changes_total //p' <<<"$metrics")
assert_match "the agent counts its group commit transactions" '^[0-9]+$' "$tx"
assert_match "and the changes they carried" '^[0-9]+$' "$changes"
per_tx=$(python3 -c "print(round(${changes:-0} / max(${tx:-0}, 1), 2))")
assert_ok "concurrent changes shared transactions ($changes changes in $tx)" \
	python3 -c "import sys; sys.exit(0 if ${changes:-0} > ${tx:-1} else 1)"

# And packets follow: one more forwarding, through the same path, to vm1's service.
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "a forwarding to vm1's service" 201 "$API_STATUS"
assert_eq "the client reaches vm1 through gateway:4022" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"

# A kernel refusal is one change's: an element planted by hand on port
# 33999 (to another target) makes the kernel refuse the batch that adds
# 33999; the agent takes the router's changes back out and retries them one
# by one, so only that create fails (503 kernel_refused), the 7 beside it
# are created, and nothing of the refused one is stored.
map=$(topo_exec r1 nft -j list table inet praas | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if m and m["name"].startswith("dnat4"):
        print(m["name"]); break')
topo_exec r1 nft add element inet praas "$map" "{ $GW4 . tcp . 33999 : 10.0.0.99 . 22 }" ||
	topo_fail "plant an element on port 33999"
python3 - "$AGENT_PORT" "$base" "$VM1" >"$TOPO_DIR/refused" 2>"$TOPO_DIR/refused.why" <<'EOF2'
import http.client, json, sys, threading
port, base, vm = sys.argv[1:4]
start = threading.Barrier(8)
out = [None] * 8
def run(c):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    ext = 33999 if c == 5 else 34000 + c
    body = json.dumps({"port_forwarding": {"internal_ip_address": vm, "internal_port": 2000 + c, "external_port": ext}})
    start.wait()
    conn.request("POST", base, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    b = json.loads(r.read())
    out[c] = "%d %d %s" % (ext, r.status, b["errors"][0]["code"] if r.status >= 400 else "created")
    if r.status >= 400:
        print(ext, b["errors"][0]["detail"], file=sys.stderr)
threads = [threading.Thread(target=run, args=(c,)) for c in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(sorted(out)))
EOF2
cat "$TOPO_DIR/refused.why" >&2
assert_eq "the kernel's refusal fails only the change it was about" \
	"$(printf '33999 503 praas.kernel_refused\n'; for c in 0 1 2 3 4 6 7; do echo "3400$c 201 created"; done)" \
	"$(cat "$TOPO_DIR/refused")"
assert_eq "the refused create is not stored" 0 \
	"$(sqlite3 "$AGENT_DIR/praas.db" "SELECT count(*) FROM forwardings WHERE external_port_lo = 33999")"
assert_ok "the 7 beside it are in the kernel" sh -c \
	"[ \$(ip netns exec $(topo__ns r1) nft list table inet praas | grep -c 'tcp . 3400[0-7] :') = 7 ]"
# Alone (one client at a time) the same refusal is the change's too, and it is not stored.
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":2100,\"external_port\":33999}}"
assert_eq "a lone create the kernel refuses is 503" 503 "$API_STATUS"
assert_match "...praas.kernel_refused" '"code": *"praas.kernel_refused"' "$API_BODY"
assert_eq "...and not stored" 0 \
	"$(sqlite3 "$AGENT_DIR/praas.db" "SELECT count(*) FROM forwardings WHERE external_port_lo = 33999")"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":2101,\"external_port\":33998}}"
assert_eq "the next lone create goes through" 201 "$API_STATUS"
retries=$(grep -c "retrying them one by one" "$AGENT_DIR/pat-agent.log")

secs=$(sed -n 's/^seconds //p' "$TOPO_DIR/verdict")
echo "figure: group_commit_changes_per_transaction $per_tx changes"
echo "figure: group_commit_transactions $tx transactions"
echo "figure: kernel_refused_batches_retried_one_by_one $retries batches"
asked=$(sed -n 1p "$TOPO_DIR/verdict" | awk '{ print $2 + $4 + $6 + $8 }')
echo "figure: concurrent_changes_per_s $(python3 -c "print(round($asked / $secs))") 1/s"
agent_stop || topo_fail "agent stops"
topo_finish
