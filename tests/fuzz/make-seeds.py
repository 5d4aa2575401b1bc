#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets into tests/fuzz/corpus/.

The text seeds are realistic configuration files and arguments; the binary
seeds are protocol messages laid out as include/proto/qbd_proto.h defines
them (the structured targets consume a few bytes of parameters first, see
userspace/fuzz/fuzz_<name>.cc). Run it again after a protocol change:
    tests/fuzz/make-seeds.py
"""
import os
import struct

TOP = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(TOP, "corpus")
MAGIC, VERSION, HELLO, ADMIN = 0x31444251, 1, 1, 2


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def hdr(t):
    return struct.pack("<IHH", MAGIC, VERSION, t)


def fixed(s, n):
    return s.encode().ljust(n, b"\0")


def hello(pool="pool", vol="vol", qd=128, max_io=1 << 20, features=7, vol_id=0):
    # hdr, features, vol_id, queue_id, queue_depth, max_io, reserved0,
    # pool[64], volume[128], reserved[32]: 264 bytes.
    b = hdr(HELLO) + struct.pack("<QQIIII", features, vol_id, 0, qd, max_io, 0)
    return (b + fixed(pool, 64) + fixed(vol, 128)).ljust(264, b"\0")


def admin(op, pool="pool", vol="vol", size=0, block=0, shard=0, flags=0):
    b = hdr(ADMIN) + struct.pack("<IIQQII", op, flags, size, shard, block, 0)
    return (b + fixed(pool, 64) + fixed(vol, 128)).ljust(264, b"\0")


def req(op, off=0, length=0, vol_id=1, shard=0, layout=1, flags=0, handle=1):
    # magic, opcode, flags, reserved0, handle, vol_id, shard,
    # layout_version, offset, length, digest, snap_seq, rdma_addr,
    # rdma_key, reserved1: 72 bytes.
    return struct.pack("<IBBHQQIIQIIQQII", MAGIC, op, flags, 0, handle, vol_id, shard, layout, off,
                       length, 0, 0, 0, 0, 0)


def main():
    # Text targets.
    write("client_config", "default", "[cluster]\nservers = 127.0.0.1:7000\n\n[client]\nio_depth = 128\n"
          "io_timeout = 30\nconn_timeout = 8\nheartbeat_interval = 1\nheartbeat_timeout = 3\n")
    write("client_config", "many", "# qbd.conf\n[cluster]\nservers = 10.0.0.1, [fd00::2]:7001, host.example:7002 ; x\n"
          "zookeeper = zk1:2181\n[other]\nfoo = bar\n")
    write("client_config", "bad", "[cluster\nservers =\n[client]\nio_depth = 0\n")
    write("server_config", "default", "[server]\ndata_dir = /var/lib/qbd\nlisten = tcp://0.0.0.0:7000, "
          "tcp://[::]:7000\nmax_connections = 1024\nmax_queue_depth = 128\nmax_io = 1M\nreactors = 0\n"
          "direct_io = yes\nlog_level = info\n")
    write("server_config", "rdma", "[server]\nlisten = rdma://10.0.0.1:7001\nmax_io = 128K # small\n"
          "direct_io = no\nlog_level = debug\n")
    write("map_conf", "default", "# volumes to map at boot\ntcp://pool/vol\nrdma://pool/fast /etc/qbd/rdma.conf\n"
          "pool/limited - 50M 20M 2000 1000\n")
    write("map_conf", "bad", "pool/vol\npool/vol\n/x\npool/v extra 1 2\npool/w - 1X 0 0 0\n")
    for i, u in enumerate(["pool/vol", "tcp://p-1/v.2", "rdma://a/b", "ftp://x/y", "pool/", "./..",
                           "p" * 63 + "/" + "v" * 127]):
        write("volume_url", f"url{i}", u)
    for i, t in enumerate(["read_bps=50M,write_bps=20M,read_iops=2000,write_iops=1000,burst_ms=500",
                           "read_iops=0", "write_bps=1G", "burst_ms=60001", "read_iops=1k", "read_bps=1,read_bps=2"]):
        write("throttle_spec", f"spec{i}", t)
    for i, s in enumerate(["4096", "512K", "10G", "1T", "3MiB", "2kb", "18446744073709551615",
                           "16777216T", "[::1]:7000", "host:65535", "::1", "10.0.0.1:0"]):
        write("size", f"s{i}", s)
    # fuzz_request: geometry (consumed from the end by FuzzedDataProvider's
    # integral reads), then the request and a header.
    geo = struct.pack("<QQBIIQ", 1, 8 << 20, 0, 1, 1 << 20, 7)
    for i, r in enumerate([req(0, 0, 4096), req(1, 4096, 8192, flags=1), req(2), req(3, 1 << 20, 1 << 20),
                           req(5), req(1, 0, 0xfffffe00), req(0, (1 << 64) - 512, 1024)]):
        write("request", f"req{i}", r + hdr(HELLO) + geo[::-1])
    # fuzz_hello: limits (2 x 4 bytes, from the end), then a hello.
    lim = struct.pack("<II", 128, 2048)
    for i, h in enumerate([hello(), hello("p-2", "v.1", 4, 4096, 1), hello("pool", "nope"), hello(qd=0),
                           hello(vol_id=99)]):
        write("hello", f"hello{i}", h + lim)
    # fuzz_stream: whole connections.
    write("stream", "io", hello(features=7) + req(1, 0, 4096) + b"\xab" * 4096 + req(0, 0, 4096) +
          req(2) + req(3, 1 << 20, 4096, shard=1) + req(4, 8192, 4096) + req(5) + req(1, 8 << 20, 512) + b"x" * 512)
    write("stream", "admin", admin(1, "pool", "new", 1 << 20) + admin(3, "", "") + admin(4, "pool", "vol") +
          admin(5, "pool", "new", 2 << 20) + admin(2, "pool", "new"))
    write("stream", "badwrite", hello() + req(1, 0, 0xffffffff))
    # fuzz_admin consumes structured fields; a few plausible byte strings.
    for i in range(4):
        write("admin", f"seed{i}", bytes([1 + i, 0, 1, 0, 1, 1, 0, 0x10, 0, 0, 0, 1, 2, 0, 3, 4] * (i + 1)))


if __name__ == "__main__":
    main()
