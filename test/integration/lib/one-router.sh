# One router with an outside client and one VM serving TCP on the ports
# given, for tests about the database rather than the network
# (agent-db-down, agent-db-reads). Sets R, GW4, VM1, CLIENT4 and base;
# create EXTERNAL_PORT forwards it to the VM's port EXTERNAL_PORT - 4000.
# Needs topo.sh and agent.sh.
# shellcheck disable=SC2034 # R, GW4, CLIENT4 are for the sourcing test
one_router_vm() { # PORT...
	topo_router r1
	topo_outside client r1
	topo_vm vm1 r1
	for port in "$@"; do
		topo_serve_tcp -t vm1 vm1 any "$port" || topo_fail "serve vm1 on $port"
	done
	R=${TOPO[r1.uuid]}
	GW4=${TOPO[r1.gw4]}
	VM1=${TOPO[vm1.ip4]}
	CLIENT4=${TOPO[client.ip4]}
	base=/v1/routers/$R/port_forwardings
}

create() { # EXTERNAL_PORT
	api POST "$base" "{\"port_forwarding\":{\"internal_ip_address\":\"$VM1\",\"internal_port\":$(($1 - 4000)),\"external_port\":$1}}"
}
