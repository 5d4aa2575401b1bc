#!/bin/bash
# qbd-vm: timeout=900
# qbd-server over RDMA (soft-RoCE across a veth pair in init_net), driven
# by qbd-loadgen as the client: a verify workload (mixed sizes 4k-1M, QD 16,
# several connections, pattern per offset), a check that verify catches
# wrong data, then hostile RDMA clients (wrong-size SENDs, bad magic,
# zero/garbage rkey, bad address, length near 2^32) while a good client
# verifies: the good one finishes clean, the server names each rule in its
# log and stays up; SIGTERM then stops it cleanly.
. "$QBD_TOP/tests/vm/lib.sh"

require_bins "$QBD_SERVER_BIN" "$QBDADM_BIN" "$QBD_LOADGEN_BIN"
require "rxe wire (veth in init_net, two rxe devices)" rdma_wire_setup
require "server data dir on ext4 (brd)" e2e_datadir 512
S=$RDMA_SRV_SERVER_IP
TCP=tcp://$S:7000
# --max-queue-depth 32: the data pool is max_queue_depth x max_io of
# registered memory per device; 32 MiB is plenty here.
require "qbd-server with tcp:// and rdma:// listeners" \
	server_start - "$E2E_DATA" "$TCP" --listen "rdma://$S:7001" --max-queue-depth 32
log=$QBD_RESULTS/server-$(server_id - "$TCP").log
pid=${QBD_SERVER_PIDS[$(server_id - "$TCP")]}
wait_until 20 grep -q "listening on rdma://$S:7001" "$log"
check "server logs its rdma:// listener" grep -q "listening on rdma://$S:7001" "$log"
check "qbdadm creates rv/a over TCP" "$QBDADM_BIN" -s "$S:7000" create rv/a --size 256M
check "qbdadm creates rv/b over TCP" "$QBDADM_BIN" -s "$S:7000" create rv/b --size 64M

check "loadgen rdma:// verify: 4k-1M, 4 connections x QD 16, whole volume" \
	rdma_srv_loadgen -V rv/a --verify --bs 4k-1M -c 4 -q 16
diag "$QBD_LAST_OUTPUT"
check "verify reports zero mismatches" grep -q " 0 mismatched sectors" <<<"$QBD_LAST_OUTPUT"
check "data written over RDMA reads back over TCP (verify --read-only)" \
	"$QBD_LOADGEN_BIN" -s "$TCP" -V rv/a --verify --read-only --bs 4k-256k -c 2 -q 8
# A verify that cannot fail proves nothing: another seed must mismatch.
check_fails "verify with another seed finds mismatches" \
	rdma_srv_loadgen -V rv/a --verify --read-only --seed 2 --bs 64k-1M -c 1 -q 4 --span 8M
check "  ... and says so" grep -q "MISMATCH at byte offset" <<<"$QBD_LAST_OUTPUT"
check "loadgen rdma:// benchmark: randwrite then randread 4k QD 16 x 2" \
	bash -c "'$QBD_LOADGEN_BIN' -s rdma://$S:7001 -V rv/b --rw randwrite -c 2 -q 16 -t 2 --ramp 0.5 &&
		 '$QBD_LOADGEN_BIN' -s rdma://$S:7001 -V rv/b --rw randread -c 2 -q 16 -t 2 --ramp 0.5"
diag "$QBD_LAST_OUTPUT"

# Hostile clients while a good one verifies another volume.
glog=$QBD_RESULTS/good-loadgen.log
rdma_srv_loadgen -V rv/b --verify --bs 4k-1M -c 2 -q 16 --seed 7 >"$glog" 2>&1 &
good=$!
check "hostile RDMA clients: every case disconnected" rdma_srv_loadgen -V rv/a --hostile
diag "$QBD_LAST_OUTPUT"
wait "$good"
grc=$?
diag "$(cat "$glog")"
check_eq "the good client's verify finished clean beside them (exit status)" "$grc" 0
check "  ... with zero mismatches" grep -q " 0 mismatched sectors" "$glog"
for rule in "first message is 64 bytes" "bad magic 0x0badf00d" "message of 10 bytes" \
	"message of 304 bytes: bad magic (not a request)" "bad magic (stream out of sync)" "READ with rdma_key 0" \
	"RDMA READ of WRITE data" "RDMA WRITE of READ data" "WRITE length 4294966784 over the limit"; do
	check "server log names the rule: $rule" grep -qF "$rule" "$log"
done
check "every hostile line names the peer address" \
	bash -c "! grep 'disconnecting:' '$log' | grep -vq 'from $RDMA_SRV_CLIENT_IP:'"
check "qbd-server is still up" kill -0 "$pid"
check "and still serves RDMA after them" rdma_srv_loadgen -V rv/b --verify --bs 4k-64k -c 1 -q 8 --span 16M
check "and TCP" "$QBD_LOADGEN_BIN" -s "$TCP" -V rv/b --verify --bs 4k-64k -c 1 -q 8 --span 16M
check "open connections drop back (no leaked QPs): qbdadm info shows 0 open" \
	wait_until 20 bash -c "'$QBDADM_BIN' -s $S:7000 info rv/a | grep -Eq '^open: +0$'"

# SIGTERM while a client is busy: the server drains and exits 0.
rdma_srv_loadgen -V rv/b --rw randread -c 2 -q 16 -t 30 --ramp 0 >/dev/null 2>&1 &
busy=$!
sleep 3
check "SIGTERM with RDMA connections busy: server exits in time" server_stop - "$TCP" 30
wait "$busy"
check "server logged the RDMA drain" grep -q "rdma: draining" "$log"
check "no error lines in the server log" bash -c "! grep -q '^ERROR' '$log'"
