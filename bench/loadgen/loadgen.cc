#include "loadgen.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "net.h"
#include "proto.h"

namespace qbd::loadgen {

using namespace std::chrono;

Result<Pattern> parse_pattern(const std::string &s)
{
	if (s == "randread")
		return Pattern::kRandRead;
	if (s == "randwrite")
		return Pattern::kRandWrite;
	if (s == "read")
		return Pattern::kSeqRead;
	if (s == "write")
		return Pattern::kSeqWrite;
	return make_error(EINVAL, "pattern '" + s + "' is not one of randread, randwrite, read, write");
}

const char *pattern_name(Pattern p)
{
	switch (p) {
	case Pattern::kRandRead:
		return "randread";
	case Pattern::kRandWrite:
		return "randwrite";
	case Pattern::kSeqRead:
		return "read";
	case Pattern::kSeqWrite:
		return "write";
	}
	return "?";
}

double percentile(const std::vector<uint32_t> &sorted, double p)
{
	if (sorted.empty())
		return 0;
	size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
	rank = std::clamp<size_t>(rank, 1, sorted.size());
	return sorted[rank - 1];
}

namespace {

// Whole-buffer blocking IO on the hot path (the socket is blocking: one
// syscall per message in the common case).
Status write_full(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = ::writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return make_error(errno, std::string("send: ") + strerror(errno));
		}
		auto left = static_cast<size_t>(w);
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			++iov;
			--n;
		}
		if (n > 0) {
			iov->iov_base = static_cast<char *>(iov->iov_base) + left;
			iov->iov_len -= left;
		}
	}
	return ok_status();
}

Status read_full(int fd, void *buf, size_t len)
{
	auto *p = static_cast<char *>(buf);
	while (len) {
		ssize_t r = ::recv(fd, p, len, MSG_WAITALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return make_error(errno, std::string("recv: ") + strerror(errno));
		}
		if (r == 0)
			return make_error(ECONNRESET, "the server closed the connection");
		p += r;
		len -= static_cast<size_t>(r);
	}
	return ok_status();
}

struct Conn {
	Fd fd;
	uint64_t size = 0;
	uint64_t vol_id = 0;
	uint64_t shard_size = 0;
	uint32_t layout_version = 0;
	uint32_t queue_depth = 0;
};

Result<Conn> open_conn(const Options &o, uint32_t qid)
{
	auto fd = tcp_connect(o.server, milliseconds(5000));
	if (!fd)
		return make_error(fd.error().code, "connect " + o.server.str() + ": " + fd.error().message);
	Conn c;
	c.fd = std::move(*fd);
	int fl = ::fcntl(c.fd.get(), F_GETFL);
	if (fl < 0 || ::fcntl(c.fd.get(), F_SETFL, fl & ~O_NONBLOCK) < 0)
		return make_error(errno, std::string("fcntl: ") + strerror(errno));
	qbd_hello h;
	memset(&h, 0, sizeof(h));
	fill_msg_hdr(h.hdr, QBD_MSG_HELLO);
	h.queue_id = to_le32(qid);
	h.queue_depth = to_le32(o.queue_depth);
	h.max_io = to_le32(o.block_size);
	write_fixed(h.pool, sizeof(h.pool), o.pool);
	write_fixed(h.volume, sizeof(h.volume), o.volume);
	struct iovec iov = {&h, sizeof(h)};
	if (auto s = write_full(c.fd.get(), &iov, 1); !s)
		return make_error(s.error().code, "hello: " + s.error().message);
	qbd_hello_reply r;
	if (auto s = read_full(c.fd.get(), &r, sizeof(r)); !s)
		return make_error(s.error().code, "hello reply: " + s.error().message);
	if (le32(r.hdr.magic) != QBD_PROTO_MAGIC)
		return make_error(EPROTO, "hello reply: magic " + std::to_string(le32(r.hdr.magic)) +
						  " is not QBD_PROTO_MAGIC");
	if (le32(r.status) != QBD_S_OK)
		return make_error(status_errno(le32(r.status)),
				  "hello " + o.pool + "/" + o.volume + ": status " + status_name(le32(r.status)));
	c.size = le64(r.size);
	c.vol_id = le64(r.vol_id);
	c.queue_depth = le32(r.queue_depth);
	c.shard_size = le64(r.shard_size);
	c.layout_version = le32(r.layout_version);
	if (c.shard_size == 0 || c.shard_size % o.block_size)
		return make_error(EPROTO, "hello reply: shard size " + std::to_string(c.shard_size) +
						  " is not a positive multiple of the block size");
	if (c.queue_depth < o.queue_depth)
		return make_error(EINVAL, "server granted queue depth " + std::to_string(c.queue_depth) +
						  ", less than the " + std::to_string(o.queue_depth) + " asked");
	if (le32(r.max_io) < o.block_size)
		return make_error(EINVAL, "server max_io " + std::to_string(le32(r.max_io)) +
						  " is below the block size " + std::to_string(o.block_size));
	if (c.size < o.block_size)
		return make_error(EINVAL, "volume size " + std::to_string(c.size) + " is below the block size");
	return c;
}

