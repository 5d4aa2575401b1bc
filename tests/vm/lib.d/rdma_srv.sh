# shellcheck shell=bash
# RDMA helpers for the server-side scenarios (rdma_server_loadgen.sh) and
# the benchmark. rxe on the Debian 6.1 kernel works only in the initial
# network namespace, so the "wire" is a veth pair in init_net with an rxe
# device on each end and policy routing that makes traffic between the two
# local addresses really cross the veth (/work/shared/vm-recipes).
# (The rdma-kmod helper adds a similar helper to lib.sh; the two are meant
# to be merged into one.)

RDMA_SRV_CLIENT_IP=${RDMA_SRV_CLIENT_IP:-10.99.2.1}
RDMA_SRV_SERVER_IP=${RDMA_SRV_SERVER_IP:-10.99.2.2}
QBD_LOADGEN_BIN=${QBD_LOADGEN_BIN:-$QBD_BUILD/userspace/bench-loadgen/qbd-loadgen}

# rdma_srv_wire_setup: v0 (client address) <-> v1 (server address), rxe0 on
# v0 and rxe1 on v1. Idempotent within one boot.
rdma_srv_wire_setup() {
	local c=$RDMA_SRV_CLIENT_IP s=$RDMA_SRV_SERVER_IP i
	ip link show qv0 >/dev/null 2>&1 && return 0
	modprobe veth && modprobe rdma_rxe && modprobe ib_uverbs && modprobe rdma_ucm || return 1
	ip link set lo up
	ip link add qv0 type veth peer name qv1 || return 1
	ip addr add "$c/24" dev qv0 && ip addr add "$s/24" dev qv1 || return 1
	ip link set qv0 up && ip link set qv1 up || return 1
	# A 1 MiB RDMA READ response is ~1000 packets in one burst into the
	# peer's backlog: with the default 1000 rxe drops packets and goes
	# through its retransmit paths (which warn in 6.1) all the time.
	sysctl -qw net.core.netdev_max_backlog=65536 || return 1
	for i in all default qv0 qv1; do
		sysctl -qw "net.ipv4.conf.$i.accept_local=1" "net.ipv4.conf.$i.rp_filter=0" || return 1
	done
	ip rule add pref 100 iif qv0 lookup local && ip rule add pref 100 iif qv1 lookup local &&
	ip rule add pref 200 from "$c" lookup 211 && ip route add "$s" dev qv0 src "$c" table 211 &&
	ip rule add pref 200 from "$s" lookup 212 && ip route add "$c" dev qv1 src "$s" table 212 ||
		return 1
	# The local table goes behind the per-source ones (another wire may
	# have moved it already).
	if ip rule show pref 0 | grep -q 'lookup local'; then
		ip rule del pref 0 lookup local || return 1
	fi
	ip rule show pref 300 | grep -q 'lookup local' || ip rule add pref 300 lookup local || return 1
	rdma link add qrxe0 type rxe netdev qv0 && rdma link add qrxe1 type rxe netdev qv1 || return 1
	at_exit "rdma link del qrxe0; rdma link del qrxe1; ip link del qv0"
}

# rdma_srv_loadgen ARGS...: qbd-loadgen against the rdma:// listener.
rdma_srv_loadgen() {
	"$QBD_LOADGEN_BIN" -s "rdma://$RDMA_SRV_SERVER_IP:${RDMA_SRV_PORT:-7001}" \
		--source "$RDMA_SRV_CLIENT_IP" "$@"
}
