// The RDMA engine (docs/architecture.md, "Server RDMA engine").
//
// Threading: RDMA workers, threads of their own (not the io_uring
// reactors: verbs completions are not file IO; the reactor would need a
// poll request per completion channel and then call into verbs outside
// io_uring anyway). By default (`--rdma-workers 0`) placed as the TCP
// reactors (one per CPU, pinned); `--rdma-workers N`: N unpinned.
// Each worker poll()s its own rdma_cm event channel, the completion channel
// of its CQs per device, its disk io_uring, a hand-off eventfd and a stop
// eventfd, and owns every RDMA object it uses (no locks below but the
// hand-off inbox). Per device (ibv_context) a worker owns a PD, a receive
// CQ and a send CQ on one completion channel (completion vector = its
// index, so hardware interrupts it on its CPU),
// one shared receive queue with receive buffers registered once, and a data
// buffer pool of max_io-byte buffers registered once: no per-request
// registration. The device's receive and buffer budget is split among the
// workers.
//
// Placement (several workers): worker 0 owns the listeners. A connect
// request goes to the worker pinned on the CPU the client says it posts from (qbd_rdma_cm_req
// in the private data): over soft-RoCE on one host, that connection's
// packets are processed and its completions raised on that CPU, so a
// request is received, served and answered there, as nvmet-rdma does with
// its completion vectors. Without a hint, or when that worker is already
// busier than the least busy by more than one connection, the least busy
// (pick_reactor(), the TCP rule). Worker 0 acknowledges the event, hands the
// cm_id to the chosen worker's inbox, which moves it onto its own event
// channel (rdma_migrate_id) before creating the QP on its own CQ.
//
// Disk IO: asynchronous, on an io_uring of the worker's own (its fd is
// one more in the poll() set), prepared by prep_disk_sqe() as the TCP
// reactors prepare theirs: O_DIRECT on the pool's page-aligned buffers
// (buffered when not aligned), RWF_DSYNC for FUA, fsync for FLUSH,
// fallocate for DISCARD/WRITE_ZEROES. Any number in flight, completing in
// any order, so one slow disk IO stalls no other request. A request whose
// disk IO is in flight keeps its slot and buffer even when its QP dies; the
// connection is freed only once no disk IO refers to it (Conn::disk_out).
//
// Sends: replies, READ data (RDMA WRITE, just before its reply) and the
// RDMA READs of WRITE data are queued per connection and posted once per
// loop round, before poll() (flush_all()): one ibv_post_send per QP per
// round, which over soft-RoCE is one syscall and one run of rxe's requester
// for the whole batch. Handshake messages post at once, after what is
// queued.
//
// Send completions: every send WR is signaled, on a CQ of its own that is
// armed only while something waits on one (send_cq_wanted(): an RDMA READ
// of WRITE data, a data buffer someone waits for, a connection not open,
// a send queue half full, draining). Otherwise they are reaped when the
// worker wakes for anything else, or at the latest after kSendReapMs: at
// QD1 a reply's completion no longer costs a wakeup of its own (two per
// READ before).
//
// Polling (--rdma-poll-us N, off by default): before sleeping, a worker
// polls its CQs and disk ring for up to N us after the last work it found
// (spin()); both CQs are armed only just before a real sleep (arm_cqs()).
//
// Inline WRITEs (QBD_PF_RDMA_INLINE): the data came in the SEND; the
// receive buffer is lent to the request (written to disk straight from it,
// page-aligned by RecvLayout) and posted back to the SRQ when the reply is
// posted, as a data buffer is given back. A connection holds at most as
// many receive buffers as it may have requests in flight, which its SRQ
// reservation covers.
//
// Message rules (include/proto/qbd_proto.h): every receive must be exactly
// one qbd_hello (first), then with a key (auth_start) one qbd_auth_proof
// answering our challenge, then qbd_req; request checks are check_req() with
// Transport::rdma, the hello is handle_hello() with Transport::rdma. Any
// check that closes a TCP connection, a wrong-size message or a failed
// RDMA READ/WRITE disconnects that QP only, logged once with the peer.
#include "rdma.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netdb.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "disk_io.h"
#include "log.h"
#include "rdma_pool.h"
#include "server.h"

namespace qbd::server {

namespace {

// Longest a send completion waits to be reaped while nothing wants it
// (arm_cqs()).
constexpr int kSendReapMs = 20;

// wr_id of send-queue work requests: kind << 32 | io slot (RDMA READ) or
// data buffer (RDMA WRITE, the reply that follows it) or 0 (other replies).
// Every WR is signaled. A READ's RDMA WRITE and its reply SEND go in one
// post; the reply's completion (after the WRITE's: one send queue) gives
// the data buffer back.
enum WrKind : uint64_t { kWrHelloReply = 1, kWrReply, kWrRdmaRead, kWrRdmaWrite, kWrReplyBuf };
inline uint64_t wr_id(WrKind k, uint32_t slot) { return (static_cast<uint64_t>(k) << 32) | slot; }

struct Device {
	ibv_context *ctx = nullptr;  // owned by rdma_cm
	ibv_device_attr attr{};
	ibv_pd *pd = nullptr;
	ibv_comp_channel *channel = nullptr;  // both CQs' events
	ibv_cq *cq = nullptr;   // receives: armed before every sleep
	ibv_cq *scq = nullptr;  // sends: armed before a sleep when wanted
	bool cq_armed = false;
	bool scq_armed = false;
	ibv_srq *srq = nullptr;
	char *recv_bufs = nullptr;  // n_recv * recv.stride
	RecvLayout recv;
	uint32_t n_recv = 0;
	ibv_mr *recv_mr = nullptr;
	char *data = nullptr;  // pool.size() * buf_size, page-aligned
	size_t data_len = 0;
	uint32_t buf_size = 0;
	ibv_mr *data_mr = nullptr;
	BufferPool pool{0};
	RecvBudget budget{0};
	uint32_t max_send_wr = 0;
	// Requests (conn id, io slot) waiting for a free data buffer.
	std::deque<std::pair<uint64_t, uint32_t>> wait_buf;

	~Device()
	{
		if (data_mr)
			ibv_dereg_mr(data_mr);
		if (data)
			munmap(data, data_len);
		if (srq)
			ibv_destroy_srq(srq);
		if (recv_mr)
			ibv_dereg_mr(recv_mr);
		free(recv_bufs);
		if (cq)
			ibv_destroy_cq(cq);
		if (scq)
			ibv_destroy_cq(scq);
		if (channel)
			ibv_destroy_comp_channel(channel);
		if (pd)
			ibv_dealloc_pd(pd);
	}
	char *buf(uint32_t i) { return data + static_cast<size_t>(i) * buf_size; }
	// Where receive @i's message starts.
	char *recv_buf(uint32_t i) { return recv_bufs + static_cast<size_t>(i) * recv.stride + recv.offset; }
};

struct Io {
	qbd_req req{};
	int64_t buf = -1;   // data pool index while one is held
	int64_t recv = -1;  // inline WRITE: the receive buffer holding its data
	bool busy = false;
	bool in_disk = false;   // its disk IO is in flight
	bool buffered = false;  // O_DIRECT refused it: retried buffered
	uint32_t done = 0;      // READ/WRITE bytes the disk has done
};

struct Conn {
	uint64_t id = 0;
	std::string peer;
	rdma_cm_id *cm = nullptr;
	Device *dev = nullptr;
	uint32_t qp_num = 0;
	// kAuth: challenge sent, waiting for the client's proof (@auth holds
	// the hello as it came).
	enum State { kHello, kAuth, kOpen, kClosing } state = kHello;
	std::unique_ptr<AuthPending> auth;
	bool peer_gone = false;      // DISCONNECTED (or a failed connect) seen
	bool close_after_reply = false;  // hello refused: disconnect once sent
	uint32_t rd_atom = 1;        // RDMA READs we may have outstanding
	uint32_t reads_out = 0;
	uint32_t sends_out = 0;      // posted send WRs not completed yet
	uint32_t disk_out = 0;       // disk IOs in flight
	uint32_t rdma_inline = 0;    // inline WRITE bytes offered (0: none)
	uint64_t n_inline = 0;       // WRITEs that came inline
	uint64_t n_pulled = 0;       // WRITEs pulled with RDMA READ
	uint64_t n_replies = 0;      // request replies queued
	uint64_t n_posts = 0;        // ibv_post_send calls (doorbells)
	std::deque<uint32_t> read_wait;  // WRITE slots waiting for rd_atom
	std::shared_ptr<Volume> vol;
	VolumeGeometry geo;
	std::string name = "-";
	std::vector<Io> ios;
	std::vector<uint32_t> free_ios;
	uint32_t busy_ios = 0;
	// Send WRs of this round (replies, READ data, RDMA READs), posted in
	// one ibv_post_send by flush_sends() before the worker sleeps: one
	// doorbell (one syscall, one run of rxe's requester) per QP per round
	// rather than one per request. Counted in sends_out when queued.
	struct PendingSend {
		ibv_send_wr wr;
		ibv_sge sge;
		qbd_reply rep;  // an inline reply's payload (sge points here)
		bool inl;
	};
	std::vector<PendingSend> pend;
};

const char *wc_status(ibv_wc_status s) { return ibv_wc_status_str(s); }

// "tag=0x..." of a request, for log lines.
std::string tag_str(const qbd_req &r)
{
	char b[32];
	snprintf(b, sizeof(b), "tag=0x%lx", (unsigned long)le64(r.handle));
	return b;
}

}  // namespace

struct Worker {
	std::shared_ptr<ReactorShared> shared;
	RdmaEngine::Impl *engine = nullptr;
	unsigned index = 0;
	unsigned nworkers = 1;
	int cpu = -1;  // pinned to it; -1: not pinned
	// Connections this worker owns or is about to (counted when worker 0
	// places one here): read by worker 0 to place the next one.
	std::atomic<uint32_t> live{0};
	// Connect requests handed over by worker 0 (place()): their cm_ids are
	// still on worker 0's event channel.
	struct Handoff {
		rdma_cm_id *id;
		rdma_conn_param param;  // private_data cleared
		int client_cpu;
	};
	std::mutex inbox_mu;  // guards inbox and inbox_closed
	std::vector<Handoff> inbox;
	bool inbox_closed = false;  // the worker has stopped: refuse hand-offs
	Fd inbox_ev;
	// Every object below is touched by this worker's thread only (after
	// start() returns), so none needs a lock.
	rdma_event_channel *ech = nullptr;
	std::vector<rdma_cm_id *> listeners;  // worker 0 only
	std::vector<uint16_t> ports;
	Fd stop_ev;
	std::thread thread;
	bool draining = false;
	// --rdma-poll-us: after the last work found, poll the CQs and the disk
	// ring this long before sleeping in poll() (0: never).
	std::chrono::microseconds poll_window{0};
	std::chrono::steady_clock::time_point last_work{};
	uint64_t n_sleeps = 0;    // poll() calls that could block
	uint64_t n_polled = 0;    // spin() rounds that found completions
	std::map<ibv_context *, std::unique_ptr<Device>> devices;
	std::map<uint64_t, std::unique_ptr<Conn>> conns;
	std::unordered_map<uint32_t, Conn *> by_qp;
	// Disk IO (see the top of this file); user_data = conn id << 20 | slot.
	struct io_uring ring {};
	bool ring_ok = false;
	uint32_t disk_inflight = 0;
	bool disk_unsubmitted = false;
	std::vector<uint64_t> pend_conns;  // conns with queued sends (ids)
	std::vector<uint64_t> flushing;    // flush_all()'s turn of pend_conns

