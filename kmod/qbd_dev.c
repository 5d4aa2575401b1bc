// SPDX-License-Identifier: GPL-2.0
/*
 * qbd disks: gendisk + blk-mq, the device state machine
 * (LIVE -> RECONNECTING -> LIVE | FAILED -> LIVE, any -> DELETING),
 * recovery (tear down, requeue in-flight IO, reconnect with backoff),
 * heartbeat and per-CPU statistics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "qbd.h"

const char *qbd_state_name(int state)
{
	switch (state) {
	case QBD_STATE_LIVE:
		return "live";
	case QBD_STATE_RECONNECTING:
		return "reconnecting";
	case QBD_STATE_FAILED:
		return "failed";
	case QBD_STATE_DELETING:
		return "deleting";
	case QBD_STATE_SUSPENDED:
		return "suspended";
	default:
		return "unknown";
	}
}

/* Caller holds qdev->lock. */
static void qbd_set_state(struct qbd_device *qdev, int state)
{
	lockdep_assert_held(&qdev->lock);
	/* pairs with qbd_state(): connections are installed before LIVE */
	smp_store_release(&qdev->state, state);
}

/**
 * qbd_dev_error - a connection of @qdev broke (or a request timed out)
 * @qdev: the device
 *
 * Any context. The first error of a LIVE device starts recovery and the
 * io_timeout clock; later ones are no-ops until it is LIVE again.
 */
void qbd_dev_error(struct qbd_device *qdev)
{
	unsigned long flags;

	spin_lock_irqsave(&qdev->lock, flags);
	if (qbd_state_on_error(qdev->state, qdev->remapping) != qdev->state) {
		qbd_set_state(qdev, QBD_STATE_RECONNECTING);
		qdev->fail_deadline =
			jiffies + msecs_to_jiffies(qdev->cfg.io_timeout_ms);
		qdev->reconnecting_since = jiffies;
		mod_delayed_work(qbd_ctl_wq, &qdev->recovery_work, 0);
	}
	spin_unlock_irqrestore(&qdev->lock, flags);
}

/**
 * qbd_dev_ask_remap - tell userspace the device needs a new layout
 * @qdev: the device
 * @reason: QBD_EVENT_REASON_*
 *
 * Any context. At most one event per conn_timeout per device; the event
 * itself is sent from process context (@event_work).
 */
void qbd_dev_ask_remap(struct qbd_device *qdev, u32 reason)
{
	unsigned long flags, gap;
	bool send = false;

	gap = msecs_to_jiffies(qdev->cfg.conn_timeout_ms);
	spin_lock_irqsave(&qdev->lock, flags);
	if (qdev->state != QBD_STATE_DELETING &&
	    (!qdev->last_event ||
	     time_after_eq(jiffies, qdev->last_event + gap))) {
		qdev->last_event = jiffies ? jiffies : 1;
		qdev->event_reason = reason;
		send = true;
	}
	spin_unlock_irqrestore(&qdev->lock, flags);
	if (send)
		schedule_work(&qdev->event_work);
}

static void qbd_event_work(struct work_struct *work)
{
	struct qbd_device *qdev =
		container_of(work, struct qbd_device, event_work);
	unsigned long flags;
	u32 reason;

	spin_lock_irqsave(&qdev->lock, flags);
	reason = qdev->event_reason;
	spin_unlock_irqrestore(&qdev->lock, flags);
	qbd_genl_remap_needed(qdev, reason);
}

/* ---- statistics ---- */

void qbd_dev_stats(struct qbd_device *qdev, struct qbd_stats *st)
{
	s64 in_flight = 0;
	u64 completed = 0;
	int cpu;

	memset(st, 0, sizeof(*st));
	for_each_possible_cpu(cpu) {
		const struct qbd_pcpu_stats *p = per_cpu_ptr(qdev->stats, cpu);

		st->read_ios += READ_ONCE(p->read_ios);
		st->write_ios += READ_ONCE(p->write_ios);
		st->read_bytes += READ_ONCE(p->read_bytes);
		st->write_bytes += READ_ONCE(p->write_bytes);
		st->other_ios += READ_ONCE(p->other_ios);
		st->errors += READ_ONCE(p->errors);
		st->retries += READ_ONCE(p->retries);
		st->total_latency_us += READ_ONCE(p->latency_us);
		st->digest_errors += READ_ONCE(p->digest_errors);
		completed += READ_ONCE(p->completed);
		in_flight += READ_ONCE(p->in_flight);
	}
	st->in_flight = in_flight > 0 ? in_flight : 0;
	st->reconnects = atomic64_read(&qdev->reconnects);
	st->faults_injected = qbd_fault_injected(qdev);
}

/* Any context: this_cpu ops are safe against the softirq completions. */
static void qbd_account_done(struct qbd_device *qdev, struct qbd_cmd *cmd,
			     blk_status_t status)
{
	struct qbd_pcpu_stats __percpu *p = qdev->stats;
	u64 lat = 0;

	if (cmd->start_ns)
		lat = div_u64(ktime_get_ns() - cmd->start_ns, NSEC_PER_USEC);
	cmd->start_ns = 0;
	cmd->admitted = false; /* the next use of the tag is charged anew */

	switch (cmd->opcode) {
	case QBD_OP_READ:
		this_cpu_inc(p->read_ios);
		this_cpu_add(p->read_bytes, cmd->length);
		break;
	case QBD_OP_WRITE:
		this_cpu_inc(p->write_ios);
		this_cpu_add(p->write_bytes, cmd->length);
		break;
	default:
		this_cpu_inc(p->other_ios);
		break;
	}
	if (status)
		this_cpu_inc(p->errors);
	this_cpu_add(p->latency_us, lat);
	this_cpu_inc(p->completed);
}

