#!/bin/bash
# qbd-vm: timeout=420 rdma
# map -> mkfs.ext4 -> mount -> a tree of files -> umount -> unmap -> map again
# -> mount -> every checksum matches; /dev/qbd/POOL/VOL and its partition
# links come from the udev rules; /proc/qbdstat and qbd -l/-i show it.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
require "udevd with the qbd rules" udev_start
check "qbdadm create pool1/vol1 --size 512M" volume_create "$E2E_CONF" pool1/vol1 512M

dev=$(volume_map "$E2E_CONF" pool1/vol1) || bail "map pool1/vol1"
ok "qbd -m $QBD_TRANSPORT://pool1/vol1 -> $dev"
name=${dev#/dev/}
check_eq "size of $dev is 512 MiB" "$(blockdev --getsize64 "$dev")" $((512 << 20))
check "udev link /dev/qbd/pool1/vol1 -> $dev" \
	bash -c "udevadm settle; [[ \$(readlink -f /dev/qbd/pool1/vol1) == $dev ]]"
check "qbd -l lists pool1/vol1 on $dev" bash -c "$QBD_BIN -c $E2E_CONF -l | grep -w pool1/vol1 | grep -qw $dev"
check "qbd -l --json is JSON" bash -c "$QBD_BIN -c $E2E_CONF -l --json | python3 -m json.tool"
check "qbd -i shows the volume" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/vol1 | grep -q vol1"
check "/proc/qbdstat has a line for $name" grep -qw "$name" /proc/qbdstat

mnt=/mnt/qbd
mkdir -p $mnt
check "mkfs.ext4 $dev" mkfs.ext4 -q -F "$dev"
check "mount $dev" mount "$dev" $mnt
check "write a tree of files" fs_populate $mnt 30
check "sync" sync
check "umount" umount $mnt
w=$(stat_field "$name" write_ios)
check "/proc/qbdstat counted writes ($w)" test "${w:-0}" -gt 0
check "qbd -u pool1/vol1" volume_unmap "$E2E_CONF" pool1/vol1
check "$dev is gone after unmap" wait_gone "$dev" 10

dev=$(volume_map "$E2E_CONF" pool1/vol1) || bail "map pool1/vol1 again"
ok "mapped again -> $dev"
check "e2fsck -fn after remapping" e2fsck -fn "$dev"
check "mount again" mount "$dev" $mnt
check "every checksum matches" fs_verify $mnt
check "umount again" umount $mnt

# Partitions: a GPT with one partition, the -part1 link and a filesystem on it.
check "partition the device" sfdisk -q "$dev" <<<'label: gpt
,64M'
check "qbd -u after partitioning" volume_unmap "$E2E_CONF" pool1/vol1
dev=$(volume_map "$E2E_CONF" pool1/vol1) || bail "map with a partition table"
check "${dev}p1 appears after map (partitions reread)" wait_for_dev "${dev}p1" 10
check "udev link /dev/qbd/pool1/vol1-part1" \
	bash -c "udevadm settle; [[ \$(readlink -f /dev/qbd/pool1/vol1-part1) == ${dev}p1 ]]"
check "mkfs.ext4 on ${dev}p1" mkfs.ext4 -q -F "${dev}p1"
check "final unmap" volume_unmap "$E2E_CONF" pool1/vol1
check "udev link removed" wait_gone /dev/qbd/pool1/vol1 10
