#!/bin/bash
# qbd-vm: timeout=900
# RDMA inline writes (QBD_PF_RDMA_INLINE): a WRITE of up to 4 KiB goes in
# its SEND, larger ones are pulled with RDMA READ; the server counts both
# per connection (logged when it closes), so the test tells inline from
# not-inline. Then the fallback: a server started with --no-rdma-inline
# grants nothing (rdma_inline 0), every WRITE goes by RDMA READ, data
# written either way reads back under the other. (fio's verify regions,
# 20% at 0 and at 50%, stay clear of the data written at 48..61 MiB.)
# The same per-connection log line counts replies and ibv_post_send calls:
# under fio's QD32 there must be fewer posts than replies (batched posts).
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

e2e_setup
log=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
check "create pool1/inl" volume_create "$E2E_CONF" pool1/inl 64M

# The server log from line $mark on: "N WRITEs inline, M WRITEs by RDMA READ"
# summed over the connections closed since.
mark=0
set_mark() { mark=$(wc -l <"$log"); }
since() { tail -n +$((mark + 1)) "$log"; }
counts() {
	since | grep -o '[0-9]* WRITEs inline, [0-9]* WRITEs by RDMA READ' |
		awk '{i += $1; r += $4} END {print i + 0, r + 0}'
}

# unmap_and_count LABEL: unmap pool1/inl; once the server has logged the
# closed connections' counts, n_inl / n_read hold the WRITEs since the mark
# that came inline / by RDMA READ.
unmap_and_count() {
	check "qbd -u pool1/inl" volume_unmap "$E2E_CONF" pool1/inl
	wait_until 10 bash -c "tail -n +$((mark + 1)) '$log' | grep -q 'WRITEs inline'"
	read -r n_inl n_read <<<"$(counts)"
	diag "$1: $n_inl WRITEs inline, $n_read by RDMA READ"
}

# 1. Inline on (the default).
set_mark
dev=$(volume_map "$E2E_CONF" pool1/inl -o nr_queues=2) || bail "map pool1/inl"
ok "mapped pool1/inl -> $dev"
check "server offers 4096 bytes inline on every connection" \
	bash -c "tail -n +$((mark + 1)) '$log' | grep 'rdma conn=.*opened' | grep -q 'inline WRITE 4096'"
check_eq "  ... and no connection without" \
	"$(since | grep 'rdma conn=.*opened' | grep -c 'inline WRITE 0)')" 0
check "write 1 MiB at 56 MiB as 4 KiB direct writes (inline)" bash -c \
	"dd if=/dev/urandom of=/tmp/a bs=1M count=1 status=none &&
	 dd if=/tmp/a of=$dev bs=4k seek=$((56 * 256)) oflag=direct status=none"
check "write 4 MiB at 48 MiB as 1 MiB direct writes (RDMA READ)" bash -c \
	"dd if=/dev/urandom of=/tmp/b bs=1M count=4 status=none &&
	 dd if=/tmp/b of=$dev bs=1M seek=48 oflag=direct status=none"
check "both read back" bash -c \
	"cmp <(dd if=$dev bs=1M skip=56 count=1 iflag=direct status=none) /tmp/a &&
	 cmp <(dd if=$dev bs=1M skip=48 count=4 iflag=direct status=none) /tmp/b"
fio_verify "fio randrw 4k-16k QD32 x2 --verify=crc32c (mostly inline)" "$dev" \
	--bsrange=4k-16k --size=20% --ioengine=io_uring
unmap_and_count "inline on"
check "at least the 256 4 KiB writes went inline" test "$n_inl" -ge 256
check "the 1 MiB writes went by RDMA READ" test "$n_read" -ge 4
check_eq "no connection was disconnected as hostile" "$(since | grep -c 'disconnecting:')" 0
# One ibv_post_send per QP per loop round: under fio's QD32 some rounds
# answer several requests at once, so there are fewer posts than replies
# (one post per reply at least without the batching).
read -r n_rep n_post <<<"$(since | grep -o '[0-9]* replies in [0-9]* posts' | awk '{r += $1; p += $4} END {print r + 0, p + 0}')"
diag "inline on: $n_rep replies in $n_post posts"
check "replies are posted in batches (fewer posts than replies)" test "$n_post" -gt 0 -a "$n_post" -lt "$n_rep"

