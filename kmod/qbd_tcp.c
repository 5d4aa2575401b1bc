// SPDX-License-Identifier: GPL-2.0
/*
 * qbd TCP transport: one kernel TCP socket per (hardware queue, server).
 *
 * Send: queue_rq puts the request on a lockless list and, on the queue's
 * CPU with the send mutex free, sends at once; otherwise io_work (bound to
 * that CPU) sends. Headers go with sendmsg, write data with sendpage from
 * the bio pages; MSG_MORE until the last request of a batch.
 * Receive: sk_data_ready queues io_work, which reads reply headers,
 * checks them and their handle, and reads READ data straight into the
 * request's bio pages. Any bad reply kills the connection (the device
 * reconnects); nothing from the wire is used before it is checked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/cacheflush.h>
#include <linux/highmem.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "qbd.h"

enum {
	QBD_TCP_DEAD, /* failed or closing: no more IO */
	QBD_TCP_PING_WANTED, /* heartbeat asked for a PING */
	QBD_TCP_PING_INFLIGHT, /* a PING is out, its reply not yet in */
};

#define QBD_TCP_RECV_BUDGET 64 /* replies per io_work round */

/**
 * struct qbd_tcp_conn - one connection of a hardware queue to a server
 * @queue: the hardware queue
 * @qdev: its device
 * @srv: servers[] index
 * @io_cpu: CPU io_work runs on
 * @sock: the socket
 * @io_work: sends what is queued, receives what arrived
 * @flags: QBD_TCP_* bits
 * @last_rx: jiffies of the last byte received (heartbeat)
 * @peer: "addr:port" for messages
 * @req_list: lockless; queue_rq adds started requests
 * @send_mutex: guards @send_list, @send_cur, @ping_off, @ping_sending and
 *	the socket's send side
 * @send_list: requests taken off @req_list, in order, not yet sending
 * @send_cur: request being sent
 * @ping_hdr: the heartbeat request
 * @ping_off: bytes of @ping_hdr sent
 * @ping_sending: a PING is partly sent
 * @rx_hdr: reply header being received (io_work only, as the rx_* below)
 * @rx_off: bytes of @rx_hdr received
 * @rx_cmd: request whose READ data is being received
 * @saved_data_ready: the socket's callback before ours
 * @saved_write_space: the socket's callback before ours
 * @saved_state_change: the socket's callback before ours
 */
struct qbd_tcp_conn {
	struct qbd_queue *queue;
	struct qbd_device *qdev;
	unsigned int srv;
	int io_cpu;
	struct socket *sock;
	struct work_struct io_work;
	unsigned long flags;
	unsigned long last_rx;
	char peer[64];

	struct llist_head req_list;
	/* guards send_list, send_cur, ping_off, ping_sending, socket send */
	struct mutex send_mutex;
	struct list_head send_list;
	struct qbd_cmd *send_cur;
	struct qbd_req ping_hdr;
	u32 ping_off;
	bool ping_sending;

	struct qbd_reply rx_hdr;
	u32 rx_off;
	struct qbd_cmd *rx_cmd;

	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
};

static void qbd_tcp_fail(struct qbd_tcp_conn *conn, int err, const char *why)
{
	if (test_and_set_bit(QBD_TCP_DEAD, &conn->flags))
		return;
	pr_warn_ratelimited("%s: queue %u: server %s: %s (%d)\n",
			    qbd_name(conn->qdev), conn->queue->qid, conn->peer,
			    why, err);
	qbd_dev_error(conn->qdev);
}

static void qbd_tcp_kick(struct qbd_tcp_conn *conn)
{
	if (!test_bit(QBD_TCP_DEAD, &conn->flags))
		queue_work_on(conn->io_cpu, qbd_io_wq, &conn->io_work);
}

/* ---- socket callbacks (softirq) ---- */

