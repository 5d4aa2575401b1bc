# shellcheck shell=bash
# Helpers for the benchmark scenarios in bench/vm/ (sourced after
# tests/vm/lib.sh). Settings come from $QBD_BUILD/bench/config.env, written
# by bench/run.sh on the host (the harness passes no other environment into
# the guest); every value has a default so a scenario also runs alone.

BENCH_CONFIG=${BENCH_CONFIG:-$QBD_BUILD/bench/config.env}

# bench_config: load the settings and print them as TAP comments.
bench_config() {
	if [[ -f $BENCH_CONFIG ]]; then
		# shellcheck disable=SC1090
		. "$BENCH_CONFIG"
	fi
	B_REPS=${B_REPS:-3}
	B_RUNTIME=${B_RUNTIME:-10}
	B_RAMP=${B_RAMP:-2}
	B_ENGINES=${B_ENGINES:-io_uring libaio}
	B_BACKENDS=${B_BACKENDS:-brd}
	B_DEVICES=${B_DEVICES:-local nbd nvme qbd nvme-rdma qbd-rdma}
	B_WORKLOADS=${B_WORKLOADS:-rr4k_qd1 rw4k_qd1 rr4k_qd32 rw4k_qd32 sr128k_qd16 sw128k_qd16}
	B_SIZE_MIB=${B_SIZE_MIB:-256}
	# One queue per guest CPU for everyone: qbd hardware queues = nvme IO
	# queues = NBD connections.
	B_QUEUES=${B_QUEUES:-$(nproc)}
	B_IO_DEPTH=${B_IO_DEPTH:-128}
	B_EVENTS=${B_EVENTS:-0}
	B_MTU=${B_MTU:-9000}
	diag "bench: reps=$B_REPS runtime=${B_RUNTIME}s ramp=${B_RAMP}s engines='$B_ENGINES'" \
		"backends='$B_BACKENDS' devices='$B_DEVICES' size=${B_SIZE_MIB}MiB queues=$B_QUEUES" \
		"io_depth=$B_IO_DEPTH events=$B_EVENTS"
	diag "bench: workloads '$B_WORKLOADS'"
}

# bench_workload NAME: print "rw bs iodepth numjobs" for a workload name.
bench_workload() {
	case $1 in
	rr4k_qd1) echo "randread 4k 1 1" ;;
	rw4k_qd1) echo "randwrite 4k 1 1" ;;
	rr4k_qd32) echo "randread 4k 32 2" ;;
	rw4k_qd32) echo "randwrite 4k 32 2" ;;
	sr128k_qd16) echo "read 128k 16 1" ;;
	sw128k_qd16) echo "write 128k 16 1" ;;
	*) return 1 ;;
	esac
}

# cpu_busy: "busy total" clock ticks of all CPUs from /proc/stat (busy =
# user + nice + system + irq + softirq + steal; idle and iowait are not).
cpu_busy() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; t = b + $5 + $6; print b, t; exit }' /proc/stat
}

# The events B_EVENTS=1 counts on all CPUs: context switches, wakeups,
# IPIs (rescheduling, function call) and syscalls. Counts, not timings.
BENCH_EVENTS=sched:sched_switch,sched:sched_wakeup,irq_vectors:reschedule_entry
BENCH_EVENTS+=,irq_vectors:call_function_single_entry,irq_vectors:call_function_entry,raw_syscalls:sys_enter

# bench_events OUT SECONDS: count BENCH_EVENTS for SECONDS into OUT (perf
# stat CSV, then a line "seconds SECONDS").
bench_events() {
	perf stat -a -x, -e "$BENCH_EVENTS" -o "$1" -- sleep "$2" >/dev/null 2>&1 &&
		echo "seconds $2" >> "$1"
}

