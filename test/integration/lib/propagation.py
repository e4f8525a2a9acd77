#!/usr/bin/env python3
"""propagation.py AGENT_A_PORT BASE VM NETNS: the delay from agent A's answer
(201, then 204) to the element's arrival in (then departure from) the table
of node B's replica (namespace NETNS), for 20 creates and their deletes.
Prints "samples N", "p50_ms X", "p99_ms Y", "max_ms Z" lines. Used by
test/integration/agent-cluster.sh and bench/bench-cluster."""
import http.client, json, subprocess, sys, time
port, base, vm, ns = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def in_b(gw, p):
    """Whether B's table maps gw . tcp . p, asked of both maps at once (the
    table swaps dnat4 and dnat4_b at each rebuild): one element lookup each,
    so a poll costs two nft runs, not a listing of the whole table (which at
    10,000 forwardings takes longer than what is measured)."""
    runs = [subprocess.Popen(["ip", "netns", "exec", ns, "nft", "get", "element", "inet", "praas",
                              m, "{ %s . tcp . %d }" % (gw, p)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for m in ("dnat4", "dnat4_b")]
    return any([r.wait() == 0 for r in runs])
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
    gw = body["port_forwarding"]["external_ip_address"]
    while not in_b(gw, p):
        if time.monotonic() - t0 > 5:
            break
        time.sleep(0.005)
    delays.append(time.monotonic() - t0)
for k, fid in enumerate(ids):
    st, _ = call("DELETE", base + "/" + fid)
    t0 = time.monotonic()
    assert st == 204, st
    while in_b(gw, 4200 + k):
        if time.monotonic() - t0 > 5:
            break
        time.sleep(0.005)
    delays.append(time.monotonic() - t0)
delays.sort()
p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, int(len(delays) * 0.99))]
print("samples %d\np50_ms %.0f\np99_ms %.0f\nmax_ms %.0f" % (len(delays), p50 * 1000, p99 * 1000, delays[-1] * 1000))
