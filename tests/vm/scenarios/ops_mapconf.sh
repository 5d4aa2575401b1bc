#!/bin/bash
# qbd-vm: timeout=600
# qbd -M / -U with a map file of good and bad lines: the good volumes are
# mapped (with their map-time limits), bad lines are reported with their
# numbers, the exit status says so; -M again is idempotent; -M retries while
# the server comes up; -U unmaps what the file lists.
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
for v in pool1/a pool1/b pool2/c; do
	check "create $v" volume_create "$E2E_CONF" "$v" 16M
done
Q() { "$QBD_BIN" -c "$E2E_CONF" "$@"; }
mapped_count() { Q -l --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
info_field() { Q -i "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

MAP=/tmp/qbd/map.conf
cat > "$MAP" <<CONF
# volumes mapped at boot
tcp://pool1/a $E2E_CONF
pool1/b $E2E_CONF 1M 2M 100 0
pool1//bad
pool2/c $E2E_CONF 1M 1M 0 0 extra
pool2/nope $E2E_CONF   # not on the server
pool2/c -
CONF

qbd_run_captured Q -M -f "$MAP" --retry-timeout 5
rc=$?
out=$QBD_LAST_OUTPUT
diag "qbd -M: exit $rc"
diag "$out"
check_eq "qbd -M with bad lines exits 1" "$rc" 1
check "line 4 reported" grep -q "map.conf:4: invalid volume 'pool1//bad'" <<<"$out"
check "line 5 reported" grep -q "map.conf:5: 7 fields" <<<"$out"
check "line 6 reported (volume not on the server)" grep -q "map.conf:6: pool2/nope: .*not found" <<<"$out"
check_eq "three good volumes mapped" "$(mapped_count)" 3
for v in pool1/a pool1/b pool2/c; do
	dev=$(grep -oE "^$v /dev/qbd[0-9]+" <<<"$out" | awk '{print $2}')
	check "$v mapped (${dev:-none}) and its node exists" test -b "${dev:-/nonexistent}"
done
check_eq "pool1/b read_bps from map.conf" "$(info_field pool1/b read_bps)" 1048576
check_eq "pool1/b write_bps from map.conf" "$(info_field pool1/b write_bps)" 2097152
check_eq "pool1/b read_iops from map.conf" "$(info_field pool1/b read_iops)" 100
check_eq "pool1/a unthrottled" "$(info_field pool1/a read_iops)" 0

qbd_run_captured Q -M -f "$MAP" --retry-timeout 0
rc=$?
check_eq "qbd -M again: still exit 1 (the bad lines)" "$rc" 1
check "qbd -M again: already mapped is not an error" grep -q "pool1/a /dev/qbd[0-9]* (already mapped)" <<<"$QBD_LAST_OUTPUT"
check_eq "qbd -M again: nothing mapped twice" "$(mapped_count)" 3

GOOD=/tmp/qbd/good.conf
printf 'pool1/a %s\npool2/c\n' "$E2E_CONF" > "$GOOD"
check "qbd -M of a file of good lines, all mapped already: exit 0" Q -M -f "$GOOD"

qbd_run_captured Q -U -f "$MAP"
rc=$?
check_eq "qbd -U with bad lines exits 1" "$rc" 1
check_eq "qbd -U unmapped every listed volume" "$(mapped_count)" 0
check "qbd -U again: nothing to unmap is fine" Q -U -f "$GOOD"

# Servers coming up late: -M retries with backoff.
check "server stopped" e2e_server_stop
(sleep 4; e2e_server_start) &
starter=$!
t0=$SECONDS
check "qbd -M retries until the server is up" Q -V -M -f "$GOOD" --retry-timeout 60
diag "qbd -M took $((SECONDS - t0)) s; $(grep -c retrying <<<"$QBD_LAST_OUTPUT") retry message(s)"
check "qbd -M said it was retrying" grep -q "retrying in" <<<"$QBD_LAST_OUTPUT"
wait $starter
check_eq "both volumes of the good file mapped" "$(mapped_count)" 2
check "qbd -U -f good" Q -U -f "$GOOD"

# Bounded: a server that never comes back makes -M give up.
pid=$(cat "$QBD_RESULTS"/server-*.pid | tail -n1)
kill -TERM "$pid" 2>/dev/null
wait_until 10 server_gone "$pid"
t0=$SECONDS
check_fails "qbd -M gives up when the server stays away" Q -M -f "$GOOD" --retry-timeout 3
check "the message says it gave up" grep -q "gave up after" <<<"$QBD_LAST_OUTPUT"
check "gave up within the bound" test $((SECONDS - t0)) -le 30
check_eq "nothing mapped" "$(mapped_count)" 0
