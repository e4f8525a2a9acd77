# shellcheck shell=bash
# agent.sh: run the real praas agents against a topo.sh topology.
#
# Source after topo.sh and topo_init. The agents see only this run's routers
# ($TOPO_NETNS_DIR), keep their state in $TOPO_DIR/agent, listen on a port
# of their own on 127.0.0.1, and are stopped by the topology's cleanup.
#
#   agent_config [KEY=VALUE ...]   write $AGENT_CONF (standalone, auth none)
#                                  with overrides as libconfig lines
#   agent_start [ARGS]             start praas-pat-agent; wait for /healthz
#   agent_stop                     SIGTERM, wait; non-zero if it did not exit 0
#   agent_kill9                    SIGKILL
#   monitor_start / monitor_stop   the same for praas-monitor-agent
#   agents_finish                  stop both, each must exit 0 with no
#                                  sanitizer report in its log; topo_finish
#   api METHOD PATH [BODY]         curl the REST API: sets API_STATUS, API_BODY
#   api_field JSONPATH             read a field of API_BODY (python3 json)
#   ctl JSON                       one control-socket request, prints the answer
#   praas_elements NS [PREFIX]     elements in NS's table inet praas maps (those
#                                  named PREFIX*, e.g. dnat4: both generations);
#                                  0 without the table
#   agent_node NAME                simulated nodes (SCALE.md): switch every
#                                  function above to node NAME's agents, with
#                                  their own state in $TOPO_DIR/agent-NAME,
#                                  port and socket (the first call keeps the
#                                  agents started before as node "")
#
# Every agent started here runs with PRAAS_TEST_STRICT_TASKS=1: a MariaDB
# statement issued outside the store gate's tasks while the loop runs (one
# that would hold the loop) aborts it, so a missed call site fails the test.
#
# PRAAS_VALGRIND=1 runs both agents under valgrind (memcheck, definite leaks
# count): an error makes the agent exit 99, so agent_stop/monitor_stop fail
# and the test with them; valgrind's report is in $AGENT_DIR/valgrind.PID.

AGENT_BIN=${PRAAS_BUILD_ROOT:?}/pat-agent/praas-pat-agent
export PRAAS_TEST_STRICT_TASKS=1
MONITOR_BIN=$PRAAS_BUILD_ROOT/monitor-agent/praas-monitor-agent
PRAAS_CLI=$PRAAS_BUILD_ROOT/cli/praas
AGENT_DIR=
AGENT_CONF=
AGENT_PORT=
AGENT_URL=
AGENT_PID=
MONITOR_PID=
API_STATUS=
API_BODY=

agent__free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

AGENT__NODE=
declare -gA AGENT__NODES=()

agent_node() {
	local v
	for v in AGENT_DIR AGENT_CONF AGENT_PORT AGENT_URL AGENT_PID MONITOR_PID; do
		AGENT__NODES[$AGENT__NODE.$v]=${!v}
	done
	AGENT__NODE=${1?agent_node: NAME missing}
	for v in AGENT_DIR AGENT_CONF AGENT_PORT AGENT_URL AGENT_PID MONITOR_PID; do
		printf -v "$v" '%s' "${AGENT__NODES[$AGENT__NODE.$v]:-}"
	done
}

