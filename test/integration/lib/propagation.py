#!/usr/bin/env python3
"""propagation.py AGENT_A_PORT BASE VM NETNS: the delay from agent A's answer
(201, then 204) to the element's arrival in (then departure from) the table
of node B's replica (namespace NETNS), for 20 creates and their deletes.
Prints "samples N", "p50_ms X", "p99_ms Y", "max_ms Z" lines. Used by
test/integration/agent-cluster.sh and bench/bench-cluster."""
import http.client, json, subprocess, sys, time
port, base, vm, ns = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def ports_in_b():
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "praas"],
                         capture_output=True, text=True).stdout
    got = set()
    for o in json.loads(out or '{"nftables": []}')["nftables"]:
        m = o.get("map")
        if m and m["name"].startswith("dnat4"):
            for key, _ in m.get("elem", []):
                got.add(key["concat"][-1])
    return got
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def call(method, path, body=None):
    c.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None
delays, ids = [], []
for k in range(20):
    p = 4200 + k
    st, body = call("POST", base, {"port_forwarding": {"internal_ip_address": vm,
                                   "internal_port": 100 + k, "external_port": p}})
    t0 = time.monotonic()
    assert st == 201, (st, body)
    ids.append(body["port_forwarding"]["id"])
    while p not in ports_in_b():
        if time.monotonic() - t0 > 5:
            break
        time.sleep(0.005)
    delays.append(time.monotonic() - t0)
for k, fid in enumerate(ids):
    st, _ = call("DELETE", base + "/" + fid)
    t0 = time.monotonic()
    assert st == 204, st
    while 4200 + k in ports_in_b():
        if time.monotonic() - t0 > 5:
            break
        time.sleep(0.005)
    delays.append(time.monotonic() - t0)
delays.sort()
p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, int(len(delays) * 0.99))]
print("samples %d\np50_ms %.0f\np99_ms %.0f\nmax_ms %.0f" % (len(delays), p50 * 1000, p99 * 1000, delays[-1] * 1000))
