// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_shard: request -> shard -> server routing.
 */
#include <kunit/test.h>
#include "qbd_logic.h"

#define MiB BIT_ULL(20)
#define GiB BIT_ULL(30)
#define TiB BIT_ULL(40)

static void qbd_shard_layout_rules(struct kunit *test)
{
	struct qbd_layout l;

	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, 4 * MiB, 1), 0);
	KUNIT_EXPECT_EQ(test, l.shard_shift, 22U);
	KUNIT_EXPECT_EQ(test, l.nr_shards, 2560ULL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, 3 * MiB, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, MiB / 2, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, 0, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, 2 * TiB, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, MiB, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test,
			qbd_layout_init(&l, 10 * GiB, MiB, QBD_MAX_SERVERS + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_layout_init(&l, 10 * GiB, TiB, 8), 0);
	KUNIT_EXPECT_EQ(test, l.nr_shards, 1ULL);
}

static void qbd_shard_partial_last(struct kunit *test)
{
	struct qbd_layout l;

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 5 * MiB + 4096, MiB, 2), 0);
	KUNIT_EXPECT_EQ(test, l.nr_shards, 6ULL);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 5 * MiB + 4095), 5ULL);
}

static void qbd_shard_boundaries(struct kunit *test)
{
	struct qbd_layout l;

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 64 * GiB, 4 * MiB, 1), 0);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 4 * MiB - 512), 0ULL);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 4 * MiB - 1), 0ULL);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 4 * MiB), 1ULL);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, 8 * MiB + 512), 2ULL);

	KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(&l, 0, 4 * MiB));
	KUNIT_EXPECT_TRUE(test, qbd_shard_crosses(&l, 0, 4 * MiB + 512));
	KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(&l, 4 * MiB - 512, 512));
	KUNIT_EXPECT_TRUE(test, qbd_shard_crosses(&l, 4 * MiB - 512, 1024));
	KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(&l, 4 * MiB, 4 * MiB));
	KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(&l, 12345, 0));
}

static void qbd_shard_huge_offsets(struct kunit *test)
{
	struct qbd_layout l;
	u64 top = QBD_MAX_VOLUME_SIZE;

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, top, MiB, 3), 0);
	KUNIT_EXPECT_EQ(test, l.nr_shards, 1ULL << 40);
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, top - 512), (1ULL << 40) - 1);
	/* 2^40 - 1 = 1099511627775, divisible by 3 -> server 0 */
	KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, (1ULL << 40) - 1), 0U);
	KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, 1ULL << 40), 1U);
	KUNIT_EXPECT_TRUE(test, qbd_shard_crosses(&l, U64_MAX - 511, 1024));
	KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(&l, U64_MAX - 511, 512));
	KUNIT_EXPECT_EQ(test, qbd_shard_of(&l, U64_MAX), (1ULL << 44) - 1);
}

static void qbd_shard_server_spread(struct kunit *test)
{
	struct qbd_layout l;
	unsigned int hits[QBD_MAX_SERVERS] = {};
	u64 s;
	int i;

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 64 * GiB, MiB, 1), 0);
	for (s = 0; s < 100; s++)
		KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, s), 0U);

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 64 * GiB, MiB, 5), 0);
	for (s = 0; s < 1000; s++) {
		unsigned int srv = qbd_shard_server(&l, s);

		KUNIT_ASSERT_LT(test, srv, 5U);
		KUNIT_EXPECT_EQ(test, srv, (unsigned int)(s % 5));
		hits[srv]++;
	}
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ_MSG(test, hits[i], 200U, "server %d", i);
	/* request at byte offset -> shard -> server */
	KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, qbd_shard_of(&l, 7 * MiB)),
			2U);
}

/*
 * Cut a range at shard boundaries the way qbd_setup_cmd() does, piece by
 * piece: the pieces tile the range, each lies in one shard, and each goes
 * to the server of that shard.
 */
static void qbd_shard_expect_cut(struct kunit *test, const struct qbd_layout *l,
				 u64 off, u32 len, unsigned int want_pieces)
{
	unsigned int n = 0;
	u32 done = 0;

	KUNIT_EXPECT_EQ(test, qbd_shard_pieces(l, off, len), want_pieces);
	while (done < len) {
		u32 p = qbd_shard_piece(l, off + done, len - done);

		KUNIT_ASSERT_GT(test, p, 0U);
		KUNIT_ASSERT_LE(test, p, len - done);
		KUNIT_EXPECT_FALSE(test, qbd_shard_crosses(l, off + done, p));
		/* a piece ends at a shard boundary or at the end of the range */
		if (done + p < len)
			KUNIT_EXPECT_EQ(test,
					(off + done + p) &
						((1ULL << l->shard_shift) - 1),
					0ULL);
		KUNIT_EXPECT_EQ(test, qbd_shard_of(l, off + done),
				qbd_shard_of(l, off) + n);
		done += p;
		n++;
		KUNIT_ASSERT_LE(test, n, want_pieces);
	}
	KUNIT_EXPECT_EQ(test, done, len);
	KUNIT_EXPECT_EQ(test, n, want_pieces);
}

