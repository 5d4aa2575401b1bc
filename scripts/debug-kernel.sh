#!/bin/bash
# The qbd debug kernel: Debian's linux-source-6.1 built with KASAN, KFENCE,
# kmemleak and lockdep (tests/vm/debug-kernel.config), and the VM suite on it.
#
#   scripts/debug-kernel.sh build          build the kernel (cached)  = make debug-kernel
#   scripts/debug-kernel.sh kmod           + qbd.ko for it (build/debug-kmod/)
#   scripts/debug-kernel.sh env            + print the tests/vm/run.sh settings
#   scripts/debug-kernel.sh test [SCEN..]  + run the VM suite on it   = make test-debug
#
# The source is extracted once into .cache/debug-kernel/src/; each build
# lives in .cache/debug-kernel/<hash>/ (hash of the config fragment, the
# linux-source package version and the compiler), holding the object tree
# (obj/, kept: qbd.ko builds against it), bzImage and the installed modules
# (lib/modules/<release>/). `make clean` does not touch .cache/. The first
# build takes long (see docs/testing.md for measured times); an interrupted
# build resumes where it stopped; later runs reuse the result.
#
# qbd.ko is built from a copy of kmod/ and include/ in build/debug-kmod/,
# so the normal `make kmod` objects in kmod/ are left alone.
#
# Env: JOBS          parallel build jobs (default: number of CPUs)
#      NICE          nice level of the kernel build (default 10)
#      DEBUG_KERNEL_CACHE   cache root (default <repo>/.cache/debug-kernel)
#      DEBUG_KERNEL_SRC_TAR source tarball (default newest /usr/src/linux-source-*.tar.xz)
#      TIMEOUT_SCALE timeout multiplier for the VM scenarios (default 4)
#      BUILD, COUNTS, QBD_VM_* as for tests/vm/run.sh
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
CACHE=${DEBUG_KERNEL_CACHE:-$TOP/.cache/debug-kernel}
FRAGMENT=$TOP/tests/vm/debug-kernel.config
PATCHDIR=$TOP/tests/vm/debug-kernel-patches
JOBS=${JOBS:-$(nproc)}
NICE=${NICE:-10}
TIMEOUT_SCALE=${TIMEOUT_SCALE:-4}

say() { echo "debug-kernel: $*" >&2; }
die() {
	say "$*"
	[[ -n ${COUNTS:-} ]] && { mkdir -p "$(dirname "$COUNTS")"; echo "0 1" > "$COUNTS"; }
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
build | kmod | env | test) ;;
-h | --help | help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac

tarball=${DEBUG_KERNEL_SRC_TAR:-$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}
[[ -n $tarball && -f $tarball ]] ||
	die "no kernel source tarball (/usr/src/linux-source-*.tar.xz): install linux-source-6.1 ('make deps')"
[[ -f $FRAGMENT ]] || die "missing $FRAGMENT"
for tool in gcc make flex bison bc xz perl depmod; do
	command -v "$tool" >/dev/null || die "'$tool' is needed to build a kernel: run 'make deps'"
done
[[ -e /usr/include/libelf.h ]] || die "libelf-dev is needed to build a kernel (objtool): run 'make deps'"

