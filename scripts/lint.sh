#!/bin/bash
# make lint: style and static checks on the kernel module.
#   1. checkpatch.pl --no-tree --strict -f on kmod/*.[ch] and kmod/tests/*.[ch]
#   2. sparse through kbuild (`make kmod C=2 W=1`: C=2 checks every file,
#      not only the recompiled ones); any warning or error line fails
#   3. clang-format --dry-run -Werror with the kernel's .clang-format (the
#      copy at the repository root)
# checkpatch.pl comes from the kernel source tree tests/kunit/run.sh
# extracts into .cache/kunit/, or is extracted from /usr/src/linux-source-*
# into .cache/lint/ on first use.
# Env: LINT_STEPS (default "checkpatch sparse clang-format"), KDIR.
# Exit: 0 when every step is clean.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${LINT_STEPS:-checkpatch sparse clang-format}
failed=()

mapfile -t files < <(cd "$TOP" && ls kmod/*.[ch] kmod/tests/*.[ch] 2>/dev/null | grep -v '\.mod\.c$')
if [[ ${#files[@]} -eq 0 ]]; then
	echo "lint: no kmod/*.[ch] files" >&2
	exit 1
fi

find_checkpatch() {
	local cp tarball name
	for cp in "$TOP"/.cache/kunit/linux-source-*/scripts/checkpatch.pl \
		"$TOP"/.cache/lint/linux-source-*/scripts/checkpatch.pl; do
		[[ -f $cp ]] && { echo "$cp"; return 0; }
	done
	tarball=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)
	[[ -f $tarball ]] || return 1
	name=$(basename "$tarball" .tar.xz)
	mkdir -p "$TOP/.cache/lint"
	echo "lint: extracting checkpatch.pl from $tarball" >&2
	tar -C "$TOP/.cache/lint" -xf "$tarball" "$name/scripts/checkpatch.pl" \
		"$name/scripts/spelling.txt" "$name/scripts/const_structs.checkpatch" || return 1
	echo "$TOP/.cache/lint/$name/scripts/checkpatch.pl"
}

step_checkpatch() {
	local cp
	cp=$(find_checkpatch) || {
		echo "lint: checkpatch.pl not found (install linux-source-6.1: make deps)" >&2
		return 1
	}
	(cd "$TOP" && perl "$cp" --no-tree --strict --quiet --terse --show-types -f "${files[@]}")
}

step_sparse() {
	local log rc
	command -v sparse >/dev/null || { echo "lint: sparse is not installed (make deps)" >&2; return 1; }
	log=$(mktemp)
	# Sparse needs every object to be rebuilt to check it: C=2.
	make -C "$TOP" --no-print-directory kmod C=2 W=1 > "$log" 2>&1
	rc=$?
	grep -E 'warning:|error:' "$log"
	if [[ $rc != 0 ]]; then
		tail -n 20 "$log"
		rm -f "$log"
		return 1
	fi
	if grep -qE 'warning:|error:' "$log"; then
		rm -f "$log"
		return 1
	fi
	if ! grep -q '  CHECK ' "$log"; then
		echo "lint: kbuild ran no sparse CHECK step (is C=2 honoured?)" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	return 0
}

step_clang-format() {
	command -v clang-format >/dev/null || {
		echo "lint: clang-format is not installed (make deps)" >&2
		return 1
	}
	[[ -f $TOP/.clang-format ]] || { echo "lint: $TOP/.clang-format is missing" >&2; return 1; }
	(cd "$TOP" && clang-format --dry-run -Werror --style=file "${files[@]}")
}

for s in $STEPS; do
	echo "=== lint: $s ==="
	if "step_$s"; then
		echo "lint: $s clean"
	else
		echo "lint: $s FAILED"
		failed+=("$s")
	fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "lint: failed: ${failed[*]}"
	exit 1
fi
echo "lint: all clean"
