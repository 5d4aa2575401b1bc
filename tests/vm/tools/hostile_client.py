#!/usr/bin/env python3
"""A hostile qbd client: malformed and out-of-range requests against a
qbd-server. Run it while a good client keeps verifying its data; every case
checks that the server answers with an error or closes this connection, and
that it keeps accepting new connections.

    hostile_client.py HOST PORT POOL VOLUME VOLUME_SIZE_BYTES [MAX_CONNECTIONS]

Cases: half-sent headers held open for the whole run, garbage instead of a
hello and after a valid one, bad fields in the hello, requests breaking each
rule (lengths near 2^32, offsets near 2^64, ...), a request before any hello,
slowloris hellos (one byte a second: closed by the handshake timeout while
other clients are served), admin connections held idle, and a flood of
connections. With MAX_CONNECTIONS (the server's --max-connections), the
flood goes past the limit: the extra connections must be refused (closed at
once) and a new connection must work again once the flood is gone.
Cases are spaced out so the server's rate-limited log keeps a line for each.

Exits 1 when the server answered something it should not have.
"""
import select
import socket
import struct
import sys
import threading
import time

MAGIC = 0x31444251
VERSION = 1
HELLO = 1
ADMIN = 2
OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_WZ, OP_PING = range(6)
S_OK = 0

HELLO_FMT = "<IHHQQIII I64s128s32s"
HELLO_REPLY_FMT = "<IHHIIQQQQIIII16s"
REQ_FMT = "<IBBHQQIIQIIQQII"
REPLY_FMT = "<IIQIIQ"
assert struct.calcsize(HELLO_FMT) == 264
assert struct.calcsize(HELLO_REPLY_FMT) == 80
assert struct.calcsize(REQ_FMT) == 72
assert struct.calcsize(REPLY_FMT) == 32

host, port, pool, vol, vsize = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
max_conns = int(sys.argv[6]) if len(sys.argv) > 6 else 0
failures = 0
ADMIN_FMT = "<IHHIIQQII64s128s32s"
ADM_LIST = 3
assert struct.calcsize(ADMIN_FMT) == 264
# The server logs at most 10 lines a second per call site.
CASE_GAP = 0.15


def fail(msg):
    global failures
    failures += 1
    print("FAIL", msg, flush=True)


def conn():
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


# The volume as the first good hello described it: requests carry its id,
# layout and the right shard, so each case breaks only the rule it names.
GEO = {"vol_id": 0, "layout": 0, "shard_size": 0}


def hello(s, pool=pool, vol=vol, depth=32, vol_id=0):
    s.sendall(struct.pack(HELLO_FMT, MAGIC, VERSION, HELLO, 7, vol_id, 0, depth, 1 << 20, 0,
                          pool.encode(), vol.encode(), b""))
    r = recv_exact(s, 80)
    if r is None:
        return None
    h = struct.unpack(HELLO_REPLY_FMT, r)
    if h[3] == S_OK and not GEO["vol_id"]:
        GEO.update(vol_id=h[6], shard_size=h[8], layout=h[10])
    return h


