#!/bin/bash
# qbd-vm: manual timeout=7200
# The benchmark matrix (run by bench/run.sh, `make bench`): fio against
#   local  brd itself (the ceiling; on the file backend: fio on a file on
#          ext4 on brd, O_DIRECT)
#   nbd    nbd-server in namespace bnbd across a veth pair, B_QUEUES connections
#   nvme   nvme-tcp to the kernel nvmet target across a veth pair (the target
#          cannot leave the initial namespace), B_QUEUES IO queues
#   qbd    qbd-server in namespace bqbd across a veth pair, B_QUEUES hardware
#          queues
#   nvme-rdma  NVMe/RDMA to the kernel nvmet-rdma target over soft-RoCE (rxe)
#          on the nvme wire, B_QUEUES IO queues (brd backend: the nvme ramdisk)
#   qbd-rdma   qbd over rdma:// to a second qbd-server in the initial
#          namespace on that wire (brd backend: the qbd ramdisk); skipped,
#          with a message, while the module cannot map rdma://
#   qbd-rdma-poll  the same to a third qbd-server whose RDMA workers poll
#          before sleeping (B_RDMA_POLL_ARGS, default --rdma-workers 1 --rdma-poll-us 2000: one worker);
#          not in the default device list
#   qbd-rdma-percpu  the same to a fourth qbd-server with one RDMA worker
#          per CPU (B_RDMA_PERCPU_ARGS, default --rdma-workers 0); not in
#          the default device list
# and, beside the matrix, qbd-loadgen rdma:// against that server alone
# (the server's RDMA path without the kernel client; bench/native.sh cannot
# do RDMA: the host kernel has no rxe).
# every one on the same backend: a brd ramdisk of its own ("brd"), then a
# file on ext4 on a brd ramdisk of its own ("file", O_DIRECT where the server
# does it). All targets are set up first; the runs interleave the devices
# (rep > workload > engine > device) so slow drifts of the shared host hit
# every device alike. A benchmark, not a test: nothing asserts on timings;
# a check fails only when a target cannot be set up or fio fails.
. "$QBD_TOP/tests/vm/lib.sh"
. "$QBD_TOP/bench/vm/bench-lib.sh"

bench_config
RAW=$QBD_RESULTS/raw
mkdir -p "$RAW"
: > "$QBD_RESULTS/devices.txt"
size=$B_SIZE_MIB
rd_mib=$((size + 64))
require_bins fio nbd-server nbd-client nvme "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN" "$QBD_LOADGEN_BIN"
if ((B_EVENTS)); then
	require_bins perf
	require "perf stat counts the bench events" bench_events /tmp/events-probe 1
	require "perf stat wrote them" grep -q sched_switch /tmp/events-probe
fi
want() { [[ " $B_DEVICES " == *" $1 "* ]]; }
want_backend() { [[ " $B_BACKENDS " == *" $1 "* ]]; }

# ---- ramdisks: raw ones, and ext4 ones holding the backend files ---------
# ram0 local, ram1 nbd, ram2 nvme, ram3 qbd (raw); ram4 qbd data dir (its
# catalog, and the file volume), ram5 nbd file, ram6 nvme file, ram7 local
# file.
require "brd: 8 ramdisks of $rd_mib MiB" modprobe brd rd_nr=8 rd_size=$((rd_mib * 1024))
at_exit "rmmod brd"
mkfsmount() {
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1" && mkdir -p "$2" &&
		mount -o noatime "$1" "$2"
}
require "ext4 on ram4 (qbd data dir)" mkfsmount /dev/ram4 /srv/bqbd
at_exit "umount -l /srv/bqbd"
if want_backend file; then
	for d in 5:nbd 6:nvme 7:local; do
		require "ext4 on ram${d%%:*} ($d)" mkfsmount "/dev/ram${d%%:*}" "/srv/bfile-${d#*:}"
		at_exit "umount -l /srv/bfile-${d#*:}"
		require "prefill /srv/bfile-${d#*:}/${d#*:}.img" bench_prefill "/srv/bfile-${d#*:}/${d#*:}.img" "$size"
	done
fi
for i in 0 1 2 3; do
	require "prefill /dev/ram$i" bench_prefill /dev/ram$i "$size"