/* ---- blk-mq ---- */

/*
 * Fan-out. A FLUSH of a map with several servers concerns every server,
 * and a DISCARD or WRITE_ZEROES may cross a shard boundary (the block
 * layer splits only reads and writes at chunk_sectors, and discards merge
 * up to max_discard_sectors). Such a request is sent in pieces, one after
 * the other, each a normal dispatch of the same request (same tag, a new
 * generation, so a late reply to an earlier piece is stale): FLUSH piece k
 * to servers[k]; a DISCARD/WRITE_ZEROES piece is the part of
 * the range left that lies in one shard, to that shard's server. When a
 * piece's reply comes, qbd_complete_rq() counts it in @part_done and
 * requeues the request (RQF_DONTPREP: straight to the dispatch list, never
 * merged, so its range stays as it was cut) instead of ending it; queue_rq
 * sends the next piece. The last reply ends the request with the first
 * error any piece had. So every piece is an ordinary request to the rest
 * of the driver: the throttle admits flushes, discards and write-zeroes
 * without charging them, the timeout, a connection loss or a remap cancel
 * the piece in flight, which is requeued and resent (pieces already
 * acknowledged are not), io_timeout runs from the first piece's dispatch,
 * and FAILED, DELETING and the resume modes meet the request in queue_rq
 * before each piece. Every piece is idempotent, so a layout change in the
 * middle (@part_layout) just starts the fan-out over. One request is one
 * I/O in the statistics. nr_servers == 1 never splits (its one server
 * takes a crossing DISCARD/WRITE_ZEROES whole).
 */
static bool qbd_fans_out(struct qbd_device *qdev, const struct qbd_req_args *a)
{
	if (qdev->layout.nr_servers == 1)
		return false;
	if (a->opcode == QBD_OP_FLUSH)
		return true;
	return (a->opcode == QBD_OP_DISCARD ||
		a->opcode == QBD_OP_WRITE_ZEROES) &&
	       qbd_shard_crosses(&qdev->layout, a->offset, a->length);
}

static void qbd_setup_piece(struct qbd_device *qdev, struct request *rq,
			    struct qbd_cmd *cmd, struct qbd_req_args *a,
			    u64 *shard)
{
	const struct qbd_layout *l = &qdev->layout;

	if (cmd->part_layout != qdev->cfg.layout_version) {
		cmd->part_layout = qdev->cfg.layout_version;
		cmd->part_done = 0;
	}
	if (a->opcode == QBD_OP_FLUSH) {
		if (cmd->part_done >= l->nr_servers)
			cmd->part_done = 0; /* cannot happen: start over */
		cmd->part_len = 1;
		cmd->more = cmd->part_done + 1 < l->nr_servers;
		*shard = 0; /* offset 0: shard 0, like every FLUSH */
		cmd->srv = qbd_flush_server(l, cmd->part_done);
		return;
	}
	if (cmd->part_done >= a->length)
		cmd->part_done = 0; /* cannot happen: start over */
	a->offset += cmd->part_done;
	a->length -= cmd->part_done;
	cmd->part_len = qbd_shard_piece(l, a->offset, a->length);
	cmd->more = cmd->part_len < a->length;
	a->length = cmd->part_len;
	*shard = qbd_shard_of(l, a->offset);
	cmd->srv = qbd_shard_server(l, *shard);
	rq->rq_flags |= RQF_DONTPREP;
}

static blk_status_t qbd_setup_cmd(struct qbd_device *qdev, struct request *rq,
				  struct qbd_cmd *cmd)
{
	struct qbd_req_args a = {
		.vol_id = qdev->cfg.vol_id,
		.layout_version = qdev->cfg.layout_version,
	};
	u64 shard;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		a.opcode = QBD_OP_READ;
		break;
	case REQ_OP_WRITE:
		a.opcode = QBD_OP_WRITE;
		if (rq->cmd_flags & REQ_FUA)
			a.flags = QBD_RF_FUA;
		break;
	case REQ_OP_FLUSH:
		a.opcode = QBD_OP_FLUSH;
		break;
	case REQ_OP_DISCARD:
		a.opcode = QBD_OP_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		a.opcode = QBD_OP_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if (a.opcode != QBD_OP_FLUSH) {
		a.offset = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
		a.length = blk_rq_bytes(rq);
	}
	cmd->more = false;
	if (unlikely(qbd_fans_out(qdev, &a))) {
		qbd_setup_piece(qdev, rq, cmd, &a, &shard);
	} else {
		shard = qbd_shard_of(&qdev->layout, a.offset);
		cmd->srv = a.opcode == QBD_OP_FLUSH ?
				   0 :
				   qbd_shard_server(&qdev->layout, shard);
	}
	a.shard = shard;
	cmd->opcode = a.opcode;
	cmd->length = (a.opcode == QBD_OP_READ || a.opcode == QBD_OP_WRITE) ?
			      a.length :
			      0;
	cmd->gen++;
	a.handle = qbd_handle_pack(cmd->queue->qid, rq->tag, cmd->gen);
	qbd_proto_encode_req(&cmd->hdr, &a);
	/* computed on every dispatch: a resend carries the data as it is now */
	if (a.opcode == QBD_OP_WRITE && (qdev->features & QBD_PF_DATA_DIGEST))
		cmd->hdr.digest = cpu_to_le32(qbd_xport_data_crc(rq));
	cmd->status = BLK_STS_OK;
	cmd->retry = false;
	cmd->resend = false;
	return BLK_STS_OK;
}

