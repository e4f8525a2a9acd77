# shellcheck shell=bash disable=SC2154 # TOPO and its keys are topo.sh's
# topo-ha.sh: an HA router's replicas on simulated nodes, with Debian's
# keepalived in each as Neutron's L3 agent runs it (issue 13). Source after
# topo.sh and topo_init; used by test/integration/ha-failover.sh and
# `tools/lab up --ha`.
#
#   client 203.0.113.10 --[ha-ext]-- qg- (VIP 203.0.113.1)   replica on each node:
#   VMs 10.0.0.11.. -----[ha-lan]--- qr- (VIP 10.0.0.1)      qrouter-<uuid>
#                        [ha-link]-- ha- 169.254.192.N       (keepalived, VRRP)
#
# A node is simulated as SCALE.md says: its replica is a namespace
# (<prefix>-<id>-NODE) bound as $TOPO_DIR/NODE/netns/qrouter-<uuid>, the
# netns_dir of that node's agent, and Neutron's keepalived.conf for it is
# $TOPO_DIR/NODE/ha_confs/<uuid>/keepalived.conf (that node's ha_confs_path).
# The replicas' qg- and qr- devices have no address: keepalived adds the
# VIPs on the master, as on a Neutron network node. topo_cleanup unmounts the
# nodes' bindings with everything else under $TOPO_DIR.
#
#   topo_ha_router [ADVERT_INT]
#                         a router with a random UUID and its three segments; TOPO[ha.uuid], TOPO[ha.ns] (the
#                         namespace name on every node), TOPO[ha.gw4] (the
#                         VIP), TOPO[ha.qg] TOPO[ha.qr] TOPO[ha.ha] (devices,
#                         the same on every replica, as Neutron names them),
#                         TOPO[ha.advert_int] (default 1 s; Neutron's is 2).
#                         Then topo_outside NAME ha-ext and topo_vm NAME ha-lan.
#   topo_ha_replica NODE N
#                         the replica on NODE, its ha- address 169.254.192.N;
#                         TOPO[NODE.ns], TOPO[NODE.netns_dir], TOPO[NODE.ha_confs].
#   topo_ha_keepalived NODE NAME
#                         keepalived in NODE's replica (Neutron's -P -f -p -r,
#                         not forking), a topo_spawn process called NAME.
#   topo_ha_has_vip NODE  NODE's qg- holds the gateway VIP.
#   topo_ha_fail NODE NAME
#                         NODE dies: keepalived NAME killed with SIGKILL (no
#                         priority-0 advert, no VIP removed), its links down.
#   topo_ha_return NODE NAME
#                         NODE comes back as after a reboot (links up, no VIP
#                         left) and runs keepalived again as NAME.

topo_ha_router() {
	local advert=${1:-1} uuid
	uuid=$(</proc/sys/kernel/random/uuid)
	TOPO[ha.uuid]=$uuid TOPO[ha.ns]=qrouter-$uuid TOPO[ha.gw4]=203.0.113.1
	TOPO[ha.qg]=qg-${uuid:0:11} TOPO[ha.qr]=qr-${uuid:24:11} TOPO[ha.ha]=ha-${uuid:9:11}
	TOPO[ha.advert_int]=$advert
	topo__segment ha-ext 203.0.113 2001:db8:1 10 && topo__segment ha-lan 10.0.0 2001:db8:2 11 &&
		topo__segment ha-link 169.254.192 2001:db8:3 1 || return 1
	TOPO["ha-ext.gw4"]=203.0.113.1 TOPO["ha-ext.gw6"]=2001:db8:1::1
	TOPO["ha-lan.gw4"]=10.0.0.1 TOPO["ha-lan.gw6"]=2001:db8:2::1
}

# Neutron's keepalived.conf (neutron/agent/linux/keepalived.py, Zed), for every replica.
topo_ha__conf() {
	cat <<EOF
global_defs {
    notification_email_from neutron@openstack.local
    router_id neutron
}
vrrp_instance VR_1 {
    state BACKUP
    interface ${TOPO[ha.ha]}
    virtual_router_id 1
    priority 50
    garp_master_delay 60
    nopreempt
    advert_int ${TOPO[ha.advert_int]}
    track_interface {
        ${TOPO[ha.ha]}
    }
    virtual_ipaddress {
        169.254.0.1/24 dev ${TOPO[ha.ha]}
    }
    virtual_ipaddress_excluded {
        ${TOPO[ha.gw4]}/24 dev ${TOPO[ha.qg]}
        10.0.0.1/24 dev ${TOPO[ha.qr]}
    }
}
EOF
}

topo_ha_replica() {
	local node=${1:?node} n=${2:?number} ns=$TOPO__PFX-$1 dir=$TOPO_DIR/$1
	local conf=$dir/ha_confs/${TOPO[ha.uuid]}
	mkdir -p "$dir/netns" "$conf" "$dir/run" || return 1
	topo__ns_add "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	: >"$dir/netns/${TOPO[ha.ns]}"
	mount --bind "/run/netns/$ns" "$dir/netns/${TOPO[ha.ns]}" || return 1
	topo__attach "$ns" "${TOPO[ha.qg]}" ha-ext "$(topo__mac)" &&
		topo__attach "$ns" "${TOPO[ha.qr]}" ha-lan "$(topo__mac)" &&
		topo__attach "$ns" "${TOPO[ha.ha]}" ha-link "$(topo__mac)" &&
		ip -n "$ns" addr add "169.254.192.$n/18" dev "${TOPO[ha.ha]}" || return 1
	topo_ha__conf >"$conf/keepalived.conf" || return 1
	TOPO[$node.ns]=$ns TOPO[$node.netns_dir]=$dir/netns TOPO[$node.ha_confs]=$dir/ha_confs
}

topo_ha_keepalived() {
	local node=${1:?node} dir=$TOPO_DIR/$1
	topo_spawn -n "${TOPO[$node.ns]}" "${2:?name}" keepalived -n -l -D -P \
		-f "$dir/ha_confs/${TOPO[ha.uuid]}/keepalived.conf" -p "$dir/run/keepalived.pid" \
		-r "$dir/run/vrrp.pid"
}

topo_ha_has_vip() {
	ip -n "${TOPO[$1.ns]}" -4 addr show dev "${TOPO[ha.qg]}" | grep -q "inet ${TOPO[ha.gw4]}/"
}

topo_ha_fail() {
	local node=${1:?node} dev
	kill -KILL -- "-$(<"$TOPO_DIR/proc.${2:?name}/group")" || return 1
	for dev in "${TOPO[ha.qg]}" "${TOPO[ha.qr]}" "${TOPO[ha.ha]}"; do
		ip -n "${TOPO[$node.ns]}" link set "$dev" down || return 1
	done
}

topo_ha_return() {
	local node=${1:?node} dev
	ip -n "${TOPO[$node.ns]}" addr flush dev "${TOPO[ha.qg]}" &&
		ip -n "${TOPO[$node.ns]}" addr flush dev "${TOPO[ha.qr]}" || return 1
	for dev in "${TOPO[ha.qg]}" "${TOPO[ha.qr]}" "${TOPO[ha.ha]}"; do
		ip -n "${TOPO[$node.ns]}" link set "$dev" up || return 1
	done
	topo_ha_keepalived "$node" "${2:?name}"
}