static void qbd_tcp_data_ready(struct sock *sk)
{
	struct qbd_tcp_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn)
		qbd_tcp_kick(conn);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void qbd_tcp_write_space(struct sock *sk)
{
	struct qbd_tcp_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn && sk_stream_is_writeable(sk)) {
		clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		qbd_tcp_kick(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void qbd_tcp_state_change(struct sock *sk)
{
	/* clang-format would write "sock * sk" here, as if a product */
	/* clang-format off */
	void (*saved)(struct sock *sk);
	/* clang-format on */
	struct qbd_tcp_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (!conn) {
		saved = sk->sk_state_change;
		goto out;
	}
	switch (sk->sk_state) {
	case TCP_CLOSE:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		qbd_tcp_fail(conn, -ECONNRESET, "connection closed by peer");
		break;
	default:
		break;
	}
	saved = conn->saved_state_change;
out:
	read_unlock_bh(&sk->sk_callback_lock);
	if (saved && saved != qbd_tcp_state_change)
		saved(sk);
}

/* ---- send ---- */

/* Returns bytes sent, 0 when the socket is full, or -errno. */
static int qbd_tcp_send_buf(struct qbd_tcp_conn *conn, void *buf, size_t len,
			    bool more)
{
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL |
			     (more ? MSG_MORE : 0),
	};
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	int ret;

	ret = kernel_sendmsg(conn->sock, &msg, &iov, 1, len);
	if (ret == -EAGAIN)
		return 0;
	return ret;
}

static bool qbd_tcp_more_queued(struct qbd_tcp_conn *conn)
{
	return !list_empty(&conn->send_list) || !llist_empty(&conn->req_list);
}

/* Step past @bytes of data, to the next bio when this one is used up. */
static int qbd_tcp_advance(struct qbd_cmd *cmd, unsigned int bytes)
{
	bio_advance_iter(cmd->curr_bio, &cmd->bi, bytes);
	cmd->data_left -= bytes;
	if (!cmd->bi.bi_size && cmd->data_left) {
		cmd->curr_bio = cmd->curr_bio->bi_next;
		if (!cmd->curr_bio)
			return -EIO; /* request shorter than its length */
		cmd->bi = cmd->curr_bio->bi_iter;
	}
	return 0;
}

/*
 * Send one request. Returns 1 when all of it is out (the request then
 * belongs to the receive side and is not touched again here), 0 when the
 * socket is full, or -errno.
 */
static int qbd_tcp_send_cmd(struct qbd_tcp_conn *conn, struct qbd_cmd *cmd)
{
	bool more = qbd_tcp_more_queued(conn);
	int ret;

	if (cmd->hdr_off < sizeof(cmd->hdr)) {
		ret = qbd_tcp_send_buf(conn, (u8 *)&cmd->hdr + cmd->hdr_off,
				       sizeof(cmd->hdr) - cmd->hdr_off,
				       more || cmd->data_left);
		if (ret <= 0)
			return ret;
		cmd->hdr_off += ret;
		if (cmd->hdr_off < sizeof(cmd->hdr))
			return 0;
	}
	while (cmd->data_left) {
		struct bio_vec bv = bio_iter_iovec(cmd->curr_bio, cmd->bi);
		unsigned int len = min(bv.bv_len, cmd->data_left);
		int flags = MSG_DONTWAIT | MSG_NOSIGNAL;

		if (len < cmd->data_left)
			flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
		else if (more)
			flags |= MSG_MORE;
		if (sendpage_ok(bv.bv_page))
			ret = kernel_sendpage(conn->sock, bv.bv_page,
					      bv.bv_offset, len, flags);
		else
			ret = sock_no_sendpage(conn->sock, bv.bv_page,
					       bv.bv_offset, len, flags);
		if (ret == -EAGAIN)
			return 0;
		if (ret <= 0)
			return ret ? ret : -EIO;
		ret = qbd_tcp_advance(cmd, ret);
		if (ret)
			return ret;
	}
	/* pairs with qbd_tcp_find_cmd(): a reply may now complete it */
	smp_store_release(&cmd->state, QBD_CMD_SENT);
	return 1;
}

static int qbd_tcp_send_ping(struct qbd_tcp_conn *conn)
{
	int ret;

	if (!conn->ping_sending) {
		struct qbd_req_args a = {
			.opcode = QBD_OP_PING,
			.handle = QBD_HANDLE_PING,
			.vol_id = conn->qdev->cfg.vol_id,
			.layout_version = conn->qdev->cfg.layout_version,
		};

		qbd_proto_encode_req(&conn->ping_hdr, &a);
		conn->ping_off = 0;
		conn->ping_sending = true;
		set_bit(QBD_TCP_PING_INFLIGHT, &conn->flags);
	}
	ret = qbd_tcp_send_buf(conn, (u8 *)&conn->ping_hdr + conn->ping_off,
			       sizeof(conn->ping_hdr) - conn->ping_off,
			       qbd_tcp_more_queued(conn));
	if (ret <= 0)
		return ret;
	conn->ping_off += ret;
	if (conn->ping_off < sizeof(conn->ping_hdr))
		return 0;
	conn->ping_sending = false;
	return 1;
}

/*
 * Send everything queued until the socket is full. send_mutex held.
 * Returns the number of messages sent, or -errno.
 */
static int qbd_tcp_try_send(struct qbd_tcp_conn *conn)
{
	int sent = 0, ret;

	lockdep_assert_held(&conn->send_mutex);
	for (;;) {
		if (!conn->send_cur) {
			if (conn->ping_sending ||
			    test_and_clear_bit(QBD_TCP_PING_WANTED,
					       &conn->flags)) {
				ret = qbd_tcp_send_ping(conn);
				if (ret <= 0)
					return ret < 0 ? ret : sent;
				sent++;
				continue;
			}
			if (list_empty(&conn->send_list)) {
				struct llist_node *n =
					llist_del_all(&conn->req_list);
				struct qbd_cmd *cmd, *tmp;

				n = llist_reverse_order(n);
				llist_for_each_entry_safe(cmd, tmp, n, lentry)
					list_add_tail(&cmd->entry,
						      &conn->send_list);
			}
			/* clang-format off */
			conn->send_cur = list_first_entry_or_null(&conn->send_list,
								  struct qbd_cmd, entry);
			/* clang-format on */
			if (!conn->send_cur)
				return sent;
			list_del_init(&conn->send_cur->entry);
		}
		ret = qbd_tcp_send_cmd(conn, conn->send_cur);
		if (ret <= 0)
			return ret < 0 ? ret : sent;
		conn->send_cur = NULL;
		sent++;
	}
}

/* ---- receive ---- */

/* Returns bytes received, 0 when nothing is there, or -errno (EOF too). */
static int qbd_tcp_recv_buf(struct qbd_tcp_conn *conn, void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	int ret;

	ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, len, MSG_DONTWAIT);
	if (ret == -EAGAIN)
		return 0;
	if (!ret)
		return -ECONNRESET;
	return ret;
}

