// SPDX-License-Identifier: GPL-2.0
/*
 * qbd RDMA transport: one rdma_cm reliable-connected QP per (hardware
 * queue, server), following the RDMA rules in include/proto/qbd_proto.h.
 *
 * Connect: resolve address and route, create PD, CQ (from the shared CQ
 * pool, on the queue's CPU's vector), QP and an FRWR MR pool, post the
 * receive ring, connect, then SEND the hello and wait for its reply on the
 * ring. Requests: queue_rq maps the request's pages into one MR (REG_MR
 * chained before the SEND of the 72-byte header) and the server moves the
 * data with RDMA READ/WRITE. A request completes when its SEND completion
 * and its reply are in and its MR is invalidated (by the server with
 * SEND_WITH_INV, else by our LOCAL_INV): a reference per outstanding event,
 * as nvme-rdma does. Any bad completion, bad reply or cm event that ends
 * the connection reports a device error; recovery disconnects (drains the
 * QP, then frees everything) and resends.
 *
 * Inline writes (QBD_PF_RDMA_INLINE granted, as nvme-rdma's inline data):
 * a WRITE of at most the size the server offered goes as one SEND whose
 * SGEs are its header and its data pages (DMA-mapped, no MR, no REG_MR,
 * no RDMA READ, nothing to invalidate); it completes on its SEND
 * completion and its reply, as every request does.
 *
 * With a key the hello carries our nonce and the server answers it with an
 * auth challenge (64 bytes) instead of the hello reply; we check it and SEND
 * our proof (48 bytes), then the hello reply follows: the TCP exchange of
 * docs/protocol.md, one SEND per message, each receive taken one at a time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <net/route.h>
#include <rdma/ib_verbs.h>
#include <rdma/mr_pool.h>
#include <rdma/rdma_cm.h>
#include "qbd.h"
#include "qbd_rdma.h"

/* struct qbd_rdma_conn.flags */
enum {
	QBD_RDMA_DEAD, /* failed or closing: no more IO */
	QBD_RDMA_LIVE, /* handshake done: errors go to the device */
	QBD_RDMA_HS_WANT, /* the handshake waits for one message */
	QBD_RDMA_HS_IN, /* that message is in conn->hs_msg */
	QBD_RDMA_PING_INFLIGHT, /* a PING is out, its reply not yet in */
	QBD_RDMA_PING_SENDING, /* the PING's SEND has not completed */
	QBD_RDMA_GONE, /* DEVICE_REMOVAL seen: no waiting for the port */
};

/* struct qbd_rdma_req.flags */
enum {
	QBD_RDMA_REQ_WAIT, /* sent, its reply not yet in */
};

#define QBD_RDMA_INLINE_SG 4 /* sg entries in the request before chaining */
#define QBD_RDMA_REFUSE_WAIT (2 * HZ) /* for the server's auth refusal */

/**
 * struct qbd_rdma_req - what the connection keeps for one tag
 * @conn: the connection
 * @cmd: the request using the tag here (NULL: none)
 * @send_cqe: completion of the request's SEND
 * @reg_cqe: completion of REG_MR
 * @inv_cqe: completion of LOCAL_INV
 * @reg_wr: the REG_MR work request
 * @mr: the MR mapping the data (READ/WRITE only)
 * @sgt: the data's scatterlist
 * @first_sgl: its first chunk
 * @sg_nents: entries DMA-mapped in @sgt (0: not mapped)
 * @sg_alloced: @sgt is allocated
 * @dir: DMA direction of the data
 * @ref: SEND completion + reply (+ LOCAL_INV) still to come
 * @flags: QBD_RDMA_REQ_*
 */
struct qbd_rdma_req {
	struct qbd_rdma_conn *conn;
	struct qbd_cmd *cmd;
	struct ib_cqe send_cqe;
	struct ib_cqe reg_cqe;
	struct ib_cqe inv_cqe;
	struct ib_reg_wr reg_wr;
	struct ib_mr *mr;
	struct sg_table sgt;
	struct scatterlist first_sgl[QBD_RDMA_INLINE_SG];
	int sg_nents;
	bool sg_alloced;
	enum dma_data_direction dir;
	atomic_t ref;
	unsigned long flags;
};

/**
 * struct qbd_rdma_rx - one preposted receive
 * @conn: the connection
 * @cqe: its completion
 * @idx: slot in the receive ring
 */
struct qbd_rdma_rx {
	struct qbd_rdma_conn *conn;
	struct ib_cqe cqe;
	u32 idx;
};

/**
 * struct qbd_rdma_conn - one connection of a hardware queue to a server
 * @queue: the hardware queue
 * @qdev: its device
 * @srv: servers[] index
 * @peer: "addr:port" for messages
 * @cm_id: the rdma_cm id
 * @ibdev: the RDMA device the address resolved to
 * @pd: protection domain
 * @cq: send and receive CQ, from the CQ pool
 * @cq_size: CQ entries taken from the pool
 * @qp: the QP (cm_id->qp)
 * @mrs_ready: the MR pool is set up
 * @cm_done: completed by the cm handler for each connect step
 * @cm_event: last connect-step event (written before @cm_done)
 * @cm_error: its error, 0 when it is the event asked for
 * @hello_done: completed when a handshake message came in or the
 *	connection failed during the handshake
 * @hs_msg: that message (hello reply or auth challenge; written by the
 *	receive completion)
 * @hs_len: its length
 * @flags: QBD_RDMA_* bits
 * @last_rx: jiffies of the last reply (heartbeat)
 * @depth: tags the connection has room for
 * @nr_recv: receives in the ring
 * @pages_per_mr: pages an MR maps
 * @send_sge: SGEs a SEND may carry (the QP's max_send_sge)
 * @inline_max: WRITEs of up to this many bytes go inline (0: none)
 * @rx_buf: the receive ring's buffers (@nr_recv x QBD_RDMA_REPLY_BUF)
 * @rx_dma: their DMA address
 * @rx_mapped: @rx_dma is mapped
 * @rx: the ring
 * @tx_buf: send buffers: a request header per tag, one for the PING, then
 *	the hello and the auth proof
 * @tx_dma: their DMA address
 * @tx_mapped: @tx_dma is mapped
 * @ctl_cqe: completion of the hello's and the PING's SEND
 * @reqs: per tag
 * @park_node: in qbd_rdma_parked while only the cm_id is left
 * @parked_at: jiffies it was parked
 */
struct qbd_rdma_conn {
	struct qbd_queue *queue;
	struct qbd_device *qdev;
	unsigned int srv;
	char peer[64];

	struct rdma_cm_id *cm_id;
	struct ib_device *ibdev;
	struct ib_pd *pd;
	struct ib_cq *cq;
	unsigned int cq_size;
	struct ib_qp *qp;
	bool mrs_ready;

