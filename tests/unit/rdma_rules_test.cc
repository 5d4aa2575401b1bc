// RDMA protocol rules that do not need a device: request checks by
// transport, RDMA_INV and RDMA_INLINE granting, inline WRITE parsing, the
// server's data buffer pool, receive layout and budget
// (userspace/server/rdma_pool.h).
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

TEST(GrantFeatures, RdmaInlineOnlyOverRdma)
{
	const uint64_t asked = QBD_PF_ALL | QBD_PF_RDMA_INV | QBD_PF_RDMA_INLINE;
	EXPECT_EQ(grant_features(asked, Transport::tcp), QBD_PF_ALL);
	EXPECT_EQ(grant_features(asked, Transport::rdma), asked);
	EXPECT_EQ(grant_features(QBD_PF_ALL, Transport::rdma), QBD_PF_ALL);  // only when asked
}

TEST(RdmaInline, OfferFollowsLimits)
{
	Limits lim;
	EXPECT_EQ(rdma_inline_offer(lim, QBD_PROTO_MAX_IO), QBD_RDMA_INLINE_MAX);
	EXPECT_EQ(rdma_inline_offer(lim, 2048), 2048u);  // never over max_io
	EXPECT_EQ(rdma_inline_offer(lim, 1000), 512u);   // a multiple of 512
	lim.rdma_inline = 0;                              // --no-rdma-inline
	EXPECT_EQ(rdma_inline_offer(lim, QBD_PROTO_MAX_IO), 0u);
	lim.rdma_inline = 1u << 20;
	EXPECT_EQ(rdma_inline_offer(lim, QBD_PROTO_MAX_IO), QBD_RDMA_INLINE_MAX);
}

TEST(RdmaInline, ReceiveLayoutAlignsTheData)
{
	RecvLayout off = RecvLayout::for_inline(0);
	EXPECT_EQ(off.offset, 0u);
	EXPECT_EQ(off.len, QBD_RDMA_REQ_BUF);
	EXPECT_EQ(off.stride, QBD_RDMA_REQ_BUF);
	for (uint32_t n : {512u, 4096u}) {
		RecvLayout l = RecvLayout::for_inline(n);
		EXPECT_EQ((l.offset + sizeof(qbd_req)) % 4096, 0u) << n;  // O_DIRECT from the buffer
		EXPECT_GE(l.len, sizeof(qbd_req) + n) << n;
		EXPECT_GE(l.len, QBD_RDMA_REQ_BUF) << n;  // the hello still fits
		EXPECT_LE(l.offset + l.len, l.stride) << n;
		EXPECT_EQ(l.stride % 4096, 0u) << n;
	}
	EXPECT_EQ(RecvLayout::for_inline(QBD_RDMA_INLINE_MAX).len, QBD_RDMA_INLINE_BUF);
}

TEST(RdmaInline, CheckInlineAcceptsAnExactWrite)
{
	const uint64_t f = QBD_PF_ALL | QBD_PF_RDMA_INLINE;
	for (uint32_t len : {512u, 4096u}) {
		qbd_req r = req(QBD_OP_WRITE, 0, len);
		EXPECT_EQ(check_inline(r, sizeof(qbd_req) + len, f, 4096), "") << len;
		// ... and check_req serves it with rdma_inline, keys 0.
		EXPECT_EQ(check_req(r, geo(), Transport::rdma, true).action, ReqVerdict::kServe);
		// The same header without inline data has no buffer: hostile.
		EXPECT_EQ(check_req(r, geo(), Transport::rdma).action, ReqVerdict::kClose);
	}
}

