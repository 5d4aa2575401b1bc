#!/bin/bash
# make bench: qbd vs NBD vs NVMe/TCP (and qbd/RDMA vs NVMe/RDMA over rxe, with
# qbd-loadgen rdma:// against the server alone) in one VM boot, then the server alone
# natively; results in bench/results/<date>-tcp.md with the raw fio JSON
# and a PNG chart beside it.
#
#   bench/run.sh [vm|native|report DIR]...     (default: vm native)
#   bench/run.sh trace    where a 4k QD1 request's time goes, per transport
#                         (ftrace in the VM; see bench/vm/trace-qd1.sh)
#
# Env (defaults in brackets):
#   QUICK=1        a quick pass for iterating: 1 rep of 3 s, io_uring only,
#                  brd backend only; results go to build/bench/, not
#                  bench/results/
#   REPS [3]  RUNTIME [10]  RAMP [2]   fio repetitions, seconds per run, ramp
#   ENGINES ["io_uring libaio"]  BACKENDS ["brd file"]
#   FILE_ENGINES [$ENGINES]  engines for the file backend (to save VM time)
#   DEVICES ["local nbd nvme qbd nvme-rdma qbd-rdma"]  WORKLOADS [all six, see bench/vm/bench-lib.sh]
#                  (DEVICES may add qbd-rdma-poll: a qbd-server with
#                  RDMA_POLL_ARGS ["--rdma-workers 1 --rdma-poll-us 2000"], and
#                  qbd-rdma-percpu: one with RDMA_PERCPU_ARGS
#                  ["--rdma-workers 0", now the default: set it to
#                  compare another layout, e.g. "--rdma-workers 1"])
#   EVENTS=1       count context switches, IPIs and syscalls (all CPUs,
#                  perf stat) over each fio run: per-IO rows in the report
#   MTU [9000]     MTU of every veth wire; on the soft-RoCE wire it sets
#                  rxe's path MTU too (1024 at 1500, 4096 from 4200 up)
#   TRACE_TRANSPORTS ["tcp rdma nvme-rdma"]  what bench/run.sh trace traces:
#                  qbd over tcp:// or rdma://, the kernel's NVMe/RDMA
#   SIZE_MIB [256]  QUEUES [guest CPUs]  IO_DEPTH [128]
#   LOADGEN_RUNS   qbd-loadgen rdma:// runs in the VM, "conns:qd:rw:bs ..."
#                  [see B_LOADGEN_RUNS in bench/vm/matrix.sh]
#   CONNS ["1 8 64"]  NATIVE_QD [4]  NATIVE_RUNTIME [10]   native server runs
#   OUT   results directory [bench/results, build/bench when QUICK=1]
#   TAG   results name [<date>-tcp]
# Numbers from TCG emulation on a shared 2-core host: compare side by side
# within one run, never across runs or against real hardware.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	: "${REPS:=1}" "${RUNTIME:=3}" "${RAMP:=1}" "${ENGINES:=io_uring}" "${BACKENDS:=brd}"
	: "${OUT:=$BUILD/bench}" "${NATIVE_RUNTIME:=3}"
fi
REPS=${REPS:-3}
RUNTIME=${RUNTIME:-10}
RAMP=${RAMP:-2}
ENGINES=${ENGINES:-io_uring libaio}
BACKENDS=${BACKENDS:-brd file}
DEVICES=${DEVICES:-local nbd nvme qbd nvme-rdma qbd-rdma}
WORKLOADS=${WORKLOADS:-rr4k_qd1 rw4k_qd1 rr4k_qd32 rw4k_qd32 sr128k_qd16 sw128k_qd16}
SIZE_MIB=${SIZE_MIB:-256}
MTU=${MTU:-9000}
OUT=${OUT:-$TOP/bench/results}
TAG=${TAG:-$(date -u +%Y-%m-%d)-tcp}
export CONNS=${CONNS:-1 8 64} NATIVE_QD=${NATIVE_QD:-4} NATIVE_RUNTIME=${NATIVE_RUNTIME:-10}

die() { echo "bench: $*" >&2; exit 1; }
for v in REPS RUNTIME RAMP SIZE_MIB; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v} is not a positive integer"
done
[[ $MTU =~ ^[1-9][0-9]*$ ]] && ((MTU >= 1500 && MTU <= 65535)) || die "MTU=$MTU is not a number in 1500..65535"

command -v gnuplot >/dev/null || die "gnuplot not found: apt-get install gnuplot-nox (make deps)"
command -v python3 >/dev/null || die "python3 not found (make deps)"

RES=$OUT/$TAG
VMRES=${QBD_VM_RESULTS:-$BUILD/vm/results}/matrix

