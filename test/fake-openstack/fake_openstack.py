#!/usr/bin/env python3
"""A small fault-injecting Keystone v3 + Neutron v2.0 for PRaaS's tests.

It speaks enough of both APIs for lib/keystone.c and lib/neutron.c
(token issue and validation, catalog, routers, ports, subnets, networks,
filters, fields=, limit/marker pagination) and misbehaves on demand:

  POST /_control/fault  {"kind": ..., "path": "/v2.0/ports", "method": "GET",
                         "count": N, ...}   queue a fault (path is a prefix)
      kinds: status (+"status", "message"), hang, delay (+"seconds"),
             malformed, truncated, short (Content-Length larger than body),
             huge (+"bytes", "chunked"), redirect (+"location"),
             loop_pages (next link repeats a marker), close (close at once)
  POST /_control/expire_tokens        every issued token now answers 401
  POST /_control/reset                drop faults and counters
  GET  /_control/stats                {"tokens_issued": n, "requests": {"GET /v2.0/ports": n},
                                       "in_flight": {...}, "max_in_flight": {...}, ...}
      (in_flight: requests being answered now, per "METHOD /path";
       max_in_flight: the most at once since the start or the last reset)

Flags: --port N (0 picks one), --port-file PATH, --token-ttl S (tokens
really expire after S seconds and then get 401), --claimed-ttl S (what
expires_at says, default 3600), --delay S (every answer waits S seconds),
--ports N (extra VM ports for pagination tests), plus --fault JSON
(repeatable, same as the control endpoint). Listens on 127.0.0.1 only and
prints "PORT <n>" on stdout once it listens.
"""

import argparse
import datetime
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {}

USERS = {
    # name: (password, user id, project name, project id, roles)
    "admin": ("admin", "u-admin", "admin", "p-admin", ["admin", "member", "reader"]),
    "demo": ("demo", "u-demo", "demo", "p-demo", ["member", "reader"]),
    "alt_demo": ("alt_demo", "u-alt", "alt_demo", "p-alt", ["member", "reader"]),
}
APP_CREDS = {
    # id: (name, secret, user name)
    "ac-demo": ("praas-ac", "s3cret", "demo"),
}


def now():
    return time.time()


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000000Z")


def new_id():
    return str(uuid.uuid4())


