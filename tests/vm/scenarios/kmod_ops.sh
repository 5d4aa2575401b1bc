#!/bin/bash
# qbd-vm: timeout=600
# Kernel side of volume operations, driven straight through the ioctls
# (python fcntl, independent of the qbd CLI): SET_THROTTLE accuracy with fio,
# SUSPEND holds IO, RESUME normal / error / discard, RESIZE grows the disk,
# a suspended device unmaps with --force.
. "$QBD_TOP/tests/vm/lib.sh"

# qioc CMD DEV_ID [ARGS]: throttle ID RBPS WBPS RIOPS WIOPS [BURST_MS] |
# suspend ID | resume ID MODE | resize ID BYTES. Exit 0, or prints the errno.
qioc() {
	python3 - "$@" <<'PY'
import errno, fcntl, os, struct, sys
def iowr(nr, size): return (3 << 30) | (size << 16) | (0xB5 << 8) | nr
cmd, dev = sys.argv[1], int(sys.argv[2])
a = [int(x) for x in sys.argv[3:]]
if cmd == "throttle":
    burst = a[4] if len(a) > 4 else 0
    buf = struct.pack("=IIiIQQQQ4Q", 80, 0, dev, burst, *a[:4], 0, 0, 0, 0); nr = 5
elif cmd in ("suspend", "resume"):
    buf = struct.pack("=IIiI4Q", 48, 0, dev, a[0] if a else 0, 0, 0, 0, 0)
    nr = 6 if cmd == "suspend" else 7
elif cmd == "resize":
    buf = struct.pack("=IIiIQ4Q", 56, 0, dev, 0, a[0], 0, 0, 0, 0); nr = 8
fd = os.open("/dev/qbdctl", os.O_RDWR)
try:
    fcntl.ioctl(fd, iowr(nr, len(buf)), bytearray(buf))
except OSError as e:
    print(errno.errorcode[e.errno]); sys.exit(1)
PY
}

