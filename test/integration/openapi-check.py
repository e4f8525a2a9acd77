#!/usr/bin/env python3
"""Checks docs/openapi.json (and docs/api.md) against a running pat-agent.

    openapi-check.py SOURCE_ROOT AGENT_URL ROUTER_ID VM_IP

- The document is OpenAPI 3 and every $ref in it resolves.
- Every route of the agent's route table (pat-agent/routes.c) is documented,
  and every documented path and method is served: asked live, it is neither
  the router's 404 ("no such resource") nor a 405.
- Real answers (create, show, update, list, list all, versions, healthz,
  errors, legacy) validate against their documented schemas, so they have
  exactly the documented fields, of the documented types.
- Every error code the agent's sources can answer (praas.*) is listed in
  docs/api.md and in the document.
- Every documented status of every operation is produced here and its answer
  checked (closed schemas: a field the document does not name fails), except
  those listed in NOT_HERE with the reason (401/403 need Keystone: this agent
  runs with auth = "none"). The HTTP layer's answers on any path (malformed,
  405, 408, 411, 413, 415, 417, 431, 501) are checked against the document's
  x-any-path-responses. The last part breaks the database (DB_PATH) and
  checks the 503s: run it last.

    openapi-check.py SOURCE_ROOT AGENT_URL ROUTER_ID VM_IP DB_PATH

Python's standard library only. Prints TAP; exits 1 on any failure.
"""
import json
import re
import socket
import sys
import time
import urllib.parse
import urllib.error
import urllib.request

SRC, URL, ROUTER, VM, DB_PATH = sys.argv[1:6]
DOC = json.load(open(SRC + "/docs/openapi.json"))
API_MD = open(SRC + "/docs/api.md").read()
results = []


def check(desc, cond, detail=""):
    results.append(bool(cond))
    print("%s %d - %s" % ("ok" if cond else "not ok", len(results), desc))
    if not cond and detail:
        for line in str(detail).splitlines():
            print("#   " + line)


def resolve(ref):
    node = DOC
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


