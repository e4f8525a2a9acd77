# shellcheck shell=bash disable=SC2154 # top, state and TOPO_ID are tools/lab's
# lab-openstack.sh: the Neutron side of `tools/lab up --openstack`. Sourced
# by tools/lab, never run.
#
#   labos_up    start the loopback OpenStack if it is not answering; as the
#               demo user make a network, a subnet (gateway .1), a router
#               with a gateway on `public` and an interface on the subnet,
#               and two compute:nova ports at .11 and .12. Sets LABOS[name]
#               LABOS[router] LABOS[gw4] LABOS[cidr3]. Each resource made is
#               recorded in $state/neutron, before the next is asked for.
#   labos_down  undo what $state/neutron records, newest first, as admin;
#               a resource already gone (404) is fine.

# shellcheck source=../test/openstack/common.sh
. "$top/test/openstack/common.sh"
declare -gA LABOS=()
LABOS_STATUS=
LABOS_BODY=

labos__token() { # USER PASSWORD
	curl -s -m 30 -D - -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$2\"}}},\"scope\":{\"project\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"}}}}}" \
		"$OS_KS_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

labos__req() { # TOKEN METHOD PATH [BODY]
	local out
	out=$(curl -s -m 60 -X "$2" -w '\n%{http_code}' -H "X-Auth-Token: $1" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} "$OS_NEUTRON_URL/v2.0$3")
	LABOS_STATUS=${out##*$'\n'}
	LABOS_BODY=${out%$'\n'*}
}

labos__json() { # EXPR over LABOS_BODY as j
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$LABOS_BODY" "$1" 2>/dev/null
}

# Creates RESOURCE (POST /RESOURCEs) with BODY; prints its id, records its deletion.
labos__make() { # TOKEN RESOURCE BODY
	local id
	labos__req "$1" POST "/${2}s" "$3"
	if [[ $LABOS_STATUS != 201 ]]; then
		echo "lab: Neutron refused to create a $2: HTTP $LABOS_STATUS $LABOS_BODY" >&2
		return 1
	fi
	id=$(labos__json "j[\"$2\"][\"id\"]")
	echo "DELETE /${2}s/$id" >>"$state/neutron"
	LABOS[$2]=$id
}

labos__running() {
	[[ $(http_code "$OS_KS_URL") == 200 && $(http_code "$OS_NEUTRON_URL/") == 200 ]]
}

labos_up() {
	local t pub sub name
	if ! labos__running; then
		say "starting the loopback OpenStack (test/openstack/start.sh; the first time installs"
		say "about 220 Debian packages and takes a few minutes)"
		bash "$top/test/openstack/start.sh" >"$state/openstack-start.log" 2>&1 || {
			tail -n 20 "$state/openstack-start.log" >&2
			return 1
		}
	fi
	t=$(labos__token demo "$PRAAS_OS_DEMO_PASSWORD")
	[[ -n $t ]] || { echo "lab: Keystone gave the demo user no token" >&2; return 1; }
	name=praas-lab-$TOPO_ID
	LABOS[name]=$name
	LABOS[cidr3]=10.$((60 + RANDOM % 10)).$((RANDOM % 250))
	say "Neutron, as demo: router $name with a gateway on public, subnet ${LABOS[cidr3]}.0/24, two VM ports"
	: >>"$state/neutron"
	labos__make "$t" network "{\"network\":{\"name\":\"$name\"}}" || return 1
	labos__make "$t" subnet "{\"subnet\":{\"name\":\"$name\",\"network_id\":\"${LABOS[network]}\",\"ip_version\":4,\"cidr\":\"${LABOS[cidr3]}.0/24\",\"gateway_ip\":\"${LABOS[cidr3]}.1\",\"enable_dhcp\":false}}" || return 1
	sub=${LABOS[subnet]}
	labos__req "$t" GET "/networks?name=public&fields=id"
	pub=$(labos__json 'j["networks"][0]["id"]')
	[[ -n $pub ]] || { echo "lab: Neutron has no network named public" >&2; return 1; }
	labos__make "$t" router "{\"router\":{\"name\":\"$name\",\"external_gateway_info\":{\"network_id\":\"$pub\"}}}" || return 1
	LABOS[gw4]=$(labos__json 'j["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]')
	labos__req "$t" PUT "/routers/${LABOS[router]}/add_router_interface" "{\"subnet_id\":\"$sub\"}"
	[[ $LABOS_STATUS == 200 ]] || { echo "lab: add_router_interface: HTTP $LABOS_STATUS $LABOS_BODY" >&2; return 1; }
	echo "PUT /routers/${LABOS[router]}/remove_router_interface {\"subnet_id\":\"$sub\"}" >>"$state/neutron"
	local i
	for i in 1 2; do
		labos__make "$t" port "{\"port\":{\"name\":\"$name-vm$i\",\"network_id\":\"${LABOS[network]}\",\"device_owner\":\"compute:nova\",\"device_id\":\"$(</proc/sys/kernel/random/uuid)\",\"fixed_ips\":[{\"subnet_id\":\"$sub\",\"ip_address\":\"${LABOS[cidr3]}.1$i\"}]}}" || return 1
	done
	say "router ${LABOS[router]}, gateway ${LABOS[gw4]} (Neutron's)"
}

labos_down() {
	local t m p b
	[[ -s $state/neutron ]] || return 0
	t=$(labos__token admin "$PRAAS_OS_ADMIN_PASSWORD")
	if [[ -z $t ]]; then
		echo "lab: Keystone is not answering: the Neutron resources in $state/neutron stay" >&2
		return 1
	fi
	while read -r m p b; do
		labos__req "$t" "$m" "$p" "$b"
		case $LABOS_STATUS in
		2?? | 404) ;;
		*) echo "lab: $m $p: HTTP $LABOS_STATUS $LABOS_BODY" >&2 ;;
		esac
	done < <(tac "$state/neutron")
}
