#!/bin/bash
# qbd-vm: timeout=900
# qbd -s: each of the four limits measured with fio over 10 s within +-10%,
# mixed limits at once (iops and bps on one direction; read and write limits
# together with reads and writes running together, each direction at its own
# limit), a limit change mid-run without errors, map-time limits from -m -t;
# qbd -i / -l / /proc/qbdstat show the values; requests the throttle holds
# fail (no hang) on resume -t error and on a forced unmap.
. "$QBD_TOP/tests/vm/lib.sh"
# The debug kernel (QBD_TIMEOUT_SCALE > 1) runs 4k IO below these limits
# (130 randwrite iops unthrottled against a limit of 100), so the iops limits,
# the mid-run change and the wait before a forced unmap scale with it: a limit
# is only measured where the device can go faster.
S=${QBD_TIMEOUT_SCALE:-1}
li=$((100 / S))	# the single-direction iops limit

e2e_setup
check "create pool1/thr" volume_create "$E2E_CONF" pool1/thr 64M
dev=$(volume_map "$E2E_CONF" pool1/thr -t read_iops=150) || bail "map pool1/thr"
name=${dev#/dev/}
ok "mapped pool1/thr -> $dev with -t read_iops=150"
Q() { "$QBD_BIN" -c "$E2E_CONF" "$@"; }
field() { Q -i pool1/thr --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
check_eq "map-time read_iops in qbd -i" "$(field read_iops)" 150
check_eq "map-time read_iops in /proc/qbdstat" "$(stat_field "$name" read_iops)" 150

# fio_rate RW BS FIELD(iops|bw_bytes) [SECONDS=10]: one job, QD16, direct.
fio_rate() {
	local out
	out=$(fio --name=t --filename="$dev" --direct=1 --ioengine=libaio --rw="$1" --bs="$2" \
		--iodepth=16 --time_based --runtime="${4:-10}" --output-format=json 2>&1) || {
		echo "fio failed: $out" >&2
		return 1
	}
	python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; \
print(int(j['read' if 'read' in sys.argv[1] else 'write']['$3']))" "$1" <<<"$out"
}
# within PCT GOT WANT
within() { diag "measured $2, limit $3"; (($2 * 100 >= $3 * (100 - $1) && $2 * 100 <= $3 * (100 + $1))); }
measure() {	# measure NAME RW BS FIELD WANT
	local r
	r=$(fio_rate "$2" "$3" "$4") || { not_ok "$1" "fio failed"; return 1; }
	check "$1 (+-10%)" within 10 "$r" "$5" && return 0
	# side by side: what the device does unthrottled right now (5 s); the
	# limits are put back for the checks that follow
	local k prev=""
	for k in read_bps write_bps read_iops write_iops burst_ms; do prev+="${prev:+,}$k=$(field $k)"; done
	Q -s pool1/thr -t read_bps=0,write_bps=0,read_iops=0,write_iops=0 >/dev/null 2>&1 &&
		diag "unthrottled $2 $3 right after: $(fio_rate "$2" "$3" "$4" 5) ($4)"
	Q -s pool1/thr -t "$prev" >/dev/null 2>&1 || diag "could not put back $prev"
	return 1
}

check "qbd -s read_iops=$li" Q -s pool1/thr -t read_iops=$li
check_eq "qbd -i read_iops" "$(field read_iops)" $li
measure "randread 4k at $li iops" randread 4k iops $li

check "qbd -s read_iops=0,write_iops=$li" Q -s pool1/thr -t read_iops=0,write_iops=$li
measure "randwrite 4k at $li iops" randwrite 4k iops $li

check "qbd -s write_iops=0,read_bps=1M" Q -s "$dev" -t write_iops=0,read_bps=1M
check_eq "/proc/qbdstat read_bps" "$(stat_field "$name" read_bps)" 1048576
measure "read 64k at 1 MiB/s" read 64k bw_bytes 1048576

check "qbd -s read_bps=0,write_bps=1M" Q -s tcp://pool1/thr -t read_bps=0,write_bps=1M
measure "write 64k at 1 MiB/s" write 64k bw_bytes 1048576

# Mixed: an iops and a bps limit at once on writes; small writes are bound by
# the iops limit, large ones by the bps limit.
check "qbd -s read_bps=0,write_iops=$li,write_bps=1M,burst_ms=200" \
	Q -s pool1/thr -t read_bps=0,write_iops=$li,write_bps=1M,burst_ms=200
check_eq "qbd -i burst_ms" "$(field burst_ms)" 200
check "qbd -l shows the limits" bash -c "$QBD_BIN -c $E2E_CONF -l | grep pool1/thr | grep -w 1048576 | grep -qw $li"
measure "mixed: randwrite 4k bound by write_iops=$li" randwrite 4k iops $li
measure "mixed: write 64k bound by write_bps=1M" write 64k bw_bytes 1048576

# Read and write limits at once, reads and writes running at once: a request
# its bucket makes wait is held off the hardware queue, so a held write never
# holds the reads behind it (nor the reverse) and each direction gets its own
# limit. fio_two RBS WBS FIELD: a reader and a writer job at once, QD16 each,
# over 10 s; prints "R W".
fio_two() {
	local out
	out=$(fio --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --time_based \
		--runtime=10 --output-format=json --name=r --rw=randread --bs="$1" \
		--name=w --rw=randwrite --bs="$2" 2>&1) || {
		echo "fio failed: $out" >&2
		return 1
	}
	python3 -c "import json,sys; j=json.load(sys.stdin)['jobs']; \
print(int(j[0]['read']['$3']), int(j[1]['write']['$3']))" <<<"$out"
}
ri=$((100 / S)) wi=$((50 / S))
check "qbd -s read_iops=$ri,write_iops=$wi,read_bps=0,write_bps=0,burst_ms=0" \
	Q -s pool1/thr -t read_iops=$ri,write_iops=$wi,read_bps=0,write_bps=0,burst_ms=0
if rw=$(fio_two 4k 4k iops); then
	check "mixed: randread 4k at read_iops=$ri while writing (+-10%)" within 10 "${rw% *}" $ri
	check "mixed: randwrite 4k at write_iops=$wi while reading (+-10%)" within 10 "${rw#* }" $wi
else
	not_ok "mixed read/write iops" "fio failed"
fi
rb=$((2048 / S)) wb=$((1024 / S))
check "qbd -s read_iops=0,write_iops=0,read_bps=${rb}K,write_bps=${wb}K" \
	Q -s pool1/thr -t read_iops=0,write_iops=0,read_bps=${rb}K,write_bps=${wb}K
if rw=$(fio_two 64k 64k bw_bytes); then
	check "mixed: read 64k at read_bps=${rb}K while writing (+-10%)" within 10 "${rw% *}" $((rb * 1024))
	check "mixed: write 64k at write_bps=${wb}K while reading (+-10%)" within 10 "${rw#* }" $((wb * 1024))
else
	not_ok "mixed read/write bps" "fio failed"
fi
# Only writes limited, reads unlimited at once: the reads are not slowed to
# the writes' pace (before, a held write held the reads behind it).
wi=$((20 / S))
check "qbd -s read_bps=0,write_bps=0,write_iops=$wi" Q -s pool1/thr -t read_bps=0,write_bps=0,write_iops=$wi
if rw=$(fio_two 4k 4k iops); then
	check "mixed: randwrite 4k at write_iops=$wi while reading (+-10%)" within 10 "${rw#* }" $wi
	check "mixed: unlimited reads beside it not held to the writes' pace (> $((5 * wi)) iops)" \
		test "${rw% *}" -gt $((5 * wi))
else
	not_ok "mixed write limit, unlimited reads" "fio failed"
fi
check "qbd -s write_iops=0" Q -s pool1/thr -t write_iops=0

# A change mid-run: 6 s at 100 iops, then 6 s at 200 iops; fio sees no
# error and the average lands in between.
ci=$((100 / S))
check "qbd -s read_iops=$ci,write_bps=0" Q -s pool1/thr -t read_iops=$ci,write_bps=0
errs0=$(stat_field "$name" errors)
fio --name=c --filename="$dev" --direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth=16 \
	--time_based --runtime=12 --output-format=json > /tmp/fio-change.json 2>&1 & fpid=$!
sleep 6
check "qbd -s read_iops=$((2 * ci)) during the run" Q -s pool1/thr -t read_iops=$((2 * ci))
check "fio across the change exits 0" wait $fpid
avg=$(python3 -c "import json; print(int(json.load(open('/tmp/fio-change.json'))['jobs'][0]['read']['iops']))")
check "average across the change near $((3 * ci / 2)) iops (+-15%)" within 15 "${avg:-0}" $((3 * ci / 2))
check_eq "no IO errors counted" "$(stat_field "$name" errors)" "$errs0"

check "qbd -s all off" Q -s pool1/thr -t read_bps=0,write_bps=0,read_iops=0,write_iops=0,burst_ms=0
check_fails "qbd -s unknown key refused" Q -s pool1/thr -t iops=5
check_fails "qbd -s burst_ms over the limit refused" Q -s pool1/thr -t burst_ms=60001

# Requests the throttle holds (off the hardware queue, unstarted) meet a
# resume in error mode and a forced unmap: they fail, nothing hangs.
held_fio() {	# held_fio OUT: QD16 reads at read_iops=2, in the background
	fio --name=h --filename="$dev" --direct=1 --ioengine=libaio --rw=randread --bs=4k \
		--iodepth=16 --time_based --runtime=60 > "$1" 2>&1 &
}
check "qbd -s read_iops=2" Q -s pool1/thr -t read_iops=2
errs0=$(stat_field "$name" errors)
held_fio /tmp/fio-held1.out; hp=$!
sleep $((3 * S))
check "qbd -S with reads held by the throttle" Q -S pool1/thr
check "qbd -R -t error" Q -R pool1/thr -t error
check "the held reads fail: fio ends within 20 s" wait_until 20 bash -c "! kill -0 $hp 2>/dev/null"
check "... with EIO" grep -q "Input/output error" /tmp/fio-held1.out
check "errors counted" test "$(stat_field "$name" errors)" -gt "$errs0"
check "qbd -R -t normal" Q -R pool1/thr -t normal
held_fio /tmp/fio-held2.out; hp=$!
sleep $((3 * S))
check "qbd -u --force with reads held by the throttle" Q -u pool1/thr --force
check "the held reads fail: fio ends within 20 s" wait_until 20 bash -c "! kill -0 $hp 2>/dev/null"
check "... with an error" grep -qE "Input/output error|No such device" /tmp/fio-held2.out ||
	cp /tmp/fio-held2.out "$QBD_RESULTS/"
check "the device is gone" wait_gone "$dev" 10
