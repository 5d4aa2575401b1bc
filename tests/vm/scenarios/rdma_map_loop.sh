#!/bin/bash
# qbd-vm: timeout=600
# RDMA resources come back: the kernel's rdma resource counts (pd, cq, qp,
# mr) return to their baseline after a failed map (server without an RDMA
# listener), after map/unmap loops with IO, and after unmapping a device
# whose connections broke (server killed) and were rebuilt.
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/loop" volume_create "$E2E_CONF" pool1/loop 64M
# The shared CQ pool keeps its CQs once made: warm it up, then count.
dev=$(volume_map "$E2E_CONF" pool1/loop -o nr_queues=2) || bail "first map"
check "first unmap" volume_unmap "$E2E_CONF" pool1/loop
base=$(rdma_res_counts)
diag "baseline with the server up and the CQ pool warm: $base"
counts_equal() { [[ $(rdma_res_counts) == "$base" ]]; }
counts_back() { wait_until 20 counts_equal || { diag "now: $(rdma_res_counts)"; return 1; }; }

# A map against a server that has no RDMA listener fails cleanly.
check "stop the server" e2e_server_stop
check "start it with TCP only" server_start "$E2E_NS" "$E2E_DATA" "$(e2e_listen)"
tbase=$(rdma_res_counts)
check_fails "qbd -m rdma:// fails without an RDMA listener" \
	"$QBD_BIN" -c "$E2E_CONF" -m rdma://pool1/loop
check_eq "no qbd device left behind" "$(ls /sys/block | grep -c '^qbd')" 0
check_eq "rdma resources unchanged after the failed map" "$(rdma_res_counts)" "$tbase"
check "stop the TCP-only server" e2e_server_stop
check "start the server with RDMA again" e2e_server_start

for i in 1 2 3; do
	dev=$(volume_map "$E2E_CONF" pool1/loop -o nr_queues=2) || { not_ok "map round $i"; break; }
	check "round $i: write + read back 4 MiB on $dev" bash -c \
		"dd if=/dev/urandom of=/tmp/p bs=1M count=4 status=none &&
		 dd if=/tmp/p of=$dev bs=1M oflag=direct status=none &&
		 cmp <(dd if=$dev bs=1M count=4 iflag=direct status=none) /tmp/p"
	diag "round $i mapped: $(rdma_res_counts)"
	check "round $i: qbd -u" volume_unmap "$E2E_CONF" pool1/loop
	check "round $i: rdma resources back to baseline" counts_back
done

# Broken connections: kill the server under a mapped device, restart it, let
# the device reconnect, then unmap.
dev=$(volume_map "$E2E_CONF" pool1/loop) || bail "map pool1/loop"
name=${dev#/dev/}
check "kill -9 the server" e2e_server_kill9
check "restart it" e2e_server_start
check "IO works after the reconnect" dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct status=none
check "reconnect counted" test "$(stat_field "$name" reconnects)" -ge 1
check "qbd -u after a reconnect" volume_unmap "$E2E_CONF" pool1/loop
check "rdma resources back to baseline after the reconnect" counts_back
check "rmmod qbd" qbd_unload
diag "final: $(rdma_res_counts)"
