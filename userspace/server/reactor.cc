// The reactor: a single-threaded event loop over one io_uring.
//
// Every connection is a state machine fed by completions:
//  - one RECV at a time into the connection's stream buffer (headers and
//    small payloads) or straight into a request's data buffer (the rest of
//    a large WRITE payload);
//  - for each complete request, a disk operation (READ, WRITE with
//    RWF_DSYNC for FUA, FSYNC(DATASYNC) for FLUSH, FALLOCATE for DISCARD
//    and WRITE_ZEROES), any number in flight, completing in any order;
//  - one SENDMSG at a time carrying as many queued replies (header + READ
//    data) as fit in its iovec.
// Backpressure: when a connection has its granted queue depth of requests
// in flight, no RECV is posted until replies drain.
// A connection is freed only when no SQE refers to it any more (refs).
#include "reactor.h"

#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "disk_io.h"
#include "log.h"

namespace qbd::server {

namespace {

constexpr unsigned kRingEntries = 1024;
constexpr size_t kStreamBuf = 64 * 1024;
constexpr size_t kMaxIov = 64;
constexpr int kHandshakeTimeoutSec = 10;   // hello or first admin message
constexpr int kAdminIdleTimeoutSec = 60;   // between admin requests

struct Conn;
struct Req;

struct Op {
	enum Kind { kEvent, kTick, kRecv, kSend, kDisk, kCancel } kind;
	Conn *conn = nullptr;
	Req *req = nullptr;
};

struct Req {
	Conn *conn = nullptr;
	qbd_req hdr;
	void *buf = nullptr;  // data buffer (READ/WRITE), 4096-aligned
	uint32_t len = 0;     // data length
	uint32_t done = 0;    // bytes of payload received / disk bytes done
	uint32_t status = QBD_S_OK;
	bool retried_buffered = false;
	Op op{Op::kDisk};
	~Req() { free(buf); }
};

// One queued outgoing message.
struct Out {
	unsigned char head[sizeof(qbd_admin_reply)];
	size_t head_len = 0;
	const void *data = nullptr;
	size_t data_len = 0;
	std::unique_ptr<Req> req;                 // freed (and counted) when sent
	std::vector<qbd_admin_vol> admin_payload; // admin reply payload
	size_t sent = 0;
	size_t total() const { return head_len + data_len; }
};

struct Conn {
	int fd = -1;
	uint64_t id = 0;
	std::string name = "-";  // pool/volume once known
	// kHandshake: waiting for the first message; kAuth: challenge sent,
	// waiting for the client's proof (@auth holds the first message).
	enum Phase { kHandshake, kAuth, kAdmin, kIo } phase = kHandshake;
	std::unique_ptr<AuthPending> auth;
	// stream buffer: bytes [rpos, rend) received and not parsed yet
	std::unique_ptr<unsigned char[]> rbuf{new unsigned char[kStreamBuf]};
	size_t rpos = 0, rend = 0;
	Req *payload_req = nullptr;  // a WRITE whose payload is being received
	uint64_t discard_left = 0;   // payload bytes to drop (refused WRITE)
	bool recv_armed = false, recv_into_payload = false, read_closed = false;
	Op recv_op{Op::kRecv}, send_op{Op::kSend}, cancel_op{Op::kCancel};
	std::deque<Out> sendq;
	bool send_armed = false;
	struct iovec iov[kMaxIov];
	struct msghdr msg = {};
	uint32_t inflight = 0;  // requests parsed, reply not sent yet
	uint32_t refs = 0;      // SQEs that point at this connection
	bool closing = false;   // tearing down: no new work
	bool close_after_send = false;
	bool draining = false;  // server stopping: finish in-flight, read no more
	time_t deadline = 0;    // handshake/admin idle deadline (0: none)
	std::shared_ptr<Volume> vol;
	VolumeGeometry geo;
	uint32_t qd = 1;
};

}  // namespace

struct Reactor::Loop {
	Reactor *owner = nullptr;
	struct io_uring ring;
	bool ring_ok = false;
	Fd ev;
	uint64_t ev_val = 0;
	Op ev_op{Op::kEvent}, tick_op{Op::kTick};
	struct __kernel_timespec tick_ts = {1, 0};
	std::mutex mu;  // guards incoming and stop_requested
	std::deque<std::pair<int, uint64_t>> incoming;
	bool stop_requested = false;
	bool stopping = false;  // loop thread only
	std::unordered_set<Conn *> conns;
	std::vector<Conn *> closing;  // begin_close()d, freed by reap() when refs == 0