def seed(args):
    """Networks, subnets, a router with a gateway and interfaces, VM ports."""
    nets, subnets, routers, ports = {}, {}, {}, {}
    pub = {"id": new_id(), "name": "public", "project_id": "p-admin", "status": "ACTIVE",
           "router:external": True, "shared": False}
    priv = {"id": new_id(), "name": "private", "project_id": "p-demo", "status": "ACTIVE",
            "router:external": False, "shared": False}
    for n in (pub, priv):
        n["tenant_id"] = n["project_id"]
        nets[n["id"]] = n
    pubsub = {"id": new_id(), "name": "public-subnet", "network_id": pub["id"],
              "project_id": "p-admin", "cidr": "203.0.113.0/24", "ip_version": 4,
              "gateway_ip": "203.0.113.1"}
    privsub = {"id": new_id(), "name": "private-subnet", "network_id": priv["id"],
               "project_id": "p-demo", "cidr": "10.0.0.0/24", "ip_version": 4,
               "gateway_ip": "10.0.0.1"}
    priv6 = {"id": new_id(), "name": "private-v6", "network_id": priv["id"],
             "project_id": "p-demo", "cidr": "2001:db8:1::/64", "ip_version": 6,
             "gateway_ip": "2001:db8:1::1"}
    for s in (pubsub, privsub, priv6):
        s["tenant_id"] = s["project_id"]
        subnets[s["id"]] = s
    router = {"id": new_id(), "name": "router1", "project_id": "p-demo", "status": "ACTIVE",
              "external_gateway_info": {"network_id": pub["id"], "enable_snat": True,
                                        "external_fixed_ips": [
                                            {"subnet_id": pubsub["id"],
                                             "ip_address": "203.0.113.10"}]}}
    router["tenant_id"] = router["project_id"]
    routers[router["id"]] = router

    def port(name, net, owner, device, ips, project):
        p = {"id": new_id(), "name": name, "network_id": net["id"], "device_owner": owner,
             "device_id": device, "project_id": project, "tenant_id": project,
             "mac_address": "fa:16:3e:00:00:%02x" % (len(ports) % 256), "status": "ACTIVE",
             "fixed_ips": [{"subnet_id": s["id"], "ip_address": a} for s, a in ips]}
        ports[p["id"]] = p
        return p

    port("", pub, "network:router_gateway", router["id"], [(pubsub, "203.0.113.10")], "")
    port("", priv, "network:router_interface", router["id"], [(privsub, "10.0.0.1")], "p-demo")
    port("", priv, "network:router_interface", router["id"], [(priv6, "2001:db8:1::1")],
         "p-demo")
    port("vm1", priv, "compute:nova", new_id(), [(privsub, "10.0.0.5")], "p-demo")
    port("vm2", priv, "compute:nova", new_id(), [(privsub, "10.0.0.6"), (priv6, "2001:db8:1::6")],
         "p-demo")
    for i in range(args.ports):
        port("extra%d" % i, priv, "compute:nova", new_id(),
             # 10.0.x.y for the first 62,500, then 10.1.x.y: 100,000 stay addresses
             [(privsub, "10.%d.%d.%d" % (i // 62500, 1 + (i // 250) % 250, 1 + i % 250))],
             "p-demo")
    return {"networks": nets, "subnets": subnets, "routers": routers, "ports": ports}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openstack/1"

    def log_message(self, fmt, *a):
        if STATE["args"].verbose:
            sys.stderr.write("fake: " + (fmt % a) + "\n")

    # ---- plumbing -------------------------------------------------------

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return "bad"

    def send(self, status, obj=None, headers=None, raw=None):
        data = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("X-Openstack-Request-Id", "req-" + new_id())
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)

    def neutron_error(self, status, typ, msg):
        self.send(status, {"NeutronError": {"type": typ, "message": msg, "detail": ""}})

    def keystone_error(self, status, title, msg):
        self.send(status, {"error": {"code": status, "title": title, "message": msg}})

    def base_url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def count(self, key):
        with LOCK:
            STATE["requests"][key] = STATE["requests"].get(key, 0) + 1

    # ---- faults ---------------------------------------------------------

    def take_fault(self, method, path):
        with LOCK:
            for f in STATE["faults"]:
                if not path.startswith(f.get("path", "/")):
                    continue
                if f.get("method") and f["method"] != method:
                    continue
                if f.get("count", 1) <= 0:
                    continue
                f["count"] = f.get("count", 1) - 1
                STATE["faults_fired"] += 1
                return dict(f)
        return None

    def apply_fault(self, f):
        """True when the fault answered (or swallowed) the request."""
        kind = f["kind"]
        if kind == "delay":
            time.sleep(float(f.get("seconds", 2)))
            return False
        if kind == "loop_pages":
            self.loop_pages = True
            return False
        if kind == "status":
            st = int(f.get("status", 500))
            self.neutron_error(st, f.get("type", "HTTPError"),
                               f.get("message", "Injected failure %d" % st))
        elif kind == "hang":
            self.close_connection = True
            time.sleep(float(f.get("seconds", 3600)))
        elif kind == "close":
            self.close_connection = True
        elif kind == "malformed":
            self.send(200, raw=b'{"port": {"id": "x", "fixed_ips": [}, oops')
        elif kind == "truncated":
            text = json.dumps({"ports": [{"id": new_id(), "fixed_ips": []}] * 4})
            self.send(200, raw=text[:len(text) // 2].encode())
        elif kind == "short":
            text = json.dumps({"ports": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text) + 1000))
            self.end_headers()
            self.wfile.write(text)
            self.close_connection = True
        elif kind == "huge":
            self.send_huge(int(f.get("bytes", 64 << 20)), bool(f.get("chunked")))
        elif kind == "redirect":
            loc = f.get("location", self.base_url() + "/elsewhere")
            self.send_response(int(f.get("status", 302)))
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.neutron_error(500, "FakeError", "unknown fault kind " + kind)
        return True

    def send_huge(self, total, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        block = b'{"ports": [' + b" " * 65000
        sent = 0
        try:
            while sent < total:
                b = block[:min(len(block), total - sent)]
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
                else:
                    self.wfile.write(b)
                sent += len(b)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    # ---- dispatch -------------------------------------------------------

    def handle_any(self, method):
        self.loop_pages = False
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query, keep_blank_values=True)
        if path.startswith("/_control"):
            return self.control(method, path)
        key = "%s %s" % (method, path)
        self.count(key)
        with LOCK:
            n = STATE["in_flight"][key] = STATE["in_flight"].get(key, 0) + 1
            STATE["max_in_flight"][key] = max(STATE["max_in_flight"].get(key, 0), n)
        try:
            self.answer(method, path, query)
        finally:
            with LOCK:
                STATE["in_flight"][key] -= 1

    def answer(self, method, path, query):
        if STATE["args"].delay:
            time.sleep(STATE["args"].delay)
        f = self.take_fault(method, path)
        if f and self.apply_fault(f):
            return
        if path.startswith("/v3"):
            return self.keystone(method, path)
        if path.startswith("/v2.0"):
            if not self.token_ok(self.headers.get("X-Auth-Token")):
                return self.send(401, {"error": {"code": 401, "title": "Unauthorized",
                                                 "message": "The request you have made "
                                                 "requires authentication."}})
            return self.neutron(method, path, query)
        if path == "/":
            return self.send(200, {"versions": []})
        self.neutron_error(404, "HTTPNotFound", "No route for " + path)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # ---- control --------------------------------------------------------

    def control(self, method, path):
        body = self.body_json() if method == "POST" else None
        if path == "/_control/fault" and method == "POST" and isinstance(body, dict):
            with LOCK:
                STATE["faults"].append(body)
            return self.send(200, {"ok": True})
        if path == "/_control/expire_tokens" and method == "POST":
            with LOCK:
                for t in STATE["tokens"].values():
                    t["valid_until"] = 0
            return self.send(200, {"ok": True})
        if path == "/_control/reset" and method == "POST":
            with LOCK:
                STATE["faults"] = []
                STATE["requests"] = {}
                STATE["max_in_flight"] = dict(STATE["in_flight"])
                STATE["tokens_issued"] = 0
            return self.send(200, {"ok": True})
        if path == "/_control/stats":
            with LOCK:
                return self.send(200, {"tokens_issued": STATE["tokens_issued"],
                                       "faults_fired": STATE["faults_fired"],
                                       "requests": STATE["requests"],
                                       "in_flight": STATE["in_flight"],
                                       "max_in_flight": STATE["max_in_flight"],
                                       "queries": STATE["queries"][-50:]})
        self.send(404, {"error": "no such control"})

    # ---- keystone -------------------------------------------------------

    def token_ok(self, tok):
        with LOCK:
            t = STATE["tokens"].get(tok or "")
            return t is not None and t["valid_until"] > now()

    def token_body(self, t):
        base = self.base_url()

        def ep(kind, url):
            return {"type": kind, "name": kind, "id": new_id(), "endpoints": [
                {"id": new_id(), "interface": i, "region_id": "RegionOne",
                 "region": "RegionOne", "url": url}
                for i in ("public", "internal", "admin")]}
        user = USERS[t["user"]]
        return {"token": {
            "methods": [t["method"]],
            "user": {"id": user[1], "name": t["user"],
                     "domain": {"id": "default", "name": "Default"}},
            "project": {"id": user[3], "name": user[2],
                        "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r-" + r, "name": r} for r in user[4]],
            "issued_at": iso(t["issued"]),
            "expires_at": iso(t["issued"] + STATE["args"].claimed_ttl),
            "catalog": [ep("identity", base + "/v3"), ep("network", base)],
        }}

    def authenticate(self, body):
        """The user name of valid credentials, or None."""
        try:
            ident = body["auth"]["identity"]
            if "application_credential" in ident["methods"]:
                ac = ident["application_credential"]
                for acid, (name, secret, user) in APP_CREDS.items():
                    if (ac.get("id") == acid or ac.get("name") == name) and \
                            ac.get("secret") == secret:
                        return user, "application_credential"
                return None, None
            pw = ident["password"]["user"]
            for name, u in USERS.items():
                if (pw.get("name") == name or pw.get("id") == u[1]) and \
                        pw.get("password") == u[0]:
                    return name, "password"
        except (KeyError, TypeError):
            pass
        return None, None

    def keystone(self, method, path):
        if path == "/v3/auth/tokens" and method == "POST":
            body = self.body_json()
            user, how = self.authenticate(body if isinstance(body, dict) else {})
            if user is None:
                return self.keystone_error(401, "Unauthorized",
                                           "The request you have made requires "
                                           "authentication.")
            tok = "fake-" + new_id().replace("-", "")
            t = {"user": user, "method": how, "issued": now(),
                 "valid_until": now() + STATE["args"].token_ttl}
            with LOCK:
                STATE["tokens"][tok] = t
                STATE["tokens_issued"] += 1
            return self.send(201, self.token_body(t), headers={"X-Subject-Token": tok})
        if path == "/v3/auth/tokens" and method == "GET":
            if not self.token_ok(self.headers.get("X-Auth-Token")):
                return self.keystone_error(401, "Unauthorized",
                                           "The request you have made requires "
                                           "authentication.")
            sub = self.headers.get("X-Subject-Token", "")
            if not self.token_ok(sub):
                return self.keystone_error(404, "Not Found",
                                           "Could not find token: %s." % sub[:8])
            with LOCK:
                t = STATE["tokens"][sub]
            return self.send(200, self.token_body(t), headers={"X-Subject-Token": sub})
        if path == "/v3":
            return self.send(200, {"version": {"id": "v3.14", "status": "stable"}})
        self.keystone_error(404, "Not Found", "No route for " + path)

    # ---- neutron --------------------------------------------------------

    RESOURCES = {"ports": "port", "routers": "router", "subnets": "subnet",
                 "networks": "network"}

    def neutron(self, method, path, query):
        parts = path.split("/")[2:]  # after "", "v2.0"
        if not parts or parts[0] not in self.RESOURCES:
            return self.neutron_error(404, "HTTPNotFound", "No such resource " + path)
        coll = parts[0]
        single = self.RESOURCES[coll]
        store = STATE["db"][coll]
        with LOCK:
            STATE["queries"].append(self.path)
        if len(parts) == 1 and method == "GET":
            return self.list(coll, store, query)
        if len(parts) == 1 and method == "POST":
            return self.create(coll, single, store)
        rid = parts[1]
        with LOCK:
            obj = store.get(rid)
        if obj is None:
            return self.neutron_error(404, single.capitalize() + "NotFound",
                                      "%s %s could not be found." % (single.capitalize(), rid))
        if len(parts) == 3 and coll == "routers" and method == "PUT":
            return self.router_interface(obj, parts[2])
        if method == "GET":
            return self.send(200, {single: self.pick(obj, query.get("fields"))})
        if method == "DELETE":
            with LOCK:
                del store[rid]
            return self.send(204)
        if method == "PUT":
            body = self.body_json()
            if not isinstance(body, dict) or single not in body:
                return self.neutron_error(400, "BadRequest", "Bad %s body" % single)
            with LOCK:
                obj.update(self.fill_fixed_ips(body[single]))
            return self.send(200, {single: obj})
        self.neutron_error(405, "HTTPMethodNotAllowed", "Method not allowed")

    @staticmethod
    def pick(obj, fields):
        if not fields:
            return obj
        return {k: v for k, v in obj.items() if k in fields}

    @staticmethod
    def matches(obj, query):
        for key, values in query.items():
            if key in ("limit", "marker", "fields", "sort_key", "sort_dir"):
                continue
            if key == "fixed_ips":
                for v in values:
                    k, _, want = v.partition("=")
                    if not any(ip.get(k) == want for ip in obj.get("fixed_ips", [])):
                        return False
                continue
            if key == "id":
                continue  # list() looked the ids up already
            have = obj.get(key)
            if isinstance(have, bool):
                have = "True" if have else "False"
                values = [v.capitalize() for v in values]
            if str(have) not in values:
                return False
        return True

    def list(self, coll, store, query):
        with LOCK:
            # An id filter is answered by lookup, not by a scan of the whole
            # store: the monitor's bench asks for 10,000 ids of 10,000 ports.
            pool = store.values()
            if "id" in query:
                pool = [store[i] for i in set(query["id"]) if i in store]
            items = sorted((o for o in pool if self.matches(o, query)),
                           key=lambda o: o["id"])
        limit = int(query.get("limit", ["0"])[0] or 0)
        marker = query.get("marker", [None])[0]
        if marker:
            items = [o for o in items if o["id"] > marker]
        body = {}
        if limit:
            page = items[:limit]
            if len(page) == limit:
                nxt = page[-1]["id"] if not self.loop_pages else (marker or page[-1]["id"])
                if self.loop_pages and marker is None:
                    nxt = page[0]["id"]
                body[coll + "_links"] = [{"rel": "next", "href": "%s/v2.0/%s?limit=%d&marker=%s"
                                          % (self.base_url(), coll, limit, nxt)}]
            items = page
        body[coll] = [self.pick(o, query.get("fields")) for o in items]
        self.send(200, body)

    def fill_fixed_ips(self, spec):
        if "fixed_ips" not in spec:
            return spec
        out = []
        for ip in spec["fixed_ips"]:
            sid = ip.get("subnet_id")
            if sid is None:
                sid = next(iter(STATE["db"]["subnets"]))
            addr = ip.get("ip_address") or "10.9.%d.%d" % (len(out), len(STATE["db"]["ports"]) % 250 + 2)
            out.append({"subnet_id": sid, "ip_address": addr})
        spec = dict(spec)
        spec["fixed_ips"] = out
        return spec

    def create(self, coll, single, store):
        body = self.body_json()
        if not isinstance(body, dict) or not isinstance(body.get(single), dict):
            return self.neutron_error(400, "BadRequest", "Bad %s body" % single)
        obj = dict(body[single])
        obj["id"] = new_id()
        obj.setdefault("project_id", "p-demo")
        obj["tenant_id"] = obj["project_id"]
        obj.setdefault("name", "")
        obj["status"] = "ACTIVE"
        if coll == "ports":
            obj = self.fill_fixed_ips(obj)
            obj.setdefault("fixed_ips", [])
            obj.setdefault("device_id", "")
            obj.setdefault("device_owner", "")
            obj.setdefault("mac_address", "fa:16:3e:aa:bb:cc")
        with LOCK:
            store[obj["id"]] = obj
        self.send(201, {single: obj})

    def router_interface(self, router, action):
        body = self.body_json() or {}
        if action == "add_router_interface":
            sid = body.get("subnet_id")
            with LOCK:
                sub = STATE["db"]["subnets"].get(sid)
            if sub is None:
                return self.neutron_error(404, "SubnetNotFound", "Subnet %s could not be found."
                                          % sid)
            p = {"id": new_id(), "name": "", "network_id": sub["network_id"],
                 "device_owner": "network:router_interface", "device_id": router["id"],
                 "project_id": router["project_id"], "tenant_id": router["project_id"],
                 "mac_address": "fa:16:3e:00:11:22", "status": "ACTIVE",
                 "fixed_ips": [{"subnet_id": sid, "ip_address": sub["gateway_ip"]}]}
            with LOCK:
                STATE["db"]["ports"][p["id"]] = p
            return self.send(200, {"id": router["id"], "subnet_id": sid, "port_id": p["id"]})
        if action == "remove_router_interface":
            with LOCK:
                for pid, p in list(STATE["db"]["ports"].items()):
                    if p["device_id"] == router["id"] and any(
                            ip["subnet_id"] == body.get("subnet_id") for ip in p["fixed_ips"]):
                        del STATE["db"]["ports"][pid]
            return self.send(200, {"id": router["id"]})
        self.neutron_error(404, "HTTPNotFound", "No such action " + action)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token-ttl", type=float, default=3600)
    ap.add_argument("--claimed-ttl", type=float, default=3600)
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--ports", type=int, default=0)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    STATE.update(args=args, tokens={}, tokens_issued=0, faults=[json.loads(f) for f in args.fault],
                 faults_fired=0, requests={}, in_flight={}, max_in_flight={}, queries=[],
                 db=seed(args))
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
