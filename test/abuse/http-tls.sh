#!/usr/bin/env bash
# Issue 16, item 1 (TLS): the real agent with tls_certificate and tls_key.
# curl verifies a self-signed certificate made here (for IP 127.0.0.1) and
# gets API answers over TLS; a plain HTTP request on the TLS port gets a
# plain 400 saying so and is closed; a guard refusal (an oversized head)
# still arrives whole in API-SIG form through the TLS session, and so does
# the 408 of a TLS client that stalls mid-head (request_timeout), and every
# refusal http-contract checks; connections that never start a handshake are
# idle ones the connection cap closes to make room; after a new
# certificate is written and SIGHUP sent, new connections are served the
# new one (fingerprints compared) while a bad pair on SIGHUP is refused
# and the old one keeps serving. A key that does not match its
# certificate stops the start with a message naming the file.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init atls
topo_require curl openssl python3
D=$TOPO_DIR/tls
mkdir -p "$D"

# A self-signed certificate for 127.0.0.1, its key; NAME.crt, NAME.key.
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=praas-test-$1" -addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$D/$1.key" -out "$D/$1.crt" 2>"$D/$1.openssl.log"
}
# The SHA-256 fingerprint of a certificate file, as openssl prints it.
fp_file() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}
# The fingerprint of the certificate the agent serves to a new connection.
fp_served() {
	openssl s_client -connect "127.0.0.1:$AGENT_PORT" -servername localhost </dev/null \
		2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

mkcert one || topo_fail "openssl makes a certificate" "$(cat "$D/one.openssl.log")"
mkcert two || topo_fail "openssl makes a second certificate"
mkcert other || topo_fail "openssl makes a third certificate"
cp "$D/one.crt" "$D/server.crt"
cp "$D/one.key" "$D/server.key"

# A key that is not the certificate's: the agent refuses to start, and says why.
agent_config "tls_certificate=\"$D/server.crt\"" "tls_key=\"$D/other.key\""
out=$(timeout 10 "$AGENT_BIN" --config "$AGENT_CONF" 2>&1) && rc=0 || rc=$?
assert_eq "a key that does not match: the agent exits 1" 1 "$rc"
assert_match "...naming the key and why" "tls_key $D/other.key: .*key values mismatch" "$out"
out=$("$AGENT_BIN" --config "$AGENT_CONF" --check-config 2>&1) && rc=0 || rc=$?
assert_eq "...and --check-config fails on it too" 1 "$rc"
assert_match "...with the same words" "tls_key $D/other.key: .*key values mismatch" "$out"
# Only one of the two keys: --check-config refuses the file.
agent_config "tls_certificate=\"$D/server.crt\""
out=$("$AGENT_BIN" --config "$AGENT_CONF" --check-config 2>&1) && rc=0 || rc=$?
assert_eq "tls_certificate without tls_key: --check-config fails" 1 "$rc"
assert_match "...saying they go together" 'tls_certificate and tls_key go together' "$out"

agent_config "tls_certificate=\"$D/server.crt\"" "tls_key=\"$D/server.key\"" request_timeout=2 \
	max_connections=20
AGENT_URL=https://127.0.0.1:$AGENT_PORT
# Every curl of agent.sh (its readiness probe too) verifies against the test's certificate.
export CURL_CA_BUNDLE=$D/one.crt
agent_start || {
	topo_fail "the agent starts with TLS"
	topo_finish
}

# --- requests over TLS, the certificate verified
t0=$(date +%s%N)
api GET /healthz
t1=$(date +%s%N)
assert_eq "GET /healthz over TLS (certificate verified): 200" 200 "$API_STATUS"
assert_eq "...the answer is the API's" ok "$(api_field database)"
echo "figure: tls_first_request_ms $(((t1 - t0) / 1000000)) ms"
api GET /v1/routers/00000000-0000-0000-0000-000000000000/port_forwardings/x
assert_match "an API error over TLS is API-SIG JSON" '"errors"' "$API_BODY"
assert_eq "...for a resource not there" 404 "$API_STATUS"
ver=$(curl -s -o /dev/null -m 5 -w '%{ssl_verify_result} %{http_version}' "$AGENT_URL/")
assert_eq "curl's verification of the served certificate passed" "0 1.1" "$ver"
assert_eq "the agent served certificate one" "$(fp_file "$D/one.crt")" "$(fp_served)"
assert_ok "the agent logged the certificate's fingerprint" \
	grep -q "TLS on port $AGENT_PORT: certificate $D/server.crt, SHA-256 $(fp_file "$D/one.crt")" \
	"$AGENT_DIR/pat-agent.log"
# TLS 1.1 is not spoken.
assert_fails "a TLS 1.1 client is refused" \
	openssl s_client -connect "127.0.0.1:$AGENT_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null

# --- plain HTTP on the TLS port: a plain 400 saying why, then closed
plain=$(curl -s -m 5 -w '\n%{http_code}' "http://127.0.0.1:$AGENT_PORT/healthz")
assert_eq "plain HTTP on the TLS port: 400" 400 "${plain##*$'\n'}"
assert_match "...saying the port speaks HTTPS" 'This port speaks HTTPS' "$plain"
api GET /healthz
assert_eq "the agent still serves TLS afterwards" 200 "$API_STATUS"

# --- the guard's refusals travel through the TLS session
big=$(python3 -c 'print("a" * 20000)')
out=$(curl -s -m 5 -w '\n%{http_code}' -H "X-Big: $big" "$AGENT_URL/healthz")
assert_eq "an oversized head over TLS: 431 from the guard" 431 "${out##*$'\n'}"
assert_match "...in API-SIG form" '"errors"' "$out"
# Every refusal of http-contract, sent through a TLS session: the same answers.
for kind in trace:405 connect:405 unknown:501 garbage:400 version:400 nocolon:400 \
	baduri:400 noslash:400 blank:400 expect:417 bighead:431 bigbody:413 chunked:411; do
	out=$(PROBE_TLS_CA=$D/one.crt python3 "$here/http-clients.py" probe 127.0.0.1 "$AGENT_PORT" \
		"${kind%%:*}")
	got=$(awk '{printf "%s=%s ", $1, $2}' <<<"$out")
	assert_eq "over TLS, ${kind%%:*}: ${kind#*:} in API-SIG JSON with a request id" \
		"status=${kind#*:} json=yes request_id=yes content_type=application/json " "$got"
done
# Keep-alive over TLS: several requests on one connection.
n=$(curl -s -m 10 -o /dev/null -w '%{num_connects}\n' "$AGENT_URL/healthz" "$AGENT_URL/healthz" \
	"$AGENT_URL/" | awk '{ s += $1 } END { print s }')
assert_eq "three requests over TLS share one connection" 1 "$n"

# --- the request deadline holds over TLS: half a head, then silence
slow=$(python3 - "$AGENT_PORT" "$D/one.crt" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="127.0.0.1")
s.settimeout(10)
t0 = time.monotonic()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except (ssl.SSLError, OSError):
    pass
head = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
print("%s|%.1f|%d" % (head, time.monotonic() - t0, b'"praas.request_timeout"' in data))
PY
)
assert_match "a TLS client stalling mid-head gets a 408" '^HTTP/1.1 408 ' "$slow"
assert_match "...in API-SIG form (praas.request_timeout)" '\|1$' "$slow"
secs=$(cut -d'|' -f2 <<<"$slow")
echo "figure: tls_stalled_head_closed_after_s $secs s"
assert_ok "...within request_timeout (2 s) and one check" \
	python3 -c "import sys; sys.exit(0 if 1.5 <= float(sys.argv[1]) <= 3.5 else 1)" "$secs"

