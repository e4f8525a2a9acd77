#!/usr/bin/env python3
"""A TCP relay for MariaDB's protocol that can cut a COMMIT off after the
server took it: while the file CUT exists, a connection that sends COMMIT
(a COM_QUERY packet) has it passed on to the server, and when the server's
answer comes the relay drops it and closes the connection. The client loses
its connection at the one moment whose outcome it cannot know: the
transaction committed, the answer never came.

    commit-relay.py LISTEN_PORT UPSTREAM_PORT CUT_FILE   (127.0.0.1 both)
"""
import os
import socket
import sys
import threading

COMMIT = b"\x03COMMIT"


class Link:
    def __init__(self, client, server):
        self.client, self.server = client, server
        self.hold = False


def shut_both(link):
    """Either side's end ends the link: the other pump's recv returns."""
    for s in (link.server, link.client):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump_up(link):
    """Client to server; a COMMIT sent while CUT exists marks the link to be cut."""
    try:
        while True:
            data = link.client.recv(65536)
            if not data:
                break
            if COMMIT in data and os.path.exists(hold_file):
                link.hold = True
            link.server.sendall(data)
    except OSError:
        pass
    shut_both(link)


def pump_down(link):
    """Server to client, until the answer to a marked COMMIT: dropped, the link cut."""
    try:
        while True:
            data = link.server.recv(65536)
            if not data or link.hold:
                break
            link.client.sendall(data)
    except OSError:
        pass
    shut_both(link)


def serve(listen_port, upstream_port):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(64)
    while True:
        client, _ = lsock.accept()
        try:
            server = socket.create_connection(("127.0.0.1", upstream_port), timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            continue
        link = Link(client, server)
        threading.Thread(target=pump_up, args=(link,), daemon=True).start()
        threading.Thread(target=pump_down, args=(link,), daemon=True).start()


if __name__ == "__main__":
    hold_file = sys.argv[3]
    serve(int(sys.argv[1]), int(sys.argv[2]))
