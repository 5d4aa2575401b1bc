# shellcheck shell=bash
# Shared by the server A/B scripts (ab-server-rdma.sh, rdma-qd1-syscalls.sh),
# sourced after tests/vm/lib.sh and e2e_setup.
# NEW: build/ab/qbd-server.new, or the server this tree built;
# OLD: build/ab/qbd-server.old (may be missing: check it).
NEW=$QBD_SERVER_BIN
[[ -x $QBD_BUILD/ab/qbd-server.new ]] && NEW=$QBD_BUILD/ab/qbd-server.new
OLD=$QBD_BUILD/ab/qbd-server.old

# ab_restart BINARY [ARGS...]: the server again, as BINARY with ARGS; waits
# until $dev is live.
ab_restart() {
	e2e_server_stop
	QBD_SERVER_BIN=$1
	shift
	e2e_server_start "$@" || bail "server start $QBD_SERVER_BIN $*"
	wait_until 60 dev_live "$dev" || bail "$dev not live after the restart"
	sleep 2
}
