#!/bin/bash
# qbd-vm: timeout=600
# The module against the protocol stub server
# (kmod/tests/tools/qbd_stub_server.py) and the ioctl tool
# (kmod/tests/tools/qbd_maptool.c), for what only the stub can play:
# queue limits and sysfs, a frozen server (SIGSTOP) caught by the heartbeat
# and reconnected after SIGCONT, FAILED -> LIVE when the server comes back,
# bad replies (handle, magic, length, status) -> EIO with rate-limited
# messages and a working unmap, forced unmap with IO held.
# Data paths, ext4, discard, EBUSY/rmmod refusals, server kill/restart,
# server gone, garbage ioctls/EPERM and two volumes are the tcp_* scenarios'
# (against the real qbd-server).
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
# The interpreter takes seconds to start under emulation: every other stub
# starts now, in parallel. SPARE takes over port 7000 on SIGUSR1 (the
# server "comes back"), BAD[mode] listen on 7001.., HELD on 7005.
declare -A BAD BADPORT
SPARE='' HELD=''
stubs_prestart() {
	local mode port=7001
	$STUB --listen 127.0.0.1:7000 --file $IMG --size $SIZE --on-usr1 > /tmp/results/stub-spare.log 2>&1 &
	SPARE=$!
	for mode in handle magic length status; do
		$STUB --listen 127.0.0.1:$port --file /tmp/bad.img --size $SIZE --bad $mode:40 \
			> /tmp/results/stub-$mode.log 2>&1 &
		BAD[$mode]=$!
		BADPORT[$mode]=$port
		port=$((port + 1))
	done
	$STUB --listen 127.0.0.1:7005 --file /tmp/held.img --size $SIZE > /tmp/results/stub-held.log 2>&1 &
	HELD=$!
}
stubs_kill() { kill -9 $SPARE "${BAD[@]}" $HELD 2>/dev/null; }
listening() { local p; for p in "$@"; do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || return 1; done; }
# same DEV SKIP_64K COUNT_64K FILE: the device range equals the start of FILE
same() {
	dd if="$1" of=/tmp/same.out bs=64k skip="$2" count="$3" iflag=direct status=none &&
		head -c $(($3 * 65536)) "$4" > /tmp/same.ref && cmp /tmp/same.out /tmp/same.ref
}
stub_kill() { [[ -n $STUB_PID ]] && kill -9 "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; STUB_PID=; }
at_exit stub_kill
at_exit stubs_kill
stat_field() { # dev_id column -> value of /proc/qbdstat
	awk -v id="$1" -v col="$2" '$1 == id { print $col }' /proc/qbdstat
}
state_is() { [[ $(cat "/sys/block/qbd$1/qbd/state") == "$2" ]]; }

ip link set lo up
check "start the stub server" stub_start
stubs_prestart
check "build the ioctl tool" gcc -O2 -I"$QBD_TOP/include/uapi" -o $MT "$T/qbd_maptool.c"
id=$($MT map pool1 vol1 $SIZE 127.0.0.1 7000 io_timeout=8000 hb_interval=1000 hb_timeout=3000) || bail "map failed"
dev=/dev/qbd$id
check "map -> $dev" wait_for_dev "$dev"
check_eq "sysfs state" "$(cat /sys/block/qbd$id/qbd/state)" live
check_eq "sysfs pool/volume" "$(cat /sys/block/qbd$id/qbd/pool)/$(cat /sys/block/qbd$id/qbd/volume)" pool1/vol1
check_eq "sysfs timeouts" "$(cat /sys/block/qbd$id/qbd/timeouts)" \
	"io_timeout_ms=8000 conn_timeout_ms=8000 hb_interval_ms=1000 hb_timeout_ms=3000"
check_eq "size" "$(blockdev --getsize64 "$dev")" $SIZE
check_eq "logical block size" "$(blockdev --getss "$dev")" 4096
check_eq "chunk_sectors = shard size" "$(cat /sys/block/qbd$id/queue/chunk_sectors)" 8192
check "max IO >= 512 KiB" test "$(cat /sys/block/qbd$id/queue/max_hw_sectors_kb)" -ge 512
check_eq "write cache with FUA" "$(cat /sys/block/qbd$id/queue/write_cache) $(cat /sys/block/qbd$id/queue/fua)" "write back 1"
check "discard supported" test "$(cat /sys/block/qbd$id/queue/discard_max_bytes)" -gt 0
check "/proc/qbdstat has a header and the device" bash -c "head -1 /proc/qbdstat | grep -q '^#' && grep -q '^$id /dev/qbd$id pool1/vol1 live tcp' /proc/qbdstat"
check "write 4 MiB of random data" bash -c "head -c 4M /dev/urandom > /tmp/r && dd if=/tmp/r of=$dev bs=1M oflag=direct status=none"
check "read it back, identical" same "$dev" 0 64 /tmp/r

# a frozen server (no replies, connection open) is caught by the heartbeat
check "stop the server (SIGSTOP: silent, connection open)" kill -STOP $STUB_PID
check "heartbeat notices within hb_timeout" wait_until 10 bash -c "dmesg | grep -q 'silent for'"
kill -CONT $STUB_PID
check "reconnects after SIGCONT" wait_until 15 bash -c "[ \"\$(cat /sys/block/qbd$id/qbd/state)\" = live ] && [ \$(awk -v id=$id '\$1 == id { print \$14 }' /proc/qbdstat) -ge 1 ]"
check "data intact after the reconnect" same "$dev" 0 64 /tmp/r

# server gone past io_timeout -> FAILED; back -> LIVE
check "kill -9 the server" stub_kill
t0=$SECONDS
check_fails "read fails once io_timeout (8 s) passes" dd if="$dev" of=/dev/null bs=4k count=1 skip=777 iflag=direct
el=$((SECONDS - t0))
check "...within io_timeout + hb_timeout + margin (${el}s)" test $el -le 20
check_eq "state failed" "$(cat /sys/block/qbd$id/qbd/state)" failed
t0=$SECONDS
check_fails "new IO fails fast" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct
check "...fast ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le 6
check "the spare server is ready" wait_until 60 grep -q 'waiting for SIGUSR1' /tmp/results/stub-spare.log
check "server back (the spare)" kill -USR1 $SPARE
STUB_PID=$SPARE
check "...live within the max backoff" wait_until 15 state_is "$id" live
check "...and serves the data" same "$dev" 0 64 /tmp/r
check "unmap" timeout 30 $MT unmap $id
check "$dev is gone" wait_gone "$dev" 10
stub_kill

# a server that sends bad replies: connection error, EIO, never a crash;
# the messages are rate-limited (printk's default: 10 a callsite per 5 s)
for mode in handle magic length status; do
	nbad=$(dmesg | grep -c 'bad reply')
	port=${BADPORT[$mode]}
	check "stub server misbehaving with $mode (port $port)" wait_until 60 listening $port || continue
	id=$($MT map pool1 vol1 $SIZE 127.0.0.1 $port io_timeout=3000) || { not_ok "map for bad mode $mode"; continue; }
	t0=$SECONDS
	check_fails "IO against a server sending bad replies ($mode) fails" \
		dd if=/dev/qbd$id of=/dev/null bs=4k count=200 iflag=direct status=none
	el=$((SECONDS - t0))
	check "...within io_timeout + margin (${el}s)" test $el -le 15
	n=$(($(dmesg | grep -c 'bad reply') - nbad))
	check "bad replies ($mode) are caught ($n messages)" test "$n" -gt 0
	check "...rate-limited: $n <= $((10 * (el / 5 + 2))) in ${el}s" test "$n" -le $((10 * (el / 5 + 2)))
	check "unmap after bad replies ($mode)" timeout 30 $MT unmap $id force
	{ kill -9 "${BAD[$mode]}"; wait "${BAD[$mode]}"; } 2>/dev/null
done

# unmap while IO is held (RECONNECTING, long io_timeout): fails it, finishes
check "stub server for held IO (port 7005)" wait_until 60 listening 7005
id=$($MT map pool1 vol1 $SIZE 127.0.0.1 7005 io_timeout=120000) || bail "map for held IO"
check "held-IO device mapped" wait_for_dev /dev/qbd$id
{ kill -9 $HELD; wait $HELD; } 2>/dev/null
dd if=/dev/qbd$id of=/dev/null bs=4k count=1 skip=555 iflag=direct status=none 2>/tmp/held.err &
ddpid=$!
check "IO is held while reconnecting" wait_until 20 bash -c "grep -q reconnecting /sys/block/qbd$id/qbd/state"
sleep 1
check "...dd still waiting" kill -0 $ddpid
t0=$SECONDS
check "force unmap with held IO finishes" timeout 30 $MT unmap $id force
check_fails "...and the held IO fails" wait $ddpid
# fast: far below the 120 s io_timeout (x QBD_TIMEOUT_SCALE: a debug kernel
# took 11 s here)
check "...fast ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le $((10 * ${QBD_TIMEOUT_SCALE:-1}))
check "rmmod once nothing is mapped" rmmod qbd
