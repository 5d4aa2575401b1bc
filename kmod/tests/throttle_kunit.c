// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_throttle: token bucket arithmetic of qbd_throttle.c.
 */
#include <kunit/test.h>
#include <linux/time64.h>
#include "qbd_throttle.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC
#define T0 (1000ULL * SEC) /* a clock that is not zero */

static void set_with(struct qbd_tb_set *s, u64 rbps, u64 wbps, u64 riops,
		     u64 wiops, u32 burst_ms)
{
	u64 l[QBD_TB_NR] = { rbps, wbps, riops, wiops };

	qbd_tb_set_init(s, l, burst_ms, T0);
}

/* Admit as many @bytes requests as the clock allows, advancing it. */
static u64 run_for(struct qbd_tb_set *s, bool write, u64 bytes, u64 start,
		   u64 dur)
{
	u64 now = start, n = 0, wait;

	while (now < start + dur) {
		wait = qbd_tb_set_admit(s, write, bytes, now);
		if (wait)
			now += wait;
		else
			n++;
	}
	return n;
}

static void qbd_throttle_cost(struct kunit *test)
{
	static const struct {
		const char *name;
		u64 rate, cost, want;
	} cases[] = {
		{ "unlimited", 0, 4096, 0 },
		{ "zero cost", 100, 0, 0 },
		{ "1 iops", 1, 1, SEC },
		{ "1000 iops", 1000, 1, MS },
		{ "3 iops truncates", 3, 1, 333333333 },
		{ "1 MB/s 4k", 1000000, 4096, 4096000 },
		{ "max rate", U64_MAX, 1ULL << 20, 0 },
		{ "huge cost clamps", 1, U64_MAX, (u64)U32_MAX * SEC },
		{ "1 bps 4 GiB-1", 1, U32_MAX, (u64)U32_MAX * SEC },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 got = qbd_tb_cost_ns(cases[i].rate, cases[i].cost);

		KUNIT_EXPECT_EQ_MSG(test, got, cases[i].want, "case %s",
				    cases[i].name);
	}
}

static void qbd_throttle_zero_unlimited(struct kunit *test)
{
	struct qbd_tb_set s;
	int i;

	set_with(&s, 0, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, s.burst_ms, QBD_THROTTLE_DEFAULT_BURST_MS);
	for (i = 0; i < 100000; i++) {
		KUNIT_ASSERT_EQ(test, qbd_tb_set_admit(&s, i & 1, 1 << 20, T0),
				0ULL);
	}
	for (i = 0; i < QBD_TB_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, s.tb[i].tat, T0, "bucket %d moved",
				    i);
}

static void qbd_throttle_huge_limits(struct kunit *test)
{
	struct qbd_tb_set s;
	u64 now;
	int i;

	set_with(&s, U64_MAX, U64_MAX, U64_MAX, U64_MAX,
		 QBD_THROTTLE_MAX_BURST_MS);
	for (i = 0; i < 1000; i++)
		KUNIT_ASSERT_EQ(test, qbd_tb_set_admit(&s, true, U32_MAX, T0),
				0ULL);
	/* a clock at the end of time: saturates, never wraps to "admit late" */
	now = U64_MAX - 10;
	set_with(&s, 1, 1, 1, 1, QBD_THROTTLE_MAX_BURST_MS);
	s.tb[QBD_TB_READ_BPS].tat = now;
	KUNIT_EXPECT_EQ(test, qbd_tb_set_admit(&s, false, U32_MAX, now), 0ULL);
	KUNIT_EXPECT_EQ(test, s.tb[QBD_TB_READ_BPS].tat, U64_MAX);
	KUNIT_EXPECT_EQ(test,
			qbd_tb_wait_ns(&s.tb[QBD_TB_READ_BPS], s.tau_ns, now),
			0ULL);
}

