// SPDX-License-Identifier: GPL-2.0
/*
 * qbd volume operations on a mapped device: throttle (token buckets of
 * qbd_throttle.c checked in queue_rq; a request that must wait is held
 * per direction off the hardware queue and handed back to blk-mq by an
 * hrtimer when its bucket allows), suspend/resume, online resize and the
 * size-change notice (remap is in qbd_dev.c, next to recovery).
 *
 * Suspend quiesces the request queue one more level (blk-mq counts
 * quiesce depth, so it nests with recovery's own quiesce): requests that
 * arrive are held in blk-mq, unstarted, so no IO timeout runs on them, and
 * requests already sent complete normally. Recovery carries on underneath:
 * a device suspended while RECONNECTING or FAILED keeps reconnecting, and
 * after resume it is in whatever connection state recovery reached. The
 * resume mode then applies in queue_rq for every request until another
 * resume changes it: ERROR fails requests with EIO, DISCARD completes them
 * without sending anything (reads see zeros). While recovery itself keeps
 * the queue quiesced (RECONNECTING), held requests meet the mode when it
 * lets them go: reconnected, or FAILED after io_timeout.
 *
 * Suspend, resume, resize and set-throttle run under qbd_ctl_mutex, so
 * they are serialised with each other and with unmap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/ktime.h>
#include "qbd.h"

const char *qbd_resume_mode_name(u32 mode)
{
	switch (mode) {
	case QBD_RESUME_NORMAL:
		return "normal";
	case QBD_RESUME_ERROR:
		return "error";
	case QBD_RESUME_DISCARD:
		return "discard";
	default:
		return "unknown";
	}
}

/* The state userspace sees: SUSPENDED hides the connection state. */
int qbd_shown_state(struct qbd_device *qdev)
{
	return qbd_state_shown(qbd_state(qdev), READ_ONCE(qdev->suspended));
}

static void qbd_limits_of(const struct qbd_map *m, u64 limits[QBD_TB_NR])
{
	limits[QBD_TB_READ_BPS] = m->read_bps;
	limits[QBD_TB_WRITE_BPS] = m->write_bps;
	limits[QBD_TB_READ_IOPS] = m->read_iops;
	limits[QBD_TB_WRITE_IOPS] = m->write_iops;
}

static bool qbd_limits_any(const u64 limits[QBD_TB_NR])
{
	int i;

	for (i = 0; i < QBD_TB_NR; i++)
		if (limits[i])
			return true;
	return false;
}

static enum hrtimer_restart qbd_throttle_timer(struct hrtimer *timer);

/* At map time, before the disk exists: the map's limits apply at once. */
void qbd_ops_init(struct qbd_device *qdev)
{
	u64 limits[QBD_TB_NR];

	spin_lock_init(&qdev->throttle_lock);
	INIT_LIST_HEAD(&qdev->held[0]);
	INIT_LIST_HEAD(&qdev->held[1]);
	hrtimer_init(&qdev->throttle_timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_ABS_HARD);
	qdev->throttle_timer.function = qbd_throttle_timer;
	qbd_limits_of(&qdev->cfg, limits);
	qbd_tb_set_init(&qdev->throttle, limits, 0, ktime_get_ns());
	qdev->throttle_on = qbd_limits_any(limits);
	qdev->resume_mode = QBD_RESUME_NORMAL;
}

/*
 * Wake the throttle at @when (ktime_get_ns() clock) unless it is already
 * due at or before then. Under throttle_lock, like every arming, so the
 * earliest wake any held request needs is the one that stays.
 */
static void qbd_throttle_arm(struct qbd_device *qdev, u64 when)
{
	struct hrtimer *t = &qdev->throttle_timer;

	lockdep_assert_held(&qdev->throttle_lock);
	if (hrtimer_is_queued(t) && ktime_to_ns(hrtimer_get_expires(t)) <= when)
		return;
	hrtimer_start(t, ns_to_ktime(when), HRTIMER_MODE_ABS_HARD);
}

