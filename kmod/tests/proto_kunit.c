// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_proto: header encoding, handle packing, reply and hello
 * reply validation with every field out of range.
 */
#include <kunit/test.h>
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
	{ "last known status", QBD_PROTO_MAGIC, QBD_S_OUT_OF_RANGE, 0, 0 },
	{ "bad magic", 0x12345678, QBD_S_OK, 0, -EPROTO },
	{ "zero magic", 0, QBD_S_OK, 0, -EPROTO },
	{ "unknown status", QBD_PROTO_MAGIC, QBD_S_OUT_OF_RANGE + 1, 0,
	  -EPROTO },
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

static struct kunit_case qbd_proto_cases[] = {
	KUNIT_CASE(qbd_proto_req_encode_layout),
	KUNIT_CASE(qbd_proto_req_round_trip),
	KUNIT_CASE(qbd_proto_handle_pack),
	KUNIT_CASE(qbd_proto_hello_encode),
	KUNIT_CASE(qbd_proto_reply_table),
	KUNIT_CASE(qbd_proto_reply_for_request),
	KUNIT_CASE(qbd_proto_status_mapping),
	KUNIT_CASE(qbd_proto_hello_reply_table),
	{}
};

static struct kunit_suite qbd_proto_suite = {
	.name = "qbd_proto",
	.test_cases = qbd_proto_cases,
};

kunit_test_suite(qbd_proto_suite);
