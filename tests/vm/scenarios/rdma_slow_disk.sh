#!/bin/bash
# qbd-vm: timeout=900
# The server's RDMA thread does disk IO asynchronously: a volume whose file
# sits on a slow disk (dm-delay, 400 ms per IO) does not hold up another
# volume's requests on the same thread. While 4 KiB direct writes keep the
# slow volume busy, 200 4 KiB direct reads of the fast volume must finish
# far sooner than they would queued behind the slow IOs (one 400 ms wait
# each, 80 s, when the thread blocks on the disk); then both volumes' data
# is checked.
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/slow" volume_create "$E2E_CONF" pool1/slow 32M
slowvol=$(ls "$E2E_DATA/volumes") # the only one yet
check "create pool1/fast" volume_create "$E2E_CONF" pool1/fast 32M
diag "pool1/slow is $E2E_DATA/volumes/$slowvol"

# The slow volume's file moves to ext4 on dm-delay over a loop device.
slow_setup() {
	modprobe dm-delay || return 1
	modprobe loop 2>/dev/null
	truncate -s 96M /tmp/slow.img && loopdev=$(losetup -f --show /tmp/slow.img) || return 1
	at_exit "losetup -d $loopdev"
	mkfs.ext4 -q -F "$loopdev" || return 1 # before the delay: mkfs is many IOs
	dmsetup create qbdslow --table "0 $((96 * 2048)) delay $loopdev 0 400" &&
		dmsetup mknodes qbdslow || return 1 # no udev here
	at_exit "dmsetup remove qbdslow"
	mkdir -p /mnt/slow && mount /dev/mapper/qbdslow /mnt/slow || return 1
	at_exit "umount -l /mnt/slow"
	e2e_server_stop || return 1
	# The volume is empty: a sparse file of its size there is the same.
	truncate -s 32M "/mnt/slow/$slowvol" && rm "$E2E_DATA/volumes/$slowvol" &&
		ln -s "/mnt/slow/$slowvol" "$E2E_DATA/volumes/$slowvol" || return 1
	e2e_server_start
}
require "pool1/slow on dm-delay (400 ms per IO), server restarted" slow_setup

fast=$(volume_map "$E2E_CONF" pool1/fast -o nr_queues=1) || bail "map pool1/fast"
slow=$(volume_map "$E2E_CONF" pool1/slow -o nr_queues=1) || bail "map pool1/slow"
ok "mapped pool1/fast -> $fast, pool1/slow -> $slow"
check "fast: write 800 KiB" bash -c \
	"dd if=/dev/urandom of=/tmp/f bs=4k count=200 status=none &&
	 dd if=/tmp/f of=$fast bs=4k oflag=direct status=none"

# Keep the slow volume busy: 4 writers of 100 4 KiB direct writes each,
# QD 4 in all: 40 s or more at 400 ms each, 160 s if served one at a time.
dd if=/dev/urandom of=/tmp/s bs=4k count=400 status=none
pids=()
for i in 0 1 2 3; do
	dd if=/tmp/s of="$slow" bs=4k count=100 skip=$((i * 100)) seek=$((i * 100)) oflag=direct status=none &
	pids+=($!)
done
sleep 2
start=$SECONDS
check "fast: 200 direct 4 KiB reads while the slow volume is busy" bash -c \
	"cmp <(dd if=$fast bs=4k count=200 iflag=direct status=none) /tmp/f"
took=$((SECONDS - start))
busy=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && busy=$((busy + 1)); done
diag "200 fast reads took ${took}s; slow writers still running after them: $busy of 4"
check "the slow writes were still in flight during the fast reads" test "$busy" -ge 1
check "the fast reads did not wait behind the slow IOs (< 30 s; 80 s if serialised)" test "$took" -lt 30
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
check_eq "slow writers finished cleanly" "$rc" 0
check "slow: data reads back" bash -c \
	"cmp <(dd if=$slow bs=1600k count=1 iflag=direct status=none) /tmp/s"
check "qbd -u pool1/fast" volume_unmap "$E2E_CONF" pool1/fast
check "qbd -u pool1/slow" volume_unmap "$E2E_CONF" pool1/slow
check "rmmod qbd" qbd_unload
