#!/bin/bash
# qbd-vm: timeout=900
# qbd -r and qbd --watch: a volume moves to a server on another address
# (the first one killed, the second started on the same data dir) while
# fio --verify runs; IO continues after the remap and verifies. Then the
# module asks for the remap itself (reconnecting past conn_timeout): the
# watcher logs the event and remaps, IO continues and verifies. Then the
# volume's layout version moves on the server (qbdadm relayout) while fio
# --verify runs: the server answers STALE_LAYOUT, the module asks, the
# watcher remaps to the new version, fio verifies clean and qbd -i shows it.
# Bad input for -r is refused and changes nothing.
. "$QBD_TOP/tests/vm/lib.sh"

A_IP=10.77.1.2 B_IP=10.77.2.2
QBD_IO_TIMEOUT=90 QBD_CONN_TIMEOUT=2 e2e_setup
require "network namespace srv2" netns_create srv2 10.77.2.1 $B_IP
check "create pool1/rm" volume_create "$E2E_CONF" pool1/rm 256M
check "create pool1/other" volume_create "$E2E_CONF" pool1/other 64M
dev=$(volume_map "$E2E_CONF" pool1/rm) || bail "map pool1/rm"
dev2=$(volume_map "$E2E_CONF" pool1/other) || bail "map pool1/other"
ok "mapped pool1/rm -> $dev, pool1/other -> $dev2"
Q() { "$QBD_BIN" -c "$E2E_CONF" "$@"; }
# field POOL/VOL KEY: a field of qbd -i --json
field() {
	Q -i "$1" --json | python3 -c "import json,sys; v=json.load(sys.stdin)['$2']; print(','.join(v) if isinstance(v, list) else v)"
}
point_conf_at() { QBD_IO_TIMEOUT=90 QBD_CONN_TIMEOUT=2 qbd_conf_write "$E2E_CONF" "$1:$E2E_PORT"; }
check_eq "pool1/rm served by A" "$(field pool1/rm servers)" "$A_IP:$E2E_PORT"

# ---- part 1: qbd -r by hand ----
fio_verify "fio verify across a manual remap A -> B" "$dev" --size=40% \
	--rw=randwrite --bsrange=4k-128k --loops=2 &
fio_pid=$!
sleep 5
kmsg "killing server A, starting B on $B_IP on the same data dir"
check "kill -9 server A" e2e_server_kill9
check "start server B on $B_IP" server_start srv2 "$E2E_DATA" "tcp://$B_IP:$E2E_PORT"
check "qbd.conf names B" point_conf_at $B_IP
check "qbd -r pool1/rm" Q -r pool1/rm
check "qbd -r says where to" grep -q "remapped to tcp $B_IP:$E2E_PORT" <<<"$QBD_LAST_OUTPUT"
check "fio exited 0" wait $fio_pid
check_eq "pool1/rm served by B" "$(field pool1/rm servers)" "$B_IP:$E2E_PORT"
check_eq "pool1/rm is live" "$(field pool1/rm state)" live
check "kernel log shows the remap" bash -c "dmesg | grep -q '${dev#/dev/}: remapped pool1/rm'"
fio_verify "fio verify on B after the remap" "$dev" --size=20% --rw=randrw --loops=1

# ---- bad input: clear error, nothing changes ----
check_fails "qbd -r of an unmapped volume refused" Q -r pool1/nope
check "... says it is not mapped" grep -q "not mapped" <<<"$QBD_LAST_OUTPUT"
check_fails "qbd -r of a bad URL refused" Q -r 'pool1//rm'
check "... says which rule" grep -q "invalid volume" <<<"$QBD_LAST_OUTPUT"
check_fails "qbd -r of a TCP-mapped device to rdma:// refused" Q -r rdma://pool1/rm
check "... says the module refused and nothing changed" grep -q "module refused.*nothing changed" <<<"$QBD_LAST_OUTPUT"
check "... dmesg names the rule" bash -c "dmesg | grep -q \"lacks RDMA's page boundary\""
# pool1/other on B is now a different volume under the same name
check "delete pool1/other on B" "$QBDADM_BIN" -c "$E2E_CONF" delete pool1/other
check "create a new pool1/other on B" volume_create "$E2E_CONF" pool1/other 64M
before=$(Q -i pool1/other --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["vol_id"], d["servers"], d["size"], d["layout_version"])')
check_fails "qbd -r to another vol_id refused" Q -r pool1/other
check "... says it is a different volume" grep -q "different volume" <<<"$QBD_LAST_OUTPUT"
check_eq "pool1/other unchanged" "$(Q -i pool1/other --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["vol_id"], d["servers"], d["size"], d["layout_version"])')" "$before"
check "qbd -u pool1/other --force" Q -u pool1/other --force