static int qbd_tcp_bad_reply(struct qbd_tcp_conn *conn, const char *why)
{
	/* clang-format off */
	pr_warn_ratelimited("%s: queue %u: server %s: bad reply (handle 0x%llx): %s\n",
			    qbd_name(conn->qdev), conn->queue->qid, conn->peer,
			    le64_to_cpu(conn->rx_hdr.handle), why);
	/* clang-format on */
	return -EPROTO;
}

/* Find the request a checked reply names, or say why there is none. */
static struct qbd_cmd *qbd_tcp_find_cmd(struct qbd_tcp_conn *conn, u64 handle,
					const char **why)
{
	struct qbd_cmd *cmd;
	int state;

	cmd = qbd_xport_find_cmd(conn->queue, conn->srv, handle, why);
	if (!cmd)
		return NULL;
	/* pairs with the release in qbd_tcp_send_cmd() */
	state = smp_load_acquire(&cmd->state);
	if (state != QBD_CMD_SENT) {
		/* the sender may be just past its last byte: ask it */
		mutex_lock(&conn->send_mutex);
		state = READ_ONCE(cmd->state);
		mutex_unlock(&conn->send_mutex);
	}
	if (state != QBD_CMD_SENT) {
		*why = "reply to a request not (fully) sent";
		return NULL;
	}
	return cmd;
}

