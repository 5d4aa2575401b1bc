#!/bin/bash
# qbd test runner: tests/run-all.sh RING...   (`make test` = all)
#
# Rings, in the order `all` runs them:
#   unit   userspace unit tests: `make userspace-asan` (ASan/UBSan), ctest
#   dkms   `dkms add/build` of dkms.conf into a scratch tree for the Debian
#          kernel; one test: qbd.ko is produced
#   fuzz   the libFuzzer targets (tests/fuzz/run.sh), FUZZ_SECONDS each
#          (default 15 here); one test per target, a target that does not
#          build or crashes fails
#   kunit  the module's KUnit suites on UML (tests/kunit/run.sh)
#   vm     `make kmod userspace`, the VM scenarios (tests/vm/run.sh) and the
#          harness self-test (tests/vm/selftest/run.sh, three tests)
#
# Each ring writes build/test-results/<ring>.counts ("PASSED FAILED"); a ring
# that cannot run at all counts as at least one failure. The last line is
# `N passed, N failed`, summed over the rings that ran; the exit status is
# non-zero on any failure.
# Env: BUILD, KDIR/KVER (passed on to make), NATIVE=1 (vm ring on the host),
#      SCENARIO (vm ring: scenarios to run), FUZZ_SECONDS (fuzz ring), JOBS.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
export BUILD
RES=$BUILD/test-results
JOBS=${JOBS:-2}
mkdir -p "$RES"

usage() {
	echo "usage: $0 all|unit|fuzz|dkms|kunit|vm..." >&2
	exit 2
}

# counts_of RING: "PASSED FAILED" from the ring's counts file (a missing or
# malformed file is one failure).
counts_of() {
	local f=$RES/$1.counts p f2
	if [[ -f $f ]] && read -r p f2 < "$f" && [[ $p =~ ^[0-9]+$ && $f2 =~ ^[0-9]+$ ]]; then
		echo "$p $f2"
	else
		echo "0 1"
	fi
}

write_counts() { echo "$2 $3" > "$RES/$1.counts"; }

# run_logged LOG CMD...: run CMD with its output in LOG; print the tail of
# LOG when it fails.
run_logged() {
	local log=$1
	shift
	if "$@" > "$log" 2>&1; then
		return 0
	fi
	echo "run-all: '$*' failed; last lines of $log:"
	tail -n 40 "$log" | sed 's/^/  | /'
	return 1
}

ring_unit() {
	local log=$RES/unit.log summary total failed
	echo "run-all: building the ASan/UBSan userspace (make userspace-asan)"
	if ! run_logged "$RES/unit-build.log" make -C "$TOP" --no-print-directory userspace-asan JOBS="$JOBS"; then
		write_counts unit 0 1
		return
	fi
	(cd "$BUILD/userspace-asan" && ctest --output-on-failure --no-tests=error -j "$JOBS") 2>&1 | tee "$log"
	summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	if [[ -z $summary ]]; then
		echo "run-all: no ctest summary in $log (no tests found, or ctest crashed)"
		write_counts unit 0 1
		return
	fi
	failed=$(sed -nE 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/p' <<<"$summary")
	total=$(sed -nE 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/p' <<<"$summary")
	write_counts unit $((total - failed)) "$failed"
}

ring_dkms() {
	local scratch=$BUILD/dkms ver kver src ko log=$RES/dkms.log
	ver=$(sed -nE 's/^PACKAGE_VERSION="?([^"]*)"?/\1/p' "$TOP/dkms.conf")
	kver=${KVER:-$("$TOP/tests/vm/run.sh" --kver)}
	if [[ -z $ver || -z $kver ]]; then
		echo "run-all: dkms: no PACKAGE_VERSION in dkms.conf ('$ver') or no kernel ('$kver')"
		write_counts dkms 0 1
		return
	fi
	command -v dkms >/dev/null || { echo "run-all: dkms is not installed (make deps)"; write_counts dkms 0 1; return; }
	# A private source tree and DKMS tree (and signing key) under build/:
	# nothing system-wide changes.
	rm -rf "$scratch"
	src=$scratch/source/qbd-$ver
	mkdir -p "$src" "$scratch/tree"
	cp "$TOP/dkms.conf" "$src/"
	tar -C "$TOP" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order -cf - kmod include |
		tar -C "$src" -xf -
	echo "run-all: dkms add/build qbd/$ver for $kver in $scratch"
	if run_logged "$log" env mok_signing_key="$scratch/mok.key" mok_certificate="$scratch/mok.pub" \
		bash -c 'dkms add -m qbd -v "$1" --sourcetree "$2" --dkmstree "$3" &&
			 dkms build -m qbd -v "$1" -k "$4" --sourcetree "$2" --dkmstree "$3"' \
		_ "$ver" "$scratch/source" "$scratch/tree" "$kver"; then
		ko=$(find "$scratch/tree/qbd/$ver/$kver" -name 'qbd.ko*' -print -quit 2>/dev/null)
	fi
	if [[ -n ${ko:-} ]] && modinfo -F vermagic "$ko" | grep -q "^$kver "; then
		echo "ok - dkms built $ko"
		write_counts dkms 1 0
	else
		echo "not ok - dkms did not produce qbd.ko for $kver (log: $log," \
			"$scratch/tree/qbd/$ver/build/make.log)"
		[[ -f $scratch/tree/qbd/$ver/build/make.log ]] &&
			tail -n 20 "$scratch/tree/qbd/$ver/build/make.log" | sed 's/^/  | /'
		write_counts dkms 0 1
	fi
}

ring_fuzz() {
	COUNTS=$RES/fuzz.counts FUZZ_SECONDS=${FUZZ_SECONDS:-15} JOBS=$JOBS "$TOP/tests/fuzz/run.sh"
}

ring_kunit() {
	COUNTS=$RES/kunit.counts JOBS=$JOBS "$TOP/tests/kunit/run.sh"
}

ring_vm() {
	local p1 f1 p2 f2
	echo "run-all: building the module and the userspace (make kmod userspace)"
	if ! run_logged "$RES/vm-build.log" make -C "$TOP" --no-print-directory kmod userspace JOBS="$JOBS"; then
		write_counts vm 0 1
		return
	fi
	rm -f "$RES/vm-scenarios.counts" "$RES/vm-selftest.counts"
	COUNTS=$RES/vm-scenarios.counts "$TOP/tests/vm/run.sh"
	COUNTS=$RES/vm-selftest.counts "$TOP/tests/vm/selftest/run.sh"
	read -r p1 f1 < <(counts_of vm-scenarios)
	read -r p2 f2 < <(counts_of vm-selftest)
	write_counts vm $((p1 + p2)) $((f1 + f2))
}

[[ $# -gt 0 ]] || usage
rings=()
for a in "$@"; do
	case $a in
	all) rings+=(unit fuzz dkms kunit vm) ;;
	unit | fuzz | dkms | kunit | vm) rings+=("$a") ;;
	*) usage ;;
	esac
done

total_p=0
total_f=0
report=()
for r in "${rings[@]}"; do
	echo "=== ring $r ==="
	rm -f "$RES/$r.counts"
	t0=$SECONDS
	"ring_$r"
	read -r p f < <(counts_of "$r")
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	report+=("$(printf 'ring %-6s %4d passed, %3d failed  (%d s)' "$r" "$p" "$f" $((SECONDS - t0)))")
	echo "=== ring $r: $p passed, $f failed ($((SECONDS - t0)) s) ==="
done
printf '%s\n' "${report[@]}"
echo "$total_p passed, $total_f failed"
((total_f == 0))
