#!/bin/bash
# qbd-vm: timeout=600 rdma
# The server is killed (SIGKILL) during fio verify and restarted within
# io_timeout: fio completes and verifies, the kernel log shows reconnects,
# /proc/qbdstat counts them.
. "$QBD_TOP/tests/vm/lib.sh"

# 30 s, times QBD_TIMEOUT_SCALE: on the debug kernel a restarted server
# takes ~14 s to set up its RDMA device at the first connect, and the
# queues reconnect only after that.
QBD_IO_TIMEOUT=$((30 * ${QBD_TIMEOUT_SCALE:-1})) e2e_setup
check "create pool1/r" volume_create "$E2E_CONF" pool1/r 128M
dev=$(volume_map "$E2E_CONF" pool1/r) || bail "map pool1/r"
ok "mapped pool1/r -> $dev"
name=${dev#/dev/}
r0=$(stat_field "$name" reconnects)
check_eq "no reconnects before the kill" "${r0:-missing}" 0

fio_verify "fio verify across two server kills" "$dev" --size=40% --numjobs=2 \
	--rw=randwrite --bsrange=4k-128k --time_based=0 --loops=2 &
fio_pid=$!
for round in 1 2; do
	sleep 6
	kmsg "killing the server (round $round)"
	check "kill -9 the server (round $round)" e2e_server_kill9
	sleep 2
	check "restart the server (round $round)" e2e_server_start
done
wait $fio_pid
check "fio finished" true
r=$(stat_field "$name" reconnects)
check "/proc/qbdstat counts reconnects (${r:-missing})" test "${r:-0}" -ge 1
check "kernel log shows the reconnect" bash -c "dmesg | grep -E '$name.*(reconnect|connection)'"
check "qbd -i reports LIVE" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/r | grep -iw live"
check "qbd -u pool1/r" volume_unmap "$E2E_CONF" pool1/r
