// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_proto: header encoding, handle packing, reply and hello
 * reply validation with every field out of range.
 */
#include <kunit/test.h>
#include <crypto/hash.h>
#include <linux/stddef.h>
#include <asm/unaligned.h>
#include "qbd_logic.h"

static u32 le32_at(const void *p, size_t off)
{
	return get_unaligned_le32((const u8 *)p + off);
}

static u64 le64_at(const void *p, size_t off)
{
	return get_unaligned_le64((const u8 *)p + off);
}

static void qbd_proto_req_encode_layout(struct kunit *test)
{
	struct qbd_req h;
	struct qbd_req_args a = {
		.opcode = QBD_OP_WRITE,
		.flags = QBD_RF_FUA,
		.handle = 0x1122334455667788ULL,
		.vol_id = 0xdeadbeefcafeULL,
		.shard = 7,
		.layout_version = 3,
		.offset = 0x123456789a00ULL,
		.length = 65536,
	};
	const u8 *b = (const u8 *)&h;

	memset(&h, 0xa5, sizeof(h));
	qbd_proto_encode_req(&h, &a);
	/* little-endian, at the offsets the server reads */
	KUNIT_EXPECT_EQ(test, le32_at(b, 0), QBD_PROTO_MAGIC);
	KUNIT_EXPECT_EQ(test, b[0], (u8)'Q');
	KUNIT_EXPECT_EQ(test, b[4], (u8)QBD_OP_WRITE);
	KUNIT_EXPECT_EQ(test, b[5], (u8)QBD_RF_FUA);
	KUNIT_EXPECT_EQ(test, le64_at(b, 8), a.handle);
	KUNIT_EXPECT_EQ(test, le64_at(b, 16), a.vol_id);
	KUNIT_EXPECT_EQ(test, le32_at(b, 24), 7U);
	KUNIT_EXPECT_EQ(test, le32_at(b, 28), 3U);
	KUNIT_EXPECT_EQ(test, le64_at(b, 32), a.offset);
	KUNIT_EXPECT_EQ(test, le32_at(b, 40), 65536U);
	/* everything else zero, none of the 0xa5 fill left */
	KUNIT_EXPECT_EQ(test, b[6] | b[7], 0);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(b + 44, 0, sizeof(h) - 44));
	KUNIT_EXPECT_EQ(test, offsetof(struct qbd_req, length), (size_t)40);
}

static void qbd_proto_req_round_trip(struct kunit *test)
{
	struct qbd_req h;
	struct qbd_req_args a = {
		.opcode = QBD_OP_DISCARD, .handle = 42, .vol_id = 9,
		.shard = U32_MAX, .layout_version = U32_MAX,
		.offset = U64_MAX & ~511ULL, .length = U32_MAX & ~511U,
	}, b;

	qbd_proto_encode_req(&h, &a);
	KUNIT_ASSERT_EQ(test, qbd_proto_decode_req(&h, &b), 0);
	KUNIT_EXPECT_EQ(test, b.opcode, a.opcode);
	KUNIT_EXPECT_EQ(test, b.handle, a.handle);
	KUNIT_EXPECT_EQ(test, b.shard, a.shard);
	KUNIT_EXPECT_EQ(test, b.offset, a.offset);
	KUNIT_EXPECT_EQ(test, b.length, a.length);

	h.opcode = QBD_OP_MAX + 1;
	KUNIT_EXPECT_EQ(test, qbd_proto_decode_req(&h, &b), -EPROTO);
	h.opcode = QBD_OP_READ;
	h.flags = 0x80;
	KUNIT_EXPECT_EQ(test, qbd_proto_decode_req(&h, &b), -EPROTO);
	h.flags = 0;
	h.magic = cpu_to_le32(QBD_PROTO_MAGIC + 1);
	KUNIT_EXPECT_EQ(test, qbd_proto_decode_req(&h, &b), -EPROTO);
}