done

declare -A DEV=()   # "backend:device" -> block device or file fio runs on
want local && DEV[brd:local]=/dev/ram0
want local && want_backend file && DEV[file:local]=/srv/bfile-local/local.img

# ---- NBD -----------------------------------------------------------------
nbd_setup() {
	netns_create bnbd 10.78.1.1 10.78.1.2 || return 1
	bench_mtu q-bnbd && bench_mtu eth0 bnbd || return 1
	modprobe nbd nbds_max=2 || return 1
	at_exit "rmmod nbd"
	{
		printf '[generic]\nuser = root\ngroup = root\nlistenaddr = 10.78.1.2\nport = 10809\n'
		printf '[raw]\nexportname = /dev/ram1\nflush = true\nfua = true\n'
		printf '[file]\nexportname = /srv/bfile-nbd/nbd.img\nflush = true\nfua = true\n'
	} > /tmp/bench-nbd.conf
	ip netns exec bnbd nbd-server -C /tmp/bench-nbd.conf -p /tmp/bench-nbd.pid || return 1
	at_exit 'kill $(cat /tmp/bench-nbd.pid)'
	wait_until 10 ip netns exec bnbd bash -c 'exec 3<>/dev/tcp/10.78.1.2/10809' || return 1
	nbd-client 10.78.1.2 10809 /dev/nbd0 -N raw -b 4096 -C "$B_QUEUES" || return 1
	at_exit "nbd-client -d /dev/nbd0"
	DEV[brd:nbd]=/dev/nbd0
	if want_backend file; then
		nbd-client 10.78.1.2 10809 /dev/nbd1 -N file -b 4096 -C "$B_QUEUES" || return 1
		at_exit "nbd-client -d /dev/nbd1"
		DEV[file:nbd]=/dev/nbd1
	fi
}
want nbd && check "nbd: nbd-server in bnbd, $B_QUEUES connections" nbd_setup

# ---- NVMe/TCP --------------------------------------------------------------
nvme_setup() {
	modprobe nvmet && modprobe nvmet_tcp && modprobe nvme_tcp || return 1
	# configfs is a module here: mounted only once nvmet pulled it in.
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	nvme_wire_setup || return 1
	nvmet_export bench-raw /dev/ram2 1 10.78.3.2 4420 || return 1
	want_backend file && { nvmet_export bench-file /srv/bfile-nvme/nvme.img 1 10.78.3.2 4420 || return 1; }
	nvme connect -t tcp -a 10.78.3.2 -s 4420 -w 10.78.3.1 -n bench-raw -i "$B_QUEUES" \
		-Q "$B_IO_DEPTH" || return 1
	at_exit "nvme disconnect -n bench-raw"
	wait_until 10 nvme_dev bench-raw || return 1
	DEV[brd:nvme]=$(nvme_dev bench-raw)
	wait_for_dev "${DEV[brd:nvme]}" || return 1
	if want_backend file; then
		nvme connect -t tcp -a 10.78.3.2 -s 4420 -w 10.78.3.1 -n bench-file -i "$B_QUEUES" \
			-Q "$B_IO_DEPTH" || return 1
		at_exit "nvme disconnect -n bench-file"
		wait_until 10 nvme_dev bench-file || return 1
		DEV[file:nvme]=$(nvme_dev bench-file)
		wait_for_dev "${DEV[file:nvme]}" || return 1
	fi
}
want nvme && check "nvme-tcp: nvmet across veth bn0-bn1, $B_QUEUES IO queues" nvme_setup

