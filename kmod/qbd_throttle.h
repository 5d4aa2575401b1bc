/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd throttle: per-device token buckets, pure arithmetic (no locks, no
 * blk-mq), so the KUnit suite qbd_throttle builds it on UML.
 *
 * Each bucket is kept as a GCRA ("virtual scheduling") clock rather than a
 * token count: @tat is the time at which the bucket would be exactly empty
 * again. A request costing c units at r units/s moves @tat by c/r seconds;
 * it may start when @tat is at most the burst allowance (tau) ahead of now.
 * That is a token bucket of depth tau * r that refills continuously, with
 * no rounding lost between frequent refills, no overflow at any rate
 * (2^64-1 bps costs 0 ns) and a long idle period that caps itself (max()).
 * A request bigger than the bucket still passes when the bucket is full
 * and leaves it in debt, so the long-run rate is exact.
 *
 * A request that had to wait is charged as of when it arrived (the bucket
 * was busy all along), not as of when it is released: a release that comes
 * late (timer slack, a loaded CPU, a guest that is not scheduled) costs no
 * rate as long as the lateness is within the catch-up window; what is made
 * up then goes out at once, so a late release can add at most one window
 * of rate to a burst.
 */
#ifndef QBD_THROTTLE_H
#define QBD_THROTTLE_H

#include <linux/types.h>

#define QBD_THROTTLE_DEFAULT_BURST_MS 100U /* burst_ms 0 picks this */
#define QBD_THROTTLE_MAX_BURST_MS 60000U
#define QBD_THROTTLE_CATCHUP_NS (1000ULL * 1000 * 1000) /* 1 s */

/* The four buckets of a device, indexes into struct qbd_tb_set.tb. */
enum {
	QBD_TB_READ_BPS = 0,
	QBD_TB_WRITE_BPS,
	QBD_TB_READ_IOPS,
	QBD_TB_WRITE_IOPS,
	QBD_TB_NR,
};

/**
 * struct qbd_tb - one bucket
 * @rate: units (bytes or requests) per second; 0 = unlimited
 * @tat: theoretical arrival time, ns on the caller's clock
 */
struct qbd_tb {
	u64 rate;
	u64 tat;
};

/**
 * struct qbd_tb_set - the four buckets of a device
 * @burst_ms: allowance as given (never 0 after qbd_tb_set_limits())
 * @tau_ns: @burst_ms in ns
 * @tb: QBD_TB_* buckets
 */
struct qbd_tb_set {
	u32 burst_ms;
	u64 tau_ns;
	struct qbd_tb tb[QBD_TB_NR];
};

u64 qbd_tb_cost_ns(u64 rate, u64 cost);
u64 qbd_tb_wait_ns(const struct qbd_tb *tb, u64 tau_ns, u64 now);
void qbd_tb_charge(struct qbd_tb *tb, u64 cost, u64 from);
void qbd_tb_set_rate(struct qbd_tb *tb, u64 rate, u64 now);

void qbd_tb_set_init(struct qbd_tb_set *s, const u64 limits[QBD_TB_NR],
		     u32 burst_ms, u64 now);
void qbd_tb_set_limits(struct qbd_tb_set *s, const u64 limits[QBD_TB_NR],
		       u32 burst_ms, u64 now);
u64 qbd_tb_set_admit(struct qbd_tb_set *s, bool write, u64 bytes, u64 now);
u64 qbd_tb_set_admit_held(struct qbd_tb_set *s, bool write, u64 bytes, u64 now,
			  u64 since);

#endif /* QBD_THROTTLE_H */
