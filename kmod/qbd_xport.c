// SPDX-License-Identifier: GPL-2.0
/*
 * qbd: what every transport does the same way: find the request a reply
 * names, ask for / take the hello of a new connection, and the data digest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>
#include "qbd.h"

/**
 * qbd_xport_find_cmd - the request a reply's handle names
 * @q: hardware queue of the connection the reply came on
 * @srv: servers[] index of that connection
 * @handle: the reply's handle (not a PING)
 * @why: set to the broken rule when there is none
 *
 * Checks everything but the transport's own send state: the caller still
 * makes sure the request was fully sent on this connection.
 */
struct qbd_cmd *qbd_xport_find_cmd(struct qbd_queue *q, unsigned int srv,
				   u64 handle, const char **why)
{
	struct qbd_device *qdev = q->qdev;
	struct qbd_cmd *cmd;
	struct request *rq;
	u32 qid, tag;
	u16 gen;

	if (qbd_handle_unpack(handle, &qid, &tag, &gen)) {
		*why = "handle has bits outside tag, generation and queue";
		return NULL;
	}
	if (qid != q->qid) {
		*why = "handle names another hardware queue";
		return NULL;
	}
	/* pairs with qbd_dev_create(): the tag set is set up */
	if (!smp_load_acquire(&qdev->io_ready) || tag >= qdev->depth) {
		*why = "tag out of range";
		return NULL;
	}
	rq = blk_mq_tag_to_rq(qdev->tag_set.tags[qid], tag);
	if (!rq || !blk_mq_request_started(rq)) {
		*why = "no request with this tag in flight";
		return NULL;
	}
	cmd = blk_mq_rq_to_pdu(rq);
	if (cmd->gen != gen) {
		*why = "stale generation (reply to an earlier use of the tag)";
		return NULL;
	}
	if (cmd->srv != srv) {
		*why = "request went to another server";
		return NULL;
	}
	return cmd;
}

/**
 * qbd_xport_reply_status - take a reply's status into its request
 * @cmd: the request
 * @status: QBD_S_* of the checked reply
 * @peer: "addr:port" of the server, for the message
 *
 * Return: 0, or -ESTALE for QBD_S_STALE_LAYOUT: the caller fails the
 * connection so the request is held and resent (after a remap) like on any
 * connection loss, and userspace has been asked for the remap.
 */
