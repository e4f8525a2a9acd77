# shellcheck shell=bash
# nodes.sh: two simulated network nodes on the loopback Galera cluster
# (test/mariadb), for tests and benches of many nodes. Source after topo.sh
# and agent.sh, before topo_init.
#
#   nodes_db PREFIX           the Galera URLs (skips the caller when there
#                             are none), topo_init PREFIX, and a database of
#                             this run's own, dropped at exit: $DB_NAME, sql
#   nodes_router_pair         router r1 (node A's replica) and r1b (node B's):
#                             the same gateway and VM addresses on separate
#                             wires, a client (ca, cb) and a VM (vma, vmb)
#                             each, bound under node-a/netns and node-b/netns
#                             with the router's one name; sets U, GW, VM, base
#   nodes_pair_build          the same, returning non-zero on the first
#                             failure instead of failing a test (tools/lab)
#   node_start N URL          start node N's agent (a or b) on Galera URL
#   on N                      api (agent.sh) talks to node N's agent
#   sql ARGS...               the mariadb client on Galera node 1
#   nodes_idle_queries NODE   statements per second node NODE's agent sent
#                             to its database in 5 s (its own count, in
#                             /metrics: praas_db_statements_total)

nodes_db() {
	local env_file=/run/praas-mariadb/env rest
	G1=${PRAAS_TEST_GALERA_URL1:-$(sed -n 's/^PRAAS_TEST_GALERA_URL1=//p' "$env_file" 2>/dev/null)}
	G2=${PRAAS_TEST_GALERA_URL2:-$(sed -n 's/^PRAAS_TEST_GALERA_URL2=//p' "$env_file" 2>/dev/null)}
	[[ -n $G1 && -n $G2 ]] ||
		topo_skip "the loopback Galera cluster is not running (sudo test/mariadb/start.sh)"
	topo_require mariadb curl python3 nft
	rest=${G1#mysql://}
	DB_USER=${rest%%:*}
	DB_PASS=${rest#*:}
	DB_PASS=${DB_PASS%@*}
	DB_HOSTPORT=${rest##*@}
	DB_HOSTPORT=${DB_HOSTPORT%/}
	DB_NAME=praas_c$$_$RANDOM
	topo_init "$1"
	sql praas_admin -e "CREATE DATABASE $DB_NAME" || topo_fail "create database $DB_NAME"
	topo_on_exit "MYSQL_PWD='$DB_PASS' mariadb --no-defaults -h ${DB_HOSTPORT%:*} -P ${DB_HOSTPORT##*:} -u $DB_USER praas_admin -e 'DROP DATABASE IF EXISTS $DB_NAME' || true"
}

sql() {
	MYSQL_PWD=$DB_PASS mariadb --no-defaults -h "${DB_HOSTPORT%:*}" -P "${DB_HOSTPORT##*:}" \
		-u "$DB_USER" -N -B "$@"
}

nodes_router_pair() {
	nodes_pair_build || topo_fail "the router's two replicas (nodes_pair_build)"
}

nodes_pair_build() {
	local n
	topo_router r1 && topo_outside ca r1 && topo_vm vma r1 &&
		topo_router r1b && topo_outside cb r1b && topo_vm vmb r1b || return 1
	U=${TOPO[r1.uuid]}
	GW=${TOPO[r1.gw4]}
	VM=${TOPO[vma.ip4]}
	base=/v1/routers/$U/port_forwardings
	[[ "$GW $VM" == "${TOPO[r1b.gw4]} ${TOPO[vmb.ip4]}" ]] || return 1
	topo_serve_tcp -t vma vma any 22 && topo_serve_tcp -t vmb vmb any 22 || return 1
	for n in a b; do
		mkdir -p "$TOPO_DIR/node-$n/netns" && : >"$TOPO_DIR/node-$n/netns/qrouter-$U" || return 1
	done
	# topo_cleanup unmounts them (every mount under $TOPO_DIR), also after
	# a lab kept its topology past its own exit.
	mount --bind "/run/netns/${TOPO[r1.ns]}" "$TOPO_DIR/node-a/netns/qrouter-$U" &&
		mount --bind "/run/netns/${TOPO[r1b.ns]}" "$TOPO_DIR/node-b/netns/qrouter-$U"
}

declare -A PORT PID
node_start() { # node galera-url
	local n=$1 dir=$TOPO_DIR/node-$1
	[[ -n ${PORT[$n]:-} ]] || PORT[$n]=$(agent__free_port)
	cat >"$dir/praas.conf" <<CONF
praas: {
  port_app = ${PORT[$n]}; listen = "127.0.0.1"; auth = "none"; cloud = ""; host = "node-$n";
  database = "$2$DB_NAME"; control_socket = "$dir/pat-agent.sock";
  database_read_copy = "$dir/read-copy.db";
  netns_dir = "$dir/netns"; second_monitoring = 0.5;
  router_port_range = "60000:60100"; pagination_max_limit = 10000;
};
CONF
	setsid "$AGENT_BIN" --config "$dir/praas.conf" </dev/null >>"$dir/pat-agent.log" 2>&1 &
	PID[$n]=$!
	topo_on_exit "kill -9 ${PID[$n]} 2>/dev/null || true"
	topo_wait 30 curl -s -o /dev/null -m 1 "http://127.0.0.1:${PORT[$n]}/healthz" || {
		tail -n 20 "$dir/pat-agent.log" >&2
		return 1
	}
}

on() {
	AGENT_URL=http://127.0.0.1:${PORT[$1]}
}

nodes_idle_queries() {
	local port=${PORT[$1]} v2 v3
	statements() {
		curl -s -m 10 "http://127.0.0.1:$port/metrics" | sed -n 's/^praas_db_statements_total //p'
	}
	# A scrape's own reads show in the next one. Across nodes it counts the
	# forwardings at most once per 5 s (census.h CENSUS_MAX_AGE_MS):
	# after 5.2 s the first scrape below counts them, the second answers
	# from that count (no statement), so the 5 s after it hold the idle
	# agent's statements alone.
	statements >/dev/null
	sleep 5.2
	statements >/dev/null
	v2=$(statements)
	sleep 5
	v3=$(statements)
	python3 -c "print(round(($v3 - $v2) / 5.0, 1))"
}