	struct completion cm_done;
	enum rdma_cm_event_type cm_event;
	int cm_error;
	struct completion hello_done;
	u8 hs_msg[QBD_RDMA_REPLY_BUF];
	u32 hs_len;

	unsigned long flags;
	unsigned long last_rx;

	u32 depth;
	u32 nr_recv;
	u32 pages_per_mr;
	u32 send_sge;
	u32 inline_max;
	void *rx_buf;
	u64 rx_dma;
	bool rx_mapped;
	struct qbd_rdma_rx *rx;
	void *tx_buf;
	u64 tx_dma;
	bool tx_mapped;
	struct ib_cqe ctl_cqe;
	struct qbd_rdma_req *reqs;
	struct list_head park_node;
	unsigned long parked_at;
};

/*
 * Connections of which only the cm_id is left. Destroying an established
 * cm_id (or rdma_disconnect) sends a DREQ on the port's QP1; when the
 * netdev under the port is down, rxe (6.1) fails that send, puts QP1 in
 * the error state and never takes its receive side out of it again, so
 * every later connect from the device times out (docs/testing.md). So a
 * connection torn down while its port is not active, or no route leads
 * to the peer (qbd_rdma_path_ok()), is drained and freed at once but its
 * cm_id waits here, and is destroyed (the DREQ sent) once both are back,
 * the device goes away, or after QBD_RDMA_PARK_MAX. The reaper polls while
 * the list is not empty.
 */
static LIST_HEAD(qbd_rdma_parked);
static DEFINE_MUTEX(qbd_rdma_park_mutex); /* guards qbd_rdma_parked */
static void qbd_rdma_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(qbd_rdma_reaper, qbd_rdma_reap);
#define QBD_RDMA_PARK_POLL (HZ / 2)
#define QBD_RDMA_PARK_MAX (120 * HZ)

static size_t qbd_rdma_tx_size(u32 depth)
{
	return (depth + 1) * sizeof(struct qbd_req) + sizeof(struct qbd_hello) +
	       sizeof(struct qbd_auth_proof);
}

static u64 qbd_rdma_tx_off(struct qbd_rdma_conn *conn, u32 slot)
{
	return (u64)slot * sizeof(struct qbd_req);
}

static u64 qbd_rdma_hello_off(struct qbd_rdma_conn *conn)
{
	return qbd_rdma_tx_off(conn, conn->depth + 1);
}

static u64 qbd_rdma_proof_off(struct qbd_rdma_conn *conn)
{
	return qbd_rdma_hello_off(conn) + sizeof(struct qbd_hello);
}

static void qbd_rdma_fail(struct qbd_rdma_conn *conn, int err, const char *why)
{
	if (test_and_set_bit(QBD_RDMA_DEAD, &conn->flags))
		return;
	/* before that, connect says what failed */
	if (test_bit(QBD_RDMA_LIVE, &conn->flags)) {
		pr_warn_ratelimited("%s: queue %u: server %s (rdma): %s (%d)\n",
				    qbd_name(conn->qdev), conn->queue->qid,
				    conn->peer, why, err);
		qbd_dev_error(conn->qdev);
	}
	/* a connect waiting for the hello reply gives up */
	complete(&conn->hello_done);
}

static void qbd_rdma_wc_error(struct qbd_rdma_conn *conn, struct ib_wc *wc,
			      const char *op)
{
	/* flushes follow the first error or our own disconnect */
	if (wc->status != IB_WC_WR_FLUSH_ERR)
		/* clang-format off */
		pr_warn_ratelimited("%s: queue %u: server %s (rdma): %s failed: %s (%d)\n",
				    qbd_name(conn->qdev), conn->queue->qid,
				    conn->peer, op,
				    ib_wc_status_msg(wc->status), wc->status);
	/* clang-format on */
	qbd_rdma_fail(conn, -EIO, "work request failed");
}

/* ---- per-request data mapping ---- */

/* Give back what the request holds (MR, DMA mapping, sg table). */
static void qbd_rdma_unmap(struct qbd_rdma_conn *conn, struct qbd_rdma_req *r)
{
	if (r->mr) {
		ib_mr_pool_put(conn->qp, &conn->qp->rdma_mrs, r->mr);
		r->mr = NULL;
	}
	if (r->sg_nents) {
		ib_dma_unmap_sg(conn->ibdev, r->sgt.sgl, r->sg_nents, r->dir);
		r->sg_nents = 0;
	}
	if (r->sg_alloced) {
		sg_free_table_chained(&r->sgt, QBD_RDMA_INLINE_SG);
		r->sg_alloced = false;
	}
}

/* One event of the request is done; the last one completes it. */
static void qbd_rdma_req_put(struct qbd_rdma_req *r)
{
	struct qbd_cmd *cmd;

	if (!atomic_dec_and_test(&r->ref))
		return;
	qbd_rdma_unmap(r->conn, r);
	cmd = r->cmd;
	/* the tag may be reused as soon as the request completes */
	WRITE_ONCE(r->cmd, NULL);
	qbd_complete_cmd(cmd);
}

static void qbd_rdma_reg_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct qbd_rdma_req *r =
		container_of(wc->wr_cqe, struct qbd_rdma_req, reg_cqe);

	if (unlikely(wc->status != IB_WC_SUCCESS))
		qbd_rdma_wc_error(r->conn, wc, "memory registration");
}

static void qbd_rdma_inv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct qbd_rdma_req *r =
		container_of(wc->wr_cqe, struct qbd_rdma_req, inv_cqe);

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		qbd_rdma_wc_error(r->conn, wc, "local invalidate");
		return;
	}
	qbd_rdma_req_put(r);
}

static void qbd_rdma_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct qbd_rdma_req *r =
		container_of(wc->wr_cqe, struct qbd_rdma_req, send_cqe);

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		qbd_rdma_wc_error(r->conn, wc, "request send");
		return;
	}
	qbd_rdma_req_put(r);
}

/*
 * DMA-map the data pages of @rq into r->sgt. The mapped entry count, or
 * -errno (nothing held then).
 */
static int qbd_rdma_map_sg(struct qbd_rdma_conn *conn, struct qbd_rdma_req *r,
			   struct request *rq, const char **why)
{
	int nents, count, ret;

	r->sgt.sgl = r->first_sgl;
	ret = sg_alloc_table_chained(&r->sgt, blk_rq_nr_phys_segments(rq),
				     r->first_sgl, QBD_RDMA_INLINE_SG);
	if (ret) {
		*why = "no memory for the scatterlist";
		return -ENOMEM;
	}
	r->sg_alloced = true;
	nents = blk_rq_map_sg(rq->q, rq, r->sgt.sgl);
	r->dir = rq_data_dir(rq) == WRITE ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	count = ib_dma_map_sg(conn->ibdev, r->sgt.sgl, nents, r->dir);
	if (!count) {
		*why = "DMA mapping failed";
		qbd_rdma_unmap(conn, r);
		return -EIO;
	}
	r->sg_nents = nents;
	return count;
}

