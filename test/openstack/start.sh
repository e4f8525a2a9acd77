#!/usr/bin/env bash
# start.sh - install (if needed), configure and start PRaaS's loopback
# OpenStack for integration tests: Debian 12's own Keystone (Zed, under
# uwsgi) and Neutron (neutron-server, ML2, router plugin, no agents) with
# its RPC and notifications (messagingv2) on a private RabbitMQ, on
# 127.0.0.1 only, backed by a private PostgreSQL cluster that listens on a
# unix socket only.
#
#   Keystone v3   http://127.0.0.1:$PRAAS_OS_KEYSTONE_PORT/v3   (default 25000)
#   Neutron v2.0  http://127.0.0.1:$PRAAS_OS_NEUTRON_PORT/v2.0  (default 29696)
#   RabbitMQ      amqp://127.0.0.1:$PRAAS_OS_RABBIT_PORT (default 25680; +1, +2 taken)
#
# Writes /etc/praas-openstack/{clouds.yaml,admin-openrc,demo-openrc,
# alt_demo-openrc,rabbit.env}; clouds praas-admin, praas-demo, praas-alt.
# Idempotent: run again while up, it only checks; after stop.sh it restarts
# with the same data. Up without RabbitMQ (started by an older start.sh): it
# starts RabbitMQ and restarts neutron-server alone, once. stop.sh stops exactly what this started.
#
# Options:
#   --fresh         stop it if running, wipe its data and config, start empty
#   --install-only  only install the Debian packages (preseeded, no daemons)
#   --no-install    never call apt-get; fail if a package is missing
# Environment: PRAAS_OS_KEYSTONE_PORT, PRAAS_OS_NEUTRON_PORT, PRAAS_OS_REGION,
#   PRAAS_OS_RABBIT_PORT,
#   PRAAS_OS_{ADMIN,DEMO,ALT}_PASSWORD, PRAAS_OS_KEEP_ON_FAILURE=1 (leave
#   what a failed start started running, for debugging).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
# shellcheck source=rabbit.sh
. "$HERE/rabbit.sh"

# keystone, neutron-common: the services; uwsgi-plugin-python3 runs Keystone;
# postgresql + python3-psycopg2: their database; rabbitmq-server: Neutron's
# message bus; jq, curl: this script.
PACKAGES="keystone neutron-common uwsgi-plugin-python3 postgresql python3-psycopg2 rabbitmq-server jq curl"
export LC_ALL=C.UTF-8
# The OpenStack tools are /usr/bin/python3 scripts: keep a standard PATH so
# that no virtualenv python on the caller's PATH is picked up.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

FRESH=0 INSTALL_ONLY=0 NO_INSTALL=0
for a in "$@"; do
	case "$a" in
	--fresh) FRESH=1 ;;
	--install-only) INSTALL_ONLY=1 ;;
	--no-install) NO_INSTALL=1 ;;
	-h | --help)
		sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "start.sh: unknown option: $a" >&2
		exit 2
		;;
	esac
done

