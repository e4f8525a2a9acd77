#!/usr/bin/env python3
"""A TCP relay that makes a server slow, not gone: while the file DELAY
exists (it holds milliseconds), every piece of the server's answer is
passed on that long after it came, in order. The client's requests go
through at once.

    delay-relay.py LISTEN_PORT UPSTREAM_PORT DELAY_FILE   (127.0.0.1 both)
"""
import socket
import sys
import threading
import time


def delay_s(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) / 1000.0
    except (OSError, ValueError):
        return 0.0


def shut_both(a, b):
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump(src, dst, delayed):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delayed:
                d = delay_s(delay_file)
                if d > 0:
                    time.sleep(d)
            dst.sendall(data)
    except OSError:
        pass
    shut_both(src, dst)


def serve(client):
    try:
        server = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(client, server, False), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, True), daemon=True).start()


listen_port, upstream, delay_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", listen_port))
lsock.listen(64)
while True:
    conn, _ = lsock.accept()
    serve(conn)
