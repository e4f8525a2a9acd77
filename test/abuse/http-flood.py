#!/usr/bin/env python3
"""Many concurrent HTTP requests from one process, for the abuse tests.

Opens N connections to URL at once (non-blocking sockets, no threads),
sends one GET on each with an X-Auth-Token, and waits for every answer.
While they are open it samples, every 0.1 s, the descriptors of --pid and
the TCP connections of --pid toward --watch-port (established or
connecting: its outbound calls to that server). Prints one JSON object:
  {"status": {"401": n, ...}, "retry_after": n, "unanswered": n,
   "max_fds": n, "max_outbound": n, "seconds": s}

Tokens: --token T (every request the same) or --distinct PREFIX (PREFIX
followed by the request's number, padded to 40 characters).
"""

import argparse
import json
import os
import selectors
import socket
import subprocess
import time
from urllib.parse import urlsplit


def count_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def count_outbound(port, pid):
    """Connections of pid (any process when 0) to port, made or being made."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", "state", "syn-sent",
                          "( dport = :%d )" % port], capture_output=True, text=True).stdout
    mine = "pid=%d," % pid
    return sum(1 for line in out.splitlines() if line.strip() and (not pid or mine in line))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--token")
    ap.add_argument("--distinct")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--watch-port", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    u = urlsplit(args.url)
    host, port, path = u.hostname, u.port or 80, u.path or "/"

    sel = selectors.DefaultSelector()
    conns = {}
    for i in range(args.n):
        tok = args.token if args.token else (args.distinct + "%06d" % i).ljust(40, "x")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
               "Connection: close\r\n\r\n" % (path, host, tok)).encode()
        conns[s] = {"out": req, "in": b""}
        sel.register(s, selectors.EVENT_WRITE)

    start = time.monotonic()
    next_sample = start
    max_fds = max_out = 0
    status, retry_after = {}, 0
    while conns and time.monotonic() - start < args.timeout:
        now = time.monotonic()
        if now >= next_sample:
            if args.pid:
                max_fds = max(max_fds, count_fds(args.pid))
            if args.watch_port:
                max_out = max(max_out, count_outbound(args.watch_port, args.pid))
            next_sample = now + 0.1
        for key, ev in sel.select(timeout=0.05):
            s, c = key.fileobj, conns[key.fileobj]
            try:
                if ev & selectors.EVENT_WRITE:
                    n = s.send(c["out"])
                    c["out"] = c["out"][n:]
                    if not c["out"]:
                        sel.modify(s, selectors.EVENT_READ)
                    continue
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                c["in"] += data
                continue
            # The agent closed: the answer is complete (Connection: close).
            head = c["in"].split(b"\r\n\r\n", 1)[0].decode("latin-1")
            lines = head.split("\r\n")
            code = lines[0].split(" ")[1] if lines and len(lines[0].split(" ")) > 1 else "none"
            status[code] = status.get(code, 0) + 1
            if any(l.lower().startswith("retry-after:") for l in lines[1:]):
                retry_after += 1
            sel.unregister(s)
            s.close()
            del conns[s]
    for s in conns:
        s.close()
    print(json.dumps({"status": status, "retry_after": retry_after, "unanswered": len(conns),
                      "max_fds": max_fds, "max_outbound": max_out,
                      "seconds": round(time.monotonic() - start, 2)}))


if __name__ == "__main__":
    main()