e2e_setup
check "create pool1/ops" volume_create "$E2E_CONF" pool1/ops 64M
dev=$(volume_map "$E2E_CONF" pool1/ops) || bail "map pool1/ops"
name=${dev#/dev/}
id=${name#qbd}
ok "mapped pool1/ops -> $dev"

# ---- throttle ----
fio_rate() {	# fio_rate RW BS FIELD(iops|bw_bytes): measured over 8 s
	fio --name=t --filename="$dev" --direct=1 --ioengine=libaio --rw="$1" \
		--bs="$2" --iodepth=16 --time_based --runtime=8 --output-format=json |
		python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print(int(j['read' if 'read' in sys.argv[1] else 'write']['$3']))" "$1"
}
within10() { local got=$1 want=$2; diag "measured $got, limit $want"; (( got * 10 >= want * 9 && got * 10 <= want * 11 )); }

# The debug kernel (QBD_TIMEOUT_SCALE > 1) does 4k reads below 200 iops:
# the iops limits scale with it, so a limit is only measured where the
# device can go faster (as in ops_throttle).
S=${QBD_TIMEOUT_SCALE:-1}
li=$((200 / S))
check "SET_THROTTLE read_iops=$li" qioc throttle "$id" 0 0 $li 0
check_eq "/proc/qbdstat read_iops" "$(stat_field "$name" read_iops)" $li
check_eq "/proc/qbdstat burst_ms (default)" "$(stat_field "$name" burst_ms)" 100
r=$(fio_rate randread 4k iops) ; check "randread 4k at $li iops (+-10%)" within10 "$r" $li
check "SET_THROTTLE write_bps=2M burst 50" qioc throttle "$id" 0 2097152 0 0 50
check "sysfs throttle" grep -q "write_bps=2097152 read_iops=0 write_iops=0 burst_ms=50" /sys/block/$name/qbd/throttle
r=$(fio_rate write 64k bw_bytes) ; check "write 64k at 2 MiB/s (+-10%)" within10 "$r" 2097152
check "SET_THROTTLE mixed read_bps=1M read_iops=$((li / 2))" qioc throttle "$id" 1048576 0 $((li / 2)) 0
r=$(fio_rate randread 4k iops) ; check "mixed: 4k reads bound by $((li / 2)) iops" within10 "$r" $((li / 2))
r=$(fio_rate randread 64k bw_bytes) ; check "mixed: 64k reads bound by 1 MiB/s" within10 "$r" 1048576
check "SET_THROTTLE off" qioc throttle "$id" 0 0 0 0
check_fails "SET_THROTTLE burst_ms 60001 refused" qioc throttle "$id" 0 0 0 0 60001
check_fails "SET_THROTTLE on a device that does not exist" qioc throttle 255 0 0 0 0

# ---- suspend / resume normal ----
dd if=/dev/urandom of=/tmp/pat bs=1M count=4 status=none
check "write a pattern" dd if=/tmp/pat of="$dev" bs=1M oflag=direct status=none
check "SUSPEND" qioc suspend "$id"
check_eq "sysfs state suspended" "$(cat /sys/block/$name/qbd/state)" suspended
check_eq "/proc/qbdstat state suspended" "$(stat_field "$name" state)" suspended
dd if="$dev" of=/tmp/back bs=1M count=4 iflag=direct status=none & ddpid=$!
sleep 3
check "reader is held while suspended" kill -0 $ddpid
check "RESUME normal" qioc resume "$id" 0
check "held reader completes" wait $ddpid
check "held reader saw the data" cmp /tmp/back /tmp/pat
check_eq "state live again" "$(cat /sys/block/$name/qbd/state)" live

# ---- resume error ----
check "SUSPEND" qioc suspend "$id"
dd if=/tmp/pat of="$dev" bs=4k count=1 oflag=direct status=none 2>/dev/null & ddpid=$!
sleep 2
check "RESUME error" qioc resume "$id" 1
check_fails "held writer gets EIO" wait $ddpid
check_fails "new reader gets EIO" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none
check_eq "sysfs resume_mode" "$(cat /sys/block/$name/qbd/resume_mode)" error
check_eq "/proc/qbdstat resume_mode" "$(stat_field "$name" resume_mode)" error

# ---- resume discard ----
check "SUSPEND" qioc suspend "$id"
check "RESUME discard" qioc resume "$id" 2
check "read succeeds in discard mode" dd if="$dev" of=/tmp/disc bs=1M count=4 iflag=direct status=none
check "discard mode reads zeros" cmp -n $((4 << 20)) /tmp/disc /dev/zero
check "write succeeds in discard mode" dd if=/dev/zero of="$dev" bs=1M count=1 oflag=direct status=none
check "RESUME normal (not suspended)" qioc resume "$id" 0
check "discarded write never reached the server" sh -c "dd if=$dev bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"

# ---- resize ----
check_eq "size before" "$(cat /sys/block/$name/size)" $((64 << 11))
check "qbdadm resize to 128M" "$QBDADM_BIN" -c "$E2E_CONF" resize pool1/ops --size 128M
check "RESIZE to 128M" qioc resize "$id" $((128 << 20))
check_eq "sysfs size grew" "$(cat /sys/block/$name/size)" $((128 << 11))
check_fails "RESIZE smaller refused" qioc resize "$id" $((64 << 20))
check_fails "RESIZE not a block multiple refused" qioc resize "$id" $(((128 << 20) + 512))
check_eq "size unchanged after refusals" "$(cat /sys/block/$name/size)" $((128 << 11))
check "write at the end of the new space" dd if=/tmp/pat of="$dev" bs=1M seek=124 oflag=direct status=none
check "read it back" sh -c "dd if=$dev bs=1M skip=124 count=4 iflag=direct status=none | cmp - /tmp/pat"

# ---- suspended device, IO held, forced unmap ----
check "SUSPEND" qioc suspend "$id"
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null & ddpid=$!
sleep 1
check_fails "unmap without force refused while open" "$QBD_BIN" -c "$E2E_CONF" -u pool1/ops
check "unmap --force a suspended device" timeout 60 "$QBD_BIN" -c "$E2E_CONF" -u pool1/ops --force
check_fails "held reader fails after the forced unmap" wait $ddpid
check "device gone" wait_gone "$dev"