def req(op, offset, length, handle=7, magic=MAGIC, flags=0, shard=None, layout=None, vol_id=None):
    if shard is None:
        shard = (offset // GEO["shard_size"]) & 0xFFFFFFFF if GEO["shard_size"] else 0
    layout = GEO["layout"] if layout is None else layout
    vol_id = GEO["vol_id"] if vol_id is None else vol_id
    return struct.pack(REQ_FMT, magic, op, flags, 0, handle, vol_id, shard, layout, offset, length,
                       0, 0, 0, 0, 0)


def reply_or_close(s):
    """The reply header, or None when the server closed the connection."""
    try:
        r = recv_exact(s, 32)
    except (ConnectionResetError, socket.timeout):
        return None
    return None if r is None else struct.unpack(REPLY_FMT, r)


def expect_error_or_close(name, payload, extra=b""):
    time.sleep(CASE_GAP)
    s = conn()
    h = hello(s)
    if h is None or h[3] != S_OK:
        fail(f"{name}: hello refused: {h}")
        return
    try:
        s.sendall(payload + extra)
    except (BrokenPipeError, ConnectionResetError):
        print(f"ok {name}: closed while sending", flush=True)
        return
    r = reply_or_close(s)
    if r is None:
        print(f"ok {name}: server closed the connection", flush=True)
    elif r[1] == S_OK:
        fail(f"{name}: server answered OK: {r}")
    else:
        print(f"ok {name}: error status {r[1]}", flush=True)
    s.close()


def expect_closed_raw(name, payload):
    time.sleep(CASE_GAP)
    s = conn()
    try:
        s.sendall(payload)
        r = s.recv(1024)
        if r and len(r) >= 12 and struct.unpack_from("<I", r, 8)[0] == S_OK:
            fail(f"{name}: server accepted it: {r[:16]!r}")
        else:
            print(f"ok {name}: refused ({len(r)} bytes back)", flush=True)
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        print(f"ok {name}: connection reset", flush=True)
    s.close()


# Stalled connections: half a header each, held open for the whole run.
stalled = []
for i in range(8):
    s = conn()
    s.sendall(struct.pack("<IHH", MAGIC, VERSION, HELLO)[: 3 + i % 5])
    stalled.append(s)
s = conn()
if hello(s) is None:
    fail("hello after stalled connections: no answer")
s.sendall(req(OP_WRITE, 0, 4096)[:40])  # half a request, then nothing
stalled.append(s)

expect_closed_raw("garbage instead of a hello", b"\xff" * 300)
expect_closed_raw("bad magic in the hello", struct.pack(HELLO_FMT, 0xdeadbeef, VERSION, HELLO, 0, 0, 0, 32, 1 << 20, 0, pool.encode(), vol.encode(), b""))
expect_closed_raw("version 99", struct.pack(HELLO_FMT, MAGIC, 99, HELLO, 0, 0, 0, 32, 1 << 20, 0, pool.encode(), vol.encode(), b""))
expect_closed_raw("message type 77", struct.pack(HELLO_FMT, MAGIC, VERSION, 77, 0, 0, 0, 32, 1 << 20, 0, pool.encode(), vol.encode(), b""))
expect_closed_raw("pool name without a NUL", struct.pack(HELLO_FMT, MAGIC, VERSION, HELLO, 0, 0, 0, 32, 1 << 20, 0, b"p" * 64, vol.encode(), b""))
expect_closed_raw("no such volume", struct.pack(HELLO_FMT, MAGIC, VERSION, HELLO, 0, 0, 0, 32, 1 << 20, 0, pool.encode(), b"nope", b""))
expect_closed_raw("path traversal in the volume name", struct.pack(HELLO_FMT, MAGIC, VERSION, HELLO, 0, 0, 0, 32, 1 << 20, 0, b"..", b"../../etc/passwd", b""))

expect_error_or_close("bad magic in a request", req(OP_READ, 0, 4096, magic=0x12345678))
expect_error_or_close("opcode 200", req(200, 0, 4096))
expect_error_or_close("unknown request flags", req(OP_READ, 0, 4096, flags=0x80))
expect_error_or_close("read length 2^32-512", req(OP_READ, 0, 0xFFFFFE00))
expect_error_or_close("write length 2^32-512 (no data follows)", req(OP_WRITE, 0, 0xFFFFFE00))
expect_error_or_close("read of 1 MiB + 512", req(OP_READ, 0, (1 << 20) + 512))
expect_error_or_close("misaligned offset", req(OP_READ, 100, 4096))
expect_error_or_close("misaligned length", req(OP_READ, 0, 1000))
expect_error_or_close("read at the end of the volume", req(OP_READ, vsize, 4096))
expect_error_or_close("read across the end", req(OP_READ, vsize - 4096, 8192))
expect_error_or_close("offset near 2^64", req(OP_READ, (1 << 64) - 4096, 4096))
expect_error_or_close("offset+length wrapping 2^64", req(OP_READ, (1 << 64) - 512, 1024))
expect_error_or_close("write at 2^63", req(OP_WRITE, 1 << 63, 4096), b"\0" * 4096)
expect_error_or_close("discard past the end", req(OP_DISCARD, vsize - 4096, 1 << 20))
expect_error_or_close("write-zeroes near 2^64", req(OP_WZ, (1 << 64) - (1 << 20), 1 << 20))
expect_error_or_close("read length 2^32-1", req(OP_READ, 0, 0xFFFFFFFF))
expect_error_or_close("write length 2^32-1 (no data follows)", req(OP_WRITE, 0, 0xFFFFFFFF))
expect_error_or_close("discard length 2^32-4096", req(OP_DISCARD, 0, 0xFFFFF000))
expect_error_or_close("garbage after a valid hello", b"\xa5" * 72 + b"\x5a" * 200)

# A request on a connection that never said hello.
expect_closed_raw("request without a hello", req(OP_READ, 0, 4096))



def good_ping(name):
    """A fresh connection says hello and gets a PING answered."""
    try:
        s = conn()
        h = hello(s)
        if h is None or h[3] != S_OK:
            fail(f"{name}: hello: {h}")
            return
        s.sendall(req(OP_PING, 0, 0, handle=42))
        r = reply_or_close(s)
        if r is None or r[1] != S_OK or r[2] != 42:
            fail(f"{name}: ping: {r}")
        else:
            print(f"ok {name}", flush=True)
        s.close()
    except OSError as e:
        fail(f"{name}: {e}")


# Slowloris: hellos dribbled one byte a second. The server must keep
# serving others meanwhile and close them when the handshake times out.
slow_result = {}


def slowloris(i):
    s = conn()
    msg = struct.pack(HELLO_FMT, MAGIC, VERSION, HELLO, 0, 0, 0, 32, 1 << 20, 0, pool.encode(), vol.encode(), b"")
    t0 = time.monotonic()
    try:
        for b in msg:
            s.sendall(bytes([b]))
            time.sleep(1)
            r, _, _ = select.select([s], [], [], 0)
            if r and not s.recv(80):
                slow_result[i] = time.monotonic() - t0
                return
            if time.monotonic() - t0 > 40:
                break
    except (BrokenPipeError, ConnectionResetError):
        slow_result[i] = time.monotonic() - t0
        return
    slow_result[i] = None
    s.close()


slow = [threading.Thread(target=slowloris, args=(i,)) for i in range(3)]
for t in slow:
    t.start()
time.sleep(3)
good_ping("a good client is served while 3 slowloris hellos dribble")
for t in slow:
    t.join()
for i in range(3):
    if slow_result.get(i) is None:
        fail(f"slowloris {i}: still open after 40 s of one byte a second")
    else:
        print(f"ok slowloris {i}: closed by the server", flush=True)

# Admin connections held idle after one request each.
idle_admin = []
for i in range(20):
    s = conn()
    s.sendall(struct.pack(ADMIN_FMT, MAGIC, VERSION, ADMIN, ADM_LIST, 0, 0, 0, 0, 0, b"", b"", b""))
    r = recv_exact(s, 80)
    if r is None:
        fail(f"idle admin {i}: no reply to LIST")
    idle_admin.append(s)
good_ping("a good client is served while 20 admin connections sit idle")

# Flood: many connections at once; the server must survive them. With the
# server's limit known, go past it: the extra ones are closed at once.
flood = []
n_flood = max_conns + 20 if max_conns else 200
try:
    for i in range(n_flood):
        flood.append(socket.create_connection((host, port), timeout=5))
except OSError as e:
    print(f"ok flood: connect failed after {len(flood)} connections ({e})", flush=True)
refused = set()
end = time.monotonic() + 3
while time.monotonic() < end:
    r, _, _ = select.select([f for f in flood if f not in refused], [], [], 0.5)
    for f in r:
        try:
            if not f.recv(1):
                refused.add(f)
        except OSError:
            refused.add(f)
print(f"flood: {len(flood)} connections, {len(refused)} closed by the server at once", flush=True)
if max_conns:
    if len(refused) < 20:
        fail(f"flood past the limit {max_conns}: only {len(refused)} refused")
    else:
        print(f"ok flood past the limit {max_conns}: {len(refused)} refused", flush=True)
for f in flood:
    f.close()
for s in idle_admin:
    s.close()
time.sleep(1)
good_ping("a new connection works once the flood is gone (limit restored)")

# After all that the server still serves a well-behaved connection.
time.sleep(0.5)
s = conn()
h = hello(s)
if h is None or h[3] != S_OK:
    fail(f"good hello after the abuse: {h}")
else:
    s.sendall(req(OP_PING, 0, 0, handle=99))
    r = reply_or_close(s)
    if r is None or r[1] != S_OK or r[2] != 99:
        fail(f"ping after the abuse: {r}")
    else:
        print("ok the server still answers a good client", flush=True)
for s in stalled:
    s.close()
print(f"hostile client: {failures} failure(s)", flush=True)
sys.exit(1 if failures else 0)
