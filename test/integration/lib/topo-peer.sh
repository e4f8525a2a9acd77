#!/bin/bash
# topo-peer.sh: the small programs topo.sh runs inside test namespaces.
#
# topo.sh copies this file into its run directory and starts it there (under
# socat, or alone); tests never call it directly. One file, one mode per
# first argument, so that every process the library starts is plain bash and
# socat (no Python, nothing to install).
#
#   tcp-reply              socat EXEC child of a TCP server: answers at once
#                          with "PEER[ TAG]", then once more per line received
#   udp-reply              socat EXEC child of a UDP server: reads the one
#                          datagram, answers "PEER[ TAG]"
#   tcp-query T            socat EXEC child of a TCP client: copies the first
#                          line the server sends to fd 3
#   udp-query T            socat EXEC child of a UDP client: sends one line,
#                          copies the answer to fd 3
#   session DST PORT FIFO OUT T
#                          a TCP session kept open; each line read from FIFO
#                          is sent, and "OK answer" or "FAIL why" appended to OUT
#   flow OUT SENT          socat EXEC child of a UDP flow: sends a numbered line
#                          every 50 ms, logs "EPOCHREALTIME answer" to OUT
#                          and appends each sequence number sent to SENT
#   tcp-loop DST PORT T OUT
#                          connects again and again, appending "OK answer" or
#                          "FAIL" to OUT per attempt
#   supervise STATUS PIDFILE CMD...
#                          runs CMD, writes its PID to PIDFILE and, once it
#                          ends, its exit status (128+N for signal N) to STATUS
#
# PEER is the address the server sees, in canonical form (RFC 5952 for IPv6:
# socat reports "[2001:0db8:...]", tests compare with "2001:db8::10").
# TAG is $TOPO_TAG when set, so a test can tell which server answered.

set -u
shopt -s extglob

# Print an IPv6 address in RFC 5952 form: lower case, no leading zeros in a
# group, the longest run of two or more zero groups replaced by "::".
canon6() {
	local a=${1,,} head tail groups=() g i n out
	local -a hd=() tl=()
	if [[ $a == *::* ]]; then
		head=${a%%::*} tail=${a#*::}
		[[ -n $head ]] && IFS=: read -ra hd <<<"$head"
		[[ -n $tail ]] && IFS=: read -ra tl <<<"$tail"
		groups=("${hd[@]}")
		for ((i = ${#hd[@]} + ${#tl[@]}; i < 8; i++)); do groups+=(0); done
		groups+=("${tl[@]}")
	else
		IFS=: read -ra groups <<<"$a"
	fi
	n=${#groups[@]}
	for ((i = 0; i < n; i++)); do
		g=${groups[i]}
		g=${g##+(0)}
		[[ -z $g ]] && g=0
		groups[i]=$g
	done
	# Find the longest run of zero groups (first one on a tie).
	local best=-1 bestlen=1 start=-1 len=0
	for ((i = 0; i <= n; i++)); do
		if ((i < n)) && [[ ${groups[i]} == 0 ]]; then
			((start < 0)) && start=$i
			len=$((len + 1))
		else
			if ((len > bestlen)); then
				best=$start bestlen=$len
			fi
			start=-1 len=0
		fi
	done
	if ((best < 0)); then
		out=$(IFS=:; echo "${groups[*]}")
	else
		local left=("${groups[@]:0:best}") right=("${groups[@]:best+bestlen}")
		out="$(IFS=:; echo "${left[*]}")::$(IFS=:; echo "${right[*]}")"
	fi
	printf '%s\n' "$out"
}

peer() {
	local p=${SOCAT_PEERADDR:-unknown}
	p=${p#[}
	p=${p%]}
	[[ $p == *:* ]] && p=$(canon6 "$p")
	printf '%s%s\n' "$p" "${TOPO_TAG:+ $TOPO_TAG}"
}

mode=${1:-}
shift || true

case $mode in
tcp-reply)
	peer
	# Answer every line, so a long-lived session can probe the path later.
	while IFS= read -r _; do
		peer || exit 0
	done
	;;
udp-reply)
	# Consume the datagram first: socat fails if the child exits unread.
	IFS= read -r -t 1 _ || true
	peer
	;;
tcp-query)
	IFS= read -r -t "$1" line || exit 1
	printf '%s\n' "$line" >&3
	;;
udp-query)
	echo query
	IFS= read -r -t "$1" line || exit 1
	printf '%s\n' "$line" >&3
	;;
session)
	dst=$1 port=$2 fifo=$3 out=$4 t=$5
	# A write after the peer reset the connection must fail, not kill us.
	trap '' PIPE
	if ! exec 3<>"/dev/tcp/$dst/$port"; then
		echo "FAIL connect" >>"$out"
		exit 1
	fi
	if ! IFS= read -r -t "$t" line <&3; then
		echo "FAIL no greeting" >>"$out"
		exit 1
	fi
	echo "OK $line" >>"$out"
	exec 4<>"$fifo"
	while IFS= read -r cmd <&4; do
		[[ $cmd == close ]] && exit 0
		if ! printf '%s\n' "$cmd" >&3 2>/dev/null; then
			echo "FAIL send" >>"$out"
		elif ! IFS= read -r -t "$t" line <&3; then
			echo "FAIL no answer" >>"$out"
		else
			echo "OK $line" >>"$out"
		fi
	done
	;;
flow)
	out=$1 sent=$2
	# Sender in the background, receiver in the foreground: a late answer
	# never delays the next datagram.
	(
		n=0
		while :; do
			n=$((n + 1))
			echo "$n" || exit 0
			# Appended, not rewritten: a reader never sees it empty.
			echo "$n" >>"$sent"
			sleep 0.05
		done
	) &
	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line" >>"$out"
	done
	;;
tcp-loop)
	dst=$1 port=$2 t=$3 out=$4
	if [[ $dst == *:* ]]; then
		addr="TCP6:[$dst]:$port"
	else
		addr="TCP4:$dst:$port"
	fi
	while :; do
		if ans=$(socat -T "$t" -t 0 "$addr,connect-timeout=$t" \
			EXEC:"bash $0 tcp-query $t" 3>&1 2>"$out.err") && [[ -n $ans ]]; then
			echo "OK $ans"
		else
			# Why, for the test to tell a refusal (no rule) from a slow machine.
			echo "FAIL $(tail -n 1 "$out.err" | tr -d '\n')"
		fi >>"$out"
	done
	;;
supervise)
	status=$1 pidfile=$2
	shift 2
	# Signals sent to the whole group are for CMD: the supervisor ignores
	# them so it lives to record how CMD ended, and CMD gets them back.
	trap '' TERM INT HUP
	(
		trap - TERM INT HUP
		exec "$@"
	) &
	echo $! >"$pidfile"
	wait $!
	echo $? >"$status.tmp"
	mv "$status.tmp" "$status"
	;;
*)
	echo "topo-peer.sh: unknown mode '$mode'" >&2
	exit 2
	;;
esac
