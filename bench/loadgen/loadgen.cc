#include "loadgen.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "link.h"
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

struct ConnResult {
	std::vector<uint32_t> lat_ns;
	uint64_t ios = 0, bytes = 0;
	Error error;
	bool failed = false;
};

struct Conn {
	std::unique_ptr<Link> link;
	HelloInfo info;
};

Result<Conn> open_conn(const Options &o, uint32_t qid, uint32_t max_io)
{
	Conn c;
	c.link = make_link(o);
	if (auto s = c.link->alloc(o.queue_depth, max_io); !s)
		return s.error();
	auto r = c.link->open(make_hello(o, qid, max_io));
	if (!r)
		return r.error();
	auto info = check_hello_reply(o, *r, max_io);
	if (!info)
		return info.error();
	c.info = *info;
	return c;
}

qbd_req make_req(const HelloInfo &c, uint8_t op, uint64_t off, uint32_t len, uint32_t slot)
{
	qbd_req r;
	memset(&r, 0, sizeof(r));
	r.magic = to_le32(QBD_PROTO_MAGIC);
	r.opcode = op;
	r.handle = to_le64(slot);
	r.vol_id = to_le64(c.vol_id);
	r.shard = to_le32(static_cast<uint32_t>(off / c.shard_size));
	r.layout_version = to_le32(c.layout_version);
	r.offset = to_le64(off);
	r.length = to_le32(len);
	return r;
}

// Keeps up to queue_depth requests in flight: @next fills the next request
// for a free slot (false: no more), @done sees each completed one with its
// reply (data in link.buf(slot)). Checks that every reply matches a
// request in flight and carries the right length.
struct Pump {
	using Next = std::function<bool(uint32_t slot, qbd_req &r)>;
	using Done = std::function<Status(uint32_t slot, const qbd_req &r, const qbd_reply &rep)>;
	static Status run(Conn &c, uint32_t qd, const Next &next, const Done &done)
	{
		std::vector<qbd_req> reqs(qd);
		std::vector<bool> busy(qd, false);
		uint32_t inflight = 0;
		bool more = true;
		auto issue = [&](uint32_t slot) -> Status {
			if (!more || !next(slot, reqs[slot])) {
				more = false;
				return ok_status();
			}
			busy[slot] = true;
			inflight++;
			return c.link->submit(reqs[slot], slot);
		};
		for (uint32_t s = 0; s < qd; s++)
			if (auto st = issue(s); !st)
				return st;
		while (inflight) {
			qbd_reply rep;
			if (auto st = c.link->wait(rep); !st)
				return st;
			uint64_t h = le64(rep.handle);
			if (le32(rep.magic) != QBD_PROTO_MAGIC)
				return make_error(EPROTO, "reply magic " + std::to_string(le32(rep.magic)) +
								  " is not QBD_PROTO_MAGIC");
			if (h >= qd || !busy[h])
				return make_error(EPROTO, "reply handle " + std::to_string(h) +
								  " matches no request in flight");
			const qbd_req &r = reqs[h];
			uint32_t st = le32(rep.status), len = le32(rep.length);
			uint32_t want = st == QBD_S_OK && r.opcode == QBD_OP_READ ? le32(r.length) : 0;
			// Over RDMA the data is not in the stream; a READ reply may
			// still name its length.
			if (len != want && !(c.link->rkey() && len == 0 && r.opcode == QBD_OP_READ))
				return make_error(EPROTO, std::string(op_name(r.opcode)) + " reply length " +
								  std::to_string(len) + ", want " + std::to_string(want));
			busy[h] = false;
			inflight--;
			if (st != QBD_S_OK)
				return make_error(status_errno(st), std::string(op_name(r.opcode)) + " offset " +
									  std::to_string(le64(r.offset)) + " length " +
									  std::to_string(le32(r.length)) +
									  " failed with status " + status_name(st) +
									  " (see the server log)");
			if (auto s = done(static_cast<uint32_t>(h), r, rep); !s)
				return s;
			if (auto s = issue(static_cast<uint32_t>(h)); !s)
				return s;
		}
		return ok_status();
	}
};

