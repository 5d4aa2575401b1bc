#!/bin/bash
# tests/fuzz/run.sh [TARGET...]: build the libFuzzer targets (userspace/fuzz,
# clang, -DQBD_FUZZ=ON, into build/fuzz) and run each for FUZZ_SECONDS
# (default 60) from its seed corpus tests/fuzz/corpus/TARGET (plus
# tests/fuzz/dict/TARGET.dict when present). `make fuzz` runs this.
#
# Per target it prints the executions and the coverage gained over the seeds
# ("cov" edges at start -> end). A crash, leak, sanitizer report or timeout
# fails the target; libFuzzer's input is kept as build/fuzz/crashes/TARGET-*
# (reproduce with build/fuzz/fuzz/fuzz_TARGET FILE). A target that does not
# build fails too. New inputs found go to build/fuzz/corpus/TARGET (not back
# into the checked-in seeds).
# Env: FUZZ_SECONDS, BUILD, JOBS, COUNTS (write "PASSED FAILED" there).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/fuzz
SECS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}
CXX_FUZZ=${CXX_FUZZ:-clang++-14}
CC_FUZZ=${CC_FUZZ:-clang-14}

[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_SECONDS must be a positive integer, got '$SECS'" >&2; exit 2; }

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	for f in "$TOP"/userspace/fuzz/fuzz_*.cc; do
		t=$(basename "$f" .cc)
		targets+=("${t#fuzz_}")
	done
fi

passed=0
failed=0
finish() {
	[[ -n ${COUNTS:-} ]] && echo "$passed $failed" > "$COUNTS"
	echo "fuzz: $passed passed, $failed failed"
	((failed == 0))
	exit
}

mkdir -p "$OUT/crashes" "$OUT/logs"
echo "fuzz: building ${#targets[@]} targets with $CXX_FUZZ into $OUT"
# Relinked every time, so a target that no longer builds cannot run stale.
rm -f "$OUT"/fuzz/fuzz_*
if ! { CC=$CC_FUZZ CXX=$CXX_FUZZ cmake -S "$TOP/userspace" -B "$OUT" -DQBD_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo > "$OUT/logs/build.log" 2>&1 &&
	cmake --build "$OUT" -j "$JOBS" -- -k >> "$OUT/logs/build.log" 2>&1; }; then
	echo "fuzz: the build failed (some targets may still have built); last lines of $OUT/logs/build.log:"
	grep -E 'error|Error' "$OUT/logs/build.log" | tail -n 20 | sed 's/^/  | /'
fi

for t in "${targets[@]}"; do
	bin=$OUT/fuzz/fuzz_$t
	log=$OUT/logs/$t.log
	seeds=$TOP/tests/fuzz/corpus/$t
	work=$OUT/corpus/$t
	if [[ ! -x $bin ]]; then
		echo "not ok - fuzz_$t: did not build (see $OUT/logs/build.log)"
		failed=$((failed + 1))
		continue
	fi
	if [[ ! -d $seeds ]] || [[ -z $(ls -A "$seeds") ]]; then
		echo "not ok - fuzz_$t: no seed corpus in $seeds"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$work"
	args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$OUT/crashes/$t-")
	[[ -f $TOP/tests/fuzz/dict/$t.dict ]] && args+=(-dict="$TOP/tests/fuzz/dict/$t.dict")
	rm -f "$OUT/crashes/$t-"*
	(cd "$OUT" && "$bin" "${args[@]}" "$work" "$seeds") > "$log" 2>&1
	rc=$?
	start=$(sed -nE 's/.*INITED cov: ([0-9]+).*/\1/p' "$log" | head -n1)
	end=$(sed -nE 's/.*DONE +cov: ([0-9]+).*/\1/p' "$log" | tail -n1)
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n1)
	crash=$(ls "$OUT/crashes/$t-"* 2>/dev/null | head -n1)
	if ((rc == 0)) && [[ -n $end && -n $execs && -z $crash ]]; then
		echo "ok - fuzz_$t: $execs executions in ${SECS} s, cov ${start:-?} -> $end edges" \
			"($((end - ${start:-0})) new)"
		passed=$((passed + 1))
	else
		echo "not ok - fuzz_$t: exit $rc${crash:+, input kept as $crash} (log: $log)"
		grep -E 'ERROR|SUMMARY|^fuzz:|runtime error' "$log" | head -n 8 | sed 's/^/  | /'
		failed=$((failed + 1))
	fi
done
finish
