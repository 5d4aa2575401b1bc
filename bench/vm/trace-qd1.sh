#!/bin/bash
# qbd-vm: manual timeout=900
# Where one 4k QD1 request's time goes: ftrace (scheduler, softirq, IPI,
# syscall, block, net and io_uring events, all CPUs) over 0.3 s of fio 4k
# randread and randwrite QD1, over the transport and MTU that
# $QBD_BUILD/bench/trace.env names (TRACE_TRANSPORT=tcp|rdma|nvme-rdma,
# TRACE_MTU=1500): a qbd volume with the test harness's server and wire
# (tests/vm/lib.d/e2e.sh), or the kernel's NVMe/RDMA target on the bench's
# rxe wire (bench/vm/bench-lib.sh). Event timestamps, not samples, so it
# works under TCG, where perf record does not (its samples land in the idle
# loop). Timestamps include the tracing's own cost: compare traces with
# each other, not with fio's untraced latency. bench/run.sh trace runs it
# and bench/trace_phases.py reads the traces:
#   tests/vm/run.sh bench/vm/trace-qd1.sh
#   python3 bench/trace_phases.py build/vm/results/trace-qd1/trace-*.txt
CONF=$QBD_BUILD/bench/trace.env
TRACE_TRANSPORT=tcp
TRACE_MTU=1500
[[ -f $CONF ]] && . "$CONF"
case $TRACE_TRANSPORT in
tcp | rdma) export QBD_TRANSPORT=$TRACE_TRANSPORT ;;
nvme-rdma) export QBD_TRANSPORT=rdma ;;  # for lib.sh; e2e_setup is not used
*)
	echo "not ok 1 - TRACE_TRANSPORT=$TRACE_TRANSPORT: not tcp, rdma or nvme-rdma"
	exit 1
	;;
esac
. "$QBD_TOP/tests/vm/lib.sh"
. "$QBD_TOP/bench/vm/bench-lib.sh"
# bench_mtu on every veth, in every namespace (rxe follows its netdev's MTU)
set_mtu() {
	local ns i
	for ns in "" $(ip netns list | awk '{ print $1 }'); do
		for i in $(ip ${ns:+-n "$ns"} -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
			bench_mtu "$i" "$ns" || return 1
		done
	done
}
if [[ $TRACE_TRANSPORT == nvme-rdma ]]; then
	# The kernel's NVMe/RDMA target on the bench's rxe wire, a brd namespace.
	bench_config
	B_MTU=$TRACE_MTU
	require "brd" modprobe brd rd_nr=1 rd_size=$((64 * 1024))
	require "nvmet-rdma modules" bash -c "modprobe nvmet && modprobe nvmet_rdma && modprobe nvme_rdma"
	mountpoint -q /sys/kernel/config || require "configfs" mount -t configfs none /sys/kernel/config
	require "rxe wire" bench_rdma_wire
	require "nvmet-rdma export" nvmet_export trace-rdma /dev/ram0 1 10.78.3.2 4421 rdma
	require "nvme connect -t rdma" nvme connect -t rdma -a 10.78.3.2 -s 4421 -w 10.78.3.1 \
		-n trace-rdma -i 2 -Q 128
	at_exit "nvme disconnect -n trace-rdma"
	wait_until 10 nvme_dev trace-rdma || bail "no NVMe device for trace-rdma"
	dev=$(nvme_dev trace-rdma)
	wait_for_dev "$dev"
else
	e2e_setup
	B_MTU=$TRACE_MTU
	check "every veth at MTU $TRACE_MTU" set_mtu
	check "create" volume_create "$E2E_CONF" pool1/trace 64M
	dev=$(volume_map "$E2E_CONF" pool1/trace) || bail "map pool1/trace"
	at_exit "volume_unmap $E2E_CONF pool1/trace"
fi
T=/sys/kernel/tracing
[[ -d $T/events ]] || mount -t tracefs none $T || bail "no tracefs"
echo 0 > $T/tracing_on
echo 16384 > $T/buffer_size_kb
echo global > $T/trace_clock
for e in sched/sched_switch sched/sched_waking irq/softirq_entry irq/softirq_exit \
	irq/irq_handler_entry irq_vectors/reschedule_entry irq_vectors/call_function_entry \
	irq_vectors/call_function_single_entry raw_syscalls/sys_enter raw_syscalls/sys_exit \
	block/block_rq_issue block/block_rq_complete block/block_bio_queue net/net_dev_xmit \
	net/netif_rx net/netif_receive_skb workqueue/workqueue_execute_start \
	workqueue/workqueue_execute_end io_uring/io_uring_complete io_uring/io_uring_task_add \
	io_uring/io_uring_submit_sqe io_uring/io_uring_poll_arm; do
	[[ -e $T/events/$e/enable ]] && echo 1 > "$T/events/$e/enable"
done
major=$(stat -c %t "$dev")
for rw in randread randwrite; do
	out=$QBD_RESULTS/trace-$TRACE_TRANSPORT-$rw
	echo > $T/trace
	fio --name=q --filename="$dev" --direct=1 --rw=$rw --bs=4k --iodepth=1 --ioengine=io_uring \
		--cpus_allowed=1 --time_based --runtime=6 --output-format=json > "$out.json" 2>/dev/null &
	fp=$!
	sleep 3
	echo 1 > $T/tracing_on
	sleep 0.3
	echo 0 > $T/tracing_on
	wait $fp
	# keep the qbd device's block events only, and everything else
	awk -v dev="$((16#$major))," '!/block_(rq|bio)_/ || index($0, " " dev)' $T/trace > "$out.txt"
	check "traced $rw over $TRACE_TRANSPORT ($(grep -c block_rq_issue "$out.txt") requests)" \
		test "$(grep -c block_rq_issue "$out.txt")" -gt 10
done
echo > $T/trace