/* Under throttle_lock: charge @cmd's buckets now, or say how long to wait. */
static u64 qbd_throttle_admit(struct qbd_device *qdev, struct qbd_cmd *cmd,
			      bool write, u64 now)
{
	u64 bytes = blk_rq_bytes(blk_mq_rq_from_pdu(cmd));
	u64 wait = qbd_tb_set_admit_held(&qdev->throttle, write, bytes, now,
					 cmd->held_ns);

	if (!wait)
		cmd->admitted = true;
	return wait;
}

/*
 * Under throttle_lock: move to @out the held requests that may go now,
 * oldest first per direction, charging their buckets (@send), or all of
 * them uncharged when the device does not send (FAILED, DELETING, resume
 * error or discard: queue_rq then fails or discards them). Returns when
 * the next one may go (0: nothing is held any more).
 */
static u64 qbd_throttle_release(struct qbd_device *qdev, bool send, u64 now,
				struct list_head *out)
{
	struct list_head *held;
	struct qbd_cmd *cmd;
	u64 next = 0, wait;
	int dir;

	for (dir = 0; dir < ARRAY_SIZE(qdev->held); dir++) {
		held = &qdev->held[dir];
		while (!list_empty(held)) {
			cmd = list_first_entry(held, struct qbd_cmd, tentry);
			wait = 0;
			if (send)
				wait = qbd_throttle_admit(qdev, cmd, dir, now);
			if (wait) {
				if (!next || now + wait < next)
					next = now + wait;
				break;
			}
			list_move_tail(&cmd->tentry, out);
		}
	}
	return next;
}

/*
 * Hand released requests back to blk-mq, unstarted: queue_rq sees them
 * again (admitted: they pass the throttle) whatever the device does by
 * then (quiesced by recovery, remap or suspend: they wait there).
 * Requeued at the head one by one, oldest first: the requeue work puts
 * them back in this order.
 */
static void qbd_throttle_requeue(struct qbd_device *qdev, struct list_head *out)
{
	struct qbd_cmd *cmd, *next;

	if (list_empty(out))
		return;
	list_for_each_entry_safe(cmd, next, out, tentry) {
		list_del_init(&cmd->tentry);
		blk_mq_requeue_request(blk_mq_rq_from_pdu(cmd), false);
	}
	blk_mq_kick_requeue_list(qdev->disk->queue);
}

/*
 * Hardirq (a hard timer: a softirq one can wait for ksoftirqd on a busy
 * CPU): the oldest held request of some direction may go.
 */
static enum hrtimer_restart qbd_throttle_timer(struct hrtimer *timer)
{
	struct qbd_device *qdev =
		container_of(timer, struct qbd_device, throttle_timer);
	bool send = qbd_rq_action(qbd_state(qdev),
				  READ_ONCE(qdev->resume_mode)) == QBD_RQ_SEND;
	LIST_HEAD(out);
	u64 next;

	spin_lock(&qdev->throttle_lock);
	next = qbd_throttle_release(qdev, send, ktime_get_ns(), &out);
	if (next)
		qbd_throttle_arm(qdev, next);
	spin_unlock(&qdev->throttle_lock);
	qbd_throttle_requeue(qdev, &out);
	return HRTIMER_NORESTART;
}

/*
 * Token buckets for a read or write about to start. One its buckets make
 * wait, or that finds older ones of its direction held, is held too: off
 * the hardware queue, unstarted, until the timer releases it. So the
 * requests behind it (the other direction's among them) go on.
 */
