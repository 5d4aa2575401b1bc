// The admin interface end to end: AdminClient against an in-process server.
#include "server_test_util.h"

using namespace qbd;
using namespace qbd::testing;

namespace {

TEST(Admin, CreateListInfoResizeDelete)
{
	TestServer ts;
	auto a = ts.admin();
	auto v = a.create("pool1", "vol1", 10ull << 30);
	ASSERT_TRUE(v.ok()) << v.error().message;
	EXPECT_EQ(v->pool, "pool1");
	EXPECT_EQ(v->volume, "vol1");
	EXPECT_EQ(v->size, 10ull << 30);
	EXPECT_EQ(v->block_size, 4096u);
	EXPECT_EQ(v->shard_size, 1ull << 30);  // the default
	EXPECT_EQ(v->layout_version, 1u);
	EXPECT_GT(v->vol_id, 0u);
	EXPECT_GT(v->created, 0u);

	auto dup = a.create("pool1", "vol1", 1 << 20);
	ASSERT_FALSE(dup.ok());
	EXPECT_EQ(dup.error().code, EEXIST);
	EXPECT_NE(dup.error().message.find("exists"), std::string::npos);

	ASSERT_TRUE(a.create("pool1", "vol2", 1 << 20, 512, 4 << 20).ok());
	ASSERT_TRUE(a.create("pool2", "vol1", 1 << 20).ok());
	auto all = a.list("");
	ASSERT_TRUE(all.ok());
	EXPECT_EQ(all->size(), 3u);
	auto p1 = a.list("pool1");
	ASSERT_TRUE(p1.ok());
	ASSERT_EQ(p1->size(), 2u);
	EXPECT_EQ((*p1)[1].block_size, 512u);
	EXPECT_EQ((*p1)[1].shard_size, 4u << 20);

	auto info = a.info("pool1", "vol1");
	ASSERT_TRUE(info.ok());
	EXPECT_EQ(info->vol_id, v->vol_id);
	auto missing = a.info("pool1", "nope");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(missing.error().code, ENOENT);

	auto shrink = a.resize("pool1", "vol1", 1 << 20);
	ASSERT_FALSE(shrink.ok());
	EXPECT_EQ(shrink.error().code, EINVAL);
	EXPECT_NE(shrink.error().message.find("only grow"), std::string::npos) << shrink.error().message;
	auto grown = a.resize("pool1", "vol1", 20ull << 30);
	ASSERT_TRUE(grown.ok());
	EXPECT_EQ(grown->size, 20ull << 30);

	// Open volumes are not deleted unless forced.
	IoClient c = IoClient::open(ts.ep, "pool1", "vol1");
	ASSERT_EQ(le32(c.hello.status), QBD_S_OK);
	auto i2 = a.info("pool1", "vol1");
	ASSERT_TRUE(i2.ok());
	EXPECT_EQ(i2->open_count, 1u);
	auto busy = a.remove("pool1", "vol1", false);
	ASSERT_FALSE(busy.ok());
	EXPECT_EQ(busy.error().code, EBUSY);
	ASSERT_TRUE(a.remove("pool1", "vol1", true).ok());
	ASSERT_TRUE(a.remove("pool1", "vol2", false).ok());
	auto gone = a.remove("pool1", "vol2", false);
	ASSERT_FALSE(gone.ok());
	EXPECT_EQ(gone.error().code, ENOENT);
	auto left = a.list("");
	ASSERT_TRUE(left.ok());
	EXPECT_EQ(left->size(), 1u);
}

TEST(Admin, CreateValidation)
{
	TestServer ts;
	auto a = ts.admin();
	struct Case {
		const char *name;
		std::string pool, vol;
		uint64_t size;
		uint32_t bs;
		uint64_t shard;
	};
	std::vector<Case> cases = {
		{"size 0", "p", "v", 0, 4096, 0},
		{"size not a block multiple", "p", "v", 4096 + 512, 4096, 0},
		{"block size 1024", "p", "v", 1 << 20, 1024, 0},
		{"shard not a power of two", "p", "v", 1 << 20, 4096, 3 << 20},
		{"shard under 1 MiB", "p", "v", 1 << 20, 4096, 512 << 10},
		{"too many shards", "p", "v", 1ull << 60, 4096, 1 << 20},
		{"size over 2^63", "p", "v", UINT64_MAX & ~4095ull, 4096, 1ull << 40},
	};
	for (auto &k : cases) {
		auto r = a.create(k.pool, k.vol, k.size, k.bs, k.shard);
		ASSERT_FALSE(r.ok()) << k.name;
		EXPECT_EQ(r.error().code, EINVAL) << k.name << ": " << r.error().message;
	}
	// Bad names are refused by the client before they leave, and by the server.
	for (std::string bad : std::vector<std::string>{"", ".", "..", "a/b", "a b", std::string(128, 'x')}) {
		auto r = a.create("p", bad, 1 << 20);
		EXPECT_FALSE(r.ok()) << "volume '" << bad << "'";
	}
	for (std::string bad : std::vector<std::string>{"", ".", "..", "a/b", std::string(64, 'x')}) {
		auto r = a.create(bad, "v", 1 << 20);
		EXPECT_FALSE(r.ok()) << "pool '" << bad << "'";
	}
	EXPECT_TRUE(a.create(std::string(63, 'p'), std::string(127, 'v'), 1 << 20).ok());
	auto l = a.list("");
	ASSERT_TRUE(l.ok());
	EXPECT_EQ(l->size(), 1u);
}

// Raw admin requests that a well-behaved client never sends.
TEST(Admin, RawRequestValidation)
{
	TestServer ts;
	auto fd = tcp_connect(ts.ep, 5s);
	ASSERT_TRUE(fd.ok());
	auto call = [&](qbd_admin_req &req) {
		EXPECT_TRUE(send_all(fd->get(), &req, sizeof(req), soon()).ok());
		qbd_admin_reply rep;
		EXPECT_TRUE(recv_all(fd->get(), &rep, sizeof(rep), soon()).ok());
		EXPECT_EQ(le32(rep.payload_len) % sizeof(qbd_admin_vol), 0u);
		std::vector<char> payload(le32(rep.payload_len));
		if (!payload.empty()) {
			EXPECT_TRUE(recv_all(fd->get(), payload.data(), payload.size(), soon()).ok());
		}
		return le32(rep.status);
	};
	auto base = [] {
		qbd_admin_req r;
		memset(&r, 0, sizeof(r));
		fill_msg_hdr(r.hdr, QBD_MSG_ADMIN);
		r.op = to_le32(QBD_ADM_INFO);
		write_fixed(r.pool, sizeof(r.pool), "p");
		write_fixed(r.volume, sizeof(r.volume), "v");
		return r;
	};
	qbd_admin_req r = base();
	EXPECT_EQ(call(r), QBD_S_NO_VOLUME);
	r = base();
	r.op = to_le32(77);
	EXPECT_EQ(call(r), QBD_S_UNSUPPORTED);
	r = base();
	memset(r.pool, 'x', sizeof(r.pool));
	EXPECT_EQ(call(r), QBD_S_INVALID);
	r = base();
	r.flags = to_le32(QBD_AF_FORCE);  // only for delete
	EXPECT_EQ(call(r), QBD_S_INVALID);
	r = base();
	r.reserved[0] = 1;
	EXPECT_EQ(call(r), QBD_S_INVALID);
	r = base();
	r.op = to_le32(QBD_ADM_LIST);
	EXPECT_EQ(call(r), QBD_S_INVALID);  // list takes no volume
	// A hello on an admin connection closes it.
	qbd_hello h = make_hello("p", "v");
	ASSERT_TRUE(send_all(fd->get(), &h, sizeof(h), soon()).ok());
	char b;
	EXPECT_FALSE(recv_all(fd->get(), &b, 1, soon()).ok());
}

}  // namespace
