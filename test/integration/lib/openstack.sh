# shellcheck shell=bash
# openstack.sh: the real loopback OpenStack (test/openstack) from tests:
# tokens and Neutron resources over curl, every resource made deleted at
# exit (registered with topo_on_exit, newest first).
#
#   os_require                 skip (77) unless Keystone and Neutron answer
#   os_token USER              a project-scoped token of admin, demo or alt_demo
#   os_project_id USER         that user's project id
#   neutron TOKEN METHOD PATH [BODY]   sets OS_STATUS and OS_BODY
#   os_json EXPR               evaluate a python expression on OS_BODY as `j`
#   os_make TOKEN RESOURCE BODY        create (POST /v2.0/RESOURCEs), set OS_ID (and
#                                      OS_BODY), and delete it at exit
#   os_tenant USER NAME CIDR3  a network, a subnet CIDR3.0/24 (gateway .1) and a router
#                              with a gateway on `public` and an interface on the
#                              subnet; sets OS[NAME.net] OS[NAME.subnet] OS[NAME.router]
#                              OS[NAME.gw4] OS[NAME.cidr3]
#   os_vm_port USER NAME TENANT IP     a compute:nova port with fixed IP; OS[NAME.port]

: "${PRAAS_OS_KEYSTONE_PORT:=25000}"
: "${PRAAS_OS_NEUTRON_PORT:=29696}"
OS_KEYSTONE=http://127.0.0.1:$PRAAS_OS_KEYSTONE_PORT/v3
OS_NEUTRON=http://127.0.0.1:$PRAAS_OS_NEUTRON_PORT/v2.0
OS_CLOUDS_YAML=/etc/praas-openstack/clouds.yaml
OS_STATUS=
OS_BODY=
OS_ID=
declare -gA OS=()
declare -gA OS__TOKENS=()

os_require() {
	curl -sf -m 3 "$OS_KEYSTONE" >/dev/null 2>&1 &&
		curl -s -m 3 -o /dev/null "$OS_NEUTRON/" 2>/dev/null &&
		[[ -r $OS_CLOUDS_YAML ]] ||
		topo_skip "the loopback OpenStack is not running (sudo test/openstack/start.sh)"
}

os_token() {
	local user=$1 pw=${2:-$1}
	if [[ -z ${OS__TOKENS[$user]:-} ]]; then
		OS__TOKENS[$user]=$(curl -s -m 10 -D - -o /dev/null -H 'Content-Type: application/json' \
			-d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$user\",\"domain\":{\"id\":\"default\"},\"password\":\"$pw\"}}},\"scope\":{\"project\":{\"name\":\"$user\",\"domain\":{\"id\":\"default\"}}}}}" \
			"$OS_KEYSTONE/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
	fi
	echo "${OS__TOKENS[$user]}"
}

os_json() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$OS_BODY" "$1"
}

os_project_id() {
	local t
	t=$(os_token "$1")
	OS_BODY=$(curl -s -m 10 -H "X-Auth-Token: $t" -H "X-Subject-Token: $t" "$OS_KEYSTONE/auth/tokens")
	os_json 'j["token"]["project"]["id"]'
}

neutron() {
	local token=$1 method=$2 path=$3 body=${4:-} out
	out=$(curl -s -m 30 -X "$method" -w '\n%{http_code}' -H "X-Auth-Token: $token" \
		-H 'Content-Type: application/json' ${body:+-d "$body"} "$OS_NEUTRON$path")
	OS_STATUS=${out##*$'\n'}
	OS_BODY=${out%$'\n'*}
}

os_make() {
	local token=$1 res=$2 body=$3
	OS_ID=
	neutron "$token" POST "/${res}s" "$body"
	[[ $OS_STATUS == 201 ]] || { echo "# create $res failed: $OS_STATUS $OS_BODY" >&2; return 1; }
	OS_ID=$(os_json "j[\"$res\"][\"id\"]")
	topo_on_exit "neutron $(os_token admin) DELETE /${res}s/$OS_ID >/dev/null"
}

os_tenant() {
	local user=$1 name=$2 c3=$3 t pub
	t=$(os_token "$user")
	OS[$name.cidr3]=$c3
	os_make "$t" network "{\"network\":{\"name\":\"$name\"}}" || return 1
	OS[$name.net]=$OS_ID
	os_make "$t" subnet "{\"subnet\":{\"name\":\"$name\",\"network_id\":\"${OS[$name.net]}\",\"ip_version\":4,\"cidr\":\"$c3.0/24\",\"gateway_ip\":\"$c3.1\",\"enable_dhcp\":false}}" || return 1
	OS[$name.subnet]=$OS_ID
	neutron "$t" GET "/networks?name=public&fields=id"
	pub=$(os_json 'j["networks"][0]["id"]')
	os_make "$t" router "{\"router\":{\"name\":\"$name\",\"external_gateway_info\":{\"network_id\":\"$pub\"}}}" || return 1
	OS[$name.router]=$OS_ID
	OS[$name.gw4]=$(os_json 'j["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]')
	neutron "$t" PUT "/routers/${OS[$name.router]}/add_router_interface" "{\"subnet_id\":\"${OS[$name.subnet]}\"}"
	[[ $OS_STATUS == 200 ]] || { echo "# add interface failed: $OS_BODY" >&2; return 1; }
	# The interface must go before the router and the subnet can.
	topo_on_exit "neutron $(os_token admin) PUT /routers/${OS[$name.router]}/remove_router_interface '{\"subnet_id\":\"${OS[$name.subnet]}\"}' >/dev/null"
}

os_vm_port() {
	local user=$1 name=$2 tenant=$3 ip=$4 t
	t=$(os_token "$user")
	os_make "$t" port "{\"port\":{\"name\":\"$name\",\"network_id\":\"${OS[$tenant.net]}\",\"device_owner\":\"compute:nova\",\"device_id\":\"$(cat /proc/sys/kernel/random/uuid)\",\"fixed_ips\":[{\"subnet_id\":\"${OS[$tenant.subnet]}\",\"ip_address\":\"$ip\"}]}}" || return 1
	OS[$name.port]=$OS_ID
}