# ---- qbd over TCP ----------------------------------------------------------
QCONF=/tmp/bench/qbd.conf
QLISTEN=tcp://10.78.2.2:7000
# vol_path NAME: the volume file of bench/NAME in the server's catalog.
vol_path() {
	awk -v v="$1" '$1 == "vol" && $3 == "bench" && $4 == v { print "/srv/bqbd/volumes/" $2 ".vol" }' \
		/srv/bqbd/catalog
}
qbd_setup() {
	local p
	netns_create bqbd 10.78.2.1 10.78.2.2 || return 1
	bench_mtu q-bqbd && bench_mtu eth0 bqbd || return 1
	server_start bqbd /srv/bqbd "$QLISTEN" || return 1
	QBD_IO_DEPTH=$B_IO_DEPTH qbd_conf_write "$QCONF" 10.78.2.2:7000 || return 1
	volume_create "$QCONF" bench/raw "${size}M" || return 1
	want_backend file && { volume_create "$QCONF" bench/file "${size}M" || return 1; }
	# The server keeps volumes as files; for the raw-brd backend the
	# volume file becomes a symlink to the ramdisk (the file backend opens
	# block devices too), swapped while the server is down.
	server_stop bqbd "$QLISTEN" || return 1
	p=$(vol_path raw)
	[[ -n $p ]] || { echo "no bench/raw in /srv/bqbd/catalog" >&2; return 1; }
	rm -f "$p" && ln -s /dev/ram3 "$p" || return 1
	if want_backend file; then
		p=$(vol_path file)
		bench_prefill "$p" "$size" || return 1
	fi
	server_start bqbd /srv/bqbd "$QLISTEN" || return 1
	bench_meminfo > "$QBD_RESULTS/qbd-mem-before.txt"
	DEV[brd:qbd]=$(volume_map "$QCONF" bench/raw -o "nr_queues=$B_QUEUES,io_depth=$B_IO_DEPTH") || return 1
	at_exit "volume_unmap $QCONF bench/raw"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	bench_meminfo > "$QBD_RESULTS/qbd-mem-after.txt"
	if want_backend file; then
		DEV[file:qbd]=$(volume_map "$QCONF" bench/file -o "nr_queues=$B_QUEUES,io_depth=$B_IO_DEPTH") || return 1
		at_exit "volume_unmap $QCONF bench/file"
	fi
}
if want qbd; then
	sync
	echo 3 > /proc/sys/vm/drop_caches
	check "qbd: qbd-server in bqbd, $B_QUEUES hardware queues" qbd_setup
fi

# ---- NVMe/RDMA (brd only: it shares ram2 with nvme-tcp, one device at a
# time, through a subsystem of its own so multipath keeps them apart) -----
nvme_rdma_setup() {
	modprobe nvmet && modprobe nvmet_rdma && modprobe nvme_rdma || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	bench_rdma_wire || return 1
	nvmet_export bench-rdma-raw /dev/ram2 2 10.78.3.2 4421 rdma || return 1
	nvme connect -t rdma -a 10.78.3.2 -s 4421 -w 10.78.3.1 -n bench-rdma-raw -i "$B_QUEUES" \
		-Q "$B_IO_DEPTH" || return 1
	at_exit "nvme disconnect -n bench-rdma-raw"
	wait_until 10 nvme_dev bench-rdma-raw || return 1
	DEV[brd:nvme-rdma]=$(nvme_dev bench-rdma-raw)
	wait_for_dev "${DEV[brd:nvme-rdma]}"
}
want nvme-rdma && check "nvme-rdma: nvmet-rdma over rxe on bn0-bn1, $B_QUEUES IO queues" nvme_rdma_setup

