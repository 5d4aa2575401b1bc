#!/bin/bash
# qbd-vm: timeout=900
# Random ioctls at /dev/qbdctl (qbdctl_abuse random: numbers in and around
# our magic, random and edge struct sizes in the number and in hdr.size,
# random bodies behind valid headers, huge and negative-looking values in the
# count and id fields, bad pointers) while a mapped volume runs fio --verify
# and another volume is mapped and unmapped in a loop: no crash, no kernel
# warning (the harness scans the log), only expected errnos, the verify
# passes, and no leak. kmemleak is not available: Debian's kernel has
# CONFIG_DEBUG_KMEMLEAK unset. Instead the kmalloc-*/qbd* slab object
# counts are compared between two quiet points (IO stopped, caches dropped)
# around the main run: a leak of one object per ioctl would add 50,000;
# the tolerance is 1,000, one per 50 ioctls (SLUB counts per-CPU free
# objects as active, so the counts move a little on their own: +17 measured
# in a passing run).
. "$QBD_TOP/tests/vm/lib.sh"

ABUSE=$QBD_BUILD/userspace/vm-tools/qbdctl_abuse
N_IOCTLS=50000
TOLERANCE=1000
e2e_setup
require_bins "$ABUSE"
check "create pool1/fz" volume_create "$E2E_CONF" pool1/fz 256M
check "create pool1/loop" volume_create "$E2E_CONF" pool1/loop 64M
dev=$(volume_map "$E2E_CONF" pool1/fz) || bail "map pool1/fz"
id=${dev#/dev/qbd}
ok "mapped pool1/fz -> $dev (protected from the random commands)"

# Objects in use in the kmalloc caches and the module's own caches.
slab_objs() { awk 'NR > 2 && $1 ~ /^(kmalloc|qbd)/ { s += $2 } END { print s + 0 }' /proc/slabinfo; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
quiesce() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 2
}

# map_loop N: map pool1/loop, write to it, unmap it, N times. Random
# commands may unmap, suspend or throttle it meanwhile, so a failed cycle
# is not an error here; the end of the scenario checks nothing is left.
map_loop() {
	local i d good=0
	for ((i = 0; i < $1; i++)); do
		d=$(volume_map "$E2E_CONF" pool1/loop 2>/dev/null) &&
			timeout 60 dd if=/dev/urandom of="$d" bs=64k count=16 oflag=direct status=none &&
			good=$((good + 1))
		"$QBD_BIN" -c "$E2E_CONF" -u pool1/loop > /dev/null 2>&1
	done
	echo "$good" > /tmp/map_loop.good
}

# phase NAME IOCTLS SEED CYCLES FIO_SECONDS
phase() {
	local name=$1 n=$2 seed=$3 cycles=$4 secs=$5 fio_pid loop_pid
	fio_verify "$name: fio --verify on $dev during the random ioctls" "$dev" \
		--time_based --runtime="$secs" --numjobs=1 --size=60% &
	fio_pid=$!
	map_loop "$cycles" &
	loop_pid=$!
	sleep 2
	check "$name: $n random ioctls (seed $seed): no crash, only expected errors" \
		"$ABUSE" random "$n" "$seed" "$id"
	diag "$name: $(grep -m1 '^random: [0-9]' <<<"$QBD_LAST_OUTPUT")"
	wait $loop_pid
	diag "$name: $(cat /tmp/map_loop.good) of $cycles map/write/unmap cycles completed"
	wait $fio_pid
}

phase warm-up 2000 1 3 20
"$QBD_BIN" -c "$E2E_CONF" -u pool1/loop > /dev/null 2>&1
quiesce
objs0=$(slab_objs)
kb0=$(slab_kb)

phase main $N_IOCTLS 2 10 60
"$QBD_BIN" -c "$E2E_CONF" -u pool1/loop > /dev/null 2>&1
quiesce
objs1=$(slab_objs)
kb1=$(slab_kb)
diag "slab objects (kmalloc*, qbd*): $objs0 -> $objs1 ($((objs1 - objs0))); Slab: $kb0 kB -> $kb1 kB"
check "no leak: slab objects grew by $((objs1 - objs0)) over $N_IOCTLS ioctls (tolerance $TOLERANCE)" \
	test $((objs1 - objs0)) -lt $TOLERANCE

check "the ioctl table still gives the expected errnos" "$ABUSE" checks
check_eq "only pool1/fz is mapped" "$(ls /dev/qbd[0-9]* 2>/dev/null)" "$dev"
check "$dev still reads" dd if="$dev" of=/dev/null bs=1M count=4 iflag=direct status=none
check "qbd -u pool1/fz" volume_unmap "$E2E_CONF" pool1/fz
check "rmmod works (no reference left behind)" qbd_unload
