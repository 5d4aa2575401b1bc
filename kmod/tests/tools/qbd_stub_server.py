#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A minimal qbd protocol server for testing the module on its own.

Serves one volume from a file, a thread per connection, no admin
interface. Not the product's server (userspace/server): it exists so the
module's data path, recovery and reply checks can be tested without it,
and so a misbehaving server can be played (--bad).

  qbd_stub_server.py --listen 127.0.0.1:7000 --file /tmp/v.img --size 256M \
                     [--pool pool1 --volume vol1] [--bad MODE[:N]] [--on-usr1]

--on-usr1 starts up, then listens only once it gets SIGUSR1: a test starts
it ahead of time (the interpreter is slow to start under emulation) and
brings the server "back" at once.

--bad MODE:N misbehaves from the N-th IO reply on (default 100):
  handle   reply with a handle no request has
  magic    reply with a bad magic
  length   claim more READ data than asked
  status   reply with an unknown status
  silent   stop replying (and stop answering PINGs)
"""
import argparse
import ctypes
import os
import signal
import socket
import struct
import sys
import threading

MAGIC = 0x31444251
HELLO = struct.Struct("<IHHQQIII4x64s128s32x")           # 264
HELLO_REPLY = struct.Struct("<IHHIIQQQQIIII16x")          # 80
REQ = struct.Struct("<IBBHQQIIQIIQQII")                   # 72
REPLY = struct.Struct("<IIQII8x")                         # 32
assert HELLO.size == 264 and HELLO_REPLY.size == 80
assert REQ.size == 72 and REPLY.size == 32

OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_WZ, OP_PING = range(6)
S_OK, S_IO, S_INVALID, S_NO_VOLUME, S_OUT_OF_RANGE = 0, 1, 2, 3, 10


LIBC = ctypes.CDLL(None, use_errno=True)
FALLOC_PUNCH = 0x01 | 0x02       # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE


def zero_range(fd, off, length):
    """Punch a hole (reads back as zeros); write zeros where that fails."""
    if LIBC.fallocate(fd, FALLOC_PUNCH, ctypes.c_long(off), ctypes.c_long(length)) == 0:
        return
    pos = off
    while pos < off + length:
        n = min(1 << 20, off + length - pos)
        os.pwrite(fd, bytes(n), pos)
        pos += n


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s)


def recv_all(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return bytes(buf)


class Server:
    def __init__(self, args):
        self.args = args
        self.size = parse_size(args.size)
        self.fd = os.open(args.file, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self.fd).st_size < self.size:
            os.ftruncate(self.fd, self.size)
        self.replies = 0
        self.lock = threading.Lock()
        mode, _, n = (args.bad or "").partition(":")
        self.bad_mode = mode
        self.bad_from = int(n) if n else 100

    def log(self, msg):
        print(f"stub: {msg}", flush=True)

    def misbehave(self):
        if not self.bad_mode:
            return None
        with self.lock:
            self.replies += 1
            return self.bad_mode if self.replies >= self.bad_from else None

    def hello(self, sock):
        h = HELLO.unpack(recv_all(sock, HELLO.size))
        magic, ver, typ, feats, vol_id, qid, depth, max_io, pool, vol = h
        pool = pool.split(b"\0")[0].decode()
        vol = vol.split(b"\0")[0].decode()
        status = S_OK
        if magic != MAGIC or ver != 1 or typ != 1:
            status = S_INVALID
        elif pool != self.args.pool or vol != self.args.volume:
            status = S_NO_VOLUME
        grant = min(depth, 1024)
        max_io = min(max_io, 1 << 20)
        sock.sendall(HELLO_REPLY.pack(MAGIC, 1, 1, status, grant, feats & 7,
                                      vol_id, self.size, 4 << 20,
                                      self.args.block_size, 0, max_io, 0))
        self.log(f"hello queue {qid} depth {depth} {pool}/{vol}: status {status}")
        return status == S_OK

    def serve(self, sock):
        try:
            if not self.hello(sock):
                return
            while True:
                (magic, op, flags, _r0, handle, vol_id, shard, lv, off,
                 length, _dg, _ss, _ra, _rk, _r1) = REQ.unpack(recv_all(sock, REQ.size))
                if magic != MAGIC:
                    self.log("bad magic, closing")
                    return
                data = recv_all(sock, length) if op == OP_WRITE else b""
                status, out = S_OK, b""
                if op != OP_PING and (op != OP_FLUSH and off + length > self.size):
                    status = S_OUT_OF_RANGE
                elif op == OP_READ:
                    out = os.pread(self.fd, length, off)
                elif op == OP_WRITE:
                    os.pwrite(self.fd, data, off)
                    if flags & 1:
                        os.fdatasync(self.fd)
                elif op == OP_FLUSH:
                    os.fdatasync(self.fd)
                elif op in (OP_DISCARD, OP_WZ):
                    zero_range(self.fd, off, length)
                bad = self.misbehave() if op != OP_PING else (
                    "silent" if self.bad_mode == "silent" and
                    self.replies >= self.bad_from else None)
                if bad == "silent":
                    continue
                if bad == "handle":
                    handle ^= 0x7fff0000
                rmagic = MAGIC if bad != "magic" else 0xdeadbeef
                if bad == "status":
                    status = 77
                rlen = len(out)
                if bad == "length" and op == OP_READ:
                    rlen += 512
                sock.sendall(REPLY.pack(rmagic, status, handle, rlen, 0) + out)
        except (ConnectionError, OSError) as e:
            self.log(f"connection ends: {e}")
        finally:
            sock.close()

    def run(self):
        if self.args.on_usr1:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            self.log("waiting for SIGUSR1")
            signal.sigwait({signal.SIGUSR1})
        host, _, port = self.args.listen.rpartition(":")
        ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host.strip("[]"), int(port)))
        ls.listen(64)
        self.log(f"listening on {self.args.listen}, {self.size} bytes")
        while True:
            c, _ = ls.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1:7000")
    p.add_argument("--file", required=True)
    p.add_argument("--size", default="256M")
    p.add_argument("--block-size", type=int, default=4096)
    p.add_argument("--pool", default="pool1")
    p.add_argument("--volume", default="vol1")
    p.add_argument("--bad")
    p.add_argument("--on-usr1", action="store_true")
    Server(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
