#!/usr/bin/env bash
# Issue 16, items 1 and 7: the client's address behind a proxy on the same
# host, and /metrics and /healthz on a management port.
#
# A reverse proxy on 127.0.0.1 (xff-proxy.py) appends its client's address
# to X-Forwarded-For. Without trusted_proxies every caller through it is
# 127.0.0.1, in the default legacy_trusted: the guide's warning. Here the
# agent has auth = "keystone" (the fake OpenStack), legacy_trusted =
# 127.0.0.3 only and trusted_proxies = 127.0.0.1. Clients bind loopback
# aliases (curl --interface): 127.0.0.2 is untrusted, 127.0.0.3 trusted.
# Through the proxy a token-less legacy call from 127.0.0.2 is refused
# (401), also when it forges X-Forwarded-For: 127.0.0.3; from 127.0.0.3 it
# passes the check. A Forwarded: for= header works the same. A malformed
# header from a trusted proxy is refused. Then metrics_listen: /metrics and
# /healthz answer on the management port and are 404 on the REST port.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"
. "$here/../integration/lib/fake.sh"

topo_init aprx
topo_require curl python3
fake_start || {
	topo_fail "the fake OpenStack starts"
	topo_finish
}
MPORT=$(agent__free_port)
agent_config 'auth="keystone"' 'cloud="fake"' "clouds_file=\"$FAKE_CLOUDS\"" \
	'legacy_trusted=["127.0.0.3/32"]' 'trusted_proxies=["127.0.0.1/32"]' \
	"metrics_listen=\"127.0.0.1:$MPORT\""
agent_start || {
	topo_fail "the agent starts"
	topo_finish
}
for mode in xff fwd sep; do
	flag=
	[[ $mode == fwd ]] && flag=--forwarded
	[[ $mode == sep ]] && flag=--separate
	topo_spawn "proxy-$mode" python3 "$here/xff-proxy.py" 127.0.0.1 "$AGENT_PORT" \
		"$TOPO_DIR/proxy-$mode.port" $flag ||
		topo_fail "the $mode proxy starts"
	topo_wait 10 test -s "$TOPO_DIR/proxy-$mode.port" || topo_fail "the $mode proxy listens"
done
PXFF=$(<"$TOPO_DIR/proxy-xff.port")
PFWD=$(<"$TOPO_DIR/proxy-fwd.port")
PSEP=$(<"$TOPO_DIR/proxy-sep.port")
LEGACY="/router_pat?router_id=qrouter-00000000-0000-0000-0000-0000000000aa"

# legacy FROM PORT [CURL ARGS]: "refused" (the legacy API's own error for a
# caller without a token outside legacy_trusted, which it answers with HTTP
# 200 as the Proxy CLI expects), "accepted" (200 and the router's listing),
# or what else came back.
legacy() {
	local from=$1 port=$2 out code body
	shift 2
	out=$(curl -s -m 10 -w '\n%{http_code}' --interface "$from" "$@" \
		"http://127.0.0.1:$port$LEGACY")
	code=${out##*$'\n'} body=${out%$'\n'*}
	echo "$code $body" >>"$TOPO_DIR/legacy.log"
	if [[ $body == *"not in legacy_trusted"* ]]; then
		echo refused
	elif [[ $code == 200 && $body == "{"* ]]; then
		echo accepted
	else
		echo "$code $body"
	fi
}

# --- straight to the agent: the peer is the client
r=$(legacy 127.0.0.2 "$AGENT_PORT")
assert_eq "direct from untrusted 127.0.0.2: refused" refused "$r"
r=$(legacy 127.0.0.3 "$AGENT_PORT")
assert_eq "direct from trusted 127.0.0.3: accepted" accepted "$r"

# --- through the proxy, X-Forwarded-For
r=$(legacy 127.0.0.2 "$PXFF")
assert_eq "via the proxy from untrusted 127.0.0.2: refused" refused "$r"
r=$(legacy 127.0.0.2 "$PXFF" -H 'X-Forwarded-For: 127.0.0.3')
assert_eq "...also when it forges X-Forwarded-For: 127.0.0.3 (the proxy's last hop counts)" \
	refused "$r"
r=$(legacy 127.0.0.3 "$PXFF")
assert_eq "via the proxy from trusted 127.0.0.3: accepted" accepted "$r"
n=$(grep -c 'not in legacy_trusted' "$TOPO_DIR/legacy.log")
echo "figure: proxied_legacy_refusals $n calls"

# --- through the proxy, Forwarded: for=
r=$(legacy 127.0.0.2 "$PFWD")
assert_eq "Forwarded: for=127.0.0.2 via a trusted proxy: refused" refused "$r"
r=$(legacy 127.0.0.3 "$PFWD")
assert_eq "Forwarded: for=127.0.0.3 via a trusted proxy: accepted" accepted "$r"

# --- a proxy that adds a header line of its own (HAProxy): the client's line comes first
r=$(legacy 127.0.0.2 "$PSEP" -H 'X-Forwarded-For: 127.0.0.3')
assert_eq "forged X-Forwarded-For line, the proxy's own line after it: refused" refused "$r"
r=$(legacy 127.0.0.3 "$PSEP")
assert_eq "...and the trusted client through that proxy: accepted" accepted "$r"

# --- a trusted proxy's header that does not parse names no client
r=$(legacy 127.0.0.1 "$AGENT_PORT" -H 'X-Forwarded-For: not-an-address')
assert_eq "a malformed X-Forwarded-For from a trusted proxy: refused" refused "$r"
# The headers of a peer that is no trusted proxy mean nothing.
r=$(legacy 127.0.0.2 "$AGENT_PORT" -H 'X-Forwarded-For: 127.0.0.3')
assert_eq "X-Forwarded-For from an untrusted peer is ignored: refused" refused "$r"

# --- metrics_listen
st=$(curl -s -o "$TOPO_DIR/metrics.txt" -m 5 -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics")
assert_eq "/metrics on the management port: 200" 200 "$st"
assert_ok "...with the agent's metrics" grep -q '^praas_http_requests_total' "$TOPO_DIR/metrics.txt"
echo "figure: metrics_scrape_bytes $(stat -c %s "$TOPO_DIR/metrics.txt") bytes"
assert_eq "/healthz on the management port: 200" 200 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$MPORT/healthz")"
assert_eq "/metrics on the REST port: 404" 404 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$AGENT_URL/metrics")"
assert_eq "/healthz on the REST port: 404" 404 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$AGENT_URL/healthz")"
assert_eq "the API is not on the management port: 404" 404 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$MPORT/v1/port_forwardings")"
assert_ok "the agent said where /metrics is" grep -q "/metrics and /healthz on 127.0.0.1:$MPORT only" \
	"$AGENT_DIR/pat-agent.log"

agent_stop || topo_fail "the agent stops cleanly"
topo_finish
