#!/bin/bash
# qbd VM harness: run test scenarios against the real module in a real kernel.
#
#   tests/vm/run.sh [SCENARIO...]
#
# SCENARIO is a name (tests/vm/scenarios/NAME.sh) or a path to a script. No
# argument (and no SCENARIO env var) = every tests/vm/scenarios/*.sh whose
# header does not say `# qbd-vm: manual`, plus the RDMA variant of each
# scenario whose header says `# qbd-vm: rdma`: tcp_NAME.sh runs again as
# rdma_NAME with QBD_TRANSPORT=rdma (lib.d/e2e.sh then sets up soft-RoCE and
# maps with rdma://). `rdma_NAME` on the command line picks that variant.
# Each scenario gets its own VM: Debian's kernel under qemu TCG, the host's / read-only over 9p, tmpfs on
# /tmp /run /var/tmp /var/log /root /mnt /media /srv, and a writable results
# share (build/vm/results/<scenario>/, seen as /tmp/results in the guest).
# The harness loads qbd.ko (`modprobe -d $QBD_MODROOT qbd`) unless the header
# says `# qbd-vm: no-load`, runs the scenario with bash, and powers off.
#
# A scenario passes when it printed at least one `ok N - name` line, no
# `not ok` line, exited 0, finished within its timeout (default 300 s,
# header `# qbd-vm: timeout=600`) and left a clean kernel log (no BUG,
# WARNING, Oops, lockdep, KASAN, UBSAN, refcount or hung-task report).
#
# Header lines (within the first 20 lines), words may be combined:
#   # qbd-vm: manual        not part of the default suite
#   # qbd-vm: no-load       do not load qbd.ko before the scenario
#   # qbd-vm: timeout=SEC   host-side timeout for the whole VM
#   # qbd-vm: rdma          tcp_NAME.sh also runs as rdma_NAME over RDMA
#
# Env: KVER       kernel to boot (default: newest /boot/vmlinuz-* whose
#                 /lib/modules/<ver>/kernel exists)
#      QBD_VM_KERNEL + QBD_VM_MODDIR   boot this kernel image instead, with
#                 this module tree (.../lib/modules/<release>; KVER is then
#                 <release>); the guest sees the tree's parent as /lib/modules.
#                 scripts/debug-kernel.sh sets them for the debug kernel.
#      QBD_VM_KMOD              where the project's .ko files are (default
#                 <repo>/kmod; only those built for KVER are used)
#      QBD_VM_TIMEOUT_SCALE     multiply every scenario timeout (default 1)
#      QBD_VM_APPEND            more words for the guest kernel command line
#      QBD_VM_FOREIGN_SPLATS    fail (default) or note: with note, a kernel
#                 report that names no qbd code is a note, not a failure
#      BUILD      build dir (default <repo>/build)
#      NATIVE=1   run on this host instead (root, kernel that loads modules)
#      LIVE=1     print scenario output live (default for a single manual
#                 scenario such as `demo`, and for VERBOSE=1)
#      COUNTS     file to write "PASSED FAILED" (scenarios) to
#      QBD_VM_MEM / QBD_VM_SMP   guest memory (MiB, 2048) / CPUs (2)
#      QBD_VM_RESULTS            results root (default $BUILD/vm/results)
# Exit: 0 when every scenario passed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
VMDIR=$BUILD/vm
RESULTS=${QBD_VM_RESULTS:-$VMDIR/results}
NATIVE=${NATIVE:-0}
COUNTS=${COUNTS:-}
MEM=${QBD_VM_MEM:-2048}
TIMEOUT_SCALE=${QBD_VM_TIMEOUT_SCALE:-1}
SMP=${QBD_VM_SMP:-2}
DEFAULT_TIMEOUT=300
# What fails a scenario when it shows up in the kernel log.
LOG_PATTERNS='BUG:|WARNING:|Oops|general protection|hung_task|blocked for more than|KASAN|possible circular locking|INFO: possible|refcount_t:|UBSAN|kernel BUG at|Kernel panic'