	ReactorShared &sh() { return owner->shared(); }
	void run();
	struct io_uring_sqe *sqe();
	void arm_event();
	void arm_tick();
	void take_incoming();
	void on_cqe(Op *op, int res);
	void arm_recv(Conn *c);
	void on_recv(Conn *c, int res);
	void parse(Conn *c);
	bool parse_one(Conn *c);
	bool parse_auth(Conn *c, const unsigned char *p, size_t avail);
	void refuse_auth(Conn *c, uint16_t type, const std::string &rule);
	bool handle_first(Conn *c, const unsigned char *first);
	void start_io(Conn *c, std::unique_ptr<Req> r);
	void submit_disk(Req *r);
	void payload_done(Req *r);
	void on_disk(Req *r, int res);
	void finish_req(Req *r);
	void queue_out(Conn *c, Out &&o);
	void arm_send(Conn *c);
	void on_send(Conn *c, int res);
	void begin_close(Conn *c, const char *why);
	void idle_check(Conn *c);
	void reap();
	void drain_all();
	void check_deadlines();
};

struct io_uring_sqe *Reactor::Loop::sqe()
{
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	while (!s) {
		io_uring_submit(&ring);
		s = io_uring_get_sqe(&ring);
	}
	return s;
}

void Reactor::Loop::arm_event()
{
	auto *s = sqe();
	io_uring_prep_read(s, ev.get(), &ev_val, sizeof(ev_val), 0);
	io_uring_sqe_set_data(s, &ev_op);
}

void Reactor::Loop::arm_tick()
{
	auto *s = sqe();
	io_uring_prep_timeout(s, &tick_ts, 0, 0);
	io_uring_sqe_set_data(s, &tick_op);
}

void Reactor::Loop::take_incoming()
{
	std::deque<std::pair<int, uint64_t>> in;
	bool stop;
	{
		std::lock_guard lk(mu);
		in.swap(incoming);
		stop = stop_requested;
	}
	for (auto [fd, id] : in) {
		auto *c = new Conn();
		c->fd = fd;
		c->id = id;
		c->recv_op.conn = c->send_op.conn = c->cancel_op.conn = c;
		c->deadline = time(nullptr) + kHandshakeTimeoutSec;
		conns.insert(c);
		if (stop) {
			begin_close(c, "server stopping");
			continue;
		}
		arm_recv(c);
	}
	if (stop && !stopping) {
		stopping = true;
		drain_all();
	}
}

void Reactor::Loop::arm_recv(Conn *c)
{
	if (c->recv_armed || c->closing || c->draining || c->read_closed)
		return;
	if (c->phase == Conn::kIo && c->inflight > c->qd && !c->payload_req)
		return;  // backpressure: on_send() resumes
	if (!c->payload_req && c->rpos == 0 && c->rend == kStreamBuf)
		return;  // cannot happen: parse_one consumes whole messages
	auto *s = sqe();
	if (c->payload_req && c->rpos == c->rend) {
		Req *r = c->payload_req;
		io_uring_prep_recv(s, c->fd, static_cast<char *>(r->buf) + r->done, r->len - r->done, 0);
		c->recv_into_payload = true;
	} else {
		if (c->rpos == c->rend) {
			c->rpos = c->rend = 0;
		} else if (c->rpos > kStreamBuf / 2 || c->rend == kStreamBuf) {
			memmove(c->rbuf.get(), c->rbuf.get() + c->rpos, c->rend - c->rpos);
			c->rend -= c->rpos;
			c->rpos = 0;
		}
		io_uring_prep_recv(s, c->fd, c->rbuf.get() + c->rend, kStreamBuf - c->rend, 0);
		c->recv_into_payload = false;
	}
	io_uring_sqe_set_data(s, &c->recv_op);
	c->recv_armed = true;
	c->refs++;
}

void Reactor::Loop::on_recv(Conn *c, int res)
{
	c->recv_armed = false;
	if (c->closing)
		return;
	if (res <= 0) {
		if (res == -ECANCELED && c->draining)
			return idle_check(c);
		c->read_closed = true;
		if (c->payload_req) {  // a WRITE cut short: never acknowledged
			delete c->payload_req;
			c->payload_req = nullptr;
			c->inflight--;
		}
		if (res == 0 || res == -ECONNRESET) {
			if (c->rpos != c->rend || c->payload_req)
				LOG_RL_WARN("vol=%s conn=%lu: peer closed in the middle of a message",
					    c->name.c_str(), (unsigned long)c->id);
			else
				LOG_INFO("vol=%s conn=%lu: closed by the peer", c->name.c_str(),
					 (unsigned long)c->id);
		} else {
			LOG_RL_WARN("vol=%s conn=%lu: recv: %s", c->name.c_str(), (unsigned long)c->id,
				    strerror(-res));
		}
		// Replies to requests already read are still sent if possible.
		return idle_check(c);
	}
	if (c->recv_into_payload) {
		Req *r = c->payload_req;
		r->done += res;
		if (r->done == r->len) {
			c->payload_req = nullptr;
			r->done = 0;
			payload_done(r);
		}
	} else {
		c->rend += res;
	}
	parse(c);
}

void Reactor::Loop::parse(Conn *c)
{
	while (!c->closing && parse_one(c)) {
	}
	if (!c->closing)
		arm_recv(c);
}

// Consumes one message (or part of a payload) from the stream buffer.
// Returns false when it needs more bytes or must wait.
bool Reactor::Loop::parse_one(Conn *c)
{
	size_t avail = c->rend - c->rpos;
	unsigned char *p = c->rbuf.get() + c->rpos;
	if (c->discard_left) {
		size_t n = std::min<uint64_t>(avail, c->discard_left);
		c->rpos += n;
		c->discard_left -= n;
		return n > 0;
	}
	if (c->payload_req) {
		Req *r = c->payload_req;
		size_t n = std::min<size_t>(avail, r->len - r->done);
		if (!n)
			return false;
		memcpy(static_cast<char *>(r->buf) + r->done, p, n);
		c->rpos += n;
		r->done += n;
		if (r->done == r->len) {
			c->payload_req = nullptr;
			r->done = 0;
			payload_done(r);
		}
		return true;
	}
	if (c->phase == Conn::kHandshake || c->phase == Conn::kAdmin) {
		if (avail < sizeof(qbd_msg_hdr))
			return false;
		qbd_msg_hdr h;
		memcpy(&h, p, sizeof(h));
		std::string bad = check_msg_hdr(h);
		if (bad.empty() && c->phase == Conn::kAdmin && le16(h.type) != QBD_MSG_ADMIN)
			bad = "message type " + std::to_string(le16(h.type)) + " on an admin connection";
		if (!bad.empty()) {
			LOG_RL_WARN("conn=%lu: closing: %s", (unsigned long)c->id, bad.c_str());
			if (le32(h.magic) == QBD_PROTO_MAGIC && le16(h.type) == QBD_MSG_HELLO &&
			    le16(h.version) != QBD_PROTO_VERSION) {
				Out o;
				qbd_hello_reply rep = {};
				fill_msg_hdr(rep.hdr, QBD_MSG_HELLO);
				rep.status = to_le32(QBD_S_UNSUPPORTED);
				memcpy(o.head, &rep, sizeof(rep));
				o.head_len = sizeof(rep);
				c->close_after_send = true;
				c->read_closed = true;
				queue_out(c, std::move(o));
				return false;
			}
			begin_close(c, nullptr);
			return false;
		}
		static_assert(sizeof(qbd_hello) == sizeof(qbd_admin_req));
		if (avail < sizeof(qbd_hello))
			return false;
		unsigned char first[sizeof(qbd_hello)];
		memcpy(first, p, sizeof(first));
		c->rpos += sizeof(first);
		if (c->phase == Conn::kHandshake) {
			AuthStart a = auth_start(sh().key.get(), first);
			if (a.action == AuthStart::kRefuse) {
				refuse_auth(c, le16(h.type), a.rule);
				return false;
			}
			if (a.action == AuthStart::kChallenge) {
				c->auth = std::make_unique<AuthPending>(a.pending);
				c->phase = Conn::kAuth;
				Out o;
				memcpy(o.head, &a.challenge, sizeof(a.challenge));
				o.head_len = sizeof(a.challenge);
				queue_out(c, std::move(o));
				return true;
			}
		}
		return handle_first(c, first);
	}
	if (c->phase == Conn::kAuth)
		return parse_auth(c, p, avail);
	// kIo. One slot over the granted depth: a client with its whole depth
	// in flight can still get a heartbeat PING through.
	if (c->inflight > c->qd)
		return false;  // backpressure: resumes when a reply is sent
	if (avail < sizeof(qbd_req))
		return false;
	auto r = std::make_unique<Req>();
	r->conn = c;
	memcpy(&r->hdr, p, sizeof(r->hdr));
	c->rpos += sizeof(qbd_req);
	ReqVerdict v = check_req(r->hdr, current_geometry(c->geo, *c->vol));
	const unsigned long tag = le64(r->hdr.handle);
	if (v.action == ReqVerdict::kClose) {
		LOG_RL_WARN("vol=%s conn=%lu tag=0x%lx: closing: %s", c->name.c_str(), (unsigned long)c->id,
			    tag, v.rule.c_str());
		begin_close(c, nullptr);
		return false;
	}
	if (v.action == ReqVerdict::kReply) {
		LOG_RL_WARN("vol=%s conn=%lu tag=0x%lx: %s refused with %s: %s", c->name.c_str(),
			    (unsigned long)c->id, tag, op_name(r->hdr.opcode), status_name(v.status),
			    v.rule.c_str());
		c->discard_left = v.discard_payload;
		r->status = v.status;
		c->inflight++;
		finish_req(r.release());
		return true;
	}
	start_io(c, std::move(r));
	return true;
}

// The answer to a challenge: the client's proof. A good one lets the first
// message through; anything else is refused and the connection closed.
bool Reactor::Loop::parse_auth(Conn *c, const unsigned char *p, size_t avail)
{
	if (avail < sizeof(qbd_auth_proof))
		return false;
	qbd_auth_proof proof;
	memcpy(&proof, p, sizeof(proof));
	c->rpos += sizeof(proof);
	unsigned char first[sizeof(qbd_hello)];
	memcpy(first, c->auth->first, sizeof(first));
	qbd_msg_hdr h;
	memcpy(&h, first, sizeof(h));
	std::string bad = auth_check(*sh().key, *c->auth, proof);
	c->auth.reset();
	if (!bad.empty()) {
		refuse_auth(c, le16(h.type), bad);
		return false;
	}
	LOG_INFO("conn=%lu: peer %s authenticated", (unsigned long)c->id, peer_str(c->fd).c_str());
	auth_start(nullptr, first);  // strips the AUTH bit and the nonce
	return handle_first(c, first);
}

// Refuses a connection's first message with AUTH_FAILED, logs why with the
// peer's address (never the key) and closes once the reply is out.
void Reactor::Loop::refuse_auth(Conn *c, uint16_t type, const std::string &rule)
{
	LOG_RL_WARN("conn=%lu: peer %s refused: %s", (unsigned long)c->id, peer_str(c->fd).c_str(),
		    rule.c_str());
	Out o;
	o.head_len = refusal_reply(type, QBD_S_AUTH_FAILED, rule, o.head);
	c->close_after_send = true;
	c->read_closed = true;
	queue_out(c, std::move(o));
}

// Serves a first message (or a later admin request) whose header is checked
// and whose authentication, if any, is done.
bool Reactor::Loop::handle_first(Conn *c, const unsigned char *first)
{
	qbd_msg_hdr h;
	memcpy(&h, first, sizeof(h));
	if (le16(h.type) == QBD_MSG_HELLO) {
		qbd_hello hello;
		memcpy(&hello, first, sizeof(hello));
		HelloResult hr = handle_hello(sh().catalog, hello, sh().limits);
		Out o;
		memcpy(o.head, &hr.reply, sizeof(hr.reply));
		o.head_len = sizeof(hr.reply);
		c->name = hr.name.empty() ? "-" : hr.name;
		if (!hr.volume) {
			LOG_RL_WARN("vol=%s conn=%lu: hello refused (%s): %s", c->name.c_str(),
				    (unsigned long)c->id, status_name(le32(hr.reply.status)),
				    hr.rule.c_str());
			c->close_after_send = true;
			c->read_closed = true;
			queue_out(c, std::move(o));
			return false;
		}
		c->vol = hr.volume;
		c->geo = hr.geo;
		c->qd = hr.queue_depth;
		c->phase = Conn::kIo;
		c->deadline = 0;
		LOG_INFO("vol=%s conn=%lu: opened (queue %u, depth %u, features 0x%lx, max IO %u)",
			 c->name.c_str(), (unsigned long)c->id, le32(hello.queue_id), c->qd,
			 (unsigned long)c->geo.features, c->geo.max_io);
		queue_out(c, std::move(o));
		return true;
	}
	qbd_admin_req req;
	memcpy(&req, first, sizeof(req));
	c->phase = Conn::kAdmin;
	AdminResult ar = handle_admin(sh().catalog, req);
	LOG_INFO("conn=%lu: %s", (unsigned long)c->id, ar.summary.c_str());
	Out o;
	memcpy(o.head, &ar.reply, sizeof(ar.reply));
	o.head_len = sizeof(ar.reply);
	o.admin_payload = std::move(ar.payload);
	o.data = o.admin_payload.data();
	o.data_len = o.admin_payload.size() * sizeof(qbd_admin_vol);
	c->deadline = time(nullptr) + kAdminIdleTimeoutSec;
	queue_out(c, std::move(o));
	return true;
}

void Reactor::Loop::start_io(Conn *c, std::unique_ptr<Req> r)
{
	c->inflight++;
	const uint8_t op = r->hdr.opcode;
	if (op == QBD_OP_READ || op == QBD_OP_WRITE) {
		r->len = le32(r->hdr.length);
		size_t alloc = (static_cast<size_t>(r->len) + 4095) & ~size_t(4095);
		r->buf = aligned_alloc(4096, alloc);
		if (!r->buf) {
			LOG_RL_WARN("vol=%s conn=%lu: out of memory for a %u-byte buffer; closing",
				    c->name.c_str(), (unsigned long)c->id, r->len);
			c->inflight--;
			begin_close(c, nullptr);
			return;
		}
	}
	if (op == QBD_OP_PING) {
		finish_req(r.release());
		return;
	}
	if (op == QBD_OP_WRITE) {
		c->payload_req = r.release();  // parse_one/on_recv fill it, then submit
		return;
	}
	submit_disk(r.release());
}

// A WRITE's payload is all in: checked against its digest (when the
// connection has digests), then written.
void Reactor::Loop::payload_done(Req *r)
{
	Conn *c = r->conn;
	if (check_write_digest(r->hdr, r->buf, r->len, c->geo.features) != QBD_S_OK) {
		// Corrupted in flight: nothing is written, the client resends.
		LOG_RL_WARN("vol=%s conn=%lu tag=0x%lx: WRITE offset %lu length %u: data digest "
			    "mismatch, refused with DIGEST",
			    c->name.c_str(), (unsigned long)c->id, (unsigned long)le64(r->hdr.handle),
			    (unsigned long)le64(r->hdr.offset), r->len);
		r->status = QBD_S_DIGEST;
		return finish_req(r);
	}
	submit_disk(r);
}

void Reactor::Loop::submit_disk(Req *r)
{
	Conn *c = r->conn;
	Volume &v = *c->vol;
	if (v.deleted.load(std::memory_order_relaxed)) {
		r->status = QBD_S_NO_VOLUME;
		return finish_req(r);
	}
	auto *s = sqe();
	prep_disk_sqe(s, *v.backend, r->hdr, static_cast<char *>(r->buf), r->done, r->retried_buffered);
	r->op.req = r;
	r->op.conn = c;
	io_uring_sqe_set_data(s, &r->op);
	c->refs++;
}

void Reactor::Loop::on_disk(Req *r, int res)
{
	Conn *c = r->conn;
	const uint8_t op = r->hdr.opcode;
	const unsigned long tag = le64(r->hdr.handle);
	if (c->closing) {
		delete r;
		c->inflight--;
		return;
	}
	DiskStep step = disk_step(*c->vol, r->hdr, static_cast<char *>(r->buf), res, r->done,
				  r->retried_buffered);
	if (step.again)
		return submit_disk(r);
	if (step.status != QBD_S_OK)
		LOG_RL_WARN("vol=%s conn=%lu tag=0x%lx: %s offset %lu length %u failed: %s", c->name.c_str(),
			    (unsigned long)c->id, tag, op_name(op), (unsigned long)le64(r->hdr.offset),
			    le32(r->hdr.length), strerror(-res));
	r->status = step.status;
	finish_req(r);
}

// Queues the reply for @r (status set); frees @r once sent.
void Reactor::Loop::finish_req(Req *r)
{
	Conn *c = r->conn;
	Out o;
	bool with_data = r->hdr.opcode == QBD_OP_READ && r->status == QBD_S_OK;
	qbd_reply rep;
	fill_reply(rep, r->hdr.handle, r->status, with_data ? r->len : 0);
	if (with_data)
		rep.digest = reply_digest(r->hdr.opcode, r->status, r->buf, r->len, c->geo.features);
	// Size-change notice: a PING reply carries the volume's size now, so
	// a client notices a volume another admin grew.
	if (r->hdr.opcode == QBD_OP_PING && c->vol)
		rep.vol_size = to_le64(c->vol->size.load(std::memory_order_relaxed));
	memcpy(o.head, &rep, sizeof(rep));
	o.head_len = sizeof(rep);
	if (with_data) {
		o.data = r->buf;
		o.data_len = r->len;
	}
	if (r->status != QBD_S_OK && r->status != QBD_S_STALE_LAYOUT)
		LOG_DEBUG("vol=%s conn=%lu tag=0x%lx: reply %s", c->name.c_str(), (unsigned long)c->id,
			  (unsigned long)le64(r->hdr.handle), status_name(r->status));
	o.req.reset(r);
	queue_out(c, std::move(o));
}

void Reactor::Loop::queue_out(Conn *c, Out &&o)
{
	c->sendq.push_back(std::move(o));
	arm_send(c);
}

void Reactor::Loop::arm_send(Conn *c)
{
	if (c->send_armed || c->closing || c->sendq.empty())
		return;
	size_t n = 0;
	for (auto &o : c->sendq) {
		if (n + 2 > kMaxIov)
			break;
		size_t skip = o.sent;
		if (skip < o.head_len) {
			c->iov[n++] = {o.head + skip, o.head_len - skip};
			skip = 0;
		} else {
			skip -= o.head_len;
		}
		if (o.data_len > skip)
			c->iov[n++] = {const_cast<char *>(static_cast<const char *>(o.data)) + skip,
				       o.data_len - skip};
	}
	c->msg = {};
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = n;
	auto *s = sqe();
	io_uring_prep_sendmsg(s, c->fd, &c->msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data(s, &c->send_op);
	c->send_armed = true;
	c->refs++;
}

void Reactor::Loop::on_send(Conn *c, int res)
{
	c->send_armed = false;
	if (c->closing)
		return;
	if (res < 0) {
		LOG_RL_WARN("vol=%s conn=%lu: send: %s", c->name.c_str(), (unsigned long)c->id, strerror(-res));
		return begin_close(c, nullptr);
	}
	size_t left = res;
	bool freed_req = false;
	while (!c->sendq.empty()) {
		Out &o = c->sendq.front();
		size_t need = o.total() - o.sent;
		if (left < need) {
			o.sent += left;
			break;
		}
		left -= need;
		if (o.req) {
			c->inflight--;
			freed_req = true;
		}
		c->sendq.pop_front();
	}
	if (c->sendq.empty() && c->close_after_send)
		return begin_close(c, nullptr);
	idle_check(c);
	if (c->closing)
		return;
	arm_send(c);
	if (freed_req && !c->recv_armed)
		parse(c);  // was held back by the queue depth
}

void Reactor::Loop::begin_close(Conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (why)
		LOG_INFO("vol=%s conn=%lu: closing: %s", c->name.c_str(), (unsigned long)c->id, why);
	::shutdown(c->fd, SHUT_RDWR);  // completes the pending RECV/SEND
	if (c->payload_req) {
		delete c->payload_req;
		c->payload_req = nullptr;
		c->inflight--;
	}
	for (auto &o : c->sendq)
		if (o.req)
			c->inflight--;
	c->sendq.clear();
	closing.push_back(c);
}

// Closes a connection that has nothing more to do: the server is draining
// or the peer stopped sending, and every reply is out.
void Reactor::Loop::idle_check(Conn *c)
{
	if (c->closing || c->close_after_send)
		return;
	if ((c->draining || c->read_closed) && c->inflight == 0 && c->sendq.empty() && !c->payload_req)
		begin_close(c, nullptr);
}

void Reactor::Loop::reap()
{
	for (size_t i = 0; i < closing.size();) {
		Conn *c = closing[i];
		if (c->refs) {
			i++;
			continue;
		}
		closing[i] = closing.back();
		closing.pop_back();
		if (c->vol)
			sh().catalog.close_volume(c->vol);
		LOG_DEBUG("vol=%s conn=%lu: freed", c->name.c_str(), (unsigned long)c->id);
		::close(c->fd);
		conns.erase(c);
		sh().connections--;
		owner->live_--;
		delete c;
	}
}

void Reactor::Loop::drain_all()
{
	std::vector<Conn *> all(conns.begin(), conns.end());
	for (Conn *c : all) {
		if (c->closing)
			continue;
		c->draining = true;
		if (c->payload_req) {  // a WRITE half received: never acknowledged
			delete c->payload_req;
			c->payload_req = nullptr;
			c->inflight--;
		}
		if (c->recv_armed) {
			auto *s = sqe();
			io_uring_prep_cancel(s, &c->recv_op, 0);
			io_uring_sqe_set_data(s, &c->cancel_op);
			c->refs++;
		}
		idle_check(c);
	}
}

void Reactor::Loop::check_deadlines()
{
	time_t now = time(nullptr);
	std::vector<Conn *> late;
	for (Conn *c : conns)
		if (!c->closing && c->deadline && now > c->deadline && c->sendq.empty())
			late.push_back(c);
	for (Conn *c : late) {
		LOG_RL_WARN("conn=%lu: closing: no complete %s message within %d s", (unsigned long)c->id,
			    c->phase == Conn::kAdmin ? "admin" : "hello",
			    c->phase == Conn::kAdmin ? kAdminIdleTimeoutSec : kHandshakeTimeoutSec);
		begin_close(c, nullptr);
	}
}

void Reactor::Loop::on_cqe(Op *op, int res)
{
	switch (op->kind) {
	case Op::kEvent:
		take_incoming();
		if (!stopping)
			arm_event();
		return;
	case Op::kTick:
		check_deadlines();
		if (!stopping || !conns.empty())
			arm_tick();
		return;
	case Op::kRecv:
		op->conn->refs--;
		return on_recv(op->conn, res);
	case Op::kSend:
		op->conn->refs--;
		return on_send(op->conn, res);
	case Op::kCancel:
		op->conn->refs--;
		return;
	case Op::kDisk:
		op->conn->refs--;
		return on_disk(op->req, res);
	}
}

void Reactor::Loop::run()
{
	char name[16];
	snprintf(name, sizeof(name), "reactor%u", owner->index());
	log_set_thread_name(name);
	arm_event();
	arm_tick();
	while (!(stopping && conns.empty())) {
		int r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			LOG_ERR("io_uring_submit_and_wait: %s", strerror(-r));
			break;
		}
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			auto *op = static_cast<Op *>(io_uring_cqe_get_data(cqe));
			int res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);  // before handling: handlers submit
			on_cqe(op, res);
		}
		reap();
	}
	// Anything left (stop without drain after an error): drop it.
	for (Conn *c : conns) {
		::close(c->fd);
		if (c->vol)
			sh().catalog.close_volume(c->vol);
		sh().connections--;
		owner->live_--;
	}
}

