// RDMA protocol rules that do not need a device: request checks by
// transport, RDMA_INV granting, the server's data buffer pool and receive
// budget (userspace/server/rdma_pool.h).
#include <gtest/gtest.h>

#include <set>

#include "proto.h"
#include "rdma_pool.h"
#include "server.h"
#include "session.h"

using namespace qbd;
using namespace qbd::server;

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

qbd_req req(uint8_t op, uint64_t off, uint32_t len, uint64_t addr = 0, uint32_t key = 0)
{
	qbd_req r;
	memset(&r, 0, sizeof(r));
	r.magic = to_le32(QBD_PROTO_MAGIC);
	r.opcode = op;
	r.vol_id = to_le64(7);
	r.layout_version = to_le32(3);
	r.offset = to_le64(off);
	r.length = to_le32(len);
	r.rdma_addr = to_le64(addr);
	r.rdma_key = to_le32(key);
	return r;
}

TEST(CheckReqTransport, TcpRejectsAnyRdmaField)
{
	for (auto r : {req(QBD_OP_READ, 0, 4096, 0x1000, 0), req(QBD_OP_WRITE, 0, 4096, 0, 5),
		       req(QBD_OP_FLUSH, 0, 0, 0, 5)}) {
		ReqVerdict v = check_req(r, geo(), Transport::tcp);
		EXPECT_EQ(v.action, ReqVerdict::kReply) << op_name(r.opcode);
		EXPECT_EQ(v.status, QBD_S_INVALID);
		EXPECT_NE(v.rule.find("TCP"), std::string::npos) << v.rule;
	}
}

TEST(CheckReqTransport, RdmaReadWriteNeedAKey)
{
	for (uint8_t op : {QBD_OP_READ, QBD_OP_WRITE}) {
		EXPECT_EQ(check_req(req(op, 0, 4096, 0x7000, 0x42), geo(), Transport::rdma).action,
			  ReqVerdict::kServe);
		// iova 0 is a valid FRWR address: only the key matters.
		EXPECT_EQ(check_req(req(op, 0, 4096, 0, 0x42), geo(), Transport::rdma).action,
			  ReqVerdict::kServe);
		ReqVerdict v = check_req(req(op, 0, 4096, 0x7000, 0), geo(), Transport::rdma);
		EXPECT_EQ(v.action, ReqVerdict::kClose) << op_name(op);
		EXPECT_NE(v.rule.find("rdma_key 0"), std::string::npos) << v.rule;
		// The same request over TCP is merely wrong, not hostile.
		EXPECT_EQ(check_req(req(op, 0, 4096, 0x7000, 0), geo(), Transport::tcp).action,
			  ReqVerdict::kReply);
	}
}

TEST(CheckReqTransport, RdmaOtherOpsNeedZeros)
{
	EXPECT_EQ(check_req(req(QBD_OP_FLUSH, 0, 0), geo(), Transport::rdma).action, ReqVerdict::kServe);
	EXPECT_EQ(check_req(req(QBD_OP_DISCARD, 0, 4096), geo(), Transport::rdma).action,
		  ReqVerdict::kServe);
	for (auto r : {req(QBD_OP_FLUSH, 0, 0, 0, 9), req(QBD_OP_DISCARD, 0, 4096, 0x1000, 0),
		       req(QBD_OP_WRITE_ZEROES, 0, 4096, 0x1000, 9)}) {
		ReqVerdict v = check_req(r, geo(), Transport::rdma);
		EXPECT_EQ(v.action, ReqVerdict::kReply) << op_name(r.opcode);
		EXPECT_EQ(v.status, QBD_S_INVALID);
	}
}

TEST(CheckReqTransport, RdmaLengthRules)
{
	// A WRITE over max_io closes on both transports (as the header says:
	// any check that closes TCP disconnects the QP); a READ gets TOO_BIG.
	ReqVerdict v = check_req(req(QBD_OP_WRITE, 0, 0xfffffe00u, 0x1000, 1), geo(), Transport::rdma);
	EXPECT_EQ(v.action, ReqVerdict::kClose);
	v = check_req(req(QBD_OP_READ, 0, 0xfffffe00u, 0x1000, 1), geo(), Transport::rdma);
	EXPECT_EQ(v.action, ReqVerdict::kReply);
	EXPECT_EQ(v.status, QBD_S_TOO_BIG);
	qbd_req bad = req(QBD_OP_READ, 0, 4096, 0x1000, 1);
	bad.magic = 0;
	EXPECT_EQ(check_req(bad, geo(), Transport::rdma).action, ReqVerdict::kClose);
}

