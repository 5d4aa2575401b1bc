#!/bin/bash
# qbd-vm: timeout=900
# Authentication: a server with a key_file serves only clients holding the
# same key. Right key: admin works, the map verifies under fio, and survives
# a reconnect. Wrong key or no key: qbdadm and qbd -m fail with a clear
# error, the server logs the refusal with the peer's address, nothing is
# mapped. The module refuses a server with another key on reconnect (dmesg
# names the device and the server). The key never shows in /proc/qbdstat,
# sysfs, qbd -i, qbd -l --json, dmesg or the server log. Key files readable
# by group or others are refused by qbd-server, qbd and qbdadm.
. "$QBD_TOP/tests/vm/lib.sh"

require_bins "$QBD_SERVER_BIN" "$QBD_BIN" "$QBDADM_BIN"
require "network namespace $E2E_NS" netns_create "$E2E_NS" "$E2E_HOST_IP" "$E2E_SERVER_IP"
require "server data dir on ext4 (brd)" e2e_datadir 512

K=/tmp/qbd/keys
mkdir -p "$K"
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
OTHER=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
(umask 077 && echo "$KEY" > "$K/good.key" && echo "$OTHER" > "$K/other.key" &&
	printf '# comment\n%s\n' "$KEY" > "$K/good-commented.key")
install -m 0644 "$K/good.key" "$K/open.key"
diag "key is 32 random bytes (not printed)"

conf() {  # conf FILE [KEY_FILE]
	qbd_conf_write "$1" "$E2E_SERVER_IP:$E2E_PORT" || return 1
	[[ -z ${2:-} ]] || echo "key_file = $2" >> "$1"
}
conf /tmp/qbd/good.conf "$K/good-commented.key"
conf /tmp/qbd/wrong.conf "$K/other.key"
conf /tmp/qbd/nokey.conf
conf /tmp/qbd/open.conf "$K/open.key"
SLOG=$QBD_RESULTS/server-$(server_id "$E2E_NS" "$(e2e_listen)").log

# A key file that others can read is refused before anything starts.
out=$(nsenter --net=/run/netns/$E2E_NS "$QBD_SERVER_BIN" --data-dir "$E2E_DATA" \
	--listen "$(e2e_listen)" --key-file "$K/open.key" 2>&1)
rc=$?
if [[ $rc != 0 ]] && grep -q 'mode 0644' <<<"$out" && grep -q 'chmod 600' <<<"$out"; then
	ok "qbd-server refuses a key file with mode 0644: $out"
else
	not_ok "qbd-server refuses a key file with mode 0644" "exit status $rc" "$out"
fi
require "qbd-server starts with --key-file" e2e_server_start --key-file "$K/good.key"
check "server log says authentication is required" grep -q 'authentication required' "$SLOG"

# Admin.
check "qbdadm with the key creates pool1/auth" volume_create /tmp/qbd/good.conf pool1/auth 128M
adm_refused() {  # adm_refused CONF WANT_REGEX [ARGS...]
	local conf=$1 want=$2 out
	shift 2
	out=$("$QBDADM_BIN" -c "$conf" "$@" list 2>&1) && return 1
	echo "$out"
	grep -qE "$want" <<<"$out"
}
check "qbdadm without a key: 'authentication required'" \
	adm_refused /tmp/qbd/nokey.conf 'authentication required'
check "qbdadm with the wrong key: 'keys differ'" \
	adm_refused /tmp/qbd/wrong.conf 'keys differ'
check "qbdadm with a 0644 key file: refused, names the mode" \
	adm_refused /tmp/qbd/open.conf 'mode 0644'
check "qbdadm --key-file overrides a keyless qbd.conf" \
	"$QBDADM_BIN" -c /tmp/qbd/nokey.conf --key-file "$K/good.key" info pool1/auth
check "server logged the keyless refusal with the peer address" \
	grep -qE "peer $E2E_HOST_IP:[0-9]+ refused: authentication required" "$SLOG"
check "server logged the wrong-key refusal with the peer address" \
	grep -qE "peer $E2E_HOST_IP:[0-9]+ refused: .*keys differ" "$SLOG"

# Mapping.
map_refused() {  # map_refused CONF WANT_REGEX
	local out
	out=$("$QBD_BIN" -c "$1" -m tcp://pool1/auth 2>&1) && return 1
	echo "$out"
	[[ $out == qbd:* ]] && grep -qE "$2" <<<"$out"
}
check "qbd -m without a key fails with a clear error" map_refused /tmp/qbd/nokey.conf 'authentication required'
check "qbd -m with the wrong key fails with a clear error" map_refused /tmp/qbd/wrong.conf 'keys differ'
check "qbd -m with a 0644 key file fails, names the mode" map_refused /tmp/qbd/open.conf 'mode 0644'
check_eq "nothing got mapped by the refused maps" "$(ls /dev/qbd[0-9]* 2>/dev/null)" ""

dev=$(volume_map /tmp/qbd/good.conf pool1/auth) || bail "map pool1/auth with the key"
ok "mapped pool1/auth with the key -> $dev"
name=${dev#/dev/}
check "server logged the module's connections as authenticated" \
	grep -qE "peer $E2E_HOST_IP:[0-9]+ authenticated" "$SLOG"
fio_verify "fio verify over authenticated connections" "$dev" --size=20% --bsrange=4k-128k

# The module meets a server with another key on reconnect: it is refused
# (both sides say so) and recovers when the right key is back.
check "stop the server" e2e_server_stop
check "restart the server with another key" e2e_server_start --key-file "$K/other.key"
check "module refuses the server with another key (dmesg names device and server)" \
	wait_until 30 bash -c "dmesg | grep -qE '$name \\(pool1/auth\\): queue [0-9]+: server $E2E_SERVER_IP:$E2E_PORT: authentication failed'"
check "server logged the module's refusal with its address" \
	wait_until 10 grep -qE "peer $E2E_HOST_IP:[0-9]+ refused: .*keys differ" "$SLOG"
check "stop the server" e2e_server_stop
check "restart the server with the right key" e2e_server_start --key-file "$K/good.key"
check "device is live again" wait_until 60 bash -c "grep -q live /sys/block/$name/qbd/state"
fio_verify "fio verify after re-authenticating" "$dev" --size=10% --bsrange=4k-64k

# The key is nowhere to be read.
leaks() {  # leaks: prints where the key (either case) appears
	local up=${KEY^^} f
	{
		cat /proc/qbdstat
		for f in /sys/block/$name/qbd/*; do [[ -f $f ]] && cat "$f" 2>/dev/null; done
		"$QBD_BIN" -c /tmp/qbd/good.conf -i "$dev"
		"$QBD_BIN" -c /tmp/qbd/good.conf -l --json
		dmesg
		cat "$QBD_RESULTS"/server-*.log
	} 2>&1 | grep -nE "$KEY|$up|${KEY:0:16}"
}
check "sysfs qbd/ attributes are readable (so the next check reads something)" \
	bash -c "cat /sys/block/$name/qbd/state"
check_eq "the key is not in /proc/qbdstat, sysfs, qbd -i, qbd -l --json, dmesg or the server logs" \
	"$(leaks)" ""
check "qbd -u pool1/auth" volume_unmap /tmp/qbd/good.conf pool1/auth