# bench_fio OUT DEV ENGINE WORKLOAD: one fio run into OUT.json, the guest's
# CPU ticks over the measured part (after the ramp) into OUT.cpu, and with
# B_EVENTS=1 the event counts over all but its last second into OUT.events.
# fio's CPU pinning: one job on CPU 1 (QD1, 128k), two jobs split over all
# CPUs.
bench_fio() {
	local out=$1 dev=$2 engine=$3 wl=$4 rw bs qd jobs cpus a b rc
	read -r rw bs qd jobs <<<"$(bench_workload "$wl")" || return 1
	if ((jobs == 1)); then
		cpus=$(($(nproc) - 1))
	else
		cpus=0-$(($(nproc) - 1))
	fi
	(
		sleep "$B_RAMP"
		cpu_busy > "$out.cpu0"
		if ((B_EVENTS && B_RUNTIME > 1)); then
			bench_events "$out.events" $((B_RUNTIME - 1)) || echo "bench_fio: perf stat failed" >&2
		fi
	) &
	local sampler=$!
	fio --name="$wl" --filename="$dev" --direct=1 --ioengine="$engine" --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --numjobs="$jobs" --size="${B_SIZE_MIB}M" --time_based \
		--runtime="$B_RUNTIME" --ramp_time="$B_RAMP" --norandommap --randrepeat=0 \
		--cpus_allowed="$cpus" --cpus_allowed_policy=split --group_reporting \
		--percentile_list=50:99:99.9 --lat_percentiles=1 --output-format=json --output="$out.json" \
		> "$out.log" 2>&1
	rc=$?
	b=$(cpu_busy)
	wait "$sampler"
	a=$(cat "$out.cpu0" 2>/dev/null)
	rm -f "$out.cpu0"
	echo "$a $b" > "$out.cpu"
	[[ $rc == 0 ]] || { cat "$out.log" >&2; return "$rc"; }
	grep -q '"iops"' "$out.json" || { echo "bench_fio: no iops in $out.json" >&2; return 1; }
	# fio's own error count must be zero.
	! grep -qE '"error" : [1-9]' "$out.json"
}

# bench_devinfo LABEL DEV: the block device's queue limits into
# $QBD_RESULTS/devices.txt (hardware queues, depth, max IO size).
bench_devinfo() {
	local label=$1 dev=$2 b q nrq tags
	b=$(basename "$(readlink -f "$dev")")
	q=/sys/block/$b/queue
	local mq=/sys/block/$b/mq p
	# An NVMe multipath head is bio-based: its queues are the path's
	# (nvmeXcYnZ, hidden).
	if [[ ! -d $mq && $b == nvme* ]]; then
		for p in /sys/block/"${b%n*}"c*n"${b##*n}"; do
			[[ -d $p/mq ]] && mq=$p/mq && break
		done
	fi
	nrq=$(find "$mq" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
	tags=$(cat "$mq/0/nr_tags" 2>/dev/null || echo -)
	printf '%-10s %-14s hw_queues=%-3s tags/queue=%-5s max_sectors_kb=%-5s max_hw_sectors_kb=%-6s scheduler=%s\n' \
		"$label" "$dev" "$nrq" "$tags" "$(cat "$q/max_sectors_kb")" "$(cat "$q/max_hw_sectors_kb")" \
		"$(cat "$q/scheduler" 2>/dev/null)" >> "$QBD_RESULTS/devices.txt"
}

# bench_tune DEV: no IO scheduler, max IO size at least 1 MiB where the
# device allows it, so every transport gets the same request shapes.
bench_tune() {
	local b q hw
	b=$(basename "$(readlink -f "$1")")
	q=/sys/block/$b/queue
	echo none > "$q/scheduler" 2>/dev/null
	hw=$(cat "$q/max_hw_sectors_kb")
	((hw > 1024)) && hw=1024
	echo "$hw" > "$q/max_sectors_kb" 2>/dev/null
	return 0
}

# bench_prefill PATH MIB: write zeros over the first MIB MiB so reads hit
# allocated memory (brd pages, file extents) instead of holes.
bench_prefill() {
	dd if=/dev/zero of="$1" bs=1M count="$2" oflag=direct conv=notrunc,fsync status=none
}

# bench_meminfo: the /proc/meminfo fields that change when a device is
# mapped, one line.
bench_meminfo() {
	awk '/^(MemFree|Slab|SUnreclaim|Percpu|KernelStack|PageTables|VmallocUsed):/ { printf "%s=%s ", $1, $2 } END { print "" }' /proc/meminfo | tr -d ':'
}

# bench_rss_kib PID: resident set of PID and its children, KiB.
bench_rss_kib() {
	local p sum=0 r
	for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${r:-0}))
	done
	echo "$sum"
}

# bench_mtu IFACE [NS]: give IFACE (in namespace NS) the bench MTU, B_MTU
# (9000 unless set). Every wire of the bench gets the same one. On the RDMA
# wire it sets rxe's path MTU too: 1024 at veth's own 1500, 4096 from 4200
# up, as RoCE fabrics run (jumbo frames).
bench_mtu() {
	local m=${B_MTU:-1500}
	[[ $m == 1500 ]] && return 0
	ip ${2:+-n "$2"} link set "$1" mtu "$m"
}