static bool qbd_throttle_rq(struct qbd_device *qdev, struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool write = req_op(rq) == REQ_OP_WRITE;
	struct list_head *held = &qdev->held[write];
	unsigned long flags;
	u64 now, wait = 1;

	if (cmd->admitted)
		return false; /* charged already: released, or a resend */
	if (req_op(rq) != REQ_OP_READ && !write)
		return false; /* flush, discard, write-zeroes pass */
	now = ktime_get_ns();
	cmd->held_ns = now;
	spin_lock_irqsave(&qdev->throttle_lock, flags);
	if (list_empty(held)) {
		wait = qbd_throttle_admit(qdev, cmd, write, now);
		if (!wait) {
			spin_unlock_irqrestore(&qdev->throttle_lock, flags);
			return false;
		}
		/* the first held of its direction: the timer wakes for it */
		qbd_throttle_arm(qdev, now + wait);
	}
	list_add_tail(&cmd->tentry, held);
	spin_unlock_irqrestore(&qdev->throttle_lock, flags);
	return true;
}

/* Resume DISCARD: complete without the server; reads see zeros. */
static void qbd_discard_rq(struct request *rq)
{
	struct bio *bio;

	blk_mq_start_request(rq);
	if (req_op(rq) == REQ_OP_READ)
		__rq_for_each_bio(bio, rq)
			zero_fill_bio(bio);
	blk_mq_end_request(rq, BLK_STS_OK);
}

/**
 * qbd_ops_queue_rq - state, resume mode and throttle, before a request starts
 * @qdev: the device
 * @rq: the request
 * @state: qbd_state() as queue_rq read it
 * @ret: what queue_rq returns when this returns true
 *
 * Returns false when the request goes on to the transport as usual; true
 * when it was failed, discarded or held by the throttle (*@ret OK).
 */
bool qbd_ops_queue_rq(struct qbd_device *qdev, struct request *rq, int state,
		      blk_status_t *ret)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	switch (qbd_rq_action(state, READ_ONCE(qdev->resume_mode))) {
	case QBD_RQ_FAIL:
		this_cpu_inc(qdev->stats->errors);
		cmd->start_ns = 0;
		cmd->admitted = false;
		*ret = BLK_STS_IOERR;
		return true;
	case QBD_RQ_DISCARD:
		cmd->start_ns = 0; /* the tag's next request starts afresh */
		cmd->admitted = false;
		qbd_discard_rq(rq);
		*ret = BLK_STS_OK;
		return true;
	case QBD_RQ_SEND:
		break;
	}
	if (!READ_ONCE(qdev->throttle_on))
		return false; /* what is still held goes at the kick */
	if (qbd_throttle_rq(qdev, rq)) {
		*ret = BLK_STS_OK;
		return true;
	}
	return false;
}

/*
 * Let the throttle look at what it holds now: new limits, a resume mode,
 * a state that fails IO. Any context.
 */
void qbd_ops_kick(struct qbd_device *qdev)
{
	unsigned long flags;

	spin_lock_irqsave(&qdev->throttle_lock, flags);
	if (!list_empty(&qdev->held[0]) || !list_empty(&qdev->held[1]))
		qbd_throttle_arm(qdev, ktime_get_ns());
	spin_unlock_irqrestore(&qdev->throttle_lock, flags);
}

/* SET_THROTTLE, under qbd_ctl_mutex: new limits apply to held IO at once. */
int qbd_dev_set_throttle(struct qbd_device *qdev, const struct qbd_throttle *t)
{
	u64 limits[QBD_TB_NR] = {
		[QBD_TB_READ_BPS] = t->read_bps,
		[QBD_TB_WRITE_BPS] = t->write_bps,
		[QBD_TB_READ_IOPS] = t->read_iops,
		[QBD_TB_WRITE_IOPS] = t->write_iops,
	};
	unsigned long flags;

	lockdep_assert_held(&qbd_ctl_mutex);
	spin_lock_irqsave(&qdev->throttle_lock, flags);
	qbd_tb_set_limits(&qdev->throttle, limits, t->burst_ms, ktime_get_ns());
	WRITE_ONCE(qdev->cfg.read_bps, t->read_bps);
	WRITE_ONCE(qdev->cfg.write_bps, t->write_bps);
	WRITE_ONCE(qdev->cfg.read_iops, t->read_iops);
	WRITE_ONCE(qdev->cfg.write_iops, t->write_iops);
	WRITE_ONCE(qdev->throttle_on, qbd_limits_any(limits));
	/* held requests meet the new limits now */
	if (!list_empty(&qdev->held[0]) || !list_empty(&qdev->held[1]))
		qbd_throttle_arm(qdev, ktime_get_ns());
	spin_unlock_irqrestore(&qdev->throttle_lock, flags);
	pr_info("%s: throttle read_bps=%llu write_bps=%llu read_iops=%llu write_iops=%llu burst_ms=%u (0 = unlimited)\n",
		qbd_name(qdev), t->read_bps, t->write_bps, t->read_iops,
		t->write_iops, qdev->throttle.burst_ms);
	return 0;
}