// One connection's benchmark loop: queue_depth requests in flight until
// @stop, then drain. Latencies of requests completed after @ramp_end are
// kept.
void drive(Conn &c, const Options &o, uint32_t index, Clock::time_point ramp_end,
	   Clock::time_point stop, ConnResult &out)
{
	const uint32_t qd = o.queue_depth, bs = o.block_size;
	const bool write = o.pattern == Pattern::kRandWrite || o.pattern == Pattern::kSeqWrite;
	const bool random = o.pattern == Pattern::kRandRead || o.pattern == Pattern::kRandWrite;
	const uint64_t blocks = c.info.size / bs;
	uint64_t seq = (blocks / o.connections) * index;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (index + 1);
	for (uint32_t s = 0; s < qd; s++)
		memset(c.link->buf(s), 0x5a, bs);
	std::vector<Clock::time_point> sent(qd);
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
	auto next = [&](uint32_t slot, qbd_req &r) {
		if (Clock::now() >= stop)
			return false;
		r = make_req(c.info, write ? QBD_OP_WRITE : QBD_OP_READ, next_off(), bs, slot);
		sent[slot] = Clock::now();
		return true;
	};
	auto done = [&](uint32_t slot, const qbd_req &, const qbd_reply &) {
		auto now = Clock::now();
		if (now >= ramp_end && now < stop) {
			out.ios++;
			out.bytes += bs;
			auto ns = duration_cast<nanoseconds>(now - sent[slot]).count();
			out.lat_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX)));
		}
		return ok_status();
	};
	if (auto s = Pump::run(c, qd, next, done); !s) {
		out.failed = true;
		out.error = s.error();
	}
}

Result<std::vector<Conn>> open_all(const Options &o, uint32_t max_io)
{
	if (o.connections == 0 || o.queue_depth == 0)
		return make_error(EINVAL, "connections and queue depth must be at least 1");
	if (o.block_size == 0 || o.block_size % QBD_PROTO_SECTOR || max_io > QBD_PROTO_MAX_IO ||
	    o.block_size > max_io)
		return make_error(EINVAL, "block size " + std::to_string(o.block_size) +
						  " is not a multiple of 512 in 512..1M");
	std::vector<Conn> conns;
	conns.reserve(o.connections);
	for (uint32_t i = 0; i < o.connections; i++) {
		auto c = open_conn(o, i, max_io);
		if (!c)
			return make_error(c.error().code,
					  "connection " + std::to_string(i) + ": " + c.error().message);
		conns.push_back(std::move(*c));
	}
	return conns;
}

}  // namespace

Result<Report> run(const Options &o)
{
	auto opened = open_all(o, o.block_size);
	if (!opened)
		return opened.error();
	std::vector<Conn> &conns = *opened;
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
	rep.volume_size = conns[0].info.size;
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

namespace {

// The pattern: every 8-byte word is a function of its byte offset in the
// volume and the seed, so any misplaced, stale or torn data shows.
inline uint64_t pattern_word(uint64_t seed, uint64_t off)
{
	uint64_t x = off ^ (seed * 0x9e3779b97f4a7c15ull);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

void fill_pattern(char *buf, uint64_t off, uint32_t len, uint64_t seed)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, off + i);
		memcpy(buf + i, &w, 8);
	}
}

// Splits [begin, end) into requests of random power-of-two sizes in
// [min, max], each aligned to its size (so none crosses a shard, whose
// size is a power of two >= 1 MiB).
struct Splitter {
	uint64_t pos, end;
	uint32_t min, max;
	uint64_t rng;
	bool next(uint64_t *off, uint32_t *len)
	{
		if (pos >= end)
			return false;
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		uint32_t steps = 0;
		for (uint32_t s = min; s < max; s <<= 1)
			steps++;
		uint32_t s = min << (rng % (steps + 1));
		while (s > min && (pos % s || pos + s > end))
			s >>= 1;
		*off = pos;
		*len = s;
		pos += s;
		return true;
	}
};

}  // namespace