agent_config() {
	AGENT_DIR=$TOPO_DIR/agent${AGENT__NODE:+-$AGENT__NODE}
	mkdir -p "$AGENT_DIR"
	AGENT_CONF=$AGENT_DIR/praas.conf
	[[ -n $AGENT_PORT ]] || AGENT_PORT=$(agent__free_port)
	AGENT_URL=http://127.0.0.1:$AGENT_PORT
	# Defaults first; an override of the same key replaces it (libconfig
	# refuses a key given twice).
	local -A kv=(
		[port_app]=$AGENT_PORT [listen]='"127.0.0.1"' [auth]='"none"' [cloud]='""'
		[database]="\"$AGENT_DIR/praas.db\""
		[control_socket]="\"$AGENT_DIR/pat-agent.sock\""
		[netns_dir]="\"$TOPO_NETNS_DIR\"" [second_monitoring]=0.5
	)
	local o k
	for o in "$@"; do
		kv[${o%%=*}]=${o#*=}
	done
	{
		echo "praas:"
		echo "{"
		for k in "${!kv[@]}"; do
			echo "  $k = ${kv[$k]};"
		done
		echo "};"
	} >"$AGENT_CONF"
}

# The command line that runs an agent binary: valgrind's first when asked.
agent__wrap() {
	if [[ ${PRAAS_VALGRIND:-0} == 1 ]]; then
		printf '%s\n' valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "--log-file=$AGENT_DIR/valgrind.%p"
	fi
	printf '%s\n' "$1"
}

agent__healthy() {
	curl -s -o /dev/null -m 1 "$AGENT_URL/healthz"
}

# The current agent's /healthz says 200 twice, 0.1 s apart: it answers
# from its last looks at the database and queues new ones (census.h), so
# only the second 200 speaks of the database as it is now.
agent_healthy_now() {
	local i
	for i in 1 2; do
		[[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$AGENT_URL/healthz") == 200 ]] || return 1
		((i == 2)) || sleep 0.1
	done
}

agent_start() {
	[[ -n $AGENT_CONF ]] || agent_config
	local cmd
	mapfile -t cmd < <(agent__wrap "$AGENT_BIN")
	setsid "${cmd[@]}" --config "$AGENT_CONF" "$@" </dev/null >>"$AGENT_DIR/pat-agent.log" 2>&1 &
	AGENT_PID=$!
	topo_on_exit "kill -9 $AGENT_PID 2>/dev/null || true"
	topo_wait 30 agent__healthy || {
		echo "# the pat-agent did not answer; its log:" >&2
		tail -n 20 "$AGENT_DIR/pat-agent.log" >&2
		return 1
	}
}

agent_stop() {
	[[ -n $AGENT_PID ]] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null || return 0
	local rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	if [[ $rc != 0 ]]; then
		echo "# the pat-agent exited $rc; the end of its log:" >&2
		tail -n 40 "$AGENT_DIR/pat-agent.log" | sed 's/^/#   /' >&2
		cat "$AGENT_DIR"/valgrind.* 2>/dev/null | sed 's/^/#   /' >&2
	fi
	return "$rc"
}

agent_kill9() {
	[[ -n $AGENT_PID ]] || return 0
	kill -9 "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
}

monitor_start() {
	local cmd
	mapfile -t cmd < <(agent__wrap "$MONITOR_BIN")
	setsid "${cmd[@]}" --config "$AGENT_CONF" "$@" </dev/null >>"$AGENT_DIR/monitor.log" 2>&1 &
	MONITOR_PID=$!
	topo_on_exit "kill -9 $MONITOR_PID 2>/dev/null || true"
}

monitor_stop() {
	[[ -n $MONITOR_PID ]] || return 0
	kill -TERM "$MONITOR_PID" 2>/dev/null || return 0
	local rc=0
	wait "$MONITOR_PID" || rc=$?
	MONITOR_PID=
	return "$rc"
}

# The end of a test that ran both agents: a clean exit is part of the result.
agents_finish() {
	monitor_stop
	assert_eq "SIGTERM: the monitor exits 0" 0 "$?"
	agent_stop || topo_fail "the pat-agent exits 0"
	if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$AGENT_DIR"/*.log; then
		topo_fail "no sanitizer report in the agents' logs"
	fi
	if grep -q 'BUG: a MariaDB statement outside a task' "$AGENT_DIR"/*.log; then
		topo_fail "no MariaDB statement held the event loop (outside the store gate)"
	fi
	topo_finish
}

# api METHOD PATH [BODY] [CURL ARGS...]
api() {
	local method=$1 path=$2 body=${3:-} out
	shift 3 2>/dev/null || shift $#
	out=$(curl -s -m 10 -X "$method" -w '\n%{http_code}' -H 'Content-Type: application/json' \
		${body:+--data-binary "$body"} "$@" "$AGENT_URL$path")
	API_STATUS=${out##*$'\n'}
	API_BODY=${out%$'\n'*}
}

# api_field 'port_forwarding.external_port'
api_field() {
	python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, bool) else str(v).lower())' "$API_BODY" "$1"
}

# The code of an API-SIG error answer, or why API_BODY is not one.
api_error_code() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])["errors"][0]["code"])' \
		"$API_BODY" 2>/dev/null || echo "(not an error body: $API_BODY)"
}

ctl() {
	printf '%s\n' "$1" | timeout 10 socat -t 10 - "UNIX-CONNECT:$AGENT_DIR/pat-agent.sock"
}

praas_elements() {
	topo_exec "$1" nft -j list table inet praas 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print(0); sys.exit()
n = 0
for o in d["nftables"]:
    m = o.get("map")
    if m and m["name"].startswith(sys.argv[1]):
        n += len(m.get("elem", []))
print(n)' "${2:-}"
}