Reactor::Reactor(unsigned index, std::shared_ptr<ReactorShared> shared)
	: index_(index), shared_(std::move(shared))
{
}

Result<std::unique_ptr<Reactor>> Reactor::start(unsigned index, std::shared_ptr<ReactorShared> shared,
						 int cpu)
{
	std::unique_ptr<Reactor> r(new Reactor(index, std::move(shared)));
	auto loop = std::make_unique<Loop>();
	loop->owner = r.get();
	loop->ev.reset(::eventfd(0, EFD_CLOEXEC));
	if (!loop->ev)
		return make_error(errno, std::string("reactor: eventfd: ") + strerror(errno));
	int rc = io_uring_queue_init(kRingEntries, &loop->ring, 0);
	if (rc < 0)
		return make_error(-rc, std::string("reactor: io_uring_queue_init: ") + strerror(-rc));
	loop->ring_ok = true;
	r->loop_ = std::move(loop);
	r->thread_ = std::thread([l = r->loop_.get()] { l->run(); });
	pin_thread(r->thread_, cpu, "reactor " + std::to_string(index));
	return r;
}

void pin_thread(std::thread &t, int cpu, const std::string &what)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(t.native_handle(), sizeof(set), &set);
	if (rc)  // not fatal: the thread runs, only its placement is lost
		LOG_WARN("%s: pinning to CPU %d: %s", what.c_str(), cpu, strerror(rc));
}

void Reactor::hand_off(int fd, uint64_t conn_id)
{
	shared_->connections++;
	live_++;
	{
		std::lock_guard lk(loop_->mu);
		loop_->incoming.emplace_back(fd, conn_id);
	}
	uint64_t one = 1;
	ssize_t w = ::write(loop_->ev.get(), &one, sizeof(one));
	(void)w;
}

void Reactor::stop()
{
	if (!loop_ || !thread_.joinable())
		return;
	{
		std::lock_guard lk(loop_->mu);
		loop_->stop_requested = true;
	}
	uint64_t one = 1;
	ssize_t w = ::write(loop_->ev.get(), &one, sizeof(one));
	(void)w;
	thread_.join();
}

Reactor::~Reactor()
{
	stop();
	if (loop_ && loop_->ring_ok)
		io_uring_queue_exit(&loop_->ring);
}

}  // namespace qbd::server