TEST(RdmaInline, CheckInlineRefusesWhatTheBytesDoNotBackUp)
{
	const uint64_t f = QBD_PF_ALL | QBD_PF_RDMA_INLINE;
	struct Case {
		const char *name;
		qbd_req r;
		uint32_t msg_len;
		uint64_t features;
		uint32_t inline_max;
		const char *rule;
	};
	qbd_req bad_magic = req(QBD_OP_WRITE, 0, 512);
	bad_magic.magic = to_le32(0x51515151);
	const Case cases[] = {
		// A hostile peer claiming more inline data than it sent.
		{"claims more", req(QBD_OP_WRITE, 0, 4096), 72 + 512, f, 4096, "carries 512 bytes"},
		{"claims less", req(QBD_OP_WRITE, 0, 512), 72 + 1024, f, 4096, "carries 1024 bytes"},
		{"claims 2^32-512", req(QBD_OP_WRITE, 0, 0xfffffe00u), 72 + 4096, f, 4096, "carries 4096"},
		{"over the offer", req(QBD_OP_WRITE, 0, 4096), 72 + 4096, f, 2048, "over the 2048 offered"},
		{"not granted", req(QBD_OP_WRITE, 0, 512), 72 + 512, QBD_PF_ALL, 4096, "not granted"},
		{"offer 0", req(QBD_OP_WRITE, 0, 512), 72 + 512, f, 0, "not granted"},
		{"a READ", req(QBD_OP_READ, 0, 512), 72 + 512, f, 4096, "READ with 512 bytes"},
		{"a FLUSH", req(QBD_OP_FLUSH, 0, 0), 72 + 8, f, 4096, "FLUSH with 8 bytes"},
		{"bad magic", bad_magic, 72 + 512, f, 4096, "bad magic"},
	};
	for (const auto &c : cases) {
		std::string rule = check_inline(c.r, c.msg_len, c.features, c.inline_max);
		EXPECT_NE(rule, "") << c.name;
		EXPECT_NE(rule.find(c.rule), std::string::npos) << c.name << ": " << rule;
	}
	// Keys on an inline WRITE: check_req closes.
	qbd_req keyed = req(QBD_OP_WRITE, 0, 512, 0x1000, 0x42);
	EXPECT_EQ(check_inline(keyed, 72 + 512, f, 4096), "");
	ReqVerdict v = check_req(keyed, geo(), Transport::rdma, true);
	EXPECT_EQ(v.action, ReqVerdict::kClose);
	EXPECT_NE(v.rule.find("inline WRITE with rdma_addr/rdma_key"), std::string::npos) << v.rule;
}

TEST(RdmaCmReq, CpuFromPrivateData)
{
	qbd_rdma_cm_req r = {};
	r.magic = to_le32(QBD_RDMA_CM_MAGIC);
	r.version = to_le16(1);
	r.qid = to_le16(3);
	r.cpu = to_le32(5);
	EXPECT_EQ(rdma_cm_req_cpu(&r, sizeof(r)), 5);
	// rdma_cm pads private data: longer is fine.
	unsigned char padded[56] = {};
	memcpy(padded, &r, sizeof(r));
	EXPECT_EQ(rdma_cm_req_cpu(padded, sizeof(padded)), 5);
	r.cpu = to_le32(0);
	EXPECT_EQ(rdma_cm_req_cpu(&r, sizeof(r)), 0);
}

TEST(RdmaCmReq, AnythingElseMeansNoHint)
{
	qbd_rdma_cm_req r = {};
	r.magic = to_le32(QBD_RDMA_CM_MAGIC);
	r.version = to_le16(1);
	r.cpu = to_le32(1);
	EXPECT_EQ(rdma_cm_req_cpu(nullptr, 0), -1);
	EXPECT_EQ(rdma_cm_req_cpu(&r, sizeof(r) - 1), -1);  // short
	qbd_rdma_cm_req bad = r;
	bad.magic = to_le32(QBD_PROTO_MAGIC);
	EXPECT_EQ(rdma_cm_req_cpu(&bad, sizeof(bad)), -1);  // another magic
	bad = r;
	bad.version = to_le16(0);
	EXPECT_EQ(rdma_cm_req_cpu(&bad, sizeof(bad)), -1);
	bad = r;
	bad.cpu = to_le32(QBD_RDMA_CM_ANY_CPU);
	EXPECT_EQ(rdma_cm_req_cpu(&bad, sizeof(bad)), -1);
	bad.cpu = to_le32(0x7fffffff);  // hostile: no vector that large
	EXPECT_EQ(rdma_cm_req_cpu(&bad, sizeof(bad)), -1);
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