# ---- qbd over RDMA: a second qbd-server, in the initial namespace (rxe
# lives there), catalog on tmpfs, its bench/rraw volume a symlink to ram3
# (the qbd/TCP ramdisk: the devices run one at a time; another name,
# since the module refuses a pool/volume that is already mapped).
# qbd-rdma-poll and qbd-rdma-percpu: a third and a fourth server, the same
# but with $B_RDMA_POLL_ARGS (RDMA workers polling before they sleep) and
# $B_RDMA_PERCPU_ARGS (one worker per CPU), their volumes bench/praw and
# bench/craw on ram3 too, on further addresses of bn1 (10.78.3.3 and .4: the
# module connects to port 7001 of a pool's server) ---------------------------
RCONF=/tmp/bench/qbd-rdma.conf
QBD_RDMA_UP=0
B_RDMA_POLL_ARGS=${B_RDMA_POLL_ARGS:---rdma-workers 1 --rdma-poll-us 2000}
B_RDMA_PERCPU_ARGS=${B_RDMA_PERCPU_ARGS:---rdma-workers 0}
# qbd_rdma_server DATA ADDR CONF VOLUME [SERVER ARGS...]: a server on
# tcp://ADDR:7100 and rdma://ADDR:7001, its volume bench/VOLUME on ram3.
qbd_rdma_server() {
	local data=$1 addr=$2 listen=tcp://$2:7100 rlisten=rdma://$2:7001 conf=$3 vol=$4 p
	shift 4
	bench_rdma_wire || return 1
	server_start - "$data" "$listen" --listen "$rlisten" "$@" || return 1
	QBD_IO_DEPTH=$B_IO_DEPTH qbd_conf_write "$conf" "$addr:7100" || return 1
	volume_create "$conf" "bench/$vol" "${size}M" || return 1
	server_stop - "$listen" || return 1
	p=$(awk '$1 == "vol" && $3 == "bench" && $4 == "'"$vol"'" { print "'"$data"'/volumes/" $2 ".vol" }' \
		"$data/catalog")
	[[ -n $p ]] && rm -f "$p" && ln -s /dev/ram3 "$p" || return 1
	server_start - "$data" "$listen" --listen "$rlisten" "$@" || return 1
	wait_until 20 grep -q "listening on rdma://" "$QBD_RESULTS/server-$(server_id - "$listen").log"
}
# qbd_rdma_map DEVICE CONF VOLUME: map rdma://bench/VOLUME as DEV[brd:DEVICE].
qbd_rdma_map() {
	local out
	if out=$("$QBD_BIN" -c "$2" -m "rdma://bench/$3" -o "nr_queues=$B_QUEUES,io_depth=$B_IO_DEPTH" 2>&1); then
		DEV[brd:$1]=$out
		at_exit "$QBD_BIN -c $2 -u bench/$3"
		ok "$1: qbd -m rdma://bench/$3 -> $out, $B_QUEUES hardware queues"
	elif [[ $out == *"not supported by this module"* ]]; then
		diag "$1: SKIPPED (no fio rows): the module cannot map rdma:// yet: $out"
	else
		not_ok "$1: qbd -m rdma://bench/$3" "$out"
	fi
}
if want qbd-rdma; then
	check "qbd-rdma: qbd-server with rdma:// in init_net over rxe" \
		qbd_rdma_server /tmp/bqbd-rdma 10.78.3.2 "$RCONF" rraw && QBD_RDMA_UP=1
	((QBD_RDMA_UP)) && qbd_rdma_map qbd-rdma "$RCONF" rraw
fi
# rdma_extra_addr ADDR: one more address of bn1, routed across the wire as
# 10.78.3.2 is (nvme_wire_setup).
rdma_extra_addr() {
	bench_rdma_wire || return 1
	ip addr add "$1/24" dev bn1 || return 1
	ip route add "$1" dev bn0 src 10.78.3.1 table 201 || return 1
	ip rule add pref 200 from "$1" lookup 202
}
# The other qbd/RDMA servers, "DEVICE ADDRESS VOLUME ARGS..." each: the
# same volume on ram3 behind a server started with ARGS.
rdma_variants=("qbd-rdma-poll 10.78.3.3 praw $B_RDMA_POLL_ARGS"
	"qbd-rdma-percpu 10.78.3.4 craw $B_RDMA_PERCPU_ARGS")
for v in "${rdma_variants[@]}"; do
	read -r vdev vaddr vvol vargs <<<"$v"
	want "$vdev" || continue
	# shellcheck disable=SC2086 # the args are words
	check "$vdev: $vaddr on bn1" rdma_extra_addr "$vaddr" &&
	check "$vdev: qbd-server $vargs with rdma:// in init_net" \
		qbd_rdma_server "/tmp/b$vdev" "$vaddr" "/tmp/bench/$vdev.conf" "$vvol" $vargs &&
		qbd_rdma_map "$vdev" "/tmp/bench/$vdev.conf" "$vvol"
done

# ---- device facts ----------------------------------------------------------
for k in $(printf '%s\n' "${!DEV[@]}" | sort); do
	if [[ -b ${DEV[$k]} ]]; then
		bench_tune "${DEV[$k]}"
		bench_devinfo "$k" "${DEV[$k]}"
	else
		echo "$k ${DEV[$k]} (file on ext4 on brd, O_DIRECT)" >> "$QBD_RESULTS/devices.txt"
	fi
