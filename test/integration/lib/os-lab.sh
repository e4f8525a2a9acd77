# shellcheck shell=bash
# os-lab.sh: the real loopback Neutron of test/openstack/start.sh for the
# monitor's tests. Source after topo.sh and agent.sh.
#
#   os_lab_check          skip (77) unless that OpenStack answers; with
#                         PRAAS_OS_REQUIRED=1 a failure instead
#   os_lab_build PREFIX   as demo: a network, a subnet 10.X.Y.0/24 ($L4), a
#                         router ($R) with a gateway ($GW) on public and an
#                         interface on the subnet; all deleted at exit
#   os_lab_two_vms PREFIX os_lab_build, then ports for vm1 and vm2 ($VM1,
#                         $VM2: PORT1, PORT2), the router's namespace r1 with
#                         its gateway, the outside client ($CLIENT), both VMs
#                         serving TCP 22
#   new_port NAME IP      a compute:nova port at IP: prints its id
#   os_req TOKEN METHOD PATH [JSON]   sets OS_STATUS, OS_BODY
#   os_body JQ            reads OS_BODY
#   os_cleanup TOKEN METHOD PATH [JSON]   that request at exit, last first

KS=http://127.0.0.1:${PRAAS_OS_KEYSTONE_PORT:-25000}/v3
NU=http://127.0.0.1:${PRAAS_OS_NEUTRON_PORT:-29696}/v2.0
CLOUDS=${PRAAS_OS_CLOUDS_YAML:-/etc/praas-openstack/clouds.yaml}

os_skip() {
	[[ ${PRAAS_OS_REQUIRED:-0} == 1 ]] && {
		echo "FAIL: $* (and PRAAS_OS_REQUIRED=1)"
		exit 1
	}
	topo_skip "$*"
}
os_lab_check() {
	command -v jq >/dev/null || os_skip "jq is not installed (test/openstack/start.sh installs it)"
	if [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$KS") != 200 ]] ||
		[[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "${NU%/v2.0}/") != 200 ]]; then
		os_skip "the loopback OpenStack is not running ($KS, $NU): run test/openstack/start.sh"
	fi
	[[ -r $CLOUDS ]] || os_skip "no $CLOUDS"
}