log() { printf '[praas-openstack %s] %s\n' "$(date +%T)" "$*"; }
die() {
	printf '[praas-openstack] ERROR: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, PostgreSQL cluster)"

# ------------------------------------------------------------ helpers
record_pid() { # name pid
	local st
	STARTED_ANY=1
	st=$(proc_start "$2") || die "$1 (pid $2) died right after start; see $OS_LOG_DIR"
	echo "$1 $2 $st" >>"$OS_PID_FILE"
}

pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

psql_admin() {
	as_postgres "$PGBIN/psql" -X -q -h "$OS_PGSOCK" -p "$OS_PG_PORT" -U postgres \
		-d postgres -v ON_ERROR_STOP=1 "$@"
}

secret() { # name -> random secret kept in $OS_STATE_DIR/secrets
	local f=$OS_STATE_DIR/secrets/$1
	if [ ! -s "$f" ]; then
		install -d -m 700 "$OS_STATE_DIR/secrets"
		(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
	fi
	cat "$f"
}

wait_http() { # name url timeout_s pid logfile
	local name=$1 url=$2 t=$3 pid=$4 logf=$5 i=0 st
	st=$(proc_start "$pid") || die "$name exited at start; see $logf"
	while [ "$(http_code "$url")" != 200 ]; do
		if ! proc_alive "$pid" "$st"; then
			tail -n 30 "$logf" >&2 || true
			die "$name (pid $pid) exited while starting; see $logf"
		fi
		i=$((i + 1))
		[ "$i" -lt $((t * 4)) ] || die "$name did not answer $url within ${t}s; see $logf"
		sleep 0.25
	done
}

# Fail clearly if a port we need is taken by anything (another loopback
# OpenStack included): we never talk to, reuse or stop someone else's server.
check_port_free() { # port what
	local l
	l=$(port_listener "$1")
	[ -z "$l" ] || die "port $1 ($2) is already in use, by: $l -- stop that program or set PRAAS_OS_${2^^}_PORT"
}

# ------------------------------------------------------- Keystone REST
ks_token() { # user password project -> token
	curl -s -m 30 -D - -o /dev/null -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg u "$1" --arg p "$2" --arg j "$3" \
			'{auth:{identity:{methods:["password"],password:{user:{name:$u,domain:{id:"default"},password:$p}}},scope:{project:{name:$j,domain:{id:"default"}}}}}')" \
		"$OS_KS_URL/auth/tokens" |
		awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }' | tr -d '\r'
}

api() { # METHOD URL [JSON] -> body; dies on HTTP >= 400
	local m=$1 u=$2 d=${3:-} out code
	out=$(mktemp)
	local args=(-s -m 60 -o "$out" -w '%{http_code}' -X "$m" -H "X-Auth-Token: $TOKEN")
	[ -z "$d" ] || args+=(-H 'Content-Type: application/json' -d "$d")
	code=$(curl "${args[@]}" "$u") || code=000
	if [ "$code" = 000 ] || [ "$code" -ge 400 ]; then
		cat "$out" >&2
		rm -f "$out"
		die "$m $u failed with HTTP $code"
	fi
	cat "$out"
	rm -f "$out"
}

ensure_project() { # name -> id
	local id
	id=$(api GET "$OS_KS_URL/projects?name=$1&domain_id=default" | jq -r '.projects[0].id // empty')
	[ -n "$id" ] || id=$(api POST "$OS_KS_URL/projects" \
		"{\"project\":{\"name\":\"$1\",\"domain_id\":\"default\",\"description\":\"praas test project\"}}" |
		jq -r .project.id)
	echo "$id"
}

ensure_user() { # name password project_id -> id; the password is kept in sync
	local id body
	id=$(api GET "$OS_KS_URL/users?name=$1&domain_id=default" | jq -r '.users[0].id // empty')
	if [ -n "$id" ]; then
		body=$(jq -cn --arg p "$2" '{user:{password:$p,enabled:true}}')
		api PATCH "$OS_KS_URL/users/$id" "$body" >/dev/null
	else
		body=$(jq -cn --arg n "$1" --arg p "$2" --arg j "$3" \
			'{user:{name:$n,domain_id:"default",password:$p,default_project_id:$j}}')
		id=$(api POST "$OS_KS_URL/users" "$body" | jq -r .user.id)
	fi
	echo "$id"
}

role_id() { api GET "$OS_KS_URL/roles?name=$1" | jq -r '.roles[0].id // empty'; }

ensure_network_endpoints() {
	local sid iface eid
	sid=$(api GET "$OS_KS_URL/services?type=network" | jq -r '.services[0].id // empty')
	[ -n "$sid" ] || sid=$(api POST "$OS_KS_URL/services" \
		'{"service":{"type":"network","name":"neutron","description":"OpenStack Networking"}}' |
		jq -r .service.id)
	for iface in public internal admin; do
		eid=$(api GET "$OS_KS_URL/endpoints?service_id=$sid&interface=$iface" |
			jq -r '.endpoints[0].id // empty')
		if [ -z "$eid" ]; then
			api POST "$OS_KS_URL/endpoints" \
				"{\"endpoint\":{\"service_id\":\"$sid\",\"interface\":\"$iface\",\"url\":\"$OS_NEUTRON_URL\",\"region_id\":\"$PRAAS_OS_REGION\"}}" >/dev/null
		else
			api PATCH "$OS_KS_URL/endpoints/$eid" \
				"{\"endpoint\":{\"url\":\"$OS_NEUTRON_URL\",\"region_id\":\"$PRAAS_OS_REGION\"}}" >/dev/null
		fi
	done
}