struct ConnResult {
	std::vector<uint32_t> lat_ns;
	uint64_t ios = 0, bytes = 0;
	Error error;
	bool failed = false;
};

// One connection's loop: keep queue_depth requests in flight until @stop,
// then drain. Latencies of requests completed after @ramp_end are kept.
void drive(Conn &c, const Options &o, uint32_t index, Clock::time_point ramp_end,
	   Clock::time_point stop, ConnResult &out)
{
	const uint32_t qd = o.queue_depth, bs = o.block_size;
	const bool write = o.pattern == Pattern::kRandWrite || o.pattern == Pattern::kSeqWrite;
	const bool random = o.pattern == Pattern::kRandRead || o.pattern == Pattern::kRandWrite;
	const uint64_t blocks = c.size / bs;
	uint64_t seq = (blocks / o.connections) * index;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (index + 1);
	std::vector<char> wbuf(bs, static_cast<char>(0x5a)), rbuf(bs);
	std::vector<Clock::time_point> sent(qd);
	std::vector<bool> busy(qd, false);
	out.lat_ns.reserve(1 << 16);

	auto next_off = [&]() -> uint64_t {
		if (random) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			return (rng % blocks) * bs;
		}
		uint64_t b = seq++ % blocks;
		return b * bs;
	};
	auto issue = [&](uint32_t slot) -> Status {
		qbd_req r;
		memset(&r, 0, sizeof(r));
		uint64_t off = next_off();
		r.magic = to_le32(QBD_PROTO_MAGIC);
		r.opcode = write ? QBD_OP_WRITE : QBD_OP_READ;
		r.handle = to_le64(slot);
		r.vol_id = to_le64(c.vol_id);
		r.shard = to_le32(static_cast<uint32_t>(off / c.shard_size));
		r.layout_version = to_le32(c.layout_version);
		r.offset = to_le64(off);
		r.length = to_le32(bs);
		struct iovec iov[2] = {{&r, sizeof(r)}, {wbuf.data(), bs}};
		busy[slot] = true;
		sent[slot] = Clock::now();
		return write_full(c.fd.get(), iov, write ? 2 : 1);
	};
	auto fail = [&](Error e) {
		out.failed = true;
		out.error = std::move(e);
	};

	uint32_t inflight = 0;
	for (uint32_t s = 0; s < qd; s++) {
		if (auto st = issue(s); !st)
			return fail(st.error());
		inflight++;
	}
	while (inflight) {
		qbd_reply rep;
		if (auto st = read_full(c.fd.get(), &rep, sizeof(rep)); !st)
			return fail(st.error());
		auto now = Clock::now();
		uint64_t h = le64(rep.handle);
		if (le32(rep.magic) != QBD_PROTO_MAGIC)
			return fail(make_error(EPROTO, "reply magic " + std::to_string(le32(rep.magic)) +
							       " is not QBD_PROTO_MAGIC"));
		if (h >= qd || !busy[h])
			return fail(make_error(EPROTO, "reply handle " + std::to_string(h) +
							       " matches no request in flight"));
		uint32_t st = le32(rep.status), len = le32(rep.length);
		if (st == QBD_S_OK && !write) {
			if (len != bs)
				return fail(make_error(EPROTO, "read reply length " + std::to_string(len) +
								       " is not the " + std::to_string(bs) +
								       " asked"));
			if (auto s = read_full(c.fd.get(), rbuf.data(), bs); !s)
				return fail(s.error());
		} else if (len != 0) {
			return fail(make_error(EPROTO, "reply length " + std::to_string(len) +
							       " on a reply without data"));
		}
		busy[h] = false;
		if (st != QBD_S_OK)
			return fail(make_error(status_errno(st), std::string(write ? "WRITE" : "READ") +
									 " failed with status " + status_name(st) +
									 " (see the server log)"));
		if (now >= ramp_end && now < stop) {
			out.ios++;
			out.bytes += bs;
			auto ns = duration_cast<nanoseconds>(now - sent[h]).count();
			out.lat_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX)));
		}
		if (now < stop) {
			if (auto s = issue(static_cast<uint32_t>(h)); !s)
				return fail(s.error());
		} else {
			inflight--;
		}
	}
}

}  // namespace