# ---- talking to OpenStack (OS_STATUS, OS_BODY)
OS_STATUS='' OS_BODY=''
os_login() { # USER PASSWORD PROJECT: prints a token
	curl -s -m 30 -D - -o /dev/null -H 'Content-Type: application/json' -d "$(jq -cn \
		--arg u "$1" --arg p "$2" --arg j "$3" \
		'{auth:{identity:{methods:["password"],password:{user:{name:$u,domain:{name:"Default"},password:$p}}},scope:{project:{name:$j,domain:{name:"Default"}}}}}')" \
		"$KS/auth/tokens" | awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }' | tr -d '\r'
}
os_req() { # TOKEN METHOD PATH [JSON]
	local out
	out=$(curl -s -m 60 -X "$2" -w '\n%{http_code}' -H "X-Auth-Token: $1" \
		-H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$NU$3")
	OS_STATUS=${out##*$'\n'}
	OS_BODY=${out%$'\n'*}
}
os_body() { jq -r "$1" <<<"$OS_BODY"; }
# Deleted at exit, last first, whatever happened.
os_cleanup() { # TOKEN METHOD PATH [JSON]
	local cmd
	printf -v cmd '%q ' os_req "$@"
	topo_on_exit "$cmd; case \$OS_STATUS in 2??|404) ;; *) echo \"# cleanup $2 $3: \$OS_STATUS\" >&2 ;; esac"
}

new_port() { # NAME IP: prints the port id
	os_req "$DT" POST /ports "{\"port\":{\"name\":\"$1-$SFX\",\"network_id\":\"$NET\",\"device_owner\":\"compute:nova\",\"device_id\":\"$(</proc/sys/kernel/random/uuid)\",\"fixed_ips\":[{\"subnet_id\":\"$SUB\",\"ip_address\":\"$2\"}]}}"
	[[ $OS_STATUS == 201 ]] || return 1
	os_body .port.id
}

# Sets DT (demo's token), SFX, PUB, NET, L4, SUB, R, GW; fails the test if
# the public network is missing.
os_lab_build() { # PREFIX
	DT=$(os_login demo "${PRAAS_OS_DEMO_PASSWORD:-demo}" demo)
	[[ -n $DT ]] || os_skip "no demo token from $KS"
	SFX=$1-$$-$RANDOM
	os_req "$DT" GET "/networks?name=public"
	PUB=$(os_body '.networks[0].id // empty')
	[[ -n $PUB ]] || {
		topo_fail "the public network is there"
		topo_finish
	}
	os_req "$DT" POST /networks "{\"network\":{\"name\":\"net-$SFX\"}}"
	NET=$(os_body '.network.id // empty')
	[[ -n $NET ]] && os_cleanup "$DT" DELETE "/networks/$NET"
	L4=10.$((100 + RANDOM % 100)).$((RANDOM % 256))
	os_req "$DT" POST /subnets "{\"subnet\":{\"name\":\"sub-$SFX\",\"network_id\":\"$NET\",\"ip_version\":4,\"cidr\":\"$L4.0/24\",\"gateway_ip\":\"$L4.1\",\"enable_dhcp\":false}}"
	SUB=$(os_body '.subnet.id // empty')
	os_req "$DT" POST /routers "{\"router\":{\"name\":\"router-$SFX\",\"external_gateway_info\":{\"network_id\":\"$PUB\"}}}"
	R=$(os_body '.router.id // empty')
	[[ -n $R ]] && os_cleanup "$DT" DELETE "/routers/$R"
	GW=$(os_body '.router.external_gateway_info.external_fixed_ips[0].ip_address // empty')
	os_req "$DT" PUT "/routers/$R/add_router_interface" "{\"subnet_id\":\"$SUB\"}"
	[[ $OS_STATUS == 200 ]] && os_cleanup "$DT" PUT "/routers/$R/remove_router_interface" "{\"subnet_id\":\"$SUB\"}"
	return 0
}

os_lab_two_vms() { # PREFIX
	os_lab_build "$1"
	VM1=$L4.11
	VM2=$L4.12
	PORT1=$(new_port vm1 "$VM1") && os_cleanup "$DT" DELETE "/ports/$PORT1"
	PORT2=$(new_port vm2 "$VM2") && os_cleanup "$DT" DELETE "/ports/$PORT2"
	assert_match "Neutron: a router with a gateway on public" '^172\.24\.4\.[0-9]+$' "$GW"
	assert_match "Neutron: a port for vm1 at $VM1" '^[0-9a-f-]{36}$' "$PORT1"
	assert_match "Neutron: a port for vm2 at $VM2" '^[0-9a-f-]{36}$' "$PORT2"
	[[ $TOPO_FAILED == 0 ]] || topo_finish

	# The namespaces, as Neutron's L3 agent and Nova would have made them.
	topo_router -x 172.24.4 -l "$L4" r1 "$R"
	topo_router_set_gw r1 "$GW"
	# The outside client takes hosts from .10 up: never the gateway's address.
	[[ ${GW##*.} -ge 10 && ${GW##*.} -le 11 ]] && TOPO['r1-ext.host']=12
	topo_outside client r1
	topo_vm vm1 r1
	topo_vm vm2 r1
	assert_eq "vm1's namespace holds its port's address" "$VM1" "${TOPO[vm1.ip4]}"
	assert_eq "vm2's namespace holds its port's address" "$VM2" "${TOPO[vm2.ip4]}"
	CLIENT=${TOPO[client.ip4]}
	topo_serve_tcp -t vm1 vm1 any 22 || topo_fail "serve vm1"
	topo_serve_tcp -t vm2 vm2 any 22 || topo_fail "serve vm2"
}
