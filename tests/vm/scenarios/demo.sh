#!/bin/bash
# qbd-vm: manual timeout=600
# `make demo`: a server in a network namespace, a volume mapped over TCP,
# ext4 made and mounted on it, data written and verified, /proc/qbdstat.
. "$QBD_TOP/tests/vm/lib.sh"

step() { echo; echo "==> $*"; }
step "starting qbd-server in namespace $E2E_NS at $(e2e_listen), data on ext4 (brd)"
e2e_setup
step "qbdadm create demo/vol1 --size 1G"
check "qbdadm create demo/vol1" volume_create "$E2E_CONF" demo/vol1 1G
"$QBDADM_BIN" -c "$E2E_CONF" list
step "qbd -m tcp://demo/vol1"
dev=$(volume_map "$E2E_CONF" demo/vol1) || bail "map demo/vol1"
ok "mapped demo/vol1 -> $dev"
"$QBD_BIN" -c "$E2E_CONF" -l
step "mkfs.ext4 $dev && mount $dev /mnt/demo"
mkdir -p /mnt/demo
check "mkfs.ext4" mkfs.ext4 -q -F "$dev"
check "mount" mount "$dev" /mnt/demo
step "writing 100 files, then verifying their checksums after a remount"
check "write files" fs_populate /mnt/demo 100
check "umount" umount /mnt/demo
check "mount again" mount "$dev" /mnt/demo
check "verify checksums" fs_verify /mnt/demo
df -h /mnt/demo
step "cat /proc/qbdstat"
cat /proc/qbdstat
check "umount" umount /mnt/demo
step "qbd -u demo/vol1"
check "unmap" volume_unmap "$E2E_CONF" demo/vol1
