#!/usr/bin/env bash
# Issue 10, defect 10 (health part): /healthz must not say ok while every
# write fails. The database lives on a small tmpfs of the test's own; the
# disk is filled; creates fail (503) and /healthz must say so (503,
# "writes":"failing", with the cause); once space is freed it must recover
# by itself (a write probe), without a client write.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

topo_init hw
topo_router r1
topo_vm vm1 r1
R=${TOPO[r1.uuid]}
VM1=${TOPO[vm1.ip4]}

DBDIR=$TOPO_DIR/db
mkdir -p "$DBDIR"
mount -t tmpfs -o size=4m praas-test-db "$DBDIR" || topo_skip "cannot mount a tmpfs"
topo_on_exit "umount -l '$DBDIR' 2>/dev/null || true"

agent_config "database=\"$DBDIR/praas.db\""
agent_start || { topo_fail "agent starts"; topo_finish; }
base=/v1/routers/$R/port_forwardings
health() {
	local out
	out=$(curl -s -m 5 -w '\n%{http_code}' "$AGENT_URL/healthz")
	HEALTH_STATUS=${out##*$'\n'} HEALTH_BODY=${out%$'\n'*}
}
health
assert_eq "healthy at first" 200 "$HEALTH_STATUS"
assert_match "  ...writes ok" '"writes": *"ok"' "$HEALTH_BODY"

# Fill the disk.
dd if=/dev/zero of="$DBDIR/filler" bs=64k 2>/dev/null
p=4000 refused=0 tries=0
for tries in $(seq 1 200); do
	p=$((p + 1))
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":$p,\"external_port\":$p,\"description\":\"$(head -c 200 /dev/zero | tr '\0' x)\"}}"
	[[ $API_STATUS == 503 ]] && { refused=1; break; }
done
echo "figure: creates_until_refused $tries creates"
assert_eq "with the disk full, a create is refused (503)" 1 "$refused"
assert_match "  ...praas.db_unavailable" '"code": *"praas.db_unavailable"' "$API_BODY"
health
assert_eq "with the disk full, /healthz is 503" 503 "$HEALTH_STATUS"
assert_match "  ...unhealthy, writes failing, with the cause" \
	'"status": *"unhealthy".*"writes": *"failing".*"write_error": *"[^"]+' "$HEALTH_BODY"

rm -f "$DBDIR/filler"
health
assert_eq "space freed: /healthz is 200 again without a client write" 200 "$HEALTH_STATUS"
assert_match "  ...writes ok" '"writes": *"ok"' "$HEALTH_BODY"
api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":22,\"external_port\":5022}}"
assert_eq "and creates work again" 201 "$API_STATUS"

agent_stop || topo_fail "the agent exits 0"
topo_finish