/* A whole reply header is in rx_hdr. 0 or -errno (connection error). */
static int qbd_tcp_handle_reply(struct qbd_tcp_conn *conn)
{
	struct qbd_device *qdev = conn->qdev;
	struct qbd_reply_info ri;
	struct qbd_cmd *cmd;
	const char *why = "";
	struct request *rq;
	int ret;

	if (qbd_proto_check_reply(&conn->rx_hdr, qdev->max_io, &ri, &why))
		return qbd_tcp_bad_reply(conn, why);
	if (ri.handle & QBD_HANDLE_PING) {
		if (ri.handle != QBD_HANDLE_PING || ri.length ||
		    !test_and_clear_bit(QBD_TCP_PING_INFLIGHT, &conn->flags))
			return qbd_tcp_bad_reply(conn,
						 "unexpected heartbeat reply");
		qbd_dev_size_notice(qdev, le64_to_cpu(conn->rx_hdr.vol_size));
		return 0;
	}
	cmd = qbd_tcp_find_cmd(conn, ri.handle, &why);
	if (!cmd)
		return qbd_tcp_bad_reply(conn, why);
	if (qbd_proto_check_reply_for(&ri, cmd->opcode, cmd->length, &why))
		return qbd_tcp_bad_reply(conn, why);
	rq = blk_mq_rq_from_pdu(cmd);
	ret = qbd_xport_reply_status(cmd, ri.status, conn->peer);
	if (ret)
		return ret;
	if (ri.length) {
		cmd->rx_digest = le32_to_cpu(conn->rx_hdr.digest);
		cmd->curr_bio = rq->bio;
		cmd->bi = rq->bio->bi_iter;
		cmd->data_left = ri.length;
		conn->rx_cmd = cmd;
		return 0;
	}
	qbd_complete_cmd(cmd);
	return 0;
}

/* An iov_iter over the rest of the current bio, at most data_left bytes. */
static void qbd_tcp_bio_iter(struct qbd_cmd *cmd, struct iov_iter *iter)
{
	struct bio *bio = cmd->curr_bio;
	struct bvec_iter it;
	struct bio_vec bv;
	unsigned int nr = 0;

	__bio_for_each_bvec(bv, bio, it, cmd->bi)
		nr++;
	iov_iter_bvec(iter, READ, __bvec_iter_bvec(bio->bi_io_vec, cmd->bi), nr,
		      cmd->bi.bi_size);
	iter->iov_offset = cmd->bi.bi_bvec_done;
	iov_iter_truncate(iter, cmd->data_left);
}

static void qbd_tcp_flush_dcache(struct request *rq)
{
#if ARCH_IMPLEMENTS_FLUSH_DCACHE_PAGE
	struct req_iterator it;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, it)
		flush_dcache_page(bv.bv_page);
#endif
}

/*
 * Receive READ data straight into the bio pages, a bio per call.
 * 1 done, 0 wait, -errno.
 */
