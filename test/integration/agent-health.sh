#!/usr/bin/env bash
# Operations of the real praas-pat-agent, standalone: /healthz (200 with the
# database's state, 503 once the database file is corrupted), /metrics
# (valid Prometheus text; request counters, the nft batch histogram and the
# forwardings by status follow what happened), and SIGHUP reopening
# --log-file after a rotation.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init ahealth
topo_require python3 curl
topo_router r1
topo_outside client r1
topo_vm vm1 r1
topo_router r2
topo_vm vm2 r2
R1=${TOPO[r1.uuid]}
R2=${TOPO[r2.uuid]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"

agent_config
LOG=$AGENT_DIR/agent.log
agent_start --log-file "$LOG" || {
	topo_fail "agent starts"
	topo_finish
}

# metric TEXT NAME{LABELS}: the value of one sample, or "absent".
metric() {
	python3 -c '
import sys
want = sys.argv[2]
for line in sys.argv[1].splitlines():
    if line.startswith(want + " "):
        print(line.split(" ", 1)[1])
        break
else:
    print("absent")' "$1" "$2"
}

# Scrapes and checks the text exposition format 0.0.4: every sample line is
# name{label="value",...} number, every family has HELP and TYPE before its
# samples, histogram buckets are cumulative and end in +Inf = _count.
prom_valid() {
	curl -s -m 5 -o "$TOPO_DIR/metrics.txt" "$AGENT_URL/metrics" || return 1
	python3 - "$TOPO_DIR/metrics.txt" <<'PY'
import math, re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)?\})? (\S+)$')
help_, type_, buckets, counts = set(), {}, {}, {}
if not text.endswith("\n"):
    sys.exit("the text does not end in a newline")
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP "):
        help_.add(line.split()[2]); continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
            sys.exit("line %d: unknown type %s" % (n, kind))
        type_[name] = kind; continue
    m = sample.match(line)
    if not m:
        sys.exit("line %d is not a sample: %r" % (n, line))
    name, labels, value = m.group(1), m.group(3) or "", m.group(5)
    float(value)
    family = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in type_ else name
    if family not in type_ or family not in help_:
        sys.exit("line %d: %s has no TYPE/HELP before it" % (n, name))
    if name.endswith("_bucket"):
        key = (family, re.sub(r',?le="[^"]*"', "", labels))
        le = re.search(r'le="([^"]*)"', labels).group(1)
        buckets.setdefault(key, []).append((math.inf if le == "+Inf" else float(le), float(value)))
    elif name.endswith("_count") and type_.get(family) == "histogram":
        counts[(family, labels)] = float(value)
for key, bs in buckets.items():
    if [b[0] for b in bs] != sorted(b[0] for b in bs) or bs[-1][0] != math.inf:
        sys.exit("%s: buckets not ordered or no +Inf" % (key,))
    if any(bs[i][1] > bs[i + 1][1] for i in range(len(bs) - 1)):
        sys.exit("%s: buckets not cumulative" % (key,))
    if counts.get(key) != bs[-1][1]:
        sys.exit("%s: +Inf bucket %s != _count %s" % (key, bs[-1][1], counts.get(key)))
PY
}

scrape() {
	curl -s -m 5 "$AGENT_URL/metrics"
}

# --- /healthz
api GET /healthz
assert_eq "/healthz is 200" 200 "$API_STATUS"
assert_eq "/healthz: status ok" ok "$(api_field status)"
assert_eq "/healthz: database ok" ok "$(api_field database)"
assert_eq "/healthz: no forwardings yet" 0 "$(api_field forwardings)"
assert_eq "/healthz: standalone, no OpenStack" "not configured" "$(api_field openstack)"

# --- /metrics
hdr=$(curl -s -D - -o /dev/null "$AGENT_URL/metrics")
assert_match "/metrics is text/plain version 0.0.4" 'Content-Type: text/plain; version=0.0.4' "$hdr"
m0=$(scrape)
assert_ok "/metrics is valid Prometheus text" prom_valid
c0=$(metric "$m0" 'praas_http_requests_total{route="v1_create",code="201"}')
e0=$(metric "$m0" 'praas_http_requests_total{route="v1_show",code="404"}')
b0=$(metric "$m0" 'praas_nft_batch_duration_seconds_count{result="ok"}')
h0=$(metric "$m0" 'praas_http_request_duration_seconds_count{route="v1_create"}')
for p in 4022 4023; do
	api POST "/v1/routers/$R1/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":$((p - 4000)),\"external_port\":$p}}"
	assert_eq "create on r1 ($p)" 201 "$API_STATUS"