# --- connections that never shake hands are idle: at the cap they make room
python3 "$here/http-clients.py" flood 127.0.0.1 "$AGENT_PORT" 60 4 "$TOPO_DIR/flood.ready" \
	>"$TOPO_DIR/flood.out" &
flood_pid=$!
topo_wait 10 test -e "$TOPO_DIR/flood.ready" || topo_fail "the flood connects"
st=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$AGENT_URL/healthz")
assert_eq "60 silent TCP connections on a TLS port capped at 20: a TLS client still gets 200" \
	200 "$st"
wait "$flood_pid"
closed=$(awk '$1 == "closed_by_server" { print $2 }' "$TOPO_DIR/flood.out")
echo "figure: tls_silent_connections_closed_at_cap ${closed:-0} connections"
assert_match "...the agent closed silent ones to make room (at least 40 of 60)" \
	'^([4-5][0-9]|60)$' "${closed:-0}"

# --- many handshakes: the cost of TLS per new connection
t0=$(date +%s%N)
for _ in $(seq 50); do
	curl -s -o /dev/null -m 5 "$AGENT_URL/healthz" || break
done
t1=$(date +%s%N)
echo "figure: tls_new_connection_request_ms $(((t1 - t0) / 50000000)) ms"

# --- SIGHUP: a new certificate for new connections
cp "$D/two.crt" "$D/server.crt"
cp "$D/two.key" "$D/server.key"
kill -HUP "$AGENT_PID"
topo_wait 5 grep -q "TLS certificate reloaded" "$AGENT_DIR/pat-agent.log" ||
	topo_fail "the agent logs the reload"
assert_eq "after SIGHUP new connections get certificate two" "$(fp_file "$D/two.crt")" "$(fp_served)"
api GET /healthz "" --cacert "$D/two.crt"
assert_eq "...and curl verifying against it gets 200" 200 "$API_STATUS"

# A broken pair on SIGHUP: refused, certificate two keeps serving.
cp "$D/one.crt" "$D/server.crt" # the key is still two's
kill -HUP "$AGENT_PID"
topo_wait 5 grep -q "TLS certificate not reloaded" "$AGENT_DIR/pat-agent.log" ||
	topo_fail "the agent logs the refused reload"
assert_eq "a mismatched pair on SIGHUP: certificate two still served" \
	"$(fp_file "$D/two.crt")" "$(fp_served)"
assert_eq "the agent is still running" 0 "$(kill -0 "$AGENT_PID" 2>/dev/null; echo $?)"

agent_stop || topo_fail "the agent stops cleanly"
topo_finish
