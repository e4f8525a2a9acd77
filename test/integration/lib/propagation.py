#!/usr/bin/env python3
"""propagation.py AGENT_A_PORT BASE VM NETNS: the delay from agent A's answer
(201, then 204) to the element's arrival in (then departure from) the table
of node B's replica (namespace NETNS), for 20 creates and their deletes.
Prints "samples N", "p50_ms X", "p99_ms Y", "max_ms Z", "polled N" and
"delays_ms D,D,..." lines. Used by test/integration/agent-cluster.sh and
bench/bench-cluster.

The arrival is the kernel's own event: one `nft monitor` in B's namespace
reports each element added to or deleted from the table as B's batch
commits. Polling with `nft get element` instead costs what it measures:
nft reads the whole set before it answers (0.14 s at 10,000 forwardings,
one core), so each look was late by up to one look and took a core from
B. Each sample is then checked with `nft get element` (not timed). A
change the monitor does not show (a rebuild swaps the maps: its elements
arrive in a new map) is timed by polling, as before, and counted in
"polled"."""
import http.client, json, subprocess, sys, threading, time
port, base, vm, ns = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
MAPS = ("dnat4", "dnat4_b")


def in_b(gw, p):
    """Whether B's table maps gw . tcp . p, asked of both maps at once (the
    table swaps dnat4 and dnat4_b at each rebuild)."""
    runs = [subprocess.Popen(["ip", "netns", "exec", ns, "nft", "get", "element", "inet", "praas",
                              m, "{ %s . tcp . %d }" % (gw, p)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for m in MAPS]
    return any([r.wait() == 0 for r in runs])


events, cond = {}, threading.Condition()


def watch(mon):
    """Notes when each (add|delete, key) last showed, from B's kernel events."""
    for line in mon.stdout:
        t = time.monotonic()
        w = line.split()
        # add element inet praas dnat4 { 10.0.0.1 . tcp . 4200 : 10.1.0.5 . 100 }
        if len(w) < 10 or w[1] != "element" or w[4] not in MAPS or w[5] != "{":
            continue
        with cond:
            events[(w[0], " ".join(w[6:11]))] = t
            cond.notify_all()


def arrival(op, gw, p, asked, answered, present):
    """Seconds from the answer to the kernel's event (op, gw . tcp . p) that
    came after the request was sent; polled when none shows within 5 s.
    Checked against the table either way."""
    key = "%s . tcp . %d" % (gw, p)
    with cond:
        cond.wait_for(lambda: events.get((op, key), 0) >= asked, timeout=5)
        t = events.get((op, key), 0)
    if t >= asked and in_b(gw, p) == present:
        return max(0.0, t - answered), False
    while in_b(gw, p) != present and time.monotonic() - answered < 5:
        time.sleep(0.005)
    return time.monotonic() - answered, True


mon = subprocess.Popen(["ip", "netns", "exec", ns, "nft", "monitor"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, bufsize=1)
threading.Thread(target=watch, args=(mon,), daemon=True).start()
time.sleep(1)  # nft monitor reads the ruleset before it listens
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def call(method, path, body=None):
    c.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


delays, ids, polled = [], [], 0
for k in range(20):
    p = 4200 + k
    asked = time.monotonic()
    st, body = call("POST", base, {"port_forwarding": {"internal_ip_address": vm,
                                   "internal_port": 100 + k, "external_port": p}})
    t0 = time.monotonic()
    assert st == 201, (st, body)
    ids.append(body["port_forwarding"]["id"])
    gw = body["port_forwarding"]["external_ip_address"]
    d, was_polled = arrival("add", gw, p, asked, t0, True)
    delays.append(d)
    polled += was_polled
for k, fid in enumerate(ids):
    asked = time.monotonic()
    st, _ = call("DELETE", base + "/" + fid)
    t0 = time.monotonic()
    assert st == 204, st
    d, was_polled = arrival("delete", gw, 4200 + k, asked, t0, False)
    delays.append(d)
    polled += was_polled
mon.kill()
mon.wait()
order = sorted(delays)
p50, p99 = order[len(order) // 2], order[min(len(order) - 1, int(len(order) * 0.99))]
print("samples %d\np50_ms %.0f\np99_ms %.0f\nmax_ms %.0f\npolled %d" %
      (len(order), p50 * 1000, p99 * 1000, order[-1] * 1000, polled))
print("delays_ms " + ",".join("%.0f" % (d * 1000) for d in delays))
