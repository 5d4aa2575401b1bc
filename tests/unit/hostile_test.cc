// Hostile clients (malformed headers, huge lengths, offsets near 2^64, a
// half-sent header that stalls, random garbage) hammer the server while a
// good client keeps writing and verifying data on another connection.
#include <atomic>
#include <random>
#include <thread>

#include "server_test_util.h"

using namespace qbd;
using namespace qbd::testing;

namespace {

TEST(Hostile, GoodClientKeepsVerifiedDataWhileOthersMisbehave)
{
	TestServer ts;
	constexpr uint64_t kSize = 8 << 20;
	ASSERT_TRUE(ts.admin().create("p", "good", kSize).ok());
	ASSERT_TRUE(ts.admin().create("p", "victim", kSize).ok());

	// Stalled: half a hello, half a request header; they must not block anyone.
	auto stall1 = tcp_connect(ts.ep, 5s);
	ASSERT_TRUE(stall1.ok());
	qbd_hello h = make_hello("p", "victim");
	ASSERT_TRUE(send_all(stall1->get(), &h, 100, soon()).ok());
	IoClient stall2 = IoClient::open(ts.ep, "p", "victim");
	qbd_req half = stall2.req(QBD_OP_READ, 0, 512, 1);
	ASSERT_TRUE(send_all(stall2.fd.get(), &half, 30, soon()).ok());

	std::atomic<bool> stop{false};
	std::atomic<int> hostile_rounds{0};
	std::thread hostile([&] {
		std::mt19937_64 rng(1234);
		while (!stop) {
			IoClient c = IoClient::open(ts.ep, "p", "victim");
			if (le32(c.hello.status) != QBD_S_OK)
				continue;
			switch (hostile_rounds++ % 5) {
			case 0: {  // offsets near 2^64 and past the end
				for (uint64_t off : std::vector<uint64_t>{UINT64_MAX - 511, UINT64_MAX & ~511ull, kSize, 1ull << 63}) {
					IoReply r = c.call(c.req(QBD_OP_READ, off, 4096, 1));
					EXPECT_EQ(r.status, QBD_S_OUT_OF_RANGE) << off;
					EXPECT_TRUE(r.data.empty());
				}
				break;
			}
			case 1: {  // huge lengths
				IoReply r = c.call(c.req(QBD_OP_READ, 0, 0xfffffe00u, 1));
				EXPECT_EQ(r.status, QBD_S_TOO_BIG);
				ASSERT_TRUE(c.send_req(c.req(QBD_OP_WRITE, 0, 0xfffffe00u, 2)));
				EXPECT_TRUE(c.closed_by_peer());
				break;
			}
			case 2: {  // random garbage headers
				std::vector<char> junk(72 * 8);
				for (auto &b : junk)
					b = static_cast<char>(rng());
				(void)send_all(c.fd.get(), junk.data(), junk.size(), soon());
				EXPECT_TRUE(c.closed_by_peer());
				break;
			}
			case 3: {  // valid magic, every other field random
				for (int i = 0; i < 16; i++) {
					qbd_req r;
					auto *p = reinterpret_cast<unsigned char *>(&r);
					for (size_t k = 0; k < sizeof(r); k++)
						p[k] = static_cast<unsigned char>(rng());
					r.magic = to_le32(QBD_PROTO_MAGIC);
					r.opcode %= 8;
					// No WRITE (payload would follow); no PING (valid whatever the fields).
					if (r.opcode == QBD_OP_WRITE || r.opcode == QBD_OP_PING)
						r.opcode = QBD_OP_READ;
					IoReply rep = c.call(r);
					if (rep.status == UINT32_MAX)
						break;
					EXPECT_NE(rep.status, QBD_S_OK) << "random header accepted";
				}
				break;
			}
			case 4:  // a write whose payload never comes, then hang up
				ASSERT_TRUE(c.send_req(c.req(QBD_OP_WRITE, 0, 65536, 3)));
				break;
			}
		}
	});

	IoClient good = IoClient::open(ts.ep, "p", "good");
	ASSERT_EQ(le32(good.hello.status), QBD_S_OK);
	std::mt19937 rng(99);
	std::vector<std::vector<char>> shadow(64);
	for (int i = 0; i < 400; i++) {
		uint32_t blk = rng() % 64;
		auto d = pattern(65536, rng());
		ASSERT_EQ(good.write(blk * 65536ull, d), QBD_S_OK) << "write " << i;
		shadow[blk] = d;
		uint32_t rb = rng() % 64;
		auto got = good.read(rb * 65536ull, 65536);
		if (shadow[rb].empty())
			EXPECT_EQ(got, std::vector<char>(65536, 0)) << "read " << i;
		else
			EXPECT_EQ(got, shadow[rb]) << "read " << i;
	}
	stop = true;
	hostile.join();
	EXPECT_GT(hostile_rounds.load(), 5);
	// The victim volume's data was never touched by the hostile requests.
	IoClient v = IoClient::open(ts.ep, "p", "victim");
	EXPECT_EQ(v.read(0, 65536), std::vector<char>(65536, 0));
}

}  // namespace