# ---- part 2: the module asks, qbd --watch remaps ----
wlog=$QBD_RESULTS/watch.log
"$QBD_BIN" -c "$E2E_CONF" --watch > "$wlog" 2>&1 &
wpid=$!
at_exit "kill $wpid 2>/dev/null"
check "qbd --watch is listening" wait_until 10 grep -q "waiting for remap events" "$wlog"
fio_verify "fio verify across a watcher remap B -> A" "$dev" --size=40% \
	--rw=randwrite --bsrange=4k-128k --loops=2 &
fio_pid=$!
sleep 5
kmsg "killing server B, starting A again; qbd.conf names A"
check "kill -9 server B" server_kill9 srv2 "tcp://$B_IP:$E2E_PORT"
check "qbd.conf names A" point_conf_at $A_IP
check "start server A again" e2e_server_start
check "the watcher got the module's event" wait_until 60 grep -q "${dev} (pool1/rm) needs a remap: servers unreachable" "$wlog"
check "the watcher remapped to A" wait_until 60 grep -q "${dev} (pool1/rm) remapped to tcp $A_IP:$E2E_PORT" "$wlog"
check "fio exited 0" wait $fio_pid
check_eq "pool1/rm served by A again" "$(field pool1/rm servers)" "$A_IP:$E2E_PORT"
check "kernel log shows the module asking" bash -c "dmesg | grep -q '${dev#/dev/}: asking for a remap of pool1/rm'"

# ---- part 3: the server says "stale layout", qbd --watch remaps ----
adm_field() { "$QBDADM_BIN" -c "$E2E_CONF" info pool1/rm --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
lv0=$(field pool1/rm layout_version)
lv1=$((lv0 + 1))
errs0=$(stat_field "${dev#/dev/}" errors)
check_eq "device and server agree on the layout version" "$(adm_field layout_version)" "$lv0"
fio_verify "fio verify across a relayout (STALE_LAYOUT, watcher remap)" "$dev" --size=40% \
	--rw=randwrite --bsrange=4k-128k --loops=2 &
fio_pid=$!
sleep 5
kmsg "qbdadm relayout pool1/rm: layout $lv0 -> $lv1"
check "qbdadm relayout pool1/rm" "$QBDADM_BIN" -c "$E2E_CONF" relayout pool1/rm
check_eq "the server's layout version moved on" "$(adm_field layout_version)" "$lv1"
check "the watcher got the stale-layout event" wait_until 60 grep -q "${dev} (pool1/rm) needs a remap: a server says the layout is stale" "$wlog"
check "the watcher remapped to layout $lv1" wait_until 60 grep -q "${dev} (pool1/rm) remapped to tcp $A_IP:$E2E_PORT, layout $lv1," "$wlog"
check "fio exited 0 (verified across the relayout)" wait $fio_pid
check_eq "qbd -i shows layout version $lv1" "$(field pool1/rm layout_version)" "$lv1"
check "kernel log: the server said layout $lv0 is stale" bash -c "dmesg | grep -q '${dev#/dev/}: .*says our layout $lv0 is stale'"
check_eq "no IO errors counted across the relayout" "$(stat_field "${dev#/dev/}" errors)" "$errs0"
fio_verify "fio verify on layout $lv1" "$dev" --size=20% --rw=randrw --loops=1
check_fails "qbdadm relayout of a missing volume refused" "$QBDADM_BIN" -c "$E2E_CONF" relayout pool1/nope
check_eq "... and changes nothing" "$(adm_field layout_version)" "$lv1"
check "SIGTERM ends qbd --watch" kill -TERM $wpid
check "qbd --watch exits 0" wait $wpid
check "qbd --watch says it exits" grep -q "exiting" "$wlog"
diag "$(cat "$wlog")"
check "qbd -u pool1/rm" volume_unmap "$E2E_CONF" pool1/rm
