# shellcheck shell=bash
# Helpers for qbd VM scenarios. Source it first thing in a scenario:
#
#   . "$QBD_TOP/tests/vm/lib.sh"
#
# The harness (tests/vm/run.sh) sets QBD_TOP (the repository), QBD_BUILD (its
# build dir), QBD_MODROOT (module tree for `modprobe -d`), QBD_RESULTS (the
# writable results share, kept on the host as build/vm/results/<scenario>/),
# QBD_KVER, QBD_NATIVE (1 when running on the host without a VM) and
# QBD_TRANSPORT (tcp, or rdma for the rdma_* variants of `# qbd-vm: rdma`
# scenarios).
#
# TAP: every check prints `ok N - name` or `not ok N - name`; there is no
# plan. A scenario fails if it prints any `not ok`, prints no `ok` at all, or
# exits non-zero; lib.sh makes the exit status non-zero when a `not ok` was
# printed. A missing prerequisite is a failure, never a silent skip.
#
# Every tests/vm/lib.d/*.sh is sourced at the end, so helpers can be added
# there without editing this file.

: "${QBD_TOP:?QBD_TOP is not set: run scenarios through tests/vm/run.sh}"
: "${QBD_BUILD:=$QBD_TOP/build}"
: "${QBD_RESULTS:=/tmp/results}"
: "${QBD_NATIVE:=0}"
: "${QBD_KVER:=$(uname -r)}"
: "${QBD_MODROOT:=$QBD_BUILD/vm/modroot}"
: "${QBD_TRANSPORT:=tcp}"
export QBD_TOP QBD_BUILD QBD_RESULTS QBD_NATIVE QBD_KVER QBD_MODROOT QBD_TRANSPORT

# The freshly built userspace programs (`make userspace`).
QBD_SERVER_BIN=${QBD_SERVER_BIN:-$QBD_BUILD/userspace/server/qbd-server}
QBD_BIN=${QBD_BIN:-$QBD_BUILD/userspace/qbd/qbd}
QBDADM_BIN=${QBDADM_BIN:-$QBD_BUILD/userspace/qbdadm/qbdadm}
export QBD_SERVER_BIN QBD_BIN QBDADM_BIN
PATH=$QBD_BUILD/userspace/qbd:$QBD_BUILD/userspace/qbdadm:$QBD_BUILD/userspace/server:$PATH
export PATH
set -o pipefail

# ---- TAP ------------------------------------------------------------------
QBD_TAP_N=0
QBD_TAP_FAILED=0
QBD_LAST_OUTPUT=""
QBD_CLEANUPS=()

# ok NAME: report a passed check.
ok() {
	QBD_TAP_N=$((QBD_TAP_N + 1))
	echo "ok $QBD_TAP_N - $*"
}

