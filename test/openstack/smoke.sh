#!/usr/bin/env bash
# smoke.sh - curl-only check that PRaaS's loopback OpenStack (start.sh)
# answers every call PRaaS makes, the way PRaaS expects: tokens and their
# validation, the catalog, a router with a gateway on "public", its
# interfaces and their subnets, a port standing in for a VM found by its
# fixed IP, project isolation, pagination. Independent of PRaaS's C client,
# so that a failure here points at the environment, not at the client.
#
# Exits 77 (skip) if the OpenStack is not running; creates resources with
# unique names and deletes them on exit, even after a failed check.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

# 77 is meson's "skipped"; run-tests.sh, which has just started the
# OpenStack, sets PRAAS_OS_REQUIRED=1 so that a skip there is a failure
skip() {
	if [ "${PRAAS_OS_REQUIRED:-0}" = 1 ]; then
		echo "FAIL: $* (and PRAAS_OS_REQUIRED=1)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
for c in curl jq; do
	command -v "$c" >/dev/null || skip "$c not installed (start.sh installs it)"
done
if [ "$(http_code "$OS_KS_URL")" != 200 ] || [ "$(http_code "$OS_NEUTRON_URL/")" != 200 ]; then
	skip "PRaaS loopback OpenStack not running ($OS_KS_URL, $OS_NEUTRON_URL); run test/openstack/start.sh"
fi

SFX=smoke-$$-$RANDOM
PASS=0 FAIL=0
WORK=$(mktemp -d)
CLEANUP=() # "TOKEN METHOD URL [JSON]", run in reverse order on exit

cleanup() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		# shellcheck disable=SC2086
		eval "req ${CLEANUP[$i]}"
		case "$CODE" in 2?? | 404) ;; *) echo "cleanup: ${CLEANUP[$i]%% *}... -> $CODE" >&2 ;; esac
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

check() { # description command...
	local d=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "ok   - $d"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL - $d"
	fi
}