# ---- a small validator for the JSON Schema subset the document uses
def validate(value, schema, path="$"):
    """Returns a list of what does not match."""
    if "$ref" in schema:
        return validate(value, resolve(schema["$ref"]), path)
    if value is None:
        return [] if schema.get("nullable") else ["%s: null is not allowed" % path]
    errs = []
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return ["%s: %r is not an integer" % (path, value)]
        if "minimum" in schema and value < schema["minimum"]:
            errs.append("%s: %d < minimum %d" % (path, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append("%s: %d > maximum %d" % (path, value, schema["maximum"]))
    elif t in types and not isinstance(value, types[t]):
        return ["%s: %r is not a %s" % (path, value, t)]
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r is not one of %s" % (path, value, schema["enum"]))
    if t == "string":
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append("%s: longer than %d" % (path, schema["maxLength"]))
        if "x-maxBytes" in schema and len(value.encode()) > schema["x-maxBytes"]:
            errs.append("%s: more than %d bytes" % (path, schema["x-maxBytes"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        fmt = schema.get("format")
        if fmt == "uuid" and not re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", value):
            errs.append("%s: %r is not a UUID" % (path, value))
        if fmt == "date-time" and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            errs.append("%s: %r is not a date-time" % (path, value))
    if t == "object":
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                errs.append("%s: %s is missing" % (path, k))
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs += validate(v, props[k], path + "." + k)
            elif extra is False:
                errs.append("%s: %s is not documented" % (path, k))
            elif isinstance(extra, dict):
                errs += validate(v, extra, path + "." + k)
    if t == "array":
        if len(value) < schema.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (path, schema["minItems"]))
        for i, v in enumerate(value):
            errs += validate(v, schema.get("items", {}), "%s[%d]" % (path, i))
    return errs


def call(method, path, body=None, content_type="application/json"):
    if isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def answer_schema(path, method, status):
    """The documented schema of an answer (None for no body)."""
    op = DOC["paths"].get(path, {}).get(method)
    if op is None:
        return "undocumented"
    resp = op["responses"].get(str(status))
    if resp is None:
        return "undocumented"
    if "$ref" in resp:
        resp = resolve(resp["$ref"])
    content = resp.get("content")
    if not content:
        return None
    return next(iter(content.values()))["schema"]


EXERCISED = set()


def conforms(desc, path, method, status, body, want_status):
    schema = answer_schema(path, method, status)
    if schema != "undocumented" and status == want_status:
        EXERCISED.add((path, method, status))
    check("%s: status %d" % (desc, want_status), status == want_status, body)
    if schema == "undocumented":
        check("%s: status %d is documented" % (desc, status), False)
        return None
    value = json.loads(body) if schema is not None else None
    errs = validate(value, schema) if schema is not None else []
    check("%s: the answer is as documented" % desc, not errs, "\n".join(errs) + "\n" + body)
    return value


# ---- the document itself
check("OpenAPI 3", str(DOC.get("openapi", "")).startswith("3."))
refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(DOC))
bad = []
for r in set(refs):
    try:
        resolve(r)
    except KeyError:
        bad.append(r)
check("every $ref resolves (%d)" % len(set(refs)), not bad, bad)

# ---- routes: the agent's table against the document
source = open(SRC + "/pat-agent/routes.c").read()
# Entries read {"name", EVHTTP_REQ_METHOD, PATH, handler}; PATH is string
# literals and #defined prefixes, with {captures} for the variable segments.
macros = dict(re.findall(r'#define\s+(\w+)\s+"([^"]*)"', source))
served = set()
for method, expr in re.findall(r'\{"\w+", EVHTTP_REQ_([A-Z]+),\s*([^,]+),', source):
    path = "".join(macros.get(t, t.strip('"')) for t in re.findall(r'"[^"]*"|\w+', expr))
    served.add((method, re.sub(r"\{[^}]+\}", "*", path)))
check("the route table was read (%d routes)" % len(served), len(served) >= 9)
documented = set()
for p, item in DOC["paths"].items():
    for m in item:
        if m in ("get", "post", "put", "delete", "patch", "head", "options"):
            documented.add((m.upper(), re.sub(r"\{[^}]+\}", "*", p)))
for m, p in sorted(served):
    check("served route %s %s is documented" % (m, p), (m, p) in documented)
for m, p in sorted(documented):
    check("documented %s %s is in the route table" % (m, p), (m, p) in served)

FAKE_ID = "00000000-0000-4000-8000-000000000000"
for m, p in sorted(documented):
    live = p.replace("*", ROUTER, 1).replace("*", FAKE_ID)
    body = {"port_forwarding": {}} if m in ("POST", "PUT") and live.startswith("/v1") else None
    status, _, text = call(m, live, body)
    routed = not (status == 405 or (status == 404 and "no resource at this path" in text))
    check("documented %s %s is served (%d)" % (m, p, status), routed, text)
status, _, text = call("GET", "/v2/nothing")
check("an undocumented path is the router's 404", status == 404 and "no resource at this path" in text)
status, headers, text = call("PATCH", "/v1/routers/%s/port_forwardings" % ROUTER)
check("an undocumented method is 405 with Allow", status == 405 and "Allow" in headers, text)

# ---- answers
base = "/v1/routers/{router_id}/port_forwardings"
one = base + "/{id}"
rbase = "/v1/routers/%s/port_forwardings" % ROUTER

status, headers, text = call("GET", "/")
conforms("GET /", "/", "get", status, text, 200)
check("X-Openstack-Request-Id on answers", re.match(r"req-", headers.get("X-Openstack-Request-Id", "")))
status, _, text = call("GET", "/healthz")
conforms("GET /healthz", "/healthz", "get", status, text, 200)
status, _, text = call("GET", "/v1/agents")
value = conforms("GET /v1/agents", "/v1/agents", "get", status, text, 200)
check("GET /v1/agents lists this agent, alive",
      value and len(value["agents"]) == 1 and value["agents"][0]["alive"], text)
status, headers, text = call("GET", "/metrics")
check("GET /metrics is Prometheus text", status == 200 and "praas_forwardings" in text
      and headers.get("Content-Type", "").startswith("text/plain"))
if status == 200:
    EXERCISED.add(("/metrics", "get", 200))

status, _, text = call("POST", rbase, {"port_forwarding": {
    "internal_ip_address": VM, "internal_port": 22, "external_port": 4022,
    "description": "openapi"}})
created = conforms("create", base, "post", status, text, 201)
fid = created["port_forwarding"]["id"] if created else FAKE_ID
check("create: exactly the documented fields",
      created and set(created["port_forwarding"]) == set(resolve("#/components/schemas/PortForwarding")["properties"]),
      text)
status, _, text = call("POST", rbase, {"port_forwarding": {
    "internal_ip_address": VM, "internal_port_range": "80:81", "external_port_range": "7080:7081",
    "protocol": "udp", "masquerade": True}})
conforms("create a range", base, "post", status, text, 201)
status, _, text = call("GET", rbase + "/" + fid)
shown = conforms("show", one, "get", status, text, 200)
check("show: exactly the documented fields",
      shown and set(shown["port_forwarding"]) == set(resolve("#/components/schemas/PortForwarding")["properties"]),
      text)
status, _, text = call("PUT", rbase + "/" + fid, {"port_forwarding": {"description": "changed", "external_port": 4122}})
conforms("update", one, "put", status, text, 200)
status, _, text = call("GET", rbase)
listed = conforms("list", base, "get", status, text, 200)
check("list: both forwardings", listed and len(listed["port_forwardings"]) == 2)
status, _, text = call("GET", "/v1/port_forwardings?router_id=" + ROUTER)
conforms("list all", "/v1/port_forwardings", "get", status, text, 200)

# errors
status, headers, text = call("POST", rbase, {"port_forwarding": {"internal_ip_address": VM, "internal_port": 70000}})
err = conforms("a 400", base, "post", status, text, 400)
check("the 400 names the field", err and err["errors"][0]["detail"].startswith("internal_port"), text)
check("an error's request_id is the header's",
      err and err["errors"][0]["request_id"] == headers.get("X-Openstack-Request-Id"))
status, _, text = call("POST", rbase, {"port_forwarding": {"internal_ip_address": VM, "internal_port": 23, "external_port": 4122}})
conforms("a 409", base, "post", status, text, 409)
status, _, text = call("GET", rbase + "/" + FAKE_ID)
conforms("a 404", one, "get", status, text, 404)
status, _, text = call("POST", rbase, {"port_forwarding": {"description": "x" * 70000}})
conforms("a 413", base, "post", status, text, 413)
status, _, text = call("DELETE", rbase + "/" + fid)
conforms("delete", one, "delete", status, text, 204)

# legacy
status, _, text = call("POST", "/pat/create?server_ip=%s&router_id=qrouter-%s&create_server_port=8080&gateway=%s"
                       % (VM, ROUTER, created["port_forwarding"]["external_ip_address"] if created else ""))
conforms("legacy create", "/pat/create", "post", status, text, 200)
status, _, text = call("GET", "/router_pat?router_id=" + ROUTER)
conforms("legacy router_pat", "/router_pat", "get", status, text, 200)

# ---- every documented status: the rest of the v1 errors
other = "11111111-1111-4111-8111-111111111111"
status, _, text = call("GET", "/v1/routers/%s/port_forwardings" % other)
conforms("list of an unknown router", base, "get", status, text, 404)
status, _, text = call("GET", rbase + "?limit=abc")
conforms("list with a bad limit", base, "get", status, text, 400)
status, _, text = call("GET", "/v1/port_forwardings?limit=abc")
conforms("list all with a bad limit", "/v1/port_forwardings", "get", status, text, 400)
status, _, text = call("POST", "/v1/routers/%s/port_forwardings" % other,
                       {"port_forwarding": {"internal_ip_address": VM, "internal_port": 22}})
conforms("create on an unknown router", base, "post", status, text, 404)
status, _, text = call("POST", rbase, b"internal_port=22", "text/plain")
conforms("create with a text/plain body", base, "post", status, text, 415)
status, _, text = call("POST", rbase, {"port_forwarding": {
    "internal_ip_address": VM, "internal_port": 25, "external_port": 4025}})
f2 = conforms("create another", base, "post", status, text, 201)
f2id = f2["port_forwarding"]["id"] if f2 else FAKE_ID
status, _, text = call("PUT", rbase + "/" + f2id, {"port_forwarding": {"internal_port": 0}})
conforms("update with a bad field", one, "put", status, text, 400)
status, _, text = call("PUT", rbase + "/" + FAKE_ID, {"port_forwarding": {"description": "x"}})
conforms("update of an unknown id", one, "put", status, text, 404)
status, _, text = call("PUT", rbase + "/" + f2id, {"port_forwarding": {"external_port": 7080, "protocol": "udp"}})
conforms("update onto a port in use", one, "put", status, text, 409)
status, _, text = call("PUT", rbase + "/" + f2id, {"port_forwarding": {"description": "x" * 70000}})
conforms("update with a body too large", one, "put", status, text, 413)
status, _, text = call("PUT", rbase + "/" + f2id, b"description=x", "application/x-www-form-urlencoded")
conforms("update with a form body", one, "put", status, text, 415)
status, _, text = call("DELETE", rbase + "/" + FAKE_ID)
conforms("delete of an unknown id", one, "delete", status, text, 404)

# description: the server counts bytes, the document says so (x-maxBytes)
status, _, text = call("POST", rbase, {"port_forwarding": {
    "internal_ip_address": VM, "internal_port": 26, "description": "\u00e9" * 128}})
conforms("128 two-byte characters (256 bytes) are refused", base, "post", status, text, 400)
schema = resolve("#/components/schemas/PortForwardingCreate")["properties"]["description"]
check("the document says description is 255 bytes (x-maxBytes)",
      schema.get("x-maxBytes") == 255 and "bytes" in schema.get("description", ""))
check("and its schema refuses those 256 bytes too", validate("\u00e9" * 128, schema))
status, _, text = call("POST", rbase, {"port_forwarding": {
    "internal_ip_address": VM, "internal_port": 26, "description": "\u00e9" * 127}})
conforms("127 two-byte characters (254 bytes) are taken", base, "post", status, text, 201)

# legacy: each call answers 200 in its documented form
gw = created["port_forwarding"]["external_ip_address"] if created else ""
q = "server_ip=%s&router_id=qrouter-%s&gateway=%s" % (VM, ROUTER, gw)
status, _, text = call("POST", "/pat/modify?%s&modify_server_port=8080&modify_router_port=4999" % q)
conforms("legacy modify", "/pat/modify", "post", status, text, 200)
status, _, text = call("GET", "/router_server_pat?router_id=qrouter-%s&server_ip=%s" % (ROUTER, VM))
conforms("legacy router_server_pat", "/router_server_pat", "get", status, text, 200)
status, _, text = call("POST", "/pat/remove?%s&remove_server_port=8080" % q)
conforms("legacy remove", "/pat/remove", "post", status, text, 200)
status, _, text = call("POST", "/pat/remove?router_id=qrouter-%s" % ROUTER)
value = conforms("a legacy failure", "/pat/remove", "post", status, text, 200)
check("a legacy failure is status ERROR", value and value["status"] == "ERROR", text)


# ---- the HTTP layer's answers on any path (x-any-path-responses)
def any_path(desc, status, body, want):
    check("%s: status %d" % (desc, want), status == want, body)
    ref = DOC.get("x-any-path-responses", {}).get(str(want))
    check("%s: status %d is in x-any-path-responses" % (desc, want), ref is not None)
    if ref is None:
        return
    resp = resolve(ref["$ref"])
    errs = validate(json.loads(body) if body else None, next(iter(resp["content"].values()))["schema"])
    check("%s: the answer is as documented" % desc, not errs, "\n".join(errs) + "\n" + body)


u = urllib.parse.urlsplit(URL)


def raw(data, wait=None):
    """Sends bytes (in pieces, wait seconds apart, when data is a list); returns (status, body)."""
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        for i, piece in enumerate(data if isinstance(data, list) else [data]):
            if i and wait:
                time.sleep(wait)
            s.sendall(piece)
        got = b""
        while True:
            try:
                b = s.recv(65536)
            except OSError:
                break
            if not b:
                break
            got += b
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return (int(m.group(1)) if m else 0), body.decode(errors="replace")


status, _, text = call("GET", "/pat/create?" + q + "&create_server_port=22")
any_path("GET /pat/create (a legacy path with another method)", status, text, 405)
status, _, text = call("POST", "/pat/create?" + q + "&create_server_port=22", b"x", "text/plain")
any_path("a legacy POST with a text/plain body", status, text, 415)
status, _, text = call("GET", "/v2/nothing")
any_path("a path that is not served", status, text, 404)
status, _, text = call("PUT", "/healthz", {"x": 1})
any_path("PUT /healthz", status, text, 405)
status, text = raw(b"GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n")
any_path("a malformed header", status, text, 400)
status, text = raw(b"BREW / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
any_path("an unknown method", status, text, 501)
status, text = raw(b"POST " + rbase.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
any_path("a chunked body", status, text, 411)
status, text = raw(b"POST " + rbase.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Expect: tea\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
any_path("an Expect other than 100-continue", status, text, 417)
status, text = raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\nConnection: close\r\n\r\n")
any_path("a head over 16 KiB", status, text, 431)
status, text = raw([b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n"], wait=2.5)
any_path("a request slower than request_timeout", status, text, 408)

# ---- the database broken: the 503s (last: the agent cannot serve after it)
# The file's first pages become junk, the WAL is emptied and the shared
# WAL index's header zeroed: SQLite's next read finds the index stale, rebuilds
# it from the (empty) WAL and reads the junk (SQLITE_NOTADB), as after a disk
# that lost the file.
with open(DB_PATH, "r+b") as f:
    f.write(b"\xde\xad" * 8192)
open(DB_PATH + "-wal", "r+b").truncate(0)
with open(DB_PATH + "-shm", "r+b") as f:
    f.write(b"\0" * 136)
status, _, text = call("GET", "/healthz")
value = conforms("healthz on a broken database", "/healthz", "get", status, text, 503)
check("healthz says why (database_error or write_error)",
      value and ("database_error" in value or "write_error" in value), text)
status, _, text = call("GET", "/metrics")
conforms("metrics on a broken database", "/metrics", "get", status, text, 503)
status, _, text = call("GET", rbase)
conforms("list on a broken database", base, "get", status, text, 503)
status, _, text = call("GET", "/v1/port_forwardings")
conforms("list all on a broken database", "/v1/port_forwardings", "get", status, text, 503)
status, _, text = call("GET", "/v1/agents")
conforms("agents on a broken database", "/v1/agents", "get", status, text, 503)
status, _, text = call("GET", rbase + "/" + f2id)
conforms("show on a broken database", one, "get", status, text, 503)
status, _, text = call("POST", rbase, {"port_forwarding": {"internal_ip_address": VM, "internal_port": 28}})
conforms("create on a broken database", base, "post", status, text, 503)
status, _, text = call("PUT", rbase + "/" + f2id, {"port_forwarding": {"description": "y"}})
conforms("update on a broken database", one, "put", status, text, 503)
status, _, text = call("DELETE", rbase + "/" + f2id)
conforms("delete on a broken database", one, "delete", status, text, 503)

# ---- coverage: every documented status of every operation was produced
NOT_HERE = {
    401: "needs auth = \"keystone\" (agent-keystone.sh and keystone-flood.sh ask those)",
    403: "needs auth = \"keystone\" and a member token (agent-keystone.sh)",
}
documented_statuses = not_here = 0
for p, item in sorted(DOC["paths"].items()):
    for m, op in sorted(item.items()):
        if not isinstance(op, dict) or "responses" not in op:
            continue
        for st in sorted(op["responses"]):
            documented_statuses += 1
            if int(st) in NOT_HERE:
                not_here += 1
                print("# %s %s %s: not produced here: %s" % (m.upper(), p, st, NOT_HERE[int(st)]))
                continue
            check("documented %s %s %s was produced and checked" % (m.upper(), p, st),
                  (p, m, int(st)) in EXERCISED)
print("figure: openapi_documented_statuses %d statuses" % documented_statuses)
print("figure: openapi_statuses_checked %d statuses" % len(EXERCISED))
print("figure: openapi_statuses_not_here %d statuses" % not_here)
print("figure: openapi_any_path_statuses %d statuses" % len(DOC.get("x-any-path-responses", {})))

# ---- error codes: the sources against the docs
codes = set()
for name in __import__("glob").glob(SRC + "/pat-agent/*.c"):
    codes |= set(re.findall(r'"(praas\.[a-z_]+)"', open(name).read()))
check("error codes found in pat-agent/*.c (%d)" % len(codes), len(codes) >= 10)
doc_text = json.dumps(DOC)
for c in sorted(codes):
    check("error code %s is in docs/api.md" % c, re.search(r"`%s`" % re.escape(c), API_MD))
documented_codes = set(re.findall(r"`(praas\.[a-z_]+)`", API_MD)) - {"praas.conf", "praas.db"}
for c in sorted(documented_codes - codes):
    check("docs/api.md's %s is one the agent can answer" % c, False)

print("1..%d" % len(results))
print("# %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