# 2. Fallback: the server grants no inline data.
check "stop the server" e2e_server_stop
set_mark
check "start it with --no-rdma-inline" e2e_server_start --no-rdma-inline
dev=$(volume_map "$E2E_CONF" pool1/inl -o nr_queues=2) || bail "map pool1/inl (no inline)"
check "server logs 264-byte receives" bash -c "tail -n +$((mark + 1)) '$log' | grep -q 'receives of 264 bytes'"
check "every connection opened with inline WRITE 0" \
	bash -c "tail -n +$((mark + 1)) '$log' | grep 'rdma conn=.*opened' | grep -q 'inline WRITE 0)'"
check_eq "  ... none with an offer" \
	"$(since | grep 'rdma conn=.*opened' | grep -c 'inline WRITE 4096')" 0
check "data written inline reads back" bash -c \
	"cmp <(dd if=$dev bs=1M skip=56 count=1 iflag=direct status=none) /tmp/a"
check "write 1 MiB at 60 MiB as 4 KiB direct writes (now RDMA READ)" bash -c \
	"dd if=/dev/urandom of=/tmp/c bs=1M count=1 status=none &&
	 dd if=/tmp/c of=$dev bs=4k seek=$((60 * 256)) oflag=direct status=none &&
	 cmp <(dd if=$dev bs=1M skip=60 count=1 iflag=direct status=none) /tmp/c"
fio_verify "fio randrw 4k-16k QD32 x2 --verify=crc32c (no inline)" "$dev" \
	--bsrange=4k-16k --size=20% --ioengine=io_uring
unmap_and_count "inline off"
check_eq "no WRITE went inline" "$n_inl" 0
check "the 256 4 KiB writes went by RDMA READ" test "$n_read" -ge 256

# 3. Inline again: what the fallback wrote reads back.
check "stop the server" e2e_server_stop
check "start it with inline again" e2e_server_start
dev=$(volume_map "$E2E_CONF" pool1/inl) || bail "map pool1/inl (again)"
check "data written without inline reads back" bash -c \
	"cmp <(dd if=$dev bs=1M skip=60 count=1 iflag=direct status=none) /tmp/c"

# 4. A mapped device follows its server across restarts with and without
# inline: RDMA_INLINE (like RDMA_INV) is a connection's own, so a server
# granting it no longer is no reason to refuse the reconnect.
check "stop the server (device mapped, inline)" e2e_server_stop
mark=$(wc -l < "$log")
check "start it with --no-rdma-inline" e2e_server_start --no-rdma-inline
check "the device reconnects" wait_until $((60 * ${QBD_TIMEOUT_SCALE:-1})) dev_live "$dev"
check "every new connection opened with inline WRITE 0" bash -c \
	"tail -n +$((mark + 1)) '$log' | grep 'opened (' | grep -q 'inline WRITE 0)'"
check "write 1 MiB at 57 MiB as 4 KiB direct writes (RDMA READ now)" bash -c \
	"head -c 1M /dev/urandom > /tmp/d && dd if=/tmp/d of=$dev bs=4k seek=$((57 * 256)) oflag=direct status=none"
check "stop the server again" e2e_server_stop
check "start it with inline" e2e_server_start
check "the device reconnects again" wait_until $((60 * ${QBD_TIMEOUT_SCALE:-1})) dev_live "$dev"
check "what went by RDMA READ reads back" bash -c \
	"cmp <(dd if=$dev bs=1M skip=57 count=1 iflag=direct status=none) /tmp/d"
check "qbd -u pool1/inl" volume_unmap "$E2E_CONF" pool1/inl
check "rmmod qbd" qbd_unload
