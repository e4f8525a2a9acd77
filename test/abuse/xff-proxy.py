#!/usr/bin/env python3
"""A reverse proxy as an operator would put one in front of the agent on the
same host: it listens on LISTEN_ADDR:LISTEN_PORT, connects to the agent at
UPSTREAM_PORT on 127.0.0.1 from 127.0.0.1, and appends the address of its own
client to X-Forwarded-For (with --forwarded, adds a Forwarded: for=; with
--separate, adds an X-Forwarded-For line of its own after the client's, as
HAProxy's "option forwardfor" does).
One request per connection (it asks the agent to close). Writes its port to
PORT_FILE once listening.

usage: xff-proxy.py LISTEN_ADDR UPSTREAM_PORT PORT_FILE [--forwarded | --separate]
"""
import socket
import sys
import threading


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def serve(client, peer, upstream_port, forwarded, separate):
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        out, length, seen = [lines[0]], 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            lname = name.strip().lower()
            if lname == "connection":
                continue
            if lname == "content-length":
                length = int(value.strip())
            if lname == "x-forwarded-for" and not forwarded and not separate:
                line = "%s: %s, %s" % (name, value.strip(), peer)
                seen = True
            out.append(line)
        if forwarded:
            out.append("Forwarded: for=%s;proto=http" % peer)
        elif not seen:
            out.append("X-Forwarded-For: %s" % peer)
        out.append("Connection: close")
        while len(rest) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            rest += chunk
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=10,
                                      source_address=("127.0.0.1", 0))
        up.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + rest)
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            client.sendall(chunk)
        up.close()
    except OSError as e:
        sys.stderr.write("proxy: %s\n" % e)
    finally:
        client.close()


def main():
    addr, upstream, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    forwarded = "--forwarded" in sys.argv[4:]
    separate = "--separate" in sys.argv[4:]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, 0))
    srv.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, (peer, _) = srv.accept()
        threading.Thread(target=serve, args=(client, peer, upstream, forwarded, separate),
                         daemon=True).start()


if __name__ == "__main__":
    main()
