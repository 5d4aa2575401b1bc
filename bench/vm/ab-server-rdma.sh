#!/bin/bash
# qbd-vm: timeout=2400
# A/B of two qbd-server builds in one boot, over RDMA (soft-RoCE):
# build/ab/qbd-server.new (or, when there is none, the server this tree
# built) against build/ab/qbd-server.old, each with the default options
# (one RDMA worker) and with --rdma-workers 0 (one per CPU), restarted in
# turns, 3 rounds of 4k fio (QD1 on each CPU, QD32 x 2 jobs), the same
# module and mapped device throughout. Used for the per-CPU RDMA workers
# (bench/results/2026-11-24-rdma-workers.md) and the batched posts
# (bench/results/2026-11-25-rdma-batched-posts.md):
#   git worktree add /tmp/old REV && make -C /tmp/old userspace
#   mkdir -p build/ab && cp /tmp/old/build/userspace/server/qbd-server build/ab/qbd-server.old
#   tests/vm/run.sh bench/vm/ab-server-rdma.sh
#   grep RESULT build/vm/results/ab-server-rdma/output.log
# Other configurations of one build: list them in build/ab/configs (below).
export QBD_TRANSPORT=rdma
. "$QBD_TOP/tests/vm/lib.sh"
e2e_setup
. "$QBD_TOP/bench/vm/ab-lib.sh"
check "create" volume_create "$E2E_CONF" pool1/b 256M
dev=$(volume_map "$E2E_CONF" pool1/b -o nr_queues=2) || bail "map"
dd if=/dev/urandom of=$dev bs=1M count=256 oflag=direct status=none
run() { # label rw qd jobs cpus bs
	local label=$1 rw=$2 qd=$3 jobs=$4 cpus=$5 bs=${6:-4k}
	fio --name=q --filename=$dev --direct=1 --rw=$rw --bs=$bs --iodepth=$qd --numjobs=$jobs --ioengine=io_uring \
	  --time_based --runtime=${RT:-6} --ramp_time=1 --cpus_allowed=$cpus --cpus_allowed_policy=split --group_reporting --output-format=json 2>/dev/null |
	python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; d=j["read"] if j["read"]["iops"]>0 else j["write"]; print("# RESULT '"$label"'", "iops=%.0f p50=%.0fus" % (d["iops"], d["clat_ns"]["percentile"]["50.000000"]/1000))'
}
suite() {
	run "$1 rr4k qd1 cpu1" randread 1 1 1
	run "$1 rr4k qd1 cpu0" randread 1 1 0
	run "$1 rw4k qd1 cpu1" randwrite 1 1 1
	run "$1 rr4k qd32x2" randread 32 2 0-1
	run "$1 rw4k qd32x2" randwrite 32 2 0-1
}
# The configurations, in turn each round: $QBD_BUILD/ab/configs when it
# exists, one "LABEL new|old [SERVER ARGS...]" per line ("rounds N" sets
# the round count), else new and old, each with one worker and per CPU.
configs=("new-1w new" "old-1w old" "new-percpu new --rdma-workers 0" "old-percpu old --rdma-workers 0")
rounds=3
if [[ -f $QBD_BUILD/ab/configs ]]; then
	configs=()
	while read -r l; do
		[[ $l == rounds\ * ]] && { rounds=${l#rounds }; continue; }
		[[ -n $l && $l != \#* ]] && configs+=("$l")
	done < "$QBD_BUILD/ab/configs"
fi
for c in "${configs[@]}"; do
	[[ $c == *\ old* ]] && { [[ -x $OLD ]] || bail "no $OLD (see the top of this script)"; }
done
for round in $(seq 1 "$rounds"); do
	for c in "${configs[@]}"; do
		read -r label which args <<<"$c"
		bin=$NEW
		[[ $which == old ]] && bin=$OLD
		# shellcheck disable=SC2086 # args: words
		ab_restart "$bin" $args
		suite "$label"
	done
done
ok done