static blk_status_t qbd_queue_rq(struct blk_mq_hw_ctx *hctx,
				 const struct blk_mq_queue_data *bd)
{
	struct qbd_queue *q = hctx->driver_data;
	struct qbd_device *qdev = q->qdev;
	struct request *rq = bd->rq;
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	int state = qbd_state(qdev);
	blk_status_t ret;

	/*
	 * FAILED, DELETING, resume mode and throttle (qbd_ops.c).
	 * RECONNECTING keeps the queue quiesced once recovery runs; in the
	 * window before that the connections still exist and the request
	 * is cancelled and requeued with the rest.
	 */
	if (qbd_ops_queue_rq(qdev, rq, state, &ret)) {
		/* held or discarded: push out what came before it */
		if (!ret && bd->last && state == QBD_STATE_LIVE)
			qdev->ops->commit_rqs(q);
		return ret;
	}
	if (!cmd->start_ns) {
		/* the request's first dispatch: no piece of it is done */
		cmd->part_done = 0;
		cmd->part_status = BLK_STS_OK;
	}
	ret = qbd_setup_cmd(qdev, rq, cmd);
	if (ret)
		return ret;
	if (!cmd->start_ns) {
		cmd->start_ns = ktime_get_ns();
		cmd->digest_tries = 0;
	}
	blk_mq_start_request(rq);
	this_cpu_inc(qdev->stats->in_flight);
	if (qbd_fault_hit(qdev, QBD_FAULT_DROP_REQ)) {
		/* never sent: it times out and is resent after a reconnect */
		if (bd->last)
			qdev->ops->commit_rqs(q);
		return BLK_STS_OK;
	}
	if (cmd->opcode == QBD_OP_WRITE &&
	    (qdev->features & QBD_PF_DATA_DIGEST) &&
	    qbd_fault_hit(qdev, QBD_FAULT_CORRUPT_REQ))
		cmd->hdr.digest ^= cpu_to_le32(1); /* as if a bit flipped */
	qdev->ops->queue_rq(q, cmd->srv, rq, bd->last);
	return BLK_STS_OK;
}

static void qbd_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct qbd_queue *q = hctx->driver_data;

	if (qbd_state(q->qdev) == QBD_STATE_LIVE)
		q->qdev->ops->commit_rqs(q);
}

/*
 * A request waits for a server at most io_timeout from its first dispatch,
 * however many connections it is resent on: a server that accepts
 * connections but never answers properly cannot hold IO forever.
 */
static bool qbd_cmd_expired(struct qbd_device *qdev, struct qbd_cmd *cmd)
{
	u64 limit = (u64)qdev->cfg.io_timeout_ms * NSEC_PER_MSEC;

	return cmd->start_ns && ktime_get_ns() - cmd->start_ns >= limit;
}

/* blk-mq .complete: a reply arrived, or recovery cancelled the request. */
static void qbd_complete_rq(struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_device *qdev = cmd->queue->qdev;
	int state = qbd_state(qdev);

	this_cpu_dec(qdev->stats->in_flight);
	if (cmd->retry) {
		bool kick = cmd->resend;

		cmd->retry = false;
		cmd->resend = false;
		if (state != QBD_STATE_DELETING && state != QBD_STATE_FAILED &&
		    !qbd_cmd_expired(qdev, cmd)) {
			this_cpu_inc(qdev->stats->retries);
			blk_mq_requeue_request(rq, kick);
			return;
		}
		/* clang-format off */
		if (state != QBD_STATE_DELETING)
			pr_warn_ratelimited("%s: request tag %d (op %u) gave up: no reply within io_timeout %u ms\n",
					    qbd_name(qdev), rq->tag, cmd->opcode,
					    qdev->cfg.io_timeout_ms);
		/* clang-format on */
		cmd->status = BLK_STS_IOERR;
		cmd->more = false;
	}
	if (unlikely(cmd->more)) {
		/* a piece is done: the next one (see qbd_setup_piece()) */
		if (cmd->status && !cmd->part_status)
			cmd->part_status = cmd->status;
		cmd->part_done += cmd->part_len;
		cmd->more = false;
		blk_mq_requeue_request(rq, true);
		return;
	}
	if (cmd->part_status)
		cmd->status = cmd->part_status;
	qbd_account_done(qdev, cmd, cmd->status);
	blk_mq_end_request(rq, cmd->status);
}

/* Complete a request now, no fault injection (any context). */
void qbd_complete_cmd_now(struct qbd_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	if (!blk_mq_complete_request_remote(rq))
		qbd_complete_rq(rq);
}

/*
 * Complete a request whose reply the transport took (any context): READ
 * data is checked against its digest first; the reply faults apply here.
 */