u32 qbd_dev_burst_ms(struct qbd_device *qdev)
{
	unsigned long flags;
	u32 ms;

	spin_lock_irqsave(&qdev->throttle_lock, flags);
	ms = qdev->throttle.burst_ms;
	spin_unlock_irqrestore(&qdev->throttle_lock, flags);
	return ms;
}

/* SUSPEND, under qbd_ctl_mutex. Suspending a suspended device is a no-op. */
int qbd_dev_suspend(struct qbd_device *qdev)
{
	unsigned long flags;

	lockdep_assert_held(&qbd_ctl_mutex);
	if (qbd_suspend_step(qdev->suspended) == QBD_STEP_NONE)
		return 0;
	/* returns once no queue_rq runs: from here new IO is held */
	blk_mq_quiesce_queue(qdev->disk->queue);
	spin_lock_irqsave(&qdev->lock, flags);
	WRITE_ONCE(qdev->suspended, true);
	spin_unlock_irqrestore(&qdev->lock, flags);
	pr_info("%s: suspended (%s underneath): new IO is held\n",
		qbd_name(qdev), qbd_state_name(qbd_state(qdev)));
	return 0;
}

/*
 * RESUME, under qbd_ctl_mutex. Also valid on a device that is not
 * suspended: it changes the mode (e.g. back to NORMAL after ERROR).
 */
int qbd_dev_resume(struct qbd_device *qdev, u32 mode)
{
	unsigned long flags;
	bool was;

	lockdep_assert_held(&qbd_ctl_mutex);
	spin_lock_irqsave(&qdev->lock, flags);
	WRITE_ONCE(qdev->resume_mode, mode);
	was = qdev->suspended;
	WRITE_ONCE(qdev->suspended, false);
	spin_unlock_irqrestore(&qdev->lock, flags);
	/* the mode is in place before held requests reach queue_rq */
	if (qbd_resume_step(was) == QBD_STEP_UNQUIESCE)
		blk_mq_unquiesce_queue(qdev->disk->queue);
	else
		blk_mq_run_hw_queues(qdev->disk->queue, true);
	qbd_ops_kick(qdev); /* what the throttle holds meets the mode */
	pr_info("%s: %s, mode %s (%s)\n", qbd_name(qdev),
		was ? "resumed" : "not suspended, resume mode set",
		qbd_resume_mode_name(mode), qbd_state_name(qbd_state(qdev)));
	return 0;
}

/*
 * Unmap, DELETING set and the queue quiesced (no queue_rq holds anything
 * new): hand what the throttle holds back to blk-mq and let the requests
 * a SUSPEND held reach queue_rq; there they all fail.
 */
void qbd_ops_remove(struct qbd_device *qdev)
{
	unsigned long flags;
	LIST_HEAD(out);
	bool was;

	hrtimer_cancel(&qdev->throttle_timer);
	spin_lock_irqsave(&qdev->throttle_lock, flags);
	list_splice_tail_init(&qdev->held[0], &out);
	list_splice_tail_init(&qdev->held[1], &out);
	spin_unlock_irqrestore(&qdev->throttle_lock, flags);
	qbd_throttle_requeue(qdev, &out);

	spin_lock_irqsave(&qdev->lock, flags);
	was = qdev->suspended;
	WRITE_ONCE(qdev->suspended, false);
	spin_unlock_irqrestore(&qdev->lock, flags);
	if (was)
		blk_mq_unquiesce_queue(qdev->disk->queue);
}