/*
 * Map the data of @rq into one MR and prepare its REG_MR. 0 or -errno
 * (nothing held then).
 */
static int qbd_rdma_map_data(struct qbd_rdma_conn *conn, struct qbd_rdma_req *r,
			     struct request *rq, struct qbd_cmd *cmd,
			     const char **why)
{
	int count, n, ret;

	count = qbd_rdma_map_sg(conn, r, rq, why);
	if (count < 0)
		return count;
	r->mr = ib_mr_pool_get(conn->qp, &conn->qp->rdma_mrs);
	if (!r->mr) {
		*why = "no free MR";
		ret = -EAGAIN;
		goto out_unmap;
	}
	n = ib_map_mr_sg(r->mr, r->sgt.sgl, count, NULL, QBD_RDMA_PAGE);
	if (n != count || r->mr->length != cmd->length) {
		*why = "the pages do not fit one MR";
		ret = n < 0 ? n : -EINVAL;
		goto out_unmap;
	}
	ib_update_fast_reg_key(r->mr, ib_inc_rkey(r->mr->rkey));
	memset(&r->reg_wr, 0, sizeof(r->reg_wr));
	r->reg_wr.wr.opcode = IB_WR_REG_MR;
	r->reg_wr.wr.wr_cqe = &r->reg_cqe;
	/*
	 * Signalled, so that its completion is reaped at once: rxe in 6.1
	 * re-runs a finished local operation still at the head of the send
	 * queue when it retransmits, and a second REG_MR of a valid MR fails.
	 * It completes before the SEND (send queue order), so it needs no
	 * reference of its own.
	 */
	r->reg_wr.wr.send_flags = IB_SEND_SIGNALED;
	r->reg_wr.mr = r->mr;
	r->reg_wr.key = r->mr->rkey;
	r->reg_wr.access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_READ |
			   IB_ACCESS_REMOTE_WRITE;
	return 0;

out_unmap:
	qbd_rdma_unmap(conn, r);
	return ret;
}

static int qbd_rdma_post_send(struct qbd_rdma_conn *conn, u64 off, u32 len,
			      struct ib_cqe *cqe, struct ib_send_wr *first,
			      struct ib_send_wr *wr)
{
	struct ib_sge sge = {
		.addr = conn->tx_dma + off,
		.length = len,
		.lkey = conn->pd->local_dma_lkey,
	};

	ib_dma_sync_single_for_device(conn->ibdev, sge.addr, len,
				      DMA_TO_DEVICE);
	memset(wr, 0, sizeof(*wr));
	wr->wr_cqe = cqe;
	wr->sg_list = &sge;
	wr->num_sge = 1;
	wr->opcode = IB_WR_SEND;
	wr->send_flags = IB_SEND_SIGNALED;
	return ib_post_send(conn->qp, first ? first : wr, NULL);
}

/*
 * Send WRITE @rq inline: one SEND of its header (at @off of the send
 * buffers) and its data pages. Returns as qbd_rdma_send_cmd().
 */
static int qbd_rdma_send_inline(struct qbd_rdma_conn *conn,
				struct qbd_rdma_req *r, struct request *rq,
				struct qbd_cmd *cmd, u64 off)
{
	struct ib_sge sge[QBD_RDMA_MAX_SEND_SGE];
	struct scatterlist *sg;
	struct ib_send_wr wr;
	const char *why = "";
	int count, i;

	count = qbd_rdma_map_sg(conn, r, rq, &why);
	if (count < 0 ||
	    1 + count > min_t(u32, conn->send_sge, ARRAY_SIZE(sge))) {
		if (count >= 0) {
			why = "more data segments than SGEs";
			qbd_rdma_unmap(conn, r);
		}
		/* clang-format off */
		pr_warn_ratelimited("%s: queue %u: inline WRITE offset %llu length %u: %s (%d)\n",
				    qbd_name(conn->qdev), conn->queue->qid,
				    (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
				    cmd->length, why, count);
		/* clang-format on */
		return -EIO;
	}
	sge[0].addr = conn->tx_dma + off;
	sge[0].length = sizeof(struct qbd_req);
	sge[0].lkey = conn->pd->local_dma_lkey;
	for_each_sg(r->sgt.sgl, sg, count, i) {
		sge[i + 1].addr = sg_dma_address(sg);
		sge[i + 1].length = sg_dma_len(sg);
		sge[i + 1].lkey = conn->pd->local_dma_lkey;
	}
	ib_dma_sync_single_for_device(conn->ibdev, sge[0].addr, sge[0].length,
				      DMA_TO_DEVICE);
	memset(&wr, 0, sizeof(wr));
	wr.wr_cqe = &r->send_cqe;
	wr.sg_list = sge;
	wr.num_sge = 1 + count;
	wr.opcode = IB_WR_SEND;
	wr.send_flags = IB_SEND_SIGNALED;
	r->cmd = cmd;
	atomic_set(&r->ref, 2); /* SEND completion and reply */
	set_bit(QBD_RDMA_REQ_WAIT, &r->flags);
	WRITE_ONCE(cmd->state, QBD_CMD_SENT);
	/* on failure the disconnect gives back what the request holds */
	return ib_post_send(conn->qp, &wr, NULL);
}

/*
 * Send one request. Returns 0, -EIO for a request that cannot be mapped
 * (complete it with an error), or another -errno (the connection broke).
 */
static int qbd_rdma_send_cmd(struct qbd_rdma_conn *conn, struct request *rq,
			     struct qbd_cmd *cmd)
{
	struct qbd_rdma_req *r;
	struct ib_send_wr wr, *first = NULL;
	struct qbd_req *hdr;
	const char *why = "";
	u64 off;
	int ret;

