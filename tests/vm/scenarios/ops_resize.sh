#!/bin/bash
# qbd-vm: timeout=900
# qbd -z online: ext4 mounted with fio writing, the volume grows on the
# server and the device (a change the kernel sees), resize2fs online, the
# new space is usable, old data verifies; a smaller size is refused and
# nothing changes. A volume grown by another admin (qbdadm resize) is picked
# up by the device from the heartbeat replies (size-change notice).
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/rs" volume_create "$E2E_CONF" pool1/rs 128M
dev=$(volume_map "$E2E_CONF" pool1/rs) || bail "map pool1/rs"
name=${dev#/dev/}
ok "mapped pool1/rs -> $dev"
Q() { "$QBD_BIN" -c "$E2E_CONF" "$@"; }
server_size() { "$QBDADM_BIN" -c "$E2E_CONF" info pool1/rs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'; }

mnt=/mnt/rs
mkdir -p $mnt
check "mkfs.ext4" mkfs.ext4 -q -F "$dev"
check "mount" mount "$dev" $mnt
at_exit "umount -l $mnt"
check "write a file tree" fs_populate $mnt 20
fio --name=bg --directory=$mnt --filename=bg.dat --size=16M --rw=randwrite --bs=16k \
	--ioengine=libaio --iodepth=8 --direct=1 --time_based --runtime=20 --verify=crc32c \
	--do_verify=1 --output=/tmp/fio-bg.txt & fpid=$!
sleep 4

check "qbd -z pool1/rs -k 384M while fio writes" Q -z pool1/rs -k 384M
check_eq "device size" "$(blockdev --getsize64 "$dev")" $((384 << 20))
check_eq "server size" "$(server_size)" $((384 << 20))
check_eq "qbd -i size" "$(Q -i pool1/rs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')" $((384 << 20))
check "resize2fs online" resize2fs "$dev"
blocks=$(df -B1M --output=size $mnt | tail -n1 | tr -d ' ')
diag "filesystem size now ${blocks} MiB"
check "filesystem grew past 300 MiB" test "${blocks:-0}" -gt 300
check "fio across the resize exits 0 (verified)" wait $fpid
check "fio reported no error" bash -c "! grep -qiE 'verify: bad|err= *[1-9]' /tmp/fio-bg.txt"
check "new space usable: 200 MiB file" dd if=/dev/urandom of=$mnt/big bs=1M count=200 conv=fsync status=none
sha=$(sha256sum < $mnt/big)
check "old data verifies" fs_verify $mnt

# Smaller: refused, nothing changed.
check_fails "qbd -z to a smaller size refused" Q -z pool1/rs -k 256M
check "the refusal says why" grep -q "smaller than the current" <<<"$QBD_LAST_OUTPUT"
check_fails "qbd -z to an unaligned size refused" Q -z pool1/rs -k 402653185
check_eq "device size unchanged" "$(blockdev --getsize64 "$dev")" $((384 << 20))
check_eq "server size unchanged" "$(server_size)" $((384 << 20))

# Size-change notice: another admin grows the volume on the server; the
# device learns the size from the heartbeat replies, no qbd command runs.
check "qbdadm resize pool1/rs to 512M (another admin)" "$QBDADM_BIN" -c "$E2E_CONF" resize pool1/rs --size 512M
check "the device grows to 512M within 15 s without remap" \
	wait_until 15 bash -c "[[ \$(blockdev --getsize64 $dev) == $((512 << 20)) ]]"
check_eq "qbd -i size after the notice" "$(Q -i pool1/rs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')" $((512 << 20))
check "kernel log names the notice" bash -c "dmesg | grep -q '$name: the volume grew on the server'"
check "resize2fs online after the notice" resize2fs "$dev"
check "old data verifies after the notice" fs_verify $mnt

check "umount" umount $mnt
check "e2fsck -fn" e2fsck -fn "$dev"
check "mount again" mount "$dev" $mnt
check "old data verifies after remount" fs_verify $mnt
check_eq "new file verifies after remount" "$(sha256sum < $mnt/big)" "$sha"
check "umount" umount $mnt
check "qbd -u" Q -u pool1/rs