/**
 * qbd_dev_grow - grow the disk to @size bytes (checked by qbd_check_resize())
 * @qdev: the device
 * @size: new size, not smaller than the mapped size
 * @why: set when the size does not fit the shard layout
 *
 * Under qbd_ctl_mutex (resize, remap, a server's size-change notice).
 * Shard routing does not depend on the size; reconnects check the server
 * volume against the new size.
 */
int qbd_dev_grow(struct qbd_device *qdev, u64 size, const char **why)
{
	struct qbd_layout l;
	u64 old = qdev->cfg.size;
	int ret;

	lockdep_assert_held(&qbd_ctl_mutex);
	if (size <= old)
		return 0;
	ret = qbd_layout_init(&l, size, qdev->cfg.shard_size,
			      qdev->cfg.nr_servers);
	if (ret) {
		*why = "size does not fit the shard layout";
		return ret;
	}
	WRITE_ONCE(qdev->cfg.size, size);
	WRITE_ONCE(qdev->layout.nr_shards, l.nr_shards);
	set_capacity_and_notify(qdev->disk, size >> SECTOR_SHIFT);
	pr_info("%s: resized from %llu to %llu bytes\n", qbd_name(qdev), old,
		size);
	return 0;
}

/* RESIZE, under qbd_ctl_mutex: the volume already grew on the server. */
int qbd_dev_resize(struct qbd_device *qdev, u64 size, const char **why)
{
	int ret;

	lockdep_assert_held(&qbd_ctl_mutex);
	ret = qbd_check_resize(size, &qdev->cfg, why);
	if (ret)
		return ret;
	return qbd_dev_grow(qdev, size, why);
}

/**
 * qbd_dev_size_notice - a server reported the volume's size (PING reply)
 * @qdev: the device
 * @size: bytes, as the server said
 *
 * Any context (the transport's receive path). A larger size grows the
 * disk from @size_work; a smaller one is ignored (qbd only grows).
 */
void qbd_dev_size_notice(struct qbd_device *qdev, u64 size)
{
	unsigned long flags;
	bool grow = false;

	if (size <= READ_ONCE(qdev->cfg.size))
		return;
	spin_lock_irqsave(&qdev->lock, flags);
	if (qdev->state != QBD_STATE_DELETING && size > qdev->notice_size) {
		qdev->notice_size = size;
		grow = true;
	}
	spin_unlock_irqrestore(&qdev->lock, flags);
	if (grow)
		mod_delayed_work(system_wq, &qdev->size_work, 0);
}

/*
 * Grow to the size a server reported. Only trylocks qbd_ctl_mutex: unmap
 * cancels this work while holding it; the work then comes back later.
 */
void qbd_ops_size_work(struct work_struct *work)
{
	struct qbd_device *qdev = container_of(to_delayed_work(work),
					       struct qbd_device, size_work);
	const char *why = "";
	unsigned long flags;
	u64 size;
	int ret;

	if (!mutex_trylock(&qbd_ctl_mutex)) {
		queue_delayed_work(system_wq, &qdev->size_work,
				   msecs_to_jiffies(50));
		return;
	}
	spin_lock_irqsave(&qdev->lock, flags);
	size = qdev->notice_size;
	spin_unlock_irqrestore(&qdev->lock, flags);
	if (qbd_state(qdev) == QBD_STATE_DELETING || size <= qdev->cfg.size)
		goto out_unlock;
	ret = qbd_check_resize(size, &qdev->cfg, &why);
	if (!ret)
		ret = qbd_dev_grow(qdev, size, &why);
	/* clang-format off */
	if (ret)
		pr_warn_ratelimited("%s: server reports size %llu, not growing to it: %s\n",
				    qbd_name(qdev), size, why);
	else
		pr_info("%s: the volume grew on the server (size-change notice)\n",
			qbd_name(qdev));
	/* clang-format on */
out_unlock:
	mutex_unlock(&qbd_ctl_mutex);
}
