#!/usr/bin/env python3
"""Hostile HTTP clients for the abuse tests: what a browser or curl will not do.

  http-clients.py flood HOST PORT N HOLD READY
      opens N idle TCP connections (never sends a byte), touches READY once
      every connect finished or failed, holds them HOLD seconds; prints
      "opened K" and "closed_by_server C".
  http-clients.py slow HOST PORT N INTERVAL DURATION [FIRST]
      opens N connections (FIRST of them, when given, start before the
      others connect) that each send one byte of a never-ending request
      head every INTERVAL seconds (slowloris); prints "opened", "closed"
      (by the server within DURATION), "answered_408", "answered_503",
      "closed_within_1s", "max_close_s".
  http-clients.py probe HOST PORT KIND
      sends one crafted request and prints "status S", "json yes|no",
      "request_id yes|no", "content_type T" of the answer.
"""
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect_all(host, port, n, timeout=10.0):
    """Non-blocking connects, so a server that stopped accepting cannot stall us."""
    sel = selectors.DefaultSelector()
    socks, ok = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + timeout
    pending = len(socks)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok.append(s)
            else:
                s.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return ok


def gone(s):
    """True once the server closed (EOF or reset); reads and drops what it sent."""
    try:
        data = s.recv(65536)
        return data == b"", data
    except BlockingIOError:
        return False, b""
    except OSError:
        return True, b""


def flood(host, port, n, hold, ready):
    raise_nofile()
    socks = connect_all(host, port, n)
    open(ready, "w").close()
    closed = set()
    end = time.monotonic() + hold
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            dead, _ = gone(s)
            if dead:
                sel.unregister(s)
                closed.add(s)
    print("opened", len(socks))
    print("closed_by_server", len(closed))
    for s in socks:
        s.close()


def slow(host, port, n, interval, duration, first=0):
    raise_nofile()
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
    socks = []
    if first:
        # These start their requests before the others connect: none of them is idle.
        socks = connect_all(host, port, first)
        for s in socks:
            s.send(head[:1])
        time.sleep(0.5)
    socks += connect_all(host, port, n - first)
    pos = {s: (1 if i < first else 0) for i, s in enumerate(socks)}
    answer = {s: b"" for s in socks}
    closed = {}
    t0 = time.monotonic()
    next_send = t0
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    while time.monotonic() - t0 < duration and len(closed) < len(socks):
        now = time.monotonic()
        if now >= next_send:
            for s in socks:
                if s in closed:
                    continue
                try:
                    s.send(head[pos[s]:pos[s] + 1])
                    pos[s] += 1
                except OSError:
                    closed[s] = now - t0
            next_send = now + interval
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            dead, data = gone(s)
            answer[s] += data
            if dead:
                sel.unregister(s)
                closed.setdefault(s, time.monotonic() - t0)
    print("opened", len(socks))
    print("closed", len(closed))
    print("answered_408", sum(1 for s in closed if answer[s].startswith(b"HTTP/1.1 408 ")))
    print("answered_503", sum(1 for s in closed if answer[s].startswith(b"HTTP/1.1 503 ")))
    print("closed_within_1s", sum(1 for t in closed.values() if t < 1.0))
    print("max_close_s", "%.1f" % max(closed.values(), default=0.0))
    for s in socks:
        s.close()


PROBES = {
    "trace": b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
    "connect": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n",
    "version": b"GET / HTTP/7.0\r\nHost: x\r\n\r\n",
    "nocolon": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    "unknown": b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    "blank": b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "baduri": b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "noslash": b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "expect": b"POST /v1/routers/r/port_forwardings HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 200-ok\r\n\r\n{}",
    "bighead": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n",
    "bigbody": b"POST /v1/routers/r/port_forwardings HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
               + b"x" * 65536,
    "chunked": b"POST /v1/routers/r/port_forwardings HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"2\r\n{}\r\n0\r\n\r\n",
}


def probe(host, port, kind):
    s = socket.create_connection((host, port), timeout=5)
    ca = os.environ.get("PROBE_TLS_CA")
    if ca:
        # The same bytes through a TLS session (http-tls.sh): the guard reads plaintext.
        import ssl
        s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=host)
    try:
        s.sendall(PROBES[kind])
    except OSError:
        pass  # a refusal may come before the whole request is sent
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(body) >= int(length[0].split(b":")[1]):
                    break
    except OSError:
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1] if lines and lines[0].startswith("HTTP/") else "none"
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    try:
        doc = json.loads(body)
        is_json = "errors" in doc and doc["errors"][0]["status"] == int(status)
    except (ValueError, KeyError, IndexError, TypeError):
        is_json = False
    print("status", status)
    print("json", "yes" if is_json else "no")
    print("request_id", "yes" if hdrs.get("x-openstack-request-id", "").startswith("req-") else "no")
    print("content_type", hdrs.get("content-type", "none"))


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "flood":
        flood(host, port, int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif cmd == "slow":
        slow(host, port, int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),
             int(sys.argv[7]) if len(sys.argv) > 7 else 0)
    elif cmd == "probe":
        probe(host, port, sys.argv[4])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
