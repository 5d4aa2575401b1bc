#include "link.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "net.h"

namespace qbd::loadgen {

using namespace std::chrono;

qbd_hello make_hello(const Options &o, uint32_t qid, uint32_t max_io)
{
	qbd_hello h;
	memset(&h, 0, sizeof(h));
	fill_msg_hdr(h.hdr, QBD_MSG_HELLO);
	h.queue_id = to_le32(qid);
	h.queue_depth = to_le32(o.queue_depth);
	h.max_io = to_le32(max_io);
	// Not QBD_PF_RDMA_INV: our buffers are plain MRs (no FRWR), which a
	// SEND_WITH_INV cannot invalidate.
	h.features = to_le64(QBD_PF_FUA);
	write_fixed(h.pool, sizeof(h.pool), o.pool);
	write_fixed(h.volume, sizeof(h.volume), o.volume);
	return h;
}

Result<HelloInfo> check_hello_reply(const Options &o, const qbd_hello_reply &r, uint32_t max_io)
{
	if (le32(r.hdr.magic) != QBD_PROTO_MAGIC)
		return make_error(EPROTO, "hello reply: magic " + std::to_string(le32(r.hdr.magic)) +
						  " is not QBD_PROTO_MAGIC");
	if (le32(r.status) != QBD_S_OK)
		return make_error(status_errno(le32(r.status)),
				  "hello " + o.pool + "/" + o.volume + ": status " + status_name(le32(r.status)));
	HelloInfo c;
	c.size = le64(r.size);
	c.vol_id = le64(r.vol_id);
	c.queue_depth = le32(r.queue_depth);
	c.shard_size = le64(r.shard_size);
	c.layout_version = le32(r.layout_version);
	c.features = le64(r.features);
	c.max_io = le32(r.max_io);
	if (c.shard_size == 0 || c.shard_size % max_io)
		return make_error(EPROTO, "hello reply: shard size " + std::to_string(c.shard_size) +
						  " is not a positive multiple of the block size");
	if (c.queue_depth < o.queue_depth)
		return make_error(EINVAL, "server granted queue depth " + std::to_string(c.queue_depth) +
						  ", less than the " + std::to_string(o.queue_depth) + " asked");
	if (c.max_io < max_io)
		return make_error(EINVAL, "server max_io " + std::to_string(c.max_io) +
						  " is below the block size " + std::to_string(max_io));
	if (c.size < max_io)
		return make_error(EINVAL, "volume size " + std::to_string(c.size) + " is below the block size");
	return c;
}

namespace {

// Whole-buffer blocking IO (the socket is blocking: one syscall per
// message in the common case).
Status write_full(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = ::writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return make_error(errno, std::string("send: ") + strerror(errno));
		}
		auto left = static_cast<size_t>(w);
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			++iov;
			--n;
		}
		if (n > 0) {
			iov->iov_base = static_cast<char *>(iov->iov_base) + left;
			iov->iov_len -= left;
		}
	}
	return ok_status();
}

Status read_full(int fd, void *buf, size_t len)
{
	auto *p = static_cast<char *>(buf);
	while (len) {
		ssize_t r = ::recv(fd, p, len, MSG_WAITALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return make_error(errno, std::string("recv: ") + strerror(errno));
		}
		if (r == 0)
			return make_error(ECONNRESET, "the server closed the connection");
		p += r;
		len -= static_cast<size_t>(r);
	}
	return ok_status();
}

