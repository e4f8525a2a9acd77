# shellcheck shell=bash disable=SC2154 # TOPO and its keys are topo.sh's
# topo-dvr.sh: a DVR router as a dvr_snat node holds it (issue 13). Source
# after topo.sh and topo_init; used by dvr-snat.sh and dvr-openstack.sh.
#
#   client (ext .10 up) --[dvr-ext]-- qg- GW    snat-<uuid>    sg- LAN.5 --+
#   VMs LAN.11 up (gw LAN.1) ---------[dvr-lan]-------------------------------+
#                                     qr- LAN.1  qrouter-<uuid> (default via LAN.5)
#
# snat- holds the gateway port (qg-) and an sg- port on the tenant subnet;
# qrouter- the distributed qr- port (the VMs' gateway) and no qg-: replies
# go back through qrouter- to sg-, as DVR routes them. Both namespaces are
# $TOPO__PFX-<name> bound into $TOPO_NETNS_DIR under their DVR names.
#
#   topo_dvr_router UUID EXT3 LAN3 GW
#                         the segments (EXT3.0/24 with the gateway GW, LAN3.0/24);
#                         TOPO[dvr.snat] TOPO[dvr.qrouter] (namespace names).
#                         Then topo_outside NAME dvr-ext and topo_vm NAME dvr-lan.
#   topo_dvr_snat         make snat-<uuid> (again: same devices and MACs)
#   topo_dvr_qrouter      make qrouter-<uuid>
#   topo_dvr_del NAME     delete one of them (TOPO[dvr.snat] or TOPO[dvr.qrouter])

topo_dvr_router() {
	local uuid=${1:?uuid} x3=${2:?external /24} l3=${3:?lan /24} gw=${4:?gateway}
	TOPO[dvr.snat]=snat-$uuid TOPO[dvr.qrouter]=qrouter-$uuid TOPO[dvr.gw4]=$gw
	TOPO[dvr.lan3]=$l3
	TOPO[dvr.qg]=qg-${uuid:0:11} TOPO[dvr.sg]=sg-${uuid:24:11} TOPO[dvr.qr]=qr-${uuid:9:11}
	TOPO[dvr.mac_qg]=$(topo__mac) TOPO[dvr.mac_sg]=$(topo__mac) TOPO[dvr.mac_qr]=$(topo__mac)
	topo__segment dvr-ext "$x3" 2001:db8:1 10 && topo__segment dvr-lan "$l3" 2001:db8:2 11 ||
		return 1
	TOPO["dvr-ext.gw4"]=$gw TOPO["dvr-ext.gw6"]=2001:db8:1::1
	TOPO["dvr-lan.gw4"]=$l3.1 TOPO["dvr-lan.gw6"]=2001:db8:2::1
}

# Namespace $TOPO__PFX-NAME, bound into the agents' netns_dir as NAME.
topo_dvr__ns() {
	local ns=$TOPO__PFX-$1
	topo__ns_add "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	: >"$TOPO_NETNS_DIR/$1"
	mount --bind "/run/netns/$ns" "$TOPO_NETNS_DIR/$1" || return 1
	TOPO[$1.ns]=$ns
}

topo_dvr_snat() {
	local name=${TOPO[dvr.snat]} ns
	topo_dvr__ns "$name" || return 1
	ns=${TOPO[$name.ns]}
	topo__attach "$ns" "${TOPO[dvr.qg]}" dvr-ext "${TOPO[dvr.mac_qg]}" &&
		topo__attach "$ns" "${TOPO[dvr.sg]}" dvr-lan "${TOPO[dvr.mac_sg]}" &&
		ip -n "$ns" addr add "${TOPO[dvr.gw4]}/24" dev "${TOPO[dvr.qg]}" &&
		ip -n "$ns" addr add "${TOPO[dvr.lan3]}.5/24" dev "${TOPO[dvr.sg]}"
}

topo_dvr_qrouter() {
	local name=${TOPO[dvr.qrouter]} ns
	topo_dvr__ns "$name" || return 1
	ns=${TOPO[$name.ns]}
	topo__attach "$ns" "${TOPO[dvr.qr]}" dvr-lan "${TOPO[dvr.mac_qr]}" &&
		ip -n "$ns" addr add "${TOPO[dvr.lan3]}.1/24" dev "${TOPO[dvr.qr]}" &&
		ip -n "$ns" route add default via "${TOPO[dvr.lan3]}.5"
}

topo_dvr_del() {
	local ns=${TOPO[${1:?name}.ns]}
	topo__kill_ns_procs "$ns"
	umount "$TOPO_NETNS_DIR/$1" && rm -f "$TOPO_NETNS_DIR/$1" && ip netns del "$ns"
}