static void qbd_proto_handle_pack(struct kunit *test)
{
	u32 qid, tag;
	u16 gen;
	u64 h;

	h = qbd_handle_pack(3, 1023, 0xbeef);
	KUNIT_ASSERT_EQ(test, qbd_handle_unpack(h, &qid, &tag, &gen), 0);
	KUNIT_EXPECT_EQ(test, qid, 3U);
	KUNIT_EXPECT_EQ(test, tag, 1023U);
	KUNIT_EXPECT_EQ(test, gen, (u16)0xbeef);

	h = qbd_handle_pack(0xffff, 0xffff, 0xffff);
	KUNIT_ASSERT_EQ(test, qbd_handle_unpack(h, &qid, &tag, &gen), 0);
	KUNIT_EXPECT_EQ(test, qid, 0xffffU);
	KUNIT_EXPECT_EQ(test, tag, 0xffffU);
	KUNIT_EXPECT_EQ(test, gen, (u16)0xffff);
	KUNIT_EXPECT_EQ(test, h, 0xffffffffffffULL);

	/* a different generation is a different handle */
	KUNIT_EXPECT_NE(test, qbd_handle_pack(0, 5, 1),
			qbd_handle_pack(0, 5, 2));
	/* bits above the defined fields are rejected, heartbeat bit too */
	KUNIT_EXPECT_EQ(test, qbd_handle_unpack(1ULL << 48, &qid, &tag, &gen),
			-EPROTO);
	KUNIT_EXPECT_EQ(test,
			qbd_handle_unpack(QBD_HANDLE_PING, &qid, &tag, &gen),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, qbd_handle_unpack(U64_MAX, &qid, &tag, &gen),
			-EPROTO);
}

static void qbd_proto_hello_encode(struct kunit *test)
{
	struct qbd_hello h;
	struct qbd_hello_args a = {
		.features = QBD_PF_ALL,
		.vol_id = 77,
		.queue_id = 2,
		.queue_depth = 128,
		.max_io = 1 << 20,
		.pool = "pool1",
		.volume = "vol-1.x",
	};

	qbd_proto_encode_hello(&h, &a);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h.hdr.magic), QBD_PROTO_MAGIC);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(h.hdr.version),
			(u16)QBD_PROTO_VERSION);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(h.hdr.type), (u16)QBD_MSG_HELLO);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(h.features), QBD_PF_ALL);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h.queue_id), 2U);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(h.queue_depth), 128U);
	KUNIT_EXPECT_STREQ(test, h.pool, "pool1");
	KUNIT_EXPECT_STREQ(test, h.volume, "vol-1.x");
	KUNIT_EXPECT_TRUE(test, !memchr_inv(h.reserved, 0, sizeof(h.reserved)));
}

/* ---- reply validation, table-driven ---- */

struct qbd_reply_case {
	const char *name;
	u32 magic;
	u32 status;
	u32 length;
	int want;
};

static const struct qbd_reply_case qbd_reply_cases[] = {
	{ "ok, no data", QBD_PROTO_MAGIC, QBD_S_OK, 0, 0 },
	{ "ok, read data", QBD_PROTO_MAGIC, QBD_S_OK, 4096, 0 },
	{ "ok, max_io data", QBD_PROTO_MAGIC, QBD_S_OK, 1 << 20, 0 },
	{ "io error", QBD_PROTO_MAGIC, QBD_S_IO_ERROR, 0, 0 },
	{ "last known status", QBD_PROTO_MAGIC, QBD_S_LAST, 0, 0 },
	{ "bad magic", 0x12345678, QBD_S_OK, 0, -EPROTO },
	{ "zero magic", 0, QBD_S_OK, 0, -EPROTO },
	{ "unknown status", QBD_PROTO_MAGIC, QBD_S_LAST + 1, 0, -EPROTO },
	{ "huge status", QBD_PROTO_MAGIC, U32_MAX, 0, -EPROTO },
	{ "length above max_io", QBD_PROTO_MAGIC, QBD_S_OK, (1 << 20) + 512,
	  -EPROTO },
	{ "huge length", QBD_PROTO_MAGIC, QBD_S_OK, U32_MAX, -EPROTO },
	{ "length not sector multiple", QBD_PROTO_MAGIC, QBD_S_OK, 4097,
	  -EPROTO },
	{ "data after error", QBD_PROTO_MAGIC, QBD_S_IO_ERROR, 512, -EPROTO },
};