static int qbd_tcp_recv_data(struct qbd_tcp_conn *conn)
{
	struct qbd_cmd *cmd = conn->rx_cmd;
	int ret;

	while (cmd->data_left) {
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT };

		qbd_tcp_bio_iter(cmd, &msg.msg_iter);
		ret = sock_recvmsg(conn->sock, &msg, MSG_DONTWAIT);
		if (ret == -EAGAIN)
			return 0;
		if (ret <= 0)
			return ret ? ret : -ECONNRESET;
		WRITE_ONCE(conn->last_rx, jiffies);
		ret = qbd_tcp_advance(cmd, ret);
		if (ret)
			return ret;
	}
	conn->rx_cmd = NULL;
	qbd_tcp_flush_dcache(blk_mq_rq_from_pdu(cmd));
	qbd_complete_cmd(cmd);
	return 1;
}

/* Returns the number of messages handled, or -errno. */
static int qbd_tcp_try_recv(struct qbd_tcp_conn *conn)
{
	int done = 0, ret;

	while (done < QBD_TCP_RECV_BUDGET) {
		if (conn->rx_cmd) {
			ret = qbd_tcp_recv_data(conn);
			if (ret <= 0)
				return ret < 0 ? ret : done;
			done++;
			continue;
		}
		ret = qbd_tcp_recv_buf(conn, (u8 *)&conn->rx_hdr + conn->rx_off,
				       sizeof(conn->rx_hdr) - conn->rx_off);
		if (ret <= 0)
			return ret < 0 ? ret : done;
		WRITE_ONCE(conn->last_rx, jiffies);
		conn->rx_off += ret;
		if (conn->rx_off < sizeof(conn->rx_hdr))
			continue;
		conn->rx_off = 0;
		ret = qbd_tcp_handle_reply(conn);
		if (ret)
			return ret;
		if (!conn->rx_cmd)
			done++;
	}
	return done;
}

static void qbd_tcp_io_work(struct work_struct *work)
{
	struct qbd_tcp_conn *conn =
		container_of(work, struct qbd_tcp_conn, io_work);
	unsigned long deadline = jiffies + msecs_to_jiffies(1);
	unsigned int noreclaim = memalloc_noreclaim_save();
	bool pending;
	int ret;

	do {
		pending = false;
		if (test_bit(QBD_TCP_DEAD, &conn->flags))
			break;
		if (mutex_trylock(&conn->send_mutex)) {
			ret = qbd_tcp_try_send(conn);
			mutex_unlock(&conn->send_mutex);
			if (ret < 0) {
				qbd_tcp_fail(conn, ret, "send failed");
				break;
			}
			if (ret > 0)
				pending = true;
		}
		ret = qbd_tcp_try_recv(conn);
		if (ret < 0) {
			qbd_tcp_fail(conn, ret,
				     ret == -EPROTO ? "protocol error" :
						      "receive failed");
			break;
		}
		if (ret > 0)
			pending = true;
	} while (pending && time_before(jiffies, deadline));
	memalloc_noreclaim_restore(noreclaim);
	if (pending)
		qbd_tcp_kick(conn);
}

/* ---- transport ops ---- */

static void qbd_tcp_queue_rq(struct qbd_queue *q, unsigned int srv,
			     struct request *rq, bool last)
{
	struct qbd_tcp_conn *conn = q->conns[srv];
	struct qbd_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned int s;
	int ret;

	cmd->hdr_off = 0;
	if (cmd->opcode == QBD_OP_WRITE) {
		cmd->curr_bio = rq->bio;
		cmd->bi = rq->bio->bi_iter;
		cmd->data_left = cmd->length;
	} else {
		cmd->data_left = 0;
	}
	WRITE_ONCE(cmd->state, QBD_CMD_QUEUED);
	if (!conn) {
		/* only between an error and recovery quiescing: it cancels us */
		qbd_dev_error(q->qdev);
		return;
	}
	llist_add(&cmd->lentry, &conn->req_list);
	if (!last)
		return;
	if (conn->io_cpu == raw_smp_processor_id() &&
	    !test_bit(QBD_TCP_DEAD, &conn->flags) &&
	    mutex_trylock(&conn->send_mutex)) {
		ret = qbd_tcp_try_send(conn);
		mutex_unlock(&conn->send_mutex);
		if (ret < 0)
			qbd_tcp_fail(conn, ret, "send failed");
	} else {
		qbd_tcp_kick(conn);
	}
	/* the batch may have gone to other servers too */
	for (s = 0; s < q->qdev->cfg.nr_servers; s++) {
		struct qbd_tcp_conn *other = q->conns[s];

		if (s != srv && other && !llist_empty(&other->req_list))
			qbd_tcp_kick(other);
	}
}