int qbd_xport_reply_status(struct qbd_cmd *cmd, u32 status, const char *peer)
{
	struct qbd_device *qdev = cmd->queue->qdev;
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	if (status == QBD_S_OK)
		return 0;
	if (status == QBD_S_STALE_LAYOUT) {
		/* clang-format off */
		pr_warn_ratelimited("%s: queue %u: server %s says our layout %u is stale\n",
				    qbd_name(qdev), cmd->queue->qid, peer,
				    qdev->cfg.layout_version);
		/* clang-format on */
		qbd_dev_ask_remap(qdev, QBD_EVENT_REASON_STALE_LAYOUT);
		return -ESTALE;
	}
	if (status == QBD_S_DIGEST) {
		qbd_xport_digest_error(cmd, "the server found the WRITE data");
		return 0;
	}
	cmd->status = errno_to_blk_status(qbd_proto_status_errno(status));
	/* clang-format off */
	pr_warn_ratelimited("%s: queue %u: op %u offset %llu length %u: server %s says %s\n",
			    qbd_name(qdev), cmd->queue->qid,
			    cmd->opcode, (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
			    blk_rq_bytes(rq), peer,
			    qbd_proto_status_name(status));
	/* clang-format on */
	return 0;
}

/**
 * qbd_xport_hello - the hello a new connection of @q sends
 * @q: hardware queue
 * @a: filled with what goes into the hello
 * @e: filled with what the reply must satisfy
 */
void qbd_xport_hello(struct qbd_queue *q, struct qbd_hello_args *a,
		     struct qbd_hello_expect *e)
{
	struct qbd_device *qdev = q->qdev;
	/* the transport's own bits are asked for again on every connection */
	u64 features = qdev->features | qdev->ops->features;

	*a = (struct qbd_hello_args){
		.features = features,
		.vol_id = qdev->cfg.vol_id,
		.queue_id = q->qid,
		.queue_depth = qdev->depth,
		.max_io = qdev->max_io,
		.pool = qdev->cfg.pool,
		.volume = qdev->cfg.volume,
	};
	*e = (struct qbd_hello_expect){
		.size = qdev->cfg.size,
		.block_size = qdev->cfg.block_size,
		.features = features,
		.queue_depth = qdev->depth,
	};
}

/**
 * qbd_xport_hello_done - check a hello reply and take what it grants
 * @q: hardware queue
 * @reply: as received
 * @why: set to the broken rule on failure
 *
 * The first connections of a map narrow depth, features and max_io; once
 * the disk exists (reconnect) the server must grant at least what it uses.
 * The transport's own feature bits (RDMA_INV, RDMA_INLINE) belong to each
 * connection, which keeps what its hello reply granted: a server restarted
 * without them is still a server the disk can use.
 * 0 or -errno.
 */
int qbd_xport_hello_done(struct qbd_queue *q,
			 const struct qbd_hello_reply *reply, const char **why)
{
	struct qbd_device *qdev = q->qdev;
	struct qbd_hello_result res;
	struct qbd_hello_expect e;
	struct qbd_hello_args a;
	int ret;

	qbd_xport_hello(q, &a, &e);
	ret = qbd_proto_check_hello_reply(reply, &e, &res, why);
	if (ret)
		return ret;
	/* pairs with qbd_dev_create(): limits are fixed once tags exist */
	if (smp_load_acquire(&qdev->io_ready)) {
		if (res.queue_depth < qdev->depth ||
		    (res.features ^ qdev->features) & ~qdev->ops->features ||
		    res.max_io < qdev->max_io) {
			*why = "server grants less depth, features or max_io than the disk uses";
			return -EPROTO;
		}
		return 0;
	}
	if ((qdev->features & QBD_PF_DATA_DIGEST) &&
	    !(res.features & QBD_PF_DATA_DIGEST)) {
		*why = "the map asks for data digests but the server does not support them";
		return -EPROTONOSUPPORT;
	}
	qdev->depth = res.queue_depth;
	qdev->features = res.features;
	qdev->max_io = min(qdev->max_io, rounddown(res.max_io, 4096));
	return 0;
}

/**
 * qbd_xport_sockaddr - a map's server address as a sockaddr
 * @sa: servers[i] of the map
 * @ss: filled
 * @peer: filled with "addr:port" for messages
 * @peer_len: size of @peer
 *
 * Return: the sockaddr's length, or -EAFNOSUPPORT.
 */
int qbd_xport_sockaddr(const struct qbd_server_addr *sa,
		       struct sockaddr_storage *ss, char *peer, size_t peer_len)
{
	memset(ss, 0, sizeof(*ss));
	if (sa->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(sa->port);
		memcpy(&sin->sin_addr, sa->addr, 4);
		snprintf(peer, peer_len, "%pI4:%u", sa->addr, sa->port);
		return sizeof(*sin);
	}
	if (sa->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(sa->port);
		memcpy(&sin6->sin6_addr, sa->addr, 16);
		snprintf(peer, peer_len, "[%pI6c]:%u", sa->addr, sa->port);
		return sizeof(*sin6);
	}
	return -EAFNOSUPPORT;
}

/**
 * qbd_xport_hb_due - the heartbeat rule shared by the transports
 * @qdev: the device (hb_interval_ms, hb_timeout_ms)
 * @last_rx: jiffies of the connection's last received byte or message
 *
 * Return: -ETIMEDOUT when nothing came back for hb_timeout, 1 when the
 * connection has been quiet for half an hb_interval (a PING is due), else 0.
 */
int qbd_xport_hb_due(struct qbd_device *qdev, unsigned long last_rx)
{
	unsigned long half = msecs_to_jiffies(qdev->cfg.hb_interval_ms) / 2;

	if (time_after(jiffies,
		       last_rx + msecs_to_jiffies(qdev->cfg.hb_timeout_ms)))
		return -ETIMEDOUT;
	return time_after_eq(jiffies, last_rx + half);
}

/**
 * qbd_xport_data_crc - the data digest of a READ or WRITE request
 * @rq: the request; its whole data
 *
 * CRC32C (Castagnoli), initial value ~0, final xor ~0: "123456789" gives
 * 0xe3069283, as iSCSI and NVMe/TCP compute it.
 */
u32 qbd_xport_data_crc(struct request *rq)
{
	struct req_iterator it;
	struct bio_vec bv;
	u32 crc = ~0U;

	rq_for_each_segment(bv, rq, it) {
		void *p = bvec_kmap_local(&bv);

		crc = crc32c(crc, p, bv.bv_len);
		kunmap_local(p);
	}
	return ~crc;
}

/**
 * qbd_xport_digest_error - a request's data did not match its digest
 * @cmd: the request (its reply was taken, status OK so far)
 * @what: who found it, for the message
 *
 * Counted; the request is resent up to QBD_DIGEST_RETRIES times, then
 * fails with EIO.
 */
void qbd_xport_digest_error(struct qbd_cmd *cmd, const char *what)
{
	struct qbd_device *qdev = cmd->queue->qdev;
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	bool again = cmd->digest_tries < QBD_DIGEST_RETRIES;

	this_cpu_inc(qdev->stats->digest_errors);
	cmd->digest_tries++;
	/* clang-format off */
	pr_warn_ratelimited("%s: queue %u: %s offset %llu length %u: data digest mismatch (%s), %s (%u of %u)\n",
			    qbd_name(qdev), cmd->queue->qid,
			    cmd->opcode == QBD_OP_READ ? "READ" : "WRITE",
			    (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
			    blk_rq_bytes(rq), what,
			    again ? "resending" : "failing with EIO",
			    cmd->digest_tries, QBD_DIGEST_RETRIES + 1);
	/* clang-format on */
	if (again) {
		/* qbd_complete_rq() requeues it and runs the queue */
		cmd->retry = true;
		cmd->resend = true;
	} else {
		cmd->status = BLK_STS_IOERR;
	}
}

/**
 * qbd_xport_check_read - a READ's data arrived: fault injection, digest
 * @cmd: the request, status OK; its data is in the bio pages and its
 *	reply's digest in @cmd->rx_digest
 *
 * Return: true when the data may be used.
 */
bool qbd_xport_check_read(struct qbd_cmd *cmd)
{
	struct qbd_device *qdev = cmd->queue->qdev;
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	if (qbd_fault_hit(qdev, QBD_FAULT_CORRUPT_REPLY) && rq->bio) {
		struct bio_vec bv = bio_iter_iovec(rq->bio, rq->bio->bi_iter);
		u8 *p = bvec_kmap_local(&bv);

		p[0] ^= 0x01; /* one bit flipped in flight */
		kunmap_local(p);
	}
	if (!(qdev->features & QBD_PF_DATA_DIGEST))
		return true;
	if (qbd_xport_data_crc(rq) == cmd->rx_digest)
		return true;
	qbd_xport_digest_error(cmd, "READ data against the reply's digest");
	return false;
}
