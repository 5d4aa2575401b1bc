#!/bin/bash
# qbd-vm: timeout=600
# The RDMA link goes down under IO (`ip link set v0 down` for 6 s, then up):
# the device reconnects and fio's verify passes. Then the client's RDMA
# device itself goes away under IO (`rdma link delete rxe0`, re-added 4 s
# later): nothing hangs, the device reconnects on the new rxe0, fio's verify
# passes, and unmap leaves no QP, CQ, MR or PD of ours behind.
# The first half depends on the module sending no DREQ while the port is
# down: rxe 6.1 breaks its QP1 for good on a failed MAD send, and no
# connect from rxe0 works after that (docs/testing.md has the trace).
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

QBD_IO_TIMEOUT=60 e2e_setup
check "create pool1/l" volume_create "$E2E_CONF" pool1/l 128M
dev=$(volume_map "$E2E_CONF" pool1/l) || bail "map pool1/l"
ok "mapped rdma://pool1/l -> $dev (io_timeout 60 s)"
name=${dev#/dev/}

fio_verify "fio verify across a link down/up" "$dev" --size=40% --rw=randwrite \
	--bsrange=4k-256k --loops=3 &
fpid=$!
sleep 8
kmsg "taking v0 down"
check "ip link set v0 down" ip link set v0 down
sleep 6
check "ip link set v0 up" ip link set v0 up
check "routes back over v0" rdma_wire_routes
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