	if (rq->tag < 0 || rq->tag >= conn->depth)
		return -EINVAL;
	r = &conn->reqs[rq->tag];
	if (r->cmd)
		return -EBUSY; /* the tag's last use is not done: a bug */
	off = qbd_rdma_tx_off(conn, rq->tag);
	hdr = conn->tx_buf + off;
	memcpy(hdr, &cmd->hdr, sizeof(*hdr));
	if (cmd->opcode == QBD_OP_WRITE && cmd->length <= conn->inline_max &&
	    1 + blk_rq_nr_phys_segments(rq) <= conn->send_sge)
		return qbd_rdma_send_inline(conn, r, rq, cmd, off);
	if (cmd->length) {
		ret = qbd_rdma_map_data(conn, r, rq, cmd, &why);
		if (ret) {
			/* clang-format off */
			pr_warn_ratelimited("%s: queue %u: op %u offset %llu length %u: %s (%d)\n",
					    qbd_name(conn->qdev), conn->queue->qid,
					    cmd->opcode,
					    (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
					    cmd->length, why, ret);
			/* clang-format on */
			return -EIO;
		}
		hdr->rdma_addr = cpu_to_le64(r->mr->iova);
		hdr->rdma_key = cpu_to_le32(r->mr->rkey);
		r->reg_wr.wr.next = &wr;
		first = &r->reg_wr.wr;
	}
	r->cmd = cmd;
	atomic_set(&r->ref, 2); /* SEND completion and reply */
	set_bit(QBD_RDMA_REQ_WAIT, &r->flags);
	WRITE_ONCE(cmd->state, QBD_CMD_SENT);
	/* on failure the disconnect gives back what the request holds */
	return qbd_rdma_post_send(conn, off, sizeof(*hdr), &r->send_cqe, first,
				  &wr);
}

/* ---- receive ---- */

static int qbd_rdma_post_recv(struct qbd_rdma_conn *conn, u32 idx)
{
	struct ib_sge sge = {
		.addr = conn->rx_dma + (u64)idx * QBD_RDMA_REPLY_BUF,
		.length = QBD_RDMA_REPLY_BUF,
		.lkey = conn->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe = &conn->rx[idx].cqe,
		.sg_list = &sge,
		.num_sge = 1,
	};

	return ib_post_recv(conn->qp, &wr, NULL);
}

static int qbd_rdma_bad_reply(struct qbd_rdma_conn *conn,
			      const struct qbd_reply *reply, const char *why)
{
	/* clang-format off */
	pr_warn_ratelimited("%s: queue %u: server %s (rdma): bad reply (handle 0x%llx): %s\n",
			    qbd_name(conn->qdev), conn->queue->qid, conn->peer,
			    le64_to_cpu(reply->handle), why);
	/* clang-format on */
	return -EPROTO;
}

/* A reply came in. 0 or -errno (the connection is then failed). */
static int qbd_rdma_handle_reply(struct qbd_rdma_conn *conn,
				 const struct qbd_reply *reply,
				 struct ib_wc *wc)
{
	bool inv = wc->wc_flags & IB_WC_WITH_INVALIDATE;
	struct qbd_reply_info ri;
	struct qbd_rdma_req *r;
	struct qbd_cmd *cmd;
	const char *why = "";
	struct ib_send_wr inv_wr;
	int tag, ret;

	if (qbd_proto_check_reply(reply, conn->qdev->max_io, &ri, &why))
		return qbd_rdma_bad_reply(conn, reply, why);
	if (ri.handle & QBD_HANDLE_PING) {
		if (ri.handle != QBD_HANDLE_PING || ri.length || inv ||
		    !test_and_clear_bit(QBD_RDMA_PING_INFLIGHT, &conn->flags))
			return qbd_rdma_bad_reply(conn, reply,
						  "unexpected heartbeat reply");
		qbd_dev_size_notice(conn->qdev, le64_to_cpu(reply->vol_size));
		return 0;
	}
	cmd = qbd_xport_find_cmd(conn->queue, conn->srv, ri.handle, &why);
	if (!cmd)
		return qbd_rdma_bad_reply(conn, reply, why);
	tag = blk_mq_rq_from_pdu(cmd)->tag;
	r = tag >= 0 && tag < conn->depth ? &conn->reqs[tag] : NULL;
	if (!r || READ_ONCE(r->cmd) != cmd ||
	    !test_and_clear_bit(QBD_RDMA_REQ_WAIT, &r->flags))
		return qbd_rdma_bad_reply(conn, reply,
					  "reply to a request not sent here");
	if (qbd_proto_check_reply_for(&ri, cmd->opcode, cmd->length, &why))
		return qbd_rdma_bad_reply(conn, reply, why);
	ret = qbd_xport_reply_status(cmd, ri.status, conn->peer);
	if (ret)
		return ret;
	if (inv) {
		if (!r->mr || wc->ex.invalidate_rkey != r->mr->rkey)
			return qbd_rdma_bad_reply(conn, reply,
						  "invalidated another key");
	} else if (r->mr) {
		/* the reply's reference now waits for the invalidation */
		memset(&inv_wr, 0, sizeof(inv_wr));
		inv_wr.wr_cqe = &r->inv_cqe;
		inv_wr.opcode = IB_WR_LOCAL_INV;
		inv_wr.send_flags = IB_SEND_SIGNALED;
		inv_wr.ex.invalidate_rkey = r->mr->rkey;
		return ib_post_send(conn->qp, &inv_wr, NULL);
	}
	qbd_rdma_req_put(r);
	return 0;
}

static void qbd_rdma_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct qbd_rdma_rx *rx =
		container_of(wc->wr_cqe, struct qbd_rdma_rx, cqe);
	struct qbd_rdma_conn *conn = rx->conn;
	u64 dma = conn->rx_dma + (u64)rx->idx * QBD_RDMA_REPLY_BUF;
	void *buf = conn->rx_buf + (size_t)rx->idx * QBD_RDMA_REPLY_BUF;
	struct qbd_reply reply;
	int ret;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		qbd_rdma_wc_error(conn, wc, "receive");
		return;
	}
	if (test_bit(QBD_RDMA_DEAD, &conn->flags))
		return;
	ib_dma_sync_single_for_cpu(conn->ibdev, dma, QBD_RDMA_REPLY_BUF,
				   DMA_FROM_DEVICE);
	if (!test_bit(QBD_RDMA_LIVE, &conn->flags)) {
		/* handshake: one message per step, the step checks it */
		if (wc->byte_len > sizeof(conn->hs_msg) ||
		    (wc->wc_flags & IB_WC_WITH_INVALIDATE) ||
		    !test_and_clear_bit(QBD_RDMA_HS_WANT, &conn->flags)) {
			qbd_rdma_fail(conn, -EPROTO,
				      "handshake: unexpected message");
			return;
		}
		memcpy(conn->hs_msg, buf, wc->byte_len);
		conn->hs_len = wc->byte_len;
		/* the waiter reads hs_msg once it sees HS_IN */
		smp_mb__before_atomic();
		set_bit(QBD_RDMA_HS_IN, &conn->flags);
		complete(&conn->hello_done);
		ret = qbd_rdma_post_recv(conn, rx->idx);
		if (ret)
			qbd_rdma_fail(conn, ret, "posting a receive failed");
		return;
	}
	if (wc->byte_len != sizeof(reply)) {
		qbd_rdma_fail(conn, -EPROTO,
			      "message is not one reply (32 bytes)");
		return;
	}
	memcpy(&reply, buf, sizeof(reply));
	ret = qbd_rdma_post_recv(conn, rx->idx);
	if (ret) {
		qbd_rdma_fail(conn, ret, "posting a receive failed");
		return;
	}
	WRITE_ONCE(conn->last_rx, jiffies);
	ret = qbd_rdma_handle_reply(conn, &reply, wc);
	if (ret)
		qbd_rdma_fail(conn, ret,
			      ret == -EPROTO ? "protocol error" :
					       "posting LOCAL_INV failed");
}

