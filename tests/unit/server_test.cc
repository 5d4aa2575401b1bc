// The server's IO engine end to end over loopback: an in-process server on
// an ephemeral port, volumes in a temporary data directory.
#include <sys/wait.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "crc32c.h"
#include "server_test_util.h"

using namespace qbd;
using namespace qbd::testing;

namespace {

constexpr uint64_t kVolSize = 16ull << 20;

struct ServerIo : ::testing::Test {
	TestServer ts;
	void SetUp() override
	{
		auto a = ts.admin();
		auto v = a.create("pool", "vol", kVolSize, 4096, 1ull << 20);  // 1 MiB shards
		ASSERT_TRUE(v.ok()) << v.error().message;
	}
	IoClient open() { return IoClient::open(ts.ep, "pool", "vol"); }
};

TEST_F(ServerIo, HelloGrantsGeometry)
{
	IoClient c = open();
	EXPECT_EQ(le32(c.hello.status), QBD_S_OK);
	EXPECT_EQ(le64(c.hello.size), kVolSize);
	EXPECT_EQ(le64(c.hello.shard_size), 1ull << 20);
	EXPECT_EQ(le32(c.hello.block_size), 4096u);
	EXPECT_EQ(le32(c.hello.queue_depth), 32u);
	EXPECT_EQ(le64(c.hello.features), QBD_PF_ALL);
	EXPECT_EQ(le32(c.hello.max_io), QBD_PROTO_MAX_IO);
}

TEST_F(ServerIo, WriteReadBack)
{
	IoClient c = open();
	for (uint32_t len : {512u, 4096u, 65536u, 1u << 20}) {
		uint64_t off = (len == (1u << 20)) ? 3ull << 20 : 8192 + len;
		auto d = pattern(len, len);
		ASSERT_EQ(c.write(off, d), QBD_S_OK) << "len " << len;
		EXPECT_EQ(c.read(off, len), d) << "len " << len;
	}
	// Unaligned-to-4096 (but 512-aligned) offsets go through the buffered path.
	auto d = pattern(1536, 7);
	ASSERT_EQ(c.write(512 * 3, d), QBD_S_OK);
	EXPECT_EQ(c.read(512 * 3, 1536), d);
}

// Data digest (QBD_PF_DATA_DIGEST): granted over TCP; a WRITE whose data does
// not match its digest is refused with DIGEST and nothing is written; READ
// replies carry the CRC32C of their data; without the feature nothing changes.
TEST_F(ServerIo, DataDigest)
{
	IoClient c = IoClient::open(ts.ep, "pool", "vol", QBD_PF_ALL | QBD_PF_DATA_DIGEST);
	ASSERT_EQ(le64(c.hello.features), QBD_PF_ALL | QBD_PF_DATA_DIGEST);
	auto d = pattern(8192, 11);
	qbd_req w = c.req(QBD_OP_WRITE, 4096, d.size(), 5);
	w.digest = to_le32(crc32c(d.data(), d.size()));
	ASSERT_EQ(c.call(w, d.data(), d.size()).status, QBD_S_OK);
	IoReply r = c.call(c.req(QBD_OP_READ, 4096, d.size(), 6));
	ASSERT_EQ(r.status, QBD_S_OK);
	EXPECT_EQ(r.data, d);
	EXPECT_EQ(r.digest, crc32c(d.data(), d.size()));

	// A bad digest: DIGEST, the old data stays, the connection carries on.
	auto bad = pattern(8192, 12);
	qbd_req w2 = c.req(QBD_OP_WRITE, 4096, bad.size(), 7);
	w2.digest = to_le32(crc32c(bad.data(), bad.size()) ^ 1);
	EXPECT_EQ(c.call(w2, bad.data(), bad.size()).status, QBD_S_DIGEST);
	EXPECT_EQ(c.read(4096, d.size()), d);

	// A digest on anything but a WRITE is refused.
	qbd_req rd = c.req(QBD_OP_READ, 0, 4096, 8);
	rd.digest = to_le32(1);
	EXPECT_EQ(c.call(rd).status, QBD_S_INVALID);

	// Without the feature: no digest in READ replies, none accepted in WRITEs.
	IoClient plain = open();
	EXPECT_EQ(le64(plain.hello.features), QBD_PF_ALL);
	IoReply pr = plain.call(plain.req(QBD_OP_READ, 4096, 4096, 9));
	EXPECT_EQ(pr.status, QBD_S_OK);
	EXPECT_EQ(pr.digest, 0u);
	qbd_req w3 = plain.req(QBD_OP_WRITE, 0, 4096, 10);
	w3.digest = to_le32(crc32c(d.data(), 4096));
	EXPECT_EQ(plain.call(w3, d.data(), 4096).status, QBD_S_UNSUPPORTED);
}

TEST_F(ServerIo, FlushFuaPing)
{
	IoClient c = open();
	auto d = pattern(4096, 3);
	EXPECT_EQ(c.write(0, d, QBD_RF_FUA), QBD_S_OK);
	EXPECT_EQ(c.call(c.req(QBD_OP_FLUSH, 0, 0, 9)).status, QBD_S_OK);
	IoReply p = c.call(c.req(QBD_OP_PING, 0, 0, 0xabcdef));
	EXPECT_EQ(p.status, QBD_S_OK);
	EXPECT_EQ(p.handle, 0xabcdefu);
	EXPECT_TRUE(p.data.empty());
	EXPECT_EQ(c.read(0, 4096), d);
}

// Size-change notice: PING replies carry the volume's size, also after
// another admin grew it; other replies carry 0.
TEST_F(ServerIo, PingReplyCarriesVolumeSize)
{
	IoClient c = open();
	IoReply p = c.call(c.req(QBD_OP_PING, 0, 0, 77));
	ASSERT_EQ(p.status, QBD_S_OK);
	EXPECT_EQ(p.vol_size, kVolSize);
	EXPECT_EQ(c.call(c.req(QBD_OP_FLUSH, 0, 0, 78)).vol_size, 0u);
	auto grown = ts.admin().resize("pool", "vol", 2 * kVolSize);
	ASSERT_TRUE(grown.ok()) << grown.error().message;
	p = c.call(c.req(QBD_OP_PING, 0, 0, 79));
	ASSERT_EQ(p.status, QBD_S_OK);
	EXPECT_EQ(p.vol_size, 2 * kVolSize);
}

TEST_F(ServerIo, DiscardAndWriteZeroesReadZeros)
{
	IoClient c = open();
	auto d = pattern(65536, 5);
	ASSERT_EQ(c.write(0, d), QBD_S_OK);
	ASSERT_EQ(c.write(65536, d), QBD_S_OK);
	EXPECT_EQ(c.call(c.req(QBD_OP_DISCARD, 4096, 8192, 1)).status, QBD_S_OK);
	EXPECT_EQ(c.call(c.req(QBD_OP_WRITE_ZEROES, 65536 + 512, 1024, 1)).status, QBD_S_OK);
	auto a = c.read(0, 65536), b = c.read(65536, 65536);
	std::vector<char> want = d;
	std::fill(want.begin() + 4096, want.begin() + 12288, 0);
	EXPECT_EQ(a, want);
	want = d;
	std::fill(want.begin() + 512, want.begin() + 1536, 0);
	EXPECT_EQ(b, want);
}

TEST_F(ServerIo, BadRequestsGetErrorRepliesAndTheConnectionCarriesOn)
{
	IoClient c = open();
	struct Case {
		const char *name;
		qbd_req r;
		uint32_t status;
	};
	auto mk = [&](uint8_t op, uint64_t off, uint32_t len) { return c.req(op, off, len, 77); };
	std::vector<Case> cases;
	cases.push_back({"past the end", mk(QBD_OP_READ, kVolSize - 512, 1024), QBD_S_OUT_OF_RANGE});
	cases.push_back({"offset at the end", mk(QBD_OP_READ, kVolSize, 512), QBD_S_OUT_OF_RANGE});
	{
		qbd_req r = mk(QBD_OP_READ, 0, 512);
		r.offset = to_le64(UINT64_MAX - 511);  // offset + length wraps
		cases.push_back({"offset near 2^64", r, QBD_S_OUT_OF_RANGE});
	}
	cases.push_back({"misaligned offset", mk(QBD_OP_READ, 100, 512), QBD_S_INVALID});
	cases.push_back({"misaligned length", mk(QBD_OP_READ, 0, 100), QBD_S_INVALID});
	cases.push_back({"zero-length read", mk(QBD_OP_READ, 0, 0), QBD_S_INVALID});
	cases.push_back({"read over max IO", mk(QBD_OP_READ, 0, QBD_PROTO_MAX_IO + 512), QBD_S_TOO_BIG});
	cases.push_back({"unknown opcode", mk(99, 0, 512), QBD_S_UNSUPPORTED});
	{
		qbd_req r = mk(QBD_OP_READ, 0, 512);
		r.flags = 0x80;
		cases.push_back({"unknown flag", r, QBD_S_INVALID});
	}
	{
		qbd_req r = mk(QBD_OP_READ, 0, 512);
		r.vol_id = to_le64(12345);
		cases.push_back({"wrong vol_id", r, QBD_S_INVALID});
	}
	{
		qbd_req r = mk(QBD_OP_READ, 0, 512);
		r.shard = to_le32(3);
		cases.push_back({"wrong shard", r, QBD_S_INVALID});
	}
	cases.push_back({"read crosses a shard", mk(QBD_OP_READ, (1 << 20) - 512, 1024), QBD_S_INVALID});
	{
		qbd_req r = mk(QBD_OP_READ, 0, 512);
		r.layout_version = to_le32(0);
		cases.push_back({"stale layout", r, QBD_S_STALE_LAYOUT});
	}
	cases.push_back({"flush with a length", mk(QBD_OP_FLUSH, 0, 512), QBD_S_INVALID});
	for (auto &k : cases) {
		IoReply rep = c.call(k.r);
		EXPECT_EQ(rep.status, k.status) << k.name;
		EXPECT_EQ(rep.handle, 77u) << k.name;
		EXPECT_TRUE(rep.data.empty()) << k.name;
	}
	// A refused WRITE: its payload is skipped and the stream stays in sync.
	auto d = pattern(4096, 1);
	qbd_req w = mk(QBD_OP_WRITE, kVolSize, 4096);
	EXPECT_EQ(c.call(w, d.data(), d.size()).status, QBD_S_OUT_OF_RANGE);
	ASSERT_EQ(c.write(0, d), QBD_S_OK);
	EXPECT_EQ(c.read(0, 4096), d);
}

TEST_F(ServerIo, StreamBreakersCloseTheConnection)
{
	{
		IoClient c = open();
		qbd_req r = c.req(QBD_OP_READ, 0, 512, 1);
		r.magic = to_le32(0xdeadbeef);
		ASSERT_TRUE(c.send_req(r));
		EXPECT_TRUE(c.closed_by_peer()) << "bad magic";
	}
	{
		IoClient c = open();
		qbd_req r = c.req(QBD_OP_WRITE, 0, 0xfffffe00u, 1);  // ~4 GiB payload announced
		ASSERT_TRUE(c.send_req(r));
		EXPECT_TRUE(c.closed_by_peer()) << "huge write";
	}
	{
		IoClient c = open();
		std::vector<char> junk(4096, 'x');
		ASSERT_TRUE(send_all(c.fd.get(), junk.data(), junk.size(), soon()).ok());
		EXPECT_TRUE(c.closed_by_peer()) << "garbage";
	}
}

TEST_F(ServerIo, HelloRefusals)
{
	struct Case {
		const char *name;
		std::function<void(qbd_hello &)> mutate;
		uint32_t status;
	};
	std::vector<Case> cases = {
		{"no such volume", [](qbd_hello &h) { write_fixed(h.volume, sizeof(h.volume), "nope"); }, QBD_S_NO_VOLUME},
		{"pool not NUL-terminated", [](qbd_hello &h) { memset(h.pool, 'a', sizeof(h.pool)); }, QBD_S_INVALID},
		{"volume not NUL-terminated", [](qbd_hello &h) { memset(h.volume, 'a', sizeof(h.volume)); }, QBD_S_INVALID},
		{"bad volume name", [](qbd_hello &h) { write_fixed(h.volume, sizeof(h.volume), ".."); }, QBD_S_INVALID},
		{"bad pool name", [](qbd_hello &h) { write_fixed(h.pool, sizeof(h.pool), "a b"); }, QBD_S_INVALID},
		{"vol_id mismatch", [](qbd_hello &h) { h.vol_id = to_le64(999); }, QBD_S_NO_VOLUME},
		{"queue depth 0", [](qbd_hello &h) { h.queue_depth = 0; }, QBD_S_INVALID},
		{"max_io 100", [](qbd_hello &h) { h.max_io = to_le32(100); }, QBD_S_INVALID},
		{"reserved set", [](qbd_hello &h) { h.reserved[3] = 1; }, QBD_S_INVALID},
		{"version 2", [](qbd_hello &h) { h.hdr.version = to_le16(2); }, QBD_S_UNSUPPORTED},
	};
	for (auto &k : cases) {
		auto fd = tcp_connect(ts.ep, 5s);
		ASSERT_TRUE(fd.ok());
		qbd_hello h = make_hello("pool", "vol");
		k.mutate(h);
		ASSERT_TRUE(send_all(fd->get(), &h, sizeof(h), soon()).ok());
		qbd_hello_reply rep;
		ASSERT_TRUE(recv_all(fd->get(), &rep, sizeof(rep), soon()).ok()) << k.name;
		EXPECT_EQ(le32(rep.status), k.status) << k.name;
		char b;
		EXPECT_FALSE(recv_all(fd->get(), &b, 1, soon()).ok()) << k.name << ": not closed";
	}
	// Depth is clamped to the server's limit.
	auto fd = tcp_connect(ts.ep, 5s);
	ASSERT_TRUE(fd.ok());
	qbd_hello h = make_hello("pool", "vol", 100000);
	ASSERT_TRUE(send_all(fd->get(), &h, sizeof(h), soon()).ok());
	qbd_hello_reply rep;
	ASSERT_TRUE(recv_all(fd->get(), &rep, sizeof(rep), soon()).ok());
	EXPECT_EQ(le32(rep.status), QBD_S_OK);
	EXPECT_EQ(le32(rep.queue_depth), 128u);
}

// Many requests in flight on one connection; replies matched by handle.
TEST_F(ServerIo, PipelinedRequests)
{
	IoClient c = open();
	constexpr int kN = 64;
	std::map<uint64_t, std::vector<char>> want;
	for (int i = 0; i < kN; i++) {
		auto d = pattern(8192, i);
		ASSERT_TRUE(c.send_req(c.req(QBD_OP_WRITE, i * 8192ull, 8192, 1000 + i), d.data(), d.size()));
		want[i] = d;
	}
	for (int i = 0; i < kN; i++) {
		IoReply r = c.recv_reply();
		ASSERT_EQ(r.status, QBD_S_OK);
		EXPECT_TRUE(r.handle >= 1000 && r.handle < 1000 + kN);
	}
	for (int i = 0; i < kN; i++)
		ASSERT_TRUE(c.send_req(c.req(QBD_OP_READ, i * 8192ull, 8192, 2000 + i)));
	std::set<uint64_t> seen;
	for (int i = 0; i < kN; i++) {
		IoReply r = c.recv_reply();
		ASSERT_EQ(r.status, QBD_S_OK);
		ASSERT_TRUE(r.handle >= 2000 && r.handle < 2000 + kN);
		EXPECT_TRUE(seen.insert(r.handle).second) << "handle twice";
		EXPECT_EQ(r.data, want[r.handle - 2000]) << "handle " << r.handle;
	}
}

// The same hello + write + read stream cut into fragments of every size
// from 1 to 300 bytes: the server's parser reassembles them.
TEST_F(ServerIo, FragmentedStream)
{
	for (size_t frag = 1; frag <= 300; frag += (frag < 80 ? 1 : 23)) {
		auto fd = tcp_connect(ts.ep, 5s);
		ASSERT_TRUE(fd.ok());
		IoClient c;
		c.fd = std::move(*fd);
		c.geo.vol_id = 1;
		c.geo.layout_version = 1;
		c.geo.shard_size = 1 << 20;
		std::vector<char> stream;
		auto add = [&](const void *p, size_t n) {
			stream.insert(stream.end(), static_cast<const char *>(p), static_cast<const char *>(p) + n);
		};
		qbd_hello h = make_hello("pool", "vol");
		add(&h, sizeof(h));
		auto d = pattern(1024, static_cast<uint32_t>(frag));
		qbd_req w = c.req(QBD_OP_WRITE, frag * 1024, 1024, 1);
		add(&w, sizeof(w));
		add(d.data(), d.size());
		auto send_cut = [&] {
			for (size_t off = 0; off < stream.size(); off += frag)
				ASSERT_TRUE(send_all(c.fd.get(), stream.data() + off,
						     std::min(frag, stream.size() - off), soon()).ok());
			stream.clear();
		};
		send_cut();
		ASSERT_TRUE(recv_all(c.fd.get(), &c.hello, sizeof(c.hello), soon()).ok());
		ASSERT_EQ(le32(c.hello.status), QBD_S_OK) << "fragment " << frag;
		IoReply a = c.recv_reply();
		EXPECT_EQ(a.status, QBD_S_OK) << "fragment " << frag;
		EXPECT_EQ(a.handle, 1u);
		// The read goes after the write's reply: in-flight requests are unordered.
		qbd_req r = c.req(QBD_OP_READ, frag * 1024, 1024, 2);
		add(&r, sizeof(r));
		send_cut();
		IoReply b = c.recv_reply();
		EXPECT_EQ(b.status, QBD_S_OK) << "fragment " << frag;
		EXPECT_EQ(b.handle, 2u);
		EXPECT_EQ(b.data, d) << "fragment " << frag;
	}
}

TEST_F(ServerIo, ResizeGrowsWhatOpenConnectionsMayReach)
{
	IoClient c = open();
	auto d = pattern(4096, 9);
	qbd_req w = c.req(QBD_OP_WRITE, kVolSize, 4096, 1);
	EXPECT_EQ(c.call(w, d.data(), d.size()).status, QBD_S_OUT_OF_RANGE);
	auto a = ts.admin();
	ASSERT_TRUE(a.resize("pool", "vol", kVolSize * 2).ok());
	EXPECT_EQ(c.call(w, d.data(), d.size()).status, QBD_S_OK);
	EXPECT_EQ(c.read(kVolSize, 4096), d);
}

TEST_F(ServerIo, ForcedDeleteFailsOpenConnectionsIo)
{
	IoClient c = open();
	auto a = ts.admin();
	auto busy = a.remove("pool", "vol", false);
	ASSERT_FALSE(busy.ok());
	EXPECT_EQ(busy.error().code, EBUSY);
	ASSERT_TRUE(a.remove("pool", "vol", true).ok());
	EXPECT_EQ(c.call(c.req(QBD_OP_READ, 0, 512, 1)).status, QBD_S_NO_VOLUME);
}

TEST(ServerLimits, QueueDepthBackpressureAndMaxConnections)
{
	server::Limits lim;
	lim.max_queue_depth = 2;
	lim.max_connections = 3;
	TestServer ts(lim, 1);
	ASSERT_TRUE(ts.admin().create("p", "v", 1 << 20).ok());
	IoClient c = IoClient::open(ts.ep, "p", "v");
	EXPECT_EQ(le32(c.hello.queue_depth), 2u);
	// More than the depth in flight: all are served, in turn.
	for (int i = 0; i < 20; i++)
		ASSERT_TRUE(c.send_req(c.req(QBD_OP_READ, 0, 4096, i)));
	for (int i = 0; i < 20; i++)
		EXPECT_EQ(c.recv_reply().status, QBD_S_OK);
	// Connections past the limit are closed at once.
	IoClient c2 = IoClient::open(ts.ep, "p", "v");
	IoClient c3 = IoClient::open(ts.ep, "p", "v");  // the 3rd
	EXPECT_EQ(le32(c3.hello.status), QBD_S_OK);
	auto fd = tcp_connect(ts.ep, 5s);
	ASSERT_TRUE(fd.ok());
	char b;
	auto s = recv_all(fd->get(), &b, 1, soon());
	EXPECT_FALSE(s.ok());
	EXPECT_NE(s.error().code, ETIMEDOUT);
}

TEST(ServerStop, DrainsInFlightRequests)
{
	auto ts = std::make_unique<TestServer>();
	ASSERT_TRUE(ts->admin().create("p", "v", 8 << 20).ok());
	IoClient c = IoClient::open(ts->ep, "p", "v");
	constexpr int kN = 32;
	for (int i = 0; i < kN; i++) {
		auto d = pattern(65536, i);
		ASSERT_TRUE(c.send_req(c.req(QBD_OP_WRITE, i * 65536ull, 65536, i), d.data(), d.size()));
	}
	// Let the server read them, then stop it: every read request is answered.
	std::this_thread::sleep_for(200ms);
	std::thread stopper([&] { ts->srv->stop(); });
	int ok = 0;
	for (int i = 0; i < kN; i++) {
		IoReply r = c.recv_reply();
		if (r.status == UINT32_MAX)
			break;
		EXPECT_EQ(r.status, QBD_S_OK);
		ok++;
	}
	stopper.join();
	EXPECT_EQ(ok, kN);
	EXPECT_TRUE(c.closed_by_peer());
}

TEST(ServerRestart, CatalogAndDataSurvive)
{
	TempDir dir;
	server::ServerOptions o;
	o.data_dir = dir.path;
	o.listen = {Endpoint{"127.0.0.1", 0}};
	o.reactors = 1;
	auto d = pattern(4096, 42);
	{
		auto s = server::Server::start(o);
		ASSERT_TRUE(s.ok());
		Endpoint ep{"127.0.0.1", (*s)->ports()[0]};
		auto a = AdminClient::connect(ep, 5s);
		ASSERT_TRUE(a.ok());
		ASSERT_TRUE(a->create("p", "v", 1 << 20).ok());
		IoClient c = IoClient::open(ep, "p", "v");
		ASSERT_EQ(c.write(8192, d, QBD_RF_FUA), QBD_S_OK);
	}
	auto s = server::Server::start(o);
	ASSERT_TRUE(s.ok());
	Endpoint ep{"127.0.0.1", (*s)->ports()[0]};
	auto a = AdminClient::connect(ep, 5s);
	ASSERT_TRUE(a.ok());
	auto info = a->info("p", "v");
	ASSERT_TRUE(info.ok());
	EXPECT_EQ(info->size, 1u << 20);
	IoClient c = IoClient::open(ep, "p", "v");
	EXPECT_EQ(c.read(8192, 4096), d);
	// New ids never reuse old ones.
	auto v2 = a->create("p", "w", 1 << 20);
	ASSERT_TRUE(v2.ok());
	EXPECT_GT(v2->vol_id, info->vol_id);
}

}  // namespace

