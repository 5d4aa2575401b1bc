#!/bin/bash
# qbd-vm: timeout=1200 rdma
# One volume spread over TWO qbd-servers: the same pool1/ms (64 MiB, 1 MiB
# shards) created on each, mapped through qbd_maptool with nr_servers=2, so
# shard i is served by server i % 2 (A: even shards, B: odd ones).
# - fio --verify across many shards passes;
# - write-zeroes (blkdiscard -z) and discard (blkdiscard) over ranges that
#   cross a shard boundary read back as zeros on both sides of it (the
#   module cuts them at the boundary and sends each piece to its server),
#   and the data around them is intact;
# - a FLUSH (dd conv=fsync after a write to an odd shard) reaches BOTH
#   servers: each one's "FLUSH done, N served" debug line counts up;
# - server B killed (SIGKILL) and restarted during fio verify: fio verifies.
. "$QBD_TOP/tests/vm/lib.sh"

require_bins "$QBD_SERVER_BIN" "$QBDADM_BIN" gcc fio blkdiscard
if [[ $QBD_TRANSPORT == rdma ]]; then
	require "soft-RoCE across veth v0<->v1 (rxe0, rxe1)" rdma_wire_setup
else
	require "network namespace $E2E_NS" netns_create "$E2E_NS" "$E2E_HOST_IP" "$E2E_SERVER_IP"
fi
require "server data dir on ext4 (brd)" e2e_datadir 1024

IP=$E2E_SERVER_IP
PORT_A=7000 PORT_B=7010 # TCP: admin (and IO over TCP)
RPORT_A=7001 RPORT_B=7011 # RDMA IO (rdma_ variant)
CONF_A=/tmp/qbd/a.conf CONF_B=/tmp/qbd/b.conf
SIZE=$((64 << 20)) SHARD=$((1 << 20))
MT=/tmp/qbd_maptool