void qbd_complete_cmd(struct qbd_cmd *cmd)
{
	struct qbd_device *qdev = cmd->queue->qdev;

	WRITE_ONCE(cmd->state, QBD_CMD_IDLE);
	if (cmd->opcode == QBD_OP_READ && cmd->status == BLK_STS_OK &&
	    !cmd->retry)
		qbd_xport_check_read(cmd);
	if (qbd_fault_hit(qdev, QBD_FAULT_DROP_REPLY))
		return; /* times out, resent after a reconnect */
	if (!cmd->retry && qbd_fault_hit(qdev, QBD_FAULT_FAIL_REPLY))
		cmd->status = BLK_STS_IOERR;
	if (qbd_fault_hold_reply(cmd))
		return;
	qbd_complete_cmd_now(cmd);
}

static enum blk_eh_timer_return qbd_timeout(struct request *rq)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qbd_device *qdev = cmd->queue->qdev;

	if (qbd_state(qdev) == QBD_STATE_LIVE) {
		/* clang-format off */
		pr_warn_ratelimited("%s: queue %u: request tag %d (op %u, %u bytes) got no reply in %u ms, reconnecting\n",
				    qbd_name(qdev), cmd->queue->qid, rq->tag,
				    cmd->opcode, blk_rq_bytes(rq),
				    jiffies_to_msecs(qdev->tag_set.timeout));
		/* clang-format on */
		qbd_dev_error(qdev);
	}
	/* recovery (or unmap) cancels every request in flight */
	return BLK_EH_RESET_TIMER;
}

static int qbd_init_hctx(struct blk_mq_hw_ctx *hctx, void *data,
			 unsigned int hctx_idx)
{
	struct qbd_device *qdev = data;

	hctx->driver_data = &qdev->queues[hctx_idx];
	return 0;
}

static int qbd_init_request(struct blk_mq_tag_set *set, struct request *rq,
			    unsigned int hctx_idx, unsigned int numa_node)
{
	struct qbd_device *qdev = set->driver_data;
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	memset(cmd, 0, sizeof(*cmd));
	cmd->queue = &qdev->queues[hctx_idx];
	INIT_LIST_HEAD(&cmd->entry);
	INIT_LIST_HEAD(&cmd->tentry);
	INIT_LIST_HEAD(&cmd->fault_entry);
	return 0;
}

static const struct blk_mq_ops qbd_mq_ops = {
	.queue_rq = qbd_queue_rq,
	.commit_rqs = qbd_commit_rqs,
	.complete = qbd_complete_rq,
	.timeout = qbd_timeout,
	.init_hctx = qbd_init_hctx,
	.init_request = qbd_init_request,
};

/* ---- block device ops ---- */

static int qbd_open(struct block_device *bdev, fmode_t mode)
{
	struct qbd_device *qdev = bdev->bd_disk->private_data;
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&qdev->lock, flags);
	if (qdev->state == QBD_STATE_DELETING)
		ret = -ENXIO;
	else
		qdev->open_count++;
	spin_unlock_irqrestore(&qdev->lock, flags);
	return ret;
}

static void qbd_release(struct gendisk *disk, fmode_t mode)
{
	struct qbd_device *qdev = disk->private_data;
	unsigned long flags;

	spin_lock_irqsave(&qdev->lock, flags);
	qdev->open_count--;
	spin_unlock_irqrestore(&qdev->lock, flags);
}

/* The last reference to the disk is gone: free what the device still owns. */
static void qbd_free_disk(struct gendisk *disk)
{
	struct qbd_device *qdev = disk->private_data;

	free_percpu(qdev->stats);
	kfree(qdev->queues);
	qbd_fault_free(qdev);
	qbd_auth_free(qdev);
	kfree(qdev);
	module_put(THIS_MODULE);
}

static const struct block_device_operations qbd_bdev_ops = {
	.owner = THIS_MODULE,
	.open = qbd_open,
	.release = qbd_release,
	.free_disk = qbd_free_disk,
};

/* ---- connections ---- */

static void qbd_disconnect_all(struct qbd_device *qdev)
{
	unsigned int i, s;

	for (i = 0; i < qdev->nr_queues; i++)
		for (s = 0; s < qdev->cfg.nr_servers; s++)
			if (qdev->queues[i].conns[s])
				qdev->ops->disconnect(&qdev->queues[i], s);
}

static int qbd_connect_all(struct qbd_device *qdev)
{
	unsigned int i, s;
	int ret;

	for (i = 0; i < qdev->nr_queues; i++) {
		for (s = 0; s < qdev->cfg.nr_servers; s++) {
			if (qbd_state(qdev) == QBD_STATE_DELETING) {
				ret = -ESHUTDOWN;
				goto out_disconnect;
			}
			ret = qdev->ops->connect(&qdev->queues[i], s);
			if (ret)
				goto out_disconnect;
		}
	}
	return 0;

out_disconnect:
	qbd_disconnect_all(qdev);
	return ret;
}

static bool qbd_cancel_one(struct request *rq, void *data)
{
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (blk_mq_request_completed(rq))
		return true;
	WRITE_ONCE(cmd->state, QBD_CMD_IDLE);
	cmd->retry = true;
	blk_mq_complete_request(rq);
	return true;
}

/*
 * Every connection is down: hand every started request back to blk-mq,
 * which requeues it (or fails it when the device is FAILED or DELETING).
 */