class TcpLink : public Link {
public:
	explicit TcpLink(const Options &o) : o_(o) {}
	Status alloc(uint32_t slots, uint32_t buf_size) override
	{
		slots_ = slots;
		buf_size_ = buf_size;
		bufs_.assign(static_cast<size_t>(slots) * buf_size, 0);
		return ok_status();
	}
	char *buf(uint32_t slot) override { return bufs_.data() + static_cast<size_t>(slot) * buf_size_; }
	Status connect_only() override
	{
		auto fd = tcp_connect(o_.server, milliseconds(5000));
		if (!fd)
			return make_error(fd.error().code, "connect " + o_.server.str() + ": " + fd.error().message);
		fd_ = std::move(*fd);
		int fl = ::fcntl(fd_.get(), F_GETFL);
		if (fl < 0 || ::fcntl(fd_.get(), F_SETFL, fl & ~O_NONBLOCK) < 0)
			return make_error(errno, std::string("fcntl: ") + strerror(errno));
		return ok_status();
	}
	Result<qbd_hello_reply> open(const qbd_hello &h) override
	{
		if (auto s = connect_only(); !s)
			return s.error();
		struct iovec iov = {const_cast<qbd_hello *>(&h), sizeof(h)};
		if (auto s = write_full(fd_.get(), &iov, 1); !s)
			return make_error(s.error().code, "hello: " + s.error().message);
		qbd_hello_reply r;
		if (auto s = read_full(fd_.get(), &r, sizeof(r)); !s)
			return make_error(s.error().code, "hello reply: " + s.error().message);
		return r;
	}
	Status submit(qbd_req &r, uint32_t slot, bool) override
	{
		struct iovec iov[2] = {{&r, sizeof(r)}, {buf(slot), le32(r.length)}};
		return write_full(fd_.get(), iov, r.opcode == QBD_OP_WRITE ? 2 : 1);
	}
	Status wait(qbd_reply &rep) override
	{
		if (auto st = read_full(fd_.get(), &rep, sizeof(rep)); !st)
			return st;
		uint32_t len = le32(rep.length);
		uint64_t h = le64(rep.handle);
		if (!len)
			return ok_status();
		if (h >= slots_ || len > buf_size_)
			return make_error(EPROTO, "reply handle " + std::to_string(h) + " length " +
							  std::to_string(len) + " fits no buffer");
		return read_full(fd_.get(), buf(static_cast<uint32_t>(h)), len);
	}
	Status send_raw(const void *p, uint32_t len) override
	{
		struct iovec iov = {const_cast<void *>(p), len};
		return write_full(fd_.get(), &iov, 1);
	}
	bool disconnected_within(double seconds) override
	{
		struct pollfd p = {fd_.get(), POLLIN, 0};
		char b;
		auto until = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(seconds));
		while (steady_clock::now() < until) {
			if (::poll(&p, 1, 100) > 0 && ::recv(fd_.get(), &b, 1, MSG_DONTWAIT) <= 0)
				return true;
		}
		return false;
	}

private:
	const Options &o_;
	Fd fd_;
	uint32_t slots_ = 0, buf_size_ = 0;
	std::vector<char> bufs_;
};

// librdmacm client: one RC QP, every message buffer and every data buffer
// registered once at open. Completions are waited for on the completion
// channel (no busy polling: the VM has two CPUs for everything).
class RdmaLink : public Link {
public:
	explicit RdmaLink(const Options &o) : o_(o) {}
	~RdmaLink() override
	{
		if (id_ && id_->qp)
			rdma_destroy_qp(id_);
		if (data_mr_)
			ibv_dereg_mr(data_mr_);
		if (msg_mr_)
			ibv_dereg_mr(msg_mr_);
		if (data_)
			munmap(data_, data_len_);
		if (cq_)
			ibv_destroy_cq(cq_);
		if (ch_)
			ibv_destroy_comp_channel(ch_);
		if (pd_)
			ibv_dealloc_pd(pd_);
		if (id_)
			rdma_destroy_id(id_);
		if (ech_)
			rdma_destroy_event_channel(ech_);
	}
	Status alloc(uint32_t slots, uint32_t buf_size) override
	{
		slots_ = slots;
		buf_size_ = buf_size;
		return ok_status();
	}
	char *buf(uint32_t slot) override { return data_ + static_cast<size_t>(slot) * buf_size_; }
	uint32_t rkey() const override { return data_mr_ ? data_mr_->rkey : 0; }