Result<Report> run(const Options &o)
{
	if (o.connections == 0 || o.queue_depth == 0)
		return make_error(EINVAL, "connections and queue depth must be at least 1");
	if (o.block_size == 0 || o.block_size % QBD_PROTO_SECTOR || o.block_size > QBD_PROTO_MAX_IO)
		return make_error(EINVAL, "block size " + std::to_string(o.block_size) +
						  " is not a multiple of 512 in 512..1M");
	std::vector<Conn> conns;
	conns.reserve(o.connections);
	for (uint32_t i = 0; i < o.connections; i++) {
		auto c = open_conn(o, i);
		if (!c)
			return make_error(c.error().code,
					  "connection " + std::to_string(i) + ": " + c.error().message);
		conns.push_back(std::move(*c));
	}
	auto start = Clock::now();
	auto ramp_end = start + duration_cast<Clock::duration>(duration<double>(o.ramp_s));
	auto stop = ramp_end + duration_cast<Clock::duration>(duration<double>(o.runtime_s));
	std::vector<ConnResult> res(o.connections);
	std::vector<std::thread> threads;
	for (uint32_t i = 0; i < o.connections; i++)
		threads.emplace_back([&, i] { drive(conns[i], o, i, ramp_end, stop, res[i]); });
	for (auto &t : threads)
		t.join();

	Report rep;
	rep.volume_size = conns[0].size;
	std::vector<uint32_t> all;
	for (uint32_t i = 0; i < o.connections; i++) {
		if (res[i].failed)
			return make_error(res[i].error.code,
					  "connection " + std::to_string(i) + ": " + res[i].error.message);
		rep.ios += res[i].ios;
		rep.bytes += res[i].bytes;
		all.insert(all.end(), res[i].lat_ns.begin(), res[i].lat_ns.end());
	}
	std::sort(all.begin(), all.end());
	rep.seconds = o.runtime_s;
	rep.iops = static_cast<double>(rep.ios) / rep.seconds;
	rep.mib_s = static_cast<double>(rep.bytes) / rep.seconds / (1 << 20);
	double sum = 0;
	for (auto v : all)
		sum += v;
	rep.lat_mean_us = all.empty() ? 0 : sum / static_cast<double>(all.size()) / 1000;
	rep.lat_p50_us = percentile(all, 50) / 1000;
	rep.lat_p99_us = percentile(all, 99) / 1000;
	rep.lat_p999_us = percentile(all, 99.9) / 1000;
	rep.lat_max_us = all.empty() ? 0 : all.back() / 1000.0;
	return rep;
}

}  // namespace qbd::loadgen