# nvme_wire_setup: a veth pair bn0 (10.78.3.1) <-> bn1 (10.78.3.2) in the
# initial namespace, with policy routing so traffic between the two local
# addresses really crosses the veth. The in-kernel NVMe/TCP target only
# listens in the initial namespace, so it cannot sit in a namespace of its
# own as the userspace servers do.
nvme_wire_setup() {
	local i
	ip link add bn0 type veth peer name bn1 || return 1
	at_exit "ip link del bn0"
	ip addr add 10.78.3.1/24 dev bn0 && ip addr add 10.78.3.2/24 dev bn1 || return 1
	bench_mtu bn0 && bench_mtu bn1 || return 1
	ip link set bn0 up && ip link set bn1 up || return 1
	for i in all default bn0 bn1; do
		sysctl -qw "net.ipv4.conf.$i.accept_local=1" "net.ipv4.conf.$i.rp_filter=0" || return 1
	done
	ip rule add pref 100 iif bn0 lookup local && ip rule add pref 100 iif bn1 lookup local || return 1
	ip rule add pref 200 from 10.78.3.1 lookup 201 || return 1
	ip route add 10.78.3.2 dev bn0 src 10.78.3.1 table 201 || return 1
	ip rule add pref 200 from 10.78.3.2 lookup 202 || return 1
	ip route add 10.78.3.1 dev bn1 src 10.78.3.2 table 202 || return 1
	ip rule del pref 0 lookup local && ip rule add pref 300 lookup local
}

# bench_rdma_wire: soft-RoCE on the nvme wire (bn0 <-> bn1, set up here if
# nvme-tcp did not): rxe works only in the initial namespace on this
# kernel, where that wire lives. NVMe/RDMA and qbd/RDMA both run on it.
bench_rdma_wire() {
	ip link show bn0 >/dev/null 2>&1 || nvme_wire_setup || return 1
	rdma link show brxe0/1 >/dev/null 2>&1 && return 0
	modprobe rdma_rxe && modprobe ib_uverbs && modprobe rdma_ucm || return 1
	# Room for a 1 MiB RDMA READ response burst (~1000 packets) at the
	# receiving end: rxe drops and retransmits otherwise.
	sysctl -qw net.core.netdev_max_backlog=65536 || return 1
	rdma link add brxe0 type rxe netdev bn0 && rdma link add brxe1 type rxe netdev bn1 || return 1
	at_exit "rdma link del brxe0; rdma link del brxe1"
}

# nvmet_export NQN BACKING PORTID ADDR SVCID [TRTYPE=tcp]: export BACKING
# (block device or file, O_DIRECT) as namespace 1 of subsystem NQN on an
# NVMe/TCP (or, TRTYPE=rdma, NVMe/RDMA) port.
nvmet_export() {
	local n=/sys/kernel/config/nvmet s=/sys/kernel/config/nvmet/subsystems/$1 p tr=${6:-tcp}
	p=$n/ports/$3
	mkdir "$s" && echo 1 > "$s/attr_allow_any_host" || return 1
	mkdir "$s/namespaces/1" || return 1
	echo -n "$2" > "$s/namespaces/1/device_path" || return 1
	echo 1 > "$s/namespaces/1/enable" || return 1
	if [[ ! -d $p ]]; then
		mkdir "$p" || return 1
		echo "$tr" > "$p/addr_trtype" && echo ipv4 > "$p/addr_adrfam" || return 1
		echo "$4" > "$p/addr_traddr" && echo "$5" > "$p/addr_trsvcid" || return 1
	fi
	ln -s "$s" "$p/subsystems/$1"
}

# nvme_dev NQN: the /dev/nvmeXnY of the connected subsystem NQN (the
# multipath head when the kernel has native multipath, else the
# controller's namespace).
nvme_dev() {
	local f d
	for f in /sys/class/nvme-subsystem/*/subsysnqn; do
		[[ -f $f && $(cat "$f") == "$1" ]] || continue
		d=$(find "$(dirname "$f")/" -mindepth 1 -maxdepth 1 -name 'nvme*n*' ! -name 'nvme*c*' -printf '%f\n' | sort | head -n1)
		[[ -n $d ]] && { echo "/dev/$d"; return 0; }
	done
	for f in /sys/class/nvme/*/subsysnqn; do
		[[ -f $f && $(cat "$f") == "$1" ]] || continue
		echo "/dev/$(basename "$(dirname "$f")")n1"
		return 0
	done
	return 1
}
