#!/bin/bash
# qbd-vm: timeout=600
# One volume over TCP and one over RDMA at the same time, from one server
# (tcp:// and rdma:// listeners on the same address): fio verify on both at
# once, each device reports its own transport. Then the RDMA volume is
# remapped to TCP and back (`qbd -r tcp://…`, `qbd -r rdma://…`) while fio
# verifies on it, and a device mapped over TCP is refused the move to RDMA
# (its queue lacks RDMA's page boundary) with nothing changed.
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
check "create pool1/t" volume_create "$E2E_CONF" pool1/t 128M
check "create pool1/r" volume_create "$E2E_CONF" pool1/r 128M
tdev=$(VOL_TRANSPORT=tcp volume_map "$E2E_CONF" pool1/t) || bail "map tcp://pool1/t"
ok "tcp://pool1/t -> $tdev"
rdev=$(volume_map "$E2E_CONF" pool1/r) || bail "map rdma://pool1/r"
ok "rdma://pool1/r -> $rdev"
check "qbd -i pool1/t says tcp" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/t | grep -iw tcp"
check "qbd -i pool1/r says rdma" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/r | grep -iw rdma"
check "sysfs transport of ${rdev#/dev/} is rdma" \
	bash -c "grep -rqsw rdma /sys/block/${rdev#/dev/}/qbd/"

fio_verify "fio verify on the TCP volume, RDMA busy beside it" "$tdev" --size=40% &
tpid=$!
fio_verify "fio verify on the RDMA volume, TCP busy beside it" "$rdev" --size=40%
wait $tpid
for d in "$tdev" "$rdev"; do
	e=$(stat_field "${d#/dev/}" errors)
	check_eq "no errors counted for $d" "${e:-missing}" 0
done
rname=${rdev#/dev/}
kmsg "remap rdma -> tcp -> rdma"
# fio rounds until both remaps are done (a fixed amount of IO finishes
# before the second remap on a quiet host); every round must verify.
fstop=$QBD_RESULTS/remap-fio.stop
(
	n=0
	while [[ ! -e $fstop ]]; do
		n=$((n + 1))
		fio_verify "fio verify round $n on pool1/r across remaps rdma -> tcp -> rdma" "$rdev" --size=40% ||
			exit 1
	done
) &
fpid=$!
sleep 5
check "qbd -r tcp://pool1/r (rdma -> tcp) under fio" "$QBD_BIN" -c "$E2E_CONF" -r tcp://pool1/r
check "sysfs transport of $rname is tcp" grep -qx tcp "/sys/block/$rname/qbd/transport"
check "qbd -i pool1/r says tcp" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/r | grep -iw tcp"
sleep 5
check "qbd -r rdma://pool1/r (tcp -> rdma) under fio" "$QBD_BIN" -c "$E2E_CONF" -r rdma://pool1/r
check "sysfs transport of $rname is rdma again" grep -qx rdma "/sys/block/$rname/qbd/transport"
check "fio was still running across both remaps" kill -0 $fpid
touch "$fstop"
check "every fio round across the remaps verified" wait $fpid
check "dmesg has both switches" bash -c "dmesg | grep -q '$rname: transport rdma -> tcp' &&
	dmesg | grep -q '$rname: transport tcp -> rdma'"
e=$(stat_field "$rname" errors)
check_eq "no errors counted for $rdev across the remaps" "${e:-missing}" 0
check_fails "qbd -r rdma://pool1/t (mapped over TCP) is refused" \
	"$QBD_BIN" -c "$E2E_CONF" -r rdma://pool1/t
check "the refusal names the rule in dmesg" bash -c "dmesg | grep -q \"lacks RDMA's page boundary\""
check "sysfs transport of ${tdev#/dev/} is still tcp" grep -qx tcp "/sys/block/${tdev#/dev/}/qbd/transport"

check "qbd -u pool1/t" volume_unmap "$E2E_CONF" pool1/t
check "qbd -u pool1/r" volume_unmap "$E2E_CONF" pool1/r
