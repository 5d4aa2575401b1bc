#!/bin/bash
# The server alone, natively (no VM): qbd-server driven by qbd-loadgen and
# nbd-server driven by fio's nbd engine, on loopback, serving the same
# backend file on tmpfs, same connections x queue depth, pattern and block
# size. Measures IOPS, latency, server CPU per IO (utime + stime of the
# server and its reaped children, /proc/PID/stat) and peak RSS (the server
# and its children, sampled every 0.2 s).
#
#   bench/native.sh OUTDIR      -> OUTDIR/results.jsonl, OUTDIR/*.log
#
# Env: CONNS ["1 8 64"]  NATIVE_QD [4]  NATIVE_RUNTIME [10]  NATIVE_RAMP [1]
#      NATIVE_SERVERS ["qbd nbd"]  NATIVE_SIZE_MIB [512]  NATIVE_PATTERNS ["randread:4k randwrite:4k read:128k"]
# (Why not a fio external ioengine: it needs fio's internal headers, which
# Debian ships in no package, and no deb-src is configured here.)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUTDIR=${1:?usage: native.sh OUTDIR}
CONNS=${CONNS:-1 8 64}
QD=${NATIVE_QD:-4}
RUNTIME=${NATIVE_RUNTIME:-10}
RAMP=${NATIVE_RAMP:-1}
SIZE_MIB=${NATIVE_SIZE_MIB:-512}
SERVERS=${NATIVE_SERVERS:-qbd nbd}
PATTERNS=${NATIVE_PATTERNS:-randread:4k randwrite:4k read:128k}
SERVER=$BUILD/userspace/server/qbd-server
QBDADM=$BUILD/userspace/qbdadm/qbdadm
LOADGEN=$BUILD/userspace/bench-loadgen/qbd-loadgen

die() { echo "native: $*" >&2; exit 1; }
for b in "$SERVER" "$QBDADM" "$LOADGEN"; do
	[[ -x $b ]] || die "$b missing (make userspace)"
done
command -v nbd-server >/dev/null || die "nbd-server not found (make deps)"
fio --enghelp 2>/dev/null | grep -qw nbd || die "this fio has no nbd engine"

mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
: > "$OUTDIR/results.jsonl"
WORK=$(mktemp -d /dev/shm/qbd-bench-native.XXXXXX) || die "mktemp in /dev/shm failed"
QPORT=$((17000 + RANDOM % 1000))
NPORT=$((18000 + RANDOM % 1000))
server_pid=""
cleanup() {
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
	local end=$((SECONDS + 20))
	until bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# cpu_ticks PID: utime + stime + cutime + cstime (fields 14..17).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'; }

# rss_sampler PID OUT: peak RSS (KiB) of PID and its children into OUT,
# until killed.
rss_sampler() {
	local pid=$1 out=$2 max=0 sum p r
	trap 'echo $max > "$out"; exit 0' TERM
	while :; do
		sum=0
		for p in "$pid" $(pgrep -P "$pid"); do
			r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			sum=$((sum + ${r:-0}))
		done
		((sum > max)) && max=$sum
		echo "$max" > "$out"
		sleep 0.2
	done
}

# measure NAME CLIENT CONNS RW BS CMD...: run CMD (prints JSON) while
# sampling the server; append one line to results.jsonl.
measure() {
	local name=$1 client=$2 conns=$3 rw=$4 bs=$5 t0 t1 sp rss log json
	shift 5
	log=$OUTDIR/$name-$conns-$rw-$bs.log
	rm -f "$WORK/t0"
	# CPU is counted from the end of the ramp, as the clients count IOs.
	(sleep "$RAMP"; cpu_ticks "$server_pid" > "$WORK/t0") &
	local tp=$!
	rss_sampler "$server_pid" "$WORK/rss" &
	sp=$!
	# A client that hangs (fio's nbd engine did with 64 jobs) fails the case.
	if ! timeout -k 5 $((RAMP + RUNTIME + 60)) "$@" > "$log.json" 2> "$log"; then
		kill "$sp"
		wait "$sp" "$tp"
		echo "native: $name $conns conns $rw $bs failed:" >&2
		tail -n 5 "$log" >&2
		return 1
	fi
	sleep 0.5    # nbd-server reaps its per-connection children
	kill "$sp"
	wait "$sp" "$tp"
	t0=$(cat "$WORK/t0")
	t1=$(cpu_ticks "$server_pid")
	rss=$(cat "$WORK/rss")
	json=$(python3 - "$log.json" "$name" "$client" "$conns" "$QD" "$rw" "$bs" "$t0" "$t1" "$rss" "$(getconf CLK_TCK)" <<-'PY'
	import json, sys
	f, name, client, conns, qd, rw, bs, t0, t1, rss, hz = sys.argv[1:]
	text = open(f).read()
	d = json.loads(text[text.index("{"):])
	if "jobs" in d:    # fio
	    j = d["jobs"][0]
	    s = j["read"] if j["read"]["total_ios"] else j["write"]
	    p = s["lat_ns"]["percentile"]
	    r = {"iops": s["iops"], "ios": s["total_ios"], "p50": p["50.000000"] / 1000,
	         "p99": p["99.000000"] / 1000, "p999": p["99.900000"] / 1000}
	else:              # qbd-loadgen
	    r = {"iops": d["iops"], "ios": d["ios"], "p50": d["lat_us"]["p50"],
	         "p99": d["lat_us"]["p99"], "p999": d["lat_us"]["p99.9"]}
	bsz = int(bs[:-1]) * 1024 if bs.endswith("k") else int(bs)
	r.update(server=name, client=client, conns=int(conns), qd=int(qd), rw=rw, bs=bsz,
	         server_cpu_s=(int(t1) - int(t0)) / int(hz), rss_kib=int(rss))
	print(json.dumps(r))
	PY
	) || return 1
	echo "$json" >> "$OUTDIR/results.jsonl"
	echo "native: $json"
}

# ---- qbd-server ---------------------------------------------------------------
mkdir -p "$WORK/data"
printf '[cluster]\nservers = 127.0.0.1:%s\n' "$QPORT" > "$WORK/qbd.conf"
"$SERVER" --data-dir "$WORK/data" --listen "tcp://127.0.0.1:$QPORT" > "$OUTDIR/qbd-server.log" 2>&1 &
server_pid=$!
wait_port "$QPORT" || die "qbd-server does not listen on 127.0.0.1:$QPORT (see $OUTDIR/qbd-server.log)"
"$QBDADM" -c "$WORK/qbd.conf" create bench/native --size "${SIZE_MIB}M" > /dev/null || die "qbdadm create failed"
VOLFILE=$(ls "$WORK"/data/volumes/*.vol) || die "no volume file in $WORK/data/volumes"
dd if=/dev/zero of="$VOLFILE" bs=1M count="$SIZE_MIB" conv=notrunc status=none || die "prefill failed"
echo "native: qbd-server pid $server_pid on 127.0.0.1:$QPORT, volume file $VOLFILE (tmpfs)"
rc=0
for c in $CONNS; do
	for p in $PATTERNS; do
		measure qbd-server qbd-loadgen "$c" "${p%%:*}" "${p#*:}" \
			"$LOADGEN" -s "127.0.0.1:$QPORT" -V bench/native -c "$c" -q "$QD" \
			--rw "${p%%:*}" --bs "${p#*:}" -t "$RUNTIME" --ramp "$RAMP" --json || rc=1
	done
done
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""

# ---- nbd-server on the same file --------------------------------------------------
if [[ " $SERVERS " != *" nbd "* ]]; then
	echo "native: $(uname -r), $(nproc) CPUs; client and server share them" > "$OUTDIR/env.txt"
	exit $rc
fi
printf '[generic]\nlistenaddr = 127.0.0.1\nport = %s\n[bench]\nexportname = %s\nflush = true\nfua = true\n' \
	"$NPORT" "$VOLFILE" > "$WORK/nbd.conf"
nbd-server -C "$WORK/nbd.conf" -p "$WORK/nbd.pid" > "$OUTDIR/nbd-server.log" 2>&1 || die "nbd-server failed to start"
wait_port "$NPORT" || die "nbd-server does not listen on 127.0.0.1:$NPORT"
server_pid=$(cat "$WORK/nbd.pid")
echo "native: nbd-server pid $server_pid on 127.0.0.1:$NPORT, same file"
for c in $CONNS; do
	for p in $PATTERNS; do
		measure nbd-server fio-nbd "$c" "${p%%:*}" "${p#*:}" \
			fio --name=nbd --ioengine=nbd --uri="nbd://127.0.0.1:$NPORT/bench" --thread \
			--numjobs="$c" --iodepth="$QD" --rw="${p%%:*}" --bs="${p#*:}" --size="${SIZE_MIB}M" \
			--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" --norandommap --randrepeat=0 \
			--group_reporting --percentile_list=50:99:99.9 --lat_percentiles=1 --output-format=json || rc=1
	done
done
kill -TERM "$server_pid"
server_pid=""
echo "native: $(uname -r), $(nproc) CPUs; client and server share them" > "$OUTDIR/env.txt"
exit $rc