TEST(GrantFeatures, RdmaInvOnlyOverRdma)
{
	const uint64_t all = QBD_PF_ALL | QBD_PF_RDMA_INV | (1ull << 40);
	EXPECT_EQ(grant_features(all, Transport::tcp), QBD_PF_ALL);
	EXPECT_EQ(grant_features(all, Transport::rdma), QBD_PF_ALL | QBD_PF_RDMA_INV);
	EXPECT_EQ(grant_features(QBD_PF_FUA, Transport::rdma), QBD_PF_FUA);  // only when asked
	EXPECT_EQ(grant_features(0, Transport::rdma), 0u);
}

TEST(BufferPool, AcquireReleaseAccounting)
{
	BufferPool p(3);
	EXPECT_EQ(p.free_count(), 3u);
	std::set<uint32_t> got;
	for (int i = 0; i < 3; i++) {
		auto b = p.acquire();
		ASSERT_TRUE(b.has_value());
		EXPECT_LT(*b, 3u);
		got.insert(*b);
	}
	EXPECT_EQ(got.size(), 3u);  // distinct
	EXPECT_FALSE(p.acquire().has_value());
	EXPECT_EQ(p.in_use(), 3u);
	p.release(*got.begin());
	EXPECT_EQ(p.free_count(), 1u);
	auto again = p.acquire();
	ASSERT_TRUE(again.has_value());
	EXPECT_EQ(*again, *got.begin());
}

TEST(BufferPool, DoubleOrForeignReleaseIsRefused)
{
	BufferPool p(2);
	auto b = p.acquire();
	ASSERT_TRUE(b.has_value());
	EXPECT_TRUE(p.release(*b));
	EXPECT_FALSE(p.release(*b));  // already free
	EXPECT_FALSE(p.release(7));   // not ours
	EXPECT_EQ(p.free_count(), 2u);
}

TEST(RecvBudget, ReservesPerConnection)
{
	// 2 connections of depth 8 fit in 24 receives (8 + 4 spare each), a
	// third does not; releasing one lets it in.
	RecvBudget b(24);
	EXPECT_EQ(RecvBudget::per_connection(8), 8u + QBD_RDMA_SPARE_RECV);
	EXPECT_TRUE(b.reserve(8));
	EXPECT_TRUE(b.reserve(8));
	EXPECT_FALSE(b.reserve(8));
	EXPECT_EQ(b.reserved(), 24u);
	b.release(8);
	EXPECT_TRUE(b.reserve(8));
	EXPECT_FALSE(b.reserve(100));
}

TEST(ParseListen, TcpAndRdma)
{
	auto a = server::parse_listen("rdma://10.0.0.1");
	ASSERT_TRUE(a.ok()) << a.error().message;
	EXPECT_EQ(a->transport, Transport::rdma);
	EXPECT_EQ(a->ep, (Endpoint{"10.0.0.1", QBD_DEFAULT_RDMA_PORT}));
	auto b = server::parse_listen("rdma://[::1]:9000");
	ASSERT_TRUE(b.ok());
	EXPECT_EQ(b->ep, (Endpoint{"::1", 9000}));
	auto c = server::parse_listen("10.0.0.2");
	ASSERT_TRUE(c.ok());
	EXPECT_EQ(c->transport, Transport::tcp);
	EXPECT_EQ(c->ep.port, QBD_DEFAULT_TCP_PORT);
	auto bad = server::parse_listen("iwarp://1.2.3.4");
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(bad.error().message.find("not tcp:// or rdma://"), std::string::npos);
	server::ServerOptions o;
	server::add_listen(o, *a);
	server::add_listen(o, *c);
	ASSERT_EQ(o.listen.size(), 1u);
	ASSERT_EQ(o.listen_rdma.size(), 1u);
	EXPECT_EQ(o.listen_rdma[0].port, QBD_DEFAULT_RDMA_PORT);
}

}  // namespace
