#!/usr/bin/env bash
# Issue 10, defect 10 (its --check-config part): a configuration that
# cannot work must fail --check-config, not the start. A control_socket
# longer than a Unix socket path holds (107 bytes) and a database whose
# directory does not exist each exit 1 with a line naming the key and why;
# the same file with those fixed says "configuration OK" (exit 0), and the
# start refuses the missing directory with the same line. Before the fix
# both passed --check-config.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib/topo.sh"
. "$here/../integration/lib/agent.sh"

# No namespaces needed: a private directory is enough.
TOPO_DIR=$(mktemp -d /tmp/abuse-check-config.XXXXXX) || exit 1
trap 'rm -rf "$TOPO_DIR"' EXIT
TOPO_NETNS_DIR=$TOPO_DIR/netns
mkdir -p "$TOPO_NETNS_DIR"
TOPO_PASSED=0
TOPO_FAILED=0

check() {
	OUT=$("$AGENT_BIN" --config "$AGENT_CONF" --check-config 2>&1 </dev/null) && RC=0 || RC=$?
}

agent_config
check
assert_eq "a good file passes" "0 configuration OK" "$RC $OUT"

long=/tmp/$(printf 'a%.0s' $(seq 110)).sock
agent_config "control_socket=\"$long\""
check
assert_eq "a control_socket of ${#long} bytes fails" 1 "$RC"
assert_match "naming the key and the limit" "control_socket: ${#long} bytes long: a Unix socket path holds at most 107" "$OUT"

agent_config "database=\"$TOPO_DIR/no-such-dir/praas.db\""
check
assert_eq "a database in a missing directory fails" 1 "$RC"
assert_match "naming the key and the directory" "database: the directory of .*, $TOPO_DIR/no-such-dir, No such file" "$OUT"
OUT=$(timeout -k 1 10 "$AGENT_BIN" --config "$AGENT_CONF" 2>&1 </dev/null) && RC=0 || RC=$?
assert_eq "the start refuses it too" 1 "$RC"
assert_match "with the same line" "database: the directory of" "$OUT"
assert_ok "and made nothing" test ! -e "$TOPO_DIR/no-such-dir"

: >"$TOPO_DIR/file"
agent_config "database=\"$TOPO_DIR/file/praas.db\""
check
assert_eq "a database under a file fails" 1 "$RC"
assert_match "saying it is not a directory" "is not a directory" "$OUT"
topo_finish
