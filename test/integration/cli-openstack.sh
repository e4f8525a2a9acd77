#!/usr/bin/env bash
# The praas CLI against the real loopback OpenStack (test/openstack): the
# pat-agent runs with Keystone auth (cloud praas-admin); the CLI runs as the
# demo user from clouds.yaml (--os-cloud praas-demo). Checked: the token
# comes from clouds.yaml, ROUTER by name is resolved through Neutron,
# --port takes a Neutron port, the endpoint comes from the Keystone catalog
# (a "praas" service registered here and removed after), another tenant is
# refused, and a forwarding made with the CLI carries traffic through a
# namespace built from Neutron's addresses. Every Neutron and Keystone
# resource made is deleted at exit, also on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topo.sh"
. "$here/lib/agent.sh"
. "$here/lib/openstack.sh"

topo_init clios
os_require
[[ -x $PRAAS_CLI ]] || topo_skip "no praas CLI at $PRAAS_CLI (build first)"
sfx=$TOPO_ID
ADMIN=$(os_token admin)
DEMO_PROJECT=$(os_project_id demo)

# Neutron, as demo: a router named cli-<id> with a gateway on public, a
# network and subnet attached to it, and a VM's port with a fixed IP.
T="cli-$sfx"
os_tenant demo "$T" "10.73.$((RANDOM % 200))" || {
	topo_fail "demo's router, network and subnet in Neutron"
	topo_finish
}
os_vm_port demo vmport "$T" "${OS[$T.cidr3]}.11" || topo_fail "demo's VM port"
os_vm_port demo vmport2 "$T" "${OS[$T.cidr3]}.12" || topo_fail "demo's second VM port"
os_tenant alt_demo "cli-alt-$sfx" "10.74.$((RANDOM % 200))" || topo_fail "alt_demo's router"
RID=${OS[$T.router]}
GW=${OS[$T.gw4]}

# The network node's namespaces, from what Neutron answered.
topo_router -x 172.24.4 -l "${OS[$T.cidr3]}" r "$RID"
topo_router_set_gw r "$GW"
TOPO["r-ext.host"]=240
topo_outside client r
topo_vm vm r
topo_vm vm2 r
assert_eq "the VM namespace has the port's fixed IP" "${OS[$T.cidr3]}.11" "${TOPO[vm.ip4]}"
topo_serve_tcp -t vm vm any 22 || topo_fail "serve vm:22"
topo_serve_tcp -t vm2 vm2 any 80 || topo_fail "serve vm2:80"
CLIENT=${TOPO[client.ip4]}

agent_config 'auth="keystone"' 'cloud="praas-admin"' "clouds_file=\"$OS_CLOUDS_YAML\""
agent_start || {
	topo_fail "agent starts"
	topo_finish
}

# praas ARGS...: the CLI with only what the arguments and CLI_ENV say; sets OUT ERR RC.
CLI_ENV=()
praas() {
	local errf=$TOPO_DIR/cli.err
	OUT=$(env -u OS_CLOUD -u OS_AUTH_URL -u PRAAS_URL -u OS_USERNAME -u OS_PASSWORD \
		-u OS_PROJECT_NAME -u OS_TOKEN OS_CLIENT_CONFIG_FILE="$OS_CLOUDS_YAML" \
		"${CLI_ENV[@]}" "$PRAAS_CLI" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
}
json() {
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); r = eval(sys.argv[2]); print(str(r).lower() if isinstance(r, bool) else r)' "$OUT" "$1"
}
refused() { # DESC REGEX
	assert_eq "$1: exit 1" 1 "$RC"
	assert_eq "$1: one line on stderr" 1 "$(printf '%s\n' "$ERR" | wc -l)"
	assert_match "$1: says why" "^praas: .*$2" "$ERR"
}

# ------------------------------------------------------------- tokens
praas --url "$AGENT_URL" forwarding list --router "$RID"
refused "no credentials against a Keystone agent" "HTTP 401"
praas --url "$AGENT_URL" --os-cloud no-such-cloud forwarding list
refused "an unknown cloud" "no-such-cloud"
praas --url "$AGENT_URL" --os-cloud praas-demo -f json forwarding list --router "$RID"
assert_eq "demo's token from clouds.yaml: list exits 0" 0 "$RC"
assert_eq "demo's router has no forwardings yet" 0 "$(json 'len(j)')"
CLI_ENV=(OS_CLOUD=praas-demo)
praas --url "$AGENT_URL" -f json forwarding list --router "$RID"
assert_eq "OS_CLOUD works as --os-cloud" "0 0" "$RC $(json 'len(j)')"
CLI_ENV=()
# An openrc's OS_* variables alone, as the openstack CLI takes them.
mapfile -t CLI_ENV < <(sed -n 's/^export \(OS_[A-Z_]*=.*\)$/\1/p' /etc/praas-openstack/demo-openrc)
praas --url "$AGENT_URL" -f json forwarding list --router "$RID"
assert_eq "OS_* variables (demo-openrc) work as credentials" "0 0" "$RC $(json 'len(j)')"
CLI_ENV+=(OS_PASSWORD=wrong)
praas --url "$AGENT_URL" forwarding list --router "$RID"
refused "a wrong OS_PASSWORD" "401|[Aa]uthenticat"
CLI_ENV=()