done
api POST "/v1/routers/$R2/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM2\",\"internal_port\":22,\"external_port\":4022}}"
assert_eq "create on r2" 201 "$API_STATUS"
api GET "/v1/routers/$R1/port_forwardings/00000000-0000-4000-8000-000000000000"
assert_eq "a show of nothing is 404" 404 "$API_STATUS"
assert_eq "traffic flows" "${TOPO[client.ip4]} vm1" "$(topo_tcp_query client "${TOPO[r1.gw4]}" 4022)"
m1=$(scrape)
assert_ok "/metrics is still valid Prometheus text" prom_valid
assert_eq "creates counted by route and class" $((c0 + 3)) \
	"$(metric "$m1" 'praas_http_requests_total{route="v1_create",code="201"}')"
assert_eq "the 404 counted under code 404 of v1_show" $((e0 + 1)) \
	"$(metric "$m1" 'praas_http_requests_total{route="v1_show",code="404"}')"
assert_eq "the request latency histogram observed the creates" $((h0 + 3)) \
	"$(metric "$m1" 'praas_http_request_duration_seconds_count{route="v1_create"}')"
b1=$(metric "$m1" 'praas_nft_batch_duration_seconds_count{result="ok"}')
assert_ok "the nft batch histogram observed at least the 3 creates ($b0 -> $b1)" test "$b1" -ge $((b0 + 3))
s1=$(metric "$m1" 'praas_nft_batch_duration_seconds_sum{result="ok"}')
assert_ok "nft batch time is positive ($s1 s)" python3 -c "import sys; sys.exit(not float('$s1') > 0)"
assert_eq "forwardings ACTIVE" 3 "$(metric "$m1" 'praas_forwardings{status="ACTIVE"}')"
assert_eq "forwardings DOWN" 0 "$(metric "$m1" 'praas_forwardings{status="DOWN"}')"

# r2's namespace goes: its forwarding is DOWN, and the gauge says so.
topo_router_del r2
down_is_1() {
	[[ $(metric "$(scrape)" 'praas_forwardings{status="DOWN"}') == 1 ]]
}
assert_ok "after r2's namespace went, one forwarding is DOWN" topo_wait 5 down_is_1
m2=$(scrape)
assert_eq "...and two ACTIVE" 2 "$(metric "$m2" 'praas_forwardings{status="ACTIVE"}')"
api GET /healthz
assert_eq "/healthz counts every forwarding" 3 "$(api_field forwardings)"

# --- SIGHUP reopens --log-file
assert_ok "the log file has the start-up lines" grep -q 'Started' "$LOG"
mv "$LOG" "$LOG.1"
kill -HUP "$AGENT_PID"
assert_ok "after SIGHUP a new log file appears" topo_wait 5 test -s "$LOG"
assert_ok "...with the reopen line" grep -q 'Logs reopened' "$LOG"
# A refused control op always logs (standalone forwardings have no Neutron
# port for a port_deleted to change).
ans=$(ctl '{"op":"resync","router_id":"00000000-0000-4000-8000-000000000000"}')
assert_match "a control op that logs" '"ok": *false' "$ans"
assert_ok "new lines go to the new file" grep -q 'Control resync failed' "$LOG"
assert_fails "...not to the rotated one" grep -q 'Control resync' "$LOG.1"
assert_ok "the agent is alive after SIGHUP" kill -0 "$AGENT_PID"

# --- a corrupted database: 503, never a crash
# Everything SQLite could read the data from (the file, its write-ahead log
# and the shared index) is overwritten, as a failing disk or a stray write
# would. The agent keeps its connection open; its next read meets garbage.
for f in "$AGENT_DIR/praas.db" "$AGENT_DIR/praas.db-wal"; do
	[[ -f $f ]] || continue
	head -c "$(stat -c %s "$f")" /dev/urandom | dd of="$f" conv=notrunc status=none
done
[[ -f $AGENT_DIR/praas.db-shm ]] &&
	dd if=/dev/zero of="$AGENT_DIR/praas.db-shm" bs=4096 count=1 conv=notrunc status=none
api GET /healthz
assert_eq "/healthz is 503 with a corrupted database" 503 "$API_STATUS"
assert_eq "/healthz: status unhealthy" unhealthy "$(api_field status)"
assert_eq "/healthz: database unavailable" unavailable "$(api_field database)"
assert_match "/healthz says why" 'not a database|malformed|corrupt' "$(api_field database_error)"
api POST "/v1/routers/$R1/port_forwardings" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":23,\"external_port\":4030}}"
assert_eq "a create is 503 (database unavailable)" 503 "$API_STATUS"
assert_match "...in API-SIG form" '"code": *"praas.db_unavailable"' "$API_BODY"
assert_eq "/metrics is 503 too" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/metrics")"
assert_ok "the agent is still running" kill -0 "$AGENT_PID"
assert_ok "the health failure is logged" grep -q 'the database is unusable' "$LOG"

agent_stop
assert_eq "SIGTERM stops the agent with status 0" 0 $?
topo_finish