	~Worker()
	{
		if (ring_ok)
			io_uring_queue_exit(&ring);
		for (auto *l : listeners)
			rdma_destroy_id(l);
		devices.clear();
		if (ech)
			rdma_destroy_event_channel(ech);
	}

	Catalog &catalog() { return shared->catalog; }
	const Limits &limits() { return shared->limits; }

	Status init();
	void loop();
	void on_cm_event(rdma_cm_event *ev);
	void place(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu);
	bool hand(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu);
	void take_inbox();
	void close_inbox();
	void reject(rdma_cm_id *id, const std::string &peer, const std::string &why);
	void on_connect_request(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu);
	Result<Device *> device_for(ibv_context *ctx);
	void poll_cq(Device &d, bool event);
	bool reap(Device &d, ibv_cq *cq);
	bool send_cq_wanted(Device &d, bool *pending);
	int arm_cqs(bool *reaped);
	bool spin();
	void on_recv(Device &d, const ibv_wc &wc);
	void on_send(Conn &c, const ibv_wc &wc);
	void settle_send(Conn &c, const ibv_wc &wc);
	void on_message(Conn &c, const char *msg, uint32_t len, uint32_t recv_idx, bool &lent);
	void on_hello(Conn &c, const qbd_hello &h);
	void on_proof(Conn &c, const char *msg, uint32_t len);
	void open_volume(Conn &c, const qbd_hello &h);
	void refuse_auth(Conn &c, const std::string &rule);
	bool post_handshake(Conn &c, const void *msg, uint32_t len);
	void on_req(Conn &c, const qbd_req &r, int64_t recv_idx);
	void start_io(Conn &c, uint32_t slot);
	void start_read(Conn &c, uint32_t slot);
	void submit_disk(Conn &c, uint32_t slot);
	void on_disk(uint64_t user_data, int res);
	void poll_disk();
	void finish_disk(Conn &c, uint32_t slot, uint32_t status);
	char *io_data(Conn &c, const Io &io);
	void release_buf(Conn &c, Io &io);
	void repost_recv(Device &d, uint32_t idx);
	void feed_waiters(Device &d);
	void post_reply(Conn &c, uint32_t slot, uint32_t status, uint32_t length, uint64_t vol_size,
			ibv_send_wr *data_wr = nullptr, int64_t data_buf = -1);
	bool post_send(Conn &c, ibv_send_wr &wr);
	void queue_send(Conn &c, const ibv_send_wr &wr, const qbd_reply *rep);
	void flush_sends(Conn &c);
	void flush_all();
	void close_conn(Conn &c, const std::string &why, bool hostile);
	void maybe_destroy(Conn &c);
	void free_io(Conn &c, uint32_t slot);
	Conn *find(uint64_t id)
	{
		auto it = conns.find(id);
		return it == conns.end() ? nullptr : it->second.get();
	}
};

static std::string addr_name(const sockaddr *sa)
{
	if (!sa)
		return "?";
	char host[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		auto *a = reinterpret_cast<const sockaddr_in *>(sa);
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		auto *a = reinterpret_cast<const sockaddr_in6 *>(sa);
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
	}
	return "?";
}

struct RdmaEngine::Impl {
	std::vector<std::unique_ptr<Worker>> workers;
	std::vector<int> by_cpu;  // CPU -> pinned worker, -1: none
	size_t rr = 0;            // pick_reactor()'s round-robin (worker 0 only)
	std::atomic<uint64_t> next_conn_id{1};  // conn= in log lines, unique across workers
	bool stopped = false;     // stop() ran (caller's thread only)

