#!/bin/bash
# qbd-vm: timeout=900
# Authentication over RDMA (the TCP exchange of tcp_auth on the SEND/RECV
# handshake): a map with the server's key works under fio verify and the
# server logs the module's connections as authenticated. Then the module
# meets, on reconnect, a server with another key (both sides refuse: dmesg
# names the device and the server, the server log the peer), a server
# without a key (the module refuses it), and a module without a key meets a
# server with one (the server refuses it, the module says so); each time the
# device recovers once the right server is back, and data verifies. The key
# never shows in dmesg or the server log.
export QBD_TRANSPORT=rdma # before lib.sh: lib.d/e2e.sh picks its wire by it
. "$QBD_TOP/tests/vm/lib.sh"

require_bins "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN"
require "soft-RoCE across veth v0<->v1 (rxe0, rxe1)" rdma_wire_setup
require "server data dir on ext4 (brd)" e2e_datadir 512

K=/tmp/qbd/keys
mkdir -p "$K"
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
OTHER=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
(umask 077 && echo "$KEY" > "$K/good.key" && echo "$OTHER" > "$K/other.key")
diag "key is 32 random bytes (not printed)"
conf() { # conf FILE [KEY_FILE]
	QBD_IO_TIMEOUT=120 qbd_conf_write "$1" "$E2E_SERVER_IP:$E2E_PORT" || return 1
	[[ -z ${2:-} ]] || echo "key_file = $2" >> "$1"
}
conf /tmp/qbd/good.conf "$K/good.key"
conf /tmp/qbd/nokey.conf
SLOG=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log
SRV="$E2E_SERVER_IP:$E2E_RDMA_PORT"

restart() { # restart [SERVER ARGS...]: stop the server, start it again
	e2e_server_stop && e2e_server_start "$@"
}
live() { wait_until 60 bash -c "grep -q live /sys/block/$1/qbd/state"; }
dmesg_has() { wait_until 40 bash -c 'dmesg | grep -qE -- "$1"' _ "$1"; }

require "qbd-server starts with --key-file" e2e_server_start --key-file "$K/good.key"
check "qbdadm with the key creates pool1/auth" volume_create /tmp/qbd/good.conf pool1/auth 128M
dev=$(volume_map /tmp/qbd/good.conf pool1/auth) || bail "map rdma://pool1/auth with the key"
ok "mapped rdma://pool1/auth with the key -> $dev"
name=${dev#/dev/}
check "transport is rdma" bash -c "$QBD_BIN -c /tmp/qbd/good.conf -i $dev | grep -iw rdma"
check "server logged the module's RDMA connections as authenticated" \
	grep -qE "rdma conn=[0-9]+: peer $E2E_HOST_IP:[0-9]+ authenticated" "$SLOG"
fio_verify "fio verify over authenticated RDMA connections" "$dev" --size=20% --bsrange=4k-128k

kmsg "server with another key"
check "restart the server with another key" restart --key-file "$K/other.key"
check "module refuses the server with another key (dmesg names device and server)" \
	dmesg_has "$name \\(pool1/auth\\): queue [0-9]+: server $SRV \\(rdma\\): authentication failed: the server's proof does not match our key"
check "server logged the module's refusal with its address" \
	wait_until 10 grep -qE "rdma conn=[0-9]+: peer $E2E_HOST_IP:[0-9]+ refused: .*keys differ" "$SLOG"
check "restart the server with the right key" restart --key-file "$K/good.key"
check "device is live again" live "$name"
fio_verify "fio verify after re-authenticating" "$dev" --size=10% --bsrange=4k-64k

kmsg "server without a key"
check "restart the server without a key" restart
check "module refuses a server that cannot prove the key" \
	dmesg_has "$name \\(pool1/auth\\): queue [0-9]+: server $SRV \\(rdma\\): authentication failed: the server has no key"
check "device is not live meanwhile" bash -c "! grep -q live /sys/block/$name/qbd/state"
check "restart the server with the right key" restart --key-file "$K/good.key"
check "device is live again" live "$name"
check "qbd -u pool1/auth" volume_unmap /tmp/qbd/good.conf pool1/auth

kmsg "module without a key"
check "restart the server without a key" restart
dev2=$(volume_map /tmp/qbd/nokey.conf pool1/auth) || bail "map rdma://pool1/auth without a key"
ok "mapped rdma://pool1/auth without a key (keyless server) -> $dev2"
name2=${dev2#/dev/}
check "restart the server with a key" restart --key-file "$K/good.key"
check "module reports the refusal (dmesg names device and server)" \
	dmesg_has "$name2 \\(pool1/auth\\): queue [0-9]+: server $SRV \\(rdma\\): authentication failed: the server refused us"
check "server logged the keyless module's refusal with its address" \
	wait_until 10 grep -qE "rdma conn=[0-9]+: peer $E2E_HOST_IP:[0-9]+ refused: authentication required" "$SLOG"
check "restart the server without a key" restart
check "device is live again" live "$name2"
fio_verify "fio verify after the keyless reconnect" "$dev2" --size=10% --bsrange=4k-64k
check "qbd -u pool1/auth (keyless)" volume_unmap /tmp/qbd/nokey.conf pool1/auth

leaks() { dmesg | grep -niE "$KEY|${KEY:0:16}"; grep -niE "$KEY|${KEY:0:16}" "$QBD_RESULTS"/server-*.log; }
check_eq "the key is not in dmesg or the server log" "$(leaks)" ""