// Per-CPU reactors: a connection goes to the reactor pinned on the CPU its
// packets arrive on; one whose CPU has none, or is unknown, round-robin;
// either way not to a reactor that would own 2 more than the least busy.
TEST(PickReactor, ByIncomingCpuElseRoundRobin)
{
	using qbd::server::pick_reactor;
	// reactors pinned on CPUs 0, 2 and 5 (a sparse affinity mask)
	std::vector<int> by_cpu{0, -1, 1, -1, -1, 2};
	std::vector<uint32_t> idle{0, 0, 0};
	size_t rr = 0;
	EXPECT_EQ(pick_reactor(by_cpu, 0, idle, rr), 0u);
	EXPECT_EQ(pick_reactor(by_cpu, 2, idle, rr), 1u);
	EXPECT_EQ(pick_reactor(by_cpu, 5, idle, rr), 2u);
	EXPECT_EQ(rr, 0u) << "placed connections do not advance round-robin";
	EXPECT_EQ(pick_reactor(by_cpu, 1, idle, rr), 0u);   // CPU without a reactor
	EXPECT_EQ(pick_reactor(by_cpu, -1, idle, rr), 1u);  // SO_INCOMING_CPU unknown
	EXPECT_EQ(pick_reactor(by_cpu, 64, idle, rr), 2u);  // past the map
	EXPECT_EQ(pick_reactor(by_cpu, 3, idle, rr), 0u);
	// unpinned reactors (--reactors N): an empty map, round-robin only
	std::vector<int> none;
	std::vector<uint32_t> idle4(4, 0);
	size_t rr2 = 0;
	for (unsigned i = 0; i < 8; i++)
		EXPECT_EQ(pick_reactor(none, 1, idle4, rr2), i % 4);
	// a stale entry naming a reactor that does not exist is not trusted
	std::vector<int> stale{7};
	std::vector<uint32_t> idle2{0, 0};
	size_t rr3 = 0;
	EXPECT_EQ(pick_reactor(stale, 0, idle2, rr3), 0u);
	EXPECT_EQ(pick_reactor(by_cpu, 0, {}, rr3), 0u) << "no reactors: index 0, no crash";
}