static void qbd_proto_reply_table(struct kunit *test)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(qbd_reply_cases); i++) {
		const struct qbd_reply_case *c = &qbd_reply_cases[i];
		struct qbd_reply r = {
			.magic = cpu_to_le32(c->magic),
			.status = cpu_to_le32(c->status),
			.handle = cpu_to_le64(0x10005),
			.length = cpu_to_le32(c->length),
		};
		struct qbd_reply_info ri = {};
		const char *why = NULL;
		int ret = qbd_proto_check_reply(&r, 1 << 20, &ri, &why);

		KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "case '%s'", c->name);
		if (ret)
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case '%s'",
						  c->name);
		else
			KUNIT_EXPECT_EQ_MSG(test, ri.handle, 0x10005ULL,
					    "case '%s'", c->name);
	}
}

/* qbd_proto_check_reply_for() when only the return value matters */
static int reply_for(const struct qbd_reply_info *ri, u8 opcode, u32 len)
{
	const char *why;

	return qbd_proto_check_reply_for(ri, opcode, len, &why);
}

static void qbd_proto_reply_for_request(struct kunit *test)
{
	struct qbd_reply_info ri = { .status = QBD_S_OK, .length = 4096 };

	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_READ, 4096), 0);
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_READ, 8192), -EPROTO);
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_WRITE, 4096), -EPROTO);
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_FLUSH, 0), -EPROTO);
	ri.length = 0;
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_READ, 4096), -EPROTO);
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_WRITE, 4096), 0);
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_DISCARD, 1 << 20), 0);
	ri.status = QBD_S_IO_ERROR;
	KUNIT_EXPECT_EQ(test, reply_for(&ri, QBD_OP_READ, 4096), 0);
}

static void qbd_proto_status_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(QBD_S_OK), 0);
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(QBD_S_NO_SPACE), -ENOSPC);
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(QBD_S_STALE_LAYOUT),
			-ESTALE);
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(QBD_S_IO_ERROR), -EIO);
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(QBD_S_OUT_OF_RANGE), -EIO);
	KUNIT_EXPECT_EQ(test, qbd_proto_status_errno(1000), -EIO);
	KUNIT_EXPECT_STREQ(test, qbd_proto_status_name(QBD_S_NO_SPACE),
			   "NO_SPACE");
	KUNIT_EXPECT_STREQ(test, qbd_proto_status_name(1000), "UNKNOWN");
}

/* ---- hello reply validation, table-driven ---- */

struct qbd_hello_case {
	const char *name;
	void (*mutate)(struct qbd_hello_reply *r);
	int want;
};

static void hr_none(struct qbd_hello_reply *r)
{
}

static void hr_magic(struct qbd_hello_reply *r)
{
	r->hdr.magic = 0;
}

static void hr_version(struct qbd_hello_reply *r)
{
	r->hdr.version = cpu_to_le16(2);
}

static void hr_type(struct qbd_hello_reply *r)
{
	r->hdr.type = cpu_to_le16(QBD_MSG_ADMIN);
}

static void hr_no_volume(struct qbd_hello_reply *r)
{
	r->status = cpu_to_le32(QBD_S_NO_VOLUME);
}

static void hr_busy(struct qbd_hello_reply *r)
{
	r->status = cpu_to_le32(QBD_S_BUSY);
}

static void hr_depth0(struct qbd_hello_reply *r)
{
	r->queue_depth = 0;
}

static void hr_depth_big(struct qbd_hello_reply *r)
{
	r->queue_depth = cpu_to_le32(129);
}

static void hr_depth_less(struct qbd_hello_reply *r)
{
	r->queue_depth = cpu_to_le32(16);
}

static void hr_feat_extra(struct qbd_hello_reply *r)
{
	r->features = cpu_to_le64(1ULL << 40);
}

static void hr_feat_fewer(struct qbd_hello_reply *r)
{
	r->features = cpu_to_le64(QBD_PF_FUA);
}

