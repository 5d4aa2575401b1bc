// SPDX-License-Identifier: GPL-2.0
/* KUnit: qbd RDMA sizing rules (qbd_rdma_logic.c). */
#include <kunit/test.h>
#include "qbd_logic.h"
#include "qbd_rdma.h"

static void rdma_sizes_depths(struct kunit *test)
{
	static const u32 depths[] = { 1, 32, 128, QBD_MAX_IO_DEPTH };
	struct qbd_rdma_sizes s;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(depths); i++) {
		u32 d = depths[i];

		KUNIT_ASSERT_EQ_MSG(test, qbd_rdma_sizes(d, &s), 0, "depth %u",
				    d);
		KUNIT_EXPECT_EQ_MSG(test, s.nr_recv, d + QBD_RDMA_SPARE_RECV,
				    "depth %u: receives", d);
		/* every request's three WRs, the PING and the drain fit */
		KUNIT_EXPECT_GE_MSG(test, s.send_wr, 3 * d + 2,
				    "depth %u: send queue", d);
		KUNIT_EXPECT_GT_MSG(test, s.recv_wr, s.nr_recv,
				    "depth %u: drain marker", d);
		KUNIT_EXPECT_EQ_MSG(test, s.cqe, s.send_wr + s.recv_wr,
				    "depth %u: CQ entries", d);
	}
}

static void rdma_sizes_bad(struct kunit *test)
{
	struct qbd_rdma_sizes s;

	KUNIT_EXPECT_EQ(test, qbd_rdma_sizes(0, &s), -EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_rdma_sizes(U32_MAX, &s), -EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_rdma_sizes(U32_MAX / 3, &s), -EINVAL);
}

static void rdma_max_io(struct kunit *test)
{
	static const struct {
		u32 dev_pages, mr_pages, max_io;
	} cases[] = {
		{ 0, 0, 0 },
		{ 1, 1, 0 },
		{ 2, 2, 4096 },
		{ 17, 17, 64 << 10 },
		{ 256, 256, 255 * 4096 },
		{ 257, 257, 1 << 20 },
		{ 512, 257, 1 << 20 }, /* rxe */
		{ 1 << 20, 257, 1 << 20 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u32 p = qbd_rdma_mr_pages(cases[i].dev_pages);
		u32 io = qbd_rdma_max_io(p);

		KUNIT_EXPECT_EQ_MSG(test, p, cases[i].mr_pages,
				    "device pages %u", cases[i].dev_pages);
		KUNIT_EXPECT_EQ_MSG(test, io, cases[i].max_io,
				    "device pages %u", cases[i].dev_pages);
		KUNIT_EXPECT_EQ_MSG(test, io % 4096, 0U, "device pages %u",
				    cases[i].dev_pages);
		/* a max_io request at any 512-byte offset fits the MR */
		if (io)
			KUNIT_EXPECT_LE_MSG(test,
					    DIV_ROUND_UP(io + 4096 - 512, 4096),
					    p, "device pages %u",
					    cases[i].dev_pages);
	}
}

static void rdma_inline_sges(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, qbd_rdma_inline_sges(0), 0U);
	KUNIT_EXPECT_EQ(test, qbd_rdma_inline_sges(512), 2U);
	KUNIT_EXPECT_EQ(test, qbd_rdma_inline_sges(4096), 2U);
	KUNIT_EXPECT_EQ(test, qbd_rdma_inline_sges(4608), 3U);
	/* a header and a 4 KiB WRITE at any 512-byte offset */
	KUNIT_EXPECT_EQ(test, QBD_RDMA_MAX_SEND_SGE,
			1 + qbd_rdma_inline_sges(QBD_RDMA_INLINE_MAX));
}

static void rdma_inline_size(struct kunit *test)
{
	static const struct {
		u64 granted;
		u32 offered, sge;
		int ret;
		u32 out;
	} cases[] = {
		/* not granted: the field is ignored, nothing inline */
		{ 0, 0, 3, 0, 0 },
		{ QBD_PF_RDMA_INV, 4096, 3, 0, 0 },
		/* granted: the offer is used as far as our SGEs allow */
		{ QBD_PF_RDMA_INLINE, 4096, 3, 0, 4096 },
		{ QBD_PF_RDMA_INLINE, 4096, 32, 0, 4096 },
		{ QBD_PF_RDMA_INLINE, 512, 3, 0, 512 },
		{ QBD_PF_RDMA_INLINE, 2048, 3, 0, 2048 },
		{ QBD_PF_RDMA_INLINE, 4096, 2, 0, 0 }, /* one SGE for data */
		{ QBD_PF_RDMA_INLINE, 4096, 1, 0, 0 },
		/* granted with a bad offer: protocol error */
		{ QBD_PF_RDMA_INLINE, 0, 3, -EPROTO, 0 },
		{ QBD_PF_RDMA_INLINE, 1000, 3, -EPROTO, 0 },
		{ QBD_PF_RDMA_INLINE, 8192, 3, -EPROTO, 0 },
		{ QBD_PF_RDMA_INLINE, U32_MAX, 3, -EPROTO, 0 },
	};
	unsigned int i;
	u32 out;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_EXPECT_EQ_MSG(test,
				    qbd_rdma_inline_size(cases[i].granted,
							 cases[i].offered,
							 cases[i].sge, &out),
				    cases[i].ret, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, out, cases[i].out, "case %u", i);
	}
}

static struct kunit_case qbd_rdma_cases[] = {
	KUNIT_CASE(rdma_sizes_depths), KUNIT_CASE(rdma_sizes_bad),
	KUNIT_CASE(rdma_max_io),       KUNIT_CASE(rdma_inline_sges),
	KUNIT_CASE(rdma_inline_size),  {}
};

static struct kunit_suite qbd_rdma_suite = {
	.name = "qbd_rdma",
	.test_cases = qbd_rdma_cases,
};

kunit_test_suite(qbd_rdma_suite);
