#!/bin/bash
# qbd-vm: timeout=1500
# The module on its own, against the protocol stub server
# (kmod/tests/tools/qbd_stub_server.py) and the ioctl tool
# (kmod/tests/tools/qbd_maptool.c): map, data verified through dd and fio,
# ext4, EBUSY/rmmod refusals, server restart -> reconnect, server gone past
# io_timeout -> EIO and unmap, a server sending bad replies, garbage ioctls.
. "$QBD_TOP/tests/vm/lib.sh"

T=$QBD_TOP/kmod/tests/tools
MT=/tmp/qbd_maptool
STUB="python3 $T/qbd_stub_server.py"
IMG=/tmp/vol.img
SIZE=$((256 << 20))
STUB_PID=

stub_start() {
	$STUB --listen 127.0.0.1:7000 --file $IMG --size $SIZE "$@" > /tmp/results/stub.log 2>&1 &
	STUB_PID=$!
	wait_until 30 bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000'
}
stub_pid() { STUB_PID=$(pgrep -f qbd_stub_server.py | head -1); }
# same DEV SKIP_64K COUNT_64K FILE: the device range equals the start of FILE
same() {
	dd if="$1" of=/tmp/same.out bs=64k skip="$2" count="$3" iflag=direct status=none &&
		head -c $(($3 * 65536)) "$4" > /tmp/same.ref && cmp /tmp/same.out /tmp/same.ref
}
stub_kill() { [[ -n $STUB_PID ]] && kill -9 "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; STUB_PID=; }
at_exit stub_kill
stat_field() { # dev_id column -> value of /proc/qbdstat
	awk -v id="$1" -v col="$2" '$1 == id { print $col }' /proc/qbdstat
}

ip link set lo up
check "build the ioctl tool" gcc -O2 -I"$QBD_TOP/include/uapi" -o $MT "$T/qbd_maptool.c"
check "garbage ioctls give EINVAL, never a crash" $MT garbage
check "without CAP_SYS_ADMIN: EPERM" $MT noperm

check "start the stub server" stub_start
check_fails "map of a volume the server does not have fails" $MT map pool1 nosuch $SIZE 127.0.0.1 7000
check_fails "map of an unreachable server fails" $MT map pool1 vol1 $SIZE 127.0.0.1 7009
id=$($MT map pool1 vol1 $SIZE 127.0.0.1 7000 io_timeout=15000 hb_interval=1000 hb_timeout=5000) || bail "map failed"
dev=/dev/qbd$id
check "map -> $dev" wait_for_dev "$dev"
check_eq "sysfs state" "$(cat /sys/block/qbd$id/qbd/state)" live
check_eq "sysfs pool/volume" "$(cat /sys/block/qbd$id/qbd/pool)/$(cat /sys/block/qbd$id/qbd/volume)" pool1/vol1
check_eq "size" "$(blockdev --getsize64 "$dev")" $SIZE
check_eq "logical block size" "$(blockdev --getss "$dev")" 4096
check_eq "chunk_sectors = shard size" "$(cat /sys/block/qbd$id/queue/chunk_sectors)" 8192
check "max IO >= 512 KiB" test "$(cat /sys/block/qbd$id/queue/max_hw_sectors_kb)" -ge 512
check_eq "write cache with FUA" "$(cat /sys/block/qbd$id/queue/write_cache) $(cat /sys/block/qbd$id/queue/fua)" "write back 1"
check "discard supported" test "$(cat /sys/block/qbd$id/queue/discard_max_bytes)" -gt 0
check_fails "mapping the same volume twice fails" $MT map pool1 vol1 $SIZE 127.0.0.1 7000
check "/proc/qbdstat has a header and the device" bash -c "head -1 /proc/qbdstat | grep -q '^#' && grep -q '^$id /dev/qbd$id pool1/vol1 live tcp' /proc/qbdstat"

check "write 8 MiB of random data" bash -c "head -c 8M /dev/urandom > /tmp/r && dd if=/tmp/r of=$dev bs=1M oflag=direct status=none"
check "read it back, identical" same "$dev" 0 128 /tmp/r
check "the server's file holds it too" cmp -n 8M $IMG /tmp/r
check "fio randrw 4k-512k QD32 x2 jobs verify=crc32c" fio --name=v --filename="$dev" --direct=1 --ioengine=libaio \
	--rw=randrw --bsrange=4k-512k --iodepth=32 --size=16M --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --numjobs=2 --offset_increment=32M --output=/tmp/results/fio.txt
check "blkdiscard -z" blkdiscard -z -o 1M -l 1M "$dev"
check "...reads back zeros" same "$dev" 16 16 /dev/zero
check "blkdiscard" blkdiscard -o 2M -l 2M "$dev"

check "mkfs.ext4" mkfs.ext4 -q -F "$dev"
mkdir -p /mnt/q
check "mount" mount "$dev" /mnt/q
cp -r "$QBD_TOP/kmod" /tmp/tree		# a snapshot: others may edit kmod/
check "write files" bash -c "cp -r /tmp/tree /mnt/q/ && sync"
check_eq "unmap of a mounted device: EBUSY" "$($MT unmap $id >/dev/null 2>&1; echo $?)" 16
check_fails "rmmod while mapped is refused" rmmod qbd
check "umount, fsck clean" bash -c "umount /mnt/q && fsck.ext4 -fn $dev"
check "mount again" mount "$dev" /mnt/q
check "files match" diff -r /tmp/tree /mnt/q/tree
check "umount" umount /mnt/q

# server restart within io_timeout: IO resumes, reconnects counted
check "kill -9 the server" stub_kill
( sleep 1; stub_start ) &
restarter=$!
check "IO during the outage completes after the restart" dd if=/tmp/r of="$dev" bs=64k count=64 oflag=direct status=none
wait $restarter
stub_pid
check "data intact after reconnect" same "$dev" 0 64 /tmp/r
check "/proc/qbdstat counts a reconnect" test "$(stat_field $id 14)" -ge 1
check_eq "state live again" "$(cat /sys/block/qbd$id/qbd/state)" live
diag "$(cat /proc/qbdstat)"

# idle heartbeat: a silent server (no PING replies) is detected
check "stop the server (SIGSTOP: silent, connection open)" kill -STOP $STUB_PID
check "heartbeat notices within hb_timeout" wait_until 15 bash -c "dmesg | grep -q 'silent for'"
kill -CONT $STUB_PID
check "reconnects after SIGCONT" wait_until 15 bash -c "[ \"\$(cat /sys/block/qbd$id/qbd/state)\" = live ] && [ \$(awk -v id=$id '\$1 == id { print \$14 }' /proc/qbdstat) -ge 2 ]"

# server gone past io_timeout
check "kill -9 the server for good" stub_kill
t0=$SECONDS
check_fails "read fails once io_timeout (15 s) passes" dd if="$dev" of=/dev/null bs=4k count=1 skip=777 iflag=direct
el=$((SECONDS - t0))
check "...within io_timeout + hb_timeout + margin (${el}s)" test $el -le 30
check_eq "state failed" "$(cat /sys/block/qbd$id/qbd/state)" failed
t0=$SECONDS
check_fails "new IO fails fast" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct
check "...fast ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le 6
check "server back" stub_start
check "...live within the max backoff" wait_until 15 bash -c "[ \"\$(cat /sys/block/qbd$id/qbd/state)\" = live ]"
check "...and serves data" same "$dev" 0 64 /tmp/r
check "kill the server again" stub_kill
check "IO fails after io_timeout" bash -c "! dd if=$dev of=/dev/null bs=4k count=1 skip=99 iflag=direct"
check "unmap works with the server gone" timeout 30 $MT unmap $id
check "$dev is gone" wait_gone "$dev" 10

# a server that sends bad replies: connection error, never a crash
for mode in handle magic length status; do
	nbad=$(dmesg | grep -c 'bad reply')
	check "stub server misbehaving with $mode" stub_start --bad $mode:40 || continue
	id=$($MT map pool1 vol1 $SIZE 127.0.0.1 7000 io_timeout=3000) || { not_ok "map for bad mode $mode"; stub_kill; continue; }
	t0=$SECONDS
	check_fails "IO against a server sending bad replies ($mode) fails" \
		dd if=/dev/qbd$id of=/dev/null bs=4k count=200 iflag=direct status=none
	check "...within io_timeout + margin ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le 15
	check "bad replies ($mode) are caught" test "$(dmesg | grep -c 'bad reply')" -gt "$nbad"
	check "unmap after bad replies ($mode)" timeout 30 $MT unmap $id force
	stub_kill
done
# unmap while IO is held (RECONNECTING, long io_timeout): fails it, finishes
stub_start
id=$($MT map pool1 vol1 $SIZE 127.0.0.1 7000 io_timeout=120000) || bail "map for held IO"
check "held-IO device mapped" wait_for_dev /dev/qbd$id
stub_kill
dd if=/dev/qbd$id of=/dev/null bs=4k count=1 skip=555 iflag=direct status=none 2>/tmp/held.err &
ddpid=$!
check "IO is held while reconnecting" wait_until 20 bash -c "grep -q reconnecting /sys/block/qbd$id/qbd/state"
sleep 1
check "...dd still waiting" kill -0 $ddpid
t0=$SECONDS
check "force unmap with held IO finishes" timeout 30 $MT unmap $id force
check_fails "...and the held IO fails" wait $ddpid
check "...fast ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le 10

# two volumes; force-unmap one that is mounted while IO runs on the other
stub_start
$STUB --listen 127.0.0.1:7001 --file /tmp/vol2.img --size $SIZE --volume vol2 > /tmp/results/stub2.log 2>&1 &
STUB2=$!
at_exit "kill -9 $STUB2"
wait_until 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/7001'
a=$($MT map pool1 vol1 $SIZE 127.0.0.1 7000) || bail "map vol1"
b=$($MT map pool1 vol2 $SIZE 127.0.0.1 7001) || bail "map vol2"
check "two devices mapped" wait_for_dev /dev/qbd$b
check "mkfs + mount vol1" bash -c "mkfs.ext4 -q -F /dev/qbd$a && mount /dev/qbd$a /mnt/q && cp -r /tmp/tree /mnt/q/"
fio --name=w --filename=/dev/qbd$b --direct=1 --ioengine=libaio --rw=randwrite --bs=16k \
	--iodepth=16 --size=8M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output=/tmp/results/fio2.txt &
fiopid=$!
sleep 2
check "force unmap of the mounted vol1 while vol2 runs IO" timeout 30 $MT unmap $a force
check "fio on vol2 completes and verifies" wait $fiopid
check "umount of the forced-away vol1 does not hang" timeout 30 umount /mnt/q
check "unmap vol2" $MT unmap $b
kill -9 $STUB2
check "rmmod once nothing is mapped" rmmod qbd