/* The hello's or a PING's SEND completed. */
static void qbd_rdma_ctl_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct qbd_rdma_conn *conn =
		container_of(wc->wr_cqe, struct qbd_rdma_conn, ctl_cqe);

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		qbd_rdma_wc_error(conn, wc, "hello or heartbeat send");
		return;
	}
	clear_bit(QBD_RDMA_PING_SENDING, &conn->flags);
}

/* ---- connection setup and teardown ---- */

static int qbd_rdma_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct qbd_rdma_conn *conn = id->context;
	int err = 0;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
	case RDMA_CM_EVENT_ESTABLISHED:
		break;
	case RDMA_CM_EVENT_REJECTED:
		err = -ECONNREFUSED;
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		err = -EHOSTUNREACH;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		err = -ECONNRESET;
		qbd_rdma_fail(conn, err, rdma_event_msg(ev->event));
		break;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		/*
		 * The id may not be destroyed here: recovery does it from its
		 * work, and the device removal waits for that.
		 */
		err = -ENODEV;
		qbd_rdma_fail(conn, err, "RDMA device removed");
		/* a parked id must go now: the removal waits for it */
		set_bit(QBD_RDMA_GONE, &conn->flags);
		mod_delayed_work(system_wq, &qbd_rdma_reaper, 0);
		break;
	default:
		return 0;
	}
	conn->cm_event = ev->event;
	conn->cm_error = err;
	complete(&conn->cm_done);
	return 0;
}

/* Wait for the connect step started last; 0 when @want came. */
static int qbd_rdma_wait_cm(struct qbd_rdma_conn *conn,
			    enum rdma_cm_event_type want,
			    unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	if (left <= 0 || !wait_for_completion_timeout(&conn->cm_done, left))
		return -ETIMEDOUT;
	if (conn->cm_error)
		return conn->cm_error;
	return conn->cm_event == want ? 0 : -ECONNABORTED;
}

/* Is the port @id is bound to active (its netdev up)? */
static bool qbd_rdma_port_active(struct rdma_cm_id *id)
{
	struct ib_port_attr attr;

	if (!id->device || ib_query_port(id->device, id->port_num, &attr))
		return false;
	return attr.state == IB_PORT_ACTIVE;
}

/*
 * Could a MAD (our DREQ) leave through @id's port now? Its port must be
 * active and, on RoCE over IPv4, there must be a route to the peer through
 * the bound netdev, looked up as rxe looks it up. `ip link set down`
 * flushes the routes before the port is marked down, and a send fails for
 * want of a route in between (the queue sees a local QP operation error);
 * after `up` the port is active before routes added by hand are back.
 */
static bool qbd_rdma_path_ok(struct rdma_cm_id *id)
{
	const struct sockaddr_in *src, *dst;
	struct flowi4 fl = {};
	struct rtable *rt;

	if (!qbd_rdma_port_active(id))
		return false;
	src = (const struct sockaddr_in *)&id->route.addr.src_addr;
	dst = (const struct sockaddr_in *)&id->route.addr.dst_addr;
	if (!rdma_protocol_roce(id->device, id->port_num) ||
	    dst->sin_family != AF_INET)
		return true;
	fl.flowi4_oif = id->route.addr.dev_addr.bound_dev_if;
	fl.flowi4_proto = IPPROTO_UDP;
	fl.saddr = src->sin_addr.s_addr;
	fl.daddr = dst->sin_addr.s_addr;
	rt = ip_route_output_key(&init_net, &fl);
	if (IS_ERR(rt))
		return false;
	ip_rt_put(rt);
	return true;
}

static void qbd_rdma_reap(struct work_struct *work)
{
	struct qbd_rdma_conn *conn, *tmp;
	LIST_HEAD(done);
	bool more;

	mutex_lock(&qbd_rdma_park_mutex);
	list_for_each_entry_safe(conn, tmp, &qbd_rdma_parked, park_node)
		if (test_bit(QBD_RDMA_GONE, &conn->flags) ||
		    time_after(jiffies, conn->parked_at + QBD_RDMA_PARK_MAX) ||
		    qbd_rdma_path_ok(conn->cm_id))
			list_move_tail(&conn->park_node, &done);
	more = !list_empty(&qbd_rdma_parked);
	mutex_unlock(&qbd_rdma_park_mutex);
	list_for_each_entry_safe(conn, tmp, &done, park_node) {
		rdma_destroy_id(conn->cm_id);
		kfree(conn);
	}
	if (more)
		queue_delayed_work(system_wq, &qbd_rdma_reaper,
				   QBD_RDMA_PARK_POLL);
}

/**
 * qbd_rdma_exit - destroy the parked cm_ids (module unload)
 */
void qbd_rdma_exit(void)
{
	struct qbd_rdma_conn *conn, *tmp;
	LIST_HEAD(all);

	mutex_lock(&qbd_rdma_park_mutex);
	list_splice_init(&qbd_rdma_parked, &all);
	mutex_unlock(&qbd_rdma_park_mutex);
	list_for_each_entry_safe(conn, tmp, &all, park_node) {
		rdma_destroy_id(conn->cm_id);
		kfree(conn);
	}
	cancel_delayed_work_sync(&qbd_rdma_reaper);
}

/*
 * Free everything of @conn. The QP is drained first, so no completion
 * runs any more when its buffers and requests go. While the port is down
 * the cm_id is parked rather than destroyed (see qbd_rdma_parked), and
 * so while no route leads to the peer (qbd_rdma_path_ok()).
 */