	Status connect_only() override
	{
		if (auto s = connect(); !s)
			return make_error(s.error().code, "rdma connect " + o_.server.str() + ": " + s.error().message);
		return ok_status();
	}
	Result<qbd_hello_reply> open(const qbd_hello &h) override
	{
		if (auto s = connect_only(); !s)
			return s.error();
		if (auto s = send_raw(&h, sizeof(h)); !s)
			return make_error(s.error().code, "hello: " + s.error().message);
		char *m = nullptr;
		uint32_t len = 0;
		if (auto s = next_recv(&m, &len); !s)
			return make_error(s.error().code, "hello reply: " + s.error().message);
		if (len != sizeof(qbd_hello_reply))
			return make_error(EPROTO, "hello reply of " + std::to_string(len) + " bytes");
		qbd_hello_reply r;
		memcpy(&r, m, sizeof(r));
		return r;
	}
	Status submit(qbd_req &r, uint32_t slot, bool raw) override
	{
		if (!raw && (r.opcode == QBD_OP_READ || r.opcode == QBD_OP_WRITE)) {
			r.rdma_addr = to_le64(reinterpret_cast<uintptr_t>(buf(slot)));
			r.rdma_key = to_le32(data_mr_->rkey);
		}
		return send_msg(slot, &r, sizeof(r));
	}
	Status wait(qbd_reply &rep) override
	{
		char *m = nullptr;
		uint32_t len = 0;
		if (auto s = next_recv(&m, &len); !s)
			return s;
		if (len != sizeof(qbd_reply))
			return make_error(EPROTO, "reply of " + std::to_string(len) + " bytes (want " +
							  std::to_string(sizeof(qbd_reply)) + ")");
		memcpy(&rep, m, sizeof(rep));
		return ok_status();
	}
	// Hello and hostile messages: the buffer after the request slots' ones
	// (one at a time: each waits for its reply or the disconnect).
	Status send_raw(const void *p, uint32_t len) override { return send_msg(slots_, p, len); }
	// A SEND from buffer @i. Request i's buffer is reused only once its
	// reply came back, so the server has the message: a retransmission
	// (rxe re-reads the buffer) can never carry a later request instead.
	Status send_msg(uint32_t i, const void *p, uint32_t len)
	{
		if (len > kSendBuf)
			return make_error(EINVAL, "message over " + std::to_string(kSendBuf) + " bytes");
		char *sb = msg_ + static_cast<size_t>(i) * kSendBuf;
		memcpy(sb, p, len);
		ibv_sge sge = {reinterpret_cast<uintptr_t>(sb), len, msg_mr_->lkey};
		ibv_send_wr wr = {}, *bad = nullptr;
		wr.wr_id = 1ull << 32;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.opcode = IBV_WR_SEND;
		wr.send_flags = IBV_SEND_SIGNALED;
		if (int r = ibv_post_send(id_->qp, &wr, &bad))
			return make_error(r, std::string("ibv_post_send: ") + strerror(r));
		return ok_status();
	}
	bool disconnected_within(double seconds) override
	{
		auto until = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(seconds));
		while (steady_clock::now() < until) {
			struct pollfd p = {ech_->fd, POLLIN, 0};
			if (::poll(&p, 1, 100) <= 0)
				continue;
			rdma_cm_event *ev = nullptr;
			if (rdma_get_cm_event(ech_, &ev))
				continue;
			auto t = ev->event;
			rdma_ack_cm_event(ev);
			if (t == RDMA_CM_EVENT_DISCONNECTED || t == RDMA_CM_EVENT_REJECTED)
				return true;
		}
		return false;
	}

