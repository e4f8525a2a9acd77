#!/usr/bin/env bash
# Issue 16, "claims that are false today": what README.md, docs/ and the help
# texts tell an operator, tried against the real programs. Each block below
# is one claim that was false before the fix:
#   * every program takes --config PATH (the praas CLI too: it reaches the
#     agent the file describes);
#   * a config error is one line in a person's words: "cannot open FILE:
#     No such file or directory", "FILE:LINE: syntax error" (no line 0, no
#     "-" for a key);
#   * the daemons' --help is on stdout with exit 0 and lists --version;
#   * auth = "none" with a non-loopback listen is warned about at start;
#   * with the operator's masquerade = true a forwarding shows
#     "masquerade": true, and the VM indeed sees the router's address;
#   * a legacy call with another method is a 405 and a body that is not JSON
#     a 415 (API-SIG form), not "always HTTP 200";
#   * the README's benchmark commands exist as written; the maps are maps and
#     masq4/masq6 sets, as the operator guide now says.
# The legacy listings' repeated keys are tested in agent-legacy.sh, the
# OpenAPI document against real answers in openapi.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init docs
topo_require python3 curl nft
[[ -x $PRAAS_CLI ]] || topo_skip "no praas CLI at $PRAAS_CLI (build first)"
topo_router r1
topo_outside client r1
topo_vm vm1 r1
R1=${TOPO[r1.uuid]}
GW4=${TOPO[r1.gw4]}
VM1=${TOPO[vm1.ip4]}
topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1:22"

# run CMD...: sets OUT (stdout), ERR (stderr), RC.
run() {
	local errf=$TOPO_DIR/run.err
	OUT=$("$@" 2>"$errf" </dev/null)
	RC=$?
	ERR=$(cat "$errf")
}

# --- --help and --version, the daemons and the CLI
for prog in "$AGENT_BIN" "$MONITOR_BIN" "$PRAAS_CLI"; do
	name=$(basename "$prog")
	run "$prog" --help
	assert_eq "$name --help exits 0" 0 "$RC"
	assert_match "$name --help: the usage on stdout" '^usage: ' "$OUT"
	assert_match "$name --help lists --version" '--version' "$OUT"
	assert_eq "$name --help: nothing on stderr" "" "$ERR"
	run "$prog" --version
	assert_match "$name --version" "^$name [0-9]" "$OUT"
	run "$prog" --no-such-option
	assert_eq "$name with an unknown option exits 2" 2 "$RC"
	assert_eq "$name: a usage error leaves stdout empty" "" "$OUT"
	assert_match "$name: the usage on stderr" 'usage: ' "$ERR"
done

# --- config errors, in words
run "$AGENT_BIN" --config "$TOPO_DIR/no-such.conf" --check-config
assert_eq "a missing file: exit 1" 1 "$RC"
assert_eq "a missing file: the file and the system's reason, no line 0, no key '-'" \
	"praas-pat-agent: cannot open $TOPO_DIR/no-such.conf: No such file or directory" "$ERR"
printf 'praas:\n{\n  port_app = 3000\n  listen = ;\n};\n' >"$TOPO_DIR/syntax.conf"
run "$MONITOR_BIN" --config "$TOPO_DIR/syntax.conf" --check-config
assert_eq "a syntax error: exit 1" 1 "$RC"
assert_eq "a syntax error: the file and the line, no made-up key" \
	"praas-monitor-agent: $TOPO_DIR/syntax.conf:4: syntax error" "$ERR"
printf 'praas:\n{\n  port_app = 70000;\n};\n' >"$TOPO_DIR/value.conf"
run "$AGENT_BIN" --config "$TOPO_DIR/value.conf" --check-config
assert_eq "a bad value: the line and the key, as the operator guide shows" \
	"praas-pat-agent: $TOPO_DIR/value.conf:3: port_app: 70000 is not a port (1-65535)" "$ERR"
g=$(grep -c 'port_app: 70000 is not a port (1-65535)' "$src/docs/operator-guide.md")
assert_eq "the operator guide quotes that line" 1 "$g"

# --- the agent with the operator's masquerade = true
agent_config 'masquerade=true'
agent_start || {
	topo_fail "agent starts"
	echo "figure: docs_claims_bench_commands $(grep -c . <<<"$cmds") commands"
echo "figure: docs_claims_checks $((TOPO_PASSED + TOPO_FAILED)) checks"
topo_finish
}
assert_fails "listen 127.0.0.1 with auth none: no warning" \
	grep -q 'every caller that reaches port' "$AGENT_DIR/pat-agent.log"

# praas --config: the agent the file describes, no URL anywhere else.
run env -u PRAAS_URL -u OS_CLOUD -u OS_AUTH_URL "$PRAAS_CLI" --config "$AGENT_CONF" -f json \
	forwarding create --router "$R1" --internal-ip "$VM1" --internal-port 22 --external-port 4022
