# shellcheck shell=bash
# Fault injection helpers (kmod/qbd_fault.c, docs/operations.md): the
# per-device debugfs files under /sys/kernel/debug/qbd/qbdN/<fault>/.

# debugfs_mount: /sys/kernel/debug mounted (a prerequisite of the faults).
debugfs_mount() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
}

# fault_dir DEV: the debugfs directory of /dev/qbdN (or qbdN).
fault_dir() { echo "/sys/kernel/debug/qbd/${1#/dev/}"; }

# fault_set DEV FAULT KNOB=VALUE...: e.g. fault_set qbd0 drop_req interval=1 times=1.
# Knobs are written in the order given (set times last: it arms the fault).
fault_set() {
	local d kv
	d=$(fault_dir "$1")/$2
	shift 2
	for kv in "$@"; do
		echo "${kv#*=}" > "$d/${kv%%=*}" || return 1
	done
}

# fault_off DEV: every fault of DEV inert (times 0).
fault_off() {
	local t
	for t in "$(fault_dir "$1")"/*/times; do
		echo 0 > "$t"
	done
}

# fault_injected DEV FAULT: its injected counter.
fault_injected() { cat "$(fault_dir "$1")/$2/injected"; }