static void qbd_shard_cut_ranges(struct kunit *test)
{
	struct qbd_layout l;

	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 64 * MiB, MiB, 2), 0);
	/* inside one shard: one piece, the whole range */
	KUNIT_EXPECT_EQ(test, qbd_shard_piece(&l, 4096, 8192), 8192U);
	qbd_shard_expect_cut(test, &l, 4096, 8192, 1);
	qbd_shard_expect_cut(test, &l, 0, MiB, 1);
	/* one boundary: two pieces, servers 0 then 1 */
	KUNIT_EXPECT_EQ(test, qbd_shard_piece(&l, MiB - 4096, 8192), 4096U);
	qbd_shard_expect_cut(test, &l, MiB - 4096, 8192, 2);
	KUNIT_EXPECT_EQ(test,
			qbd_shard_server(&l, qbd_shard_of(&l, MiB - 4096)), 0U);
	KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, qbd_shard_of(&l, MiB)), 1U);
	/* a shard-size range not aligned: two pieces */
	qbd_shard_expect_cut(test, &l, MiB / 2, MiB, 2);
	/* many shards (a merged discard of max size and more) */
	qbd_shard_expect_cut(test, &l, 512, 5 * MiB, 6);
	qbd_shard_expect_cut(test, &l, 3 * MiB, 4 * MiB, 4);
	/* the piece never runs past the range */
	KUNIT_EXPECT_EQ(test, qbd_shard_piece(&l, 3 * MiB + 512, 512), 512U);
	KUNIT_EXPECT_EQ(test, qbd_shard_piece(&l, 3 * MiB, 0), 0U);
	KUNIT_EXPECT_EQ(test, qbd_shard_pieces(&l, 3 * MiB, 0), 0U);
}

static void qbd_shard_cut_huge(struct kunit *test)
{
	struct qbd_layout l;
	u64 top = 1ULL << 60;

	/* biggest shards, last bytes of the biggest volume */
	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, top, 1ULL << 40, 8), 0);
	KUNIT_EXPECT_EQ(test, qbd_shard_piece(&l, top - 4096, 4096), 4096U);
	qbd_shard_expect_cut(test, &l, (1ULL << 40) - 512, U32_MAX & ~511U, 2);
	/* smallest shards, a range at the top */
	KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, top, MiB, 3), 0);
	qbd_shard_expect_cut(test, &l, top - 2 * MiB - 512, 2 * MiB, 3);
}

/* A FLUSH has one piece per server and reaches every server once. */
static void qbd_shard_flush_servers(struct kunit *test)
{
	unsigned int n, k, seen;
	struct qbd_layout l;

	for (n = 1; n <= QBD_MAX_SERVERS; n++) {
		KUNIT_ASSERT_EQ(test, qbd_layout_init(&l, 64 * MiB, MiB, n), 0);
		seen = 0;
		for (k = 0; k < n; k++) {
			unsigned int srv = qbd_flush_server(&l, k);

			KUNIT_ASSERT_LT(test, srv, n);
			/* piece k goes to the server of shard k */
			KUNIT_EXPECT_EQ(test, qbd_shard_server(&l, k), srv);
			seen |= 1U << srv;
		}
		KUNIT_EXPECT_EQ_MSG(test, seen, (1U << n) - 1, "%u servers", n);
	}
}

static struct kunit_case qbd_shard_cases[] = {
	/* clang-format off */
	KUNIT_CASE(qbd_shard_layout_rules),
	KUNIT_CASE(qbd_shard_partial_last),
	KUNIT_CASE(qbd_shard_boundaries),
	KUNIT_CASE(qbd_shard_huge_offsets),
	KUNIT_CASE(qbd_shard_server_spread),
	KUNIT_CASE(qbd_shard_cut_ranges),
	KUNIT_CASE(qbd_shard_cut_huge),
	KUNIT_CASE(qbd_shard_flush_servers),
	{}
	/* clang-format on */
};

static struct kunit_suite qbd_shard_suite = {
	.name = "qbd_shard",
	.test_cases = qbd_shard_cases,
};

kunit_test_suite(qbd_shard_suite);
