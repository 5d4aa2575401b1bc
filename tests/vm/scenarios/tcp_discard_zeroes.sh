#!/bin/bash
# qbd-vm: timeout=420 rdma
# blkdiscard, blkdiscard -z and fallocate --zero-range read back as zeros; the
# device advertises discard and write-zeroes; data around the ranges survives.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/dz" volume_create "$E2E_CONF" pool1/dz 64M
dev=$(volume_map "$E2E_CONF" pool1/dz) || bail "map pool1/dz"
ok "mapped pool1/dz -> $dev"
name=${dev#/dev/}
check "discard is advertised" test "$(cat /sys/block/$name/queue/discard_max_bytes)" -gt 0
check "write-zeroes is advertised" test "$(cat /sys/block/$name/queue/write_zeroes_max_bytes)" -gt 0

zeros() { cmp -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" status=none) /dev/zero; }
nonzero() { zeros "$@"; [[ $? == 1 ]]; }  # cmp: 1 = differs, 2 = trouble
fill() { dd if=/dev/urandom of=/tmp/pattern bs=1M count=64 status=none && dd if=/tmp/pattern of="$dev" bs=1M oflag=direct status=none; }
same_as_pattern() { cmp -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" status=none) <(dd if=/tmp/pattern bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none); }

check "fill with random data" fill
check "blkdiscard 4M..12M" blkdiscard -o $((4 << 20)) -l $((8 << 20)) "$dev"
check "discarded range reads back as zeros" zeros "$dev" $((4 << 20)) $((8 << 20))
check "data before the range intact" same_as_pattern "$dev" 0 $((4 << 20))
check "data after the range intact" same_as_pattern "$dev" $((12 << 20)) $((4 << 20))

check "blkdiscard -z 20M..21M+4k" blkdiscard -z -o $((20 << 20)) -l $(((1 << 20) + 4096)) "$dev"
check "zeroed range reads back as zeros" zeros "$dev" $((20 << 20)) $(((1 << 20) + 4096))
check "data after the zeroed range intact" same_as_pattern "$dev" $((21 << 20 | 4096)) $((1 << 20))

check "fallocate --zero-range 40M..41M" fallocate --zero-range -o $((40 << 20)) -l $((1 << 20)) "$dev"
check "fallocate'd range reads back as zeros" zeros "$dev" $((40 << 20)) $((1 << 20))
check "data at 48M still there" nonzero "$dev" $((48 << 20)) $((1 << 20))
check "qbd -u pool1/dz" volume_unmap "$E2E_CONF" pool1/dz
