#!/bin/bash
# qbd-vm: manual timeout=1200
# Where the time goes for qbd over TCP in the guest: the same qbd setup as
# bench/vm/matrix.sh (qbd-server in namespace bqbd, volume on a raw brd
# ramdisk), fio 4k randread QD1 and 128k read QD16 (the largest gaps to
# NVMe/TCP in the matrix), each under `perf record -a -g` (cpu-clock: TCG
# has no PMU). Reports per command and per symbol in
# $QBD_RESULTS/perf-<workload>.txt.
#   tests/vm/run.sh bench/vm/profile.sh
. "$QBD_TOP/tests/vm/lib.sh"
. "$QBD_TOP/bench/vm/bench-lib.sh"

bench_config
B_RUNTIME=8
B_RAMP=2
size=$B_SIZE_MIB
require_bins fio perf "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN"
require "brd: 2 ramdisks" modprobe brd rd_nr=2 rd_size=$(((size + 64) * 1024))
at_exit "rmmod brd"
require "ext4 on ram1" bash -c "mkfs.ext4 -q -F /dev/ram1 && mkdir -p /srv/bqbd && mount /dev/ram1 /srv/bqbd"
at_exit "umount -l /srv/bqbd"
require "prefill /dev/ram0" bench_prefill /dev/ram0 "$size"
QCONF=/tmp/bench/qbd.conf
QLISTEN=tcp://10.78.2.2:7000
require "netns bqbd" netns_create bqbd 10.78.2.1 10.78.2.2
require "qbd-server" server_start bqbd /srv/bqbd "$QLISTEN"
require "qbd.conf" qbd_conf_write "$QCONF" 10.78.2.2:7000
require "create bench/raw" volume_create "$QCONF" bench/raw "${size}M"
require "stop the server" server_stop bqbd "$QLISTEN"
p=$(awk '$1 == "vol" && $4 == "raw" { print "/srv/bqbd/volumes/" $2 ".vol" }' /srv/bqbd/catalog)
require "volume file -> /dev/ram0" bash -c "rm -f '$p' && ln -s /dev/ram0 '$p'"
require "qbd-server again" server_start bqbd /srv/bqbd "$QLISTEN"
dev=$(volume_map "$QCONF" bench/raw -o "nr_queues=$B_QUEUES,io_depth=$B_IO_DEPTH") || bail "map bench/raw"
at_exit "volume_unmap $QCONF bench/raw"
bench_tune "$dev"
ok "mapped $dev"

for wl in rr4k_qd1 sr128k_qd16; do
	out=$QBD_RESULTS/$wl
	perf record -e cpu-clock -F 999 -a -g -o "$out.perf.data" -- sleep $((B_RAMP + B_RUNTIME - 1)) \
		> "$out.perf.log" 2>&1 &
	pp=$!
	check "fio $wl under perf" bench_fio "$out" "$dev" io_uring "$wl"
	wait "$pp"
	{
		echo "== fio: $(grep -o '"iops" : [0-9.]*' "$out.json" | head -n 2 | tr '\n' ' ')"
		echo "== samples per command"
		perf report -i "$out.perf.data" --stdio --no-children --sort comm 2>/dev/null | grep -v '^$' | head -n 25
		echo "== top symbols (comm, dso, symbol)"
		perf report -i "$out.perf.data" --stdio --no-children -g none --sort comm,dso,sym 2>/dev/null |
			grep -v '^$' | head -n 70
	} > "$QBD_RESULTS/perf-$wl.txt"
	rm -f "$out.perf.data"
	check "perf report for $wl" test -s "$QBD_RESULTS/perf-$wl.txt"
done
