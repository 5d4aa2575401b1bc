#!/bin/bash
# qbd-vm: timeout=1800
# Server syscalls per IO at 4k randread/randwrite QD1 over RDMA (soft-RoCE):
# perf stat counts the server's poll/read/write/ioctl/io_uring_enter calls
# for 5 s of a 9 s fio run, for the tree's qbd-server (build/ab/qbd-server.new
# when there is one) and, when it exists, build/ab/qbd-server.old, each
# with one worker and with --rdma-workers 0. Counts, not timings: they
# mean the same on a loaded host. Used for the send CQ
# (bench/results/2026-11-25-rdma-send-cq.md):
#   tests/vm/run.sh bench/vm/rdma-qd1-syscalls.sh
#   grep RESULT build/vm/results/rdma-qd1-syscalls/output.log
export QBD_TRANSPORT=rdma
. "$QBD_TOP/tests/vm/lib.sh"
e2e_setup
. "$QBD_TOP/bench/vm/ab-lib.sh"
command -v perf >/dev/null || bail "no perf in the guest"
check "create" volume_create "$E2E_CONF" pool1/q 256M
dev=$(volume_map "$E2E_CONF" pool1/q) || bail "map"
dd if=/dev/urandom of=$dev bs=1M count=256 oflag=direct status=none
EV=syscalls:sys_enter_poll,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_ioctl,syscalls:sys_enter_io_uring_enter
count() { # label rw
	local sp fp n
	sp=$(echo "${QBD_SERVER_PIDS[@]}" | awk '{print $1}')
	fio --name=q --filename=$dev --direct=1 --rw=$2 --bs=4k --iodepth=1 --ioengine=io_uring \
		--time_based --runtime=9 --output-format=json > /tmp/q.json 2>/dev/null &
	fp=$!
	sleep 2
	perf stat -x, -e "$EV" -p "$sp" -o /tmp/q.csv -- sleep 5 >/dev/null 2>&1
	while kill -0 $fp 2>/dev/null; do sleep 0.5; done
	n=$(python3 -c 'import json; j=json.load(open("/tmp/q.json"))["jobs"][0]; print(j["read"]["iops"]+j["write"]["iops"])')
	python3 - "$1 $2" "$n" /tmp/q.csv <<-'PY'
	import sys
	label, iops, f = sys.argv[1], float(sys.argv[2]), sys.argv[3]
	c = {}
	for l in open(f):
	    p = l.strip().split(",")
	    if len(p) > 2 and p[0].isdigit():
	        c[p[2].split("sys_enter_")[-1]] = int(p[0])
	ios = iops * 5
	per = " ".join("%s=%.2f" % (k, v / ios) for k, v in sorted(c.items()))
	print("# RESULT %s iops=%.0f per IO: %s total=%.2f" % (label, iops, per, sum(c.values()) / ios))
	PY
}
for b in new old; do
	[[ $b == old && ! -x $OLD ]] && continue
	bin=$NEW
	[[ $b == old ]] && bin=$OLD
	ab_restart "$bin"
	count "$b-1w" randread
	count "$b-1w" randwrite
	ab_restart "$bin" --rdma-workers 0
	count "$b-percpu" randread
	count "$b-percpu" randwrite
done
ok "counted"
