// Protocol helpers: request validation with every field out of range, name
// rules, fixed-size strings, admin volume encode/decode, status mapping.
#include <gtest/gtest.h>

#include <functional>

#include "admin_client.h"
#include "proto.h"
#include "session.h"

using namespace qbd;

namespace {

VolumeGeometry geo()
{
	VolumeGeometry g;
	g.vol_id = 7;
	g.size = 64ull << 20;
	g.shard_size = 16ull << 20;
	g.layout_version = 3;
	g.max_io = QBD_PROTO_MAX_IO;
	g.features = QBD_PF_ALL;
	return g;
}

qbd_req req(uint8_t op, uint64_t off, uint32_t len)
{
	qbd_req r;
	memset(&r, 0, sizeof(r));
	r.magic = to_le32(QBD_PROTO_MAGIC);
	r.opcode = op;
	r.handle = to_le64(0x1234);
	r.vol_id = to_le64(7);
	r.layout_version = to_le32(3);
	r.offset = to_le64(off);
	r.length = to_le32(len);
	r.shard = to_le32(static_cast<uint32_t>(off / (16ull << 20)));
	return r;
}

TEST(CheckReq, GoodRequests)
{
	for (auto r : {req(QBD_OP_READ, 0, 512), req(QBD_OP_WRITE, (64ull << 20) - 4096, 4096),
		       req(QBD_OP_READ, 16ull << 20, QBD_PROTO_MAX_IO), req(QBD_OP_FLUSH, 0, 0),
		       req(QBD_OP_PING, 0, 0), req(QBD_OP_DISCARD, 0, 32u << 20),
		       req(QBD_OP_WRITE_ZEROES, 512, 512)}) {
		ReqVerdict v = check_req(r, geo());
		EXPECT_EQ(v.action, ReqVerdict::kServe) << op_name(r.opcode) << ": " << v.rule;
	}
	qbd_req fua = req(QBD_OP_WRITE, 0, 512);
	fua.flags = QBD_RF_FUA;
	EXPECT_EQ(check_req(fua, geo()).action, ReqVerdict::kServe);
}

TEST(CheckReq, EveryFieldOutOfRange)
{
	struct Case {
		const char *name;
		std::function<void(qbd_req &)> mutate;
		ReqVerdict::Action action;
		uint32_t status;
	};
	using A = ReqVerdict;
	std::vector<Case> cases = {
		{"magic", [](qbd_req &r) { r.magic = 0; }, A::kClose, 0},
		{"opcode 6", [](qbd_req &r) { r.opcode = 6; }, A::kReply, QBD_S_UNSUPPORTED},
		{"opcode 255", [](qbd_req &r) { r.opcode = 255; }, A::kReply, QBD_S_UNSUPPORTED},
		{"flags unknown", [](qbd_req &r) { r.flags = 2; }, A::kReply, QBD_S_INVALID},
		{"FUA on a read", [](qbd_req &r) { r.flags = QBD_RF_FUA; }, A::kReply, QBD_S_INVALID},
		{"reserved0", [](qbd_req &r) { r.reserved0 = 1; }, A::kReply, QBD_S_INVALID},
		{"reserved1", [](qbd_req &r) { r.reserved1 = 1; }, A::kReply, QBD_S_INVALID},
		{"rdma_addr", [](qbd_req &r) { r.rdma_addr = 1; }, A::kReply, QBD_S_INVALID},
		{"rdma_key", [](qbd_req &r) { r.rdma_key = 1; }, A::kReply, QBD_S_INVALID},
		{"snap_seq", [](qbd_req &r) { r.snap_seq = 1; }, A::kReply, QBD_S_UNSUPPORTED},
		{"digest", [](qbd_req &r) { r.digest = 1; }, A::kReply, QBD_S_UNSUPPORTED},
		{"vol_id", [](qbd_req &r) { r.vol_id = to_le64(8); }, A::kReply, QBD_S_INVALID},
		{"vol_id 0", [](qbd_req &r) { r.vol_id = 0; }, A::kReply, QBD_S_INVALID},
		{"layout older", [](qbd_req &r) { r.layout_version = to_le32(2); }, A::kReply, QBD_S_STALE_LAYOUT},
		{"layout newer", [](qbd_req &r) { r.layout_version = to_le32(4); }, A::kReply, QBD_S_INVALID},
		{"length 0", [](qbd_req &r) { r.length = 0; }, A::kReply, QBD_S_INVALID},
		{"length 511", [](qbd_req &r) { r.length = to_le32(511); }, A::kReply, QBD_S_INVALID},
		{"length over max", [](qbd_req &r) { r.length = to_le32(QBD_PROTO_MAX_IO + 512); }, A::kReply, QBD_S_TOO_BIG},
		{"length 2^32-512", [](qbd_req &r) { r.length = to_le32(0xfffffe00u); }, A::kReply, QBD_S_TOO_BIG},
		{"offset 1", [](qbd_req &r) { r.offset = to_le64(1); }, A::kReply, QBD_S_INVALID},
		{"offset at end", [](qbd_req &r) { r.offset = to_le64(64ull << 20); r.shard = to_le32(4); }, A::kReply, QBD_S_OUT_OF_RANGE},
		{"offset 2^64-512", [](qbd_req &r) { r.offset = to_le64(UINT64_MAX - 511); }, A::kReply, QBD_S_OUT_OF_RANGE},
		{"offset 2^63", [](qbd_req &r) { r.offset = to_le64(1ull << 63); }, A::kReply, QBD_S_OUT_OF_RANGE},
		{"end past size", [](qbd_req &r) { r.offset = to_le64((64ull << 20) - 512); r.length = to_le32(1024); r.shard = to_le32(3); }, A::kReply, QBD_S_OUT_OF_RANGE},
		{"shard wrong", [](qbd_req &r) { r.shard = to_le32(1); }, A::kReply, QBD_S_INVALID},
		{"shard huge", [](qbd_req &r) { r.shard = to_le32(UINT32_MAX); }, A::kReply, QBD_S_INVALID},
		{"crosses shard", [](qbd_req &r) { r.offset = to_le64((16ull << 20) - 512); r.length = to_le32(1024); }, A::kReply, QBD_S_INVALID},
	};
	for (auto &k : cases) {
		qbd_req r = req(QBD_OP_READ, 4096, 4096);
		k.mutate(r);
		ReqVerdict v = check_req(r, geo());
		EXPECT_EQ(v.action, k.action) << k.name << ": " << v.rule;
		if (k.action == A::kReply) {
			EXPECT_EQ(v.status, k.status) << k.name << ": " << v.rule;
		}
		EXPECT_FALSE(v.rule.empty()) << k.name << ": no rule named";
		EXPECT_EQ(v.discard_payload, 0u) << k.name;
	}
}

TEST(CheckReq, WritePayloadFraming)
{
	qbd_req w = req(QBD_OP_WRITE, 64ull << 20, 4096);  // out of range
	w.shard = to_le32(4);
	ReqVerdict v = check_req(w, geo());
	EXPECT_EQ(v.action, ReqVerdict::kReply);
	EXPECT_EQ(v.status, QBD_S_OUT_OF_RANGE);
	EXPECT_EQ(v.discard_payload, 4096u) << "the payload must be skipped";
	w = req(QBD_OP_WRITE, 0, QBD_PROTO_MAX_IO + 512);
	v = check_req(w, geo());
	EXPECT_EQ(v.action, ReqVerdict::kClose) << "too big to skip";
	w = req(QBD_OP_WRITE, 0, 4096);
	w.flags = 0x40;
	v = check_req(w, geo());
	EXPECT_EQ(v.action, ReqVerdict::kReply);
	EXPECT_EQ(v.discard_payload, 4096u);
}

TEST(CheckReq, FeaturesNotGranted)
{
	VolumeGeometry g = geo();
	g.features = 0;
	qbd_req fua = req(QBD_OP_WRITE, 0, 512);
	fua.flags = QBD_RF_FUA;
	for (auto r : {req(QBD_OP_FLUSH, 0, 0), req(QBD_OP_DISCARD, 0, 512), req(QBD_OP_WRITE_ZEROES, 0, 512), fua}) {
		ReqVerdict v = check_req(r, g);
		EXPECT_EQ(v.action, ReqVerdict::kReply) << op_name(r.opcode);
		EXPECT_EQ(v.status, QBD_S_UNSUPPORTED) << op_name(r.opcode);
	}
	EXPECT_EQ(check_req(req(QBD_OP_READ, 0, 512), g).action, ReqVerdict::kServe);
}

TEST(Names, Rules)
{
	EXPECT_TRUE(check_pool_name("a").ok());
	EXPECT_TRUE(check_pool_name("Pool_1.x-y").ok());
	EXPECT_TRUE(check_pool_name(std::string(63, 'p')).ok());
	EXPECT_FALSE(check_pool_name(std::string(64, 'p')).ok());
	EXPECT_TRUE(check_volume_name(std::string(127, 'v')).ok());
	EXPECT_FALSE(check_volume_name(std::string(128, 'v')).ok());
	for (std::string bad : std::vector<std::string>{"", ".", "..", "a/b", "a b", "é", std::string("a\0b", 3), "a\n"}) {
		auto s = check_volume_name(bad);
		EXPECT_FALSE(s.ok()) << "'" << bad << "'";
		EXPECT_NE(s.error().message.find("volume"), std::string::npos);
	}
	EXPECT_TRUE(check_volume_name("...").ok());
}

TEST(FixedStrings, NulTermination)
{
	char f[8];
	write_fixed(f, sizeof(f), "abc");
	auto r = read_fixed(f, sizeof(f), "pool");
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, "abc");
	EXPECT_EQ(f[7], 0);
	memset(f, 'x', sizeof(f));
	r = read_fixed(f, sizeof(f), "pool");
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().message.find("pool is not NUL-terminated"), std::string::npos);
	write_fixed(f, sizeof(f), "0123456789");  // truncated, still terminated
	EXPECT_EQ(*read_fixed(f, sizeof(f), "x"), "0123456");
}