# ------------------------------------------------------------- ROUTER by name
praas --url "$AGENT_URL" --os-cloud praas-demo -f json forwarding create --router "$T" \
	--internal-ip "${OS[$T.cidr3]}.11" --internal-port 22 --external-port 4022 --description "by name"
assert_eq "create with ROUTER by name exits 0" 0 "$RC"
F1=$(json 'j["id"]')
assert_eq "the name resolved to Neutron's router id" "$RID" "$(json 'j["router_id"]')"
assert_eq "external address is Neutron's gateway address" "$GW" "$(json 'j["external_ip_address"]')"
assert_eq "internal_port_id found in Neutron" "${OS[vmport.port]}" "$(json 'j["internal_port_id"]')"
assert_eq "project_id is demo's" "$DEMO_PROJECT" "$(json 'j["project_id"]')"
assert_eq "status ACTIVE (the namespace is here)" ACTIVE "$(json 'j["status"]')"
assert_eq "traffic: client -> gateway:4022 -> VM, which sees the client" \
	"$CLIENT vm" "$(topo_tcp_query client "$GW" 4022)"
praas --url "$AGENT_URL" --os-cloud praas-demo forwarding list --router "no-router-$sfx"
refused "an unknown router name" "no router named no-router-$sfx"

# --port: the target is a Neutron port
praas --url "$AGENT_URL" --os-cloud praas-demo -f json forwarding create --router "$T" \
	--port "${OS[vmport2.port]}" --internal-port 80 --external-port 4080
assert_eq "create --port exits 0" 0 "$RC"
F2=$(json 'j["id"]')
assert_eq "--port: the address is the port's fixed IP" "${OS[$T.cidr3]}.12" "$(json 'j["internal_ip_address"]')"
assert_eq "--port: traffic reaches vm2" "$CLIENT vm2" "$(topo_tcp_query client "$GW" 4080)"

# ------------------------------------------------------------- another tenant
praas --url "$AGENT_URL" --os-cloud praas-alt forwarding show --router "$RID" "$F1"
refused "alt_demo shows demo's forwarding" "HTTP 403"
praas --url "$AGENT_URL" --os-cloud praas-alt forwarding list --router "$T"
refused "alt_demo cannot even find demo's router by name" "no router named $T"

# ------------------------------------------------------------- the catalog
catalog_has_praas() {
	curl -s -m 10 -H "X-Auth-Token: $ADMIN" "$OS_KEYSTONE/services?type=praas" |
		python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["services"] else 1)'
}
if ! catalog_has_praas; then
	praas --os-cloud praas-demo forwarding list
	refused "no --url, no PRAAS_URL, no praas in the catalog" "no PRaaS endpoint"
fi
SVC=$(curl -s -m 10 -H "X-Auth-Token: $ADMIN" -H 'Content-Type: application/json' \
	-d "{\"service\":{\"type\":\"praas\",\"name\":\"praas-$sfx\",\"description\":\"cli test\"}}" \
	"$OS_KEYSTONE/services" | python3 -c 'import json, sys; print(json.load(sys.stdin)["service"]["id"])')
if [[ -n $SVC ]]; then
	topo_on_exit "curl -s -m 10 -X DELETE -H 'X-Auth-Token: $ADMIN' '$OS_KEYSTONE/services/$SVC' >/dev/null"
	EP=$(curl -s -m 10 -H "X-Auth-Token: $ADMIN" -H 'Content-Type: application/json' \
		-d "{\"endpoint\":{\"service_id\":\"$SVC\",\"interface\":\"public\",\"region_id\":\"RegionOne\",\"url\":\"$AGENT_URL\"}}" \
		"$OS_KEYSTONE/endpoints" | python3 -c 'import json, sys; print(json.load(sys.stdin)["endpoint"]["id"])')
	[[ -n $EP ]] && topo_on_exit "curl -s -m 10 -X DELETE -H 'X-Auth-Token: $ADMIN' '$OS_KEYSTONE/endpoints/$EP' >/dev/null"
fi
assert_match "a praas service and endpoint registered in Keystone" '^[0-9a-f]{32} [0-9a-f]{32}$' "${SVC:-} ${EP:-}"
praas --os-cloud praas-demo -f json forwarding show --router "$T" "$F1"
assert_eq "the endpoint from the catalog: show exits 0" 0 "$RC"
assert_eq "the endpoint from the catalog: the forwarding" "$F1" "$(json 'j["id"]')"
praas --os-cloud praas-demo -f json forwarding set --router "$T" "$F1" --external-port 4122
assert_eq "set through the catalog, by name" "0 4122" "$RC $(json 'j["external_port"]')"
assert_eq "set: traffic moved to 4122" "$CLIENT vm" "$(topo_tcp_query client "$GW" 4122)"
praas --os-cloud praas-demo -f value forwarding list
assert_eq "list of all demo may see: its 2" 2 "$(wc -l <<<"$OUT")"
praas --os-cloud praas-demo forwarding delete --router "$T" "$F1" "$F2"
assert_eq "delete of both by name exits 0" 0 "$RC"
assert_fails "no traffic after delete" topo_tcp_query client "$GW" 4122 2
praas --os-cloud praas-demo -f json forwarding list --router "$T"
assert_eq "none left" "0 0" "$RC $(json 'len(j)')"

agent_stop || topo_fail "agent stops cleanly"
topo_finish
