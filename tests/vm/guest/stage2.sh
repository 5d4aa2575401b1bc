#!/bin/bash
# PID 1 after switch_root: the root is the host's / (read-only, 9p).
# Reads the run's settings from /tmp/results/guest.env (written by
# tests/vm/run.sh), streams the kernel log into the results share, loads
# qbd.ko, runs the scenario with its output teed to the console and to
# output.log, saves rc and dmesg, powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
R=/tmp/results

poweroff_now() {
	sync
	/run/qbd/busybox poweroff -f
	echo o > /proc/sysrq-trigger
}

if [[ ! -f $R/guest.env ]]; then
	echo "GUEST: $R/guest.env missing"
	poweroff_now
fi
# shellcheck disable=SC1091
. "$R/guest.env"

# A kernel built elsewhere (the debug kernel) has its modules outside the
# host's /lib/modules: show its tree there.
if [[ -n ${QBD_VM_LIBMODULES:-} ]] && ! mount --bind "$QBD_VM_LIBMODULES" /lib/modules; then
	echo "GUEST: mounting $QBD_VM_LIBMODULES on /lib/modules failed"
fi

# kmemleak (the debug kernel): note where modules live while the scenario
# runs, so leaks allocated by a module unloaded since can be attributed.
KMEMLEAK=/sys/kernel/debug/kmemleak
if [[ -w $KMEMLEAK ]]; then
	while :; do
		cat /proc/modules
		sleep 1
	done > /tmp/modules.seen 2>/dev/null &
	modseen_pid=$!
fi

# Stream the kernel log to the host as it happens, so a VM killed at the
# timeout still leaves its log behind.
dmesg --follow > "$R/dmesg.live" 2>&1 &
dmesg_pid=$!

ip link set lo up
echo "GUEST: scenario $QBD_SCENARIO_NAME starts at $(cut -d' ' -f1 /proc/uptime) s"
rc=0
: > "$R/output.log"
if [[ $QBD_LOAD == 1 ]]; then
	if ! out=$(modprobe -d "$QBD_MODROOT" qbd 2>&1); then
		echo "not ok 0 - harness: modprobe -d $QBD_MODROOT qbd: $out" | tee -a "$R/output.log"
		rc=1
	fi
fi
if [[ $rc == 0 ]]; then
	cd /tmp || exit 1
	bash "$QBD_SCENARIO" 2>&1 | tee -a "$R/output.log"
	rc=${PIPESTATUS[0]}
fi
echo "GUEST: scenario $QBD_SCENARIO_NAME exited $rc at $(cut -d' ' -f1 /proc/uptime) s"
echo "$rc" > "$R/rc"
# The scenario is over: ask kmemleak for what is unreferenced now (scanned
# twice, as Documentation/dev-tools/kmemleak.rst advises, after objects freed
# at the very end have aged past its 5 s minimum); run.sh judges the report.
if [[ -w $KMEMLEAK ]]; then
	kill "$modseen_pid" 2>/dev/null
	cat /proc/modules >> /tmp/modules.seen
	awk '!seen[$1 " " $6]++' /tmp/modules.seen > "$R/modules.seen"
	sleep 6
	echo scan > "$KMEMLEAK" && echo scan > "$KMEMLEAK"
	cat "$KMEMLEAK" > "$R/kmemleak.log" 2>&1
	echo "GUEST: kmemleak scanned at $(cut -d' ' -f1 /proc/uptime) s: $(grep -c '^unreferenced object' "$R/kmemleak.log") unreferenced object(s)"
fi
dmesg > "$R/dmesg.log" 2>&1
kill "$dmesg_pid" 2>/dev/null
poweroff_now
