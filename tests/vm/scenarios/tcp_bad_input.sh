#!/bin/bash
# qbd-vm: timeout=600
# Bad input changes nothing: unmap of a mounted device is EBUSY, rmmod while
# mapped is refused, malformed ioctls get EINVAL (never a crash or a kernel
# warning), non-root gets EPERM, bad CLI input gets a clear error, and a
# hostile TCP client does not disturb a good client verifying its data.
# Random ioctls are in fuzz_ioctl.
. "$QBD_TOP/tests/vm/lib.sh"

ABUSE=$QBD_BUILD/userspace/vm-tools/qbdctl_abuse
e2e_setup
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
fio_verify "good client verifies while a hostile client attacks the server" "$dev" \
	--time_based --runtime=30 --numjobs=1 --size=60% &
fio_pid=$!
sleep 3
check "hostile client: every bad request is refused, the server survives" \
	python3 "$QBD_TOP/tests/vm/tools/hostile_client.py" "$E2E_SERVER_IP" "$E2E_PORT" pool1 bad $((128 << 20))
wait $fio_pid
check "server process still running" bash -c "pgrep -f qbd-server"
check "qbd -u pool1/bad" volume_unmap "$E2E_CONF" pool1/bad
check "rmmod now works" qbd_unload