static void qbd_rdma_destroy(struct qbd_rdma_conn *conn)
{
	bool park = false;
	u32 i;

	set_bit(QBD_RDMA_DEAD, &conn->flags);
	if (conn->qp) {
		if (test_bit(QBD_RDMA_GONE, &conn->flags) ||
		    qbd_rdma_path_ok(conn->cm_id))
			rdma_disconnect(conn->cm_id);
		else
			park = true;
		ib_drain_qp(conn->qp);
	}
	if (conn->reqs)
		for (i = 0; i < conn->depth; i++)
			qbd_rdma_unmap(conn, &conn->reqs[i]);
	if (conn->mrs_ready)
		ib_mr_pool_destroy(conn->qp, &conn->qp->rdma_mrs);
	if (conn->qp)
		rdma_destroy_qp(conn->cm_id);
	if (conn->cq)
		ib_cq_pool_put(conn->cq, conn->cq_size);
	if (conn->tx_mapped)
		ib_dma_unmap_single(conn->ibdev, conn->tx_dma,
				    qbd_rdma_tx_size(conn->depth),
				    DMA_TO_DEVICE);
	if (conn->rx_mapped)
		ib_dma_unmap_single(conn->ibdev, conn->rx_dma,
				    conn->nr_recv * QBD_RDMA_REPLY_BUF,
				    DMA_FROM_DEVICE);
	if (conn->pd)
		ib_dealloc_pd(conn->pd);
	kfree_sensitive(conn->tx_buf); /* may hold our auth proof */
	kfree(conn->rx_buf);
	kfree(conn->rx);
	kfree(conn->reqs);
	if (park) {
		/* the cm handler may still run: it only sets flags then */
		conn->parked_at = jiffies;
		mutex_lock(&qbd_rdma_park_mutex);
		list_add_tail(&conn->park_node, &qbd_rdma_parked);
		mutex_unlock(&qbd_rdma_park_mutex);
		mod_delayed_work(system_wq, &qbd_rdma_reaper,
				 QBD_RDMA_PARK_POLL);
		return;
	}
	if (conn->cm_id)
		rdma_destroy_id(conn->cm_id);
	kfree(conn);
}

static int qbd_rdma_alloc_bufs(struct qbd_rdma_conn *conn)
{
	u32 i;

	conn->reqs = kcalloc(conn->depth, sizeof(*conn->reqs), GFP_KERNEL);
	conn->rx = kcalloc(conn->nr_recv, sizeof(*conn->rx), GFP_KERNEL);
	conn->rx_buf = kcalloc(conn->nr_recv, QBD_RDMA_REPLY_BUF, GFP_KERNEL);
	conn->tx_buf = kzalloc(qbd_rdma_tx_size(conn->depth), GFP_KERNEL);
	if (!conn->reqs || !conn->rx || !conn->rx_buf || !conn->tx_buf)
		return -ENOMEM;
	conn->rx_dma = ib_dma_map_single(conn->ibdev, conn->rx_buf,
					 conn->nr_recv * QBD_RDMA_REPLY_BUF,
					 DMA_FROM_DEVICE);
	if (ib_dma_mapping_error(conn->ibdev, conn->rx_dma))
		return -ENOMEM;
	conn->rx_mapped = true;
	conn->tx_dma = ib_dma_map_single(conn->ibdev, conn->tx_buf,
					 qbd_rdma_tx_size(conn->depth),
					 DMA_TO_DEVICE);
	if (ib_dma_mapping_error(conn->ibdev, conn->tx_dma))
		return -ENOMEM;
	conn->tx_mapped = true;
	for (i = 0; i < conn->depth; i++) {
		conn->reqs[i].conn = conn;
		conn->reqs[i].send_cqe.done = qbd_rdma_send_done;
		conn->reqs[i].reg_cqe.done = qbd_rdma_reg_done;
		conn->reqs[i].inv_cqe.done = qbd_rdma_inv_done;
	}
	for (i = 0; i < conn->nr_recv; i++) {
		conn->rx[i].conn = conn;
		conn->rx[i].idx = i;
		conn->rx[i].cqe.done = qbd_rdma_recv_done;
	}
	conn->ctl_cqe.done = qbd_rdma_ctl_done;
	return 0;
}

/*
 * The address resolved to an RDMA device: PD, CQ, QP, MR pool, buffers
 * and the posted receive ring. Undone by qbd_rdma_destroy().
 */
static int qbd_rdma_create_queue(struct qbd_rdma_conn *conn, const char **why)
{
	struct qbd_device *qdev = conn->qdev;
	struct ib_qp_init_attr attr = {};
	struct qbd_rdma_sizes sz;
	u32 dev_pages, i;
	int ret;

	conn->ibdev = conn->cm_id->device;
	if (!(conn->ibdev->attrs.device_cap_flags &
	      IB_DEVICE_MEM_MGT_EXTENSIONS)) {
		*why = "RDMA device cannot do fast registration";
		return -EOPNOTSUPP;
	}
	dev_pages = conn->ibdev->attrs.max_fast_reg_page_list_len;
	conn->pages_per_mr = qbd_rdma_mr_pages(dev_pages);
	if (!qbd_rdma_max_io(conn->pages_per_mr)) {
		*why = "RDMA device registers too few pages per MR";
		return -EOPNOTSUPP;
	}
	conn->depth = qdev->depth;
	ret = qbd_rdma_sizes(conn->depth, &sz);
	if (ret) {
		*why = "queue depth out of range";
		return ret;
	}
	conn->nr_recv = sz.nr_recv;

	conn->pd = ib_alloc_pd(conn->ibdev, 0);
	if (IS_ERR(conn->pd)) {
		ret = PTR_ERR(conn->pd);
		conn->pd = NULL;
		*why = "allocating a protection domain failed";
		return ret;
	}
	conn->cq_size = sz.cqe;
	conn->cq = ib_cq_pool_get(conn->ibdev, conn->cq_size,
				  conn->queue->io_cpu %
					  conn->ibdev->num_comp_vectors,
				  IB_POLL_SOFTIRQ);
	if (IS_ERR(conn->cq)) {
		ret = PTR_ERR(conn->cq);
		conn->cq = NULL;
		*why = "getting a completion queue failed";
		return ret;
	}
	attr.cap.max_send_wr = sz.send_wr;
	attr.cap.max_recv_wr = sz.recv_wr;
	/* the header and the pages of an inline WRITE, as far as it goes */
	conn->send_sge = clamp_t(u32, conn->ibdev->attrs.max_send_sge, 1,
				 QBD_RDMA_MAX_SEND_SGE);
	attr.cap.max_send_sge = conn->send_sge;
	attr.cap.max_recv_sge = 1;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.qp_type = IB_QPT_RC;
	attr.send_cq = conn->cq;
	attr.recv_cq = conn->cq;
	attr.qp_context = conn;
	ret = rdma_create_qp(conn->cm_id, conn->pd, &attr);
	if (ret) {
		*why = "creating the queue pair failed";
		return ret;
	}
	conn->qp = conn->cm_id->qp;
	ret = ib_mr_pool_init(conn->qp, &conn->qp->rdma_mrs, conn->depth,
			      IB_MR_TYPE_MEM_REG, conn->pages_per_mr, 0);
	if (ret) {
		*why = "allocating the MR pool failed";
		return ret;
	}
	conn->mrs_ready = true;
	ret = qbd_rdma_alloc_bufs(conn);
	if (ret) {
		*why = "allocating message buffers failed";
		return ret;
	}
	for (i = 0; i < conn->nr_recv; i++) {
		ret = qbd_rdma_post_recv(conn, i);
		if (ret) {
			*why = "posting the receive ring failed";
			return ret;
		}
	}
	return 0;
}