run_vm() {
	mkdir -p "$BUILD/bench" || return 1
	cat > "$BUILD/bench/config.env" <<-CONF
	B_REPS=$REPS
	B_RUNTIME=$RUNTIME
	B_RAMP=$RAMP
	B_ENGINES="$ENGINES"
	B_BACKENDS="$BACKENDS"
	B_FILE_ENGINES="${FILE_ENGINES:-$ENGINES}"
	B_DEVICES="$DEVICES"
	B_WORKLOADS="$WORKLOADS"
	B_SIZE_MIB=$SIZE_MIB
	${QUEUES:+B_QUEUES=$QUEUES}
	${IO_DEPTH:+B_IO_DEPTH=$IO_DEPTH}
	B_RDMA_POLL_ARGS="${RDMA_POLL_ARGS:---rdma-workers 1 --rdma-poll-us 2000}"
	B_RDMA_PERCPU_ARGS="${RDMA_PERCPU_ARGS:---rdma-workers 0}"
	B_EVENTS=${EVENTS:-0}
	B_MTU=$MTU
	CONF
	[[ -z ${LOADGEN_RUNS:-} ]] || echo "B_LOADGEN_RUNS=\"$LOADGEN_RUNS\"" >> "$BUILD/bench/config.env"
	echo "bench: VM matrix: $(grep -v '^$' "$BUILD/bench/config.env" | tr '\n' ' ')"
	# brd ramdisks for 4 raw + 4 ext4 targets need room beside the kernel.
	QBD_VM_MEM=${QBD_VM_MEM:-3584} LIVE=${LIVE:-1} "$TOP/tests/vm/run.sh" "$HERE/vm/matrix.sh"
	local rc=$?
	mkdir -p "$RES" || return 1
	rm -rf "$RES/raw"
	[[ -d $VMRES/raw ]] || { echo "bench: the VM left no results in $VMRES/raw" >&2; return 1; }
	cp -r "$VMRES/raw" "$RES/raw"
	# Only the JSON, CPU samples and event counts are kept; logs stay in the VM results.
	find "$RES/raw" -type f ! -name '*.json' ! -name '*.cpu' ! -name '*.events' -delete
	for f in devices.txt env.txt qbd-mem-before.txt qbd-mem-after.txt qbd-mem-runs.txt; do
		[[ -f $VMRES/$f ]] && cp "$VMRES/$f" "$RES/vm-$f"
	done
	cp "$VMRES/output.log" "$RES/vm-output.log"
	return $rc
}

run_native() {
	mkdir -p "$RES" || return 1
	"$HERE/native.sh" "$RES/native"
}

report() {
	local dir=$1
	python3 "$HERE/report.py" "$dir" || return 1
	echo "bench: report: $dir.md"
}

# trace: bench/vm/trace-qd1.sh once per transport in TRACE_TRANSPORTS, at
# the bench MTU; the traces and bench/trace_phases.py's summary of them in
# $BUILD/bench/trace/.
run_trace() {
	local t out=$BUILD/bench/trace vmres=${QBD_VM_RESULTS:-$BUILD/vm/results}/trace-qd1 rc=0
	mkdir -p "$out" || return 1
	for t in ${TRACE_TRANSPORTS:-tcp rdma nvme-rdma}; do
		[[ $t == tcp || $t == rdma || $t == nvme-rdma ]] ||
			die "TRACE_TRANSPORTS: '$t' is not tcp, rdma or nvme-rdma"
		printf 'TRACE_TRANSPORT=%s\nTRACE_MTU=%s\n' "$t" "$MTU" > "$BUILD/bench/trace.env"
		"$TOP/tests/vm/run.sh" "$HERE/vm/trace-qd1.sh" || { rc=1; continue; }
		for f in "$vmres"/trace-"$t"-*.txt; do
			cp "$f" "$out/$(basename "$f" .txt)-mtu$MTU.txt" || rc=1
		done
	done
	python3 "$HERE/trace_phases.py" --timeline "$out"/trace-*-mtu"$MTU".txt | tee "$out/summary-mtu$MTU.txt"
	echo "bench: traces and summary in $out"
	return $rc
}

steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(vm native)
rc=0
i=0
while ((i < ${#steps[@]})); do
	case ${steps[$i]} in
	vm) run_vm || rc=1 ;;
	native) run_native || rc=1 ;;
	trace)
		run_trace || rc=1
		traced=1
		;;
	report)
		i=$((i + 1))
		RES=${steps[$i]:-$RES}
		;;
	*) die "unknown step '${steps[$i]}' (vm, native, trace, report DIR)" ;;
	esac
	i=$((i + 1))
done
# (a trace alone leaves no matrix to report)
if [[ ${traced:-0} == 0 || ${#steps[@]} -gt 1 ]]; then
	report "$RES" || rc=1
fi
exit $rc
