#!/usr/bin/env bash
# The man pages against the code: every config key of lib/config.c has an
# entry in praas.conf(5) (and a line in conf/praas.conf), every command and
# option of the praas CLI (cli/) is in praas(1), every option of each agent
# in its page (8); the pages render without a warning from man. A name that
# is in the code and not in its page fails the test, naming both.
set -u
src=${PRAAS_SOURCE_ROOT:?}
build=${PRAAS_BUILD_ROOT:?}

# shellcheck source=../integration/lib/tap.sh
. "$src/test/integration/lib/tap.sh"

[[ -f $build/build.ninja ]] || { echo "SKIP: no build in $build"; exit 77; }
# A build without a page is the defect this test is about, not a reason to skip.
for p in praas.1 praas-pat-agent.8 praas-monitor-agent.8 praas.conf.5; do
	[[ -f $build/man/$p ]] || {
		not_ok "the build makes man page $p" "no $build/man/$p (man/meson.build)"
		tap_finish
		exit 1
	}
done

# The page's text with roff's escapes for '-' and fonts taken out.
page_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' "$1"
}

# --- the names in the code
# lib/config.c: the known_keys[] table, which the loader checks every key against.
config_keys() {
	sed -n '/known_keys\[\] = {/,/^};/p' "$1" | sed -n 's/^[[:space:]]*"\([a-z_]*\)",.*/\1/p'
}
# cli/: every {"group", "command", ...} of a command table.
cli_commands() {
	sed -n 's/^[[:space:]]*{"\([a-z]*\)", "\([a-z]*\)",.*/\1 \2/p' "$src"/cli/*.c
}
# Long options of a getopt_long table: {"name", ..._argument, ...}.
long_options() {
	sed -n 's/^[[:space:]]*{"\([a-z-]*\)", \(no\|required\|optional\)_argument.*/\1/p' "$@" | sort -u
}

keys=$(config_keys "$src/lib/config.c")
[[ $(wc -l <<<"$keys") -ge 15 ]] && ok "lib/config.c names $(wc -l <<<"$keys") config keys" ||
	not_ok "lib/config.c names its config keys" "found only: $keys"
commands=$(cli_commands)
[[ $(wc -l <<<"$commands") -ge 5 ]] && ok "cli/ names $(wc -l <<<"$commands") commands" ||
	not_ok "cli/ names its commands" "found only: $commands"

# A config key is documented when praas.conf(5) has an entry for it
# (".BR key ..." as a tagged paragraph under KEYS), not a mere mention.
key_missing() {
	local page=$1 key=$2
	! page_text "$page" | grep -qE "^\.(B|BR) $key( |\$)"
}

conf5=$build/man/praas.conf.5
missing=()
for k in $keys; do
	key_missing "$conf5" "$k" && missing+=("$k")
done
((${#missing[@]} == 0)) && ok "praas.conf(5) has an entry for each of the $(wc -l <<<"$keys") keys" ||
	not_ok "praas.conf(5) has an entry for each key" \
		"in lib/config.c but not in man/praas.conf.5.in: ${missing[*]}"
missing=()
for k in $keys; do
	grep -qE "^[[:space:]]*#?[[:space:]]*$k[[:space:]]*=" "$src/conf/praas.conf" || missing+=("$k")
done
((${#missing[@]} == 0)) && ok "conf/praas.conf shows each key with its default" ||
	not_ok "conf/praas.conf shows each key with its default" \
		"in lib/config.c but not in conf/praas.conf: ${missing[*]}"

# The check can fail: a key the page does not have is reported.
key_missing "$conf5" no_such_key && ok "a key missing from the page would be reported" ||
	not_ok "a key missing from the page would be reported"
sed '/^\.BR netns_dir /d' "$conf5" >"${TMPDIR:-/tmp}/praas-conf5.$$"
key_missing "${TMPDIR:-/tmp}/praas-conf5.$$" netns_dir && ok "a key's entry removed from the page is reported" ||
	not_ok "a key's entry removed from the page is reported"
rm -f "${TMPDIR:-/tmp}/praas-conf5.$$"

# --- praas(1): each command as a tagged paragraph, each option mentioned.
praas1=$build/man/praas.1
missing=()
while read -r group cmd; do
	page_text "$praas1" | grep -qE "^\.B $group $cmd( |\$)" || missing+=("$group $cmd")
done <<<"$commands"
((${#missing[@]} == 0)) && ok "praas(1) describes each command: $(tr '\n' ',' <<<"$commands" | sed 's/,$//')" ||
	not_ok "praas(1) describes each command" "in cli/ but not in man/praas.1.in: ${missing[*]}"

check_options() {
	local page=$1 what=$2 o
	shift 2
	local -a miss=()
	local opts
	opts=$(long_options "$@")
	for o in $opts; do
		page_text "$page" | grep -qE -- "--$o([^a-z-]|\$)" || miss+=("--$o")
	done
	if [[ -z $opts ]]; then
		not_ok "$what: options found in the code" "no getopt_long table in $*"
	elif ((${#miss[@]} == 0)); then
		ok "$what documents each option: $(tr '\n' ' ' <<<"$opts")"
	else
		not_ok "$what documents each option" "in the code but not in the page: ${miss[*]}"
	fi
}
check_options "$praas1" "praas(1)" "$src"/cli/*.c
check_options "$build/man/praas-pat-agent.8" "praas-pat-agent(8)" "$src/pat-agent/main.c"
check_options "$build/man/praas-monitor-agent.8" "praas-monitor-agent(8)" "$src/monitor-agent/main.c"

# --- the pages as built: paths filled in, and man has nothing to say.
for p in praas.1 praas-pat-agent.8 praas-monitor-agent.8 praas.conf.5; do
	f=$build/man/$p
	if grep -q '@[a-z]*@' "$f"; then
		not_ok "$p: no @placeholder@ is left" "$(grep -n '@[a-z]*@' "$f")"
	else
		ok "$p: no @placeholder@ is left"
	fi
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
		[[ -z $out ]] && ok "$p renders without a warning" ||
			not_ok "$p renders without a warning" "$out"
		lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)
		echo "figure: man-$p-lines $lines lines"
	fi
done

tap_finish