static void hr_small(struct qbd_hello_reply *r)
{
	r->size = cpu_to_le64((1ULL << 30) - 4096);
}

static void hr_bigger(struct qbd_hello_reply *r)
{
	r->size = cpu_to_le64(1ULL << 31);
}

static void hr_bs(struct qbd_hello_reply *r)
{
	r->block_size = cpu_to_le32(512);
}

static void hr_maxio0(struct qbd_hello_reply *r)
{
	r->max_io = 0;
}

static void hr_maxio_odd(struct qbd_hello_reply *r)
{
	r->max_io = cpu_to_le32(65537);
}

static const struct qbd_hello_case qbd_hello_cases[] = {
	{ "good", hr_none, 0 },
	{ "bad magic", hr_magic, -EPROTO },
	{ "version 2", hr_version, -EPROTO },
	{ "type ADMIN", hr_type, -EPROTO },
	{ "status NO_VOLUME", hr_no_volume, -ENOENT },
	{ "status BUSY", hr_busy, -EREMOTEIO },
	{ "granted depth 0", hr_depth0, -EPROTO },
	{ "granted depth above asked", hr_depth_big, -EPROTO },
	{ "granted depth below asked", hr_depth_less, 0 },
	{ "features not asked for", hr_feat_extra, -EPROTO },
	{ "fewer features granted", hr_feat_fewer, 0 },
	{ "volume smaller than map", hr_small, -EINVAL },
	{ "volume bigger than map", hr_bigger, 0 },
	{ "block size differs", hr_bs, -EINVAL },
	{ "max_io 0", hr_maxio0, -EPROTO },
	{ "max_io not sector multiple", hr_maxio_odd, -EPROTO },
};

static void qbd_proto_hello_reply_table(struct kunit *test)
{
	const struct qbd_hello_expect e = {
		.size = 1ULL << 30,
		.block_size = 4096,
		.features = QBD_PF_ALL,
		.queue_depth = 128,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(qbd_hello_cases); i++) {
		const struct qbd_hello_case *c = &qbd_hello_cases[i];
		struct qbd_hello_reply r = {
			.hdr.magic = cpu_to_le32(QBD_PROTO_MAGIC),
			.hdr.version = cpu_to_le16(QBD_PROTO_VERSION),
			.hdr.type = cpu_to_le16(QBD_MSG_HELLO),
			.status = cpu_to_le32(QBD_S_OK),
			.queue_depth = cpu_to_le32(128),
			.features = cpu_to_le64(QBD_PF_ALL),
			.size = cpu_to_le64(1ULL << 30),
			.block_size = cpu_to_le32(4096),
			.max_io = cpu_to_le32(1 << 20),
		};
		struct qbd_hello_result res = {};
		const char *why = NULL;
		int ret;

		c->mutate(&r);
		ret = qbd_proto_check_hello_reply(&r, &e, &res, &why);
		KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "case '%s' (why: %s)",
				    c->name, why ? why : "-");
		if (ret)
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case '%s'",
						  c->name);
		else
			KUNIT_EXPECT_EQ_MSG(test, res.queue_depth,
					    le32_to_cpu(r.queue_depth),
					    "case '%s'", c->name);
	}
}

/* An "hmac(sha256)" transform keyed with @key, or the test fails. */
static struct crypto_shash *qbd_test_hmac(struct kunit *test, const u8 *key,
					  unsigned int len)
{
	struct crypto_shash *tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(tfm), "no hmac(sha256): %ld",
			       PTR_ERR(tfm));
	KUNIT_ASSERT_EQ(test, crypto_shash_setkey(tfm, key, len), 0);
	return tfm;
}

/* RFC 4231 test case 2: the transform the module uses computes HMAC-SHA256. */
static void qbd_proto_hmac_rfc4231(struct kunit *test)
{
	static const u8 want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	static const char data[] = "what do ya want for nothing?";
	struct crypto_shash *tfm = qbd_test_hmac(test, (const u8 *)"Jefe", 4);
	u8 out[32];
	int ret;

	ret = crypto_shash_tfm_digest(tfm, data, sizeof(data) - 1, out);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, memcmp(out, want, sizeof(want)), 0);
	crypto_free_shash(tfm);
}

