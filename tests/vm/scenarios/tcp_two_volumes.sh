#!/bin/bash
# qbd-vm: timeout=600
# Two volumes mapped at once with IO on both; one is unmapped while fio keeps
# verifying the other.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/a" volume_create "$E2E_CONF" pool1/a 128M
check "create pool2/b" volume_create "$E2E_CONF" pool2/b 128M
a=$(volume_map "$E2E_CONF" pool1/a) || bail "map pool1/a"
b=$(volume_map "$E2E_CONF" pool2/b) || bail "map pool2/b"
check_eq "two different devices" "$([[ $a != "$b" ]] && echo yes)" yes
check "qbd -l lists both" bash -c "$QBD_BIN -c $E2E_CONF -l | grep -q pool1/a && $QBD_BIN -c $E2E_CONF -l | grep -q pool2/b"

fio_verify "first pass on $a" "$a" --size=40% --numjobs=1 &
pa=$!
fio_verify "fio on $b while $a is unmapped" "$b" --time_based --runtime=25 --numjobs=1 &
pb=$!
wait $pa
check "unmap $a while $b runs" volume_unmap "$E2E_CONF" pool1/a
check "$a is gone" wait_gone "$a" 10
wait $pb
check "$b still mapped" test -b "$b"
check "qbd -l lists only pool2/b" bash -c "$QBD_BIN -c $E2E_CONF -l | grep -q pool2/b && ! $QBD_BIN -c $E2E_CONF -l | grep -q pool1/a"
check "unmap $b" volume_unmap "$E2E_CONF" pool2/b
