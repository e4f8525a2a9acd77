#!/usr/bin/env bash
# Issue 10, defect 3 (pagination): the v1 listings page like Neutron's
# (limit, marker, page_reverse, port_forwardings_links with "next" and
# "previous"), answer at most pagination_max_limit without a limit, refuse
# a bad limit, marker, page_reverse or sort_key with a 400 naming it, and
# the praas CLI still lists everything by following the links. 10,000
# forwardings on one real router, the real agent under a 1,024 soft
# descriptor limit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
. "$here/lib/many.sh"

N=10000
ulimit -Sn 1024
topo_init lpg
topo_router r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
agent_config
t0=$(date +%s%3N)
many_forwardings "$N" "$R" "${TOPO[r1.gw4]}" "${TOPO[vm1.ip4]}" ||
	{ topo_fail "10,000 forwardings restored"; topo_finish; }
echo "figure: list_pages_restore_10000 $(($(date +%s%3N) - t0)) ms"

# The ids as the database has them, sorted: what every walk must find.
sqlite3 "$AGENT_DIR/praas.db" "SELECT id FROM forwardings ORDER BY id" >"$TOPO_DIR/ids"
assert_eq "the database holds $N forwardings" "$N" "$(wc -l <"$TOPO_DIR/ids")"

# walk.py checks one listing and prints "check|got|want" lines.
cat >"$TOPO_DIR/walk.py" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request

base, ids_file, router = sys.argv[1], sys.argv[2], sys.argv[3]
ids = [l.strip() for l in open(ids_file) if l.strip()]

def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def links(body):
    return {l["rel"]: l["href"] for l in body.get("port_forwardings_links", [])}

def marker_of(href):
    if href is None:
        return "(no link)", ""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    return q.get("marker", [""])[0], q.get("page_reverse", [""])[0]

def out(name, got, want):
    print(f"{name}|{got}|{want}")

def walk(start, name):
    seen, path, pages, t0 = [], start, 0, time.monotonic()
    while path:
        st, b = get(path)
        if st != 200:
            out(name + ": every page is 200", st, 200)
            return seen
        seen += [f["id"] for f in b["port_forwardings"]]
        pages += 1
        nxt = links(b).get("next")
        if nxt is not None and not nxt.startswith("/"):
            out(name + ": links are paths", nxt, "/...")
        path = nxt
        if pages > 2 * len(ids) + 2:
            break
    ms = (time.monotonic() - t0) * 1000
    out(name + ": walks all forwardings exactly once, in id order", seen == ids,
        True)
    return pages, ms