/*
 * The hello and the proofs of a fixed handshake; the expected proofs were
 * computed independently (Python's hmac over the byte layout in
 * docs/protocol.md), the same values the server's OpenSSL code produces.
 */
static void qbd_test_auth_hello(struct qbd_hello *h, u8 *nonce)
{
	struct qbd_hello_args a = {
		.features = QBD_PF_ALL,
		.vol_id = 7,
		.queue_id = 1,
		.queue_depth = 32,
		.max_io = 1U << 20,
		.pool = "pool1",
		.volume = "vol1",
		.auth_nonce = nonce,
	};
	int i;

	for (i = 0; i < QBD_AUTH_NONCE_LEN; i++)
		nonce[i] = 0xa0 + i;
	qbd_proto_encode_hello(h, &a);
}

static const u8 qbd_test_server_proof[32] = {
	0x32, 0x47, 0x26, 0xea, 0xff, 0xe7, 0xa8, 0xee, 0xbc, 0xc5, 0xfe,
	0xf3, 0xd5, 0x26, 0x52, 0xae, 0x33, 0xd1, 0xdf, 0x88, 0x50, 0xd7,
	0x1c, 0x79, 0x91, 0x93, 0xfb, 0x48, 0xd6, 0x03, 0x06, 0xaf,
};

static const u8 qbd_test_client_proof[32] = {
	0x98, 0x7d, 0x17, 0xf5, 0x8d, 0x05, 0x17, 0x63, 0x34, 0x21, 0xe8,
	0x13, 0xd5, 0x4d, 0xeb, 0xee, 0x86, 0xa8, 0x59, 0x1c, 0x25, 0xda,
	0xe3, 0x3b, 0x3a, 0xf5, 0xc9, 0x0a, 0x79, 0x15, 0xba, 0x67,
};

static void qbd_proto_auth_proofs(struct kunit *test)
{
	u8 key[32], nonce[QBD_AUTH_NONCE_LEN], ns[QBD_AUTH_NONCE_LEN], out[32];
	struct crypto_shash *tfm;
	struct qbd_hello h;
	int i;

	for (i = 0; i < 32; i++)
		key[i] = i;
	for (i = 0; i < QBD_AUTH_NONCE_LEN; i++)
		ns[i] = 0xb0 + i;
	tfm = qbd_test_hmac(test, key, sizeof(key));
	qbd_test_auth_hello(&h, nonce);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(h.features),
			QBD_PF_ALL | QBD_PF_AUTH);
	KUNIT_EXPECT_EQ(test, memcmp(h.auth_nonce, nonce, sizeof(nonce)), 0);
	KUNIT_ASSERT_EQ(test,
			qbd_proto_auth_proof(tfm, QBD_AUTH_SERVER_LABEL, &h, ns,
					     out),
			0);
	KUNIT_EXPECT_EQ(test, memcmp(out, qbd_test_server_proof, sizeof(out)),
			0);
	KUNIT_ASSERT_EQ(test,
			qbd_proto_auth_proof(tfm, QBD_AUTH_CLIENT_LABEL, &h, ns,
					     out),
			0);
	KUNIT_EXPECT_EQ(test, memcmp(out, qbd_test_client_proof, sizeof(out)),
			0);
	crypto_free_shash(tfm);
}

struct qbd_challenge_case {
	const char *name;
	void (*mutate)(struct qbd_auth_challenge *ch);
	int want;
	u32 want_status;
};

static void ch_none(struct qbd_auth_challenge *ch)
{
}

static void ch_proof_bit(struct qbd_auth_challenge *ch)
{
	ch->server_proof[31] ^= 1;
}

static void ch_nonce_bit(struct qbd_auth_challenge *ch)
{
	ch->server_nonce[0] ^= 1;
}

static void ch_type(struct qbd_auth_challenge *ch)
{
	ch->hdr.type = cpu_to_le16(QBD_MSG_HELLO);
}

static void ch_status(struct qbd_auth_challenge *ch)
{
	ch->status = cpu_to_le32(QBD_S_AUTH_FAILED);
}