static void qbd_tcp_commit_rqs(struct qbd_queue *q)
{
	unsigned int s;

	for (s = 0; s < q->qdev->cfg.nr_servers; s++) {
		struct qbd_tcp_conn *conn = q->conns[s];

		if (conn && !llist_empty(&conn->req_list))
			qbd_tcp_kick(conn);
	}
}

static int qbd_tcp_heartbeat(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_tcp_conn *conn = q->conns[srv];
	int due;

	if (!conn || test_bit(QBD_TCP_DEAD, &conn->flags))
		return -ENOTCONN;
	due = qbd_xport_hb_due(q->qdev, READ_ONCE(conn->last_rx));
	if (due < 0)
		return due;
	if (due && !test_bit(QBD_TCP_PING_INFLIGHT, &conn->flags)) {
		set_bit(QBD_TCP_PING_WANTED, &conn->flags);
		qbd_tcp_kick(conn);
	}
	return 0;
}

static void qbd_tcp_disconnect(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_tcp_conn *conn = q->conns[srv];
	struct sock *sk;

	if (!conn)
		return;
	set_bit(QBD_TCP_DEAD, &conn->flags);
	sk = conn->sock->sk;
	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == conn) {
		sk->sk_user_data = NULL;
		sk->sk_data_ready = conn->saved_data_ready;
		sk->sk_write_space = conn->saved_write_space;
		sk->sk_state_change = conn->saved_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	cancel_work_sync(&conn->io_work);
	sock_release(conn->sock);
	q->conns[srv] = NULL;
	mutex_destroy(&conn->send_mutex);
	kfree(conn);
}

/* Blocking, bounded by the socket timeouts set in connect. */
static int qbd_tcp_xfer_all(struct socket *sock, void *buf, size_t len,
			    bool send)
{
	size_t done = 0;
	int ret;

	while (done < len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec iov = {
			.iov_base = (u8 *)buf + done,
			.iov_len = len - done,
		};

		if (send)
			ret = kernel_sendmsg(sock, &msg, &iov, 1, len - done);
		else
			ret = kernel_recvmsg(sock, &msg, &iov, 1, len - done,
					     MSG_WAITALL);
		if (ret == -EAGAIN)
			return -ETIMEDOUT;
		if (ret < 0)
			return ret;
		if (!ret)
			return -ECONNRESET;
		done += ret;
	}
	return 0;
}

/*
 * The authentication step (docs/protocol.md): the first 8 bytes of the
 * server's answer are in @reply. A challenge is checked and answered; then
 * the real hello reply is read into @reply. 0 or -errno with *why set.
 */
static int qbd_tcp_authenticate(struct qbd_tcp_conn *conn,
				const struct qbd_hello *hello,
				struct qbd_hello_reply *reply, const char **why)
{
	struct crypto_shash *tfm = conn->qdev->auth_tfm;
	struct qbd_auth_challenge *ch;
	struct qbd_auth_proof *proof;
	int ret, sret;