TEST(PickReactor, OneCpuClientStillSpreads)
{
	using qbd::server::pick_reactor;
	std::vector<int> by_cpu{0, 1};
	std::vector<uint32_t> live{0, 0};
	size_t rr = 0;
	// a client opening 8 connections from CPU 0
	for (int i = 0; i < 8; i++)
		live[pick_reactor(by_cpu, 0, live, rr)]++;
	EXPECT_EQ(live[0], 5u);  // never more than 2 ahead of the other
	EXPECT_EQ(live[1], 3u);
	// a module's queues, one per CPU: each on its own CPU's reactor
	std::vector<uint32_t> l2{3, 3};
	EXPECT_EQ(pick_reactor(by_cpu, 1, l2, rr), 1u);
	l2[1]++;
	EXPECT_EQ(pick_reactor(by_cpu, 0, l2, rr), 0u);
	// within one of the least busy: stays on its CPU
	std::vector<uint32_t> l3{5, 4};
	EXPECT_EQ(pick_reactor(by_cpu, 0, l3, rr), 0u);
	std::vector<uint32_t> l4{6, 4};
	EXPECT_EQ(pick_reactor(by_cpu, 0, l4, rr), 1u);
}

// The built qbd-server refuses out-of-range tuning options before it
// opens anything (no data dir is given: it would fail on that next).
TEST(ServerBinary, BadTuningOptionsRefused)
{
	for (const char *args : {"--rdma-poll-us 100001", "--rdma-poll-us -1", "--rdma-poll-us x",
				 "--rdma-workers 257"}) {
		std::string cmd = std::string(QBD_SERVER_BINARY) + " " + args + " 2>&1";
		FILE *p = popen(cmd.c_str(), "r");
		ASSERT_NE(p, nullptr);
		std::string out;
		char buf[512];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			out.append(buf, n);
		int st = pclose(p);
		ASSERT_TRUE(WIFEXITED(st)) << args;
		EXPECT_NE(WEXITSTATUS(st), 0) << args;
		std::string opt = std::string(args).substr(0, std::string(args).find(' '));
		EXPECT_NE(out.find(opt), std::string::npos) << args << ": " << out;
		EXPECT_EQ(out.find("listening"), std::string::npos) << args << ": " << out;
	}
}
