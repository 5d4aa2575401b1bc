#!/bin/bash
# qbd-vm: timeout=600 rdma
# fio randrw 4k..512k, two jobs, QD32, crc32c verification on the raw device.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/fio" volume_create "$E2E_CONF" pool1/fio 128M
dev=$(volume_map "$E2E_CONF" pool1/fio) || bail "map pool1/fio"
ok "mapped pool1/fio -> $dev"
if [[ $QBD_TRANSPORT == tcp ]]; then
	# Per-CPU reactors: each hardware queue connects from its own CPU, so
	# the server accepts queue N's connection (the last ones accepted, one
	# per CPU: the map's default nr_queues) on the reactor pinned to CPU N.
	slog=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
	n=$(nproc)
	got=$(grep -o "on reactor [0-9]* (incoming CPU [0-9-]*)" "$slog" | tail -n "$n" | sort | tr '\n' ' ')
	want=$(for ((c = 0; c < n; c++)); do echo "on reactor $c (incoming CPU $c)"; done | sort | tr '\n' ' ')
	check_eq "server: queue N's connection on CPU N's reactor" "$got" "$want"
else
	# Per-CPU RDMA workers (the default, --rdma-workers 0): each queue's
	# connect request names the CPU it posts from (qbd_rdma_cm_req), and
	# the server serves it on the worker pinned to that CPU. The fio runs
	# below go through those workers.
	slog=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
	n=$(nproc)
	got=$(grep -o "on rdma worker [0-9]* (CPU [0-9-]*, client CPU [0-9-]*;" "$slog" | tail -n "$n" | sort | tr '\n' ' ')
	want=$(for ((c = 0; c < n; c++)); do echo "on rdma worker $c (CPU $c, client CPU $c;"; done | sort | tr '\n' ' ')
	check_eq "server: queue N's QP on CPU N's RDMA worker" "$got" "$want"
fi
fio_verify "fio randrw 4k-512k QD32 x2 --verify=crc32c (libaio)" "$dev"
fio_verify "fio randrw 4k-512k QD32 x2 --verify=crc32c (io_uring)" "$dev" --ioengine=io_uring
fio_verify "fio write with FUA/fsync every 16 IOs, verified" "$dev" --rw=randwrite --fsync=16 --bsrange=4k-64k
if [[ $QBD_TRANSPORT == rdma ]]; then
	# --rdma-workers 1 --rdma-poll-us 2000: one unpinned worker that
	# polls its CQs for 2 ms after the last work before sleeping. Its exit
	# line counts the completions it found polling: at QD1 nearly every
	# request is found so.
	check "stop the server" e2e_server_stop
	check "start it with --rdma-workers 1 --rdma-poll-us 2000" e2e_server_start --rdma-workers 1 --rdma-poll-us 2000
	check "the device reconnects" wait_until $((60 * ${QBD_TIMEOUT_SCALE:-1})) dev_live "$dev"
	fio_verify "polling server: fio randrw 4k-512k QD32 x2, verified" "$dev" --ioengine=io_uring
	fio_verify "polling server: fio randwrite 4k QD1, verified" "$dev" --ioengine=io_uring --numjobs=1 \
		--iodepth=1 --rw=randwrite --bsrange=4k-4k --size=8M
	check "stop the polling server" e2e_server_stop
	slog=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
	check "server log: polling 2000 us" grep -q "polling 2000 us before sleeping" "$slog"
	polled=$(grep -o "found completions polling [0-9]* times" "$slog" | tail -n 1 | grep -o "[0-9]*")
	check "the worker found completions polling (${polled:-none})" test "${polled:-0}" -gt 100
	check "start the server again" e2e_server_start
	check "the device reconnects" wait_until $((60 * ${QBD_TIMEOUT_SCALE:-1})) dev_live "$dev"
fi
name=${dev#/dev/}
e=$(stat_field "$name" errors)
check_eq "no errors counted in /proc/qbdstat" "${e:-missing}" 0
check "qbd -u pool1/fio" volume_unmap "$E2E_CONF" pool1/fio