/*
 * One handshake step: SEND @len bytes at @off of the send buffers, wait for
 * the one message that answers it (in conn->hs_msg). 0 or -errno.
 */
static int qbd_rdma_hs_step(struct qbd_rdma_conn *conn, u64 off, u32 len,
			    unsigned long deadline, const char **why)
{
	struct ib_send_wr wr;
	long left;
	int ret;

	reinit_completion(&conn->hello_done);
	clear_bit(QBD_RDMA_HS_IN, &conn->flags);
	set_bit(QBD_RDMA_HS_WANT, &conn->flags);
	if (test_bit(QBD_RDMA_DEAD, &conn->flags)) {
		*why = "connection failed during the handshake";
		return -ECONNRESET;
	}
	ret = qbd_rdma_post_send(conn, off, len, &conn->ctl_cqe, NULL, &wr);
	if (ret) {
		*why = "sending a handshake message failed";
		return ret;
	}
	left = (long)(deadline - jiffies);
	if (left <= 0 ||
	    !wait_for_completion_timeout(&conn->hello_done, left)) {
		*why = "no answer from the server during the handshake";
		return -ETIMEDOUT;
	}
	if (!test_bit(QBD_RDMA_HS_IN, &conn->flags) ||
	    test_bit(QBD_RDMA_DEAD, &conn->flags)) {
		*why = "connection failed during the handshake";
		return -ECONNRESET;
	}
	/* pairs with the barrier in qbd_rdma_recv_done() */
	smp_mb__after_atomic();
	return 0;
}

/*
 * The server challenged our hello: check its proof and SEND
 * ours (or our refusal, then fail); the hello reply is then in hs_msg.
 */
static int qbd_rdma_authenticate(struct qbd_rdma_conn *conn,
				 unsigned long deadline, const char **why)
{
	struct crypto_shash *tfm = conn->qdev->auth_tfm;
	const struct qbd_hello *hello = conn->tx_buf + qbd_rdma_hello_off(conn);
	struct qbd_auth_proof *proof = conn->tx_buf + qbd_rdma_proof_off(conn);
	struct qbd_auth_challenge ch;
	const char *ignored;
	unsigned long until;
	int ret;

	if (!tfm) {
		*why = "server sent an auth challenge although we have no key";
		return -EPROTO;
	}
	if (conn->hs_len != sizeof(ch)) {
		*why = "auth challenge of the wrong size";
		return -EPROTO;
	}
	memcpy(&ch, conn->hs_msg, sizeof(ch));
	ret = qbd_proto_answer_challenge(tfm, hello, &ch, proof, why);
	if (ret == -EACCES) {
		/*
		 * Tell the server why we leave and wait (briefly) for its
		 * refusal: disconnecting at once could flush our SEND, or beat
		 * it to the server.
		 */
		until = jiffies + QBD_RDMA_REFUSE_WAIT;
		if (time_before(deadline, until))
			until = deadline;
		qbd_rdma_hs_step(conn, qbd_rdma_proof_off(conn), sizeof(*proof),
				 until, &ignored);
		return ret;
	}
	if (ret)
		return ret;
	ret = qbd_rdma_hs_step(conn, qbd_rdma_proof_off(conn), sizeof(*proof),
			       deadline, why);
	if (ret == -ETIMEDOUT)
		*why = "no hello reply after authentication";
	return ret;
}

/* SEND the hello, authenticate, wait for its reply, take what it grants. */
static int qbd_rdma_handshake(struct qbd_rdma_conn *conn,
			      unsigned long deadline, const char **why)
{
	struct qbd_device *qdev = conn->qdev;
	u32 max_io = qbd_rdma_max_io(conn->pages_per_mr);
	u8 nonce[QBD_AUTH_NONCE_LEN];
	struct qbd_hello_reply reply;
	struct qbd_msg_hdr hdr;
	struct qbd_hello_expect e;
	struct qbd_hello_args a;
	int ret;

	/* pairs with qbd_dev_create(): limits are fixed once tags exist */
	if (!smp_load_acquire(&qdev->io_ready)) {
		qdev->max_io = min(qdev->max_io, max_io);
	} else if (max_io < qdev->max_io) {
		*why = "RDMA device maps less than the disk's max_io per MR";
		return -EINVAL;
	}
	qbd_xport_hello(conn->queue, &a, &e);
	if (qdev->auth_tfm) {
		get_random_bytes(nonce, sizeof(nonce));
		a.auth_nonce = nonce;
	}
	qbd_proto_encode_hello(conn->tx_buf + qbd_rdma_hello_off(conn), &a);
	memzero_explicit(nonce, sizeof(nonce));
	ret = qbd_rdma_hs_step(conn, qbd_rdma_hello_off(conn),
			       sizeof(struct qbd_hello), deadline, why);
	if (ret) {
		if (ret == -ETIMEDOUT)
			*why = "no hello reply";
		return ret;
	}
	/* a hello reply, or an auth challenge: the header tells */
	memcpy(&hdr, conn->hs_msg, sizeof(hdr));
	if (conn->hs_len >= sizeof(hdr) &&
	    le16_to_cpu(hdr.type) == QBD_MSG_AUTH) {
		ret = qbd_rdma_authenticate(conn, deadline, why);
		if (ret)
			return ret;
		if (conn->hs_len != sizeof(reply)) {
			*why = "handshake: not one hello reply after authentication";
			return -EPROTO;
		}
		memcpy(&reply, conn->hs_msg, sizeof(reply));
	} else {
		if (conn->hs_len != sizeof(reply)) {
			*why = "handshake: not one hello reply";
			return -EPROTO;
		}
		memcpy(&reply, conn->hs_msg, sizeof(reply));
		if (qdev->auth_tfm && reply.status == cpu_to_le32(QBD_S_OK)) {
			*why = "authentication failed: the server has no key";
			return -EACCES;
		}
	}
	ret = qbd_xport_hello_done(conn->queue, &reply, why);
	if (ret)
		return ret;
	if (qbd_rdma_inline_size(le64_to_cpu(reply.features),
				 le32_to_cpu(reply.rdma_inline), conn->send_sge,
				 &conn->inline_max)) {
		*why = "hello reply: rdma_inline is not a multiple of 512 in 512..4096";
		return -EPROTO;
	}
	return 0;
}

