#!/bin/bash
# qbd-vm: timeout=900
# CRC32C data digest over TCP (`qbd -m -o digest`): fio --verify is clean;
# corruption injected both ways (corrupt_req: a WRITE's digest, which the
# server refuses with DIGEST; corrupt_reply: a bit of READ data, which the
# module's check catches) is counted in /proc/qbdstat and hidden by the
# resends; corruption of every attempt reaches the application as EIO;
# digest against a server run with --no-digest, or over rdma://, is refused.
. "$QBD_TOP/tests/vm/lib.sh"

# Under TCG a CRC32C of every byte is slow: patient heartbeats and timeouts
# keep the load itself from looking like a dead server.
export QBD_IO_TIMEOUT=120 QBD_HB_INTERVAL=2 QBD_HB_TIMEOUT=30
FIO_LIGHT=(--numjobs=1 --iodepth=8 --bsrange=4k-128k --size=40%)
e2e_setup 512
require "debugfs mounted" debugfs_mount
check "create pool1/dg" volume_create "$E2E_CONF" pool1/dg 64M
dev=$(volume_map "$E2E_CONF" pool1/dg -o digest) || bail "map pool1/dg -o digest"
ok "mapped pool1/dg with digest -> $dev"
name=${dev#/dev/}
F=/sys/kernel/debug/qbd/$name
check_eq "sysfs digest says on" "$(cat /sys/block/"$name"/qbd/digest)" on
check_eq "qbd -i says digest on" "$("$QBD_BIN" -c "$E2E_CONF" -i pool1/dg | awk '$1 ~ /^digest:?$/ { print $2 }')" on
check_eq "server granted the digest (features 0x27 in its log)" \
	"$(grep -c 'features 0x27' "$QBD_RESULTS"/server-*.log | awk -F: '{ s += $NF } END { print (s > 0) }')" 1

fio_verify "fio randrw --verify=crc32c with digest, no faults" "$dev" "${FIO_LIGHT[@]}"
check_eq "no digest errors without faults" "$(stat_field "$name" digest_errors)" 0

# Corruption both ways on every 10th chance, 40 times each: a request is
# resent up to 3 times, so the faults never reach fio.
require "debugfs fault directory $F" test -d "$F/corrupt_reply"
echo 10 > "$F/corrupt_reply/interval" && echo 40 > "$F/corrupt_reply/times"
echo 10 > "$F/corrupt_req/interval" && echo 40 > "$F/corrupt_req/times"
retries0=$(stat_field "$name" retries)
fio_verify "fio randrw --verify=crc32c while READ data and WRITE digests are corrupted" "$dev" "${FIO_LIGHT[@]}"
rep=$(cat "$F/corrupt_reply/injected")
req=$(cat "$F/corrupt_req/injected")
de=$(stat_field "$name" digest_errors)
retries=$(stat_field "$name" retries)
diag "injected: corrupt_reply $rep, corrupt_req $req; digest_errors $de; retries $retries0 -> $retries"
check "corrupt_reply injected ($rep)" test "$rep" -gt 0
check "corrupt_req injected ($req)" test "$req" -gt 0
check_eq "every injected corruption counted as a digest error" "$de" $((rep + req))
check "the corrupted requests were resent (retries $retries0 -> $retries)" test "$retries" -ge $((retries0 + rep + req))
srv_mismatch=$(grep -c 'data digest mismatch' "$QBD_RESULTS"/server-*.log | awk -F: '{ s += $NF } END { print s + 0 }')
check "the server logged the WRITE digest mismatches ($srv_mismatch)" test "$srv_mismatch" -ge 1
check "the module logged digest mismatches" bash -c "dmesg | grep -q '$name: .*data digest mismatch'"
echo 0 > "$F/corrupt_reply/times"
echo 0 > "$F/corrupt_req/times"

# Every attempt corrupted: the application sees EIO after 1 + 3 attempts.
echo 1 > "$F/corrupt_reply/interval" && echo -1 > "$F/corrupt_reply/times"
de0=$(stat_field "$name" digest_errors)
check_fails "READ with every attempt corrupted fails (EIO)" \
	dd if="$dev" of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none
grep -q 'Input/output error' <<<"$QBD_LAST_OUTPUT" && ok "the READ error is EIO" ||
	not_ok "the READ error is EIO" "$QBD_LAST_OUTPUT"
echo 0 > "$F/corrupt_reply/times"
check_eq "4 digest errors for that READ" "$(stat_field "$name" digest_errors)" $((de0 + 4))
echo 1 > "$F/corrupt_req/interval" && echo -1 > "$F/corrupt_req/times"
de0=$(stat_field "$name" digest_errors)
check_fails "WRITE with every attempt corrupted fails (EIO)" \
	dd if=/dev/urandom of="$dev" bs=4k count=1 seek=100 oflag=direct status=none
echo 0 > "$F/corrupt_req/times"
check_eq "4 digest errors for that WRITE" "$(stat_field "$name" digest_errors)" $((de0 + 4))
check "IO works again once the faults are off" dd if="$dev" of=/dev/null bs=4k count=16 iflag=direct status=none
check "qbd -u pool1/dg" volume_unmap "$E2E_CONF" pool1/dg

# Refusals.
check_fails "digest over rdma:// is refused" "$QBD_BIN" -c "$E2E_CONF" -m rdma://pool1/dg -o digest
grep -q 'TCP only' <<<"$QBD_LAST_OUTPUT" && ok "the rdma refusal says digest is TCP only" ||
	not_ok "the rdma refusal says digest is TCP only" "$QBD_LAST_OUTPUT"
check_fails "digest=maybe is refused" "$QBD_BIN" -c "$E2E_CONF" -m pool1/dg -o digest=maybe
e2e_server_stop
check "server restarts with --no-digest" e2e_server_start --no-digest
check_fails "map with digest against a server without it is refused" \
	"$QBD_BIN" -c "$E2E_CONF" -m pool1/dg -o digest
grep -q 'does not support data digests' <<<"$QBD_LAST_OUTPUT" && ok "the refusal names the missing server support" ||
	not_ok "the refusal names the missing server support" "$QBD_LAST_OUTPUT"
check_eq "nothing left mapped" "$(ls /sys/block | grep -c '^qbd')" 0
dev=$(volume_map "$E2E_CONF" pool1/dg) || bail "map pool1/dg without digest"
check_eq "without digest the map works (digest off)" "$(cat /sys/block/"${dev#/dev/}"/qbd/digest)" off
check "qbd -u pool1/dg" volume_unmap "$E2E_CONF" pool1/dg