# req TOKEN METHOD URL [JSON]: body in $WORK/body, headers $WORK/hdr, code $CODE
req() {
	local t=$1 m=$2 u=$3 d=${4:-}
	local args=(-s -m 60 -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$m")
	[ -z "$t" ] || args+=(-H "X-Auth-Token: $t")
	[ -z "$d" ] || args+=(-H 'Content-Type: application/json' -d "$d")
	CODE=$(curl "${args[@]}" "$u") || CODE=000
}
body() { jq -r "$1" "$WORK/body" 2>/dev/null; }

login() { # user password project -> token in $TOK, body kept
	req "" POST "$OS_KS_URL/auth/tokens" "$(jq -cn --arg u "$1" --arg p "$2" --arg j "$3" \
		'{auth:{identity:{methods:["password"],password:{user:{name:$u,domain:{name:"Default"},password:$p}}},scope:{project:{name:$j,domain:{name:"Default"}}}}}')"
	TOK=$(awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }' "$WORK/hdr" | tr -d '\r')
}

# ------------------------------------------------------------ Keystone
login admin "$PRAAS_OS_ADMIN_PASSWORD" admin
check "admin token issued (201)" test "$CODE" = 201 -a -n "$TOK"
AT=$TOK
NU=$(body '.token.catalog[] | select(.type=="network") | .endpoints[] | select(.interface=="public" and .region_id=="'"$PRAAS_OS_REGION"'") | .url')
check "catalog: network endpoint is $OS_NEUTRON_URL" test "$NU" = "$OS_NEUTRON_URL"
check "catalog: identity endpoint is $OS_KS_URL" \
	test "$(body '.token.catalog[] | select(.type=="identity") | .endpoints[] | select(.interface=="public") | .url')" = "$OS_KS_URL"
NU=$OS_NEUTRON_URL/v2.0

login demo "$PRAAS_OS_DEMO_PASSWORD" demo
check "demo token issued (201), role member, not admin" test "$CODE" = 201 -a \
	"$(body '[.token.roles[].name] | (index("member") != null) and (index("admin") == null)')" = true
DT=$TOK
DEMO_PROJECT=$(body .token.project.id)
login alt_demo "$PRAAS_OS_ALT_PASSWORD" alt_demo
check "alt_demo token issued (201)" test "$CODE" = 201 -a -n "$TOK"
XT=$TOK
login demo wrong-password demo
check "wrong password rejected (401)" test "$CODE" = 401

curl -s -m 30 -o "$WORK/body" -w '%{http_code}' -H "X-Auth-Token: $AT" \
	-H "X-Subject-Token: $DT" "$OS_KS_URL/auth/tokens" >"$WORK/code"
check "demo token validates (200) to project demo, user demo" test "$(cat "$WORK/code")" = 200 -a \
	"$(body '.token.project.id + " " + .token.user.name')" = "$DEMO_PROJECT demo"
curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $AT" \
	-H "X-Subject-Token: garbage-$SFX" "$OS_KS_URL/auth/tokens" >"$WORK/code"
check "garbage token rejected (404)" test "$(cat "$WORK/code")" = 404

# ------------------------------------------------------------- Neutron
req "$DT" GET "$NU/networks?name=public"
PUB=$(body '.networks[0].id // empty')
check "demo sees external network public" test -n "$PUB" -a "$(body '.networks[0]["router:external"]')" = true

req "$DT" POST "$NU/networks" "{\"network\":{\"name\":\"net-$SFX\"}}"
NET=$(body '.network.id // empty')
check "demo creates a network (201)" test "$CODE" = 201 -a -n "$NET"
[ -z "$NET" ] || CLEANUP+=("$DT DELETE $NU/networks/$NET")
req "$DT" POST "$NU/subnets" "{\"subnet\":{\"name\":\"sub-$SFX\",\"network_id\":\"$NET\",\"ip_version\":4,\"cidr\":\"10.11.12.0/24\"}}"
SUB=$(body '.subnet.id // empty')
check "demo creates subnet 10.11.12.0/24 (201)" test "$CODE" = 201 -a -n "$SUB"

req "$DT" POST "$NU/routers" "{\"router\":{\"name\":\"router-$SFX\",\"external_gateway_info\":{\"network_id\":\"$PUB\"}}}"
RT=$(body '.router.id // empty')
check "demo creates a router with a gateway on public (201)" test "$CODE" = 201 -a -n "$RT"
[ -z "$RT" ] || CLEANUP+=("$DT DELETE $NU/routers/$RT")
GW=$(body '.router.external_gateway_info.external_fixed_ips[0].ip_address // empty')
check "router gateway IP $GW is in 172.24.4.0/24" test "${GW%.*}" = 172.24.4

req "$DT" PUT "$NU/routers/$RT/add_router_interface" "{\"subnet_id\":\"$SUB\"}"
check "add_router_interface (200)" test "$CODE" = 200
[ "$CODE" != 200 ] || CLEANUP+=("$DT PUT $NU/routers/$RT/remove_router_interface '{\"subnet_id\":\"$SUB\"}'")
req "$DT" GET "$NU/ports?device_id=$RT&device_owner=network:router_interface&fields=fixed_ips"
check "router interface port is 10.11.12.1 on the subnet" \
	test "$(body '.ports[0].fixed_ips[0] | .ip_address + " " + .subnet_id')" = "10.11.12.1 $SUB"
req "$DT" GET "$NU/subnets/$SUB?fields=cidr"
check "interface subnet cidr 10.11.12.0/24" test "$(body .subnet.cidr)" = 10.11.12.0/24

VM=$(cat /proc/sys/kernel/random/uuid)
req "$DT" POST "$NU/ports" "{\"port\":{\"name\":\"vm-$SFX\",\"network_id\":\"$NET\",\"device_owner\":\"compute:nova\",\"device_id\":\"$VM\",\"fixed_ips\":[{\"subnet_id\":\"$SUB\",\"ip_address\":\"10.11.12.5\"}]}}"
PORT=$(body '.port.id // empty')
check "demo creates a compute:nova port at 10.11.12.5 (201)" test "$CODE" = 201 -a -n "$PORT"
[ -z "$PORT" ] || CLEANUP+=("$DT DELETE $NU/ports/$PORT")
req "$DT" GET "$NU/ports?fixed_ips=ip_address%3D10.11.12.5&network_id=$NET"
check "port found by fixed IP" test "$(body '[.ports[].id] | join(",")')" = "$PORT"

# isolation: alt_demo's router is invisible to demo
req "$XT" POST "$NU/routers" "{\"router\":{\"name\":\"alt-router-$SFX\"}}"
ART=$(body '.router.id // empty')
check "alt_demo creates a router (201)" test "$CODE" = 201 -a -n "$ART"
[ -z "$ART" ] || CLEANUP+=("$XT DELETE $NU/routers/$ART")
req "$DT" GET "$NU/routers/$ART"
check "demo GET alt_demo's router -> 404" test "$CODE" = 404
req "$DT" GET "$NU/routers"
check "demo's router list lacks alt_demo's router" test "$CODE" = 200 -a \
	"$(body "[.routers[].id] | index(\"$ART\") == null")" = true

# pagination: 7 ports, limit 3 -> 3 pages via the next links
ids=""
for i in 1 2 3 4 5 6 7; do
	req "$DT" POST "$NU/ports" "{\"port\":{\"name\":\"page-$SFX-$i\",\"network_id\":\"$NET\"}}"
	id=$(body '.port.id // empty')
	[ -z "$id" ] || CLEANUP+=("$DT DELETE $NU/ports/$id")
	ids="$ids&id=$id"
done
# many ids at once, as PRaaS asks; the next links must keep the filter
url="$NU/ports?limit=3$ids"
pages=0 seen=0
while [ -n "$url" ] && [ "$pages" -lt 10 ]; do
	req "$DT" GET "$url"
	[ "$CODE" = 200 ] || break
	pages=$((pages + 1))
	seen=$((seen + $(body '.ports | length')))
	url=$(body '.ports_links // [] | map(select(.rel=="next")) | .[0].href // empty')
done
check "7 ports listed with limit=3 in 3 pages (got $seen in $pages)" test "$seen" = 7 -a "$pages" = 3

# Neutron's RPC on the real broker: its server queues have consumers
# shellcheck source=rabbit.sh
. "$HERE/rabbit.sh"
consumers=$(rabbit_ctl "$OS_RABBIT_DIR" "$OS_RABBIT_NODE" "$PRAAS_OS_RABBIT_PORT" list_queues -q name consumers 2>/dev/null |
	awk '$1 == "q-plugin" || $1 == "q-l3-plugin" { n += ($2 > 0) } END { print n + 0 }')
check "RabbitMQ: Neutron's RPC queues q-plugin and q-l3-plugin have consumers" test "$consumers" = 2
exchange=$(rabbit_ctl "$OS_RABBIT_DIR" "$OS_RABBIT_NODE" "$PRAAS_OS_RABBIT_PORT" list_exchanges -q name type 2>/dev/null |
	awk '$1 == "neutron" { print $2 }')
check "RabbitMQ: Neutron's notifications exchange \"neutron\" (topic)" test "$exchange" = topic

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