static int qbd_rdma_connect(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_device *qdev = q->qdev;
	const struct qbd_server_addr *sa = &qdev->cfg.servers[srv];
	u32 tmo = qdev->cfg.conn_timeout_ms;
	unsigned long deadline = jiffies + msecs_to_jiffies(tmo);
	struct rdma_conn_param param = {};
	struct qbd_rdma_cm_req cm_req = {};
	struct sockaddr_storage ss;
	struct qbd_rdma_conn *conn;
	const char *why = "";
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	conn->queue = q;
	conn->qdev = qdev;
	conn->srv = srv;
	init_completion(&conn->cm_done);
	init_completion(&conn->hello_done);

	ret = qbd_xport_sockaddr(sa, &ss, conn->peer, sizeof(conn->peer));
	if (ret < 0) {
		why = "bad server address";
		goto out_destroy;
	}
	conn->cm_id = rdma_create_id(&init_net, qbd_rdma_cm_handler, conn,
				     RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(conn->cm_id)) {
		ret = PTR_ERR(conn->cm_id);
		conn->cm_id = NULL;
		why = "rdma_create_id failed";
		goto out_destroy;
	}
	ret = rdma_resolve_addr(conn->cm_id, NULL, (struct sockaddr *)&ss, tmo);
	if (!ret)
		ret = qbd_rdma_wait_cm(conn, RDMA_CM_EVENT_ADDR_RESOLVED,
				       deadline);
	if (ret) {
		why = "resolving the address to an RDMA device failed";
		goto out_destroy;
	}
	ret = qbd_rdma_create_queue(conn, &why);
	if (ret)
		goto out_destroy;
	reinit_completion(&conn->cm_done);
	ret = rdma_resolve_route(conn->cm_id, tmo);
	if (!ret)
		ret = qbd_rdma_wait_cm(conn, RDMA_CM_EVENT_ROUTE_RESOLVED,
				       deadline);
	if (ret) {
		why = "resolving the route failed";
		goto out_destroy;
	}
	param.qp_num = conn->qp->qp_num;
	param.flow_control = 1;
	/* the server RDMA READs write data from us */
	param.responder_resources = conn->ibdev->attrs.max_qp_rd_atom;
	param.initiator_depth = conn->ibdev->attrs.max_qp_init_rd_atom;
	param.retry_count = 7;
	param.rnr_retry_count = 7;
	/* where this queue posts from: the server serves it on that CPU */
	cm_req.magic = cpu_to_le32(QBD_RDMA_CM_MAGIC);
	cm_req.version = cpu_to_le16(1);
	cm_req.qid = cpu_to_le16(q->qid);
	cm_req.cpu = cpu_to_le32(q->io_cpu);
	param.private_data = &cm_req;
	param.private_data_len = sizeof(cm_req);
	reinit_completion(&conn->cm_done);
	ret = rdma_connect(conn->cm_id, &param);
	if (!ret)
		ret = qbd_rdma_wait_cm(conn, RDMA_CM_EVENT_ESTABLISHED,
				       deadline);
	if (ret) {
		why = "connect failed";
		goto out_destroy;
	}
	ret = qbd_rdma_handshake(conn, deadline, &why);
	if (ret)
		goto out_destroy;

	conn->last_rx = jiffies;
	set_bit(QBD_RDMA_LIVE, &conn->flags);
	if (test_bit(QBD_RDMA_DEAD, &conn->flags)) {
		ret = -ECONNRESET;
		why = "connection failed right after the handshake";
		goto out_destroy;
	}
	q->conns[srv] = conn;
	return 0;

out_destroy:
	/* clang-format off */
	pr_warn_ratelimited("%s (%s/%s): queue %u: server %s (rdma): %s (%d)\n",
			    qbd_name(qdev), qdev->cfg.pool, qdev->cfg.volume,
			    q->qid, conn->peer, why, ret);
	/* clang-format on */
	qbd_rdma_destroy(conn);
	return ret;
}

/* ---- transport ops ---- */

static void qbd_rdma_disconnect(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_rdma_conn *conn = q->conns[srv];

	if (!conn)
		return;
	qbd_rdma_destroy(conn);
	q->conns[srv] = NULL;
}

static void qbd_rdma_queue_rq(struct qbd_queue *q, unsigned int srv,
			      struct request *rq, bool last)
{
	struct qbd_rdma_conn *conn = q->conns[srv];
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	int ret;

	WRITE_ONCE(cmd->state, QBD_CMD_QUEUED);
	if (!conn) {
		/* only between an error and recovery quiescing: it cancels us */
		qbd_dev_error(q->qdev);
		return;
	}
	if (test_bit(QBD_RDMA_DEAD, &conn->flags))
		return; /* recovery cancels and resends it */
	ret = qbd_rdma_send_cmd(conn, rq, cmd);
	if (ret == -EIO) {
		/* this request cannot be mapped; the connection is fine */
		WRITE_ONCE(cmd->state, QBD_CMD_IDLE);
		cmd->status = BLK_STS_IOERR;
		qbd_complete_cmd(cmd);
	} else if (ret) {
		qbd_rdma_fail(conn, ret, "posting a request failed");
	}
}

static void qbd_rdma_commit_rqs(struct qbd_queue *q)
{
	/* queue_rq posts every request at once */
}

static int qbd_rdma_heartbeat(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_rdma_conn *conn = q->conns[srv];
	struct qbd_device *qdev = q->qdev;
	struct qbd_req_args a = {
		.opcode = QBD_OP_PING,
		.handle = QBD_HANDLE_PING,
		.vol_id = qdev->cfg.vol_id,
		.layout_version = qdev->cfg.layout_version,
	};
	struct ib_send_wr wr;
	u64 off;
	int ret;

	if (!conn || test_bit(QBD_RDMA_DEAD, &conn->flags))
		return -ENOTCONN;
	ret = qbd_xport_hb_due(qdev, READ_ONCE(conn->last_rx));
	if (ret <= 0)
		return ret;
	if (test_bit(QBD_RDMA_PING_INFLIGHT, &conn->flags) ||
	    test_and_set_bit(QBD_RDMA_PING_SENDING, &conn->flags))
		return 0;
	set_bit(QBD_RDMA_PING_INFLIGHT, &conn->flags);
	off = qbd_rdma_tx_off(conn, conn->depth);
	qbd_proto_encode_req(conn->tx_buf + off, &a);
	ret = qbd_rdma_post_send(conn, off, sizeof(struct qbd_req),
				 &conn->ctl_cqe, NULL, &wr);
	if (ret)
		qbd_rdma_fail(conn, ret, "posting a heartbeat failed");
	return 0;
}

const struct qbd_transport_ops qbd_rdma_ops = {
	.name = "rdma",
	.features = QBD_PF_RDMA_INV | QBD_PF_RDMA_INLINE,
	.virt_boundary = QBD_RDMA_PAGE - 1,
	.connect = qbd_rdma_connect,
	.disconnect = qbd_rdma_disconnect,
	.queue_rq = qbd_rdma_queue_rq,
	.commit_rqs = qbd_rdma_commit_rqs,
	.heartbeat = qbd_rdma_heartbeat,
};
