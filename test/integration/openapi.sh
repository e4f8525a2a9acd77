#!/usr/bin/env bash
# docs/openapi.json and docs/api.md against the real pat-agent (standalone,
# one router namespace): test/integration/openapi-check.py does the checks,
# every documented status of every route included; it ends by breaking the
# database, for the 503s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"

topo_init oapi
topo_require python3
topo_router r1
topo_vm vm1 r1
# request_timeout 2: the 408 is asked for too.
agent_config request_timeout=2
agent_start || {
	topo_fail "agent starts"
	topo_finish
}
python3 "$here/openapi-check.py" "${PRAAS_SOURCE_ROOT:?}" "$AGENT_URL" "${TOPO[r1.uuid]}" "${TOPO[vm1.ip4]}" \
	"$AGENT_DIR/praas.db"
rc=$?
agent_stop || {
	echo "not ok - the agent stops cleanly"
	rc=1
}
exit "$rc"
