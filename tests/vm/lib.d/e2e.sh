# shellcheck shell=bash
# End-to-end setup shared by the data-path scenarios: one storage server in
# its own network namespace across a veth pair, its data directory on ext4
# over a brd ramdisk (so the server's O_DIRECT path is the one exercised),
# a qbd.conf naming it, and volumes created with qbdadm.
#
# QBD_TRANSPORT=rdma (the rdma_* variants): soft-RoCE instead (see
# rdma_wire_setup in lib.sh): the server runs in init_net on the v1 end and
# listens on tcp://ADDR:7000 (admin) and rdma://ADDR:7001 (IO), and
# volume_map maps with rdma://.

# Process substitution needs /dev/fd, which devtmpfs does not provide.
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd

if [[ $QBD_TRANSPORT == rdma ]]; then
	E2E_NS=- # rxe works only in init_net
	E2E_HOST_IP=$QBD_RDMA_CLIENT_IP
	E2E_SERVER_IP=$QBD_RDMA_SERVER_IP
fi
E2E_NS=${E2E_NS:-srv1}
E2E_HOST_IP=${E2E_HOST_IP:-10.77.1.1}
E2E_SERVER_IP=${E2E_SERVER_IP:-10.77.1.2}
E2E_PORT=${E2E_PORT:-7000}
E2E_RDMA_PORT=${E2E_RDMA_PORT:-7001}
E2E_CONF=${E2E_CONF:-/tmp/qbd/qbd.conf}
E2E_DATA=${E2E_DATA:-/srv/qbd}

# e2e_datadir [SIZE_MIB=1024]: ext4 on /dev/ram0 mounted at $E2E_DATA.
e2e_datadir() {
	local mib=${1:-1024}
	modprobe brd rd_nr=1 rd_size=$((mib * 1024)) || return 1
	at_exit "rmmod brd"
	mkfs.ext4 -q -F /dev/ram0 || return 1
	mkdir -p "$E2E_DATA" && mount /dev/ram0 "$E2E_DATA" || return 1
	at_exit "umount -l $E2E_DATA"
}

e2e_listen() { echo "tcp://$E2E_SERVER_IP:$E2E_PORT"; }

# e2e_rdma_args: the server's RDMA listener when the transport is rdma (the
# server also serves TCP for the admin lookups `qbd -m` makes), else nothing.
e2e_rdma_args() {
	[[ $QBD_TRANSPORT == rdma ]] && echo "--listen rdma://$E2E_SERVER_IP:$E2E_RDMA_PORT"
	return 0
}

# e2e_server_start [EXTRA ARGS...]: the server in $E2E_NS on $E2E_DATA.
# shellcheck disable=SC2046 # e2e_rdma_args is words on purpose
e2e_server_start() { server_start "$E2E_NS" "$E2E_DATA" "$(e2e_listen)" $(e2e_rdma_args) "$@"; }
e2e_server_kill9() { server_kill9 "$E2E_NS" "$(e2e_listen)"; }
e2e_server_stop() { server_stop "$E2E_NS" "$(e2e_listen)"; }

# e2e_setup [DATA_MIB]: namespace, data dir, server, qbd.conf. Each step is a
# prerequisite: the scenario bails out when one fails.
e2e_setup() {
	require_bins "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN"
	if [[ $QBD_TRANSPORT == rdma ]]; then
		require "soft-RoCE across veth v0<->v1 (rxe0, rxe1)" rdma_wire_setup
	else
		require "network namespace $E2E_NS" netns_create "$E2E_NS" "$E2E_HOST_IP" "$E2E_SERVER_IP"
	fi
	require "server data dir on ext4 (brd)" e2e_datadir "${1:-1024}"
	require "qbd-server starts in $E2E_NS" e2e_server_start
	require "qbd.conf written" qbd_conf_write "$E2E_CONF" "$E2E_SERVER_IP:$E2E_PORT"
}

# udev_start: systemd-udevd with the project's rules (for /dev/qbd/POOL/VOL).
udev_start() {
	mkdir -p /run/udev/rules.d
	cp "$QBD_TOP"/udev/*.rules /run/udev/rules.d/ || return 1
	# Not --daemon: its parent gives up when udevd is slow to answer (the
	# debug kernel under load); here the wait scales with the timeouts.
	# setsid -f: not a child of the scenario's shell (a bare `wait` there
	# must not wait for it).
	setsid -f /lib/systemd/systemd-udevd --resolve-names=never > /tmp/udevd.log 2>&1 || return 1
	at_exit "udevadm control --exit"
	wait_until $((30 * ${QBD_TIMEOUT_SCALE:-1})) udevadm control --ping || {
		echo "udevd did not answer: $(cat /tmp/udevd.log)" >&2
		return 1
	}
	udevadm trigger --type=subsystems --action=add
	udevadm trigger --type=devices --action=add
	udevadm settle -t $((60 * ${QBD_TIMEOUT_SCALE:-1}))
}

# stat_field DEV FIELD: a column of /proc/qbdstat for DEV (qbdN), by the
# name given in its '#' header line.
stat_field() {
	awk -v dev="$1" -v f="$2" '
		/^#/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
		{ for (i = 1; i <= NF; i++) if ($i == dev || $i == "/dev/" dev) { print $(col[f]); exit } }
	' /proc/qbdstat
}

# fio_verify NAME DEV [FIO ARGS...]: fio randrw with crc32c verification on
# DEV; a TAP check that fails on any fio error or verify failure.
fio_verify() {
	local name=$1 dev=$2 out rc
	shift 2
	out=$(fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randrw --bsrange=4k-512k --iodepth=32 --numjobs=2 --offset_increment=50% \
		--size=45% --verify=crc32c --verify_fatal=1 --do_verify=1 \
		--group_reporting --output-format=normal "$@" 2>&1)
	rc=$?
	echo "$out" > "$QBD_RESULTS/fio-$(echo "$name" | tr -c 'A-Za-z0-9' _).log"
	if [[ $rc == 0 ]] && ! grep -qiE 'verify: bad|crc32c: verify failed|err= *[1-9]' <<<"$out"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "fio exit status $rc" "$(grep -iE 'err|verify|bad' <<<"$out" | head -n 20)"
	return 1
}