static void qbd_cancel_inflight(struct qbd_device *qdev)
{
	blk_mq_tagset_busy_iter(&qdev->tag_set, qbd_cancel_one, qdev);
	blk_mq_tagset_wait_completed_request(&qdev->tag_set);
}

/* Quiesce, close every connection, cancel what was in flight. */
static void qbd_teardown(struct qbd_device *qdev)
{
	if (!qdev->quiesced) {
		blk_mq_quiesce_queue(qdev->disk->queue);
		qdev->quiesced = true;
	}
	if (qdev->conns_up) {
		qbd_disconnect_all(qdev);
		qdev->conns_up = false;
	}
	qbd_fault_release_held(qdev); /* delay_reply: before the cancel */
	qbd_cancel_inflight(qdev);
}

static void qbd_unquiesce(struct qbd_device *qdev)
{
	if (qdev->quiesced) {
		blk_mq_unquiesce_queue(qdev->disk->queue);
		qdev->quiesced = false;
	}
	blk_mq_kick_requeue_list(qdev->disk->queue);
	qbd_ops_kick(qdev); /* FAILED: what the throttle holds fails now */
}

static unsigned long qbd_backoff(unsigned int attempt)
{
	unsigned int shift = min(attempt, 8U);
	unsigned int ms = min(QBD_MIN_BACKOFF_MS << shift, QBD_MAX_BACKOFF_MS);

	return msecs_to_jiffies(ms);
}

/*
 * Every connection is up (recovery or remap, queue quiesced): LIVE, let
 * the held requests go, start the heartbeat. Returns the state found, so
 * DELETING (unmap tears the new connections down) can be told apart.
 */
static int qbd_went_live(struct qbd_device *qdev)
{
	unsigned long flags;
	int state;

	spin_lock_irqsave(&qdev->lock, flags);
	state = qdev->state;
	qbd_set_state(qdev, qbd_state_on_connected(state));
	spin_unlock_irqrestore(&qdev->lock, flags);
	qdev->conns_up = true;
	if (state == QBD_STATE_DELETING)
		return state;
	qdev->attempt = 0;
	qdev->live_since = jiffies;
	qbd_unquiesce(qdev);
	queue_delayed_work(qbd_ctl_wq, &qdev->hb_work,
			   msecs_to_jiffies(qdev->cfg.hb_interval_ms));
	return state;
}

static void qbd_recovery_work(struct work_struct *work)
{
	struct delayed_work *dwork = to_delayed_work(work);
	struct qbd_device *qdev =
		container_of(dwork, struct qbd_device, recovery_work);
	unsigned long conn_timeout =
		msecs_to_jiffies(qdev->cfg.conn_timeout_ms);
	unsigned long flags, delay, since;
	bool failed_now = false, ask_remap, past;
	int state, ret;

	if (qbd_state(qdev) == QBD_STATE_DELETING)
		return;
	if (qdev->conns_up) {
		cancel_delayed_work_sync(&qdev->hb_work);
		/* clang-format off */
		pr_warn_ratelimited("%s: connection lost, reconnecting (IO held up to %u ms)\n",
				    qbd_name(qdev), qdev->cfg.io_timeout_ms);
		/* clang-format on */
		qbd_teardown(qdev);
		/*
		 * A server that takes connections and then breaks them at once
		 * gets the same backoff as one that refuses them.
		 */
		if (time_before(jiffies, qdev->live_since + HZ)) {
			qdev->flaps++;
			queue_delayed_work(qbd_ctl_wq, &qdev->recovery_work,
					   qbd_backoff(qdev->flaps));
			return;
		}
		qdev->flaps = 0;
	}

	ret = qbd_connect_all(qdev);
	if (!ret) {
		unsigned int attempts = qdev->attempt + 1;

		state = qbd_went_live(qdev);
		if (state == QBD_STATE_DELETING)
			return;
		atomic64_inc(&qdev->reconnects);
		pr_info_ratelimited("%s: reconnected after %u attempt(s)%s\n",
				    qbd_name(qdev), attempts,
				    state == QBD_STATE_FAILED ? ", IO resumes" :
								"");
		return;
	}

	qdev->attempt++;
	spin_lock_irqsave(&qdev->lock, flags);
	state = qdev->state;
	since = qdev->reconnecting_since;
	ask_remap = state != QBD_STATE_DELETING &&
		    time_after_eq(jiffies, since + conn_timeout);
	past = time_after_eq(jiffies, qdev->fail_deadline);
	if (qbd_state_on_connect_failed(state, past) != state) {
		qbd_set_state(qdev, QBD_STATE_FAILED);
		state = QBD_STATE_FAILED;
		failed_now = true;
	}
	delay = qbd_backoff(qdev->attempt);
	if (state == QBD_STATE_RECONNECTING &&
	    time_before(qdev->fail_deadline, jiffies + delay))
		delay = qdev->fail_deadline - jiffies + 1;
	spin_unlock_irqrestore(&qdev->lock, flags);

	if (state == QBD_STATE_DELETING)
		return;
	/* clang-format off */
	if (failed_now)
		pr_err("%s: servers unreachable for %u ms (last error %d): failing IO, still retrying every %u ms\n",
		       qbd_name(qdev), qdev->cfg.io_timeout_ms, ret,
		       QBD_MAX_BACKOFF_MS);
	else
		pr_warn_ratelimited("%s: reconnect attempt %u failed (%d), next in %u ms\n",
				    qbd_name(qdev), qdev->attempt, ret,
				    jiffies_to_msecs(delay));
	/* clang-format on */
	if (ask_remap)
		qbd_dev_ask_remap(qdev, QBD_EVENT_REASON_UNREACHABLE);
	if (state == QBD_STATE_FAILED)
		qbd_unquiesce(qdev); /* held requests now fail fast */
	queue_delayed_work(qbd_ctl_wq, &qdev->recovery_work, delay);
}

