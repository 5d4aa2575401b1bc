#!/bin/bash
# qbd-vm: timeout=420 rdma
# The server goes away for good: IO fails with EIO within io_timeout (plus a
# margin), nothing hangs, and unmap succeeds.
. "$QBD_TOP/tests/vm/lib.sh"

QBD_IO_TIMEOUT=10 QBD_HB_INTERVAL=1 QBD_HB_TIMEOUT=3 e2e_setup
check "create pool1/g" volume_create "$E2E_CONF" pool1/g 64M
dev=$(volume_map "$E2E_CONF" pool1/g) || bail "map pool1/g"
ok "mapped pool1/g -> $dev (io_timeout 10 s)"
check "write before the server goes" dd if=/dev/urandom of="$dev" bs=64k count=16 oflag=direct status=none
check "kill -9 the server" e2e_server_kill9
t0=$SECONDS
out=$(dd if="$dev" of=/dev/null bs=4k count=1 skip=1000 iflag=direct 2>&1)
rc=$?
el=$((SECONDS - t0))
check_eq "read after the server is gone fails" "$rc" 1
check "...with an I/O error" grep -q "Input/output error" <<<"$out"
check "...within io_timeout + 15 s (took ${el}s)" test $el -le 25
t0=$SECONDS
out=$(dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct,sync 2>&1)
rc=$?
check_eq "a new write fails too" "$rc" 1
check "...fast, the device is FAILED (took $((SECONDS - t0))s)" test $((SECONDS - t0)) -le 12
check "qbd -i reports FAILED" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/g | grep -iw failed"
t0=$SECONDS
check "unmap succeeds with the server gone" timeout 60 "$QBD_BIN" -c "$E2E_CONF" -u pool1/g
check "$dev is gone" wait_gone "$dev" 10
check "rmmod qbd works afterwards" qbd_unload