done
diag "devices:"
sed 's/^/#   /' "$QBD_RESULTS/devices.txt"
{
	echo "guest: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
	echo "fio: $(fio --version)"
	echo "nbd-server: $(nbd-server -V 2>&1 | head -n1)"
	echo "qbd module: $(grep '^qbd ' /proc/modules)"
	echo "wire MTU: $B_MTU$(rdma link show brxe0/1 >/dev/null 2>&1 &&
		ibv_devinfo -d brxe0 2>/dev/null | awk '/active_mtu/ { printf ", rxe active_mtu %s", $2 }')"
} > "$QBD_RESULTS/env.txt"

# ---- the matrix --------------------------------------------------------------
t0=$SECONDS
nrun=0
nfail=0
for backend in $B_BACKENDS; do
	for rep in $(seq 1 "$B_REPS"); do
		for wl in $B_WORKLOADS; do
			engines=$B_ENGINES
			[[ $backend == file ]] && engines=${B_FILE_ENGINES:-$B_ENGINES}
			for engine in $engines; do
				for d in $B_DEVICES; do
					dev=${DEV[$backend:$d]:-}
					[[ -n $dev ]] || continue
					mkdir -p "$RAW/$backend"
					out=$RAW/$backend/$d.$engine.$wl.r$rep
					kmsg "bench $backend $d $engine $wl rep $rep"
					nrun=$((nrun + 1))
					if ! bench_fio "$out" "$dev" "$engine" "$wl" 2> "$out.err"; then
						nfail=$((nfail + 1))
						not_ok "fio $backend/$d $engine $wl rep $rep" "$(tail -n 5 "$out.err")"
					fi
				done
			done
		done
		diag "backend $backend rep $rep done after $((SECONDS - t0)) s"
	done
done
check_eq "fio: all $nrun runs completed ($((SECONDS - t0)) s)" "$nfail" 0

# ---- the server alone over RDMA: qbd-loadgen rdma:// ---------------------------
# conns:qd:rw:bs, as bench/native.sh drives the server alone over TCP.
B_LOADGEN_RUNS=${B_LOADGEN_RUNS:-1:1:randread:4k 1:1:randwrite:4k 2:16:randread:4k 2:16:randwrite:4k 1:16:read:128k 1:16:write:128k}
if ((QBD_RDMA_UP)); then
	mkdir -p "$RAW/loadgen-rdma"
	lfail=0
	for rep in $(seq 1 "$B_REPS"); do
		for run in $B_LOADGEN_RUNS; do
			IFS=: read -r c q rw bs <<<"$run"
			out=$RAW/loadgen-rdma/$rw.$bs.c$c.q$q.r$rep
			if ! "$QBD_LOADGEN_BIN" -s rdma://10.78.3.2:7001 --source 10.78.3.1 -V bench/rraw -c "$c" -q "$q" --rw "$rw" \
				--bs "$bs" -t "$B_RUNTIME" --ramp "$B_RAMP" --json > "$out.json" 2> "$out.err"; then
				lfail=$((lfail + 1))
				not_ok "qbd-loadgen rdma:// $run rep $rep" "$(tail -n 5 "$out.err")"
			fi
		done
	done
	check_eq "qbd-loadgen rdma://: every run completed" "$lfail" 0
fi

# ---- memory after the runs -----------------------------------------------------
if [[ -n ${DEV[brd:qbd]:-} ]]; then
	{
		echo "qbd-server RSS after the runs: $(bench_rss_kib "${QBD_SERVER_PIDS[$(server_id bqbd "$QLISTEN")]}") KiB"
		grep -iE '^(# name|qbd|kmalloc-(1k|2k|4k|8k|512|256|128) )' /proc/slabinfo
	} > "$QBD_RESULTS/qbd-mem-runs.txt" 2>&1
	cat /proc/qbdstat > "$QBD_RESULTS/qbdstat.txt" 2>&1
fi
if [[ -f /tmp/bench-nbd.pid ]]; then
	echo "nbd-server RSS after the runs (with its per-connection children): $(bench_rss_kib "$(cat /tmp/bench-nbd.pid)") KiB" \
		>> "$QBD_RESULTS/qbd-mem-runs.txt"
fi
ok "matrix done"
