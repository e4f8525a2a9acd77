#!/usr/bin/env bash
# run-tests.sh [BUILD_DIR] - run PRaaS's tests against the real loopback
# OpenStack: start it (start.sh: installs it the first time), run the meson
# suite "openstack" in BUILD_DIR (default: $PRAAS_BUILD_ROOT, else
# build/ in the source tree; configured if missing), and stop it (stop.sh)
# whatever the outcome. With the OpenStack up the tests must not skip:
# PRAAS_OS_REQUIRED=1 turns their "not running" skip into a failure.
#
# An OpenStack that was running before (started by hand) is left running;
# PRAAS_OS_KEEP=1 keeps the one it started too (for debugging). Runs in
# parallel share one OpenStack, and the last one out stops it.
# Extra arguments after BUILD_DIR go to `meson test`.
# Exit status: that of `meson test`, or 1 if the OpenStack did not start.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

BUILD=${1:-${PRAAS_BUILD_ROOT:-$SRC/build}}
[ $# -eq 0 ] || shift

if [ "$(id -u)" -ne 0 ]; then
	echo "run-tests.sh: must run as root (the OpenStack is installed and run as root)" >&2
	exit 1
fi

# Parallel runs share one OpenStack: each holds OS_USERS_LOCK shared while
# it uses it; at the end, the one that can take it exclusively (the last
# user) stops the OpenStack if a run-tests.sh started it.
mkdir -p "$(dirname "$OS_USERS_LOCK")"
exec 8>>"$OS_USERS_LOCK"
flock -s 8
stop_it() {
	if flock -x -n 8 && [ -e "$OS_STARTED_MARK" ]; then
		if [ "${PRAAS_OS_KEEP:-0}" = 1 ]; then
			echo "run-tests.sh: PRAAS_OS_KEEP=1: leaving the OpenStack running"
		else
			bash "$HERE/stop.sh" 8>&- || echo "run-tests.sh: stop.sh failed" >&2
		fi
		rm -f "$OS_STARTED_MARK"
	fi
}
trap stop_it EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! os_all_recorded_alive; then
	touch "$OS_STARTED_MARK"
fi
if ! bash "$HERE/start.sh" 8>&-; then
	echo "run-tests.sh: the loopback OpenStack did not start; see $OS_LOG_DIR" >&2
	exit 1
fi

if [ ! -e "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" >/dev/null || {
		echo "run-tests.sh: meson setup $BUILD failed" >&2
		exit 1
	}
fi
export PRAAS_OS_REQUIRED=1 PRAAS_OS_CLOUDS_YAML=$OS_CLOUDS_YAML
meson test -C "$BUILD" --suite openstack --print-errorlogs "$@"