private:
	static constexpr uint32_t kSendBuf = 512;  // hostile messages go up to this

	Status cm_wait(rdma_cm_event_type want)
	{
		struct pollfd p = {ech_->fd, POLLIN, 0};
		if (::poll(&p, 1, 10000) <= 0)
			return make_error(ETIMEDOUT, std::string("no ") + rdma_event_str(want) + " within 10 s");
		rdma_cm_event *ev = nullptr;
		if (rdma_get_cm_event(ech_, &ev))
			return make_error(errno, std::string("rdma_get_cm_event: ") + strerror(errno));
		auto t = ev->event;
		int st = ev->status;
		rdma_ack_cm_event(ev);
		if (t != want)
			return make_error(t == RDMA_CM_EVENT_REJECTED ? ECONNREFUSED : EIO,
					  std::string(rdma_event_str(t)) + " (status " + std::to_string(st) +
						  ") instead of " + rdma_event_str(want));
		return ok_status();
	}

	Status connect()
	{
		ech_ = rdma_create_event_channel();
		if (!ech_)
			return make_error(errno, std::string("rdma_create_event_channel: ") + strerror(errno));
		if (rdma_create_id(ech_, &id_, nullptr, RDMA_PS_TCP))
			return make_error(errno, std::string("rdma_create_id: ") + strerror(errno));
		struct addrinfo hints = {}, *res = nullptr;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		std::string port = std::to_string(o_.server.port);
		if (int rc = ::getaddrinfo(o_.server.host.c_str(), port.c_str(), &hints, &res))
			return make_error(EINVAL, std::string("cannot resolve: ") + gai_strerror(rc));
		struct addrinfo *src = nullptr;
		if (!o_.source.empty()) {
			if (int e = ::getaddrinfo(o_.source.c_str(), nullptr, &hints, &src)) {
				freeaddrinfo(res);
				return make_error(EINVAL, "cannot resolve --source " + o_.source + ": " +
								  gai_strerror(e));
			}
		}
		int rc = rdma_resolve_addr(id_, src ? src->ai_addr : nullptr, res->ai_addr, 5000);
		freeaddrinfo(res);
		if (src)
			freeaddrinfo(src);
		if (rc)
			return make_error(errno, std::string("rdma_resolve_addr: ") + strerror(errno));
		if (auto s = cm_wait(RDMA_CM_EVENT_ADDR_RESOLVED); !s)
			return s;
		if (rdma_resolve_route(id_, 5000))
			return make_error(errno, std::string("rdma_resolve_route: ") + strerror(errno));
		if (auto s = cm_wait(RDMA_CM_EVENT_ROUTE_RESOLVED); !s)
			return s;
		ibv_device_attr attr;
		if (ibv_query_device(id_->verbs, &attr))
			return make_error(errno, "ibv_query_device");
		pd_ = ibv_alloc_pd(id_->verbs);
		ch_ = pd_ ? ibv_create_comp_channel(id_->verbs) : nullptr;
		recv_slots_ = o_.queue_depth + QBD_RDMA_SPARE_RECV;
		send_slots_ = std::max(slots_, o_.queue_depth) + 1;  // + hello/raw
		cq_ = ch_ ? ibv_create_cq(id_->verbs, static_cast<int>(recv_slots_ + send_slots_ + 8), nullptr,
					  ch_, 0)
			  : nullptr;
		if (!cq_)
			return make_error(errno, std::string("pd/channel/cq: ") + strerror(errno));
		ibv_qp_init_attr qa = {};
		qa.send_cq = cq_;
		qa.recv_cq = cq_;
		qa.qp_type = IBV_QPT_RC;
		qa.cap.max_send_wr = send_slots_;
		qa.cap.max_recv_wr = recv_slots_;
		qa.cap.max_send_sge = 1;
		qa.cap.max_recv_sge = 1;
		if (rdma_create_qp(id_, pd_, &qa))
			return make_error(errno, std::string("rdma_create_qp: ") + strerror(errno));
		msg_store_.assign(static_cast<size_t>(send_slots_) * kSendBuf +
					  static_cast<size_t>(recv_slots_) * QBD_RDMA_REPLY_BUF,
				  0);
		msg_ = msg_store_.data();
		msg_mr_ = ibv_reg_mr(pd_, msg_, msg_store_.size(), IBV_ACCESS_LOCAL_WRITE);
		if (!msg_mr_)
			return make_error(errno, std::string("ibv_reg_mr: ") + strerror(errno));
		data_len_ = std::max<size_t>(static_cast<size_t>(slots_) * buf_size_, 4096);
		void *p = mmap(nullptr, data_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return make_error(errno, "mmap");
		data_ = static_cast<char *>(p);
		data_mr_ = ibv_reg_mr(pd_, data_, data_len_,
				      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
		if (!data_mr_)
			return make_error(errno, std::string("ibv_reg_mr (data): ") + strerror(errno));
		for (uint32_t i = 0; i < recv_slots_; i++)
			if (auto s = post_recv(i); !s)
				return s;
		if (ibv_req_notify_cq(cq_, 0))
			return make_error(errno, "ibv_req_notify_cq");
		rdma_conn_param cp = {};
		cp.responder_resources = static_cast<uint8_t>(std::min(attr.max_qp_rd_atom, 16));
		cp.initiator_depth = 0;
		cp.retry_count = 7;
		cp.rnr_retry_count = 7;
		if (rdma_connect(id_, &cp))
			return make_error(errno, std::string("rdma_connect: ") + strerror(errno));
		return cm_wait(RDMA_CM_EVENT_ESTABLISHED);
	}

	char *recv_buf(uint32_t i)
	{
		return msg_ + static_cast<size_t>(send_slots_) * kSendBuf + static_cast<size_t>(i) * QBD_RDMA_REPLY_BUF;
	}
	Status post_recv(uint32_t i)
	{
		ibv_sge sge = {reinterpret_cast<uintptr_t>(recv_buf(i)), QBD_RDMA_REPLY_BUF, msg_mr_->lkey};
		ibv_recv_wr wr = {}, *bad = nullptr;
		wr.wr_id = i;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		if (int r = ibv_post_recv(id_->qp, &wr, &bad))
			return make_error(r, std::string("ibv_post_recv: ") + strerror(r));
		return ok_status();
	}
	// The next receive completion; send completions are consumed on the
	// way (an error in one fails the wait). *@m stays valid until the next
	// call (its receive is reposted then).
	Status next_recv(char **m, uint32_t *len)
	{
		if (pending_repost_ >= 0) {
			if (auto s = post_recv(static_cast<uint32_t>(pending_repost_)); !s)
				return s;
			pending_repost_ = -1;
		}
		for (;;) {
			ibv_wc wc;
			int n = ibv_poll_cq(cq_, 1, &wc);
			if (n < 0)
				return make_error(EIO, "ibv_poll_cq failed");
			if (n == 0) {
				struct pollfd p = {ch_->fd, POLLIN, 0};
				if (::poll(&p, 1, 30000) <= 0)
					return make_error(ETIMEDOUT, "no completion within 30 s");
				ibv_cq *cq;
				void *ctx;
				if (ibv_get_cq_event(ch_, &cq, &ctx))
					return make_error(errno, "ibv_get_cq_event");
				ibv_ack_cq_events(cq, 1);
				if (ibv_req_notify_cq(cq_, 0))
					return make_error(errno, "ibv_req_notify_cq");
				continue;
			}
			if (wc.status != IBV_WC_SUCCESS)
				return make_error(ECONNRESET, std::string(wc.wr_id >> 32 ? "send" : "receive") +
								      " failed: " + ibv_wc_status_str(wc.status) +
								      " (did the server disconnect?)");
			if (wc.wr_id >> 32)
				continue;  // a send completed
			*m = recv_buf(static_cast<uint32_t>(wc.wr_id));
			*len = wc.byte_len;
			pending_repost_ = static_cast<int64_t>(wc.wr_id);
			return ok_status();
		}
	}

	const Options &o_;
	rdma_event_channel *ech_ = nullptr;
	rdma_cm_id *id_ = nullptr;
	ibv_pd *pd_ = nullptr;
	ibv_comp_channel *ch_ = nullptr;
	ibv_cq *cq_ = nullptr;
	ibv_mr *msg_mr_ = nullptr, *data_mr_ = nullptr;
	std::vector<char> msg_store_;
	char *msg_ = nullptr, *data_ = nullptr;
	size_t data_len_ = 0;
	uint32_t slots_ = 0, buf_size_ = 0, recv_slots_ = 0, send_slots_ = 0;
	int64_t pending_repost_ = -1;
};

}  // namespace

std::unique_ptr<Link> make_link(const Options &o)
{
	if (o.transport == Transport::rdma)
		return std::make_unique<RdmaLink>(o);
	return std::make_unique<TcpLink>(o);
}

}  // namespace qbd::loadgen
