#include "server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "log.h"
#include "rdma.h"
#include "reactor.h"

namespace qbd::server {

Result<ListenAddr> parse_listen(std::string_view s)
{
	std::string_view rest = s;
	ListenAddr a;
	if (rest.substr(0, 6) == "tcp://") {
		rest.remove_prefix(6);
	} else if (rest.substr(0, 7) == "rdma://") {
		rest.remove_prefix(7);
		a.transport = Transport::rdma;
	} else if (rest.find("://") != std::string_view::npos) {
		return make_error(EINVAL, "listen address '" + std::string(s) +
						  "': the scheme is not tcp:// or rdma://");
	}
	auto ep = parse_endpoint(rest, a.transport == Transport::rdma ? QBD_DEFAULT_RDMA_PORT
								      : QBD_DEFAULT_TCP_PORT);
	if (!ep)
		return make_error(EINVAL, "listen address '" + std::string(s) + "': " + ep.error().message);
	a.ep = *ep;
	return a;
}

void add_listen(ServerOptions &opts, const ListenAddr &a)
{
	(a.transport == Transport::rdma ? opts.listen_rdma : opts.listen).push_back(a.ep);
}

unsigned pick_reactor(const std::vector<int> &by_cpu, int incoming_cpu, const std::vector<uint32_t> &live,
		      size_t &rr)
{
	const size_t n = live.size();
	if (!n)
		return 0;
	size_t pick;
	if (incoming_cpu >= 0 && static_cast<size_t>(incoming_cpu) < by_cpu.size() &&
	    by_cpu[incoming_cpu] >= 0 && static_cast<size_t>(by_cpu[incoming_cpu]) < n)
		pick = static_cast<size_t>(by_cpu[incoming_cpu]);
	else
		pick = rr++ % n;
	size_t least = 0;
	for (size_t i = 1; i < n; i++)
		if (live[i] < live[least])
			least = i;
	if (live[pick] > live[least] + 1)
		pick = least;
	return static_cast<unsigned>(pick);
}

// The CPUs this process may run on, in order.
static std::vector<int> allowed_cpus()
{
	std::vector<int> cpus;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				cpus.push_back(c);
	return cpus;
}

struct Server::Impl {
	ServerOptions opts;
	Catalog *catalog = nullptr;
	std::vector<Fd> listeners;
	std::vector<uint16_t> ports;
	Fd stop_ev;
	std::thread acceptor;
	std::vector<std::unique_ptr<Reactor>> reactors;
	std::unique_ptr<RdmaEngine> rdma;
	size_t next_reactor = 0;
	std::vector<int> reactor_by_cpu;  // CPU -> pinned reactor, -1: none
	std::atomic<bool> stopped{false};

	void accept_loop();
};

static Result<Fd> bind_listener(const Endpoint &ep, uint16_t *bound)
{
	struct addrinfo hints = {};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	struct addrinfo *res = nullptr;
	std::string port = std::to_string(ep.port);
	int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
	if (rc)
		return make_error(EINVAL, "listen " + ep.str() + ": cannot resolve: " + gai_strerror(rc));
	std::unique_ptr<struct addrinfo, void (*)(struct addrinfo *)> guard(res, freeaddrinfo);
	Fd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd)
		return make_error(errno, "listen " + ep.str() + ": socket: " + strerror(errno));
	int one = 1;
	::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) < 0)
		return make_error(errno, "listen " + ep.str() + ": bind: " + strerror(errno));
	if (::listen(fd.get(), 1024) < 0)
		return make_error(errno, "listen " + ep.str() + ": listen: " + strerror(errno));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&ss), &len);
	*bound = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
						: reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
	return fd;
}

