#!/bin/bash
# qbd-vm: timeout=600
# The RDMA link goes down under IO (`ip link set v0 down` for 6 s, then up):
# the device reconnects and fio's verify passes. Then the client's RDMA
# device itself goes away under IO (`rdma link delete rxe0`, re-added 4 s
# later): nothing hangs, the device reconnects on the new rxe0, fio's verify
# passes, and unmap leaves no QP, CQ, MR or PD of ours behind.
# Three more short flaps follow the first, under the same fio.
# The kernel runs with full preemption here (set through debugfs; Debian's
# 6.1 boots voluntary): while v0 is down, each packet the server sends out
# of v1 comes back NET_XMIT_DROP from the veth, and rxe 6.1 answers that by
# rescheduling its requester, which for a user QP runs inside the server's
# ibv_post_send() and loops there until the drops stop. They stop when
# linkwatch gives v1 its no-carrier qdisc, a kworker that never gets a CPU
# while every CPU runs a per-CPU server worker in that loop: soft lockups of
# 20 s and more (docs/testing.md). With full preemption the kworker runs.
# The soft-lockup threshold is lowered to 10 s so a loop like that fails
# the scenario through the kernel-log check.
# The first half depends on the module sending no DREQ while the port is
# down: rxe 6.1 breaks its QP1 for good on a failed MAD send, and no
# connect from rxe0 works after that (docs/testing.md has the trace).
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

# flap_v0 SEC: the client's end of the wire down for SEC seconds, then up.
flap_v0() { ip link set v0 down && sleep "$1" && ip link set v0 up && rdma_wire_routes; }

# preempt_full: full preemption, through PREEMPT_DYNAMIC's debugfs switch
# (restored at exit), or already built in.
preempt_full() {
	local f=/sys/kernel/debug/sched/preempt old
	if [[ -w $f ]]; then
		old=$(sed -n 's/.*(\([a-z]*\)).*/\1/p' "$f")
		echo full > "$f" || return 1
		at_exit "echo $old > $f"
		grep -q '(full)' "$f"
	else
		uname -v | grep -qw PREEMPT
	fi
}

check "full preemption (a kworker gets a CPU while rxe loops)" preempt_full
check "soft-lockup threshold 10 s" sysctl -qw kernel.watchdog_thresh=5
QBD_IO_TIMEOUT=60 e2e_setup
check "create pool1/l" volume_create "$E2E_CONF" pool1/l 128M
dev=$(volume_map "$E2E_CONF" pool1/l) || bail "map pool1/l"
ok "mapped rdma://pool1/l -> $dev (io_timeout 60 s)"
name=${dev#/dev/}

fio_verify "fio verify across a link down/up" "$dev" --size=40% --rw=randwrite \
	--bsrange=4k-256k --loops=6 &
fpid=$!
sleep 8
kmsg "taking v0 down"
check "ip link set v0 down" ip link set v0 down
sleep 6
check "ip link set v0 up" ip link set v0 up
check "routes back over v0" rdma_wire_routes
for i in 1 2 3; do
	sleep 4
	kmsg "flap $i: v0 down for 3 s"
	check "flap $i: v0 down, 3 s, up, routes back" flap_v0 3
done
wait $fpid
r=$(stat_field "$name" reconnects)
check "reconnected after the link came back (${r:-missing})" test "${r:-0}" -ge 1
check "state is live" bash -c "$QBD_BIN -c $E2E_CONF -i pool1/l | grep -iw live"

fio_verify "fio verify across RDMA device removal" "$dev" --size=40% --rw=randwrite \
	--bsrange=4k-256k --loops=3 &
fpid=$!
sleep 8
kmsg "deleting rxe0"
check "rdma link delete rxe0 (returns: the module lets go of it)" timeout 60 rdma link delete rxe0
sleep 4
check "rdma link add rxe0 again" rdma link add rxe0 type rxe netdev v0
wait $fpid
r2=$(stat_field "$name" reconnects)
check "reconnected after the device came back ($r -> ${r2:-missing})" test "${r2:-0}" -gt "${r:-0}"
check "qbd -u pool1/l" volume_unmap "$E2E_CONF" pool1/l
check "no QP of ours left on rxe0" bash -c "! rdma resource show qp | grep -F '[qbd]'"