static void ch_reserved(struct qbd_auth_challenge *ch)
{
	ch->reserved0 = cpu_to_le32(1);
}

static void ch_magic(struct qbd_auth_challenge *ch)
{
	ch->hdr.magic = 0;
}

static const struct qbd_challenge_case qbd_challenge_cases[] = {
	{ "good challenge", ch_none, 0, QBD_S_OK },
	{ "server proof with one bit flipped", ch_proof_bit, -EACCES,
	  QBD_S_AUTH_FAILED },
	{ "server nonce with one bit flipped", ch_nonce_bit, -EACCES,
	  QBD_S_AUTH_FAILED },
	{ "type HELLO", ch_type, -EPROTO, QBD_S_OK },
	{ "status not OK", ch_status, -EPROTO, QBD_S_OK },
	{ "reserved0 set", ch_reserved, -EPROTO, QBD_S_OK },
	{ "bad magic", ch_magic, -EPROTO, QBD_S_OK },
};

static void qbd_proto_answer_challenge_table(struct kunit *test)
{
	u8 key[32], nonce[QBD_AUTH_NONCE_LEN];
	struct qbd_auth_challenge ch;
	struct qbd_auth_proof proof;
	struct crypto_shash *tfm;
	struct qbd_hello h;
	unsigned int i, j;

	for (i = 0; i < 32; i++)
		key[i] = i;
	tfm = qbd_test_hmac(test, key, sizeof(key));
	qbd_test_auth_hello(&h, nonce);
	for (i = 0; i < ARRAY_SIZE(qbd_challenge_cases); i++) {
		const struct qbd_challenge_case *c = &qbd_challenge_cases[i];
		const char *why = NULL;
		int ret;

		memset(&ch, 0, sizeof(ch));
		ch.hdr.magic = cpu_to_le32(QBD_PROTO_MAGIC);
		ch.hdr.version = cpu_to_le16(QBD_PROTO_VERSION);
		ch.hdr.type = cpu_to_le16(QBD_MSG_AUTH);
		for (j = 0; j < QBD_AUTH_NONCE_LEN; j++)
			ch.server_nonce[j] = 0xb0 + j;
		memcpy(ch.server_proof, qbd_test_server_proof,
		       sizeof(ch.server_proof));
		c->mutate(&ch);
		ret = qbd_proto_answer_challenge(tfm, &h, &ch, &proof, &why);
		KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "case '%s' (why: %s)",
				    c->name, why ? why : "-");
		KUNIT_EXPECT_EQ_MSG(test, le16_to_cpu(proof.hdr.type),
				    QBD_MSG_AUTH, "case '%s'", c->name);
		KUNIT_EXPECT_EQ_MSG(test, le32_to_cpu(proof.status),
				    c->want_status, "case '%s'", c->name);
		if (!ret)
			KUNIT_EXPECT_EQ_MSG(test,
					    memcmp(proof.client_proof,
						   qbd_test_client_proof,
						   sizeof(proof.client_proof)),
					    0, "case '%s'", c->name);
		else
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case '%s'",
						  c->name);
	}
	crypto_free_shash(tfm);
}

static struct kunit_case qbd_proto_cases[] = {
	KUNIT_CASE(qbd_proto_req_encode_layout),
	KUNIT_CASE(qbd_proto_req_round_trip),
	KUNIT_CASE(qbd_proto_handle_pack),
	KUNIT_CASE(qbd_proto_hello_encode),
	KUNIT_CASE(qbd_proto_reply_table),
	KUNIT_CASE(qbd_proto_reply_for_request),
	KUNIT_CASE(qbd_proto_status_mapping),
	KUNIT_CASE(qbd_proto_hello_reply_table),
	KUNIT_CASE(qbd_proto_hmac_rfc4231),
	KUNIT_CASE(qbd_proto_auth_proofs),
	KUNIT_CASE(qbd_proto_answer_challenge_table),
	{}
};

static struct kunit_suite qbd_proto_suite = {
	.name = "qbd_proto",
	.test_cases = qbd_proto_cases,
};

kunit_test_suite(qbd_proto_suite);