static void qbd_hb_work(struct work_struct *work)
{
	struct qbd_device *qdev =
		container_of(to_delayed_work(work), struct qbd_device, hb_work);
	unsigned int i, s;

	if (qbd_state(qdev) != QBD_STATE_LIVE)
		return;
	for (i = 0; i < qdev->nr_queues; i++) {
		for (s = 0; s < qdev->cfg.nr_servers; s++) {
			if (qdev->ops->heartbeat(&qdev->queues[i], s)) {
				/* clang-format off */
				pr_warn_ratelimited("%s: queue %u: server %u silent for %u ms, reconnecting\n",
						    qbd_name(qdev), i, s,
						    qdev->cfg.hb_timeout_ms);
				/* clang-format on */
				qbd_dev_error(qdev);
				return;
			}
		}
	}
	queue_delayed_work(qbd_ctl_wq, &qdev->hb_work,
			   msecs_to_jiffies(qdev->cfg.hb_interval_ms));
}

/* ---- remap ---- */

/* Install @r's layout; the caller owns the connections (all closed). */
static void qbd_install_layout(struct qbd_device *qdev,
			       const struct qbd_remap *r,
			       const struct qbd_layout *l)
{
	memcpy(qdev->cfg.servers, r->servers, sizeof(qdev->cfg.servers));
	qdev->cfg.nr_servers = r->nr_servers;
	qdev->cfg.layout_version = r->layout_version;
	qdev->layout.nr_servers = l->nr_servers;
}

/**
 * qbd_dev_remap - switch a device to a new layout without failing IO
 * @qdev: the device
 * @r: validated by qbd_validate_remap_in()
 * @why: set to the broken rule when @r does not fit the device
 *
 * Called with qbd_ctl_mutex held. Stops recovery and the heartbeat,
 * quiesces, closes every connection and hands what was in flight back to
 * blk-mq (the recovery path's teardown: requests are requeued, not
 * failed), switches the transport if @r names another one, installs the
 * new servers, grows the disk if the volume grew, and connects. When a
 * connection fails the device stays RECONNECTING on the new layout and
 * recovery retries as after a connection loss.
 */
int qbd_dev_remap(struct qbd_device *qdev, const struct qbd_remap *r,
		  const char **why)
{
	const struct qbd_transport_ops *ops = qdev->ops;
	unsigned long flags;
	struct qbd_layout l;
	int ret;

	lockdep_assert_held(&qbd_ctl_mutex);
	ret = qbd_check_remap(r, &qdev->cfg, why);
	if (ret)
		return ret;
	if (r->transport && r->transport != qdev->cfg.transport) {
		ops = r->transport == QBD_TRANSPORT_RDMA ? &qbd_rdma_ops :
							   &qbd_tcp_ops;
		/* queue limits are fixed once the disk exists */
		if (ops->virt_boundary &
		    ~queue_virt_boundary(qdev->disk->queue)) {
			*why = "mapped over TCP: the queue lacks RDMA's page boundary";
			return -EOPNOTSUPP;
		}
	}
	ret = qbd_layout_init(&l, r->size, qdev->cfg.shard_size, r->nr_servers);
	if (ret) {
		*why = "size does not fit the shard layout";
		return ret;
	}

	/* from here no error queues recovery: the connections are ours */
	spin_lock_irqsave(&qdev->lock, flags);
	qdev->remapping = true;
	spin_unlock_irqrestore(&qdev->lock, flags);
	cancel_delayed_work_sync(&qdev->recovery_work);
	cancel_delayed_work_sync(&qdev->hb_work);

	if (!qdev->quiesced) {
		blk_mq_quiesce_queue(qdev->disk->queue);
		qdev->quiesced = true;
	}
	/* quiesced: no queue_rq sees RECONNECTING without connections */
	spin_lock_irqsave(&qdev->lock, flags);
	qbd_set_state(qdev, QBD_STATE_RECONNECTING);
	qdev->fail_deadline =
		jiffies + msecs_to_jiffies(qdev->cfg.io_timeout_ms);
	qdev->reconnecting_since = jiffies;
	spin_unlock_irqrestore(&qdev->lock, flags);
	qbd_teardown(qdev); /* in flight: requeued (RECONNECTING) */

	if (ops != qdev->ops) {
		/*
		 * No connection is left and queue_rq is quiesced: the other
		 * transport's connect builds its own queues. Its own feature
		 * bits (RDMA_INV) replace this one's.
		 */
		pr_info("%s: transport %s -> %s\n", qbd_name(qdev),
			qdev->ops->name, ops->name);
		qdev->features = (qdev->features & ~qdev->ops->features) |
				 ops->features;
		qdev->ops = ops;
		qdev->cfg.transport = r->transport;
	}
	qbd_install_layout(qdev, r, &l);
	if (r->size > qdev->cfg.size)
		qbd_dev_grow(qdev, r->size, why);
	qdev->attempt = 0;
	qdev->flaps = 0;
	ret = qbd_connect_all(qdev);
	if (!ret)
		qbd_went_live(qdev);

	spin_lock_irqsave(&qdev->lock, flags);
	qdev->remapping = false;
	qdev->last_event = 0;
	spin_unlock_irqrestore(&qdev->lock, flags);
	if (ret) {
		pr_warn("%s: remapped to layout %u (%u server(s)) but connecting failed (%d); retrying\n",
			qbd_name(qdev), r->layout_version, r->nr_servers, ret);
		queue_delayed_work(qbd_ctl_wq, &qdev->recovery_work, 0);
		return ret;
	}
	pr_info("%s: remapped %s/%s to layout %u (%u server(s), %llu bytes)\n",
		qbd_name(qdev), qdev->cfg.pool, qdev->cfg.volume,
		r->layout_version, r->nr_servers, qdev->cfg.size);
	return 0;
}

