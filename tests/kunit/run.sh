#!/bin/bash
# KUnit ring: run the module's KUnit suites (kmod/tests/*_kunit.c) on UML.
#
# Debian's kernel has CONFIG_KUNIT off, so the suites run on User Mode Linux
# built from the linux-source-6.1 tarball. The tree is extracted once into
# .cache/kunit/ (not wiped by `make clean`) and the project's kmod/ is
# symlinked into it as drivers/block/qbd; the UML build dir is cached too, so
# only the first run pays for the full kernel build.
#
# Env:  QBD_KMOD_DIR   module source dir to link (default: <repo>/kmod)
#       KUNIT_SRC_TAR  kernel source tarball (default: newest /usr/src/linux-source-*.tar.xz)
#       KUNIT_CACHE    cache dir (default: <repo>/.cache/kunit)
#       COUNTS         file to write "PASSED FAILED" to (optional)
#       JOBS           build jobs (default 2)
# Exit: 0 when every test passed, 1 otherwise (also when nothing could run).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
KMOD=${QBD_KMOD_DIR:-$TOP/kmod}
CACHE=${KUNIT_CACHE:-$TOP/.cache/kunit}
JOBS=${JOBS:-2}
COUNTS=${COUNTS:-}
LOG=$CACHE/last-run.log

counts() {
	[[ -n $COUNTS ]] && { mkdir -p "$(dirname "$COUNTS")"; echo "$1 $2" > "$COUNTS"; }
	return 0
}

die() {
	echo "kunit: $*" >&2
	counts 0 1
	exit 1
}

tarball=${KUNIT_SRC_TAR:-$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}
[[ -f $tarball ]] || die "no kernel source tarball (/usr/src/linux-source-*.tar.xz): install linux-source-6.1 ('make deps')"
for tool in flex bison bc gcc python3; do
	command -v "$tool" >/dev/null || die "'$tool' is required to build UML: run 'make deps'"
done

tests=$KMOD/tests
for f in Kconfig Makefile .kunitconfig; do
	[[ -f $tests/$f ]] || die "missing $tests/$f (contract: kmod/tests/ holds Kconfig, Makefile, .kunitconfig and *_kunit.c)"
done
ls "$tests"/*_kunit.c >/dev/null 2>&1 || die "no *_kunit.c suite in $tests"

# 1. Extract the source once. The stamp names the tarball, so a new
#    linux-source package version gets a fresh tree.
name=$(basename "$tarball" .tar.xz)
src=$CACHE/$name
stamp=$CACHE/.extracted-$name
mkdir -p "$CACHE" || die "cannot create $CACHE"
# One run at a time per cache: the source tree and the build dir are shared.
exec 8>"$CACHE/.lock"
if ! flock -n 8; then
	echo "kunit: waiting for another run using $CACHE"
	flock 8
fi
if [[ ! -f $stamp ]]; then
	echo "kunit: extracting $tarball into $CACHE (once)"
	rm -rf "$src"
	t0=$SECONDS
	tar -C "$CACHE" -xf "$tarball" || die "extracting $tarball failed"
	[[ -d $src ]] || die "$tarball did not contain $name/"
	touch "$stamp"
	echo "kunit: extracted in $((SECONDS - t0)) s"
fi

# 2. Link the module into the tree and hook its tests into drivers/block,
#    idempotently (a fresh clone elsewhere just repoints the link).
ln -sfn "$KMOD" "$src/drivers/block/qbd" || die "cannot link $KMOD into $src"
kc_line='source "drivers/block/qbd/tests/Kconfig"'
mk_line='obj-y += qbd/tests/'
grep -qxF "$kc_line" "$src/drivers/block/Kconfig" ||
	sed -i "/^endif # BLK_DEV/i $kc_line" "$src/drivers/block/Kconfig"
grep -qxF "$kc_line" "$src/drivers/block/Kconfig" ||
	die "could not add '$kc_line' to $src/drivers/block/Kconfig"
grep -qxF "$mk_line" "$src/drivers/block/Makefile" ||
	echo "$mk_line" >> "$src/drivers/block/Makefile"

# 3. Build and run. kunit.py re-runs olddefconfig and make; both are
#    incremental in the cached build dir.
build=$CACHE/build
echo "kunit: kunit.py run --kunitconfig=$tests/.kunitconfig --build_dir=$build --jobs=$JOBS"
t0=$SECONDS
(cd "$src" && python3 tools/testing/kunit/kunit.py run \
	--kunitconfig="$tests/.kunitconfig" --build_dir="$build" --jobs="$JOBS") 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
echo "kunit: kunit.py exited $rc after $((SECONDS - t0)) s (log: $LOG)"

# 4. Count. kunit.py ends with
#    "Testing complete. Ran N tests: passed: X, failed: Y, skipped: Z, ..."
#    (fields that are zero may be left out).
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E 'Ran [0-9]+ tests?' | tail -n1)
if [[ -z $summary ]]; then
	echo "kunit: no test summary in the output: the UML build or boot failed" >&2
	counts 0 1
	exit 1
fi
total=$(sed -nE 's/.*Ran ([0-9]+) tests?.*/\1/p' <<<"$summary")
passed=$(sed -nE 's/.*passed: ([0-9]+).*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*failed: ([0-9]+).*/\1/p' <<<"$summary")
skipped=$(sed -nE 's/.*skipped: ([0-9]+).*/\1/p' <<<"$summary")
crashed=$(sed -nE 's/.*crashed: ([0-9]+).*/\1/p' <<<"$summary")
errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' <<<"$summary")
passed=${passed:-0}
# A skipped test is not a pass: count it, and crashes and errors, as failures.
failed=$(( ${failed:-0} + ${skipped:-0} + ${crashed:-0} + ${errors:-0} ))
if (( total == 0 )); then
	echo "kunit: ran 0 tests: is CONFIG_QBD_KUNIT_TEST enabled by $tests/.kunitconfig?" >&2
	failed=$((failed + 1))
fi
if (( rc != 0 && failed == 0 )); then
	echo "kunit: kunit.py failed (rc $rc) although no test failed" >&2
	failed=1
fi
echo "kunit: $passed passed, $failed failed"
counts "$passed" "$failed"
(( failed == 0 ))
