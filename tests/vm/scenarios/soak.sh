#!/bin/bash
# qbd-vm: timeout=900
# Bounded soak (about 3 minutes of load; SOAK_SECONDS overrides): ext4 on a
# qbd device mapped with the data digest carries fio --verify (randwrite
# with a verify backlog) and a file churner (fsstress is not in Debian: a
# loop that writes, copies, checks and deletes files of random sizes) while
# a schedule kills -9 and restarts the server, takes the veth link down and
# up, and injects faults (corrupt both ways, delayed and dropped replies).
# Prints faults injected, IOs completed and verification failures, which
# must be 0; the filesystem fscks clean afterwards.
. "$QBD_TOP/tests/vm/lib.sh"

DUR=${SOAK_SECONDS:-180}
# Outages are short; no IO may fail because of them. Patient heartbeats keep
# the TCG load itself from looking like a dead server.
export QBD_IO_TIMEOUT=120 QBD_HB_INTERVAL=2 QBD_HB_TIMEOUT=20
e2e_setup 768
require "debugfs mounted" debugfs_mount
check "create pool1/soak" volume_create "$E2E_CONF" pool1/soak 256M
dev=$(volume_map "$E2E_CONF" pool1/soak -o digest) || bail "map pool1/soak"
ok "mapped pool1/soak with digest -> $dev"
name=${dev#/dev/}
mnt=/mnt/soak
mkdir -p "$mnt"
check "mkfs.ext4 $dev" mkfs.ext4 -q -F "$dev" || bail "mkfs"
check "mount $dev" mount "$dev" "$mnt" || bail "mount"
at_exit "umount -l $mnt"

# fio: verify every write while the run goes on (verify_backlog).
fio --name=soak --filename="$mnt/fio.dat" --size=48M --rw=randwrite --bsrange=4k-128k \
	--ioengine=libaio --direct=1 --iodepth=8 --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --time_based --runtime="$DUR" --output="$QBD_RESULTS/soak-fio.log" &
fio_pid=$!

# The churner: FAILS counts files whose copy or re-read differs.
churn() {
	local i=0 fails=0 f size
	mkdir -p "$mnt/churn"
	while [[ ! -e $QBD_RESULTS/soak.stop ]]; do
		f=$mnt/churn/f$((i % 16))
		size=$(((RANDOM % 512 + 1) * 1024))
		head -c "$size" /dev/urandom > "$f.src" &&
			cp "$f.src" "$f.cp" && sync "$f.cp" &&
			echo 3 > /proc/sys/vm/drop_caches
		cmp -s "$f.src" "$f.cp" || fails=$((fails + 1))
		rm -f "$f.cp"
		((i % 4 == 0)) && rm -f "$mnt"/churn/f*.src
		i=$((i + 1))
	done
	echo "$i $fails" > "$QBD_RESULTS/soak-churn.result"
}
rm -f "$QBD_RESULTS/soak.stop" "$QBD_RESULTS/soak-churn.result"
churn &
churn_pid=$!

# The fault schedule, one event every 15 s.
kills=0 cuts=0 bursts=0 round=0
end=$((SECONDS + DUR - 15))
while ((SECONDS < end)); do
	sleep 15
	case $((round % 3)) in
	0)
		kmsg "soak: kill -9 the server"
		e2e_server_kill9
		sleep 2
		e2e_server_start || not_ok "server restart in round $round" "$(tail -5 "$QBD_RESULTS"/server-*.log)"
		kills=$((kills + 1))
		;;
	1)
		kmsg "soak: veth down"
		ip link set "q-$E2E_NS" down
		sleep 4
		ip link set "q-$E2E_NS" up
		cuts=$((cuts + 1))
		;;
	2)
		kmsg "soak: fault burst"
		fault_set "$name" corrupt_req interval=7 times=15
		fault_set "$name" corrupt_reply interval=7 times=15
		fault_set "$name" delay_reply delay_ms=500 interval=11 times=10
		fault_set "$name" drop_reply interval=400 times=1
		bursts=$((bursts + 1))
		;;
	esac
	round=$((round + 1))
done
wait "$fio_pid"
fio_rc=$?
touch "$QBD_RESULTS/soak.stop"
wait "$churn_pid"
fault_off "$name"
read -r churned churn_fails < "$QBD_RESULTS/soak-churn.result" || churned=0 churn_fails=missing
fio_bad=$(grep -ciE 'verify: bad|verify failed|err= *[1-9]' "$QBD_RESULTS/soak-fio.log")
injected=$(cat "$(fault_dir "$name")"/*/injected | paste -sd+ | bc)
ios=$(($(stat_field "$name" read_ios) + $(stat_field "$name" write_ios)))
diag "soak: ${DUR}s; server kills $kills, link cuts $cuts, fault bursts $bursts ($injected faults injected)"
diag "soak: IOs completed $ios, reconnects $(stat_field "$name" reconnects), retries $(stat_field "$name" retries), digest errors $(stat_field "$name" digest_errors), errors $(stat_field "$name" errors)"
diag "soak: churner ran $churned rounds"
verify_failures=$((fio_bad + ${churn_fails:-1} + (fio_rc != 0)))
diag "soak: verification failures $verify_failures"
check_eq "fio --verify finished clean (exit status)" "$fio_rc" 0
check_eq "fio reported no verify failure" "$fio_bad" 0
check_eq "the churner found no differing file" "$churn_fails" 0
check "the churner ran ($churned rounds)" test "$churned" -gt 0
check "the schedule killed the server, cut the link and injected faults" \
	test "$kills" -gt 0 -a "$cuts" -gt 0 -a "$injected" -gt 0
check_eq "no IO failed" "$(stat_field "$name" errors)" 0
check_eq "verification failures" "$verify_failures" 0
check "umount" umount "$mnt"
check "e2fsck -fn clean" e2fsck -fn "$dev"
check "qbd -u pool1/soak" volume_unmap "$E2E_CONF" pool1/soak