name=$(basename "$tarball" .tar.xz)
pkgver=$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null || stat -c '%s %Y' "$tarball")
hash=$( { cat "$FRAGMENT"; echo "$name $pkgver"; gcc --version | head -n1; } | sha256sum | cut -c1-16)
out=$CACHE/$hash
obj=$out/obj
src=$CACHE/src/$name
# The kernel patches (PATCHDIR/*.patch, applied in name order): their
# checksum is part of what the cached kernel is built from (out/.patches).
mapfile -t patches < <(find "$PATCHDIR" -maxdepth 1 -name '*.patch' -type f 2>/dev/null | sort)
patchsum=none
if ((${#patches[@]})); then
	patchsum=$(for p in "${patches[@]}"; do basename "$p"; cat "$p"; done | sha256sum | cut -c1-16)
fi

# ---- the kernel ---------------------------------------------------------------
# Extract the source once per package version.
extract() {
	local stamp=$CACHE/src/.extracted-$name-$pkgver
	[[ -f $stamp && -f $src/Makefile ]] && return 0
	say "extracting $tarball"
	rm -rf "$src" "$CACHE/src/.extracted-$name"-* "$CACHE/src/.patches-$name"
	mkdir -p "$CACHE/src"
	tar -C "$CACHE/src" -xf "$tarball" || die "extracting $tarball failed"
	[[ -f $src/Makefile ]] || die "$tarball did not unpack into $src"
	touch "$stamp"
}

# The source carries exactly the patches of PATCHDIR: the ones applied
# before (copies in src/.patches-<name>/, checksum in its .sum) are taken out
# again when the set changed, then the current ones go in. Only the files
# they touch change, so the next make rebuilds only what depends on them.
patch_source() {
	local applied=$CACHE/src/.patches-$name p i old=()
	local cur
	cur=$(cat "$applied/.sum" 2>/dev/null || echo none)
	[[ $cur == "$patchsum" ]] && return 0
	if [[ -d $applied ]]; then
		mapfile -t old < <(find "$applied" -maxdepth 1 -name '*.patch' -type f | sort -r)
		for p in "${old[@]}"; do
			say "taking $(basename "$p") out of the source"
			patch -d "$src" -p1 -R -s --no-backup-if-mismatch < "$p" ||
				die "reverting $p failed: the source in $src is inconsistent (delete $CACHE/src to extract it again)"
		done
		rm -rf "$applied"
	fi
	mkdir -p "$applied"
	for ((i = 0; i < ${#patches[@]}; i++)); do
		p=${patches[i]}
		patch -d "$src" -p1 -s -N --dry-run < "$p" > /dev/null ||
			die "$p does not apply to $name ($pkgver)"
		say "applying $(basename "$p")"
		patch -d "$src" -p1 -s -N --no-backup-if-mismatch < "$p" || die "applying $p failed"
		cp "$p" "$applied/"
	done
	echo "$patchsum" > "$applied/.sum"
}

# Every CONFIG_ line of the fragment that turns something on must be in the
# final .config as written (a dependency that is not met makes olddefconfig
# drop it silently). An option the fragment turns off only to save build
# time may stay on when another option selects it: that is only noted.
check_config() {
	local line opt want got bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			opt=${BASH_REMATCH[1]} want=n
		else
			continue
		fi
		got=$(sed -n "s/^$opt=//p" "$obj/.config")
		[[ -z $got ]] && got=n
		if [[ $got != "$want" && $want == n ]]; then
			# Only build time: something else selects it.
			say "config: note: $opt stays '$got' (selected by another option), $FRAGMENT turns it off"
		elif [[ $got != "$want" ]]; then
			say "config: $opt is '$got' in the built config, $FRAGMENT wants '$want'"
			bad=1
		fi
	done < "$FRAGMENT"
	return "$bad"
}

build_kernel() {
	# (a kernel built before patches existed has no .patches: none)
	[[ -f $out/.done && $(cat "$out/.patches" 2>/dev/null || echo none) == "$patchsum" ]] && return 0
	extract
	patch_source
	if [[ -f $out/.done ]]; then
		# Built, but with other patches: make rebuilds what they touch.
		say "the patches changed: rebuilding what they touch in $out"
		rm -f "$out/.done" "$out/.partial-seconds"
	fi
	local t0=$SECONDS mk=(nice -n "$NICE" make -C "$src" O="$obj" -j"$JOBS") before=0
	if [[ -f $out/.configured && -f $obj/.config ]]; then
		# An interrupted build: make carries on where it stopped.
		before=$(cat "$out/.partial-seconds" 2>/dev/null || echo 0)
		say "resuming the build in $out (nice $NICE, $JOBS jobs; log $out/build.log)"
	else
		say "building $name ($pkgver) with $(basename "$FRAGMENT") into $out (nice $NICE, $JOBS jobs; log $out/build.log)"
		rm -rf "$out"
		mkdir -p "$obj"
		{
			"${mk[@]}" x86_64_defconfig &&
				"${mk[@]}" kvm_guest.config &&
				(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT") &&
				"${mk[@]}" olddefconfig
		} > "$out/build.log" 2>&1 || die "configuring failed (see $out/build.log)"
		check_config || die "the fragment does not apply to $name (fix $FRAGMENT)"
		touch "$out/.configured"
	fi
	# Wall-clock seconds spent building, summed over interrupted runs.
	trap 'echo $((before + SECONDS - t0)) > "$out/.partial-seconds"' EXIT
	trap 'exit 143' TERM INT
	"${mk[@]}" bzImage modules >> "$out/build.log" 2>&1 ||
		die "kernel build failed: tail of $out/build.log:$(echo; tail -n 20 "$out/build.log")"
	"${mk[@]}" INSTALL_MOD_PATH="$out" INSTALL_MOD_STRIP=1 modules_install >> "$out/build.log" 2>&1 ||
		die "modules_install failed (see $out/build.log)"
	cp "$obj/arch/x86/boot/bzImage" "$out/bzImage"
	make -s -C "$src" O="$obj" kernelrelease > "$out/release"
	trap - EXIT TERM INT
	if [[ -f $out/build-seconds ]]; then
		# The first build's time stays; this was an incremental one.
		echo "$((before + SECONDS - t0))" > "$out/rebuild-seconds"
		say "rebuilt $(cat "$out/release") in $(cat "$out/rebuild-seconds") s (wall clock)"
	else
		echo "$((before + SECONDS - t0))" > "$out/build-seconds"
		say "built $(cat "$out/release") in $(cat "$out/build-seconds") s (wall clock)"
	fi
	echo "$patchsum" > "$out/.patches"
	touch "$out/.done"
}

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 8>"$CACHE/.lock"
if ! flock -n 8; then
	say "waiting for another build using $CACHE"
	flock 8
fi
build_kernel
flock -u 8
release=$(cat "$out/release")
moddir=$out/lib/modules/$release
[[ $cmd == build ]] && { echo "$out"; exit 0; }

# ---- qbd.ko for it ----------------------------------------------------------------
# A copy of kmod/ and include/ (mtimes kept, so an unchanged file is not
# rebuilt), built against the cached object tree.
kbuild=$BUILD/debug-kmod/$release
mkdir -p "$kbuild" || die "cannot create $kbuild"
tar -C "$TOP" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order -cf - kmod include |
	tar -C "$kbuild" -xf - || die "copying kmod/ and include/ to $kbuild failed"
say "building qbd.ko for $release in $kbuild/kmod"
make -s -C "$moddir/build" M="$kbuild/kmod" -j"$JOBS" modules > "$kbuild/build.log" 2>&1 ||
	die "building qbd.ko against $moddir/build failed:$(echo; tail -n 30 "$kbuild/build.log")"
[[ -f $kbuild/kmod/qbd.ko ]] || die "no $kbuild/kmod/qbd.ko after the build (see $kbuild/build.log)"
[[ $cmd == kmod ]] && { echo "$kbuild/kmod/qbd.ko"; exit 0; }

# ---- the VM suite on it -------------------------------------------------------------
export QBD_VM_KERNEL=$out/bzImage
export QBD_VM_MODDIR=$moddir
export QBD_VM_KMOD=$kbuild/kmod
export QBD_VM_TIMEOUT_SCALE=$TIMEOUT_SCALE
# Reports from other kernel code (rxe, nvmet, ...) that name no qbd code are
# noted, not failures (tests/vm/run.sh, foreign_splats).
export QBD_VM_FOREIGN_SPLATS=note
if [[ $cmd == env ]]; then
	for v in QBD_VM_KERNEL QBD_VM_MODDIR QBD_VM_KMOD QBD_VM_TIMEOUT_SCALE QBD_VM_FOREIGN_SPLATS; do
		echo "export $v=$(printf %q "${!v}")"
	done
	exit 0
fi

[[ $# -eq 0 && -n ${SCENARIO:-} ]] && set -- ${SCENARIO//,/ }
# test: the userspace the scenarios use, then the scenarios (all of them, as
# the vm ring of `make test` runs them, plus the harness self-test, unless
# some are named), with their results in build/vm/results-debug/.
say "building the userspace (make userspace)"
make -s -C "$TOP" --no-print-directory userspace > "$BUILD/debug-userspace.log" 2>&1 ||
	die "make userspace failed:$(echo; tail -n 30 "$BUILD/debug-userspace.log")"
export QBD_VM_RESULTS=${QBD_VM_RESULTS:-$BUILD/vm/results-debug}
res=$BUILD/test-results
mkdir -p "$res"
rm -f "$res/debug-scenarios.counts" "$res/debug-selftest.counts"
say "booting $release: $(basename "$out")/bzImage, timeouts x$TIMEOUT_SCALE, results in $QBD_VM_RESULTS"
t0=$SECONDS
set +e
COUNTS=$res/debug-scenarios.counts "$TOP/tests/vm/run.sh" "$@"
if [[ $# -eq 0 ]]; then
	COUNTS=$res/debug-selftest.counts BUILD=$BUILD/debug-selftest "$TOP/tests/vm/selftest/run.sh"
fi
set -e
p=0 f=0
for c in debug-scenarios debug-selftest; do
	[[ $c == debug-selftest && $# -gt 0 ]] && continue
	if read -r cp cf < "$res/$c.counts" 2>/dev/null && [[ $cp =~ ^[0-9]+$ && $cf =~ ^[0-9]+$ ]]; then
		p=$((p + cp)) f=$((f + cf))
	else
		f=$((f + 1))
	fi
done
[[ -n ${COUNTS:-} ]] && { mkdir -p "$(dirname "$COUNTS")"; echo "$p $f" > "$COUNTS"; }
say "debug kernel $release: VM suite took $((SECONDS - t0)) s (kernel build: $(cat "$out/build-seconds") s when it was built)"
echo "$p passed, $f failed"
((f == 0))
