#!/bin/bash
# qbd-vm: timeout=600
# qbd -S / -R through the CLI, as an application sees it: a writer is held
# while suspended and completes after `-R -t normal` with its data intact;
# `-R -t error` fails held and new IO with EIO; `-R -t discard` lets writes
# succeed without reaching the server and reads return zeros; a suspended
# device with IO held unmaps with --force.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/sus" volume_create "$E2E_CONF" pool1/sus 32M
dev=$(volume_map "$E2E_CONF" pool1/sus) || bail "map pool1/sus"
ok "mapped pool1/sus -> $dev"
Q() { "$QBD_BIN" -c "$E2E_CONF" "$@"; }
field() { Q -i pool1/sus --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

dd if=/dev/urandom of=/tmp/pat bs=1M count=4 status=none
dd if=/dev/urandom of=/tmp/pat2 bs=1M count=4 status=none
check "write a first pattern" dd if=/tmp/pat of="$dev" bs=1M oflag=direct status=none

# ---- suspend, resume normal ----
check "qbd -S pool1/sus" Q -S pool1/sus
check_eq "qbd -i: state suspended" "$(field state)" suspended
check "qbd -l shows suspended" bash -c "$QBD_BIN -c $E2E_CONF -l | grep pool1/sus | grep -qw suspended"
check "qbd -S again changes nothing and is not an error" Q -S pool1/sus
check_eq "qbd -i: still suspended" "$(field state)" suspended
dd if=/tmp/pat2 of="$dev" bs=1M oflag=direct status=none & ddpid=$!
sleep 3
check "writer still blocked after 3 s" kill -0 $ddpid
check "qbd -R pool1/sus -t normal" Q -R pool1/sus -t normal
check "held writer completes" timeout 60 bash -c "while kill -0 $ddpid 2>/dev/null; do sleep 0.2; done"
check "held writer exit status 0" wait $ddpid
check_eq "qbd -i: state live" "$(field state)" live
check_eq "qbd -i: resume_mode normal" "$(field resume_mode)" normal
check "data written while suspended verifies" sh -c "dd if=$dev bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat2"

# ---- resume error ----
check "qbd -S $dev" Q -S "$dev"
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/tmp/dd-err.txt & ddpid=$!
sleep 2
check "reader held" kill -0 $ddpid
check "qbd -R -t error" Q -R "$dev" -t error
check_fails "held reader fails" wait $ddpid
check "held reader saw EIO" grep -q "Input/output error" /tmp/dd-err.txt
check_fails "new writer fails" dd if=/tmp/pat of="$dev" bs=4k count=1 oflag=direct status=none
check "new writer saw EIO" bash -c "dd if=/tmp/pat of=$dev bs=4k count=1 oflag=direct status=none 2>&1 | grep -q 'Input/output error'"
check_eq "qbd -i: resume_mode error" "$(field resume_mode)" error

# ---- resume discard ----
check "qbd -S" Q -S pool1/sus
check "qbd -R -t discard" Q -R pool1/sus -t discard
check_eq "qbd -i: resume_mode discard" "$(field resume_mode)" discard
check "write succeeds in discard mode" dd if=/tmp/pat of="$dev" bs=1M count=4 oflag=direct status=none
check "read succeeds in discard mode" dd if="$dev" of=/tmp/disc bs=1M count=4 iflag=direct status=none
check "discard mode reads zeros" cmp -n $((4 << 20)) /tmp/disc /dev/zero
check "qbd -S" Q -S pool1/sus
check "qbd -R (default mode normal)" Q -R pool1/sus
check_eq "qbd -i: resume_mode normal" "$(field resume_mode)" normal
check "discarded write never reached the server" sh -c "dd if=$dev bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat2"
check_fails "qbd -R -t bogus refused" Q -R pool1/sus -t bogus

# ---- forced unmap of a suspended device with IO held ----
check "qbd -S" Q -S pool1/sus
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null & ddpid=$!
sleep 1
check_fails "qbd -u without --force refused while IO is held" Q -u pool1/sus
check "qbd -u --force a suspended device" timeout 60 "$QBD_BIN" -c "$E2E_CONF" -u pool1/sus --force
check_fails "held reader fails after the forced unmap" wait $ddpid
check "device gone" wait_gone "$dev"
check_fails "qbd -S of an unmapped volume fails" Q -S pool1/sus
