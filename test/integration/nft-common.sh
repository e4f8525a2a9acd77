# shellcheck shell=bash
# Shared by the nft-*.sh integration tests: topo.sh (namespaces, traffic,
# assertions) plus praas-nftctl, the driver of lib/nft and lib/conntrack.
set -u
NFT_TESTDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/topo.sh
. "$NFT_TESTDIR/lib/topo.sh"
NFTCTL=${PRAAS_NFTCTL:-${PRAAS_BUILD_ROOT:-$NFT_TESTDIR/../../build}/test/integration/praas-nftctl}

# nft_test_init PREFIX: topo_init, and skip unless the driver and nft exist.
nft_test_init() {
	topo_init "$1"
	[[ -x $NFTCTL ]] || topo_skip "praas-nftctl is not built ($NFTCTL)"
	topo_require nft
}

# ctl ROUTER ARGS...: run praas-nftctl on ROUTER's namespace, found through
# the run's private netns directory, as the agent finds it through netns_dir.
ctl() {
	local r=$1
	shift
	"$NFTCTL" -d "$TOPO_NETNS_DIR" -n "${TOPO[$r.ns]}" "$@"
}
