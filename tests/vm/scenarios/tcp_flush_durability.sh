#!/bin/bash
# qbd-vm: timeout=420 rdma
# Acknowledged writes survive a server crash: write + fsync through ext4 on the
# device, kill -9 the server, restart it, and the data is there. A FLUSH is
# fdatasync on the server, so this also holds on a real disk.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/d" volume_create "$E2E_CONF" pool1/d 128M
dev=$(volume_map "$E2E_CONF" pool1/d) || bail "map pool1/d"
mnt=/mnt/d
mkdir -p $mnt
check "mkfs.ext4 + mount" bash -c "mkfs.ext4 -q -F $dev && mount $dev $mnt"
check "write files and fsync each" bash -c "for i in \$(seq 20); do head -c 300k /dev/urandom > $mnt/f\$i; done; sync -f $mnt/f1; for i in \$(seq 20); do python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' $mnt/f\$i; done"
check "record checksums" bash -c "cd $mnt && sha256sum f* > $QBD_RESULTS/durable.sha256"
check "raw write with O_DSYNC at the end of the device" dd if=/dev/urandom of=/tmp/tail bs=4k count=8 status=none
check "write it" dd if=/tmp/tail of="$dev" bs=4k seek=$(((128 << 20) / 4096 - 8)) oflag=direct,dsync conv=notrunc status=none
check "kill -9 the server" e2e_server_kill9
check "restart it" e2e_server_start
check "the O_DSYNC write is there" cmp <(dd if="$dev" bs=4k skip=$(((128 << 20) / 4096 - 8)) count=8 iflag=direct status=none) /tmp/tail
check "drop caches" bash -c "echo 3 > /proc/sys/vm/drop_caches"
check "the fsynced files are there" bash -c "cd $mnt && sha256sum --quiet -c $QBD_RESULTS/durable.sha256"
check "umount" umount $mnt
check "e2fsck -fn" e2fsck -fn "$dev"
check "qbd -u pool1/d" volume_unmap "$E2E_CONF" pool1/d
