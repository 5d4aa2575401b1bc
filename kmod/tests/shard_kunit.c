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

static struct kunit_case qbd_shard_cases[] = {
	/* clang-format off */
	KUNIT_CASE(qbd_shard_layout_rules),
	KUNIT_CASE(qbd_shard_partial_last),
	KUNIT_CASE(qbd_shard_boundaries),
	KUNIT_CASE(qbd_shard_huge_offsets),
	KUNIT_CASE(qbd_shard_server_spread),
	{}
	/* clang-format on */
};

static struct kunit_suite qbd_shard_suite = {
	.name = "qbd_shard",
	.test_cases = qbd_shard_cases,
};

kunit_test_suite(qbd_shard_suite);