for lst in ("/v1/port_forwardings", f"/v1/routers/{router}/port_forwardings"):
    short = "all" if lst.startswith("/v1/port") else "router"
    st, b = get(lst + "?limit=1")
    out(f"{short} limit=1: 200", st, 200)
    out(f"{short} limit=1: one forwarding", len(b.get("port_forwardings", [])), 1)
    out(f"{short} limit=1: the first by id", b["port_forwardings"][0]["id"], ids[0])
    l = links(b)
    out(f"{short} limit=1: a next link, no previous", sorted(l), ["next"])
    out(f"{short} limit=1: next's marker is the one listed",
        marker_of(l.get("next"))[0], ids[0])
    out(f"{short} limit=1: next keeps limit", "limit=1" in l.get("next", ""), True)
    st, b = get(lst)
    out(f"{short} without limit: pagination_max_limit (1000) forwardings",
        len(b["port_forwardings"]), 1000)
    out(f"{short} without limit: a next link", "next" in links(b), True)
    pages, ms = walk(lst + "?limit=1000", f"{short} limit=1000")
    out(f"{short} limit=1000: 10 full pages, no empty one after", pages, 10)
    print(f"figure: list_walk_{short}_10000_by_1000 {ms:.0f} ms")
    # The next link of the next-to-last page ends exactly at the last one.
    st, b = get(lst + "?limit=10&marker=" + ids[-11])
    out(f"{short} last page: 10 forwardings", len(b["port_forwardings"]), 10)
    out(f"{short} last page: previous only", sorted(links(b)), ["previous"])

    # page_reverse: the page before a marker, still in id order.
    st, b = get(lst + f"?limit=10&marker={ids[5000]}&page_reverse=true")
    got = [f["id"] for f in b.get("port_forwardings", [])]
    out(f"{short} page_reverse: the 10 before the marker, in id order", got == ids[4990:5000],
        True)
    l = links(b)
    out(f"{short} page_reverse: next and previous", sorted(l), ["next", "previous"])
    out(f"{short} page_reverse: previous starts at the page's first",
        marker_of(l.get("previous")), (ids[4990], "True"))
    out(f"{short} page_reverse: next starts after the page's last",
        marker_of(l.get("next")), (ids[4999], ""))
    st, b = get(lst + f"?limit=10&marker={ids[5]}&page_reverse=True")
    got = [f["id"] for f in b.get("port_forwardings", [])]
    out(f"{short} page_reverse near the start: the 5 there are", got == ids[:5], True)
    out(f"{short} page_reverse near the start: no previous", sorted(links(b)), ["next"])
    st, b = get(lst + "?limit=3&page_reverse=true")
    got = [f["id"] for f in b.get("port_forwardings", [])]
    out(f"{short} page_reverse without marker: the last page", got == ids[-3:], True)

    st, b = get(lst + "?limit=3&sort_key=id&sort_dir=desc")
    got = [f["id"] for f in b.get("port_forwardings", [])]
    out(f"{short} sort_dir=desc: the 3 highest ids, highest first", got == ids[::-1][:3], True)
    st, b = get(lst + "?limit=3&sort_dir=desc&marker=" + got[-1])
    got2 = [f["id"] for f in b.get("port_forwardings", [])]
    out(f"{short} sort_dir=desc: its next page", got2 == ids[::-1][3:6], True)

    st, b = get(lst + "?protocol=udp&limit=5")
    out(f"{short} a filter that matches none: empty, no links",
        (st, b.get("port_forwardings"), links(b)), (200, [], {}))
    st, b = get(lst + "?external_port=10005&limit=5")
    out(f"{short} a filter with paging: the one match",
        [f["external_port"] for f in b.get("port_forwardings", [])], [10005])

    for q, word in (("limit=-1", "limit"), ("limit=x", "limit"), ("limit=", "limit"),
                    ("marker=42", "marker"), ("page_reverse=maybe", "page_reverse"),
                    ("sort_key=external_port", "sort_key"), ("sort_dir=up", "sort_dir"),
                    ("limit=1&limit=2", "limit")):
        st, b = get(lst + "?" + q)
        detail = ((b or {}).get("errors") or [{}])[0].get("detail", "")
        out(f"{short} ?{q}: 400 naming {word}", (st, detail.startswith(word + ":")),
            (400, True))
PY
python3 "$TOPO_DIR/walk.py" "$AGENT_URL" "$TOPO_DIR/ids" "$R" >"$TOPO_DIR/walk.out" 2>&1
rc=$?
while IFS= read -r line; do
	if [[ $line == figure:* ]]; then
		echo "$line"
	elif [[ $line == *'|'*'|'* ]]; then
		IFS='|' read -r check got want <<<"$line"
		assert_eq "$check" "$want" "$got"
	else
		topo_fail "walk.py says: $line"
	fi
done <"$TOPO_DIR/walk.out"
assert_eq "walk.py ran to its end" 0 "$rc"

# A page of 1000 (600 KB) is streamed: chunked for HTTP/1.1, ended by closing
# the connection for HTTP/1.0, keep-alive asked or not.
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)["port_forwardings"]))' 2>&1; }
assert_eq "HTTP/1.1: a page of 1000, chunked" 1000 "$(curl -s -m 30 "$AGENT_URL/v1/port_forwardings" | count)"
hdr=$(curl -s -m 30 -D - -o /dev/null "$AGENT_URL/v1/port_forwardings")
assert_match "HTTP/1.1: Transfer-Encoding: chunked" 'Transfer-Encoding: chunked' "$hdr"
assert_match "a streamed answer has X-Openstack-Request-Id" 'X-Openstack-Request-Id: req-' "$hdr"
assert_eq "HTTP/1.0: a page of 1000" 1000 "$(curl -s -m 30 -0 "$AGENT_URL/v1/port_forwardings" | count)"
assert_eq "HTTP/1.0 keep-alive: a page of 1000" 1000 \
	"$(curl -s -m 30 -0 -H 'Connection: keep-alive' "$AGENT_URL/v1/port_forwardings" | count)"

# The CLI follows the links: `praas forwarding list` still lists everything.
out=$(PRAAS_URL=$AGENT_URL "$PRAAS_CLI" -f value forwarding list 2>&1)
assert_eq "praas forwarding list lists all $N" "$N" "$(grep -c . <<<"$out")"
out=$(PRAAS_URL=$AGENT_URL "$PRAAS_CLI" -f json forwarding list --router "$R" 2>&1)
assert_eq "praas forwarding list --router: all $N, each once" "$N" \
	"$(python3 -c 'import json,sys; print(len({f["id"] for f in json.load(sys.stdin)}))' <<<"$out")"

agent_stop || topo_fail "the agent exits cleanly"
topo_finish