/* ---- create / remove ---- */

static int qbd_pick_cpu(unsigned int qid)
{
	unsigned int n = qid % num_online_cpus();
	int cpu;

	for_each_online_cpu(cpu)
		if (!n--)
			return cpu;
	return cpumask_first(cpu_online_mask);
}

static void qbd_set_limits(struct qbd_device *qdev)
{
	struct request_queue *q = qdev->disk->queue;
	u32 bs = qdev->cfg.block_size;
	u32 discard_max;

	blk_queue_logical_block_size(q, bs);
	blk_queue_physical_block_size(q, bs);
	blk_queue_io_min(q, bs);
	blk_queue_max_hw_sectors(q, qdev->max_io >> SECTOR_SHIFT);
	blk_queue_max_segments(q, 1024);
	blk_queue_max_segment_size(q, UINT_MAX);
	if (qdev->ops->virt_boundary) /* RDMA: one MR maps the request */
		blk_queue_virt_boundary(q, qdev->ops->virt_boundary);
	blk_queue_chunk_sectors(q, qdev->cfg.shard_size >> SECTOR_SHIFT);
	blk_queue_write_cache(q, !!(qdev->features & QBD_PF_FUA),
			      !!(qdev->features & QBD_PF_FUA));
	discard_max = min_t(u64, qdev->cfg.shard_size, SZ_1G) >> SECTOR_SHIFT;
	if (qdev->features & QBD_PF_DISCARD) {
		blk_queue_max_discard_sectors(q, discard_max);
		q->limits.discard_granularity = bs;
	}
	if (qdev->features & QBD_PF_WRITE_ZEROES)
		blk_queue_max_write_zeroes_sectors(q, discard_max);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
}

/**
 * qbd_dev_create - connect to the servers and add /dev/qbd@id
 * @m: validated map with defaults applied
 * @id: device number
 *
 * Connects every queue first, so a map against an unreachable server or a
 * missing volume fails here with nothing left behind.
 * Called with qbd_ctl_mutex held.
 */
