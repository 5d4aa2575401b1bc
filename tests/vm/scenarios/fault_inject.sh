#!/bin/bash
# qbd-vm: timeout=900
# debugfs fault injection (/sys/kernel/debug/qbd/qbdN/): inert by default;
# bad writes refused with nothing changed; each fault drives its path:
# fail_reply -> EIO, drop_req and drop_reply -> request timeout, reconnect
# and resend, delay_reply -> the reply is held and then delivered,
# corrupt_req/corrupt_reply -> digest mismatch and resend; fio --verify
# stays clean with the faults the resends hide; the directory goes with
# the device.
. "$QBD_TOP/tests/vm/lib.sh"

# A lost request times out after io_timeout / 2 = 15 s; patient heartbeats
# keep the TCG load itself from looking like a dead server.
export QBD_IO_TIMEOUT=30 QBD_HB_INTERVAL=2 QBD_HB_TIMEOUT=30
e2e_setup 512
require "debugfs mounted" debugfs_mount
check "create pool1/fi" volume_create "$E2E_CONF" pool1/fi 64M
dev=$(volume_map "$E2E_CONF" pool1/fi -o digest) || bail "map pool1/fi"
ok "mapped pool1/fi with digest -> $dev"
name=${dev#/dev/}
F=$(fault_dir "$name")
require "fault directory $F" test -d "$F/drop_req"

# Inert by default.
inert=1
for d in "$F"/*/; do
	[[ $(cat "$d/times") == 0 && $(cat "$d/injected") == 0 ]] || inert=0
done
check_eq "every fault inert (times 0, injected 0) after map" "$inert" 1
check_eq "six faults" "$(ls "$F" | tr '\n' ' ')" "corrupt_reply corrupt_req delay_reply drop_reply drop_req fail_reply "

# Bad input: -EINVAL, nothing changes.
bad_write() {
	local file=$1 val=$2 before
	before=$(cat "$file")
	if echo "$val" 2>/dev/null > "$file"; then
		not_ok "writing '$val' to ${file#"$F"/} is refused" "the write succeeded"
		return
	fi
	check_eq "writing '$val' to ${file#"$F"/} is refused, value stays $before" "$(cat "$file")" "$before"
}
echo 7 > "$F/fail_reply/probability"
bad_write "$F/fail_reply/probability" 101
bad_write "$F/fail_reply/probability" -1
bad_write "$F/fail_reply/probability" abc
bad_write "$F/fail_reply/probability" ""
bad_write "$F/fail_reply/interval" 1000001
bad_write "$F/fail_reply/times" -2
bad_write "$F/fail_reply/times" 99999999999
bad_write "$F/fail_reply/times" "1 2"
bad_write "$F/delay_reply/delay_ms" 0
bad_write "$F/delay_reply/delay_ms" 60001
bad_write "$F/fail_reply/injected" 5
echo 0 > "$F/fail_reply/probability"
check_eq "still nothing injected" "$(cat "$F"/*/injected | paste -sd+ | bc)" 0

data=$QBD_RESULTS/fi.bin
check "write 1 MiB of known data" bash -c "head -c 1M /dev/urandom > $data && dd if=$data of=$dev bs=64k oflag=direct status=none"

# fail_reply: the next reply becomes an IO error.
e0=$(stat_field "$name" errors)
fault_set "$name" fail_reply interval=1 times=1
check_fails "fail_reply: a READ fails" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none
check_eq "fail_reply injected once" "$(fault_injected "$name" fail_reply)" 1
check_eq "times used up" "$(cat "$F/fail_reply/times")" 0
check_eq "the error counted" "$(stat_field "$name" errors)" $((e0 + 1))

# drop_req / drop_reply: the request times out, the device reconnects and
# resends it; the data read back is right.
for f in drop_req drop_reply; do
	r0=$(stat_field "$name" reconnects)
	fault_set "$name" "$f" interval=1 times=1
	t0=$SECONDS
	check "$f: the READ still succeeds (after a timeout and a resend)" \
		bash -c "cmp <(dd if=$dev bs=64k count=16 iflag=direct status=none) $data"
	diag "$f: the READ took $((SECONDS - t0)) s (io_timeout ${QBD_IO_TIMEOUT}s)"
	check_eq "$f injected once" "$(fault_injected "$name" "$f")" 1
	r1=$(stat_field "$name" reconnects)
	check "$f drove a reconnect (reconnects $r0 -> $r1)" test "$r1" -gt "$r0"
done

# delay_reply: two replies held 1.5 s each, then delivered.
fault_set "$name" delay_reply delay_ms=1500 interval=1 times=2
t0=$SECONDS
check "delay_reply: the READs succeed with the right data" \
	bash -c "cmp <(dd if=$dev bs=64k count=16 iflag=direct status=none) $data"
diag "delay_reply: 16 READs took $((SECONDS - t0)) s with two replies held 1.5 s"
check_eq "delay_reply injected twice" "$(fault_injected "$name" delay_reply)" 2

# A held reply while the connection breaks: recovery delivers it first.
fault_set "$name" delay_reply delay_ms=4000 interval=1 times=1
dd if="$dev" of="$QBD_RESULTS/held.bin" bs=64k count=1 iflag=direct status=none &
ddpid=$!
sleep 1
e2e_server_kill9
check "server restarts" e2e_server_start
check "the READ with a held reply completes across the reconnect" wait "$ddpid"
check "and returns the right data" cmp "$QBD_RESULTS/held.bin" <(head -c 64k "$data")
check_eq "delay_reply injected 3 times in all" "$(fault_injected "$name" delay_reply)" 3

# Everything the resends hide, at once, under fio --verify.
fault_set "$name" corrupt_req interval=9 times=30
fault_set "$name" corrupt_reply interval=9 times=30
fault_set "$name" delay_reply delay_ms=300 interval=25 times=20
fault_set "$name" drop_req interval=500 times=1
fault_set "$name" drop_reply interval=700 times=1
fio_verify "fio --verify clean with corrupt, delay and drop faults" "$dev" \
	--numjobs=1 --iodepth=8 --bsrange=4k-128k --size=30%
for f in corrupt_req corrupt_reply delay_reply drop_req drop_reply; do
	diag "$f injected $(fault_injected "$name" "$f")"
done
total=$(cat "$F"/*/injected | paste -sd+ | bc)
check_eq "/proc/qbdstat faults_injected is the sum of the debugfs counters" "$(stat_field "$name" faults_injected)" "$total"
fault_off "$name"
check "qbd -u pool1/fi" volume_unmap "$E2E_CONF" pool1/fi
check "the debugfs directory went with the device" test ! -e "$F"