write_openrc() { # file user password project
	cat >"$1.tmp" <<EOF
# source this file: credentials for PRaaS's loopback OpenStack (test only)
export OS_AUTH_URL=$OS_KS_URL
export OS_IDENTITY_API_VERSION=3
export OS_AUTH_TYPE=password
export OS_USERNAME=$2
export OS_PASSWORD=$3
export OS_PROJECT_NAME=$4
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=$PRAAS_OS_REGION
export OS_INTERFACE=public
EOF
	chmod 644 "$1.tmp"
	mv "$1.tmp" "$1"
}

clouds_entry() { # cloud user password project
	cat <<EOF
  $1:
    auth:
      auth_url: $OS_KS_URL
      username: $2
      password: $3
      project_name: $4
      user_domain_name: Default
      project_domain_name: Default
    auth_type: password
    identity_api_version: 3
    region_name: $PRAAS_OS_REGION
    interface: public
EOF
}

write_clouds_yaml() {
	{
		echo "# clouds.yaml (openstacksdk format) for PRaaS's loopback OpenStack; test only"
		echo "clouds:"
		clouds_entry praas-admin admin "$PRAAS_OS_ADMIN_PASSWORD" admin
		clouds_entry praas-demo demo "$PRAAS_OS_DEMO_PASSWORD" demo
		clouds_entry praas-alt alt_demo "$PRAAS_OS_ALT_PASSWORD" alt_demo
	} >"$OS_CLOUDS_YAML.tmp"
	chmod 644 "$OS_CLOUDS_YAML.tmp"
	mv "$OS_CLOUDS_YAML.tmp" "$OS_CLOUDS_YAML"
}

