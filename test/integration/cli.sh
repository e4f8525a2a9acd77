#!/usr/bin/env bash
# The praas CLI against the real praas-pat-agent, standalone (auth none),
# with real traffic through a router namespace: every command and flag of
# DESIGN.md's "The praas CLI", the three output formats, --url and
# PRAAS_URL, the service's refusals (one line, exit 1), usage errors (a
# usage line, exit 2) and --help on every command (exit 0).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init cli
[[ -x $PRAAS_CLI ]] || topo_skip "no praas CLI at $PRAAS_CLI (build first)"
topo_require python3
topo_router r1
topo_router -x 198.51.100 -X 2001:db8:5 r2
# A router with no forwardings (an unknown one is a 404 standalone too).
topo_router -x 198.51.100 -X 2001:db8:6 -l 10.0.3 -L 2001:db8:7 r3 11111111-1111-4111-8111-111111111111
topo_outside client r1
topo_vm vm1 r1
topo_vm vm2 r1
topo_vm vm3 r2
R1=${TOPO[r1.uuid]}
R2=${TOPO[r2.uuid]}
CLIENT4=${TOPO[client.ip4]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
VM2=${TOPO[vm2.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1:22"
topo_serve_tcp -t vm1-80 vm1 any 80 || topo_fail "serve vm1:80"
topo_serve_tcp -t vm1-81 vm1 any 81 || topo_fail "serve vm1:81"
topo_serve_tcp -t vm1-8022 vm1 any 8022 || topo_fail "serve vm1:8022"
topo_serve_tcp -t vm1-8080 vm1 any 8080 || topo_fail "serve vm1:8080"
topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2:22"
topo_serve_tcp -t vm2-8080 vm2 any 8080 || topo_fail "serve vm2:8080"
topo_serve_udp -t vm2-dns vm2 any 53 || topo_fail "serve vm2 udp 53"

agent_config 'router_port_range="4000:4003"'
agent_start || {
	topo_fail "agent starts"
	topo_finish
}

# praas ARGS...: runs the CLI with no credentials in the environment and the
# agent's URL in PRAAS_URL (unless the caller set PRAAS_URL); sets OUT, ERR, RC.
praas() {
	local errf=$TOPO_DIR/cli.err
	OUT=$(env -u OS_CLOUD -u OS_AUTH_URL -u OS_CLIENT_CONFIG_FILE \
		PRAAS_URL="${PRAAS_URL-$AGENT_URL}" "$PRAAS_CLI" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
}

# json EXPR: evaluates a python expression over the JSON in $OUT (as j).
json() {
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); r = eval(sys.argv[2]); print(str(r).lower() if isinstance(r, bool) else r)' "$OUT" "$1"
}

# Is every line of $OUT an aligned box row: same width, '|' at the same places?
aligned() {
	python3 - "$OUT" <<'PY'
import sys
lines = sys.argv[1].split("\n")
if len(lines) < 4:
    sys.exit("too few lines")
rule = lines[0]
if not (rule.startswith("+-") and rule.endswith("+") and set(rule) <= set("+-")):
    sys.exit("first line is not a rule: %r" % rule)
bars = [i for i, ch in enumerate(rule) if ch == "+"]
for l in lines:
    if len(l) != len(rule):
        sys.exit("width %d != %d: %r" % (len(l), len(rule), l))
    sep = "+" if l.startswith("+") else "|"
    if [i for i, ch in enumerate(l) if ch == sep and i in bars] != bars:
        sys.exit("columns not aligned: %r" % l)
if lines[-1] != rule or lines[2] != rule:
    sys.exit("rules missing")
PY
}

# One line on stderr, "praas: ...", nothing on stdout, exit 1.
refused() { # DESC REGEX
	assert_eq "$1: exit 1" 1 "$RC"
	assert_eq "$1: one line on stderr" 1 "$(printf '%s\n' "$ERR" | wc -l)"
	assert_match "$1: says why" "^praas: .*$2" "$ERR"
	assert_eq "$1: nothing on stdout" "" "$OUT"
}

# Exit 2, a usage line on stderr, nothing on stdout.
usage_error() { # DESC ARGS...
	local desc=$1
	shift
	praas "$@"
	assert_eq "usage error ($desc): exit 2" 2 "$RC"
	assert_match "usage error ($desc): a usage line" $'(^|\n)usage: praas ' "$ERR"
	assert_match "usage error ($desc): says what is wrong first" '^praas: ' "$ERR"
	assert_eq "usage error ($desc): nothing on stdout" "" "$OUT"
}

# ------------------------------------------------------------- --help
praas --help
assert_eq "praas --help exits 0" 0 "$RC"
assert_match "praas --help lists create" 'praas forwarding create --router ROUTER' "$OUT"
for c in create list show set delete; do
	praas forwarding "$c" --help
	assert_eq "praas forwarding $c --help exits 0" 0 "$RC"
	assert_match "praas forwarding $c --help prints its usage" "^usage: praas forwarding $c" "$OUT"
done
praas forwarding --help
assert_eq "praas forwarding --help exits 0" 0 "$RC"
praas --version
assert_match "praas --version" '^praas [0-9]+\.[0-9]+' "$OUT"

# ------------------------------------------------------------- usage errors
usage_error "no command"
usage_error "unknown group" router list
usage_error "unknown command" forwarding frobnicate
usage_error "group without command" forwarding
usage_error "unknown option" forwarding list --colour red
usage_error "option of another command" forwarding list --masquerade
usage_error "missing option value" forwarding list --router
usage_error "bad -f" -f xml forwarding list
usage_error "bad -f after the command" forwarding list -f yaml
usage_error "create without --router" forwarding create --internal-ip "$VM1" --internal-port 22
usage_error "create without target" forwarding create --router "$R1" --internal-port 22
usage_error "create without --internal-port" forwarding create --router "$R1" --internal-ip "$VM1"
usage_error "create with a bad address" forwarding create --router "$R1" --internal-ip 10.0.0.300 --internal-port 22
usage_error "create with port 70000" forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 70000
usage_error "create with a reversed range" forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 80:70
usage_error "create with a bad protocol" forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 22 --protocol icmp
usage_error "create with an extra argument" forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 22 extra
usage_error "show without id" forwarding show --router "$R1"
usage_error "show with two ids" forwarding show --router "$R1" a b
usage_error "show without --router" forwarding show 00000000-0000-4000-8000-000000000000
usage_error "set with nothing to set" forwarding set --router "$R1" 00000000-0000-4000-8000-000000000000
usage_error "delete without id" forwarding delete --router "$R1"
usage_error "set with a bad --internal-ip" forwarding set --router "$R1" 00000000-0000-4000-8000-000000000000 --internal-ip vm1
usage_error "bad --timeout" --timeout -1 forwarding list

# ------------------------------------------------------------- no service
PRAAS_URL="" praas forwarding list
refused "no endpoint at all" "no PRaaS endpoint"
PRAAS_URL=http://127.0.0.1:1 praas forwarding list
refused "service not there" "127.0.0.1"

# ------------------------------------------------------------- create
praas -f json forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 22 \
	--external-port 4022 --description "ssh to vm1"
assert_eq "create exits 0" 0 "$RC"
F1=$(json 'j["id"]')
assert_match "create -f json is parseable and has the id" '^[0-9a-f-]{36}$' "$F1"
assert_eq "create: external_ip_address is the gateway" "$GW4" "$(json 'j["external_ip_address"]')"
assert_eq "create: external_port" 4022 "$(json 'j["external_port"]')"
assert_eq "create: internal_ip_address" "$VM1" "$(json 'j["internal_ip_address"]')"
assert_eq "create: internal_port" 22 "$(json 'j["internal_port"]')"
assert_eq "create: protocol defaults to tcp" tcp "$(json 'j["protocol"]')"
assert_eq "create: --description" "ssh to vm1" "$(json 'j["description"]')"
assert_eq "create: masquerade off by default" false "$(json 'j["masquerade"]')"
assert_eq "create: router_id" "$R1" "$(json 'j["router_id"]')"
assert_eq "create: status ACTIVE" ACTIVE "$(json 'j["status"]')"
assert_eq "client reaches vm1 via gateway:4022 and vm1 sees the client" \
	"$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4022)"

# an allocated port, -f value (global options after the command)
praas forwarding create --router "$R1" --internal-ip "$VM2" --internal-port 22 -f value
assert_eq "create without --external-port exits 0" 0 "$RC"
F2=$(sed -n 1p <<<"$OUT")
assert_match "-f value: the first line is the id" '^[0-9a-f-]{36}$' "$F2"
assert_eq "-f value: one value a line, one line per field" 18 "$(wc -l <<<"$OUT")"
P2=$(sed -n 6p <<<"$OUT")
assert_match "-f value: external_port allocated from router_port_range" '^400[0-3]$' "$P2"
assert_eq "the allocated port reaches vm2" "$CLIENT4 vm2" "$(topo_tcp_query client "$GW4" "$P2")"

# ranges P:END
praas -f json forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 80:81 \
	--external-port 7080:7081
assert_eq "create with ranges exits 0" 0 "$RC"
F3=$(json 'j["id"]')
assert_eq "ranges: external_port_range" 7080:7081 "$(json 'j["external_port_range"]')"
assert_eq "ranges: internal_port_range" 80:81 "$(json 'j["internal_port_range"]')"
assert_eq "ranges: gateway:7081 reaches vm1:81" "$CLIENT4 vm1-81" "$(topo_tcp_query client "$GW4" 7081)"

# --protocol udp
praas -f json forwarding create --router "$R1" --internal-ip "$VM2" --internal-port 53 \
	--external-port 5353 --protocol udp
assert_eq "create --protocol udp exits 0" 0 "$RC"
F4=$(json 'j["id"]')
assert_eq "udp: protocol" udp "$(json 'j["protocol"]')"
assert_eq "udp: gateway:5353/udp reaches vm2:53" "$CLIENT4 vm2-dns" "$(topo_udp_query client "$GW4" 5353)"

# --masquerade: the VM sees the router, not the client
praas -f json forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 8022 \
	--external-port 4122 --masquerade
assert_eq "create --masquerade exits 0" 0 "$RC"
F5=$(json 'j["id"]')
assert_eq "masquerade: true" true "$(json 'j["masquerade"]')"
ans=$(topo_tcp_query client "$GW4" 4122)
assert_match "masquerade: vm1 answers" ' vm1-8022$' "$ans"
assert_eq "masquerade: vm1 sees the router's address, not the client's" "${TOPO[r1.lan4]} vm1-8022" "$ans"

# on the second router
praas -f json forwarding create --router "$R2" --internal-ip "${TOPO[vm3.ip4]}" --internal-port 22 \
	--description "r2/ünï"
assert_eq "create on router 2 exits 0" 0 "$RC"
assert_match "-f json: indented, slashes and UTF-8 as they are" $'\n  "description": "r2/ünï",\n' "$OUT"
F6=$(json 'j["id"]')
assert_eq "router 2: its own gateway" "${TOPO[r2.gw4]}" "$(json 'j["external_ip_address"]')"

# --port (a Neutron port id) is sent as internal_port_id; standalone refuses it
praas forwarding create --router "$R1" --port 7d3c4a52-0000-4000-8000-000000000001 --internal-port 22
refused "create --port standalone" "internal_port_id"

# ------------------------------------------------------------- refusals
praas forwarding create --router "$R1" --internal-ip "$VM2" --internal-port 80 --external-port 4022
refused "create on a used external port" "4022.*$F1|$F1.*4022|in use"
assert_match "the refusal carries the service's detail and status" '\(HTTP 409\)$' "$ERR"
praas forwarding create --router "$R1" --internal-ip 10.99.0.5 --internal-port 22
refused "create off the router's subnets" "internal_ip_address"
praas forwarding show --router "$R1" 00000000-0000-4000-8000-000000000000
refused "show an unknown id" "no port forwarding"
praas forwarding create --router 00000000-0000-4000-8000-000000000000 --internal-ip "$VM1" --internal-port 22
refused "create on an unknown router" "router"

# ------------------------------------------------------------- show
praas -f json forwarding show --router "$R1" "$F1"
assert_eq "show exits 0" 0 "$RC"
assert_eq "show -f json: the id" "$F1" "$(json 'j["id"]')"
assert_eq "show -f json: every field of the API" \
	"created_at description external_ip_address external_port external_port_range hosts id internal_ip_address internal_port internal_port_id internal_port_range masquerade project_id protocol router_id status status_reason updated_at" \
	"$(json '" ".join(sorted(j))')"
praas forwarding show "$F1" --router "$R1"
assert_eq "show with the id before --router exits 0" 0 "$RC"
assert_ok "show -f table is an aligned box" aligned
assert_match "show -f table: a Field/Value header" $'\n| Field +| Value +|\n' "$OUT"
assert_match "show -f table: the description row" $'\n| description +| ssh to vm1 +|\n' "$OUT"
assert_match "show -f table: null as None" $'\n| internal_port_id +| None +|\n' "$OUT"
praas -f value forwarding show --router "$R1" "$F1"
assert_eq "show -f value: the id first" "$F1" "$(sed -n 1p <<<"$OUT")"

# ------------------------------------------------------------- list
praas -f json forwarding list
assert_eq "list exits 0" 0 "$RC"
assert_eq "list -f json: every forwarding of both routers" 6 "$(json 'len(j)')"
assert_eq "list -f json: the ids" "$(printf '%s\n' "$F1" "$F2" "$F3" "$F4" "$F5" "$F6" | sort | tr '\n' ' ')" \
	"$(json '" ".join(sorted(x["id"] for x in j)) + " "')"
praas -f json forwarding list --router "$R1"
assert_eq "list --router: only that router's" 5 "$(json 'len(j)')"
assert_eq "list --router: all on it" "$R1" "$(json '" ".join(sorted(set(x["router_id"] for x in j)))')"
praas -f value forwarding list --router "$R2"
assert_eq "list -f value: one line per forwarding" 1 "$(wc -l <<<"$OUT")"
assert_match "list -f value: values separated by spaces" "^$F6 $R2 tcp " "$OUT"
praas forwarding list
assert_eq "list -f table exits 0" 0 "$RC"
assert_ok "list -f table is an aligned box" aligned
assert_match "list -f table: headings" $'^\\+[-+]+\n\\| ID +\\| Router +\\| Protocol +\\| External IP Address ' "$OUT"
assert_eq "list -f table: a row per forwarding (+4 lines of frame)" 10 "$(wc -l <<<"$OUT")"
assert_match "list -f table: a description with spaces in its cell" '\| ssh to vm1 +\|' "$OUT"
assert_match "list -f table: a UTF-8 description in its cell" '\| r2/ünï +\|' "$OUT"
praas forwarding list --router 11111111-1111-4111-8111-111111111111
assert_eq "an empty list exits 0" 0 "$RC"
assert_match "an empty list is a frame with headings" $'^\\+[-+]+\n\\| ID .*\\|\n\\+[-+]+$' "$OUT"
praas forwarding list --router 22222222-2222-4222-8222-222222222222
assert_eq "listing an unknown router exits 1" 1 "$RC"

# ------------------------------------------------------------- set
praas -f json forwarding set --router "$R1" "$F1" --external-port 4222 --description "moved"
assert_eq "set exits 0" 0 "$RC"
assert_eq "set: new external port" 4222 "$(json 'j["external_port"]')"
assert_eq "set: new description" moved "$(json 'j["description"]')"
assert_eq "set: gateway:4222 reaches vm1" "$CLIENT4 vm1" "$(topo_tcp_query client "$GW4" 4222)"
assert_fails "set: gateway:4022 no longer forwards" topo_tcp_query client "$GW4" 4022 2
praas -f json forwarding set --router "$R1" "$F1" --internal-port 8080
assert_eq "set --internal-port exits 0" 0 "$RC"
assert_eq "set --internal-port: gateway:4222 reaches vm1:8080" "$CLIENT4 vm1-8080" "$(topo_tcp_query client "$GW4" 4222)"
praas forwarding set --router "$R1" "$F1" --internal-port 81
refused "set onto a target already forwarded" "81|in use"
praas -f json forwarding set --router "$R1" "$F1" --internal-ip "$VM2"
assert_eq "set --internal-ip exits 0" "0 $VM2" "$RC $(json 'j["internal_ip_address"]')"
assert_eq "set --internal-ip: gateway:4222 now reaches vm2:8080" "$CLIENT4 vm2-8080" "$(topo_tcp_query client "$GW4" 4222)"
praas -f json forwarding set --router "$R1" "$F1" --internal-ip "$VM1"
assert_eq "set --internal-ip back to vm1" "0 $VM1" "$RC $(json 'j["internal_ip_address"]')"
praas forwarding set --router "$R1" "$F1" --external-port "$P2"
refused "set onto a used port" "in use|$F2|$P2"
praas forwarding set --router "$R1" 00000000-0000-4000-8000-000000000000 --description x
refused "set an unknown id" "no port forwarding"

# ------------------------------------------------------------- --url and PRAAS_URL
PRAAS_URL=http://127.0.0.1:1 praas --url "$AGENT_URL" -f value forwarding list --router "$R2"
assert_eq "--url wins over PRAAS_URL" "0 $F6" "$RC ${OUT%% *}"
PRAAS_URL=http://127.0.0.1:1 praas -f value forwarding list --router "$R2" --url "$AGENT_URL/"
assert_eq "--url after the command, with a trailing slash" "0 $F6" "$RC ${OUT%% *}"
PRAAS_URL=$AGENT_URL praas -f value forwarding list --router "$R2"
assert_eq "PRAAS_URL alone" "0 $F6" "$RC ${OUT%% *}"
PRAAS_URL=$AGENT_URL/v1 praas -f value forwarding list --router "$R2"
assert_eq "an endpoint ending in /v1 means the same" "0 $F6" "$RC ${OUT%% *}"
praas --url http://127.0.0.1:1 forwarding list
refused "--url to nowhere" "127.0.0.1"
# A service that accepts and never answers: --timeout bounds the wait.
hang_port=$(agent__free_port)
setsid socat TCP4-LISTEN:"$hang_port",bind=127.0.0.1,reuseaddr,fork SYSTEM:'sleep 30' </dev/null >/dev/null 2>&1 &
hang_pid=$!
topo_on_exit "kill -- -$hang_pid 2>/dev/null"
topo_wait 5 sh -c "ss -Htln 'sport = :$hang_port' | grep -q ." || topo_fail "the hanging server listens"
t0=$SECONDS
praas --timeout 1 --url "http://127.0.0.1:$hang_port" forwarding list
refused "a service that never answers, --timeout 1" "[Tt]imeout|timed out"
assert_ok "--timeout 1 gave up within 3 s" test $((SECONDS - t0)) -le 3
kill -- "-$hang_pid" 2>/dev/null

# ------------------------------------------------------------- delete
praas forwarding delete --router "$R1" "$F3" "$F4"
assert_eq "delete of two ids exits 0" 0 "$RC"
assert_eq "delete prints nothing" "" "$OUT$ERR"
assert_fails "delete: gateway:7081 no longer forwards" topo_tcp_query client "$GW4" 7081 2
praas forwarding delete --router "$R1" "$F5" 00000000-0000-4000-8000-000000000000 "$F2"
assert_eq "delete with one unknown id among three exits 1" 1 "$RC"
assert_eq "delete: one line for the one that failed" 1 "$(printf '%s\n' "$ERR" | wc -l)"
assert_match "delete: the line names the id" '^praas: 00000000-0000-4000-8000-000000000000: ' "$ERR"
praas -f json forwarding list --router "$R1"
assert_eq "delete: the others went all the same; only F1 is left" "$F1" "$(json '" ".join(x["id"] for x in j)')"
praas forwarding delete --router "$R1" "$F1"
praas forwarding delete --router "$R2" "$F6"
praas -f json forwarding list
assert_eq "all deleted" 0 "$(json 'len(j)')"

agent_stop
assert_eq "the agent stops cleanly" 0 $?
topo_finish