	// Worker 0: the worker for a new connection from @client_cpu (-1:
	// unknown), counted in its live count at once, so a burst of connects
	// spreads before the first is accepted.
	Worker &pick(int client_cpu)
	{
		std::vector<uint32_t> loads;
		for (auto &w : workers)
			loads.push_back(w->live.load());
		Worker &w = *workers[pick_reactor(by_cpu, client_cpu, loads, rr)];
		w.live++;
		return w;
	}
};

Status Worker::init()
{
	ech = rdma_create_event_channel();
	if (!ech)
		return make_error(errno, std::string("rdma_create_event_channel: ") + strerror(errno) +
						 " (is rdma_ucm loaded?)");
	int fl = fcntl(ech->fd, F_GETFL);
	if (fl < 0 || fcntl(ech->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return make_error(errno, std::string("rdma event channel: fcntl: ") + strerror(errno));
	stop_ev.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	inbox_ev.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!stop_ev || !inbox_ev)
		return make_error(errno, std::string("eventfd: ") + strerror(errno));
	// Disk IO: at most every data buffer's and every slot's request in
	// flight; a full submission queue is submitted and refilled.
	if (int rc = io_uring_queue_init(256, &ring, 0); rc < 0)
		return make_error(-rc, std::string("rdma: io_uring_queue_init: ") + strerror(-rc));
	ring_ok = true;
	return ok_status();
}

Result<std::unique_ptr<RdmaEngine>> RdmaEngine::start(const std::vector<Endpoint> &listen,
						      std::shared_ptr<ReactorShared> shared,
						      const std::vector<int> &cpus, unsigned poll_us)
{
	std::unique_ptr<RdmaEngine> e(new RdmaEngine());
	e->impl_ = std::make_unique<Impl>();
	Impl &im = *e->impl_;
	const size_t n = std::max<size_t>(1, cpus.size());
	for (size_t i = 0; i < n; i++) {
		auto w = std::make_unique<Worker>();
		w->shared = shared;
		w->engine = &im;
		w->index = static_cast<unsigned>(i);
		w->nworkers = static_cast<unsigned>(n);
		w->cpu = i < cpus.size() ? cpus[i] : -1;
		w->poll_window = std::chrono::microseconds(poll_us);
		if (w->cpu >= 0) {
			if (im.by_cpu.size() <= static_cast<size_t>(w->cpu))
				im.by_cpu.resize(w->cpu + 1, -1);
			im.by_cpu[w->cpu] = static_cast<int>(i);
		}
		if (auto st = w->init(); !st)
			return st.error();
		im.workers.push_back(std::move(w));
	}
	Worker &w0 = *im.workers.front();
	for (auto &ep : listen) {
		std::string where = "listen rdma://" + ep.str();
		struct addrinfo hints = {};
		hints.ai_family = AF_UNSPEC;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		hints.ai_socktype = SOCK_STREAM;
		struct addrinfo *res = nullptr;
		std::string port = std::to_string(ep.port);
		int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
		if (rc)
			return make_error(EINVAL, where + ": cannot resolve: " + gai_strerror(rc));
		std::unique_ptr<struct addrinfo, void (*)(struct addrinfo *)> guard(res, freeaddrinfo);
		rdma_cm_id *id = nullptr;
		if (rdma_create_id(w0.ech, &id, nullptr, RDMA_PS_TCP))
			return make_error(errno, where + ": rdma_create_id: " + strerror(errno));
		w0.listeners.push_back(id);  // destroyed by ~Worker on any error below
		if (rdma_bind_addr(id, res->ai_addr))
			return make_error(errno, where + ": bind: " + strerror(errno) +
							 (errno == ENODEV || errno == EADDRNOTAVAIL
								  ? " (no RDMA device on that address?)"
								  : ""));
		if (rdma_listen(id, 128))
			return make_error(errno, where + ": listen: " + strerror(errno));
		uint16_t bound = ntohs(rdma_get_src_port(id));
		w0.ports.push_back(bound);
		LOG_INFO("listening on rdma://%s", Endpoint{ep.host, bound}.str().c_str());
	}
	for (auto &w : im.workers) {
		Worker *raw = w.get();
		w->thread = std::thread([raw] { raw->loop(); });
		pin_thread(w->thread, w->cpu, "rdma worker " + std::to_string(w->index));
	}
	LOG_INFO("rdma: %zu worker(s)%s%s", n, im.by_cpu.empty() ? "" : " pinned one per CPU",
		 poll_us ? (", polling " + std::to_string(poll_us) + " us before sleeping").c_str() : "");
	return e;
}

std::vector<uint16_t> RdmaEngine::ports() const
{
	return impl_ && !impl_->workers.empty() ? impl_->workers.front()->ports : std::vector<uint16_t>{};
}

void RdmaEngine::stop()
{
	if (!impl_ || impl_->stopped)
		return;
	impl_->stopped = true;
	uint64_t one = 1;
	for (auto &w : impl_->workers) {
		ssize_t r = ::write(w->stop_ev.get(), &one, sizeof(one));
		(void)r;
	}
	for (auto &w : impl_->workers)
		if (w->thread.joinable())
			w->thread.join();
}

RdmaEngine::~RdmaEngine() { stop(); }

Result<Device *> Worker::device_for(ibv_context *ctx)
{
	auto it = devices.find(ctx);
	if (it != devices.end())
		return it->second.get();
	auto d = std::make_unique<Device>();
	const char *dname = ibv_get_device_name(ctx->device);
	auto fail = [&](const char *what) {
		return make_error(errno ? errno : EIO, std::string(dname) + ": " + what + ": " + strerror(errno));
	};
	d->ctx = ctx;
	if (ibv_query_device(ctx, &d->attr))
		return fail("ibv_query_device");
	const Limits &lim = limits();
	d->pd = ibv_alloc_pd(ctx);
	if (!d->pd)
		return fail("ibv_alloc_pd");
	d->channel = ibv_create_comp_channel(ctx);
	if (!d->channel)
		return fail("ibv_create_comp_channel");
	int fl = fcntl(d->channel->fd, F_GETFL);
	if (fl < 0 || fcntl(d->channel->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail("fcntl on the completion channel");
	// Receives: a budget of max_queue_depth + spare per connection, as
	// many as the device allows up to 16384 (8192 when they hold inline
	// WRITE data: 8 KiB each then).
	d->recv = RecvLayout::for_inline(rdma_inline_offer(lim, lim.max_io));
	d->n_recv = std::min<uint32_t>(static_cast<uint32_t>(d->attr.max_srq_wr),
				       d->recv.len > QBD_RDMA_REQ_BUF ? 8192 : 16384);
	d->n_recv = std::min<uint32_t>(d->n_recv, static_cast<uint32_t>(std::max(d->attr.max_cqe - 64, 0) / 3));
	// Split among the workers, each keeping room for two connections.
	d->n_recv = std::min(d->n_recv, std::max(d->n_recv / nworkers,
						 2 * RecvBudget::per_connection(lim.max_queue_depth)));
	if (d->n_recv < RecvBudget::per_connection(lim.max_queue_depth)) {
		errno = EOPNOTSUPP;
		return fail("shared receive queue too small for one connection of max_queue_depth");
	}
	d->budget = RecvBudget(d->n_recv);
	// Send queue: a READ takes an RDMA WRITE and a SEND, a WRITE an RDMA
	// READ and a SEND, per request slot; +1 for the hello reply.
	d->max_send_wr = std::min<uint32_t>(2 * RecvBudget::per_connection(lim.max_queue_depth) + 1,
					    static_cast<uint32_t>(d->attr.max_qp_wr));
	// Every WR is signaled: one CQE per receive; per connection as many
	// sends as its send queue holds (two per receive it reserved, + 1).
	uint32_t max_conns = d->n_recv / RecvBudget::per_connection(lim.max_queue_depth);
	int cqe = std::min<int>(d->attr.max_cqe, static_cast<int>(d->n_recv) + 64);
	int scqe = std::min<int>(d->attr.max_cqe, static_cast<int>(2 * d->n_recv + max_conns) + 64);
	int vector = ctx->num_comp_vectors > 0 ? static_cast<int>(index % ctx->num_comp_vectors) : 0;
	d->cq = ibv_create_cq(ctx, cqe, nullptr, d->channel, vector);
	if (!d->cq)
		return fail("ibv_create_cq");
	d->scq = ibv_create_cq(ctx, scqe, nullptr, d->channel, vector);
	if (!d->scq)
		return fail("ibv_create_cq (sends)");
	if (posix_memalign(reinterpret_cast<void **>(&d->recv_bufs), 4096,
			   static_cast<size_t>(d->n_recv) * d->recv.stride)) {
		d->recv_bufs = nullptr;
		errno = ENOMEM;
		return fail("receive buffers");
	}
	d->recv_mr = ibv_reg_mr(d->pd, d->recv_bufs, static_cast<size_t>(d->n_recv) * d->recv.stride,
				static_cast<int>(IBV_ACCESS_LOCAL_WRITE));
	if (!d->recv_mr)
		return fail("ibv_reg_mr (receive buffers)");
	ibv_srq_init_attr sa = {};
	sa.attr.max_wr = d->n_recv;
	sa.attr.max_sge = 1;
	d->srq = ibv_create_srq(d->pd, &sa);
	if (!d->srq)
		return fail("ibv_create_srq");
	for (uint32_t i = 0; i < d->n_recv; i++) {
		ibv_sge sge = {reinterpret_cast<uintptr_t>(d->recv_buf(i)), d->recv.len, d->recv_mr->lkey};
		ibv_recv_wr wr = {}, *bad = nullptr;
		wr.wr_id = i;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		if (ibv_post_srq_recv(d->srq, &wr, &bad))
			return fail("ibv_post_srq_recv");
	}
	// Data pool: max_queue_depth buffers of max_io, registered once, split
	// among the workers (at least 32 each): a request finding none free
	// waits for one (wait_buf).
	d->buf_size = (lim.max_io + 4095) & ~4095u;
	uint32_t nbuf = std::min(lim.max_queue_depth,
				 std::max((lim.max_queue_depth + nworkers - 1) / nworkers, 32u));
	d->data_len = static_cast<size_t>(nbuf) * d->buf_size;
	void *p = mmap(nullptr, d->data_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail("mmap of the data buffer pool");
	d->data = static_cast<char *>(p);
	d->data_mr = ibv_reg_mr(d->pd, d->data, d->data_len, static_cast<int>(IBV_ACCESS_LOCAL_WRITE));
	if (!d->data_mr)
		return fail("ibv_reg_mr (data buffer pool)");
	d->pool = BufferPool(nbuf);
	LOG_INFO("rdma device %s, worker %u: %u receives of %u bytes in the SRQ, %u data buffers of %u "
		 "bytes, completion vector %d, max_qp_init_rd_atom %d",
		 dname, index, d->n_recv, d->recv.len, nbuf, d->buf_size, vector, d->attr.max_qp_init_rd_atom);
	Device *raw = d.get();
	devices.emplace(ctx, std::move(d));
	return raw;
}

void Worker::on_connect_request(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu)
{
	std::string peer = addr_name(rdma_get_peer_addr(id));
	auto refuse = [&](const std::string &why) { reject(id, peer, why); };
	if (draining)
		return refuse("the server is stopping");
	uint32_t live = shared->connections.load();
	if (live >= limits().max_connections)
		return refuse(std::to_string(live) + " connections open, the limit is " +
			      std::to_string(limits().max_connections));
	auto dev = device_for(id->verbs);
	if (!dev)
		return refuse(dev.error().message);
	Device &d = **dev;
	// We RDMA READ from the client: as many outstanding as it can respond
	// to and our device can initiate; further READs queue (Conn::read_wait).
	// The CM hands the request over from our side: param.initiator_depth
	// is what we may initiate (the client's responder_resources).
	uint32_t rd_atom = std::min<uint32_t>(param.initiator_depth,
					      static_cast<uint32_t>(d.attr.max_qp_init_rd_atom));
	if (rd_atom == 0)
		return refuse("the client offers 0 responder resources (RDMA READ carries WRITE data)");
	if (!d.budget.reserve(limits().max_queue_depth))
		return refuse("the shared receive queue is fully reserved (" +
			      std::to_string(d.budget.reserved()) + " of " +
			      std::to_string(d.budget.capacity()) + " receives)");
	ibv_qp_init_attr qa = {};
	qa.send_cq = d.scq;
	qa.recv_cq = d.cq;
	qa.srq = d.srq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = d.max_send_wr;
	qa.cap.max_send_sge = 1;
	qa.cap.max_inline_data = sizeof(qbd_hello_reply);  // replies go inline
	if (rdma_create_qp(id, d.pd, &qa)) {
		d.budget.release(limits().max_queue_depth);
		return refuse(std::string("rdma_create_qp: ") + strerror(errno));
	}
	auto c = std::make_unique<Conn>();
	c->id = engine->next_conn_id++;
	c->peer = peer;
	c->cm = id;
	c->dev = &d;
	c->qp_num = id->qp->qp_num;
	c->rd_atom = rd_atom;
	rdma_conn_param acc = {};
	acc.initiator_depth = static_cast<uint8_t>(std::min<uint32_t>(rd_atom, 255));
	acc.responder_resources = 0;  // the client never reads or atomics from us
	acc.rnr_retry_count = 7;
	if (rdma_accept(id, &acc)) {
		int err = errno;
		rdma_destroy_qp(id);
		d.budget.release(limits().max_queue_depth);
		return refuse(std::string("rdma_accept: ") + strerror(err));
	}
	shared->connections++;
	LOG_INFO("rdma conn=%lu: accepted from %s on rdma worker %u (CPU %d, client CPU %d; %u RDMA READs "
		 "in flight at most)",
		 (unsigned long)c->id, peer.c_str(), index, cpu, client_cpu, rd_atom);
	by_qp[c->qp_num] = c.get();
	id->context = c.get();
	conns.emplace(c->id, std::move(c));
}

// Refuses connect request @id (a new cm_id counted in this worker's live
// count) and frees it.
void Worker::reject(rdma_cm_id *id, const std::string &peer, const std::string &why)
{
	LOG_RL_WARN("rdma conn from %s refused: %s", peer.c_str(), why.c_str());
	rdma_reject(id, nullptr, 0);
	rdma_destroy_id(id);
	live--;
}

// Worker 0: a connect request from a client posting from @client_cpu goes
// to its worker (see the top of this file).
void Worker::place(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu)
{
	Worker &w = engine->pick(client_cpu);
	if (&w == this)
		return on_connect_request(id, param, client_cpu);
	if (!w.hand(id, param, client_cpu))
		w.reject(id, addr_name(rdma_get_peer_addr(id)), "the server is stopping");
}

// Called by worker 0: queues @id for this worker. False once it stopped.
bool Worker::hand(rdma_cm_id *id, const rdma_conn_param &param, int client_cpu)
{
	{
		std::lock_guard lk(inbox_mu);
		if (inbox_closed)
			return false;
		inbox.push_back({id, param, client_cpu});
	}
	uint64_t one = 1;
	ssize_t r = ::write(inbox_ev.get(), &one, sizeof(one));
	(void)r;
	return true;
}

// The connect requests handed to this worker: each cm_id moves onto our
// event channel (its later events come to us), then is served here.
void Worker::take_inbox()
{
	uint64_t n;
	while (::read(inbox_ev.get(), &n, sizeof(n)) > 0) {
	}
	std::vector<Handoff> got;
	{
		std::lock_guard lk(inbox_mu);
		got.swap(inbox);
	}
	for (auto &h : got) {
		if (rdma_migrate_id(h.id, ech)) {
			reject(h.id, addr_name(rdma_get_peer_addr(h.id)),
			       std::string("rdma_migrate_id: ") + strerror(errno));
			continue;
		}
		on_connect_request(h.id, h.param, h.client_cpu);
	}
}

// The worker stops: refuse what is queued and whatever comes later.
void Worker::close_inbox()
{
	std::vector<Handoff> got;
	{
		std::lock_guard lk(inbox_mu);
		inbox_closed = true;
		got.swap(inbox);
	}
	for (auto &h : got)
		reject(h.id, addr_name(rdma_get_peer_addr(h.id)), "the server is stopping");
}

void Worker::on_cm_event(rdma_cm_event *ev)
{
	rdma_cm_event_type type = ev->event;
	rdma_cm_id *id = ev->id;
	rdma_conn_param param = ev->param.conn;
	int status = ev->status;
	// The private data lives in the event: read before the ack frees it.
	int client_cpu = type == RDMA_CM_EVENT_CONNECT_REQUEST
				 ? rdma_cm_req_cpu(param.private_data, param.private_data_len)
				 : -1;
	param.private_data = nullptr;
	param.private_data_len = 0;
	rdma_ack_cm_event(ev);
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST)
		return place(id, param, client_cpu);
	auto *c = static_cast<Conn *>(id->context);
	if (!c)
		return;  // a listener's event
	switch (type) {
	case RDMA_CM_EVENT_ESTABLISHED:
		LOG_DEBUG("rdma conn=%lu: established", (unsigned long)c->id);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		c->peer_gone = true;
		if (c->state != Conn::kClosing)
			close_conn(*c, type == RDMA_CM_EVENT_DISCONNECTED
					       ? "disconnected by the peer"
					       : std::string(rdma_event_str(type)) + " (status " +
							 std::to_string(status) + ")",
				   false);
		maybe_destroy(*c);
		break;
	default:
		break;
	}
}

void Worker::close_conn(Conn &c, const std::string &why, bool hostile)
{
	if (c.state == Conn::kClosing)
		return;
	if (hostile)
		LOG_RL_WARN("vol=%s rdma conn=%lu from %s: disconnecting: %s", c.name.c_str(),
			    (unsigned long)c.id, c.peer.c_str(), why.c_str());
	else
		LOG_INFO("vol=%s rdma conn=%lu from %s: closing: %s", c.name.c_str(), (unsigned long)c.id,
			 c.peer.c_str(), why.c_str());
	c.state = Conn::kClosing;
	// WRITEs waiting for an RDMA READ slot hold a data buffer: give it back.
	for (uint32_t slot : c.read_wait) {
		release_buf(c, c.ios[slot]);
		free_io(c, slot);
	}
	c.read_wait.clear();
	rdma_disconnect(c.cm);  // the QP goes to error: posted WRs flush
	feed_waiters(*c.dev);
}

void Worker::maybe_destroy(Conn &c)
{
	if (c.state != Conn::kClosing || !c.peer_gone || c.sends_out || c.reads_out || c.disk_out)
		return;
	Device &d = *c.dev;
	for (auto it = d.wait_buf.begin(); it != d.wait_buf.end();)
		it = it->first == c.id ? d.wait_buf.erase(it) : it + 1;
	for (auto &io : c.ios)
		release_buf(c, io);  // and the receive buffers inline WRITEs held
	if (c.vol)
		LOG_INFO("vol=%s rdma conn=%lu: %lu WRITEs inline, %lu WRITEs by RDMA READ; %lu replies in "
			 "%lu posts",
			 c.name.c_str(), (unsigned long)c.id, (unsigned long)c.n_inline, (unsigned long)c.n_pulled,
			 (unsigned long)c.n_replies, (unsigned long)c.n_posts);
	by_qp.erase(c.qp_num);
	rdma_destroy_qp(c.cm);
	rdma_destroy_id(c.cm);
	d.budget.release(limits().max_queue_depth);
	if (c.vol)
		catalog().close_volume(c.vol);
	shared->connections--;
	live--;
	LOG_DEBUG("rdma conn=%lu: freed", (unsigned long)c.id);
	uint64_t id = c.id;
	conns.erase(id);  // c is gone
	feed_waiters(d);
}

void Worker::free_io(Conn &c, uint32_t slot)
{
	Io &io = c.ios[slot];
	if (!io.busy)
		return;
	io.busy = false;
	c.busy_ios--;
	c.free_ios.push_back(slot);
}

void Worker::release_buf(Conn &c, Io &io)
{
	if (io.recv >= 0) {
		repost_recv(*c.dev, static_cast<uint32_t>(io.recv));
		io.recv = -1;
	}
	if (io.buf < 0)
		return;
	c.dev->pool.release(static_cast<uint32_t>(io.buf));
	io.buf = -1;
}

// Gives receive buffer @idx back to the SRQ.
void Worker::repost_recv(Device &d, uint32_t idx)
{
	ibv_sge sge = {reinterpret_cast<uintptr_t>(d.recv_buf(idx)), d.recv.len, d.recv_mr->lkey};
	ibv_recv_wr wr = {}, *bad = nullptr;
	wr.wr_id = idx;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	if (int r = ibv_post_srq_recv(d.srq, &wr, &bad))
		LOG_RL_WARN("rdma: ibv_post_srq_recv: %s", strerror(r));
}

// The data of @io: the inline WRITE's in its receive buffer, else its
// data buffer's; nullptr for none.
char *Worker::io_data(Conn &c, const Io &io)
{
	if (io.recv >= 0)
		return c.dev->recv_buf(static_cast<uint32_t>(io.recv)) + sizeof(qbd_req);
	if (io.buf >= 0)
		return c.dev->buf(static_cast<uint32_t>(io.buf));
	return nullptr;
}

// Posts @wr and the WRs chained after it (one doorbell), each signaled
// and counted in sends_out.
bool Worker::post_send(Conn &c, ibv_send_wr &wr)
{
	flush_sends(c);  // what was queued goes first
	ibv_send_wr *bad = nullptr;
	uint32_t n = 0;
	for (ibv_send_wr *w = &wr; w; w = w->next, n++)
		w->send_flags |= IBV_SEND_SIGNALED;
	c.n_posts++;
	int r = ibv_post_send(c.cm->qp, &wr, &bad);
	if (r) {
		// Those before @bad went out and will complete (flushed).
		for (ibv_send_wr *w = &wr; w && w != bad; w = w->next)
			c.sends_out++;
		close_conn(c, std::string("ibv_post_send: ") + strerror(r), false);
		return false;
	}
	c.sends_out += n;
	return true;
}

// @data_wr: an RDMA WRITE of READ data from data buffer @data_buf, queued
// just before the reply; the buffer comes back when the reply's SEND
// completes (or is flushed).
void Worker::post_reply(Conn &c, uint32_t slot, uint32_t status, uint32_t length, uint64_t vol_size,
			ibv_send_wr *data_wr, int64_t data_buf)
{
	const qbd_req &req = c.ios[slot].req;
	qbd_reply rep;
	fill_reply(rep, req.handle, status, length);
	rep.vol_size = to_le64(vol_size);
	ibv_sge sge = {0, sizeof(rep), 0};  // the address is set at flush
	ibv_send_wr wr = {};
	wr.wr_id = data_buf >= 0 ? wr_id(kWrReplyBuf, static_cast<uint32_t>(data_buf)) : wr_id(kWrReply, 0);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_INLINE;
	// (an inline WRITE has no key: nothing to invalidate)
	if ((c.geo.features & QBD_PF_RDMA_INV) && req.rdma_key &&
	    (req.opcode == QBD_OP_READ || req.opcode == QBD_OP_WRITE)) {
		wr.opcode = IBV_WR_SEND_WITH_INV;
		wr.invalidate_rkey = le32(req.rdma_key);
	}
	// The request is done once its reply is queued: the client may see
	// the reply and send the next request before our SEND completes, so
	// the slot (its credit) is free now. The reply is inline: nothing of
	// the slot is needed later.
	release_buf(c, c.ios[slot]);
	free_io(c, slot);
	if (data_wr)
		queue_send(c, *data_wr, nullptr);
	queue_send(c, wr, &rep);
	c.n_replies++;
}

// Queues @wr (alone: its next is ignored), with a copy of its one SGE and,
// for an inline reply, of @rep; signaled and counted in sends_out now.
void Worker::queue_send(Conn &c, const ibv_send_wr &wr, const qbd_reply *rep)
{
	if (c.pend.empty())
		pend_conns.push_back(c.id);
	Conn::PendingSend &p = c.pend.emplace_back();
	p.wr = wr;
	p.wr.next = nullptr;
	p.wr.send_flags |= IBV_SEND_SIGNALED;
	p.sge = *wr.sg_list;
	p.inl = rep != nullptr;
	if (rep)
		p.rep = *rep;
	c.sends_out++;
}

// Posts @c's queued sends in one ibv_post_send. When that fails the
// connection closes, and each WR that did not go out is settled as a
// flushed completion would be (settle_send()); the caller runs
// maybe_destroy().
// Queued sends of a connection closed meanwhile still go out: its QP is in
// error by then, so they complete flushed.
void Worker::flush_sends(Conn &c)
{
	if (c.pend.empty())
		return;
	for (size_t i = 0; i < c.pend.size(); i++) {
		Conn::PendingSend &p = c.pend[i];
		if (p.inl)
			p.sge.addr = reinterpret_cast<uintptr_t>(&p.rep);
		p.wr.sg_list = &p.sge;
		p.wr.next = i + 1 < c.pend.size() ? &c.pend[i + 1].wr : nullptr;
	}
	ibv_send_wr *bad = nullptr;
	c.n_posts++;
	int r = ibv_post_send(c.cm->qp, &c.pend[0].wr, &bad);
	if (!r) {
		c.pend.clear();
		return;
	}
	std::vector<uint64_t> lost;
	for (ibv_send_wr *w = bad; w; w = w->next)
		lost.push_back(w->wr_id);
	c.pend.clear();
	close_conn(c, std::string("ibv_post_send: ") + strerror(r), false);
	for (uint64_t wid : lost) {
		ibv_wc wc = {};
		wc.wr_id = wid;
		wc.status = IBV_WC_WR_FLUSH_ERR;
		settle_send(c, wc);
	}
	feed_waiters(*c.dev);
}

// Before the worker sleeps: every queued send goes out.
void Worker::flush_all()
{
	// flush_sends() may queue more (a flushed reply frees a buffer for a
	// waiting request): run until none is left.
	// The two vectors trade buffers: no allocation per round.
	while (!pend_conns.empty()) {
		flushing.swap(pend_conns);
		for (uint64_t id : flushing) {
			if (Conn *c = find(id))
				flush_sends(*c);
			if (Conn *c = find(id))
				maybe_destroy(*c);
		}
		flushing.clear();
	}
}

// A handshake message (challenge, hello reply or refusal): one inline
// SEND, copied at post time (so @msg may live on the stack).
bool Worker::post_handshake(Conn &c, const void *msg, uint32_t len)
{
	ibv_sge sge = {reinterpret_cast<uintptr_t>(msg), len, 0};
	ibv_send_wr wr = {};
	wr.wr_id = wr_id(kWrHelloReply, 0);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_INLINE;
	return post_send(c, wr);
}

// Refuses the hello with AUTH_FAILED, logs why with the peer's address
// (never the key) and disconnects once the reply is out.
void Worker::refuse_auth(Conn &c, const std::string &rule)
{
	LOG_RL_WARN("rdma conn=%lu: peer %s refused: %s", (unsigned long)c.id, c.peer.c_str(),
		    rule.c_str());
	unsigned char buf[sizeof(qbd_admin_reply)];
	size_t n = refusal_reply(QBD_MSG_HELLO, QBD_S_AUTH_FAILED, rule, buf);
	c.auth.reset();
	c.close_after_reply = true;
	post_handshake(c, buf, static_cast<uint32_t>(n));
}

// The hello (header checked below): authenticate first when either side
// has a key (the TCP exchange, one SEND per message), then open.
void Worker::on_hello(Conn &c, const qbd_hello &h)
{
	if (std::string bad = check_msg_hdr(h.hdr); !bad.empty())
		return close_conn(c, "hello: " + bad, true);
	if (le16(h.hdr.type) != QBD_MSG_HELLO)
		return close_conn(c, "message type " + std::to_string(le16(h.hdr.type)) +
					     " as the first message (admin is TCP only)",
				  true);
	unsigned char first[sizeof(qbd_hello)];
	memcpy(first, &h, sizeof(first));
	AuthStart a = auth_start(shared->key.get(), first);
	if (a.action == AuthStart::kRefuse)
		return refuse_auth(c, a.rule);
	if (a.action == AuthStart::kChallenge) {
		c.auth = std::make_unique<AuthPending>(a.pending);
		c.state = Conn::kAuth;
		post_handshake(c, &a.challenge, sizeof(a.challenge));
		return;
	}
	qbd_hello plain;
	memcpy(&plain, first, sizeof(plain));
	open_volume(c, plain);
}

// The client's answer to our challenge.
void Worker::on_proof(Conn &c, const char *msg, uint32_t len)
{
	if (len != sizeof(qbd_auth_proof))
		return refuse_auth(c, "authentication failed: the answer to the challenge is " +
					      std::to_string(len) + " bytes, a qbd_auth_proof is " +
					      std::to_string(sizeof(qbd_auth_proof)));
	qbd_auth_proof proof;
	memcpy(&proof, msg, sizeof(proof));
	std::string bad = auth_check(*shared->key, *c.auth, proof);
	if (!bad.empty())
		return refuse_auth(c, bad);
	unsigned char first[sizeof(qbd_hello)];
	memcpy(first, c.auth->first, sizeof(first));
	c.auth.reset();
	LOG_INFO("rdma conn=%lu: peer %s authenticated", (unsigned long)c.id, c.peer.c_str());
	auth_start(nullptr, first);  // strips the AUTH bit and the nonce
	qbd_hello h;
	memcpy(&h, first, sizeof(h));
	open_volume(c, h);
}

void Worker::open_volume(Conn &c, const qbd_hello &h)
{
	HelloResult hr = handle_hello(catalog(), h, limits(), Transport::rdma);
	if (!hr.name.empty())
		c.name = hr.name;
	if (le32(hr.reply.status) != QBD_S_OK) {
		LOG_RL_WARN("vol=%s rdma conn=%lu from %s: hello refused (%s): %s", c.name.c_str(),
			    (unsigned long)c.id, c.peer.c_str(), status_name(le32(hr.reply.status)),
			    hr.rule.c_str());
		c.close_after_reply = true;
		post_handshake(c, &hr.reply, sizeof(hr.reply));
		return;
	}
	c.vol = hr.volume;
	c.geo = hr.geo;
	uint32_t slots = RecvBudget::per_connection(hr.queue_depth);
	c.ios.assign(slots, Io{});
	c.free_ios.clear();
	for (uint32_t i = slots; i > 0; i--)
		c.free_ios.push_back(i - 1);
	c.state = Conn::kOpen;
	c.rdma_inline = hr.rdma_inline;
	LOG_INFO("vol=%s rdma conn=%lu: opened (queue %u, depth %u, features 0x%lx, max IO %u, "
		 "inline WRITE %u)",
		 c.name.c_str(), (unsigned long)c.id, le32(h.queue_id), hr.queue_depth,
		 (unsigned long)c.geo.features, c.geo.max_io, c.rdma_inline);
	post_handshake(c, &hr.reply, sizeof(hr.reply));
}

// @msg: the first QBD_RDMA_REQ_BUF bytes (at most) of a message of @len
// bytes in receive buffer @recv_idx; @lent set when a request now holds
// that buffer (an inline WRITE), which then goes back to the SRQ with it.
void Worker::on_message(Conn &c, const char *msg, uint32_t len, uint32_t recv_idx, bool &lent)
{
	if (c.state == Conn::kClosing || draining)
		return;  // closing: the client's later messages are moot
	if (c.state == Conn::kHello) {
		if (len != sizeof(qbd_hello))
			return close_conn(c, "first message is " + std::to_string(len) +
						     " bytes, a qbd_hello is " +
						     std::to_string(sizeof(qbd_hello)),
					  true);
		qbd_hello h;
		memcpy(&h, msg, sizeof(h));
		return on_hello(c, h);
	}
	if (c.state == Conn::kAuth)
		return on_proof(c, msg, len);
	if (len < sizeof(qbd_req))
		return close_conn(c, "message of " + std::to_string(len) + " bytes, a qbd_req is " +
					     std::to_string(sizeof(qbd_req)),
				  true);
	qbd_req r;
	memcpy(&r, msg, sizeof(r));
	if (len == sizeof(qbd_req))
		return on_req(c, r, -1);
	if (std::string bad = check_inline(r, len, c.geo.features, c.rdma_inline); !bad.empty())
		return close_conn(c, tag_str(r) + ": message of " + std::to_string(len) + " bytes: " + bad,
				  true);
	lent = true;  // on_req gives it back on every path
	on_req(c, r, recv_idx);
}

// @recv_idx: the receive buffer holding an inline WRITE's data, else -1;
// it is ours now: back to the SRQ when the request is done or refused.
void Worker::on_req(Conn &c, const qbd_req &r, int64_t recv_idx)
{
	ReqVerdict v = check_req(r, current_geometry(c.geo, *c.vol), Transport::rdma, recv_idx >= 0);
	if (v.action == ReqVerdict::kClose || c.free_ios.empty()) {
		if (recv_idx >= 0)
			repost_recv(*c.dev, static_cast<uint32_t>(recv_idx));
		if (v.action == ReqVerdict::kClose)
			return close_conn(c, tag_str(r) + ": " + v.rule, true);
		return close_conn(c, "more than queue_depth + " + std::to_string(QBD_RDMA_SPARE_RECV) +
					     " requests in flight",
				  true);
	}
	uint32_t slot = c.free_ios.back();
	c.free_ios.pop_back();
	Io &io = c.ios[slot];
	io.busy = true;
	io.req = r;
	io.buf = -1;
	io.recv = recv_idx;  // given back with the reply (release_buf)
	io.done = 0;
	io.buffered = false;
	c.busy_ios++;
	if (v.action == ReqVerdict::kReply) {
		LOG_RL_WARN("vol=%s rdma conn=%lu tag=0x%lx: %s refused with %s: %s", c.name.c_str(),
			    (unsigned long)c.id, (unsigned long)le64(r.handle), op_name(r.opcode),
			    status_name(v.status), v.rule.c_str());
		post_reply(c, slot, v.status, 0, 0);
		return;
	}
	if (recv_idx >= 0) {
		c.n_inline++;
	} else if (r.opcode == QBD_OP_WRITE) {
		c.n_pulled++;
	}
	start_io(c, slot);
}

void Worker::start_io(Conn &c, uint32_t slot)
{
	Io &io = c.ios[slot];
	const qbd_req &r = io.req;
	if (r.opcode == QBD_OP_PING) {
		post_reply(c, slot, QBD_S_OK, 0, c.vol->size.load(std::memory_order_relaxed));
		return;
	}
	// FLUSH, DISCARD, WRITE_ZEROES, and an inline WRITE (data in hand).
	if ((r.opcode != QBD_OP_READ && r.opcode != QBD_OP_WRITE) || io.recv >= 0)
		return submit_disk(c, slot);
	Device &d = *c.dev;
	auto b = d.pool.acquire();
	if (!b) {
		d.wait_buf.emplace_back(c.id, slot);
		return;
	}
	io.buf = *b;
	if (r.opcode == QBD_OP_WRITE)
		return start_read(c, slot);
	submit_disk(c, slot);
}

void Worker::submit_disk(Conn &c, uint32_t slot)
{
	Io &io = c.ios[slot];
	Volume &v = *c.vol;
	if (v.deleted.load(std::memory_order_relaxed))
		return finish_disk(c, slot, QBD_S_NO_VOLUME);
	io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) {
		io_uring_submit(&ring);
		s = io_uring_get_sqe(&ring);
	}
	if (!s)
		return finish_disk(c, slot, QBD_S_IO_ERROR);  // cannot happen: submit empties it
	prep_disk_sqe(s, *v.backend, io.req, io_data(c, io), io.done, io.buffered);
	io_uring_sqe_set_data64(s, c.id << 20 | slot);
	io.in_disk = true;
	c.disk_out++;
	disk_inflight++;
	disk_unsubmitted = true;
}

void Worker::on_disk(uint64_t user_data, int res)
{
	Conn *c = find(user_data >> 20);
	auto slot = static_cast<uint32_t>(user_data & ((1u << 20) - 1));
	disk_inflight--;
	if (!c || slot >= c->ios.size() || !c->ios[slot].in_disk) {
		LOG_RL_WARN("rdma: disk completion for no request (0x%lx)", (unsigned long)user_data);
		return;
	}
	Io &io = c->ios[slot];
	io.in_disk = false;
	c->disk_out--;
	if (c->state != Conn::kOpen) {
		// Closing: nobody waits for the reply.
		release_buf(*c, io);
		free_io(*c, slot);
		feed_waiters(*c->dev);
		return maybe_destroy(*c);
	}
	DiskStep step = disk_step(*c->vol, io.req, io_data(*c, io), res, io.done, io.buffered);
	if (step.again)
		return submit_disk(*c, slot);
	if (step.status != QBD_S_OK)
		LOG_RL_WARN("vol=%s rdma conn=%lu tag=0x%lx: %s offset %lu length %u failed: %s (%s)",
			    c->name.c_str(), (unsigned long)c->id, (unsigned long)le64(io.req.handle),
			    op_name(io.req.opcode), (unsigned long)le64(io.req.offset), le32(io.req.length),
			    status_name(step.status), strerror(-res));
	finish_disk(*c, slot, step.status);
}

// The disk part of request @slot is done with @status: a READ's data goes
// out with RDMA WRITE before the reply, everything else just replies.
void Worker::finish_disk(Conn &c, uint32_t slot, uint32_t status)
{
	Io &io = c.ios[slot];
	const qbd_req &r = io.req;
	Device &d = *c.dev;
	if (r.opcode != QBD_OP_READ || status != QBD_S_OK) {
		post_reply(c, slot, status, 0, 0);
		feed_waiters(d);
		return;
	}
	// RDMA WRITE then the reply SEND on the same QP, in one post: the data
	// is placed before the client sees the reply. The buffer now belongs
	// to the two (released when the reply's SEND completes), not to the
	// slot.
	const uint32_t len = le32(r.length);
	auto b = static_cast<uint32_t>(io.buf);
	ibv_sge sge = {reinterpret_cast<uintptr_t>(d.buf(b)), len, d.data_mr->lkey};
	ibv_send_wr wr = {};
	wr.wr_id = wr_id(kWrRdmaWrite, b);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.wr.rdma.remote_addr = le64(r.rdma_addr);
	wr.wr.rdma.rkey = le32(r.rdma_key);
	io.buf = -1;
	post_reply(c, slot, QBD_S_OK, len, 0, &wr, b);
}

// Reaps disk completions.
void Worker::poll_disk()
{
	io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);  // before handling: handlers submit
		on_disk(ud, res);
	}
}

void Worker::start_read(Conn &c, uint32_t slot)
{
	if (c.reads_out >= c.rd_atom) {
		c.read_wait.push_back(slot);
		return;
	}
	Io &io = c.ios[slot];
	Device &d = *c.dev;
	ibv_sge sge = {reinterpret_cast<uintptr_t>(d.buf(static_cast<uint32_t>(io.buf))),
		       le32(io.req.length), d.data_mr->lkey};
	ibv_send_wr wr = {};
	wr.wr_id = wr_id(kWrRdmaRead, slot);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_RDMA_READ;
	wr.wr.rdma.remote_addr = le64(io.req.rdma_addr);
	wr.wr.rdma.rkey = le32(io.req.rdma_key);
	queue_send(c, wr, nullptr);
	c.reads_out++;
}

// Hands freed data buffers to requests waiting for one, oldest first.
void Worker::feed_waiters(Device &d)
{
	while (!d.wait_buf.empty() && d.pool.free_count()) {
		auto [id, slot] = d.wait_buf.front();
		d.wait_buf.pop_front();
		Conn *c = find(id);
		if (!c || c->state != Conn::kOpen) {
			if (c)
				free_io(*c, slot);
			continue;
		}
		start_io(*c, slot);
	}
}

void Worker::on_send(Conn &c, const ibv_wc &wc)
{
	settle_send(c, wc);
	maybe_destroy(c);
}

// What a send completion (or a WR that never went out, as flushed) settles:
// sends_out, RDMA READ credits, the buffers it held. Never destroys @c.
void Worker::settle_send(Conn &c, const ibv_wc &wc)
{
	auto kind = static_cast<WrKind>(wc.wr_id >> 32);
	auto slot = static_cast<uint32_t>(wc.wr_id);
	bool ok = wc.status == IBV_WC_SUCCESS;
	c.sends_out--;
	if (kind == kWrRdmaWrite) {
		// The reply after it gives the buffer back (also when flushed).
		if (!ok && wc.status != IBV_WC_WR_FLUSH_ERR)
			close_conn(c, std::string("RDMA WRITE of READ data failed: ") + wc_status(wc.status) +
					      " (bad rdma_key or rdma_addr?)",
				   true);
		return;
	}
	if (kind == kWrHelloReply) {
		if (!ok)
			close_conn(c, std::string("hello reply SEND failed: ") + wc_status(wc.status), true);
		else if (c.close_after_reply)
			close_conn(c, "hello refused", false);
		return;
	}
	if (kind == kWrReply || kind == kWrReplyBuf) {
		if (!ok && wc.status != IBV_WC_WR_FLUSH_ERR)
			close_conn(c, std::string("reply SEND failed: ") + wc_status(wc.status), true);
		if (kind == kWrReplyBuf) {
			// @slot is the data buffer of the READ's RDMA WRITE here.
			c.dev->pool.release(slot);
			feed_waiters(*c.dev);
		}
		return;
	}
	if (slot >= c.ios.size())
		return;
	Io &io = c.ios[slot];
	switch (kind) {
	case kWrRdmaRead:
		c.reads_out--;
		if (!ok && wc.status == IBV_WC_WR_FLUSH_ERR) {
			release_buf(c, io);
			free_io(c, slot);
			break;
		}
		if (!ok) {
			release_buf(c, io);
			free_io(c, slot);
			close_conn(c, "RDMA READ of WRITE data (" + tag_str(io.req) + ") failed: " +
					      wc_status(wc.status) + " (bad rdma_key or rdma_addr?)",
				   true);
			break;
		}
		if (c.state != Conn::kClosing)
			submit_disk(c, slot);
		else {
			release_buf(c, io);
			free_io(c, slot);
		}
		while (c.state == Conn::kOpen && !c.read_wait.empty() && c.reads_out < c.rd_atom) {
			uint32_t next = c.read_wait.front();
			c.read_wait.pop_front();
			start_read(c, next);
		}
		break;
	default:
		break;
	}
}

void Worker::on_recv(Device &d, const ibv_wc &wc)
{
	auto idx = static_cast<uint32_t>(wc.wr_id);
	char msg[QBD_RDMA_REQ_BUF];
	bool ok = wc.status == IBV_WC_SUCCESS;
	bool imm = ok && (wc.wc_flags & IBV_WC_WITH_IMM);
	if (ok)
		memcpy(msg, d.recv_buf(idx), std::min<uint32_t>(wc.byte_len, QBD_RDMA_REQ_BUF));
	auto it = by_qp.find(wc.qp_num);
	Conn *c = it == by_qp.end() ? nullptr : it->second;
	bool lent = false;
	if (c && !ok) {
		if (wc.status != IBV_WC_WR_FLUSH_ERR)
			// rxe reports a SEND longer than the receive buffer as a
			// local QP operation error, hardware as a length error.
			close_conn(*c, std::string("receive failed: ") + wc_status(wc.status) +
					       " (a message over " + std::to_string(d.recv.len) + " bytes?)",
				   true);
	} else if (c && imm) {
		close_conn(*c, "a message with immediate data", true);
	} else if (c && wc.opcode != IBV_WC_RECV) {
		close_conn(*c, "an RDMA WRITE with immediate data", true);
	} else if (c) {
		on_message(*c, msg, wc.byte_len, idx, lent);
	}
	// Back to the SRQ, unless an inline WRITE holds it (it comes back with
	// the request's reply).
	if (!lent)
		repost_recv(d, idx);
}

// @event: the completion channel fired. One event is read per wakeup (a
// second would only cost a syscall to find none; if both CQs raised one,
// the fd is still readable and the next round reads it). The CQ that
// raised it is re-armed by arm_cqs(), before the worker next sleeps. Both
// are reaped either way, sends first: they give back buffers and RDMA READ
// credits that the new requests may want.
void Worker::poll_cq(Device &d, bool event)
{
	ibv_cq *cq = nullptr;
	void *ctx = nullptr;
	if (event && ibv_get_cq_event(d.channel, &cq, &ctx) == 0) {
		ibv_ack_cq_events(cq, 1);
		(cq == d.scq ? d.scq_armed : d.cq_armed) = false;
	}
	reap(d, d.scq);
	reap(d, d.cq);
}

// Polls @cq empty; true when it held any completion.
bool Worker::reap(Device &d, ibv_cq *cq)
{
	ibv_wc wcs[32];
	bool any = false;
	for (;;) {
		int n = ibv_poll_cq(cq, 32, wcs);
		if (n <= 0) {
			if (n < 0)
				LOG_RL_WARN("rdma: ibv_poll_cq failed");
			return any;
		}
		any = true;
		for (int i = 0; i < n; i++) {
			const ibv_wc &wc = wcs[i];
			// Receives carry a buffer index (< 2^32), sends a kind << 32;
			// wc.opcode is undefined in error completions.
			if (!(wc.wr_id >> 32)) {
				on_recv(d, wc);
				continue;
			}
			auto it = by_qp.find(wc.qp_num);
			if (it != by_qp.end())
				on_send(*it->second, wc);
		}
	}
}

// Whether the worker must wake for a send completion on @d: an RDMA READ
// of WRITE data is out (its completion starts the disk write), a request
// waits for a data buffer (a READ reply's completion frees one), a
// connection is in its handshake or closing (freed once its sends are
// done), a send queue is half full, or the worker is draining. *@pending:
// some send is not reaped yet.
bool Worker::send_cq_wanted(Device &d, bool *pending)
{
	*pending = false;
	if (draining || !d.wait_buf.empty())
		return true;
	for (auto &[id, c] : conns) {
		if (c->dev != &d)
			continue;
		if (c->reads_out || c->state != Conn::kOpen || c->close_after_reply ||
		    c->sends_out > d.max_send_wr / 2)
			return true;
		if (c->sends_out)
			*pending = true;
	}
	return false;
}

// Before sleeping in poll(): arms every receive CQ and the send CQs that
// are wanted, and reaps what came before the arming (it raised no event).
// Returns poll()'s timeout: -1, or kSendReapMs while sends wait unarmed (an
// error completion is seen that late at most). *@reaped: completions were
// handled (go round again).
int Worker::arm_cqs(bool *reaped)
{
	int timeout = -1;
	*reaped = false;
	// Arms @cq unless it is (*@armed) and reaps it: what came before the
	// arming raised no event. A failed arm polls again after kSendReapMs.
	auto arm = [&](Device &d, ibv_cq *cq, bool *armed) {
		if (*armed)
			return;
		if (ibv_req_notify_cq(cq, 0)) {
			LOG_RL_WARN("rdma: ibv_req_notify_cq (%s): %s", cq == d.scq ? "sends" : "receives",
				    strerror(errno));
			timeout = kSendReapMs;
		} else {
			*armed = true;
		}
		if (reap(d, cq))
			*reaped = true;
	};
	for (auto &[ctx, d] : devices) {
		arm(*d, d->cq, &d->cq_armed);
		bool pending = false;
		if (send_cq_wanted(*d, &pending))
			arm(*d, d->scq, &d->scq_armed);
		else if (pending && !d->scq_armed)
			timeout = kSendReapMs;
	}
	return timeout;
}

// --rdma-poll-us: polls the CQs and the disk ring (both in shared memory:
// no syscall) until one holds a completion, or the window since the last
// work found has passed. True: completions were handled. The wakeup that
// sleeping in poll() would cost (over soft-RoCE: a context switch, and
// under emulation a halted vCPU kicked awake) is traded for a CPU kept
// busy through the window; the rdma_cm channel, the inbox and the stop
// event are left to the next poll(), at most one window later.
bool Worker::spin()
{
	using clock = std::chrono::steady_clock;
	// The clock is read once every kSpinsPerClock empty rounds: where the
	// clocksource has no vDSO read (a guest whose TSC the kernel marked
	// unstable), each read is a syscall.
	constexpr unsigned kSpinsPerClock = 64;
	for (unsigned n = 1;; n++) {
		bool any = false;
		for (auto &[ctx, d] : devices) {
			any |= reap(*d, d->scq);
			any |= reap(*d, d->cq);
		}
		if (io_uring_cq_ready(&ring)) {
			poll_disk();
			any = true;
		}
		if (any) {
			last_work = clock::now();
			n_polled++;
			return true;
		}
		if (n % kSpinsPerClock == 0 && clock::now() - last_work >= poll_window)
			return false;
		__builtin_ia32_pause();
	}
}

void Worker::loop()
{
	log_set_thread_name(("rdma" + std::to_string(index)).c_str());
	std::vector<pollfd> pfds;
	std::vector<Device *> pdevs;
	bool disconnect_sent = false;
	auto last_poll = std::chrono::steady_clock::now();
	auto drain_deadline = std::chrono::steady_clock::time_point::max();
	for (;;) {
		pfds.clear();
		pdevs.clear();
		// Disk IO prepared since the last round goes out now; what the
		// disk finished at once (brd, page cache) is handled without a
		// round through poll().
		while (disk_unsubmitted) {
			disk_unsubmitted = false;
			io_uring_submit(&ring);
			poll_disk();
		}
		flush_all();
		// Polling: what it finds is handled without sleeping, but poll()
		// still runs (not sleeping) at least once a millisecond, for the
		// rdma_cm channel, the inbox and the stop event.
		bool sleep = true;
		if (poll_window.count() && !draining && spin()) {
			// (spin() just set last_work to the time it found work)
			if (last_work - last_poll < std::chrono::milliseconds(1))
				continue;
			sleep = false;
		}
		int timeout = 0;
		if (sleep) {
			bool reaped = false;
			timeout = arm_cqs(&reaped);
			// What they finished may have queued sends or disk IO, as
			// may a failed flush (its buffers go to waiting requests):
			// go round.
			if (reaped || disk_unsubmitted)
				continue;
			if (draining)
				timeout = 100;
			n_sleeps++;
		}
		pfds.push_back({ech->fd, POLLIN, 0});
		pfds.push_back({stop_ev.get(), POLLIN, 0});
		// The ring's own fd: readable while completions wait, so one
		// reaped at submit (brd, page cache) costs no wakeup, where an
		// eventfd would be left set by it.
		pfds.push_back({ring.ring_fd, POLLIN, 0});
		pfds.push_back({inbox_ev.get(), POLLIN, 0});
		for (auto &[ctx, d] : devices) {
			pfds.push_back({d->channel->fd, POLLIN, 0});
			pdevs.push_back(d.get());
		}
		int r = ::poll(pfds.data(), pfds.size(), timeout);
		if (r < 0 && errno != EINTR) {
			LOG_ERR("rdma: poll: %s", strerror(errno));
			break;
		}
		if (poll_window.count()) {  // the clock is read only when polling
			last_poll = std::chrono::steady_clock::now();
			if (r > 0)
				last_work = last_poll;
		}
		if (pfds[1].revents && !draining) {
			draining = true;
			drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
			for (auto *l : listeners)
				rdma_destroy_id(l);
			listeners.clear();
			LOG_INFO("rdma: draining %zu connection(s)", conns.size());
		}
		// Only the fds that fired are read: every read is a syscall.
		rdma_cm_event *ev = nullptr;
		if (pfds[0].revents)
			while (rdma_get_cm_event(ech, &ev) == 0)
				on_cm_event(ev);
		poll_disk();  // reads the shared ring only: no syscall
		if (pfds[3].revents)
			take_inbox();
		// (a timeout with sends unreaped lands here too)
		for (size_t i = 0; i < pdevs.size(); i++)
			poll_cq(*pdevs[i], pfds[4 + i].revents);
		if (!draining)
			continue;
		// Draining: requests already received finish (their replies are
		// sent), then every QP is disconnected and freed.
		bool idle = true;
		for (auto &[id, c] : conns)
			if (c->busy_ios || c->sends_out || c->reads_out)
				idle = false;
		bool late = std::chrono::steady_clock::now() > drain_deadline;
		if ((idle || late) && !disconnect_sent) {
			disconnect_sent = true;
			drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
			std::vector<Conn *> all;
			for (auto &[id, c] : conns)
				all.push_back(c.get());
			for (auto *c : all)
				close_conn(*c, "the server is stopping", false);
		} else if (disconnect_sent && late) {
			LOG_WARN("rdma: %zu connection(s) did not finish disconnecting; freeing them",
				 conns.size());
			std::vector<Conn *> all;
			for (auto &[id, c] : conns)
				all.push_back(c.get());
			for (auto *c : all) {
				c->peer_gone = true;
				c->sends_out = c->reads_out = 0;
				maybe_destroy(*c);
			}
		}
		if (disconnect_sent && conns.empty())
			break;
	}
	close_inbox();
	flush_all();
	LOG_INFO("rdma worker %u: slept in poll() %lu times, found completions polling %lu times", index,
		 (unsigned long)n_sleeps, (unsigned long)n_polled);
	// Anything left (poll failed): wait for its disk IO, then free it.
	if (disk_unsubmitted)
		io_uring_submit(&ring);
	while (disk_inflight) {
		io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			break;
		poll_disk();
	}
	std::vector<Conn *> all;
	for (auto &[id, c] : conns)
		all.push_back(c.get());
	for (auto *c : all) {
		c->state = Conn::kClosing;
		c->peer_gone = true;
		c->sends_out = c->reads_out = c->disk_out = 0;
		maybe_destroy(*c);
	}
}

int rdma_cm_req_cpu(const void *data, size_t len)
{
	qbd_rdma_cm_req r;
	if (!data || len < sizeof(r))
		return -1;
	memcpy(&r, data, sizeof(r));
	if (le32(r.magic) != QBD_RDMA_CM_MAGIC || le16(r.version) < 1)
		return -1;
	uint32_t cpu = le32(r.cpu);
	return cpu == QBD_RDMA_CM_ANY_CPU || cpu > 1u << 20 ? -1 : static_cast<int>(cpu);
}

std::string check_inline(const qbd_req &r, uint32_t msg_len, uint64_t features, uint32_t inline_max)
{
	const uint32_t data = msg_len - static_cast<uint32_t>(sizeof(qbd_req));
	if (le32(r.magic) != QBD_PROTO_MAGIC)
		return "bad magic (not a request)";
	if (!(features & QBD_PF_RDMA_INLINE) || !inline_max)
		return "inline data, but QBD_PF_RDMA_INLINE was not granted";
	if (r.opcode != QBD_OP_WRITE)
		return std::string(op_name(r.opcode)) + " with " + std::to_string(data) + " bytes of inline data";
	if (le32(r.length) != data)
		return "inline WRITE of length " + std::to_string(le32(r.length)) + " carries " +
		       std::to_string(data) + " bytes";
	if (data > inline_max)
		return "inline WRITE of " + std::to_string(data) + " bytes, over the " +
		       std::to_string(inline_max) + " offered";
	return {};
}

}  // namespace qbd::server