TEST(AdminVol, EncodeDecodeRoundTrip)
{
	VolumeInfo in{"pool", "vol", 42, 10ull << 30, 1ull << 30, 1700000000, 512, 2, 3};
	qbd_admin_vol raw;
	encode_admin_vol(in, raw);
	EXPECT_EQ(le64(raw.size), 10ull << 30);
	auto out = decode_admin_vol(raw);
	ASSERT_TRUE(out.ok());
	EXPECT_EQ(out->pool, "pool");
	EXPECT_EQ(out->volume, "vol");
	EXPECT_EQ(out->vol_id, 42u);
	EXPECT_EQ(out->shard_size, 1ull << 30);
	EXPECT_EQ(out->created, 1700000000u);
	EXPECT_EQ(out->block_size, 512u);
	EXPECT_EQ(out->layout_version, 2u);
	EXPECT_EQ(out->open_count, 3u);
	memset(raw.volume, 'v', sizeof(raw.volume));
	EXPECT_FALSE(decode_admin_vol(raw).ok());
}

TEST(MsgHdr, Checks)
{
	qbd_msg_hdr h;
	fill_msg_hdr(h, QBD_MSG_HELLO);
	EXPECT_EQ(server::check_msg_hdr(h), "");
	fill_msg_hdr(h, QBD_MSG_ADMIN);
	EXPECT_EQ(server::check_msg_hdr(h), "");
	qbd_msg_hdr bad = h;
	bad.magic = to_le32(0x12345678);
	EXPECT_NE(server::check_msg_hdr(bad).find("bad magic"), std::string::npos);
	bad = h;
	bad.version = to_le16(0);
	EXPECT_NE(server::check_msg_hdr(bad).find("version 0"), std::string::npos);
	bad = h;
	bad.type = to_le16(3);
	EXPECT_NE(server::check_msg_hdr(bad).find("type 3"), std::string::npos);
}

TEST(Status, NamesAndErrnos)
{
	EXPECT_STREQ(status_name(QBD_S_OK), "OK");
	EXPECT_STREQ(status_name(QBD_S_OUT_OF_RANGE), "OUT_OF_RANGE");
	EXPECT_STREQ(status_name(999), "UNKNOWN_STATUS");
	EXPECT_EQ(status_errno(QBD_S_EXISTS), EEXIST);
	EXPECT_EQ(status_errno(QBD_S_BUSY), EBUSY);
	EXPECT_EQ(status_errno(QBD_S_NO_VOLUME), ENOENT);
	EXPECT_EQ(status_errno(12345), EPROTO);
	EXPECT_STREQ(op_name(QBD_OP_WRITE_ZEROES), "WRITE_ZEROES");
	EXPECT_STREQ(op_name(200), "UNKNOWN_OP");
}

}  // namespace