/* Long-run rate: 10 s at each limit, within 1%. */
static void qbd_throttle_rate(struct kunit *test)
{
	static const struct {
		const char *name;
		u64 rbps, wbps, riops, wiops;
		bool write;
		u64 bytes, want; /* admitted in 10 s */
	} cases[] = {
		{ "read iops 100", 0, 0, 100, 0, false, 4096, 1000 },
		{ "write iops 250", 0, 0, 0, 250, true, 4096, 2500 },
		{ "read 1 MB/s 4k", 1000000, 0, 0, 0, false, 4096, 2441 },
		{ "write 10 MB/s 1M", 0, 10000000, 0, 0, true, 1 << 20, 95 },
		{ "mixed: iops binds", 1 << 30, 0, 50, 0, false, 4096, 500 },
		{ "mixed: bps binds", 409600, 0, 1000, 0, false, 4096, 1000 },
		{ "read limit, write free", 0, 0, 10, 0, true, 4096, 0 },
	};
	struct qbd_tb_set s;
	u64 n;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		set_with(&s, cases[i].rbps, cases[i].wbps, cases[i].riops,
			 cases[i].wiops, 0);
		if (!cases[i].want) {
			/* unlimited direction: never waits */
			KUNIT_EXPECT_EQ_MSG(test,
					    qbd_tb_set_admit(&s, cases[i].write,
							     cases[i].bytes,
							     T0),
					    0ULL, "case %s", cases[i].name);
			continue;
		}
		n = run_for(&s, cases[i].write, cases[i].bytes, T0, 10 * SEC);
		KUNIT_EXPECT_GE_MSG(test, n * 100, cases[i].want * 99,
				    "case %s: %llu admitted", cases[i].name, n);
		/* the burst (100 ms = 1% of 10 s) plus one request more */
		KUNIT_EXPECT_LE_MSG(test, n,
				    cases[i].want + cases[i].want / 100 + 2,
				    "case %s: %llu admitted", cases[i].name, n);
	}
}

/* A full bucket lets burst_ms of rate (plus one request) through at once. */
static void qbd_throttle_burst_cap(struct kunit *test)
{
	static const struct {
		u32 burst_ms;
		u64 iops, want;
	} cases[] = {
		{ 0, 1000, 101 }, /* default 100 ms */
		{ 100, 1000, 101 }, { 1000, 1000, 1001 }, { 10, 1000, 11 },
		{ 100, 1, 1 }, /* slower than the burst: one */
	};
	struct qbd_tb_set s;
	u64 n;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		set_with(&s, 0, 0, cases[i].iops, 0, cases[i].burst_ms);
		n = 0;
		while (!qbd_tb_set_admit(&s, false, 512, T0) && n < 100000)
			n++;
		KUNIT_EXPECT_EQ_MSG(test, n, cases[i].want,
				    "burst_ms %u iops %llu", cases[i].burst_ms,
				    cases[i].iops);
	}
}

/* A day idle refills to the burst, not to a day's worth of tokens. */
static void qbd_throttle_long_idle(struct kunit *test)
{
	struct qbd_tb_set s;
	u64 now = T0 + 86400ULL * SEC, n = 0;

	set_with(&s, 0, 0, 100, 0, 100);
	run_for(&s, false, 512, T0, SEC);
	while (!qbd_tb_set_admit(&s, false, 512, now) && n < 100000)
		n++;
	KUNIT_EXPECT_EQ(test, n, 11ULL); /* 100 ms of 100 iops, plus one */
}

/* A request larger than the bucket passes when full and leaves debt. */
static void qbd_throttle_big_request(struct kunit *test)
{
	struct qbd_tb_set s;
	u64 wait;

	set_with(&s, 0, 1000, 0, 0, 100); /* 1000 B/s, 100 B bucket */
	KUNIT_EXPECT_EQ(test, qbd_tb_set_admit(&s, true, 10000, T0), 0ULL);
	wait = qbd_tb_set_admit(&s, true, 1, T0);
	KUNIT_EXPECT_EQ(test, wait, 10 * SEC - 100 * MS);
	KUNIT_EXPECT_EQ(test, qbd_tb_set_admit(&s, true, 1, T0 + wait), 0ULL);
}

