# shellcheck shell=bash
# tap.sh: TAP lines for the tests that need no topology (install, lab),
# which therefore do not source topo.sh and its assertions.
#
#   ok DESC / not_ok DESC [DETAIL]   one result line (DETAIL as # lines)
#   check DESC CMD...                ok when CMD exits 0
#   tap_finish                       the plan and a summary; non-zero if
#                                    anything failed or nothing passed

passed=0 failed=0

ok() {
	passed=$((passed + 1))
	echo "ok $((passed + failed)) - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok $((passed + failed)) - $1"
	[[ -z ${2:-} ]] || printf '#   %s\n' "${2//$'\n'/$'\n'#   }"
}

check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d" "failed: $*"; fi
}

tap_finish() {
	echo "1..$((passed + failed))"
	echo "# $passed passed, $failed failed"
	((failed == 0 && passed > 0))
}