Result<VerifyReport> verify(const Options &o)
{
	if (o.max_block_size < o.block_size || (o.block_size & (o.block_size - 1)) ||
	    (o.max_block_size & (o.max_block_size - 1)) || o.block_size < 4096)
		return make_error(EINVAL, "verify sizes " + std::to_string(o.block_size) + ".." +
						  std::to_string(o.max_block_size) +
						  " must be powers of two from 4k");
	auto opened = open_all(o, o.max_block_size);
	if (!opened)
		return opened.error();
	std::vector<Conn> &conns = *opened;
	uint64_t size = conns[0].info.size;
	uint64_t span = o.span ? std::min(o.span, size) : size;
	uint64_t share = span / o.connections / o.max_block_size * o.max_block_size;
	if (share == 0)
		return make_error(EINVAL, "span " + std::to_string(span) + " is too small for " +
						  std::to_string(o.connections) + " connections of " +
						  std::to_string(o.max_block_size) + "-byte requests");
	std::vector<VerifyReport> reps(o.connections);
	std::vector<Status> errs(o.connections, ok_status());
	std::atomic<uint32_t> printed{0};
	std::vector<std::thread> threads;
	for (uint32_t i = 0; i < o.connections; i++) {
		threads.emplace_back([&, i] {
			Conn &c = conns[i];
			VerifyReport &vr = reps[i];
			uint64_t begin = share * i, end = begin + share;
			Splitter w{begin, end, o.block_size, o.max_block_size, o.seed * 7919 + i + 1};
			auto next_w = [&](uint32_t slot, qbd_req &r) {
				uint64_t off;
				uint32_t len;
				if (!w.next(&off, &len))
					return false;
				r = make_req(c.info, QBD_OP_WRITE, off, len, slot);
				fill_pattern(c.link->buf(slot), off, len, o.seed);
				return true;
			};
			auto done_w = [&](uint32_t, const qbd_req &r, const qbd_reply &) {
				vr.writes++;
				vr.bytes += le32(r.length);
				return ok_status();
			};
			if (auto s = o.read_only ? ok_status() : Pump::run(c, o.queue_depth, next_w, done_w); !s) {
				errs[i] = s;
				return;
			}
			// Read back, split differently.
			Splitter rd{begin, end, o.block_size, o.max_block_size, o.seed * 104729 + i + 7};
			std::vector<char> want(o.max_block_size);
			auto next_r = [&](uint32_t slot, qbd_req &r) {
				uint64_t off;
				uint32_t len;
				if (!rd.next(&off, &len))
					return false;
				r = make_req(c.info, QBD_OP_READ, off, len, slot);
				memset(c.link->buf(slot), 0, len);
				return true;
			};
			auto done_r = [&](uint32_t slot, const qbd_req &r, const qbd_reply &) {
				uint64_t off = le64(r.offset);
				uint32_t len = le32(r.length);
				vr.reads++;
				vr.bytes += len;
				fill_pattern(want.data(), off, len, o.seed);
				const char *got = c.link->buf(slot);
				for (uint32_t s = 0; s < len; s += QBD_PROTO_SECTOR) {
					if (!memcmp(got + s, want.data() + s, QBD_PROTO_SECTOR))
						continue;
					vr.mismatched_sectors++;
					if (printed++ < 10)
						fprintf(stderr, "qbd-loadgen: MISMATCH at byte offset %llu (READ "
								"offset %llu length %u, connection %u)\n",
							static_cast<unsigned long long>(off + s),
							static_cast<unsigned long long>(off), len, i);
				}
				return ok_status();
			};
			if (auto s = Pump::run(c, o.queue_depth, next_r, done_r); !s)
				errs[i] = s;
		});
	}
	for (auto &t : threads)
		t.join();
	VerifyReport total;
	for (uint32_t i = 0; i < o.connections; i++) {
		if (!errs[i])
			return make_error(errs[i].error().code,
					  "connection " + std::to_string(i) + ": " + errs[i].error().message);
		total.writes += reps[i].writes;
		total.reads += reps[i].reads;
		total.bytes += reps[i].bytes;
		total.mismatched_sectors += reps[i].mismatched_sectors;
	}
	return total;
}

