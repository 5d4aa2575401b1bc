#!/bin/bash
# qbd-vm: timeout=600 rdma
# fio randrw 4k..512k, two jobs, QD32, crc32c verification on the raw device.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/fio" volume_create "$E2E_CONF" pool1/fio 128M
dev=$(volume_map "$E2E_CONF" pool1/fio) || bail "map pool1/fio"
ok "mapped pool1/fio -> $dev"
fio_verify "fio randrw 4k-512k QD32 x2 --verify=crc32c (libaio)" "$dev"
fio_verify "fio randrw 4k-512k QD32 x2 --verify=crc32c (io_uring)" "$dev" --ioengine=io_uring
fio_verify "fio write with FUA/fsync every 16 IOs, verified" "$dev" --rw=randwrite --fsync=16 --bsrange=4k-64k
name=${dev#/dev/}
e=$(stat_field "$name" errors)
check_eq "no errors counted in /proc/qbdstat" "${e:-missing}" 0
check "qbd -u pool1/fio" volume_unmap "$E2E_CONF" pool1/fio
