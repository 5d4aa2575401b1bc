// CRC32C (lib/crc32c.cc) and the data digest rules of the protocol helpers.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "crc32c.h"
#include "proto.h"

using namespace qbd;

TEST(Crc32c, KnownVectors)
{
	EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
	EXPECT_EQ(crc32c("", 0), 0u);
	// RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xff, ascending.
	std::vector<unsigned char> b(32, 0);
	EXPECT_EQ(crc32c(b.data(), b.size()), 0x8A9136AAu);
	std::fill(b.begin(), b.end(), 0xff);
	EXPECT_EQ(crc32c(b.data(), b.size()), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = static_cast<unsigned char>(i);
	EXPECT_EQ(crc32c(b.data(), b.size()), 0x46DD794Eu);
}

TEST(Crc32c, TableAndInstructionAgreeAtEveryLengthAndAlignment)
{
	std::mt19937 rng(42);
	std::vector<unsigned char> buf(4096 + 16);
	for (auto &c : buf)
		c = static_cast<unsigned char>(rng());
	for (size_t off = 0; off < 9; off++)
		for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 511, 4096})
			EXPECT_EQ(crc32c_update(~0u, buf.data() + off, len),
				  crc32c_update_table(~0u, buf.data() + off, len))
				<< "offset " << off << " length " << len << " hw " << crc32c_hw();
}

TEST(Crc32c, UpdateInPiecesEqualsWhole)
{
	std::vector<unsigned char> d(10000);
	for (size_t i = 0; i < d.size(); i++)
		d[i] = static_cast<unsigned char>(i * 31 + 7);
	uint32_t s = ~0u;
	for (size_t i = 0; i < d.size(); i += 999)
		s = crc32c_update(s, d.data() + i, std::min<size_t>(999, d.size() - i));
	EXPECT_EQ(~s, crc32c(d.data(), d.size()));
}

TEST(DataDigest, GrantedOverTcpOnly)
{
	uint64_t asked = QBD_PF_ALL | QBD_PF_DATA_DIGEST;
	EXPECT_EQ(grant_features(asked, Transport::tcp), asked);
	EXPECT_EQ(grant_features(asked, Transport::rdma), uint64_t{QBD_PF_ALL});
}

TEST(DataDigest, WriteCheckAndReadDigest)
{
	std::vector<char> d(4096, 'x');
	qbd_req w{};
	w.opcode = QBD_OP_WRITE;
	w.digest = to_le32(crc32c(d.data(), d.size()));
	const uint64_t on = QBD_PF_ALL | QBD_PF_DATA_DIGEST;
	EXPECT_EQ(check_write_digest(w, d.data(), d.size(), on), uint32_t{QBD_S_OK});
	d[100] ^= 1;
	EXPECT_EQ(check_write_digest(w, d.data(), d.size(), on), uint32_t{QBD_S_DIGEST});
	EXPECT_EQ(check_write_digest(w, d.data(), d.size(), QBD_PF_ALL), uint32_t{QBD_S_OK})
		<< "without the feature nothing is checked";
	EXPECT_EQ(le32(reply_digest(QBD_OP_READ, QBD_S_OK, d.data(), d.size(), on)),
		  crc32c(d.data(), d.size()));
	EXPECT_EQ(reply_digest(QBD_OP_READ, QBD_S_OK, d.data(), d.size(), QBD_PF_ALL), 0u);
	EXPECT_EQ(reply_digest(QBD_OP_READ, QBD_S_IO_ERROR, d.data(), d.size(), on), 0u);
	EXPECT_EQ(reply_digest(QBD_OP_WRITE, QBD_S_OK, d.data(), d.size(), on), 0u);
	EXPECT_STREQ(status_name(QBD_S_DIGEST), "DIGEST");
	EXPECT_EQ(status_errno(QBD_S_DIGEST), EBADMSG);
}

TEST(DataDigest, CheckReqRules)
{
	VolumeGeometry g;
	g.vol_id = 7;
	g.size = 1 << 20;
	g.features = QBD_PF_ALL | QBD_PF_DATA_DIGEST;
	qbd_req r{};
	r.magic = to_le32(QBD_PROTO_MAGIC);
	r.vol_id = to_le64(7);
	r.length = to_le32(4096);
	r.digest = to_le32(0x1234);
	r.opcode = QBD_OP_WRITE;
	EXPECT_EQ(check_req(r, g).action, ReqVerdict::kServe);
	r.opcode = QBD_OP_READ;
	ReqVerdict v = check_req(r, g);
	EXPECT_EQ(v.action, ReqVerdict::kReply);
	EXPECT_EQ(v.status, uint32_t{QBD_S_INVALID});
	g.features = QBD_PF_ALL;
	r.opcode = QBD_OP_WRITE;
	v = check_req(r, g);
	EXPECT_EQ(v.status, uint32_t{QBD_S_UNSUPPORTED});
	EXPECT_EQ(v.discard_payload, 4096u);
}