struct qbd_device *qbd_dev_create(const struct qbd_map *m, int id)
{
	struct qbd_device *qdev;
	struct gendisk *disk;
	unsigned int i, timeout_ms;
	int ret;

	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENODEV);
	qdev = kzalloc(sizeof(*qdev), GFP_KERNEL);
	if (!qdev) {
		ret = -ENOMEM;
		goto out_put_module;
	}
	qdev->id = id;
	qdev->cfg = *m;
	ret = qbd_auth_init(qdev);
	if (ret)
		goto out_free_qdev;
	qdev->ops = m->transport == QBD_TRANSPORT_RDMA ? &qbd_rdma_ops :
							 &qbd_tcp_ops;
	qdev->nr_queues = m->nr_queues;
	qdev->depth = m->io_depth;
	qdev->max_io = QBD_PROTO_MAX_IO;
	qdev->features = QBD_PF_ALL | qdev->ops->features;
	if (m->hdr.flags & QBD_MAP_F_DIGEST)
		qdev->features |= QBD_PF_DATA_DIGEST;
	spin_lock_init(&qdev->lock);
	qdev->state = QBD_STATE_LIVE;
	INIT_DELAYED_WORK(&qdev->recovery_work, qbd_recovery_work);
	INIT_DELAYED_WORK(&qdev->hb_work, qbd_hb_work);
	INIT_WORK(&qdev->event_work, qbd_event_work);
	INIT_DELAYED_WORK(&qdev->size_work, qbd_ops_size_work);
	atomic64_set(&qdev->reconnects, 0);
	INIT_LIST_HEAD(&qdev->node);
	qbd_ops_init(qdev);
	ret = qbd_layout_init(&qdev->layout, m->size, m->shard_size,
			      m->nr_servers);
	if (ret)
		goto out_free_qdev;

	ret = qbd_fault_init(qdev);
	if (ret)
		goto out_free_qdev;
	qdev->stats = alloc_percpu(struct qbd_pcpu_stats);
	if (!qdev->stats) {
		ret = -ENOMEM;
		goto out_free_fault;
	}
	qdev->queues =
		kcalloc(qdev->nr_queues, sizeof(*qdev->queues), GFP_KERNEL);
	if (!qdev->queues) {
		ret = -ENOMEM;
		goto out_free_stats;
	}
	for (i = 0; i < qdev->nr_queues; i++) {
		qdev->queues[i].qdev = qdev;
		qdev->queues[i].qid = i;
		qdev->queues[i].io_cpu = qbd_pick_cpu(i);
	}

	/* connect: narrows depth, max_io and features to what servers grant */
	ret = qbd_connect_all(qdev);
	if (ret)
		goto out_free_queues;
	qdev->conns_up = true;

	qdev->tag_set.ops = &qbd_mq_ops;
	qdev->tag_set.nr_hw_queues = qdev->nr_queues;
	qdev->tag_set.queue_depth = qdev->depth;
	qdev->tag_set.numa_node = NUMA_NO_NODE;
	qdev->tag_set.cmd_size = sizeof(struct qbd_cmd);
	qdev->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	qdev->tag_set.driver_data = qdev;
	/* no reply in half the budget: resend on a new connection */
	timeout_ms = max(m->io_timeout_ms / 2, QBD_IO_TIMEOUT_MIN_MS);
	qdev->tag_set.timeout = msecs_to_jiffies(timeout_ms);
	ret = blk_mq_alloc_tag_set(&qdev->tag_set);
	if (ret)
		goto out_disconnect;
	/* pairs with the acquire in qbd_tcp_find_cmd(): tags are set up */
	smp_store_release(&qdev->io_ready, true);

	disk = blk_mq_alloc_disk(&qdev->tag_set, qdev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_free_tag_set;
	}
	qdev->disk = disk;
	disk->major = qbd_major;
	disk->first_minor = id * QBD_MINORS;
	disk->minors = QBD_MINORS;
	disk->fops = &qbd_bdev_ops;
	disk->private_data = qdev;
	snprintf(disk->disk_name, DISK_NAME_LEN, "qbd%d", id);
	set_capacity(disk, m->size >> SECTOR_SHIFT);
	if (m->hdr.flags & QBD_MAP_F_READONLY)
		set_disk_ro(disk, true);
	qbd_set_limits(qdev);

	ret = device_add_disk(NULL, disk, qbd_disk_groups);
	if (ret)
		goto out_cleanup_disk;

	qbd_fault_add_debugfs(qdev);
	qdev->live_since = jiffies;
	queue_delayed_work(qbd_ctl_wq, &qdev->hb_work,
			   msecs_to_jiffies(m->hb_interval_ms));
	pr_info("%s: mapped %s/%s (vol_id %llu, %llu bytes, %u queues x %u, max io %u, features 0x%llx)\n",
		disk->disk_name, m->pool, m->volume, m->vol_id, m->size,
		qdev->nr_queues, qdev->depth, qdev->max_io, qdev->features);
	return qdev;

out_cleanup_disk:
	/* not added: put_disk does not call free_disk */
	put_disk(disk);
	qdev->disk = NULL;
out_free_tag_set:
	/* connections first: their io_work looks requests up in the tags */
	qbd_disconnect_all(qdev);
	blk_mq_free_tag_set(&qdev->tag_set);
	goto out_free_queues;
out_disconnect:
	qbd_disconnect_all(qdev);
out_free_queues:
	kfree(qdev->queues);
out_free_stats:
	free_percpu(qdev->stats);
out_free_fault:
	qbd_fault_free(qdev);
out_free_qdev:
	qbd_auth_free(qdev);
	kfree_sensitive(qdev);
out_put_module:
	module_put(THIS_MODULE);
	return ERR_PTR(ret);
}

/**
 * qbd_dev_remove - unmap: fail outstanding IO, remove the disk
 * @qdev: the device; freed (now or at its last close) on success
 * @force: remove even when open
 *
 * Called with qbd_ctl_mutex held. Returns -EBUSY when open and not forced.
 */
int qbd_dev_remove(struct qbd_device *qdev, bool force)
{
	unsigned long flags;
	int open;

	spin_lock_irqsave(&qdev->lock, flags);
	open = qdev->open_count;
	if (open && !force) {
		spin_unlock_irqrestore(&qdev->lock, flags);
		pr_info("%s: unmap refused: open %d time(s) (mounted or in use); unmount first or force\n",
			qbd_name(qdev), open);
		return -EBUSY;
	}
	qbd_set_state(qdev, QBD_STATE_DELETING);
	spin_unlock_irqrestore(&qdev->lock, flags);

	qbd_fault_remove_debugfs(qdev);
	cancel_delayed_work_sync(&qdev->recovery_work);
	cancel_delayed_work_sync(&qdev->hb_work);
	cancel_work_sync(&qdev->event_work);
	/* size_work only trylocks qbd_ctl_mutex (held here): no deadlock */
	cancel_delayed_work_sync(&qdev->size_work);
	qbd_teardown(qdev); /* requests in flight fail (DELETING) */
	qbd_ops_remove(qdev); /* drop a SUSPEND's quiesce */
	qbd_unquiesce(qdev); /* held and new requests fail too */

	list_del_init(&qdev->node);
	pr_info("%s: unmapped %s/%s%s\n", qbd_name(qdev), qdev->cfg.pool,
		qdev->cfg.volume, open ? " (forced while open)" : "");
	del_gendisk(qdev->disk);
	blk_mq_free_tag_set(&qdev->tag_set);
	put_disk(qdev->disk); /* qbd_free_disk at the last reference */
	return 0;
}