print_summary() {
	cat <<EOF
PRaaS loopback OpenStack is up (127.0.0.1 only):
  Keystone v3   $OS_KS_URL
  Neutron v2.0  $OS_NEUTRON_URL/v2.0
  RabbitMQ      amqp://$OS_HOST:$PRAAS_OS_RABBIT_PORT (node $OS_RABBIT_NODE@localhost; URLs in $OS_RABBIT_ENV)
  clouds.yaml   $OS_CLOUDS_YAML  (clouds praas-admin, praas-demo, praas-alt)
  openrc        $OS_CONF_DIR/{admin,demo,alt_demo}-openrc
  external net  public, subnet public-subnet 172.24.4.0/24 (in Neutron's database only)
  logs $OS_LOG_DIR, pids $OS_PID_FILE, stop with: $HERE/stop.sh
EOF
}

# On exit: put back the machine's policy-rc.d; after a failure, stop what this run
# started (logs stay) unless PRAAS_OS_KEEP_ON_FAILURE=1.
TMP_POLICY=0
STARTED_ANY=0
on_exit() {
	local rc=$?
	[ "$TMP_POLICY" -eq 0 ] || policy_restore
	if [ "$rc" -ne 0 ] && [ "$STARTED_ANY" -eq 1 ] && [ "${PRAAS_OS_KEEP_ON_FAILURE:-0}" != 1 ]; then
		echo "[praas-openstack] start failed: stopping what it started (logs in $OS_LOG_DIR)" >&2
		bash "$HERE/stop.sh" >&2 || true
	fi
}
trap on_exit EXIT

# -------------------------------------------------------- 1. packages
# Maintainer scripts must start no daemon (keystone's init script would
# listen on all addresses; postgresql's main cluster is not used). A
# machine's policy-rc.d that already denies (Docker's does) is kept; else
# ours replaces it (the original saved aside) until the install is over.
POLICY=/usr/sbin/policy-rc.d
policy_deny() {
	local rc=0
	if [ -x "$POLICY" ]; then
		"$POLICY" keystone start >/dev/null 2>&1 || rc=$?
		[ "$rc" -ne 101 ] || return 0
		mv "$POLICY" "$POLICY.praas-saved"
	fi
	TMP_POLICY=1
	printf '#!/bin/sh\n# praas test/openstack/start.sh: no daemon starts while installing\nexit 101\n' \
		>"$POLICY"
	chmod 755 "$POLICY"
}
policy_restore() {
	[ "$TMP_POLICY" -eq 1 ] || return 0
	rm -f "$POLICY"
	[ ! -e "$POLICY.praas-saved" ] || mv "$POLICY.praas-saved" "$POLICY"
	TMP_POLICY=0
}

install_packages() {
	local missing="" p apt_log=$OS_LOG_DIR/apt.log
	for p in $PACKAGES; do pkg_installed "$p" || missing="$missing $p"; done
	[ -n "$missing" ] || return 0
	[ "$NO_INSTALL" -eq 0 ] || die "missing packages:$missing (and --no-install given)"
	mkdir -p "$OS_LOG_DIR"
	log "installing:$missing and their dependencies (~220 packages, ~3 min the first time)"
	export DEBIAN_FRONTEND=noninteractive
	# The packages would ask (debconf, dbconfig-common) to set up a database,
	# RabbitMQ, keystone_authtoken, an admin tenant, endpoints: all "no",
	# this script configures everything itself in its own directories.
	debconf-set-selections <<'EOF'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
EOF
	policy_deny
	apt-get update -qq >"$apt_log" 2>&1 || {
		tail -n 20 "$apt_log" >&2
		die "apt-get update failed"
	}
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		$missing >>"$apt_log" 2>&1 || {
		tail -n 40 "$apt_log" >&2
		die "apt-get install failed; see $apt_log"
	}
	policy_restore
	log "installed $(grep -c '^Setting up ' "$apt_log") packages (apt log: $apt_log)"
}

os_lock
T_BEGIN=$(now)
if [ "$FRESH" -eq 1 ]; then
	if os_any_recorded_alive; then
		log "--fresh: stopping the running instance"
		bash "$HERE/stop.sh"
	fi
	log "--fresh: wiping $OS_STATE_DIR $OS_CONF_DIR $OS_LOG_DIR $OS_RUN_DIR"
	rm -rf "$OS_STATE_DIR" "$OS_CONF_DIR" "$OS_LOG_DIR" "$OS_RUN_DIR"
fi
T0=$(now)
install_packages
T_INSTALL=$(secs "$T0" "$(now)")
log "packages: ${T_INSTALL}s"
[ "$INSTALL_ONLY" -eq 0 ] || exit 0

PGBIN=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/postgres" ]; then
	die "PostgreSQL server binaries not found under /usr/lib/postgresql"
fi
for c in keystone-manage neutron-server neutron-db-manage uwsgi-core jq curl setpriv ss; do
	command -v "$c" >/dev/null || die "$c not found"
done
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || die "uwsgi python3 plugin missing"
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || die "rabbitmq-server not found"

# ------------------------------------------------------------ 2. state
if os_all_recorded_alive &&
	[ "$(http_code "$OS_KS_URL")" = 200 ] &&
	[ "$(http_code "$OS_NEUTRON_URL/")" = 200 ] &&
	[ -s "$OS_CLOUDS_YAML" ]; then
	log "already running (pids in $OS_PID_FILE)"
	print_summary
	exit 0
fi
# Up, but started before RabbitMQ was part of it: keep PostgreSQL and
# Keystone (others' tests use them), add RabbitMQ, restart Neutron once.
UPGRADE=0
if os_recorded_alive postgresql && os_recorded_alive keystone &&
	os_recorded_alive neutron-server && ! grep -q '^epmd \|^rabbitmq ' "$OS_PID_FILE" &&
	[ "$(http_code "$OS_KS_URL")" = 200 ] && [ "$(http_code "$OS_NEUTRON_URL/")" = 200 ]; then
	log "up without RabbitMQ: starting it, then restarting neutron-server once"
	UPGRADE=1
elif os_any_recorded_alive; then
	log "partly running: stopping what is left before a clean start"
	bash "$HERE/stop.sh"
fi
[ "$UPGRADE" -eq 1 ] || rm -f "$OS_PID_FILE"

if [ "$UPGRADE" -eq 0 ]; then
	check_port_free "$PRAAS_OS_KEYSTONE_PORT" keystone
	check_port_free "$PRAAS_OS_NEUTRON_PORT" neutron
fi
for p in "$PRAAS_OS_RABBIT_PORT" $((PRAAS_OS_RABBIT_PORT + 1)) $((PRAAS_OS_RABBIT_PORT + 2)); do
	check_port_free "$p" rabbit
done

# ----------------------------------------------------------- 3. config
mkdir -p "$OS_CONF_DIR" "$OS_STATE_DIR/neutron/lock" "$OS_STATE_DIR/keystone" \
	"$OS_LOG_DIR" "$OS_RUN_DIR"
chmod 755 "$OS_CONF_DIR"
DB_PW=$(secret db)
NEUTRON_SVC_PW=$(secret neutron-service)
RABBIT_PW=$(secret rabbit-openstack)
RABBIT_PRAAS_PW=$(secret rabbit-praas)
RABBIT_URL=rabbit://openstack:$RABBIT_PW@$OS_HOST:$PRAAS_OS_RABBIT_PORT/
# psycopg2 over the private unix socket (host= names its directory)
db_url() { echo "postgresql+psycopg2://openstack:$DB_PW@/$1?host=$OS_PGSOCK&port=$OS_PG_PORT"; }

write_conf() { # file: stdin -> file, readable by root only (it holds secrets)
	(umask 077 && cat >"$1.tmp")
	mv "$1.tmp" "$1"
}

write_conf "$OS_CONF_DIR/keystone.conf" <<EOF
# generated by praas test/openstack/start.sh
[DEFAULT]
use_stderr = true
[database]
connection = $(db_url keystone)
[identity]
# cheapest bcrypt cost: password auth in tests takes milliseconds
password_hash_rounds = 4
[token]
provider = fernet
[fernet_tokens]
key_repository = $OS_STATE_DIR/keystone/fernet-keys
[fernet_receipts]
key_repository = $OS_STATE_DIR/keystone/fernet-keys
[credential]
key_repository = $OS_STATE_DIR/keystone/credential-keys
[cache]
# in-process cache: Keystone runs as one uwsgi process, so it stays coherent
enabled = true
backend = dogpile.cache.memory
[oslo_messaging_notifications]
driver = noop
EOF

write_conf "$OS_CONF_DIR/neutron.conf" <<EOF
# generated by praas test/openstack/start.sh
[DEFAULT]
bind_host = $OS_HOST
bind_port = $PRAAS_OS_NEUTRON_PORT
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
api_paste_config = /usr/share/neutron-common/api-paste.ini
# API in the main process; Neutron forks one RPC worker whatever we say
api_workers = 0
rpc_workers = 1
rpc_state_report_workers = 0
# RPC and notifications on our private RabbitMQ (no agent listens)
transport_url = $RABBIT_URL
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
allow_overlapping_ips = true
state_path = $OS_STATE_DIR/neutron
use_stderr = true
[database]
connection = $(db_url neutron)
[keystone_authtoken]
www_authenticate_uri = http://$OS_HOST:$PRAAS_OS_KEYSTONE_PORT
auth_url = http://$OS_HOST:$PRAAS_OS_KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $NEUTRON_SVC_PW
region_name = $PRAAS_OS_REGION
[oslo_concurrency]
lock_path = $OS_STATE_DIR/neutron/lock
[oslo_messaging_notifications]
# exchange neutron, routing key notifications.info: what praas-monitor-agent consumes
driver = messagingv2
[quotas]
# unlimited: a test run that leaks must not make the next one hit a quota
quota_network = -1
quota_subnet = -1
quota_port = -1
quota_router = -1
quota_floatingip = -1
quota_security_group = -1
quota_security_group_rule = -1
EOF

write_conf "$OS_CONF_DIR/ml2_conf.ini" <<'EOF'
# generated by praas test/openstack/start.sh
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
# no mechanism driver: ports are stored, never bound to a host
mechanism_drivers =
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = 1:10000
EOF

# ------------------------------------------------------- 4. PostgreSQL
T0=$(now)
install -d -o postgres -g postgres -m 755 "$OS_PGSOCK"
touch "$OS_LOG_DIR/postgresql.log"
chown postgres:postgres "$OS_LOG_DIR/postgresql.log"
if [ ! -s "$OS_PGDATA/PG_VERSION" ]; then
	log "initdb $OS_PGDATA"
	rm -rf "$OS_PGDATA"
	install -d -o postgres -g postgres -m 700 "$OS_PGDATA"
	(cd / && as_postgres "$PGBIN/initdb" -D "$OS_PGDATA" -U postgres -E UTF8 \
		--locale=C.UTF-8 --auth-local=peer --auth-host=reject) \
		>"$OS_LOG_DIR/initdb.log" 2>&1 || {
		cat "$OS_LOG_DIR/initdb.log" >&2
		die "initdb failed"
	}
	# unix socket only: the superuser by peer, the services by password
	cat >"$OS_PGDATA/pg_hba.conf" <<'EOF'
local all postgres peer
local all openstack scram-sha-256
EOF
	chown postgres:postgres "$OS_PGDATA/pg_hba.conf"
fi
# listen_addresses='': no TCP at all. Durability traded for speed (tests).
os_recorded_alive postgresql || (cd / && as_postgres "$PGBIN/pg_ctl" -D "$OS_PGDATA" -l "$OS_LOG_DIR/postgresql.log" -w -t 60 \
	-o "-c listen_addresses='' -c port=$OS_PG_PORT -c unix_socket_directories=$OS_PGSOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
	start) >/dev/null 9>&- || {
	tail -n 20 "$OS_LOG_DIR/postgresql.log" >&2
	die "PostgreSQL did not start"
}
os_recorded_alive postgresql || record_pid postgresql "$(head -n 1 "$OS_PGDATA/postmaster.pid")"
psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'openstack'" | grep -q 1 ||
	psql_admin -c "CREATE ROLE openstack LOGIN"
psql_admin -c "ALTER ROLE openstack PASSWORD '$DB_PW'"
for db in keystone neutron; do
	psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
		psql_admin -c "CREATE DATABASE $db OWNER openstack"
done
T_PG=$(secs "$T0" "$(now)")

# -------------------------------------------- 5. schemas, in parallel
T0=$(now)
KS_VER=$(dpkg-query -W -f='${Version}' python3-keystone)
NE_VER=$(dpkg-query -W -f='${Version}' python3-neutron)
# bootstrap again when the version, admin password, region or port change
KS_MARK="$KS_VER $(printf '%s' "$PRAAS_OS_ADMIN_PASSWORD $PRAAS_OS_REGION $PRAAS_OS_KEYSTONE_PORT" | md5sum | cut -c1-12)"
KM="keystone-manage --config-file $OS_CONF_DIR/keystone.conf"

keystone_db() {
	set -e
	cd /
	[ -e "$OS_STATE_DIR/keystone/fernet-keys/0" ] ||
		$KM fernet_setup --keystone-user root --keystone-group root
	[ -e "$OS_STATE_DIR/keystone/credential-keys/0" ] ||
		$KM credential_setup --keystone-user root --keystone-group root
	if [ "$(cat "$OS_STATE_DIR/keystone-schema.done" 2>/dev/null)" != "$KS_MARK" ]; then
		$KM db_sync
		OS_BOOTSTRAP_PASSWORD=$PRAAS_OS_ADMIN_PASSWORD $KM bootstrap \
			--bootstrap-username admin --bootstrap-project-name admin \
			--bootstrap-role-name admin --bootstrap-service-name keystone \
			--bootstrap-region-id "$PRAAS_OS_REGION" \
			--bootstrap-admin-url "$OS_KS_URL" --bootstrap-public-url "$OS_KS_URL" \
			--bootstrap-internal-url "$OS_KS_URL"
		echo "$KS_MARK" >"$OS_STATE_DIR/keystone-schema.done"
	fi
}

neutron_db() {
	set -e
	cd /
	if [ "$(cat "$OS_STATE_DIR/neutron-schema.done" 2>/dev/null)" != "$NE_VER" ]; then
		neutron-db-manage --config-file "$OS_CONF_DIR/neutron.conf" \
			--config-file "$OS_CONF_DIR/ml2_conf.ini" upgrade head
		echo "$NE_VER" >"$OS_STATE_DIR/neutron-schema.done"
	fi
}

keystone_db >"$OS_LOG_DIR/keystone-manage.log" 2>&1 &
KDB=$!
neutron_db >"$OS_LOG_DIR/neutron-db-manage.log" 2>&1 &
NDB=$!
wait "$KDB" || {
	tail -n 30 "$OS_LOG_DIR/keystone-manage.log" >&2
	die "keystone db_sync/bootstrap failed"
}
wait "$NDB" || {
	tail -n 30 "$OS_LOG_DIR/neutron-db-manage.log" >&2
	die "neutron-db-manage upgrade head failed"
}
T_SCHEMA=$(secs "$T0" "$(now)")

# ---------------------------------------------------------- 6. services
T0=$(now)
cd /
# RabbitMQ first: neutron-server connects at start. Its epmd is recorded
# before it, so that stop.sh (reverse order) stops the broker, then epmd.
# Queues nobody reads in tests (notifications.info: no Telemetry here) are
# capped; test queues left behind by a killed run expire.
T_RMQ=$(now)
RMQ_PIDS=$(rabbit_start "$OS_RABBIT_DIR" "$OS_RABBIT_NODE" "$PRAAS_OS_RABBIT_PORT" openstack "$RABBIT_PW") ||
	die "RabbitMQ did not start; see $OS_RABBIT_DIR/log"
record_pid epmd "${RMQ_PIDS#* }"
record_pid rabbitmq "${RMQ_PIDS%% *}"
rabbit_ctl "$OS_RABBIT_DIR" "$OS_RABBIT_NODE" "$PRAAS_OS_RABBIT_PORT" set_policy --apply-to queues \
	praas-test-caps '^(notifications|praas-test-)' '{"max-length":10000,"expires":3600000}' >/dev/null
rabbit_user "$OS_RABBIT_DIR" "$OS_RABBIT_NODE" "$PRAAS_OS_RABBIT_PORT" praas "$RABBIT_PRAAS_PW" \
	'^praas-.*' '^praas-.*' '^(neutron|praas-.*)$'
write_conf "$OS_RABBIT_ENV" <<EOF
PRAAS_OS_RABBIT_URL=rabbit://praas:$RABBIT_PRAAS_PW@$OS_HOST:$PRAAS_OS_RABBIT_PORT/
PRAAS_OS_RABBIT_ADMIN_URL=$RABBIT_URL
EOF
T_RMQ=$(secs "$T_RMQ" "$(now)")
if [ "$UPGRADE" -eq 1 ]; then
	while read -r name pid st; do
		[ "$name" != neutron-server ] || stop_one "$name" "$pid" "$st" TERM
	done <"$OS_PID_FILE"
	grep -v '^neutron-server ' "$OS_PID_FILE" >"$OS_PID_FILE.tmp" || true
	mv "$OS_PID_FILE.tmp" "$OS_PID_FILE"
fi
# setsid: the services leave this shell's session and outlive it; with no
# job control, setsid execs in place, so $! is the service itself. Output
# goes to files, so a caller reading this script through a pipe won't hang.
if [ "$UPGRADE" -eq 0 ]; then
	setsid env OS_KEYSTONE_CONFIG_DIR="$OS_CONF_DIR" OS_KEYSTONE_CONFIG_FILES=keystone.conf \
		uwsgi-core --plugins python3 --http-socket "$OS_HOST:$PRAAS_OS_KEYSTONE_PORT" \
		--wsgi-file /usr/bin/keystone-wsgi-public --master --processes 1 --threads 8 \
		--enable-threads --die-on-term --no-orphans --need-app --buffer-size 65535 \
		--procname-prefix-spaced praas-keystone: \
		</dev/null >>"$OS_LOG_DIR/keystone.log" 2>&1 9>&- &
	KPID=$!
fi
setsid neutron-server --config-file "$OS_CONF_DIR/neutron.conf" \
	--config-file "$OS_CONF_DIR/ml2_conf.ini" \
	</dev/null >>"$OS_LOG_DIR/neutron-server.log" 2>&1 9>&- &
NPID=$!
sleep 0.2
[ "$UPGRADE" -eq 1 ] || record_pid keystone "$KPID"
record_pid neutron-server "$NPID"

[ "$UPGRADE" -eq 1 ] || wait_http keystone "$OS_KS_URL" 120 "$KPID" "$OS_LOG_DIR/keystone.log"
T_KS_UP=$(secs "$T0" "$(now)")
wait_http neutron-server "$OS_NEUTRON_URL/" 180 "$NPID" "$OS_LOG_DIR/neutron-server.log"
T_NE_UP=$(secs "$T0" "$(now)")

# ------------------------------------- 7. identity data (idempotent)
T1=$(now)
TOKEN=$(ks_token admin "$PRAAS_OS_ADMIN_PASSWORD" admin)
[ -n "$TOKEN" ] || die "no admin token from $OS_KS_URL; see $OS_LOG_DIR/keystone.log"
ADMIN_ROLE=$(role_id admin)
MEMBER_ROLE=$(role_id member)
if [ -z "$ADMIN_ROLE" ] || [ -z "$MEMBER_ROLE" ]; then die "roles admin/member missing"; fi
SERVICE_PROJECT=$(ensure_project service)
DEMO_PROJECT=$(ensure_project demo)
ALT_PROJECT=$(ensure_project alt_demo)
NEUTRON_USER=$(ensure_user neutron "$NEUTRON_SVC_PW" "$SERVICE_PROJECT")
DEMO_USER=$(ensure_user demo "$PRAAS_OS_DEMO_PASSWORD" "$DEMO_PROJECT")
ALT_USER=$(ensure_user alt_demo "$PRAAS_OS_ALT_PASSWORD" "$ALT_PROJECT")
api PUT "$OS_KS_URL/projects/$SERVICE_PROJECT/users/$NEUTRON_USER/roles/$ADMIN_ROLE" >/dev/null
api PUT "$OS_KS_URL/projects/$DEMO_PROJECT/users/$DEMO_USER/roles/$MEMBER_ROLE" >/dev/null
api PUT "$OS_KS_URL/projects/$ALT_PROJECT/users/$ALT_USER/roles/$MEMBER_ROLE" >/dev/null
ensure_network_endpoints

# ------------------------ 8. Neutron accepts tokens; external network
i=0
while [ "$(http_code -H "X-Auth-Token: $TOKEN" "$OS_NEUTRON_URL/v2.0/networks")" != 200 ]; do
	i=$((i + 1))
	[ "$i" -lt 120 ] || die "neutron-server does not accept Keystone tokens; see $OS_LOG_DIR/neutron-server.log"
	sleep 0.5
done
PUB=$(api GET "$OS_NEUTRON_URL/v2.0/networks?name=public" | jq -r '.networks[0].id // empty')
[ -n "$PUB" ] || PUB=$(api POST "$OS_NEUTRON_URL/v2.0/networks" \
	'{"network":{"name":"public","router:external":true,"provider:network_type":"flat","provider:physical_network":"public"}}' |
	jq -r .network.id)
if [ -z "$(api GET "$OS_NEUTRON_URL/v2.0/subnets?network_id=$PUB" | jq -r '.subnets[0].id // empty')" ]; then
	api POST "$OS_NEUTRON_URL/v2.0/subnets" \
		"{\"subnet\":{\"name\":\"public-subnet\",\"network_id\":\"$PUB\",\"ip_version\":4,\"cidr\":\"172.24.4.0/24\",\"gateway_ip\":\"172.24.4.1\",\"enable_dhcp\":false,\"allocation_pools\":[{\"start\":\"172.24.4.2\",\"end\":\"172.24.4.254\"}]}}" >/dev/null
fi

# credentials last: their presence means "ready"
write_openrc "$OS_CONF_DIR/admin-openrc" admin "$PRAAS_OS_ADMIN_PASSWORD" admin
write_openrc "$OS_CONF_DIR/demo-openrc" demo "$PRAAS_OS_DEMO_PASSWORD" demo
write_openrc "$OS_CONF_DIR/alt_demo-openrc" alt_demo "$PRAAS_OS_ALT_PASSWORD" alt_demo
write_clouds_yaml
T_DATA=$(secs "$T1" "$(now)")

log "timings: packages ${T_INSTALL}s, postgresql ${T_PG}s, schemas ${T_SCHEMA}s," \
	"rabbitmq ${T_RMQ}s, keystone up ${T_KS_UP}s / neutron up ${T_NE_UP}s after launch," \
	"users+endpoints+public net ${T_DATA}s, total $(secs "$T_BEGIN" "$(now)")s"
print_summary