	if (!tfm) {
		*why = "server sent an auth challenge although we have no key";
		return -EPROTO;
	}
	ch = kmalloc(sizeof(*ch), GFP_KERNEL);
	proof = kmalloc(sizeof(*proof), GFP_KERNEL);
	if (!ch || !proof) {
		ret = -ENOMEM;
		goto out_free;
	}
	memcpy(ch, reply, sizeof(ch->hdr));
	ret = qbd_tcp_xfer_all(conn->sock, (u8 *)ch + sizeof(ch->hdr),
			       sizeof(*ch) - sizeof(ch->hdr), false);
	if (ret) {
		*why = "auth challenge cut short";
		goto out_free;
	}
	ret = qbd_proto_answer_challenge(tfm, hello, ch, proof, why);
	if (ret && ret != -EACCES)
		goto out_free;
	/* on -EACCES this tells the server why we leave */
	sret = qbd_tcp_xfer_all(conn->sock, proof, sizeof(*proof), true);
	if (ret)
		goto out_free;
	ret = sret;
	if (ret) {
		*why = "sending the auth proof failed";
		goto out_free;
	}
	ret = qbd_tcp_xfer_all(conn->sock, reply, sizeof(*reply), false);
	if (ret)
		*why = "no hello reply after authentication";
out_free:
	kfree_sensitive(proof);
	kfree(ch);
	return ret;
}

static int qbd_tcp_handshake(struct qbd_tcp_conn *conn)
{
	struct qbd_device *qdev = conn->qdev;
	u8 nonce[QBD_AUTH_NONCE_LEN];
	struct qbd_hello_reply *reply;
	struct qbd_hello_expect e;
	struct qbd_hello_args a;
	struct qbd_hello *hello;
	const char *why = "";
	int ret;

	hello = kmalloc(sizeof(*hello), GFP_KERNEL);
	reply = kmalloc(sizeof(*reply), GFP_KERNEL);
	if (!hello || !reply) {
		ret = -ENOMEM;
		goto out_free;
	}
	qbd_xport_hello(conn->queue, &a, &e);
	if (qdev->auth_tfm) {
		get_random_bytes(nonce, sizeof(nonce));
		a.auth_nonce = nonce;
	}
	qbd_proto_encode_hello(hello, &a);
	ret = qbd_tcp_xfer_all(conn->sock, hello, sizeof(*hello), true);
	if (ret) {
		why = "sending hello failed";
		goto out_msg;
	}
	/* a hello reply, or an auth challenge: the header tells */
	ret = qbd_tcp_xfer_all(conn->sock, reply, sizeof(reply->hdr), false);
	if (ret) {
		why = "no hello reply";
		goto out_msg;
	}
	if (le16_to_cpu(reply->hdr.type) == QBD_MSG_AUTH) {
		ret = qbd_tcp_authenticate(conn, hello, reply, &why);
		if (ret)
			goto out_msg;
	} else {
		ret = qbd_tcp_xfer_all(conn->sock, &reply->status,
				       sizeof(*reply) - sizeof(reply->hdr),
				       false);
		if (ret) {
			why = "no hello reply";
			goto out_msg;
		}
		if (qdev->auth_tfm && reply->status == cpu_to_le32(QBD_S_OK)) {
			why = "authentication failed: the server has no key";
			ret = -EACCES;
			goto out_msg;
		}
	}
	ret = qbd_xport_hello_done(conn->queue, reply, &why);
	if (ret)
		goto out_msg;
	goto out_free;

out_msg:
	pr_warn_ratelimited("%s (%s/%s): queue %u: server %s: %s (%d)\n",
			    qbd_name(qdev), qdev->cfg.pool, qdev->cfg.volume,
			    conn->queue->qid, conn->peer, why, ret);
out_free:
	kfree(reply);
	kfree(hello);
	memzero_explicit(nonce, sizeof(nonce));
	return ret;
}

