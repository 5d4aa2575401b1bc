# shellcheck shell=bash
# RDMA helpers for the server-side scenarios (rdma_server_loadgen.sh):
# the soft-RoCE wire is lib.sh's rdma_wire_setup.

RDMA_SRV_CLIENT_IP=$QBD_RDMA_CLIENT_IP
RDMA_SRV_SERVER_IP=$QBD_RDMA_SERVER_IP
QBD_LOADGEN_BIN=${QBD_LOADGEN_BIN:-$QBD_BUILD/userspace/bench-loadgen/qbd-loadgen}

# rdma_srv_loadgen ARGS...: qbd-loadgen against the rdma:// listener.
rdma_srv_loadgen() {
	"$QBD_LOADGEN_BIN" -s "rdma://$RDMA_SRV_SERVER_IP:${RDMA_SRV_PORT:-7001}" \
		--source "$RDMA_SRV_CLIENT_IP" "$@"
}
