# shellcheck shell=bash
# proc.sh - naming a process for good, for the scripts that start the tests'
# services (test/openstack, test/mariadb) and must stop only what they started.
# Sourced, never run.

# Start time (clock ticks since boot, field 22 of /proc/PID/stat) of a pid;
# fails if the process is gone or a zombie. A pid plus its start time names
# one process for good: a recycled pid has another start time.
proc_start() {
	local s rest
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${s##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" != Z ] || return 1
	echo "${20}"
}
