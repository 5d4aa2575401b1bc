// SPDX-License-Identifier: GPL-2.0
/*
 * qbd throttle: token bucket arithmetic (see qbd_throttle.h for the model).
 * Pure logic: the caller serialises access to a struct qbd_tb_set (the
 * device's throttle_lock) and passes the clock in.
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/time64.h>
#include "qbd_throttle.h"

/* a + b, or U64_MAX when that does not fit */
static u64 qbd_tb_add(u64 a, u64 b)
{
	u64 sum;

	return check_add_overflow(a, b, &sum) ? U64_MAX : sum;
}

/*
 * Nanoseconds a bucket of @rate units/s needs for @cost units. @cost is at
 * most U32_MAX (a request), so @cost * 1e9 / 1 still fits in u64 and the
 * quotient never overflows; rate 0 (unlimited) costs nothing.
 */
u64 qbd_tb_cost_ns(u64 rate, u64 cost)
{
	if (!rate || !cost)
		return 0;
	cost = min_t(u64, cost, U32_MAX);
	return mul_u64_u64_div_u64(cost, NSEC_PER_SEC, rate);
}

/* How long until @tb may start a request: 0 = now. */
u64 qbd_tb_wait_ns(const struct qbd_tb *tb, u64 tau_ns, u64 now)
{
	u64 allowed = qbd_tb_add(now, tau_ns);

	if (!tb->rate || tb->tat <= allowed)
		return 0;
	return tb->tat - allowed;
}

/*
 * A request of @cost units starts, charged as of @from (now, or when a held
 * request arrived). A bucket idle since before @from starts from @from.
 */
void qbd_tb_charge(struct qbd_tb *tb, u64 cost, u64 from)
{
	if (!tb->rate)
		return;
	tb->tat =
		qbd_tb_add(max(tb->tat, from), qbd_tb_cost_ns(tb->rate, cost));
}

/*
 * Change the rate of a running bucket. Debt run up at the old rate (@tat
 * ahead of now) is rescaled when the rate goes up, so a raised limit takes
 * effect at once; when it goes down the debt is kept as it is (already
 * owed time, no more), so requests never wait longer than the new rate
 * asks. Leaving or entering "unlimited" clears the debt.
 */
void qbd_tb_set_rate(struct qbd_tb *tb, u64 rate, u64 now)
{
	u64 debt = tb->tat > now ? tb->tat - now : 0;

	if (!rate || !tb->rate)
		debt = 0;
	else if (rate > tb->rate)
		debt = mul_u64_u64_div_u64(debt, tb->rate, rate);
	tb->rate = rate;
	tb->tat = qbd_tb_add(now, debt);
}

static void qbd_tb_set_burst(struct qbd_tb_set *s, u32 burst_ms)
{
	s->burst_ms = burst_ms ? burst_ms : QBD_THROTTLE_DEFAULT_BURST_MS;
	s->tau_ns = (u64)s->burst_ms * NSEC_PER_MSEC;
}

/* At map time: every bucket starts full. */
void qbd_tb_set_init(struct qbd_tb_set *s, const u64 limits[QBD_TB_NR],
		     u32 burst_ms, u64 now)
{
	int i;

	qbd_tb_set_burst(s, burst_ms);
	for (i = 0; i < QBD_TB_NR; i++) {
		s->tb[i].rate = limits[i];
		s->tb[i].tat = now;
	}
}

/* New limits on a running device; burst_ms 0 picks the default. */
void qbd_tb_set_limits(struct qbd_tb_set *s, const u64 limits[QBD_TB_NR],
		       u32 burst_ms, u64 now)
{
	int i;

	qbd_tb_set_burst(s, burst_ms);
	for (i = 0; i < QBD_TB_NR; i++)
		qbd_tb_set_rate(&s->tb[i], limits[i], now);
}

/*
 * May a read or write of @bytes start now? 0: yes, and both of its buckets
 * (bps and iops) are charged. Otherwise the ns until both allow it; nothing
 * is charged, the caller asks again then.
 */
u64 qbd_tb_set_admit(struct qbd_tb_set *s, bool write, u64 bytes, u64 now)
{
	return qbd_tb_set_admit_held(s, write, bytes, now, now);
}

/*
 * The same for a request held since @since (<= @now): when admitted it is
 * charged as of @since, but not earlier than QBD_THROTTLE_CATCHUP_NS before
 * @now, so a late release does not lower the rate (qbd_throttle.h).
 */
u64 qbd_tb_set_admit_held(struct qbd_tb_set *s, bool write, u64 bytes, u64 now,
			  u64 since)
{
	struct qbd_tb *bps = &s->tb[write ? QBD_TB_WRITE_BPS : QBD_TB_READ_BPS];
	struct qbd_tb *iops =
		&s->tb[write ? QBD_TB_WRITE_IOPS : QBD_TB_READ_IOPS];
	u64 wait;

	wait = max(qbd_tb_wait_ns(bps, s->tau_ns, now),
		   qbd_tb_wait_ns(iops, s->tau_ns, now));
	if (wait)
		return wait;
	since = min(since, now);
	if (now - since > QBD_THROTTLE_CATCHUP_NS)
		since = now - QBD_THROTTLE_CATCHUP_NS;
	qbd_tb_charge(bps, bytes, since);
	qbd_tb_charge(iops, 1, since);
	return 0;
}