# not_ok NAME [DETAIL...]: report a failed check; DETAIL lines become
# TAP comments.
not_ok() {
	local name=$1
	shift
	QBD_TAP_N=$((QBD_TAP_N + 1))
	QBD_TAP_FAILED=$((QBD_TAP_FAILED + 1))
	echo "not ok $QBD_TAP_N - $name"
	[[ $# -gt 0 ]] && printf '%s\n' "$@" | sed 's/^/# /'
	return 0
}

# diag MSG: a TAP comment line.
diag() { echo "# $*"; }

# check NAME CMD [ARGS...]: run CMD; ok when it exits 0, not ok (with its
# output) otherwise. Returns CMD's status. CMD runs in this shell (not in a
# subshell), so helpers that start servers or register at_exit cleanups
# keep their state.
check() {
	local name=$1 rc
	shift
	qbd_run_captured "$@"
	rc=$?
	if [[ $rc == 0 ]]; then
		ok "$name"
	else
		not_ok "$name" "command: $*" "exit status: $rc" "$QBD_LAST_OUTPUT"
	fi
	return $rc
}

# check_fails NAME CMD [ARGS...]: ok when CMD exits non-zero (expected error).
check_fails() {
	local name=$1
	shift
	if ! qbd_run_captured "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "command: $*" "expected failure, but it exited 0" "$QBD_LAST_OUTPUT"
	return 1
}

# qbd_run_captured CMD...: run CMD in this shell with its output captured
# into QBD_LAST_OUTPUT; returns CMD's status.
qbd_run_captured() {
	local f rc
	f=$(mktemp "${TMPDIR:-/tmp}/qbd-check.XXXXXX")
	"$@" > "$f" 2>&1
	rc=$?
	QBD_LAST_OUTPUT=$(cat "$f")
	rm -f "$f"
	return $rc
}

# check_eq NAME GOT WANT: ok when the two strings are equal.
check_eq() {
	if [[ $2 == "$3" ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "got:  '$2'" "want: '$3'"
	return 1
}

# skip NAME REASON: there is no silent skip in this suite. A check that
# cannot run is reported as failed, with the reason.
skip() {
	not_ok "$1" "cannot run (a skip counts as a failure): ${2:-no reason given}"
	return 1
}

# require NAME CMD...: a prerequisite; not ok and exit when CMD fails.
require() {
	local name=$1
	shift
	check "prerequisite: $name" "$@" || bail "prerequisite failed: $name ($*)"
	return 0
}

# require_bins PROG...: the named programs exist and are executable.
require_bins() {
	local p missing=()
	for p in "$@"; do
		[[ -x $p ]] || command -v "$p" >/dev/null || missing+=("$p")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		bail "required programs missing: ${missing[*]} (run 'make userspace')"
	fi
	ok "programs present: $*"
}

# bail MSG: record a failure and end the scenario now.
bail() {
	not_ok "bail out: $*"
	exit 1
}

# at_exit CMD...: run CMD (eval'd) when the scenario exits, last
# registered first.
at_exit() { QBD_CLEANUPS=("$*" "${QBD_CLEANUPS[@]}"); }

qbd_tap_finish() {
	local rc=$? c
	for c in "${QBD_CLEANUPS[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	QBD_CLEANUPS=()
	echo "# qbd-tap: $((QBD_TAP_N - QBD_TAP_FAILED)) ok, $QBD_TAP_FAILED not ok"
	if [[ $rc == 0 && $QBD_TAP_FAILED -gt 0 ]]; then
		exit 1
	fi
	exit "$rc"
}
trap qbd_tap_finish EXIT

# ---- waiting --------------------------------------------------------------
# wait_until TIMEOUT_S CMD [ARGS...]: poll CMD every 0.1 s until it succeeds.
wait_until() {
	local tmo=$1 end
	shift
	end=$((SECONDS + tmo))
	while ! "$@" >/dev/null 2>&1; do
		((SECONDS >= end)) && return 1
		sleep 0.1
	done
	return 0
}

# wait_for_dev DEV [TIMEOUT_S=10]: wait until DEV is a block device.
wait_for_dev() {
	local dev=$1 tmo=${2:-10}
	wait_until "$tmo" test -b "$dev" && return 0
	echo "wait_for_dev: $dev is not a block device after ${tmo}s" >&2
	return 1
}

# wait_gone PATH [TIMEOUT_S=10]: wait until PATH no longer exists.
wait_gone() {
	local p=$1 tmo=${2:-10}
	wait_until "$tmo" test ! -e "$p" && return 0
	echo "wait_gone: $p still exists after ${tmo}s" >&2
	return 1
}

# dev_live DEV: /dev/qbdN's state (sysfs) is live; for wait_until after a
# server restart.
dev_live() { [[ $(cat "/sys/block/${1#/dev/}/qbd/state" 2>/dev/null) == live ]]; }

# kmsg MSG: put a marker into the kernel log (helps reading dmesg.log).
kmsg() { echo "qbd-test: $*" > /dev/kmsg 2>/dev/null || true; }

# ---- the module -----------------------------------------------------------
# qbd_load [PARAMS...]: load qbd.ko (and what it depends on).
qbd_load() {
	if [[ $QBD_NATIVE == 1 ]]; then
		local deps
		deps=$(modinfo -F depends "$QBD_TOP/kmod/qbd.ko" 2>/dev/null | tr , ' ')
		# shellcheck disable=SC2086
		[[ -z $deps ]] || modprobe -a $deps || return 1
		insmod "$QBD_TOP/kmod/qbd.ko" "$@"
	else
		modprobe -d "$QBD_MODROOT" qbd "$@"
	fi
}

# qbd_unload: remove qbd.ko.
qbd_unload() { rmmod qbd; }

qbd_loaded() { grep -q '^qbd ' /proc/modules; }

# ---- network namespaces ---------------------------------------------------
# netns_create NAME HOSTIP PEERIP: namespace NAME joined to init_net by a
# veth pair: HOSTIP/24 on the init_net side (interface q-NAME, truncated to
# 15 characters), PEERIP/24 on eth0 inside NAME; lo up on both sides.
# Removed when the scenario exits.
netns_create() {
	local ns=$1 hip=$2 pip=$3 hv
	hv=$(printf 'q-%s' "$ns" | cut -c1-15)
	modprobe veth 2>/dev/null
	ip link set lo up
	ip netns add "$ns" || return 1
	at_exit "ip netns del $ns"
	ip link add "$hv" type veth peer name eth0 netns "$ns" || return 1
	ip addr add "$hip/24" dev "$hv" || return 1
	ip link set "$hv" up || return 1
	ip -n "$ns" link set lo up || return 1
	ip -n "$ns" addr add "$pip/24" dev eth0 || return 1
	ip -n "$ns" link set eth0 up || return 1
	wait_until 5 ping -c1 -W1 "$pip" || {
		echo "netns_create: $pip in $ns does not answer from init_net" >&2
		return 1
	}
}

# in_ns NS CMD...: run CMD in namespace NS ("" or "-" = init_net).
in_ns() {
	local ns=$1
	shift
	if [[ -z $ns || $ns == - ]]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# ---- qbd-server -----------------------------------------------------------
declare -A QBD_SERVER_PIDS=()

# server_id NS LISTEN: the name a server is known by (NS-ADDR-PORT).
server_id() {
	local l=${2#tcp://}
	l=${l#rdma://}
	local ns=${1:--}
	[[ $ns == - ]] && ns=init
	echo "$ns-${l//:/-}"
}

# server_start NS DATADIR LISTEN [EXTRA ARGS...]: start qbd-server in NS
# ("-" = init_net) with --data-dir DATADIR --listen LISTEN (tcp://ADDR:PORT,
# or ADDR:PORT for tcp://). Log in $QBD_RESULTS/server-<id>.log, pidfile
# next to it. Returns when the port accepts connections (20 s at most).
server_start() {
	local ns=${1:--} data=$2 listen=$3 id addr port pid log
	shift 3
	[[ $listen == *://* ]] || listen=tcp://$listen
	addr=${listen#*://}
	port=${addr##*:}
	addr=${addr%:*}
	id=$(server_id "$ns" "$listen")
	log=$QBD_RESULTS/server-$id.log
	[[ -x $QBD_SERVER_BIN ]] || {
		echo "server_start: $QBD_SERVER_BIN missing (make userspace)" >&2
		return 1
	}
	mkdir -p "$data" || return 1
	# Started directly (not through in_ns) so that $! is the server itself.
	if [[ $ns == - ]]; then
		"$QBD_SERVER_BIN" --data-dir "$data" --listen "$listen" "$@" >>"$log" 2>&1 &
	else
		# nsenter, not `ip netns exec`: that one makes a new mount namespace
		# holding a copy of every mount, so a filesystem mounted on a qbd
		# device before a server (re)start would stay busy after umount.
		nsenter --net="/run/netns/$ns" "$QBD_SERVER_BIN" --data-dir "$data" --listen "$listen" "$@" >>"$log" 2>&1 &
	fi
	pid=$!
	QBD_SERVER_PIDS[$id]=$pid
	echo "$pid" > "$QBD_RESULTS/server-$id.pid"
	at_exit "server_kill9 $ns $listen"
	if [[ $listen == tcp://* ]]; then
		# (x QBD_TIMEOUT_SCALE: a debug kernel starts processes slowly)
		local scale=${QBD_TIMEOUT_SCALE:-1}
		local end=$((SECONDS + 20 * scale))
		while ! in_ns "$ns" timeout $((2 * scale)) bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; do
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "server_start: qbd-server ($id) exited during startup; log:" >&2
				tail -n 20 "$log" >&2
				return 1
			fi
			if ((SECONDS >= end)); then
				echo "server_start: qbd-server ($id) does not accept on $addr:$port after $((20 * scale))s" >&2
				return 1
			fi
			sleep 0.1
		done
	fi
	return 0
}

# server_stop [NS LISTEN [TIMEOUT_S=10]]: SIGTERM, wait; SIGKILL and fail if
# it does not exit in time. Without arguments: every server started here.
server_stop() {
	local id rc=0
	if [[ $# -eq 0 ]]; then
		for id in "${!QBD_SERVER_PIDS[@]}"; do
			server_stop_id "$id" 10 || rc=1
		done
		return $rc
	fi
	server_stop_id "$(server_id "$1" "$2")" "${3:-10}"
}

server_stop_id() {
	local id=$1 tmo=$2 pid
	pid=${QBD_SERVER_PIDS[$id]:-}
	[[ -n $pid ]] || { echo "server_stop: no server $id" >&2; return 1; }
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until "$tmo" server_gone "$pid"; then
		echo "server_stop: qbd-server ($id) still running ${tmo}s after SIGTERM; killed" >&2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		unset "QBD_SERVER_PIDS[$id]"
		return 1
	fi
	wait "$pid" 2>/dev/null
	unset "QBD_SERVER_PIDS[$id]"
	return 0
}

# server_kill9 [NS LISTEN]: kill -9 (a crash, as far as clients can tell).
# Without arguments: every server started here.
server_kill9() {
	local id
	if [[ $# -eq 0 ]]; then
		for id in "${!QBD_SERVER_PIDS[@]}"; do
			server_kill9_id "$id"
		done
		return 0
	fi
	server_kill9_id "$(server_id "$1" "$2")"
}

server_kill9_id() {
	local id=$1 pid
	pid=${QBD_SERVER_PIDS[$id]:-}
	[[ -n $pid ]] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "QBD_SERVER_PIDS[$id]"
	return 0
}

server_gone() { ! kill -0 "$1" 2>/dev/null; }

# ---- configuration and volumes --------------------------------------------
# qbd_conf_write FILE SERVER... : a qbd.conf naming the servers (ADDR:PORT
# or tcp://ADDR:PORT). QBD_IO_TIMEOUT, QBD_CONN_TIMEOUT, QBD_IO_DEPTH,
# QBD_HB_INTERVAL, QBD_HB_TIMEOUT override the [client] values.
qbd_conf_write() {
	local file=$1 s list=()
	shift
	for s in "$@"; do
		s=${s#tcp://}
		list+=("$s")
	done
	mkdir -p "$(dirname "$file")" || return 1
	# The defaults grow with QBD_TIMEOUT_SCALE: on a debug kernel (KASAN,
	# lockdep) under TCG a 3 s heartbeat timeout fires while the server is
	# merely slow, and IO fails past io_timeout with no fault at all.
	local sc=${QBD_TIMEOUT_SCALE:-1}
	{
		echo "[cluster]"
		echo "servers = $(IFS=,; echo "${list[*]}")"
		echo "[client]"
		echo "io_depth = ${QBD_IO_DEPTH:-128}"
		echo "io_timeout = ${QBD_IO_TIMEOUT:-$((30 * sc))}"
		echo "conn_timeout = ${QBD_CONN_TIMEOUT:-$((8 * sc))}"
		echo "heartbeat_interval = ${QBD_HB_INTERVAL:-1}"
		echo "heartbeat_timeout = ${QBD_HB_TIMEOUT:-$((3 * sc))}"
	} > "$file"
}

# volume_create CONF POOL/VOL SIZE: qbdadm -c CONF create POOL/VOL --size SIZE
volume_create() { "$QBDADM_BIN" -c "$1" create "$2" --size "$3"; }

# volume_map CONF POOL/VOL [ARGS...]: map with `qbd -c CONF -m
# $QBD_TRANSPORT://POOL/VOL` (VOL_TRANSPORT=tcp|rdma overrides the transport
# for one call) and print the /dev/qbdN it got (from qbd's output).
volume_map() {
	local conf=$1 vol=$2 out dev url
	shift 2
	url=${VOL_TRANSPORT:-$QBD_TRANSPORT}://$vol
	out=$("$QBD_BIN" -c "$conf" -m "$url" "$@" 2>&1) || {
		echo "volume_map: qbd -c $conf -m $url failed: $out" >&2
		return 1
	}
	dev=$(grep -oE '/dev/qbd[0-9]+' <<<"$out" | head -n1)
	[[ -n $dev ]] || {
		echo "volume_map: no /dev/qbdN in qbd's output: $out" >&2
		return 1
	}
	wait_for_dev "$dev" || return 1
	echo "$dev"
}

# volume_unmap CONF POOL/VOL: qbd -c CONF -u POOL/VOL
volume_unmap() { "$QBD_BIN" -c "$1" -u "$2"; }

# ---- filesystems ----------------------------------------------------------
# fs_populate DIR [NFILES=40]: a tree of files of assorted sizes (1 KiB ..
# ~2 MiB) and their checksums in $QBD_RESULTS/manifest-<dir>.sha256.
fs_populate() {
	local dir=$1 n=${2:-40} i sub size man
	man=$(fs_manifest "$dir")
	for ((i = 0; i < n; i++)); do
		sub=$dir/d$((i % 5))/e$((i % 3))
		mkdir -p "$sub" || return 1
		size=$(((RANDOM % 2048 + 1) * 1024))
		head -c "$size" /dev/urandom > "$sub/f$i" || return 1
	done
	sync
	(cd "$dir" && find . -type f ! -name lost+found -print0 | sort -z | xargs -0 sha256sum) > "$man"
	[[ -s $man ]]
}

# fs_verify DIR: every file fs_populate wrote has its checksum.
fs_verify() {
	local dir=$1 man
	man=$(fs_manifest "$dir")
	[[ -s $man ]] || { echo "fs_verify: no manifest $man" >&2; return 1; }
	(cd "$dir" && sha256sum --quiet -c "$man")
}

fs_manifest() { echo "$QBD_RESULTS/manifest$(echo "$1" | tr / _).sha256"; }

# mkfs_and_check DEV MNT [FSTYPE=ext4]: mkfs, mount, write a tree with
# checksums, unmount, fsck, mount again, verify, unmount. Each step is a
# TAP check; returns non-zero on the first failure.
mkfs_and_check() {
	local dev=$1 mnt=$2 fs=${3:-ext4} mkfs_opts=()
	[[ $fs == ext4 ]] && mkfs_opts=(-q -F)
	[[ $fs == xfs ]] && mkfs_opts=(-q -f)
	mkdir -p "$mnt"
	check "mkfs.$fs $dev" "mkfs.$fs" "${mkfs_opts[@]}" "$dev" || return 1
	check "mount $dev $mnt" mount "$dev" "$mnt" || return 1
	check "write a file tree on $dev" fs_populate "$mnt" || { umount "$mnt"; return 1; }
	check "umount $mnt" umount "$mnt" || return 1
	if [[ $fs == ext4 ]]; then
		check "e2fsck -fn $dev" e2fsck -fn "$dev" || return 1
	elif [[ $fs == xfs ]]; then
		check "xfs_repair -n $dev" xfs_repair -n "$dev" || return 1
	fi
	check "mount $dev $mnt again" mount "$dev" "$mnt" || return 1
	check "checksums of the file tree on $dev" fs_verify "$mnt" || { umount "$mnt"; return 1; }
	check "umount $mnt again" umount "$mnt"
}

# ---- soft-RoCE ------------------------------------------------------------
# rxe in Debian's 6.1 works only in the initial network namespace, and not on
# lo: two rxe devices across a veth pair v0 (client, 10.99.2.1) <-> v1
# (server, 10.99.2.2) in init_net, with policy routing so traffic between the
# two local addresses really crosses the veth (taking v0 down cuts it).
QBD_RDMA_CLIENT_IP=10.99.2.1
QBD_RDMA_SERVER_IP=10.99.2.2

# rdma_wire_routes: the per-source routes; link down drops them, so call it
# again after `ip link set v0 up`. The unreachable fallback keeps the
# client's traffic from short-cutting through the local table meanwhile.
rdma_wire_routes() {
	local c=$QBD_RDMA_CLIENT_IP s=$QBD_RDMA_SERVER_IP
	ip route replace "$s" dev v0 src "$c" table 201 || return 1
	ip route replace "$c" dev v1 src "$s" table 202 || return 1
	ip route show table 201 | grep -q unreachable ||
		ip route add unreachable "$s" table 201 metric 4096
}

rdma_wire_setup() {
	local c=$QBD_RDMA_CLIENT_IP s=$QBD_RDMA_SERVER_IP i
	modprobe veth && modprobe rdma_rxe && modprobe rdma_cm || return 1
	modprobe ib_uverbs && modprobe rdma_ucm || return 1 # the server's verbs
	ip link set lo up
	ip link add v0 type veth peer name v1 || return 1
	at_exit "ip link del v0"
	ip addr add "$c/24" dev v0 && ip addr add "$s/24" dev v1 || return 1
	ip link set v0 up && ip link set v1 up || return 1
	# A 1 MiB RDMA READ response is ~1000 packets in one burst into the
	# peer's backlog: with the default 1000 rxe drops packets and goes
	# through its retransmit paths (which warn in 6.1) all the time.
	sysctl -qw net.core.netdev_max_backlog=65536 || return 1
	for i in all default v0 v1; do
		sysctl -qw net.ipv4.conf.$i.accept_local=1 net.ipv4.conf.$i.rp_filter=0 || return 1
	done
	ip rule add pref 100 iif v0 lookup local && ip rule add pref 100 iif v1 lookup local &&
		ip rule add pref 150 to "$s" lookup 201 &&
		ip rule add pref 200 from "$c" lookup 201 &&
		ip rule add pref 200 from "$s" lookup 202 || return 1
	rdma_wire_routes || return 1
	ip rule del pref 0 lookup local && ip rule add pref 300 lookup local || return 1
	rdma link add rxe0 type rxe netdev v0 && rdma link add rxe1 type rxe netdev v1 || return 1
	at_exit "rdma link delete rxe1"
	at_exit "rdma link delete rxe0"
	wait_until 10 ping -c1 -W1 -I "$c" "$s"
}

# rdma_res_counts: "pd N cq N qp N mr N" summed over every RDMA device.
rdma_res_counts() {
	rdma resource show | awk '
		{ for (i = 1; i < NF; i++) if ($i ~ /^(pd|cq|qp|mr)$/) n[$i] += $(i + 1) }
		END { printf "pd %d cq %d qp %d mr %d\n", n["pd"], n["cq"], n["qp"], n["mr"] }'
}

# ---- extensions -----------------------------------------------------------
for qbd_lib_ext in "$QBD_TOP"/tests/vm/lib.d/*.sh; do
	[[ -f $qbd_lib_ext ]] || continue
	# shellcheck disable=SC1090
	. "$qbd_lib_ext"
done
unset qbd_lib_ext
