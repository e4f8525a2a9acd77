# shellcheck shell=bash
# bus.sh: RabbitMQ for the monitor's tests. Source after topo.sh.
#
#   bus_check_shared          skip (77) unless the loopback OpenStack runs its
#                             RabbitMQ; sets PRAAS_OS_RABBIT_URL (user praas)
#                             and PRAAS_OS_RABBIT_ADMIN_URL (Neutron's)
#   bus_private_start NAME    a broker of this test's own on BUS_PORT (or a
#                             free port), its data in a /tmp directory, both
#                             gone at exit; sets BUS_URL, BUS_PORT. Again
#                             after a stop: the same broker, data kept
#   bus_private_stop / bus_private_restart
#   bus_ctl ARGS...           rabbitmqctl on the shared broker, or the private
#                             one once started
#   bus_queue_field QUEUE FIELD   e.g. messages, consumers, durable
#   bus_on_exit_delete_queue QUEUE
#   bus_publish URL EXCHANGE KEY FILE   each line of FILE one message
#                             (python3-kombu, as oslo.messaging publishes)

. "${PRAAS_SOURCE_ROOT:?}/test/openstack/common.sh"
. "$PRAAS_SOURCE_ROOT/test/openstack/rabbit.sh"

BUS_DIR=$OS_RABBIT_DIR BUS_NODE=$OS_RABBIT_NODE BUS_PORT=$PRAAS_OS_RABBIT_PORT
BUS_PIDS=

bus_check_shared() {
	[[ -r $OS_RABBIT_ENV ]] ||
		os_skip "no $OS_RABBIT_ENV: the loopback OpenStack runs without RabbitMQ (run test/openstack/start.sh)"
	# shellcheck disable=SC1090
	. "$OS_RABBIT_ENV"
	[[ -n ${PRAAS_OS_RABBIT_URL:-} ]] || os_skip "no PRAAS_OS_RABBIT_URL in $OS_RABBIT_ENV"
	/usr/bin/python3 -c 'import kombu' 2>/dev/null || os_skip "python3-kombu is not installed"
}

bus_ctl() { rabbit_ctl "$BUS_DIR" "$BUS_NODE" "$BUS_PORT" "$@"; }

bus_queue_field() { # QUEUE FIELD
	bus_ctl list_queues -q name "$2" 2>/dev/null | awk -v q="$1" '$1 == q { print $2 }'
}

bus_on_exit_delete_queue() {
	topo_on_exit "rabbit_ctl '$BUS_DIR' '$BUS_NODE' '$BUS_PORT' delete_queue '$1' >/dev/null 2>&1 || true"
}

bus__free_port() {
	local p
	for _ in $(seq 50); do
		p=$((13000 + RANDOM % 6000)) # below the ephemeral ports, apart from the agents'
		[[ -z $(ss -Hltn "sport = :$p or sport = :$((p + 1)) or sport = :$((p + 2))") ]] &&
			echo "$p" && return 0
	done
	return 1
}

bus_private_start() { # NAME
	BUS_NODE=praas-test-$1-$$
	if [[ -z $BUS_PIDS ]]; then
		# Not under $TOPO_DIR (root's, 0700): the broker runs as rabbitmq.
		BUS_DIR=$(mktemp -d /tmp/praas-test-rabbit.XXXXXX) || return 1
		chmod 755 "$BUS_DIR"
		topo_on_exit "rm -rf '$BUS_DIR'"
		[[ -n ${BUS_PORT:-} && $BUS_PORT != "$PRAAS_OS_RABBIT_PORT" ]] ||
			BUS_PORT=$(bus__free_port) || return 1
	fi
	BUS_PIDS=$(rabbit_start "$BUS_DIR" "$BUS_NODE" "$BUS_PORT" praas praas-secret) || return 1
	BUS_URL=rabbit://praas:praas-secret@127.0.0.1:$BUS_PORT/
	topo_on_exit "rabbit_stop '$BUS_DIR' '$BUS_NODE' '$BUS_PORT' $BUS_PIDS"
}

bus_private_stop() {
	# shellcheck disable=SC2086
	rabbit_stop "$BUS_DIR" "$BUS_NODE" "$BUS_PORT" $BUS_PIDS
}

bus_publish() { # URL EXCHANGE KEY FILE
	/usr/bin/python3 - "$@" <<'PY'
import sys, kombu
url, exchange, key, path = sys.argv[1:5]
with kombu.Connection(url.replace("rabbit://", "amqp://", 1)) as c, open(path, "rb") as f:
    ex = kombu.Exchange(exchange, type="topic", durable=False)
    p = c.Producer(exchange=ex, routing_key=key, serializer=None)
    for line in f:
        p.publish(line.rstrip(b"\n"), content_type="application/json", content_encoding="utf-8")
PY
}