assert_eq "praas --config PATH forwarding create exits 0" 0 "$RC"
F1=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$OUT" 2>/dev/null)
assert_match "the forwarding has an id" '^[0-9a-f-]{36}$' "$F1"
# A listen on every address is reached on loopback from this host.
sed 's/listen = "127.0.0.1"/listen = "0.0.0.0"/' "$AGENT_CONF" >"$TOPO_DIR/wild.conf"
run env -u PRAAS_URL -u OS_CLOUD -u OS_AUTH_URL "$PRAAS_CLI" forwarding list --config "$TOPO_DIR/wild.conf" -f value
assert_eq "praas --config with listen 0.0.0.0: loopback" 0 "$RC"
assert_match "the list shows the forwarding" "$F1" "$OUT"
run env -u PRAAS_URL "$PRAAS_CLI" --config "$TOPO_DIR/no-such.conf" forwarding list
assert_eq "praas --config of a missing file: exit 1 and the agents' words" \
	"1 praas: cannot open $TOPO_DIR/no-such.conf: No such file or directory" "$RC $ERR"

api GET "/v1/routers/$R1/port_forwardings/$F1"
assert_eq "asked without masquerade, under masquerade = true: shows true" true \
	"$(api_field port_forwarding.masquerade)"
api GET "/v1/routers/$R1/port_forwardings"
assert_eq "the listing shows true too" true "$(api_field port_forwardings.0.masquerade)"
assert_eq "and it is what applies: the VM sees the router, not the client" \
	"${TOPO[r1.lan4]} vm1" "$(topo_tcp_query client "$GW4" 4022)"

# --- legacy: 200 for the calls, the HTTP layer's statuses otherwise
api GET "/pat/create?server_ip=$VM1&router_id=qrouter-$R1&create_server_port=22&gateway=$GW4"
assert_eq "legacy GET /pat/create: 405, as api.md says" 405 "$API_STATUS"
assert_match "in the API-SIG form" '"errors":\[' "$API_BODY"
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
	--data-binary x "$AGENT_URL/pat/remove?server_ip=$VM1&router_id=qrouter-$R1&remove_server_port=22&gateway=$GW4")
assert_eq "legacy POST with a text/plain body: 415" 415 "$out"
api POST "/pat/remove?server_ip=$VM1&router_id=qrouter-$R1&remove_server_port=9&gateway=$GW4" ""
assert_eq "a legacy call that fails: 200" 200 "$API_STATUS"

# --- maps and sets, as the operator guide names them
tbl=$(ip netns exec "${TOPO[r1.ns]}" nft list table inet praas)
for m in dnat4 dnat6; do
	assert_match "$m is a map" "map $m " "$tbl"
done
for m in masq4 masq6; do
	assert_match "$m is a set" "set $m " "$tbl"
done
# shellcheck disable=SC2016 # the backquotes are the guide's Markdown
assert_eq "the guide says so" 1 "$(grep -c 'maps are `dnat4`/`dnat6`; `masq4`/`masq6` are sets' "$src/docs/operator-guide.md")"
agent_stop
assert_eq "the agent stops cleanly" 0 "$?"

# --- auth = "none" beyond loopback: warned at start. The agent runs in the
# client's namespace (the test's own), listening on every address there.
mkdir -p "$TOPO_DIR/ns2"
cat >"$TOPO_DIR/open.conf" <<EOF
praas:
{
  port_app = 3000;
  listen = "0.0.0.0";
  auth = "none";
  cloud = "";
  database = "$TOPO_DIR/open.db";
  control_socket = "$TOPO_DIR/open.sock";
  netns_dir = "$TOPO_DIR/ns2";
};
EOF
out=$(timeout -s TERM 4 ip netns exec "${TOPO[client.ns]}" "$AGENT_BIN" --config "$TOPO_DIR/open.conf" 2>&1)
assert_match "auth none and listen 0.0.0.0: a warning at start" \
	'auth = "none" with listen = "0.0.0.0": every caller that reaches port 3000 is an admin' "$out"

# --- the README's benchmark commands, as written, exist
# shellcheck disable=SC2016 # the backquotes are the README's Markdown
cmds=$(sed -n '/^## Benchmarks/,/^## /p' "$src/README.md" | grep -o '`sudo [^`]*`' | tr -d '`' | sed 's/^sudo //')
assert_match "the README names the three benches" 'bench-nft.*bench-agent.*bench-monitor' "$(tr '\n' ' ' <<<"$cmds")"
while read -r prog arg _; do
	[[ -n $prog ]] || continue
	if [[ $prog == build/* ]]; then
		p=$PRAAS_BUILD_ROOT/${prog#build/}
	else
		p=$src/$prog
	fi
	assert_ok "README bench command $prog exists" test -x "$p"
	[[ $arg == BUILD ]] && assert_ok "$prog takes the build directory" grep -q 'BUILD_DIR' "$p"
done <<<"$cmds"

echo "figure: docs_claims_bench_commands $(grep -c . <<<"$cmds") commands"
echo "figure: docs_claims_checks $((TOPO_PASSED + TOPO_FAILED)) checks"
topo_finish