static void qbd_throttle_change_midflight(struct kunit *test)
{
	u64 l[QBD_TB_NR] = { 0, 0, 10, 0 };
	struct qbd_tb_set s;
	u64 wait, n;

	set_with(&s, 0, 0, 10, 0, 100);
	run_for(&s, false, 512, T0, SEC);
	/* drained at 10 iops: the next one waits up to 100 ms */
	n = 0;
	while (!(wait = qbd_tb_set_admit(&s, false, 512, T0 + SEC)) && n < 100)
		n++;
	KUNIT_EXPECT_LE(test, n, 2ULL);
	KUNIT_EXPECT_GT(test, wait, 0ULL);
	KUNIT_EXPECT_LE(test, wait, 100 * MS);

	/*
	 * raised 100x: the debt shrinks 100x and the new rate holds at once:
	 * 1 s at 1000 iops plus the 100 ms burst the bucket fills up to
	 */
	l[QBD_TB_READ_IOPS] = 1000;
	qbd_tb_set_limits(&s, l, 100, T0 + SEC);
	KUNIT_EXPECT_LE(test, qbd_tb_set_admit(&s, false, 512, T0 + SEC),
			1 * MS);
	n = run_for(&s, false, 512, T0 + SEC, 2 * SEC);
	KUNIT_EXPECT_GE(test, n, 1999ULL);
	KUNIT_EXPECT_LE(test, n, 2102ULL);

	/* lowered: the new rate holds, the wait is never above the old debt */
	l[QBD_TB_READ_IOPS] = 5;
	qbd_tb_set_limits(&s, l, 100, T0 + 3 * SEC);
	wait = qbd_tb_set_admit(&s, false, 512, T0 + 3 * SEC);
	KUNIT_EXPECT_LE(test, wait, 100 * MS);
	n = run_for(&s, false, 512, T0 + 4 * SEC, 10 * SEC);
	KUNIT_EXPECT_GE(test, n, 49ULL);
	KUNIT_EXPECT_LE(test, n, 52ULL);

	/* to unlimited: no debt left */
	l[QBD_TB_READ_IOPS] = 0;
	qbd_tb_set_limits(&s, l, 0, T0 + 14 * SEC);
	KUNIT_EXPECT_EQ(test, qbd_tb_set_admit(&s, false, 512, T0 + 14 * SEC),
			0ULL);
	KUNIT_EXPECT_EQ(test, s.burst_ms, QBD_THROTTLE_DEFAULT_BURST_MS);

	/* and back: starts full, not in debt */
	l[QBD_TB_READ_IOPS] = 1;
	qbd_tb_set_limits(&s, l, 100, T0 + 15 * SEC);
	KUNIT_EXPECT_EQ(test, qbd_tb_set_admit(&s, false, 512, T0 + 15 * SEC),
			0ULL);
	KUNIT_EXPECT_GT(test, qbd_tb_set_admit(&s, false, 512, T0 + 15 * SEC),
			0ULL);
}

/*
 * A backlog released 150 ms after each request is due (more than the
 * 100 ms burst): charged as of arrival, the rate over 10 s still holds;
 * charged as of release (plain admit), it would fall short.
 */
static void qbd_throttle_late_release(struct kunit *test)
{
	struct qbd_tb_set s, plain;
	u64 now, n, wait;

	set_with(&s, 0, 0, 100, 0, 100);
	for (now = T0, n = 0; now < T0 + 10 * SEC;) {
		wait = qbd_tb_set_admit_held(&s, false, 512, now, T0);
		if (wait)
			now += wait + 150 * MS;
		else
			n++;
	}
	KUNIT_EXPECT_GE(test, n, 1000ULL);
	KUNIT_EXPECT_LE(test, n, 1011ULL + 16);

	set_with(&plain, 0, 0, 100, 0, 100);
	for (now = T0, n = 0; now < T0 + 10 * SEC;) {
		wait = qbd_tb_set_admit(&plain, false, 512, now);
		if (wait)
			now += wait + 150 * MS;
		else
			n++;
	}
	KUNIT_EXPECT_LT(test, n, 900ULL);
}

/* Released 5 s late: made up for 1 s (the catch-up window) at most. */
static void qbd_throttle_catchup_cap(struct kunit *test)
{
	struct qbd_tb_set s;
	u64 now = T0 + 5 * SEC, n = 0;

	set_with(&s, 0, 0, 100, 0, 100);
	while (!qbd_tb_set_admit(&s, false, 512, T0))
		n++;
	KUNIT_EXPECT_EQ(test, n, 11ULL);
	n = 0;
	while (!qbd_tb_set_admit_held(&s, false, 512, now, T0) && n < 100000)
		n++;
	KUNIT_EXPECT_EQ(test, n, 111ULL); /* 1 s + 100 ms of 100 iops, + 1 */
	/* arrived after the release time it is given: charged from now */
	KUNIT_EXPECT_GT(test,
			qbd_tb_set_admit_held(&s, false, 512, now, now + SEC),
			0ULL);
}

static struct kunit_case qbd_throttle_cases[] = {
	KUNIT_CASE(qbd_throttle_cost),
	KUNIT_CASE(qbd_throttle_zero_unlimited),
	KUNIT_CASE(qbd_throttle_huge_limits),
	KUNIT_CASE(qbd_throttle_rate),
	KUNIT_CASE(qbd_throttle_burst_cap),
	KUNIT_CASE(qbd_throttle_long_idle),
	KUNIT_CASE(qbd_throttle_big_request),
	KUNIT_CASE(qbd_throttle_change_midflight),
	KUNIT_CASE(qbd_throttle_late_release),
	KUNIT_CASE(qbd_throttle_catchup_cap),
	{}
};

static struct kunit_suite qbd_throttle_suite = {
	.name = "qbd_throttle",
	.test_cases = qbd_throttle_cases,
};

kunit_test_suite(qbd_throttle_suite);
