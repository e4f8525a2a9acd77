#!/usr/bin/env bash
# praas's bash completion (completion/praas.bash): sourcing it registers a
# function for praas, and simulated command lines (COMP_WORDS, COMP_CWORD)
# complete to the group, the commands praas --help lists, each command's
# options and the -f formats.
set -u
src=${PRAAS_SOURCE_ROOT:?}
build=${PRAAS_BUILD_ROOT:?}

# shellcheck source=../integration/lib/tap.sh
. "$src/test/integration/lib/tap.sh"

[[ -x $build/cli/praas ]] || { echo "SKIP: no $build/cli/praas (build first)"; exit 77; }
# Without bash-completion's _init_completion the script falls back to
# COMP_WORDS as bash splits them; the test sees that path.
[[ -f $src/completion/praas.bash ]] || {
	not_ok "completion/praas.bash exists"
	tap_finish
	exit 1
}
# shellcheck source=/dev/null
. "$src/completion/praas.bash"

reg=$(complete -p praas 2>&1)
[[ $reg == "complete -F _praas praas" ]] && ok "sourcing it registers: $reg" ||
	not_ok "sourcing it registers a completion for praas" "$reg"

# complete_line WORD...: the completions when the cursor is on the last word.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_praas praas "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
	local desc=$1 want=$2
	shift 2
	local got
	got=$(complete_line "$@")
	[[ $got == "$want" ]] && ok "$desc: '$*' -> $got" ||
		not_ok "$desc" "'$*': want '$want', got '$got'"
}

# The commands praas --help lists are what the completion offers.
want=$("$build/cli/praas" --help | sed -n 's/^  praas forwarding \([a-z]*\) .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
[[ -n $want ]] || not_ok "praas --help lists commands"
echo "figure: completion-commands $(wc -w <<<"$want") words"
t0=$(date +%s%N)
for _ in $(seq 100); do complete_line praas forwarding create --router r --int >/dev/null; done
echo "figure: completion-time-per-line $((($(date +%s%N) - t0) / 100000)) us"
expect "the groups" "agent forwarding" praas ""
expect "the group from a prefix" "forwarding" praas fo
expect "the commands praas --help lists" "$want" praas forwarding ""
expect "the commands after a global option" "$want" praas --url http://x forwarding ""
expect "a command from a prefix" "set show" praas forwarding s
expect "the formats after -f" "json table value" praas -f ""
expect "the protocols" "tcp udp" praas forwarding create --protocol ""
expect "create's options" "--internal-ip --internal-port" praas forwarding create --router r --int
expect "list's option" "--router" praas forwarding list --r
expect "nothing for an option's value" "" praas forwarding create --router ""
expect "a global option from a prefix" "--format" praas --f
expect "nothing after an unknown group" "" praas routers ""
agent_want=$("$build/cli/praas" --help | sed -n 's/^  praas agent \([a-z]*\).*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
expect "the agent commands praas --help lists" "$agent_want" praas agent ""
expect "agent list takes the global options only" "--format" praas agent list --fo

# Each command's options in the completion are options the command accepts.
for cmd in $want; do
	opts=$(complete_line praas forwarding "$cmd" --)
	usage=$("$build/cli/praas" forwarding "$cmd" --help 2>&1 | head -n 1)
	bad=()
	for o in $opts; do
		case $o in --url | --config | --os-cloud | --format | --timeout | --help | --version) continue ;; esac
		grep -qE -- "$o([^a-z-]|\$)" <<<"$usage" || bad+=("$o")
	done
	((${#bad[@]} == 0)) && ok "$cmd: each completed option is in its usage" ||
		not_ok "$cmd: each completed option is in its usage" "not in '$usage': ${bad[*]}"
done

# The build installs it where bash-completion looks.
inst=$(meson introspect "$build" --installed 2>/dev/null |
	python3 -c 'import json, sys; print(" ".join(v for k, v in json.load(sys.stdin).items() if k.endswith("praas.bash")))')
[[ $inst == */share/bash-completion/completions/praas ]] && ok "meson installs it as $inst" ||
	not_ok "meson installs it as share/bash-completion/completions/praas" "installed as: '$inst'"

tap_finish