static int qbd_tcp_connect_here(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_device *qdev = q->qdev;
	const struct qbd_server_addr *sa = &qdev->cfg.servers[srv];
	struct sockaddr_storage ss;
	struct qbd_tcp_conn *conn;
	long timeo;
	struct sock *sk;
	int ret, alen;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	conn->queue = q;
	conn->qdev = qdev;
	conn->srv = srv;
	conn->io_cpu = q->io_cpu;
	INIT_WORK(&conn->io_work, qbd_tcp_io_work);
	init_llist_head(&conn->req_list);
	mutex_init(&conn->send_mutex);
	INIT_LIST_HEAD(&conn->send_list);

	alen = qbd_xport_sockaddr(sa, &ss, conn->peer, sizeof(conn->peer));
	if (alen < 0) {
		ret = alen;
		goto out_free_conn;
	}
	ret = sock_create_kern(&init_net, sa->family, SOCK_STREAM, IPPROTO_TCP,
			       &conn->sock);
	if (ret)
		goto out_free_conn;
	sk = conn->sock->sk;
	sk->sk_allocation = GFP_NOIO;
	tcp_sock_set_nodelay(sk);
	timeo = msecs_to_jiffies(qdev->cfg.conn_timeout_ms);
	sk->sk_sndtimeo = timeo;
	sk->sk_rcvtimeo = timeo;

	ret = kernel_connect(conn->sock, (struct sockaddr *)&ss, alen, 0);
	if (ret) {
		/* clang-format off */
		pr_warn_ratelimited("%s (%s/%s): queue %u: connect to %s failed (%d)\n",
				    qbd_name(qdev), qdev->cfg.pool,
				    qdev->cfg.volume, q->qid, conn->peer, ret);
		/* clang-format on */
		goto out_release;
	}
	ret = qbd_tcp_handshake(conn);
	if (ret)
		goto out_release;

	conn->last_rx = jiffies;
	write_lock_bh(&sk->sk_callback_lock);
	conn->saved_data_ready = sk->sk_data_ready;
	conn->saved_write_space = sk->sk_write_space;
	conn->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = conn;
	sk->sk_data_ready = qbd_tcp_data_ready;
	sk->sk_write_space = qbd_tcp_write_space;
	sk->sk_state_change = qbd_tcp_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
	q->conns[srv] = conn;
	/* anything that arrived before the callbacks were ours */
	qbd_tcp_kick(conn);
	return 0;

out_release:
	sock_release(conn->sock);
out_free_conn:
	mutex_destroy(&conn->send_mutex);
	kfree(conn);
	return ret;
}

struct qbd_tcp_connect_work {
	struct work_struct work;
	struct qbd_queue *q;
	unsigned int srv;
	int ret;
};

static void qbd_tcp_connect_fn(struct work_struct *work)
{
	struct qbd_tcp_connect_work *cw =
		container_of(work, struct qbd_tcp_connect_work, work);

	cw->ret = qbd_tcp_connect_here(cw->q, cw->srv);
}

/*
 * Connect from the queue's CPU, so the handshake's packets reach the server
 * from the same CPU as the queue's IO will: a server that places a
 * connection by the CPU its packets arrive on (qbd-server's per-CPU
 * reactors, SO_INCOMING_CPU) then serves this queue on its CPU, and a
 * request never waits for another CPU to wake. Callers are the map and
 * remap ioctls and the recovery work, none on qbd_io_wq.
 */
static int qbd_tcp_connect(struct qbd_queue *q, unsigned int srv)
{
	struct qbd_tcp_connect_work cw = { .q = q, .srv = srv };

	INIT_WORK_ONSTACK(&cw.work, qbd_tcp_connect_fn);
	queue_work_on(q->io_cpu, qbd_io_wq, &cw.work);
	flush_work(&cw.work);
	destroy_work_on_stack(&cw.work);
	return cw.ret;
}

const struct qbd_transport_ops qbd_tcp_ops = {
	.name = "tcp",
	.connect = qbd_tcp_connect,
	.disconnect = qbd_tcp_disconnect,
	.queue_rq = qbd_tcp_queue_rq,
	.commit_rqs = qbd_tcp_commit_rqs,
	.heartbeat = qbd_tcp_heartbeat,
};