Result<uint32_t> hostile(const Options &o)
{
	if (o.transport != Transport::rdma)
		return make_error(EINVAL, "--hostile needs an rdma:// server");
	struct Case {
		const char *name;
		bool hello;  // send a good hello first
		std::function<Status(Link &, const HelloInfo &)> act;
	};
	auto req_with = [](const HelloInfo &h, uint8_t op, uint32_t len, std::function<void(qbd_req &)> f) {
		qbd_req r = make_req(h, op, 0, len, 0);
		f(r);
		return r;
	};
	const std::vector<Case> cases = {
		{"short-message", true, [](Link &l, const HelloInfo &) {
			 char b[10] = {};
			 return l.send_raw(b, sizeof(b));
		 }},
		{"oversized-message", true, [](Link &l, const HelloInfo &) {
			 char b[QBD_RDMA_REQ_BUF + 40];
			 memset(b, 0x51, sizeof(b));
			 return l.send_raw(b, sizeof(b));
		 }},
		{"short-hello", false, [](Link &l, const HelloInfo &) {
			 char b[64] = {};
			 return l.send_raw(b, sizeof(b));
		 }},
		{"bad-magic-hello", false, [&](Link &l, const HelloInfo &) {
			 qbd_hello h = make_hello(o, 0, o.block_size);
			 h.hdr.magic = to_le32(0x0badf00d);
			 return l.send_raw(&h, sizeof(h));
		 }},
		{"bad-magic-request", true, [&](Link &l, const HelloInfo &h) {
			 qbd_req r = req_with(h, QBD_OP_READ, 4096, [](qbd_req &x) { x.magic = 0; });
			 return l.submit(r, 0);
		 }},
		{"zero-rkey-read", true, [&](Link &l, const HelloInfo &h) {
			 qbd_req r = req_with(h, QBD_OP_READ, 4096, [&](qbd_req &x) {
				 x.rdma_addr = to_le64(reinterpret_cast<uintptr_t>(l.buf(0)));
			 });
			 return l.submit(r, 0, true);
		 }},
		{"garbage-rkey-write", true, [&](Link &l, const HelloInfo &h) {
			 qbd_req r = req_with(h, QBD_OP_WRITE, 4096, [&](qbd_req &x) {
				 x.rdma_addr = to_le64(reinterpret_cast<uintptr_t>(l.buf(0)));
				 x.rdma_key = to_le32(l.rkey() ^ 0x5a5a5a00u);
			 });
			 return l.submit(r, 0, true);
		 }},
		{"garbage-addr-read", true, [&](Link &l, const HelloInfo &h) {
			 qbd_req r = req_with(h, QBD_OP_READ, 4096, [&](qbd_req &x) {
				 x.rdma_addr = to_le64(0xdead0000000ull);
				 x.rdma_key = to_le32(l.rkey());
			 });
			 return l.submit(r, 0, true);
		 }},
		{"huge-length-write", true, [&](Link &l, const HelloInfo &h) {
			 qbd_req r = req_with(h, QBD_OP_WRITE, 0xfffffe00u, [](qbd_req &) {});
			 return l.submit(r, 0);
		 }},
	};
	uint32_t failed = 0;
	for (auto &k : cases) {
		auto link = make_link(o);
		if (auto s = link->alloc(1, o.block_size); !s)
			return s.error();
		HelloInfo info;
		Status acted = ok_status();
		if (k.hello) {
			auto r = link->open(make_hello(o, 0, o.block_size));
			if (!r)
				return make_error(r.error().code, std::string(k.name) + ": " + r.error().message);
			auto i = check_hello_reply(o, *r, o.block_size);
			if (!i)
				return make_error(i.error().code, std::string(k.name) + ": " + i.error().message);
			info = *i;
			acted = k.act(*link, info);
		} else {
			if (auto s = link->connect_only(); !s)
				return make_error(s.error().code, std::string(k.name) + ": " + s.error().message);
			acted = k.act(*link, info);
		}
		// The server dropping us is the pass, even when it was quick enough
		// to make our own send fail (a flushed SEND of the bad hello).
		if (!acted)
			fprintf(stderr, "hostile %s: %s\n", k.name, acted.error().message.c_str());
		bool ok = link->disconnected_within(15);
		if (!ok)
			failed++;
		printf("hostile %-20s %s\n", k.name, ok ? "disconnected (pass)" : "NOT disconnected (FAIL)");
		fflush(stdout);
	}
	return failed;
}

}  // namespace qbd::loadgen