Result<std::unique_ptr<Server>> Server::start(const ServerOptions &opts)
{
	if (opts.listen.empty() && opts.listen_rdma.empty())
		return make_error(EINVAL, "no listen address");
	if (opts.limits.max_io < QBD_PROTO_SECTOR || opts.limits.max_io > QBD_PROTO_MAX_IO ||
	    opts.limits.max_io % QBD_PROTO_SECTOR)
		return make_error(EINVAL, "max IO " + std::to_string(opts.limits.max_io) +
						  " is not a multiple of 512 in 512..1048576");
	if (opts.limits.max_queue_depth < 1 || opts.limits.max_queue_depth > 4096)
		return make_error(EINVAL, "max queue depth " + std::to_string(opts.limits.max_queue_depth) +
						  " is not in 1..4096");
	if (opts.limits.max_connections < 1)
		return make_error(EINVAL, "max connections must be at least 1");
	std::unique_ptr<Server> s(new Server());
	auto cat = Catalog::open(opts.data_dir, opts.direct);
	if (!cat)
		return make_error(cat.error().code, "data dir " + opts.data_dir + ": " + cat.error().message);
	s->catalog_ = std::move(*cat);
	s->impl_ = std::make_unique<Impl>();
	Impl &im = *s->impl_;
	im.opts = opts;
	im.catalog = s->catalog_.get();
	for (auto &ep : opts.listen) {
		uint16_t port = 0;
		auto fd = bind_listener(ep, &port);
		if (!fd)
			return fd.error();
		im.listeners.push_back(std::move(*fd));
		im.ports.push_back(port);
		LOG_INFO("listening on tcp://%s", Endpoint{ep.host, port}.str().c_str());
	}
	im.stop_ev.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!im.stop_ev)
		return make_error(errno, std::string("eventfd: ") + strerror(errno));
	// Reactors per CPU: a connection's requests arrive, are served and
	// answered on one CPU, the CPU the client sends from (the module sends
	// from its queue's CPU), so no request waits for another CPU to wake.
	std::vector<int> cpus = opts.reactors ? std::vector<int>{} : allowed_cpus();
	unsigned n = opts.reactors ? opts.reactors
				   : std::max<unsigned>(1, static_cast<unsigned>(cpus.size()));
	auto shared = std::make_shared<ReactorShared>(*s->catalog_, opts.limits);
	shared->key = opts.key;
	std::vector<int> worker_cpus;  // the same placement for RDMA workers
	for (unsigned i = 0; i < n; i++) {
		int cpu = i < cpus.size() ? cpus[i] : -1;
		worker_cpus.push_back(cpu);
		if (cpu >= 0) {
			if (im.reactor_by_cpu.size() <= static_cast<size_t>(cpu))
				im.reactor_by_cpu.resize(cpu + 1, -1);
			im.reactor_by_cpu[cpu] = static_cast<int>(i);
		}
		auto r = Reactor::start(i, shared, cpu);
		if (!r) {
			for (auto &x : im.reactors)
				x->stop();
			return r.error();
		}
		im.reactors.push_back(std::move(*r));
	}
	if (!opts.listen_rdma.empty()) {
		std::vector<int> rdma_cpus = opts.rdma_workers == 0 ? worker_cpus
						    : std::vector<int>(opts.rdma_workers, -1);
		auto e = RdmaEngine::start(opts.listen_rdma, shared, rdma_cpus, opts.rdma_poll_us);
		if (!e) {
			for (auto &x : im.reactors)
				x->stop();
			return e.error();
		}
		im.rdma = std::move(*e);
	}
	LOG_INFO("%u reactor(s)%s, max %u connections, queue depth %u, max IO %u", n,
		 cpus.empty() ? "" : " pinned one per CPU", opts.limits.max_connections,
		 opts.limits.max_queue_depth, opts.limits.max_io);
	im.acceptor = std::thread([&im] { im.accept_loop(); });
	return s;
}

void Server::Impl::accept_loop()
{
	log_set_thread_name("accept");
	std::vector<struct pollfd> pfds;
	for (auto &l : listeners)
		pfds.push_back({l.get(), POLLIN, 0});
	pfds.push_back({stop_ev.get(), POLLIN, 0});
	uint64_t conn_id = 0;
	for (;;) {
		int r = ::poll(pfds.data(), pfds.size(), -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			LOG_ERR("accept: poll: %s", strerror(errno));
			return;
		}
		if (pfds.back().revents)
			return;
		for (size_t i = 0; i + 1 < pfds.size(); i++) {
			if (!pfds[i].revents)
				continue;
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			int fd = ::accept4(pfds[i].fd, reinterpret_cast<sockaddr *>(&ss), &len,
					   SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno != EAGAIN && errno != EINTR)
					LOG_RL_WARN("accept: %s", strerror(errno));
				continue;
			}
			std::string peer = sockaddr_str(ss);
			uint32_t live = reactors.front()->shared().connections.load();
			if (live >= opts.limits.max_connections) {
				LOG_RL_WARN("conn from %s refused: %u connections open, the limit is %u",
					    peer.c_str(), live, opts.limits.max_connections);
				::close(fd);
				continue;
			}
			int one = 1;
			::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			++conn_id;
			int cpu = -1;
			socklen_t cl = sizeof(cpu);
			if (::getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &cl) < 0)
				cpu = -1;
			std::vector<uint32_t> loads;
			for (auto &r : reactors)
				loads.push_back(r->live());
			Reactor &re = *reactors[pick_reactor(reactor_by_cpu, cpu, loads, next_reactor)];
			LOG_INFO("conn=%lu: accepted from %s on reactor %u (incoming CPU %d)",
				 (unsigned long)conn_id, peer.c_str(), re.index(), cpu);
			re.hand_off(fd, conn_id);
		}
	}
}

std::vector<uint16_t> Server::ports() const { return impl_ ? impl_->ports : std::vector<uint16_t>{}; }

std::vector<uint16_t> Server::rdma_ports() const
{
	return impl_ && impl_->rdma ? impl_->rdma->ports() : std::vector<uint16_t>{};
}

void Server::stop()
{
	if (!impl_ || impl_->stopped.exchange(true))
		return;
	uint64_t one = 1;
	ssize_t w = ::write(impl_->stop_ev.get(), &one, sizeof(one));
	(void)w;
	if (impl_->acceptor.joinable())
		impl_->acceptor.join();
	impl_->listeners.clear();
	if (impl_->rdma)
		impl_->rdma->stop();  // drains in-flight requests, disconnects QPs
	impl_->rdma.reset();
	for (auto &r : impl_->reactors)
		r->stop();  // drains in-flight requests, closes connections
	impl_->reactors.clear();
	LOG_INFO("stopped");
}

Server::~Server() { stop(); }

}  // namespace qbd::server
