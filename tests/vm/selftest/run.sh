#!/bin/bash
# Self-test of the VM harness: three deliberately broken scenarios, each of
# which the harness must report FAILED for the right reason:
#   fail_script  prints `not ok` and exits 1
#   kernel_warn  passes as a script, but the kernel logs a WARNING
#                (only the kernel-log scan can catch it)
#   hang         never ends (killed at its 40 s timeout)
# Three tests; a harness that stops catching failures fails `make test`.
# Env: COUNTS (file for "PASSED FAILED"), KVER, BUILD.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$TOP/build}
COUNTS=${COUNTS:-}
OUT=$BUILD/vm/selftest
RESULTS=$OUT/results
pass=0
fail=0
n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
	shift
	[[ $# -gt 0 ]] && printf '# %s\n' "$@"
	return 0
}
finish() {
	if ((fail > 0)) && [[ -f $OUT/harness.log ]]; then
		echo "# harness output:"
		sed 's/^/#   /' "$OUT/harness.log"
	fi
	echo "selftest: $pass passed, $fail failed"
	[[ -n $COUNTS ]] && { mkdir -p "$(dirname "$COUNTS")"; echo "$pass $fail" > "$COUNTS"; }
	((fail == 0))
	exit
}

# 1. Build the WARN_ON test module for the kernel the VM boots, in a copy
#    under build/ so the source tree stays clean.
if [[ ${NATIVE:-0} == 1 ]]; then
	kver=$(uname -r)
else
	kver=$("$TOP/tests/vm/run.sh" --kver) || { not_ok "find the VM kernel"; fail=3; finish; }
fi
# (a kernel booted with QBD_VM_MODDIR, e.g. the debug kernel, has its build
# tree there)
kdir=${QBD_VM_MODDIR:-/lib/modules/$kver}/build
mkdir -p "$OUT/warnmod"
cp "$HERE/warnmod/qbd_selftest_warn.c" "$HERE/warnmod/qbd_selftest_leak.c" "$HERE/warnmod/Kbuild" \
	"$OUT/warnmod/"
if ! make -s -C "$kdir" M="$OUT/warnmod" modules > "$OUT/warnmod/build.log" 2>&1 ||
	[[ ! -f $OUT/warnmod/qbd_selftest_warn.ko ]]; then
	cat "$OUT/warnmod/build.log"
	not_ok "build the WARN_ON test module against $kdir" "log: $OUT/warnmod/build.log"
	fail=3
	finish
fi

# A kernel with kmemleak (the debug kernel) gets a fourth: a module that
# leaks, which only the harness' kmemleak check can catch.
broken=(selftest/fail_script.sh selftest/kernel_warn.sh selftest/hang.sh)
if [[ ${NATIVE:-0} != 1 ]] && grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "$kdir/.config" 2>/dev/null; then
	[[ -f $OUT/warnmod/qbd_selftest_leak.ko ]] || { not_ok "build the leaking test module"; fail=4; finish; }
	broken+=(selftest/kmemleak.sh)
fi

# 2. Run the broken scenarios through the harness.
rm -rf "$RESULTS"
# The harness' own report (three FAIL lines, by design) goes to a log, so
# it cannot be mistaken for real failures; it is shown when a check fails.
echo "selftest: running ${#broken[@]} deliberately broken scenarios (about 90 s; log: $OUT/harness.log)"
QBD_VM_RESULTS=$RESULTS COUNTS=$OUT/harness.counts LIVE=0 KVER=$kver \
	"$TOP/tests/vm/run.sh" "${broken[@]}" > "$OUT/harness.log" 2>&1
hrc=$?
grep -E '^(PASS|FAIL) ' "$OUT/harness.log" | sed 's/^/# harness: /'
echo "# harness exit status: $hrc"

verdict() { cat "$RESULTS/$1/verdict" 2>/dev/null || echo "(no verdict)"; }

# expect NAME DESCRIPTION MUST_MATCH [MUST_NOT_MATCH]
expect() {
	local name=$1 desc=$2 must=$3 mustnot=${4:-} v
	v=$(verdict "$name")
	if [[ $v != FAILED* ]]; then
		not_ok "harness reports $name as FAILED ($desc)" "verdict: $v"
	elif ! grep -qE "$must" <<<"$v"; then
		not_ok "harness reports $name as FAILED ($desc)" "verdict: $v" "expected it to mention: $must"
	elif [[ -n $mustnot ]] && grep -qE "$mustnot" <<<"$v"; then
		not_ok "harness reports $name as FAILED ($desc)" "verdict: $v" "it must not mention: $mustnot"
	else
		ok "harness reports $name as FAILED ($desc): $v"
	fi
}

expect fail_script "not ok line and exit 1" 'not ok' 'timeout|kernel log'
expect kernel_warn "WARNING caught by the kernel-log scan alone" 'kernel log' 'timeout|exit|not ok'
if ! grep -q 'WARNING:' "$RESULTS/kernel_warn/kernel-log-hits.txt" 2>/dev/null; then
	# The verdict matched, but not for a WARNING line: make that test fail.
	pass=$((pass - 1))
	fail=$((fail + 1))
	echo "# ... but kernel-log-hits.txt has no WARNING: line: counted as not ok"
fi
expect hang "killed at its timeout" 'timeout'
if [[ ${broken[*]} == *kmemleak* ]]; then
	expect kmemleak "leak in a qbd module caught by the kmemleak check alone" 'kmemleak' \
		'timeout|exit|not ok|kernel log'
fi
if [[ $hrc == 0 ]]; then
	not_ok "harness exit status is non-zero when scenarios fail" "it exited 0"
fi
finish
