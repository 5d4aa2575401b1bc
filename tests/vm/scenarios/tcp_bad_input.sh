#!/bin/bash
# qbd-vm: timeout=600
# Bad input changes nothing: unmap of a mounted device is EBUSY, rmmod while
# mapped is refused, malformed ioctls get EINVAL (never a crash or a kernel
# warning), non-root gets EPERM, bad CLI input gets a clear error, and a
# hostile TCP client (tests/vm/tools/hostile_client.py: stalled half headers,
# slowloris hellos, idle admin connections, lengths near 2^32, garbage after
# a hello, a flood past the server's 64-connection limit) does not disturb a
# good client verifying its data; the server stays up, logs each case with
# its rule, and its RSS does not grow from one hostile run to the next.
# Random ioctls are in fuzz_ioctl.
. "$QBD_TOP/tests/vm/lib.sh"

ABUSE=$QBD_BUILD/userspace/vm-tools/qbdctl_abuse
MAX_CONNS=64
# e2e_setup, with a connection limit the hostile client can go past.
require_bins "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN"
require "network namespace $E2E_NS" netns_create "$E2E_NS" "$E2E_HOST_IP" "$E2E_SERVER_IP"
require "server data dir on ext4 (brd)" e2e_datadir 1024
require "qbd-server starts in $E2E_NS (--max-connections $MAX_CONNS)" e2e_server_start --max-connections $MAX_CONNS
require "qbd.conf written" qbd_conf_write "$E2E_CONF" "$E2E_SERVER_IP:$E2E_PORT"
require_bins "$ABUSE"
check "ioctl table: malformed structs -> EINVAL/EFAULT/ENOENT/ENOTTY" "$ABUSE" checks
check "/dev/qbdctl made readable by all for the next check" chmod 0666 /dev/qbdctl
check "non-root: every ioctl is EPERM" "$ABUSE" eperm
check "/dev/qbdctl back to 0600" chmod 0600 /dev/qbdctl
check "non-root qbd -l fails with a clear error" bash -c \
	"out=\$(setpriv --reuid=65534 --regid=65534 --clear-groups $QBD_BIN -c $E2E_CONF -l 2>&1); [[ \$? != 0 ]] && grep -qiE 'permission|root|CAP_SYS_ADMIN' <<<\"\$out\""

check "create pool1/bad" volume_create "$E2E_CONF" pool1/bad 128M
# CLI: each of these fails with one line naming the command and input, maps nothing.
for args in "-m tcp://pool1//bad" "-m pool1" "-m rdmax://pool1/bad" "-m pool1/nope" "-u pool1/notmapped" \
	"-i /dev/qbd99" "-m pool1/bad -u pool1/bad" "--bogus"; do
	# shellcheck disable=SC2086
	check "qbd $args fails with a one-line error" bash -c \
		"out=\$($QBD_BIN -c $E2E_CONF $args 2>&1 >/dev/null); rc=\$?; echo \"\$out\"; [[ \$rc != 0 && \$out == qbd:* ]]"
done
check_eq "nothing got mapped by the bad commands" "$(ls /dev/qbd[0-9]* 2>/dev/null)" ""
check "bad qbd.conf line is reported with its line number" bash -c \
	"printf '[client]\nio_depth = lots\n' > /tmp/bad.conf; out=\$($QBD_BIN -c /tmp/bad.conf -l 2>&1); [[ \$? != 0 ]] && grep -q ':2' <<<\"\$out\""

dev=$(volume_map "$E2E_CONF" pool1/bad) || bail "map pool1/bad"
ok "mapped pool1/bad -> $dev"
check_fails "mapping it twice is refused" "$QBD_BIN" -c "$E2E_CONF" -m tcp://pool1/bad
check "rmmod while mapped is refused" bash -c "! rmmod qbd 2>/dev/null && grep -q '^qbd ' /proc/modules"
mkdir -p /mnt/bad
check "mkfs + mount" bash -c "mkfs.ext4 -q -F $dev && mount $dev /mnt/bad"
out=$("$QBD_BIN" -c "$E2E_CONF" -u pool1/bad 2>&1)
rc=$?
check "unmap of a mounted device fails" test $rc -ne 0
check "...saying it is busy" grep -qiE 'busy|in use' <<<"$out"
check "...and the filesystem still works" bash -c "echo hello > /mnt/bad/x && sync && grep -q hello /mnt/bad/x"
check "umount" umount /mnt/bad

name=${dev#/dev/}
srv_pid=$(pgrep -x qbd-server | head -n1)
srv_log=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$srv_pid/status"; }
fio_verify "good client verifies while a hostile client attacks the server (twice)" "$dev" \
	--time_based --runtime=170 --numjobs=1 --size=60% &
fio_pid=$!
sleep 3
rss0=$(rss)
check "hostile client, run 1: every bad request is refused, the server survives" \
	python3 "$QBD_TOP/tests/vm/tools/hostile_client.py" "$E2E_SERVER_IP" "$E2E_PORT" pool1 bad $((128 << 20)) $MAX_CONNS
rss1=$(rss)
check "hostile client, run 2" \
	python3 "$QBD_TOP/tests/vm/tools/hostile_client.py" "$E2E_SERVER_IP" "$E2E_PORT" pool1 bad $((128 << 20)) $MAX_CONNS
rss2=$(rss)
wait $fio_pid
diag "server RSS: $rss0 kB before, $rss1 kB after run 1, $rss2 kB after run 2"
check "server RSS grew by less than 16 MiB in the second hostile run ($rss1 -> $rss2 kB)" \
	test $((rss2 - rss1)) -lt 16384
check "server process still running" kill -0 "$srv_pid"
# Each case is in the server's log with the rule it broke.
for rule in "bad magic" "protocol version 99 is not supported" "message type 77 is unknown" \
	"pool is not NUL-terminated" "hello refused (NO_VOLUME)" "opcode 200 is unknown" "has unknown bits" \
	"over the limit" "not multiples of 512" "past the volume end" "no complete hello message within" \
	"the limit is $MAX_CONNS"; do
	check "server log names the rule: $rule" grep -qF -- "$rule" "$srv_log"
done
check "qbd -u pool1/bad" volume_unmap "$E2E_CONF" pool1/bad
check "rmmod now works" qbd_unload
