# shellcheck shell=bash
# rabbit.sh - start and stop a private RabbitMQ broker (Debian's
# rabbitmq-server) on 127.0.0.1: its own node name, AMQP port, Erlang
# distribution port, epmd port and directories, so it never meets the
# machine's own broker nor another private one. Sourced, never run; used by
# start.sh/stop.sh (the loopback OpenStack's broker) and by tests that need
# a broker of their own (test/integration/monitor-notify.sh).
#
#   rabbit_start DIR NODE PORT USER PASSWORD  -> prints "BEAM_PID EPMD_PID"
#     (USER gets every permission on vhost /)
#   rabbit_user DIR NODE PORT USER PASSWORD CONFIGURE WRITE READ
#   rabbit_stop DIR NODE PORT BEAM_PID EPMD_PID
# The distribution port is PORT+1 and epmd's PORT+2. Everything the broker
# writes is under DIR (owned by the rabbitmq user: the broker runs as it and
# dies at start otherwise). Runs as root.

rabbit_env() { # DIR NODE PORT: sets RABBIT_ENV, what rabbitmq-server and rabbitmqctl need
	RABBIT_ENV=(HOME="$1" RABBITMQ_NODENAME="$2@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
		RABBITMQ_NODE_PORT="$3" RABBITMQ_DIST_PORT=$(($3 + 1)) ERL_EPMD_PORT=$(($3 + 2))
		ERL_EPMD_ADDRESS=127.0.0.1
		RABBITMQ_MNESIA_BASE="$1/mnesia" RABBITMQ_LOG_BASE="$1/log"
		RABBITMQ_CONFIG_FILE="$1/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$1/enabled_plugins"
		RABBITMQ_PID_FILE="$1/pid" RUNNING_UNDER_SYSTEMD=1 ERL_CRASH_DUMP="$1/log/erl_crash.dump"
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}")
}

rabbit_ctl() { # DIR NODE PORT args...
	local d=$1 n=$2 p=$3
	shift 3
	rabbit_env "$d" "$n" "$p"
	(cd / && setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- \
		env "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$n@localhost" "$@")
}

# The epmd the broker on PORT started (it listens on PORT+2 only), or 0.
rabbit_epmd() { # PORT
	local e
	e=$(ss -Hltnp "sport = :$(($1 + 2))" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
	echo "${e:-0}"
}

rabbit_start() { # DIR NODE PORT USER PASSWORD
	local d=$1 n=$2 p=$3 u=$4 pw=$5 pid i
	install -d -o rabbitmq -g rabbitmq -m 700 "$d" "$d/mnesia" "$d/log"
	cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$p
loopback_users = none
# small machines shared by test runs: never block publishers on disk space
disk_free_limit.absolute = 50MB
CONF
	echo '[].' >"$d/enabled_plugins"
	chown rabbitmq:rabbitmq "$d/rabbitmq.conf" "$d/enabled_plugins"
	# setsid: the broker leaves the caller's session and outlives it.
	rabbit_env "$d" "$n" "$p"
	(cd / && exec setsid setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- \
		env "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server \
		>"$d/log/stdout.log" 2>&1 </dev/null 9>&-) &
	pid=$!
	for i in $(seq 1 120); do
		rabbit_ctl "$d" "$n" "$p" await_startup -t 1 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$d/log/stdout.log" >&2
			rabbit_stop "$d" "$n" "$p" "$pid" "$(rabbit_epmd "$p")"
			return 1
		}
		sleep 0.5
	done
	if [ "$i" -ge 120 ]; then
		rabbit_stop "$d" "$n" "$p" "$pid" "$(rabbit_epmd "$p")"
		return 1
	fi
	rabbit_user "$d" "$n" "$p" "$u" "$pw" '.*' '.*' '.*'
	echo "$pid $(rabbit_epmd "$p")"
}

rabbit_user() { # DIR NODE PORT USER PASSWORD CONFIGURE WRITE READ: created or updated, vhost /
	local d=$1 n=$2 p=$3 u=$4
	rabbit_ctl "$d" "$n" "$p" list_users -q 2>/dev/null | awk '{print $1}' | grep -qx "$u" ||
		rabbit_ctl "$d" "$n" "$p" add_user "$u" "$5" >/dev/null || return 1
	rabbit_ctl "$d" "$n" "$p" change_password "$u" "$5" >/dev/null &&
		rabbit_ctl "$d" "$n" "$p" set_permissions -p / "$u" "$6" "$7" "$8" >/dev/null
}

rabbit_stop() { # DIR NODE PORT BEAM_PID EPMD_PID
	local d=$1 n=$2 p=$3 pid=$4 epmd=$5 i
	if kill -0 "$pid" 2>/dev/null; then
		rabbit_ctl "$d" "$n" "$p" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# the epmd the broker started outlives it: ours listens on PORT+2 only
	[ "${epmd:-0}" = 0 ] || kill -TERM "$epmd" 2>/dev/null || true
}