# srv_start A|B: the server with its own data dir, debug log (FLUSH lines).
srv_start() {
	local port=PORT_$1 rport=RPORT_$1 extra=()
	[[ $QBD_TRANSPORT == rdma ]] && extra=(--listen "rdma://$IP:${!rport}")
	server_start "$E2E_NS" "$E2E_DATA/$1" "tcp://$IP:${!port}" "${extra[@]}" --log-level debug
}
srv_kill9() { local port=PORT_$1; server_kill9 "$E2E_NS" "tcp://$IP:${!port}"; }
srv_log() { local port=PORT_$1; echo "$QBD_RESULTS/server-$(server_id "$E2E_NS" "tcp://$IP:${!port}").log"; }
# flushes A|B: the FLUSH count server A|B logged last (0: none yet)
flushes() { awk '/FLUSH done, [0-9]+ served/ { n = $(NF - 1) } END { print n + 0 }' "$(srv_log "$1")"; }

check "qbd-server A starts" srv_start A
check "qbd-server B starts" srv_start B
check "qbd.conf for A" qbd_conf_write "$CONF_A" "$IP:$PORT_A"
check "qbd.conf for B" qbd_conf_write "$CONF_B" "$IP:$PORT_B"
check "create pool1/ms on A" "$QBDADM_BIN" -c "$CONF_A" create pool1/ms --size 64M --shard-size 1M
check "create pool1/ms on B" "$QBDADM_BIN" -c "$CONF_B" create pool1/ms --size 64M --shard-size 1M
# vol_id and layout_version go into every request: the two catalogs must
# agree on them
vol_field() { "$QBDADM_BIN" -c "$1" info pool1/ms --json | grep -oE "\"$2\": *[0-9]+" | grep -oE '[0-9]+$'; }
vid=$(vol_field "$CONF_A" vol_id) lv=$(vol_field "$CONF_A" layout_version)
check_eq "pool1/ms has the same vol_id on A and B" "$(vol_field "$CONF_B" vol_id)" "${vid:-none}"
check_eq "pool1/ms has the same layout on A and B" "$(vol_field "$CONF_B" layout_version)" "${lv:-none}"
check "build the ioctl tool" gcc -O2 -I"$QBD_TOP/include/uapi" -o $MT "$QBD_TOP/kmod/tests/tools/qbd_maptool.c"

if [[ $QBD_TRANSPORT == rdma ]]; then
	map_args=("$IP" "$RPORT_A" "server=$IP:$RPORT_B" transport=rdma)
else
	map_args=("$IP" "$PORT_A" "server=$IP:$PORT_B")
fi
id=$($MT map pool1 ms $SIZE "${map_args[@]}" shard=$SHARD vol_id="$vid" layout="$lv" io_timeout=30000) || bail "map pool1/ms on A+B"
dev=/dev/qbd$id
name=qbd$id
wait_for_dev "$dev" || bail "$dev did not appear"
ok "mapped pool1/ms over 2 servers -> $dev"
at_exit "$MT unmap $id force"
check_eq "sysfs lists both servers" "$(wc -l < /sys/block/$name/qbd/servers)" 2
check "write cache on (FLUSH is sent)" grep -q "write back" /sys/block/$name/queue/write_cache
check "discard is advertised" test "$(cat /sys/block/$name/queue/discard_max_bytes)" -gt 0
check "write-zeroes is advertised" test "$(cat /sys/block/$name/queue/write_zeroes_max_bytes)" -gt 0

# ---- data across shards -----------------------------------------------------
fio_verify "fio verify across 64 shards on 2 servers" "$dev" --size=45% --bsrange=4k-256k

zeros() { cmp -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" status=none) /dev/zero; }
fill() { dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 status=none && dd if=/tmp/pattern of="$dev" bs=1M oflag=direct status=none; }
same_as_pattern() { cmp -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" status=none) <(dd if=/tmp/pattern bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none); }

K=1024 M=$((1 << 20))
check "fill 0..16M with random data" fill
# write-zeroes across the 3M boundary: shard 2 (A) | shard 3 (B)
check "blkdiscard -z 3M-256K..3M+256K" blkdiscard -z -o $((3 * M - 256 * K)) -l $((512 * K)) "$dev"
check "zeroed on A's side of the boundary" zeros "$dev" $((3 * M - 256 * K)) $((256 * K))
check "zeroed on B's side of the boundary" zeros "$dev" $((3 * M)) $((256 * K))
check "data before the zeroed range intact" same_as_pattern "$dev" $((2 * M)) $((M - 256 * K))
check "data after the zeroed range intact" same_as_pattern "$dev" $((3 * M + 256 * K)) $((M - 256 * K))
# write-zeroes over three shards: 6M-4K .. 8M+4K (A | B | A)
check "blkdiscard -z 6M-4K..8M+4K" blkdiscard -z -o $((6 * M - 4 * K)) -l $((2 * M + 8 * K)) "$dev"
check "zeroed over three shards" zeros "$dev" $((6 * M - 4 * K)) $((2 * M + 8 * K))
check "data after that range intact" same_as_pattern "$dev" $((8 * M + 4 * K)) $((M - 4 * K))
# discard (the server punches a hole: zeros) across the 11M boundary: B | A
check "blkdiscard 11M-128K..11M+128K" blkdiscard -o $((11 * M - 128 * K)) -l $((256 * K)) "$dev"
check "discarded on B's side of the boundary" zeros "$dev" $((11 * M - 128 * K)) $((128 * K))
check "discarded on A's side of the boundary" zeros "$dev" $((11 * M)) $((128 * K))
check "data around the discarded range intact" same_as_pattern "$dev" $((11 * M + 128 * K)) $((M - 128 * K))

# ---- FLUSH reaches both servers -------------------------------------------
fa0=$(flushes A) fb0=$(flushes B)
check "write 4K into shard 1 (server B) and fsync the device" \
	dd if=/dev/urandom of="$dev" bs=4k count=1 seek=256 oflag=direct conv=fsync,notrunc status=none
fa1=$(flushes A) fb1=$(flushes B)
diag "FLUSHes served: A $fa0 -> $fa1, B $fb0 -> $fb1"
check "the FLUSH reached server A ($fa0 -> $fa1)" test "$fa1" -gt "$fa0"
check "the FLUSH reached server B ($fb0 -> $fb1)" test "$fb1" -gt "$fb0"
check "sync of a write to shard 0 flushes B too" bash -c \
	"dd if=/dev/urandom of=$dev bs=4k count=1 oflag=direct conv=fsync,notrunc status=none"
fb2=$(flushes B)
check "server B counted that FLUSH too ($fb1 -> $fb2)" test "$fb2" -gt "$fb1"

# ---- one server killed and restarted during fio -----------------------------
# Meanwhile, above fio's ranges (its two jobs stay below 58M): write +
# fsync, then write-zeroes across the 61M boundary (B | A) and read back,
# round after round until fio is done: FLUSH and cut WRITE_ZEROES pieces
# wait for server B like any request and none is lost.
fanout_loop() {
	local n=0 off=$((61 * M - 64 * K))
	while [[ ! -e /tmp/ms-fio.done ]]; do
		dd if=/dev/urandom of="$dev" bs=64k count=2 seek=$((off / (64 * K))) oflag=direct \
			conv=fsync,notrunc status=none || { echo "round $n: write + fsync failed"; return 1; }
		blkdiscard -z -o $off -l $((128 * K)) "$dev" || { echo "round $n: blkdiscard -z failed"; return 1; }
		zeros "$dev" $off $((128 * K)) || { echo "round $n: not zeros after blkdiscard -z"; return 1; }
		n=$((n + 1))
	done
	echo "$n rounds"
	((n > 0))
}
rm -f /tmp/ms-fio.done
r0=$(stat_field "$name" reconnects)
fio_verify "fio verify while server B is killed and restarted" "$dev" --size=40% \
	--rw=randwrite --bsrange=4k-128k --time_based=0 --loops=2 &
fio_pid=$!
check "fsync and write-zeroes across 61M while B restarts" fanout_loop &
loop_pid=$!
sleep 6
kmsg "killing server B"
check "kill -9 server B" srv_kill9 B
sleep 2
check "restart server B" srv_start B
wait $fio_pid
touch /tmp/ms-fio.done
wait $loop_pid
check "fio and the fsync/write-zeroes loop finished" true
r1=$(stat_field "$name" reconnects)
check "/proc/qbdstat counts the reconnect (${r0:-?} -> ${r1:-?})" test "${r1:-0}" -gt "${r0:-0}"
fio_verify "fio verify after the restart" "$dev" --size=30% --bsrange=4k-64k

check "unmap" $MT unmap "$id"