say() { echo "vm: $*"; }
[[ $TIMEOUT_SCALE =~ ^[1-9][0-9]*$ ]] || { echo "vm: QBD_VM_TIMEOUT_SCALE='$TIMEOUT_SCALE' is not a positive integer" >&2; exit 1; }
die() {
	echo "vm: $*" >&2
	[[ -n $COUNTS ]] && { mkdir -p "$(dirname "$COUNTS")"; echo "0 1" > "$COUNTS"; }
	exit 1
}

# ---- which scenarios ------------------------------------------------------
# Each entry of scenarios[] is "NAME|PATH|TRANSPORT".
scenario_path() {
	local s=$1
	if [[ $s == */* || $s == *.sh ]]; then
		[[ -f $s ]] && { realpath "$s"; return 0; }
		[[ -f $HERE/$s ]] && { realpath "$HERE/$s"; return 0; }
		return 1
	fi
	[[ -f $HERE/scenarios/$s.sh ]] && { echo "$HERE/scenarios/$s.sh"; return 0; }
	return 1
}

# header WORD SCRIPT: print the value of `# qbd-vm: WORD[=value]` (or
# "yes" for a bare word); nothing when absent.
header() {
	head -n 20 "$2" | sed -n 's/^#[[:space:]]*qbd-vm:[[:space:]]*//p' | tr ' \t' '\n\n' |
		awk -v w="$1" -F= '$1 == w { print (NF > 1 ? $2 : "yes"); exit }'
}

# The kernel the VM boots: newest /boot/vmlinuz-* with a module tree, or
# the release named by QBD_VM_MODDIR.
find_kver() {
	if [[ -n ${QBD_VM_MODDIR:-} ]]; then
		basename "$QBD_VM_MODDIR"
		return
	fi
	local v best=""
	for k in /boot/vmlinuz-*; do
		[[ -f $k ]] || continue
		v=${k#/boot/vmlinuz-}
		[[ -d /lib/modules/$v/kernel ]] && best+="$v"$'\n'
	done
	printf '%s' "$best" | sort -V | tail -n1
}

# `run.sh --kver`: print the kernel the VM would boot (for builds that must
# match it, e.g. tests/vm/selftest/run.sh).
if [[ ${1:-} == --kver ]]; then
	# (QBD_VM_MODDIR wins over KVER, as below: make exports KVER)
	if [[ -n ${QBD_VM_MODDIR:-} ]]; then v=$(find_kver); else v=${KVER:-$(find_kver)}; fi
	[[ -n $v ]] || die "no Debian kernel found (/boot/vmlinuz-* with /lib/modules/<ver>/kernel)"
	echo "$v"
	exit 0
fi

args=("$@")
if [[ ${#args[@]} -eq 0 && -n ${SCENARIO:-} ]]; then
	read -r -a args <<<"${SCENARIO//,/ }"
fi
# rdma_NAME: the RDMA variant of tcp_NAME.sh (which must say `rdma`).
rdma_variant() {
	local base=${1#rdma_} f
	f=$HERE/scenarios/tcp_$base.sh
	[[ $1 == rdma_* && -f $f && -n $(header rdma "$f") ]] || return 1
	echo "$f"
}

scenarios=()
if [[ ${#args[@]} -eq 0 ]]; then
	rdma=()
	for f in "$HERE"/scenarios/*.sh; do
		[[ -f $f ]] || continue
		[[ -n $(header manual "$f") ]] && continue
		n=$(basename "$f" .sh)
		scenarios+=("$n|$f|tcp")
		[[ -n $(header rdma "$f") ]] && rdma+=("rdma_${n#tcp_}|$f|rdma")
	done
	scenarios+=("${rdma[@]}")
	[[ ${#scenarios[@]} -gt 0 ]] || die "no scenario in $HERE/scenarios"
else
	for a in "${args[@]}"; do
		if p=$(scenario_path "$a"); then
			scenarios+=("$(basename "$p" .sh)|$p|tcp")
		elif p=$(rdma_variant "$a"); then
			scenarios+=("$a|$p|rdma")
		else
			die "no scenario '$a' (looked for $a, $HERE/$a, $HERE/scenarios/$a.sh and, for rdma_NAME, tcp_NAME.sh with '# qbd-vm: rdma')"
		fi
	done
fi
LIVE=${LIVE:-${VERBOSE:-}}
if [[ -z $LIVE && ${#scenarios[@]} -eq 1 ]]; then
	IFS='|' read -r _ p _ <<<"${scenarios[0]}"
	[[ -n $(header manual "$p") ]] && LIVE=1
fi
[[ $LIVE == 1 ]] || LIVE=0

# ---- kernel and module tree -----------------------------------------------

if [[ $NATIVE == 1 ]]; then
	KVER=$(uname -r)
	MODDIR=/lib/modules/$KVER
	[[ -z ${QBD_VM_KERNEL:-} ]] || die "NATIVE=1 runs on this host's kernel: unset QBD_VM_KERNEL"
	[[ $(id -u) == 0 ]] || die "NATIVE=1 needs root"
	[[ -e /proc/modules ]] || die "NATIVE=1: this kernel ($KVER) cannot load modules; run without NATIVE=1 (VM)"
else
	if [[ -n ${QBD_VM_KERNEL:-}${QBD_VM_MODDIR:-} ]]; then
		[[ -n ${QBD_VM_KERNEL:-} && -n ${QBD_VM_MODDIR:-} ]] ||
			die "QBD_VM_KERNEL and QBD_VM_MODDIR go together (kernel image and its lib/modules/<release>)"
		KERNEL=$(realpath "$QBD_VM_KERNEL") || die "QBD_VM_KERNEL=$QBD_VM_KERNEL does not exist"
		MODDIR=$(realpath "$QBD_VM_MODDIR") || die "QBD_VM_MODDIR=$QBD_VM_MODDIR does not exist"
		KVER=$(basename "$MODDIR")
		[[ $MODDIR == */lib/modules/"$KVER" ]] ||
			die "QBD_VM_MODDIR=$QBD_VM_MODDIR must be a <base>/lib/modules/<release> tree (modprobe -d <base>)"
	else
		KVER=${KVER:-$(find_kver)}
		[[ -n $KVER ]] || die "no Debian kernel found (/boot/vmlinuz-* with /lib/modules/<ver>/kernel): run 'make deps'"
		KERNEL=/boot/vmlinuz-$KVER
		MODDIR=/lib/modules/$KVER
	fi
	[[ -r $KERNEL ]] || die "$KERNEL is missing or unreadable (KVER=$KVER)"
	[[ -d $MODDIR/kernel ]] || die "$MODDIR/kernel is missing (KVER=$KVER)"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run 'make deps'"
fi

mkdir -p "$VMDIR" "$RESULTS" || die "cannot create $VMDIR"
exec 9>"$VMDIR/.lock"

# The module tree for `modprobe -d`: the real modules through a symlink,
# plus the project's modules in extra/, indexed by depmod on the host
# (seconds here instead of ~45 s over 9p in the guest). Rebuilt when a .ko
# changes.
MODROOT=$VMDIR/modroot
KMODDIR=${QBD_VM_KMOD:-$TOP/kmod}
[[ -d $KMODDIR ]] || die "QBD_VM_KMOD=$KMODDIR is not a directory"
build_modroot() {
	local mdir=$MODROOT/lib/modules/$KVER kos=() ko key vm
	mapfile -t kos < <(find "$KMODDIR" -name '*.ko' -type f | sort)
	for ko in "${kos[@]}"; do
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{ print $1 }')
		if [[ $vm != "$KVER" ]]; then
			say "warning: $ko is built for '${vm:-?}', the VM boots $KVER: not using it (make kmod KVER=$KVER)"
			continue
		fi
		key+="$(sha256sum "$ko")"$'\n'
	done
	key+="$KVER $MODDIR $(stat -c %Y "$MODDIR"/modules.dep 2>/dev/null)"
	if [[ -f $mdir/.key && $(cat "$mdir/.key") == "$key" ]]; then
		return 0
	fi
	rm -rf "$MODROOT/lib/modules/$KVER"
	mkdir -p "$mdir/extra"
	ln -s "$MODDIR/kernel" "$mdir/kernel"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[[ -f $MODDIR/$f ]] && cp "$MODDIR/$f" "$mdir/"
	done
	for ko in "${kos[@]}"; do
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{ print $1 }')
		[[ $vm == "$KVER" ]] && cp "$ko" "$mdir/extra/"
	done
	depmod -b "$MODROOT" "$KVER" || return 1
	echo "$key" > "$mdir/.key"
}

# The initramfs, rebuilt when the kernel, its modules or the guest scripts
# change.
INITRD=$VMDIR/initrd-$KVER.cpio.gz
build_initrd() {
	local key
	key=$(cat "$HERE/mkinitrd.sh" "$HERE/guest/init" "$HERE/guest/stage2.sh" | sha256sum)
	key+=" $KVER $KERNEL $(stat -c '%s %Y' "$KERNEL") $MODDIR $(stat -c %Y "$MODDIR"/modules.dep)"
	if [[ -f $INITRD && -f $INITRD.key && $(cat "$INITRD.key") == "$key" ]]; then
		return 0
	fi
	say "building initramfs for $KVER"
	local base=${MODDIR%/lib/modules/"$KVER"}
	"$HERE/mkinitrd.sh" "$KVER" "$INITRD" "${base:-/}" || return 1
	echo "$key" > "$INITRD.key"
}

flock 9
build_modroot || die "building the module tree $MODROOT failed"
if [[ $NATIVE != 1 ]]; then
	build_initrd || die "building the initramfs failed"
fi
flock -u 9
if [[ ! -f $MODROOT/lib/modules/$KVER/extra/qbd.ko ]]; then
	say "note: no qbd.ko for $KVER in $KMODDIR (run 'make kmod'): scenarios that load it will fail"
fi

# Paths as the guest sees them: the tmpfs mounts hide these host dirs, which
# stay reachable under /mnt/hostroot.
guest_path() {
	local p=$1 d
	[[ $NATIVE == 1 ]] && { echo "$p"; return; }
	for d in /tmp /run /var/tmp /var/log /root /mnt /media /srv; do
		if [[ $p == "$d" || $p == "$d"/* ]]; then
			echo "/mnt/hostroot$p"
			return
		fi
	done
	echo "$p"
}

# ---- one scenario ---------------------------------------------------------
# scan_log DIR: kernel-log lines that fail a run, into DIR/kernel-log-hits.txt
scan_log() {
	local dir=$1
	local log=$dir/dmesg.log
	[[ -s $log ]] || log=$dir/dmesg.live
	{
		[[ -f $log ]] && grep -E "$LOG_PATTERNS" "$log"
		# Kernel lines on the console (timestamped) catch what a VM that
		# died could not write to the share any more.
		[[ -f $dir/console.log ]] &&
			grep -aE "^\[ *[0-9]+\.[0-9]+\] .*($LOG_PATTERNS)" "$dir/console.log" | tr -d '\r'
	} | awk '!seen[$0]++' > "$dir/kernel-log-hits.txt"
	[[ ${QBD_VM_FOREIGN_SPLATS:-fail} == note && -f $log ]] && foreign_splats "$dir" "$log"
	[[ -s $dir/kernel-log-hits.txt ]]
}

# foreign_splats DIR LOG (QBD_VM_FOREIGN_SPLATS=note, set for the debug
# kernel): a report in LOG (from its first bad line to the end of its first
# backtrace: "</TASK>", "---[ end trace" or a KASAN "====" rule, at most 150
# lines) that names no qbd code (no frame of the module: "[qbd]" or a
# "qbd_*+0x" function) is someone else's, also when it ran in a qbd process
# ("Comm: qbd-server": rxe's receive path runs in whichever task's softirq):
# its bad lines move from kernel-log-hits.txt to
# kernel-log-foreign.txt, a note and not a failure. Bad lines on the
# console only (a VM that died) stay failures.
foreign_splats() {
	local dir=$1 log=$2
	python3 - "$log" "$dir/kernel-log-hits.txt" "$dir/kernel-log-foreign.txt" "$LOG_PATTERNS" <<-'PY'
	import re, sys
	log, hits, foreign, pat = sys.argv[1:5]
	bad = re.compile(pat)
	# a frame of qbd.ko; not a qbd process, "qbd(O)" in the module list or
	# the "-qbd-debug" in the kernel release
	ours = re.compile(r"\[qbd\]|(?<![-\w])qbd_\w*\+0x")
	lines = open(log, errors="replace").read().splitlines()
	theirs = set()
	i = 0
	while i < len(lines):
	    if not bad.search(lines[i]):
	        i += 1
	        continue
	    j = i + 1
	    while j < len(lines) and j < i + 150:
	        if re.search(r"</TASK>|---\[ end trace|^(\[[^]]*\] )?={20,}", lines[j]):
	            break
	        j += 1
	    block = lines[i:j + 1]
	    if not any(ours.search(l) for l in block):
	        theirs.update(l for l in block if bad.search(l))
	    i = j + 1
	keep, moved = [], []
	for h in open(hits, errors="replace").read().splitlines():
	    (moved if h in theirs else keep).append(h)
	open(hits, "w").write("".join(h + "\n" for h in keep))
	open(foreign, "w").write("".join(h + "\n" for h in moved))
	PY
}

# check_kmemleak DIR: split DIR/kmemleak.log (written by the guest when the
# kernel has kmemleak) into leaks of the project's module, into
# DIR/kmemleak-qbd.txt (they fail the run), and the rest. A backtrace frame
# counts as qbd's when it names a qbd symbol or module, or is a bare address
# inside where qbd was loaded (DIR/modules.seen: the module may be unloaded by
# the time of the scan, which leaves its frames unnamed). Prints "QBD OTHER".
check_kmemleak() {
	local dir=$1
	[[ -f $dir/kmemleak.log ]] || { echo "0 0"; return; }
	python3 - "$dir/kmemleak.log" "$dir/modules.seen" "$dir/kmemleak-qbd.txt" <<-'PY'
	import re, sys
	log, seen, out = sys.argv[1:4]
	ranges = []
	try:
	    for line in open(seen):
	        f = line.split()
	        if len(f) >= 6 and f[0] == "qbd" and f[5].startswith("0x"):
	            start = int(f[5], 16)
	            ranges.append((start, start + int(f[1])))
	    # (an unreadable file only loses the bare-address attribution)
	except OSError:
	    pass
	recs, cur = [], None
	for line in open(log, errors="replace"):
	    if line.startswith("unreferenced object"):
	        cur = [line]
	        recs.append(cur)
	    elif cur is not None:
	        cur.append(line)
	def ours(rec):
	    for line in rec:
	        m = re.match(r"\s*\[<[0-9a-f]+>\]\s+(\S+)(.*)", line)
	        if not m:
	            continue
	        sym, rest = m.group(1), m.group(2)
	        if re.match(r"qbd", sym) or "[qbd]" in rest:
	            return True
	        if re.fullmatch(r"0x[0-9a-f]+", sym):
	            a = int(sym, 16)
	            if any(lo <= a < hi for lo, hi in ranges):
	                return True
	    return False
	mine = [r for r in recs if ours(r)]
	with open(out, "w") as o:
	    for r in mine:
	        o.writelines(r)
	print(len(mine), len(recs) - len(mine))
	PY
}

run_vm() {
	local script=$1 dir=$2 tmo=$3 load=$4 name=$5 transport=$6
	cat > "$dir/guest.env" <<-EOF
	export QBD_TOP=$(printf %q "$(guest_path "$TOP")")
	export QBD_BUILD=$(printf %q "$(guest_path "$BUILD")")
	export QBD_MODROOT=$(printf %q "$(guest_path "$MODROOT")")
	export QBD_SCENARIO=$(printf %q "$(guest_path "$script")")
	export QBD_SCENARIO_NAME=$(printf %q "$name")
	export QBD_RESULTS=/tmp/results
	export QBD_KVER=$(printf %q "$KVER")
	export QBD_NATIVE=0
	export QBD_TIMEOUT_SCALE=$TIMEOUT_SCALE
	export QBD_LOAD=$load
	export QBD_TRANSPORT=$transport
	EOF
	# A kernel whose modules are not in the host's /lib/modules: the guest
	# mounts their tree there (stage2.sh), so plain `modprobe veth` works.
	if [[ $(dirname "$MODDIR") != /lib/modules ]]; then
		echo "export QBD_VM_LIBMODULES=$(printf %q "$(guest_path "$(dirname "$MODDIR")")")" >> "$dir/guest.env"
	fi
	local bios=() out=/dev/null
	[[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom)
	[[ $LIVE == 1 ]] && out=/dev/stdout
	timeout -k 10 "$tmo" qemu-system-x86_64 -accel tcg -cpu max -m "$MEM" -smp "$SMP" \
		-nographic -no-reboot -nic none "${bios[@]}" \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 loglevel=4 quiet${QBD_VM_APPEND:+ $QBD_VM_APPEND}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$dir,mount_tag=results,security_model=none" \
		< /dev/null 2>&1 | tee "$dir/console.log" > "$out"
	return "${PIPESTATUS[0]}"
}

run_native() {
	local script=$1 dir=$2 tmo=$3 load=$4 name=$5 transport=$6 rc deps
	local marker="qbd-vm: native scenario $name start $$-$RANDOM"
	echo "$marker" > /dev/kmsg
	if [[ $load == 1 ]] && ! grep -q '^qbd ' /proc/modules; then
		deps=$(modinfo -F depends "$TOP/kmod/qbd.ko" 2>/dev/null | tr , ' ')
		# shellcheck disable=SC2086
		[[ -n $deps ]] && modprobe -a $deps
		if ! insmod "$TOP/kmod/qbd.ko" > "$dir/output.log" 2>&1; then
			echo "not ok 0 - harness: insmod $TOP/kmod/qbd.ko failed" >> "$dir/output.log"
			echo 1 > "$dir/rc"
			return 0
		fi
	fi
	(
		export QBD_TOP=$TOP QBD_BUILD=$BUILD QBD_MODROOT=$MODROOT QBD_SCENARIO=$script
		export QBD_SCENARIO_NAME=$name QBD_RESULTS=$dir QBD_KVER=$KVER QBD_NATIVE=1 QBD_LOAD=$load
		export QBD_TRANSPORT=$transport
		cd "$dir" && timeout -k 10 "$tmo" bash "$script" 2>&1 | tee -a "$dir/output.log" > \
			"$([[ $LIVE == 1 ]] && echo /dev/stdout || echo /dev/null)"
		exit "${PIPESTATUS[0]}"
	)
	rc=$?
	[[ $rc == 124 || $rc == 137 ]] || echo "$rc" > "$dir/rc"
	grep -q '^qbd ' /proc/modules && rmmod qbd 2>>"$dir/output.log"
	dmesg | awk -v m="$marker" 'found { print } index($0, m) { found = 1 }' > "$dir/dmesg.log"
	return "$rc"
}

pass=0
fail=0
tap_ok=0
tap_notok=0
summary=$RESULTS/summary.txt
: > "$summary"
t_all=$SECONDS
for entry in "${scenarios[@]}"; do
	IFS='|' read -r name script transport <<<"$entry"
	dir=$RESULTS/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	tmo=$(header timeout "$script")
	tmo=${tmo:-$DEFAULT_TIMEOUT}
	[[ $tmo =~ ^[0-9]+$ ]] || die "$script: timeout '$tmo' is not a number of seconds"
	tmo=$((tmo * TIMEOUT_SCALE))
	load=1
	[[ -n $(header no-load "$script") ]] && load=0
	if [[ $LIVE == 1 ]]; then
		say "=== $name (timeout ${tmo}s) ==="
	else
		say "running $name (timeout ${tmo}s)"
	fi
	t0=$SECONDS
	if [[ $NATIVE == 1 ]]; then
		run_native "$script" "$dir" "$tmo" "$load" "$name" "$transport"
	else
		run_vm "$script" "$dir" "$tmo" "$load" "$name" "$transport"
	fi
	vrc=$?
	secs=$((SECONDS - t0))

	reasons=()
	notes=()
	if [[ $vrc == 124 || $vrc == 137 ]]; then
		reasons+=("timeout after ${tmo}s")
	fi
	rc=$(cat "$dir/rc" 2>/dev/null)
	if [[ -z $rc ]]; then
		[[ $vrc == 124 || $vrc == 137 ]] || reasons+=("no exit code (VM crashed? rc $vrc)")
	elif [[ $rc != 0 ]]; then
		reasons+=("exit $rc")
	fi
	nok=$(grep -cE '^ok [0-9]+' "$dir/output.log" 2>/dev/null)
	nnot=$(grep -cE '^not ok' "$dir/output.log" 2>/dev/null)
	nok=${nok:-0}
	nnot=${nnot:-0}
	((nnot > 0)) && reasons+=("$nnot not ok")
	((nok == 0)) && reasons+=("no ok line")
	if scan_log "$dir"; then
		reasons+=("kernel log: $(wc -l < "$dir/kernel-log-hits.txt") bad line(s)")
	fi
	if [[ -s $dir/kernel-log-foreign.txt ]]; then
		notes+=("  note: kernel log: $(wc -l < "$dir/kernel-log-foreign.txt") bad line(s) in reports that name no qbd code (not a failure; $dir/kernel-log-foreign.txt)")
	fi
	read -r leaks_qbd leaks_other < <(check_kmemleak "$dir")
	((${leaks_qbd:-0} > 0)) && reasons+=("kmemleak: $leaks_qbd unreferenced object(s) from qbd")
	tap_ok=$((tap_ok + nok))
	tap_notok=$((tap_notok + nnot))
	if [[ ${#reasons[@]} -eq 0 ]]; then
		verdict="PASSED"
		pass=$((pass + 1))
		echo "PASSED" > "$dir/verdict"
	else
		verdict="FAILED ($(IFS=';'; echo "${reasons[*]}" | sed 's/;/; /g'))"
		fail=$((fail + 1))
		echo "$verdict" > "$dir/verdict"
	fi
	line=$(printf '%-7s %-28s %4ds  ok=%d not_ok=%d  %s' \
		"$([[ $verdict == PASSED ]] && echo PASS || echo FAIL)" "$name" "$secs" "$nok" "$nnot" \
		"$([[ $verdict == PASSED ]] || echo "${verdict#FAILED }")")
	echo "$line" | tee -a "$summary"
	for n in "${notes[@]}"; do
		echo "$n" | tee -a "$summary"
	done
	if ((${leaks_other:-0} > 0)); then
		echo "  note: kmemleak: $leaks_other unreferenced object(s) outside qbd (not a failure; $dir/kmemleak.log)" |
			tee -a "$summary"
	fi
	if [[ $verdict != PASSED ]]; then
		if [[ $LIVE != 1 ]]; then
			# CI keeps only this summary: each failed check with the
			# diagnostics under it first, then the log's end.
			if grep -q '^not ok' "$dir/output.log" 2>/dev/null; then
				echo "  --- failed checks in $dir/output.log (each with up to 12 lines after it):"
				awk '/^not ok/ { n = 13 } n > 0 { print; n-- }' "$dir/output.log" |
					head -n 60 | sed 's/^/  | /'
			fi
			echo "  --- last lines of $dir/output.log:"
			tail -n 15 "$dir/output.log" 2>/dev/null | sed 's/^/  | /'
		fi
		if [[ -s $dir/kernel-log-hits.txt ]]; then
			echo "  --- kernel log ($dir/dmesg.log):"
			head -n 10 "$dir/kernel-log-hits.txt" | sed 's/^/  | /'
		fi
		if [[ -s $dir/kmemleak-qbd.txt ]]; then
			echo "  --- kmemleak ($dir/kmemleak-qbd.txt):"
			head -n 20 "$dir/kmemleak-qbd.txt" | sed 's/^/  | /'
		fi
		echo "  --- results kept in $dir"
	fi
done
echo "vm: $pass scenario(s) passed, $fail failed ($tap_ok ok / $tap_notok not ok TAP lines) in $((SECONDS - t_all)) s" |
	tee -a "$summary"
if [[ -n $COUNTS ]]; then
	mkdir -p "$(dirname "$COUNTS")"
	echo "$pass $fail" > "$COUNTS"
fi
((fail == 0))
